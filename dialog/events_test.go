package dialog

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// subscribe starts a subscription or fails the test.
func subscribe(t testing.TB, b *Bus, f EventFilter) *Subscription {
	t.Helper()
	s, err := b.Subscribe(f)
	if err != nil {
		t.Fatalf("Subscribe(%+v): %v", f, err)
	}
	return s
}

// publishN publishes n events of kind call.started.
func publishN(b *Bus, n int) {
	for range n {
		b.publish(Event{Kind: EventCallStarted})
	}
}

// next reads one event that the test knows is already on s.C.
func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case e, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed, want an event")
		}
		return e
	default:
		t.Fatal("no event waiting, want one")
		return Event{}
	}
}

// drain returns the sequence numbers waiting on s.C, which must be closed.
func drain(s *Subscription) []uint64 {
	var seqs []uint64
	for e := range s.C {
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

// pending returns the sequence numbers waiting on s.C without waiting.
func pending(s *Subscription) []uint64 {
	var seqs []uint64
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return seqs
			}
			seqs = append(seqs, e.Seq)
		default:
			return seqs
		}
	}
}

// span returns from, from+1, …, to.
func span(from, to uint64) []uint64 {
	var seqs []uint64
	for s := from; s <= to; s++ {
		seqs = append(seqs, s)
	}
	return seqs
}

func TestBusPublishStampsSeqAndTime(t *testing.T) {
	var b Bus // the engine holds its bus by value
	if b.Seq() != 0 {
		t.Fatalf("Seq of a new bus = %d, want 0", b.Seq())
	}
	for want := uint64(1); want <= 3; want++ {
		e := b.Publish(Event{Kind: EventLegCreated, LegID: "a", Seq: 99})
		if e.Seq != want || e.Time.IsZero() || e.Kind != EventLegCreated || e.LegID != "a" {
			t.Fatalf("Publish returned %+v, want Seq %d, a time and the fields given", e, want)
		}
		if b.Seq() != want {
			t.Fatalf("Seq() = %d, want %d", b.Seq(), want)
		}
	}
}

func TestBusLiveOnlyByDefault(t *testing.T) {
	b := NewBus(16)
	publishN(b, 5)
	s := subscribe(t, b, EventFilter{})
	if got := pending(s); len(got) != 0 {
		t.Fatalf("a live subscription got history %v", got)
	}
	publishN(b, 2)
	if got := pending(s); !slices.Equal(got, []uint64{6, 7}) {
		t.Fatalf("got %v, want [6 7]", got)
	}
	if s.Last() != 7 {
		t.Fatalf("Last() = %d, want 7", s.Last())
	}
}

// A client reads 30 events, disconnects, and comes back after 50 more were
// published: it gets exactly 31..150, then live events.
func TestBusResumeAfterDisconnect(t *testing.T) {
	b := NewBus(0)
	first := subscribe(t, b, EventFilter{Buffer: 200})
	publishN(b, 100)
	var read uint64
	for range 30 {
		read = next(t, first).Seq
	}
	first.Close()
	publishN(b, 50)

	again := subscribe(t, b, EventFilter{After: read})
	if got, want := pending(again), span(31, 150); !slices.Equal(got, want) {
		t.Fatalf("resumed after %d: got %d events %v, want %d events 31..150", read, len(got), got, len(want))
	}
	publishN(b, 3)
	if got := pending(again); !slices.Equal(got, span(151, 153)) {
		t.Fatalf("live after the replay: got %v, want 151..153", got)
	}
	if again.Lagged() {
		t.Fatal("a replay larger than the buffer marked the subscription lagged")
	}
}

func TestBusResumeWindow(t *testing.T) {
	// A history of 10 after 25 events holds 16..25.
	tests := []struct {
		name    string
		f       EventFilter
		tooLate bool
		want    []uint64
	}{
		{name: "live only", f: EventFilter{}, want: nil},
		{name: "after the last", f: EventFilter{After: 25}, want: nil},
		{name: "after the oldest", f: EventFilter{After: 16}, want: span(17, 25)},
		{name: "just before the oldest", f: EventFilter{After: 15}, want: span(16, 25)},
		{name: "one dropped", f: EventFilter{After: 14}, tooLate: true},
		{name: "long dropped", f: EventFilter{After: 3}, tooLate: true},
		{name: "from the start, dropped", f: EventFilter{Resume: true}, tooLate: true},
		{name: "from the future", f: EventFilter{After: 26}, tooLate: true},
	}
	b := NewBus(10)
	publishN(b, 25)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Subscribe(tt.f)
			if tt.tooLate {
				if !errors.Is(err, ErrTooLate) {
					t.Fatalf("err = %v, want ErrTooLate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := pending(s); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBusResumeFromTheStart(t *testing.T) {
	b := NewBus(10)
	publishN(b, 10) // exactly full: seq 1 is still held
	s := subscribe(t, b, EventFilter{Resume: true})
	if got := pending(s); !slices.Equal(got, span(1, 10)) {
		t.Fatalf("got %v, want 1..10", got)
	}
	// On an empty bus, the whole stream is just the live one.
	empty := subscribe(t, NewBus(10), EventFilter{Resume: true})
	if got := pending(empty); len(got) != 0 {
		t.Fatalf("an empty bus replayed %v", got)
	}
}

func TestBusTooLateErrorNamesTheNumbers(t *testing.T) {
	b := NewBus(4)
	publishN(b, 10)
	_, err := b.Subscribe(EventFilter{After: 2})
	if !errors.Is(err, ErrTooLate) {
		t.Fatalf("err = %v, want ErrTooLate", err)
	}
	if want := fmt.Sprintf("%v: after 2, but the history starts at 7", ErrTooLate); err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestBusFilter(t *testing.T) {
	events := []Event{
		{Kind: EventLegCreated, LegID: "a"},                        // 1
		{Kind: EventLegCreated, LegID: "b"},                        // 2
		{Kind: EventLegBridged, LegID: "a", OtherLegID: "b"},       // 3
		{Kind: EventLegBridged, LegID: "b", OtherLegID: "a"},       // 4
		{Kind: EventDTMF, LegID: "c"},                              // 5
		{Kind: EventSuperviseStarted, LegID: "s", OtherLegID: "c"}, // 6
		{Kind: EventCallStarted, CallID: "x"},                      // 7
		{Kind: EventDraining},                                      // 8
		{Kind: EventLegEnded, LegID: "a"},                          // 9
	}
	many := []string{"l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "c"}
	tests := []struct {
		name string
		f    EventFilter
		want []uint64
	}{
		{name: "everything", f: EventFilter{}, want: span(1, 9)},
		{name: "one kind", f: EventFilter{Kinds: []EventKind{EventLegBridged}}, want: []uint64{3, 4}},
		{name: "two kinds", f: EventFilter{Kinds: []EventKind{EventLegCreated, EventDraining}}, want: []uint64{1, 2, 8}},
		{name: "one leg, either side", f: EventFilter{Legs: []string{"a"}}, want: []uint64{1, 3, 4, 9}},
		{name: "other leg only", f: EventFilter{Legs: []string{"c"}}, want: []uint64{5, 6}},
		{name: "two legs", f: EventFilter{Legs: []string{"b", "s"}}, want: []uint64{2, 3, 4, 6}},
		{name: "many legs (map)", f: EventFilter{Legs: many}, want: []uint64{5, 6}},
		{name: "kind and leg", f: EventFilter{Kinds: []EventKind{EventLegCreated}, Legs: []string{"b"}}, want: []uint64{2}},
		{name: "an empty leg id matches nothing", f: EventFilter{Legs: []string{""}}, want: nil},
		{name: "no such kind", f: EventFilter{Kinds: []EventKind{EventPlayStarted}}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Live and resumed subscriptions filter alike.
			b := NewBus(0)
			live := subscribe(t, b, tt.f)
			for _, e := range events {
				b.publish(e)
			}
			resumed := subscribe(t, b, EventFilter{Kinds: tt.f.Kinds, Legs: tt.f.Legs, Resume: true})
			if got := pending(live); !slices.Equal(got, tt.want) {
				t.Errorf("live: got %v, want %v", got, tt.want)
			}
			if got := pending(resumed); !slices.Equal(got, tt.want) {
				t.Errorf("resumed: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBusFilterIsCopied(t *testing.T) {
	b := NewBus(0)
	legs := []string{"a"}
	kinds := []EventKind{EventLegCreated}
	s := subscribe(t, b, EventFilter{Kinds: kinds, Legs: legs})
	legs[0], kinds[0] = "z", EventLegEnded
	b.publish(Event{Kind: EventLegCreated, LegID: "a"})
	if got := pending(s); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("got %v after the caller changed its slices, want [1]", got)
	}
}

// A subscriber that falls behind gets what fit, one lagged notice and a
// closed channel; the others carry on, and the laggard resumes from the
// notice's Seq without a gap.
func TestBusLaggedSubscriber(t *testing.T) {
	b := NewBus(0)
	fast := subscribe(t, b, EventFilter{Buffer: 10})
	slow := subscribe(t, b, EventFilter{Buffer: 2})
	publishN(b, 5)

	if got := drain(slow); !slices.Equal(got, []uint64{1, 2, 2}) {
		t.Fatalf("slow got seqs %v, want 1, 2 and the notice at 2", got)
	}
	if !slow.Lagged() || slow.Last() != 2 {
		t.Fatalf("slow: Lagged %v, Last %d; want true, 2", slow.Lagged(), slow.Last())
	}
	if fast.Lagged() {
		t.Fatal("fast subscriber marked lagged")
	}
	if got := pending(fast); !slices.Equal(got, span(1, 5)) {
		t.Fatalf("fast got %v, want 1..5", got)
	}
	slow.Close() // harmless after a lag

	back := subscribe(t, b, EventFilter{After: 2, Buffer: 2})
	if got := pending(back); !slices.Equal(got, span(3, 5)) {
		t.Fatalf("resumed laggard got %v, want 3..5", got)
	}
}

func TestBusLaggedNotice(t *testing.T) {
	b := NewBus(0)
	s := subscribe(t, b, EventFilter{Buffer: 1})
	publishN(b, 2)
	if e := next(t, s); e.Kind != EventCallStarted || e.Seq != 1 {
		t.Fatalf("first event %+v, want call.started 1", e)
	}
	notice := next(t, s)
	if notice.Kind != EventLagged || notice.Seq != 1 || notice.Time.IsZero() {
		t.Fatalf("notice %+v, want bus.lagged at 1 with a time", notice)
	}
	if e, ok := <-s.C; ok {
		t.Fatalf("got %+v after the notice, want a closed channel", e)
	}
	publishN(b, 1) // publishing after the laggard left is harmless
}

// A filtered subscription's notice covers the events it did not want, so
// it resumes from where it stopped, not from the last event it took.
func TestBusLaggedNoticeWithFilter(t *testing.T) {
	b := NewBus(0)
	s := subscribe(t, b, EventFilter{Kinds: []EventKind{EventDTMF}, Buffer: 1, Legs: []string{"a"}})
	b.publish(Event{Kind: EventDTMF, LegID: "a"})    // 1: delivered
	b.publish(Event{Kind: EventDTMF, LegID: "b"})    // 2: filtered out
	b.publish(Event{Kind: EventLegHeld, LegID: "a"}) // 3: filtered out
	b.publish(Event{Kind: EventDTMF, LegID: "a"})    // 4: no room
	b.publish(Event{Kind: EventDTMF, LegID: "a"})    // 5
	if got := drain(s); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("got seqs %v, want 1 and the notice at 3", got)
	}
	back := subscribe(t, b, EventFilter{Kinds: []EventKind{EventDTMF}, Legs: []string{"a"}, After: s.Last()})
	if got := pending(back); !slices.Equal(got, []uint64{4, 5}) {
		t.Fatalf("resumed got %v, want [4 5]", got)
	}
}

func TestBusClose(t *testing.T) {
	b := NewBus(0)
	subs := make([]*Subscription, 4)
	for i := range subs {
		subs[i] = subscribe(t, b, EventFilter{})
	}
	publishN(b, 2)
	// Closing from the middle leaves the others registered and served.
	subs[1].Close()
	subs[1].Close()
	publishN(b, 1)
	if got := drain(subs[1]); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("closed subscription kept %v, want [1 2] then closed", got)
	}
	if subs[1].Lagged() || subs[1].Last() != 2 {
		t.Fatalf("closed: Lagged %v, Last %d; want false, 2", subs[1].Lagged(), subs[1].Last())
	}
	for _, i := range []int{0, 2, 3} {
		if got := pending(subs[i]); !slices.Equal(got, span(1, 3)) {
			t.Fatalf("subscription %d got %v, want 1..3", i, got)
		}
	}
}

// Publishers race with readers that keep disconnecting, lagging and
// resuming. Every reader must see each seq exactly once and in order.
func TestBusConcurrentPublishAndResume(t *testing.T) {
	const (
		publishers = 4
		each       = 1500
		readers    = 3
		total      = publishers * each
	)
	b := NewBus(total) // never too late: this test is about gaps
	var pubs sync.WaitGroup
	start := make(chan struct{})
	for p := range publishers {
		pubs.Go(func() {
			<-start
			for range each {
				b.publish(Event{Kind: EventDTMF, LegID: fmt.Sprint("leg", p)})
			}
		})
	}

	errs := make(chan error, readers)
	var reads sync.WaitGroup
	for r := range readers {
		reads.Go(func() { errs <- readAll(b, r, total) })
	}
	close(start)
	pubs.Wait()
	reads.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// readAll follows b from the start until it has seen seq total, closing and
// resuming every few events and lagging on purpose with a tiny buffer. It
// returns an error at the first gap or duplicate.
func readAll(b *Bus, id int, total uint64) error {
	var last uint64
	resumes := 0
	for last < total {
		s, err := b.Subscribe(EventFilter{After: last, Resume: true, Buffer: 1 + id*4})
		if err != nil {
			return fmt.Errorf("reader %d: resume after %d: %w", id, last, err)
		}
		resumes++
		n := 0
		for e := range s.C {
			if e.Kind == EventLagged {
				if e.Seq != last {
					return fmt.Errorf("reader %d: lagged notice at %d, but the last event read was %d", id, e.Seq, last)
				}
				break
			}
			if e.Seq != last+1 {
				return fmt.Errorf("reader %d: got %d after %d", id, e.Seq, last)
			}
			last = e.Seq
			if n++; n == 50+id*20 || last == total {
				s.Close() // leaves unread events behind on purpose
				break
			}
		}
	}
	if resumes < 2 {
		return fmt.Errorf("reader %d never resumed", id)
	}
	return nil
}
