package dialog

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// cancelTestClock runs its timers when fire is called.
type cancelTestClock struct {
	mu sync.Mutex
	fs []*cancelTestTimer
}

type cancelTestTimer struct {
	f       func()
	stopped bool
}

func (c *cancelTestClock) Now() time.Time { return time.Time{} }

func (c *cancelTestClock) AfterFunc(_ time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &cancelTestTimer{f: f}
	c.fs = append(c.fs, t)
	return t
}

func (t *cancelTestTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (c *cancelTestClock) fire() {
	c.mu.Lock()
	fs := c.fs
	c.fs = nil
	c.mu.Unlock()
	for _, t := range fs {
		if !t.stopped {
			t.f()
		}
	}
}

// cancelTestSession is a client session for an INVITE with this Call-ID,
// and a 200 answering it.
func cancelTestSession(callID string) (*sipgo.DialogClientSession, *sipmsg.Response) {
	req := sip.NewInvite(sip.InviteOptions{Target: sipmsg.Uri{Scheme: "sip", User: "2000", Host: "127.0.0.1"},
		FromUser: "1001", FromHost: "127.0.0.1", ToUser: "2000"})
	req.AppendHeader(ptr(sipmsg.CallIDHeader(callID)))
	cs := &sipgo.DialogClientSession{}
	cs.InviteRequest = req
	return cs, sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
}

func ptr[T any](v T) *T { return &v }

// A stray 200 is taken only while its cancelled INVITE is remembered:
// never for another call, nor after 64*T1, nor once the engine drained.
func TestCancelledInvitesForget(t *testing.T) {
	clock := &cancelTestClock{}
	e := &Engine{clock: clock, log: slog.Default()}
	l := &Leg{log: slog.Default()}

	cs, _ := cancelTestSession("cancelled-1")
	e.rememberCancelled(l, cs)
	if _, other := cancelTestSession("established-1"); e.strayInviteOK(other) {
		t.Fatal("a stray 200 of another call was taken")
	}
	clock.fire() // 64*T1 later
	if _, ok := cancelTestSession("cancelled-1"); e.strayInviteOK(ok) {
		t.Fatal("a stray 200 was taken after its INVITE was forgotten")
	}

	cs, _ = cancelTestSession("cancelled-2")
	e.rememberCancelled(l, cs)
	e.closeCancelled()
	if len(e.cancelled.byID) != 0 || len(clock.fs) != 1 || !clock.fs[0].stopped {
		t.Fatal("drain left an INVITE remembered or its timer running")
	}
	e.rememberCancelled(l, cs)
	if len(e.cancelled.byID) != 0 {
		t.Fatal("an INVITE was remembered after drain")
	}
}
