package e2e

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// answerNext answers the next call to ph with its tone and returns it.
func answerNext(t *testing.T, ph *testkit.Phone, tone float64) <-chan *testkit.PhoneCall {
	t.Helper()
	ch := make(chan *testkit.PhoneCall, 1)
	go func() {
		in, err := ph.Incoming(5 * time.Second)
		if err != nil {
			t.Error(err)
			close(ch)
			return
		}
		c, err := in.Answer()
		if err != nil {
			t.Error(err)
			close(ch)
			return
		}
		c.SendTone(tone)
		ch <- c
	}()
	return ch
}

// exactlyTalking asserts that a (toneA) and c (toneC) hear each other and
// nobody else: the transferor is out of the call.
func exactlyTalking(t *testing.T, a, c *testkit.PhoneCall) {
	t.Helper()
	if err := a.WaitHearsAll(3*time.Second, []float64{toneC}, []float64{toneA, toneB}); err != nil {
		t.Fatalf("transferee: %v", err)
	}
	if err := c.WaitHearsAll(3*time.Second, []float64{toneA}, []float64{toneB, toneC}); err != nil {
		t.Fatalf("target: %v", err)
	}
}

func waitNotify(t *testing.T, c *testkit.PhoneCall, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-c.Notifies():
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no NOTIFY %q", want)
		}
	}
}

// Bob's transfer button (REFER) sends Alice to Carol: once Carol answers,
// Alice and Carol talk, Bob is told it worked and leaves the call.
func TestBlindTransferByRefer(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	holdFrom(t, b) // phones hold before they transfer
	carolCall := answerNext(t, carol, toneC)
	res, err := b.Refer("<sip:1003@" + p.Addr() + ">")
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	c := <-carolCall
	waitNotify(t, b, "SIP/2.0 200 OK")
	if err := b.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("transferor not released: %v", err)
	}
	exactlyTalking(t, a, c)
	p.WaitEvent(dialog.EventTransferDone, 3*time.Second)
	hangUp(t, a, c)
}

// The same by DTMF: Bob keys ## 1003 #.
func TestBlindTransferByDTMF(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	carolCall := answerNext(t, carol, toneC)
	if err := b.SendDigits("##1003#"); err != nil {
		t.Fatal(err)
	}
	c := <-carolCall
	if err := b.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("transferor not released: %v", err)
	}
	exactlyTalking(t, a, c)
	hangUp(t, c, a)
}

// A transfer to a target that refuses returns the caller to the
// transferor, who is told by a prompt (DTMF) or a NOTIFY (REFER).
func TestTransferFailedReturnsToTransferor(t *testing.T) {
	p := markerPBX(t)
	alice, bob, carol := threePhones(t, p)
	refuse := func() {
		go func() {
			if in, err := carol.Incoming(5 * time.Second); err == nil {
				in.Reject(486, "Busy Here")
			}
		}()
	}
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	refuse()
	if err := b.SendDigits("##1003#"); err != nil {
		t.Fatal(err)
	}
	if ev := p.WaitEvent(dialog.EventTransferFailed, 5*time.Second); ev.Cause == "" {
		t.Fatal("no cause")
	}
	if err := b.WaitHears(3*time.Second, 1900); err != nil {
		t.Fatalf("transferor not told: %v", err)
	}
	talking(t, a, b)

	refuse()
	res, err := b.Refer("<sip:1003@" + p.Addr() + ">")
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	waitNotify(t, b, "SIP/2.0 486 Busy Here")
	talking(t, a, b)
	hangUp(t, a, b)
}

// Bob keys *2 1003 #: Alice hears music while Bob talks to Carol; when
// Bob hangs up, Alice and Carol talk.
func TestAttendedTransferByDTMF(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	carolCall := answerNext(t, carol, toneC)
	if err := b.SendDigits("*21003#"); err != nil {
		t.Fatal(err)
	}
	c := <-carolCall
	if err := b.WaitHears(5*time.Second, toneC, toneA); err != nil {
		t.Fatalf("transferor and target: %v", err)
	}
	if err := c.WaitHears(3*time.Second, toneB, toneA); err != nil {
		t.Fatalf("target and transferor: %v", err)
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneB, toneC}); err != nil {
		t.Fatalf("held party hears the consultation: %v", err)
	}
	if err := b.Hangup(); err != nil {
		t.Fatal(err)
	}
	exactlyTalking(t, a, c)
	hangUp(t, a, c)
}

// The engine API's attended transfer can be cancelled: the target is hung
// up and the two parties talk again.
func TestAttendedTransferCancelled(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	started := p.WaitEvent(dialog.EventCallStarted, 3*time.Second)
	aliceLeg := started.LegID
	// The call is recorded throughout; the consultation must not be in it.
	recID, err := p.Engine().Record(context.Background(), aliceLeg, dialog.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	carolCall := answerNext(t, carol, toneC)
	x, err := p.Engine().AttendedTransfer(context.Background(), aliceLeg, "1003")
	if err != nil {
		t.Fatal(err)
	}
	c := <-carolCall
	if err := b.WaitHears(5*time.Second, toneC, toneA); err != nil {
		t.Fatalf("consultation: %v", err)
	}
	<-time.After(500 * time.Millisecond) // some consultation the recording must not hold
	if err := x.Cancel(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("target not hung up: %v", err)
	}
	talking(t, a, b)
	if err := x.Complete(); err == nil {
		t.Fatal("completed a cancelled transfer")
	}
	entry, err := p.Engine().StopRecording(context.Background(), recID)
	if err != nil {
		t.Fatal(err)
	}
	left, right := readStereo(t, filepath.Join(p.DataDir, "recordings", entry.Path))
	if got := testkit.ToneSequence(append(left, right...), toneC); len(got) != 0 {
		t.Fatal("the consultation is in the call's recording")
	}
	if got := silentRun(left, right); got < 400*time.Millisecond {
		t.Fatalf("silence of %v in the recording, want the consultation's span", got)
	}
	hangUp(t, a, b)
}

// Bob holds Alice, calls Carol himself, then joins them with REFER and
// Replaces, as a phone's attended transfer does.
func TestAttendedTransferByRefer(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	a, b1 := connect(t, alice, bob, "1002")
	talking(t, a, b1)
	holdFrom(t, b1)
	b2, c := connect(t, bob, carol, "1003")
	b2.SendTone(toneB)
	c.SendTone(toneC)
	talking2 := func() {
		if err := b2.WaitHears(3*time.Second, toneC); err != nil {
			t.Fatalf("consultation: %v", err)
		}
	}
	talking2()
	local, remote := b2.Tags()
	// Wrong tags name no dialog: the PBX refuses and nothing changes.
	wrong := url.QueryEscape(b2.SIPCallID() + ";to-tag=x;from-tag=" + local)
	if res, err := b1.Refer("<sip:1003@" + p.Addr() + "?Replaces=" + wrong + ">"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	waitNotify(t, b1, "SIP/2.0 481 Call/Transaction Does Not Exist")
	talking2()
	replaces := url.QueryEscape(b2.SIPCallID() + ";to-tag=" + remote + ";from-tag=" + local)
	res, err := b1.Refer("<sip:1003@" + p.Addr() + "?Replaces=" + replaces + ">")
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	waitNotify(t, b1, "SIP/2.0 200 OK")
	if err := b2.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("consultation call not ended: %v", err)
	}
	if err := b1.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("transferor's first call not ended: %v", err)
	}
	if err := a.WaitHears(5*time.Second, toneC, toneB); err != nil {
		t.Fatalf("held party: %v", err)
	}
	if err := c.WaitHears(3*time.Second, toneA, toneB); err != nil {
		t.Fatalf("target: %v", err)
	}
	hangUp(t, a, c)
}
