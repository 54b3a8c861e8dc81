package testkit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pbx/dialog"
)

// EventLog keeps every event of a PBX's engine from the moment it is
// made, so a test awaits events by what they say, in any order, and can
// compare the order in which two of them were published. Events are
// numbered from 0 in the order the bus delivered them.
type EventLog struct {
	t       testing.TB
	mu      sync.Mutex
	evs     []dialog.Event
	changed chan struct{} // closed and replaced at each event
	dropped bool          // the subscription fell behind and was closed
	closed  bool          // the subscription ended
}

// RecordEvents starts keeping the events of p's engine; it stops with p.
func RecordEvents(t testing.TB, p *PBX) *EventLog {
	t.Helper()
	sub, err := p.Engine().Subscribe(dialog.EventFilter{Buffer: 65536})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	l := &EventLog{t: t, changed: make(chan struct{})}
	go func() {
		for ev := range sub.C {
			l.mu.Lock()
			if ev.Kind == dialog.EventLagged {
				l.dropped = true
			}
			l.evs = append(l.evs, ev)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}()
	t.Cleanup(sub.Close)
	return l
}

// Mark is the number of events kept so far: awaiting from it finds only
// events published after this call.
func (l *EventLog) Mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs)
}

// Events is a copy of the events kept from index from on.
func (l *EventLog) Events(from int) []dialog.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from > len(l.evs) {
		return nil
	}
	return append([]dialog.Event(nil), l.evs[from:]...)
}

// Await waits until an event from index from on matches, and returns it
// with its index; it fails the test after timeout, listing what came.
func (l *EventLog) Await(from int, timeout time.Duration, what string, match func(dialog.Event) bool) (dialog.Event, int) {
	l.t.Helper()
	deadline := time.After(timeout)
	next := from
	for {
		l.mu.Lock()
		for ; next < len(l.evs); next++ {
			if match(l.evs[next]) {
				ev := l.evs[next]
				l.mu.Unlock()
				return ev, next
			}
		}
		changed, dropped, closed := l.changed, l.dropped, l.closed
		l.mu.Unlock()
		if dropped {
			l.t.Fatalf("event log fell behind while waiting for %s", what)
		}
		if closed {
			l.t.Fatalf("event log closed (the PBX stopped?) while waiting for %s; events since: %s", what, l.describe(from))
		}
		select {
		case <-changed:
		case <-deadline:
			l.t.Fatalf("no %s within %s; events since: %s", what, timeout, l.describe(from))
		}
	}
}

// Find returns the first event from index from on that matches, with its
// index, or -1 when none does (it does not wait).
func (l *EventLog) Find(from int, match func(dialog.Event) bool) (dialog.Event, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < len(l.evs); i++ {
		if match(l.evs[i]) {
			return l.evs[i], i
		}
	}
	return dialog.Event{}, -1
}

// describe lists the contact-center and supervision events from index
// from on, for failure messages.
func (l *EventLog) describe(from int) string {
	var b strings.Builder
	evs := l.Events(from)
	fmt.Fprintf(&b, "%d events, of which:", len(evs))
	for _, ev := range evs {
		if !strings.HasPrefix(string(ev.Kind), "queue.") && !strings.HasPrefix(string(ev.Kind), "agent.") &&
			!strings.HasPrefix(string(ev.Kind), "supervise.") {
			continue
		}
		fmt.Fprintf(&b, "\n  %s leg=%s queue=%s agent=%s state=%s pos=%d cause=%s detail=%s",
			ev.Kind, ev.LegID, ev.Queue, ev.Agent, ev.State, ev.Position, ev.Cause, ev.Detail)
	}
	return b.String()
}

// IsKind matches events of a kind.
func IsKind(kind dialog.EventKind) func(dialog.Event) bool {
	return func(ev dialog.Event) bool { return ev.Kind == kind }
}

// IsLegEvent matches events of a kind about a leg.
func IsLegEvent(kind dialog.EventKind, leg string) func(dialog.Event) bool {
	return func(ev dialog.Event) bool { return ev.Kind == kind && ev.LegID == leg }
}
