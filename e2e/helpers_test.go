package e2e

import (
	"context"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/store"
)

// Tones each party sends, far enough apart for the detector.
const (
	toneA = 440.0
	toneB = 800.0
	toneC = 1300.0
)

func TestMain(m *testing.M) {
	// Short SIP timers keep timeouts and retransmissions quick on loopback.
	sipmsg.SetTimers(100*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	m.Run()
}

func password(t testing.TB, p *testkit.PBX, ext string) string {
	t.Helper()
	for _, u := range p.Config.Users {
		if u.Extension == ext {
			return u.Password
		}
	}
	t.Fatalf("no user %s in the config", ext)
	return ""
}

// phone makes a registered phone for a demo extension.
func phone(t testing.TB, p *testkit.PBX, ext string) *testkit.Phone {
	t.Helper()
	ph := testkit.NewPhone(t, p.Addr(), ext, password(t, p, ext))
	res, err := ph.Register(300)
	if err != nil {
		t.Fatalf("register %s: %v", ext, err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("register %s: %d %s", ext, res.StatusCode, res.Reason)
	}
	return ph
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connect places a call from caller to callee's number, has callee answer,
// and returns both ends, each sending its tone.
func connect(t testing.TB, caller, callee *testkit.Phone, number string, calleeCodecs ...string) (*testkit.PhoneCall, *testkit.PhoneCall) {
	t.Helper()
	type answered struct {
		c   *testkit.PhoneCall
		err error
	}
	got := make(chan answered, 1)
	go func() {
		in, err := callee.Incoming(5 * time.Second)
		if err != nil {
			got <- answered{nil, err}
			return
		}
		in.Ring()
		c, err := in.Answer(calleeCodecs...)
		got <- answered{c, err}
	}()
	a, err := caller.Call(ctxTimeout(t, 10*time.Second), number, testkit.CallOptions{})
	if err != nil {
		t.Fatalf("call %s: %v", number, err)
	}
	b := <-got
	if b.err != nil {
		t.Fatalf("answer: %v", b.err)
	}
	a.SendTone(toneA)
	b.c.SendTone(toneB)
	return a, b.c
}

// talking asserts that each end hears the other's tone and not its own:
// a sends toneA, b toneB.
func talking(t testing.TB, a, b *testkit.PhoneCall) {
	t.Helper()
	talkingTones(t, a, toneA, b, toneB)
}

// talkingTones asserts that a (sending fa) and b (sending fb) hear each
// other and not themselves.
func talkingTones(t testing.TB, a *testkit.PhoneCall, fa float64, b *testkit.PhoneCall, fb float64) {
	t.Helper()
	if err := a.WaitHears(3*time.Second, fb, fa); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := b.WaitHears(3*time.Second, fa, fb); err != nil {
		t.Fatalf("callee: %v", err)
	}
}

// waitCDR waits until the store holds n call records and returns them.
// Records are written as a call ends, just before its call.ended event.
func waitCDR(t testing.TB, p *testkit.PBX, n int) []store.CDR {
	t.Helper()
	for {
		recs, err := p.Store().CDRs(time.Time{}, 0)
		if err != nil {
			t.Fatalf("cdrs: %v", err)
		}
		if len(recs) >= n {
			return recs
		}
		p.WaitEvent(dialog.EventCallEnded, 5*time.Second)
	}
}

// hangUp ends the call from a and waits for b to get the BYE.
func hangUp(t testing.TB, a, b *testkit.PhoneCall) {
	t.Helper()
	if err := a.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("far end: %v", err)
	}
}

// ringUntilCancelled lets the next call to ph ring, and closes the channel
// it returns when the caller's side cancels it.
func ringUntilCancelled(ph *testkit.Phone) <-chan struct{} {
	cancelled := make(chan struct{})
	go func() {
		in, err := ph.Incoming(5 * time.Second)
		if err != nil {
			return
		}
		in.Ring()
		<-in.Cancelled()
		close(cancelled)
	}()
	return cancelled
}

// threePhones registers the three demo extensions: alice 1001, bob 1002
// and carol 1003.
func threePhones(t testing.TB, p *testkit.PBX) (alice, bob, carol *testkit.Phone) {
	t.Helper()
	return phone(t, p, "1001"), phone(t, p, "1002"), phone(t, p, "1003")
}
