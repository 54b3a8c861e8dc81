package e2e

import (
	"context"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// A calls B, both talk, and the caller hangs up: B gets the BYE.
func TestCallTalkCallerHangsUp(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	if err := a.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("callee: %v", err)
	}
	rec := waitCDR(t, p, 1)
	if rec[0].Disposition != "ANSWERED" || rec[0].HangupBy != "caller" || rec[0].From != "1001" || rec[0].To != "1002" {
		t.Fatalf("record: %+v", rec[0])
	}
	if rec[0].Codec != "PCMU" || rec[0].Answer.IsZero() || rec[0].Billsec <= 0 {
		t.Fatalf("record: %+v", rec[0])
	}
}

// The callee hangs up: the caller gets the BYE.
func TestCallCalleeHangsUp(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	if err := b.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if rec := waitCDR(t, p, 1); rec[0].HangupBy != "callee" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// A PCMU-only caller reaches a PCMA-only callee: the PBX transcodes and
// both still hear each other.
func TestCallTranscodesPCMUtoPCMA(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	alice.Codecs = []string{"PCMU"}
	a, b := connect(t, alice, bob, "1002", "PCMA")
	if a.Codec() != "PCMU" || b.Codec() != "PCMA" {
		t.Fatalf("codecs: caller %s, callee %s", a.Codec(), b.Codec())
	}
	talking(t, a, b)
	hangUp(t, a, b)
}

// The callee is busy: the caller gets 486.
func TestCallBusy(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	go func() {
		if in, err := bob.Incoming(5 * time.Second); err == nil {
			in.Reject(486, "Busy Here")
		}
	}()
	_, err := alice.Call(ctxTimeout(t, 10*time.Second), "1002", testkit.CallOptions{})
	if code := testkit.StatusOf(err); code != 486 {
		t.Fatalf("status %d (%v), want 486", code, err)
	}
	if rec := waitCDR(t, p, 1); rec[0].Disposition != "BUSY" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// Nobody answers within the ring timeout: the caller gets 480, the callee
// a CANCEL.
func TestCallNoAnswer(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.Calls.RingTimeout = time.Second })
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	cancelled := ringUntilCancelled(bob)
	start := time.Now()
	_, err := alice.Call(ctxTimeout(t, 10*time.Second), "1002", testkit.CallOptions{})
	if code := testkit.StatusOf(err); code != 480 {
		t.Fatalf("status %d (%v), want 480", code, err)
	}
	if d := time.Since(start); d < time.Second || d > 4*time.Second {
		t.Fatalf("failed after %s, want about the 1 s ring timeout", d)
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("callee never saw the CANCEL")
	}
	if rec := waitCDR(t, p, 1); rec[0].Disposition != "NO ANSWER" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// The caller gives up while it rings: the CANCEL reaches the callee.
func TestCallCancelWhileRinging(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	cancelled := ringUntilCancelled(bob)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := alice.Call(ctx, "1002", testkit.CallOptions{OnRinging: func(code int) {
		if code == 180 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("call went through")
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("callee never saw the CANCEL")
	}
	if rec := waitCDR(t, p, 1); rec[0].Disposition != "CANCELLED" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// An extension registered from two phones rings both; the first to answer
// gets the call and the other is cancelled.
func TestCallForksToEveryContact(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice := phone(t, p, "1001")
	desk, mobile := phone(t, p, "1002"), phone(t, p, "1002")
	cancelled := ringUntilCancelled(mobile)
	a, b := connect(t, alice, desk, "1002")
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the second contact was not cancelled")
	}
	talking(t, a, b)
	hangUp(t, a, b)
}

// A number no rule matches gets 404; an extension with no phone registered gets 480.
func TestCallUnroutable(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice := phone(t, p, "1001")
	for number, want := range map[string]int{"777777": 404, "1003": 480} {
		_, err := alice.Call(ctxTimeout(t, 5*time.Second), number, testkit.CallOptions{})
		if code := testkit.StatusOf(err); code != want {
			t.Errorf("%s: status %d (%v), want %d", number, code, err, want)
		}
	}
}

// Early media: the callee's 183 with SDP reaches the caller, who hears the
// callee's audio before the answer; after it, both talk.
func TestCallEarlyMedia(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	callee := make(chan *testkit.PhoneCall, 1)
	answer := make(chan struct{})
	go func() {
		in, err := bob.Incoming(5 * time.Second)
		if err != nil {
			return
		}
		b, err := in.EarlyMedia()
		if err != nil {
			return
		}
		b.SendTone(toneB)
		callee <- b
		<-answer
		in.Answer()
	}()
	var earlyErr error
	a, err := alice.Call(ctxTimeout(t, 10*time.Second), "1002", testkit.CallOptions{OnEarlyMedia: func(c *testkit.PhoneCall) {
		earlyErr = c.WaitHears(3*time.Second, toneB)
		close(answer)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if earlyErr != nil {
		t.Fatalf("before the answer: %v", earlyErr)
	}
	b := <-callee
	a.SendTone(toneA)
	talking(t, a, b)
	hangUp(t, a, b)
}

// The caller changes codec mid-call by re-INVITE: its leg moves to PCMA
// while the callee stays on PCMU, and the PBX transcodes between them.
func TestCallCodecChangeByReinvite(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	dir, err := a.Reinvite("sendrecv", "PCMA")
	if err != nil || dir != "sendrecv" {
		t.Fatalf("re-invite: %q %v", dir, err)
	}
	if a.Codec() != "PCMA" || b.Codec() != "PCMU" {
		t.Fatalf("codecs: caller %s, callee %s", a.Codec(), b.Codec())
	}
	talking(t, a, b)
	hangUp(t, a, b)
}
