package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// Transfers a program makes of a lone leg (answered, in no bridge: parked
// or hearing a prompt), and attended transfers to an application, which
// has no one to consult. The PBX is supportPBX: every user's hold music
// is supportDefault, 7000 plays the jazz class. Alice sends toneA, bob
// toneB, carol toneC.

// ringIn waits for the next call to ph and lets it ring.
func ringIn(t *testing.T, ph *testkit.Phone) *testkit.Incoming {
	t.Helper()
	in, err := ph.Incoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	return in
}

// pickUp answers a ringing call with tone.
func pickUp(t *testing.T, in *testkit.Incoming, tone float64) *testkit.PhoneCall {
	t.Helper()
	c, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	c.SendTone(tone)
	return c
}

// parkedHearingPrompt originates a leg to alice and plays it the welcome
// prompt in a loop: a caller in an IVR, about to be transferred.
func parkedHearingPrompt(t *testing.T, p *testkit.PBX, alice *testkit.Phone) (string, *testkit.PhoneCall) {
	t.Helper()
	la, a := p.Originate("1001", alice, toneA, "")
	if _, err := p.Engine().PlayPrompts(context.Background(), la, []string{"welcome"}, dialog.PlayOptions{Loop: true}); err != nil {
		t.Fatal(err)
	}
	hears(t, "alice in the prompt", a, []float64{supportWelcome}, nil)
	return la, a
}

// parkedAnswered asserts a leg is up, answered (not held) and in no bridge.
func parkedAnswered(t *testing.T, p *testkit.PBX, id string) {
	t.Helper()
	info, ok := p.Engine().Leg(id)
	if !ok || info.State != dialog.StateAnswered || info.BridgeID != "" {
		t.Fatalf("leg %s: %+v (up %v), want answered and parked", id, info, ok)
	}
}

// Attended transfer of a lone leg: alice, hearing a prompt, hears her
// hold music (not the prompt) while carol rings; complete is refused
// until carol answers, then bridges alice with carol as Bridge does (when
// carol hangs up, alice is parked). Then a cancelled one: bob is hung up
// and alice is off hold. Then a failed one: bob is busy.
func TestEngineAttendedTransferLoneLeg(t *testing.T) {
	p := supportPBX(t)
	alice, bob, carol := threePhones(t, p)
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)
	la, a := parkedHearingPrompt(t, p, alice)
	if err := e.SetOwner(la, "prog"); err != nil {
		t.Fatal(err)
	}

	x, err := e.AttendedTransfer(ctx, la, "sip:1003@local")
	if err != nil {
		t.Fatal(err)
	}
	in := ringIn(t, carol)
	if info, ok := e.Leg(x.ID); !ok || info.Owner != "prog" || info.To != "sip:1003@local" {
		t.Fatalf("consultation leg %+v (%v): want a leg owned by prog", info, ok)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferStarted, ofLeg(la)); ev.Detail != "sip:1003@local" {
		t.Fatalf("transfer.started %+v", ev)
	}
	hears(t, "alice while carol rings", a, []float64{supportDefault}, []float64{supportWelcome})
	if err := e.CompleteTransfer(ctx, x.ID); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("complete while ringing: %v, want ErrInvalidState", err)
	}
	if _, err := e.AttendedTransfer(ctx, la, "1002"); !errors.Is(err, dialog.ErrTransfer) {
		t.Fatalf("a second transfer of the leg: %v, want ErrTransfer", err)
	}
	c := pickUp(t, in, toneC)
	nextEvent(t, sub, dialog.EventLegAnswered, ofLeg(x.ID))
	hears(t, "alice while carol waits", a, []float64{supportDefault}, []float64{toneC})
	if err := e.CompleteTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	exactlyTalking(t, a, c)
	if ev := nextEvent(t, sub, dialog.EventTransferDone, ofLeg(la)); ev.OtherLegID != x.ID {
		t.Fatalf("transfer.completed %+v, want the other leg %s", ev, x.ID)
	}
	if err := e.CompleteTransfer(ctx, x.ID); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("complete again: %v, want ErrNotFound", err)
	}
	c.Hangup()
	nextEvent(t, sub, dialog.EventLegUnbridged, ofLeg(la))
	parkedAnswered(t, p, la)

	// Cancelled after the target answered.
	x, err = e.AttendedTransfer(ctx, la, "1002")
	if err != nil {
		t.Fatal(err)
	}
	b := pickUp(t, ringIn(t, bob), toneB)
	nextEvent(t, sub, dialog.EventLegAnswered, ofLeg(x.ID))
	hears(t, "alice consulting", a, []float64{supportDefault}, []float64{toneB})
	if err := e.CancelTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("target not hung up on cancel: %v", err)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferFailed, ofLeg(la)); ev.Cause != "cancelled" {
		t.Fatalf("transfer.failed %+v", ev)
	}
	hears(t, "alice after cancel", a, nil, []float64{supportDefault, toneB})
	parkedAnswered(t, p, la)

	// A target that does not answer.
	x, err = e.AttendedTransfer(ctx, la, "1002")
	if err != nil {
		t.Fatal(err)
	}
	if err := ringIn(t, bob).Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferFailed, ofLeg(la)); ev.Cause != dialog.CauseBusy.String() {
		t.Fatalf("transfer.failed %+v, want cause busy", ev)
	}
	<-x.Done()
	hears(t, "alice after a busy target", a, nil, []float64{supportDefault})
	parkedAnswered(t, p, la)
	a.Hangup()
}

// The held lone leg hanging up ends the consultation and hangs up the
// target that was ringing.
func TestEngineAttendedTransferLoneLegHangsUp(t *testing.T) {
	p := supportPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	la, a := p.Originate("1001", alice, toneA, "")
	x, err := e.AttendedTransfer(context.Background(), la, "1002")
	if err != nil {
		t.Fatal(err)
	}
	in := ringIn(t, bob)
	a.Hangup()
	select {
	case <-in.Cancelled():
	case <-time.After(3 * time.Second):
		t.Fatal("the target still rings after the held leg hung up")
	}
	select {
	case <-x.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("consultation not over")
	}
	if err := e.CancelTransfer(context.Background(), x.ID); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("cancel after the end: %v, want ErrNotFound", err)
	}
}

// Blind transfer of a lone leg: alice, hearing a prompt, hears her hold
// music while carol rings, then talks to carol; Transfer returns then.
// When carol hangs up alice is parked. A busy target: transfer.failed on
// alice, off hold. An application: alice is redirected there.
func TestEngineBlindTransferLoneLeg(t *testing.T) {
	p := supportPBX(t)
	alice, bob, carol := threePhones(t, p)
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)
	la, a := parkedHearingPrompt(t, p, alice)

	done := make(chan error, 1)
	go func() { done <- e.Transfer(ctx, la, "1003") }()
	in := ringIn(t, carol)
	hears(t, "alice while carol rings", a, []float64{supportDefault}, []float64{supportWelcome})
	select {
	case err := <-done:
		t.Fatalf("Transfer returned while the target rang: %v", err)
	default:
	}
	c := pickUp(t, in, toneC)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	exactlyTalking(t, a, c)
	if ev := nextEvent(t, sub, dialog.EventTransferStarted, ofLeg(la)); ev.Detail != "1003" {
		t.Fatalf("transfer.started %+v", ev)
	}
	completed := nextEvent(t, sub, dialog.EventTransferDone, ofLeg(la))
	if info, ok := e.Leg(completed.OtherLegID); !ok || info.BridgeID == "" {
		t.Fatalf("transfer.completed %+v: the target leg %+v", completed, info)
	}
	c.Hangup()
	nextEvent(t, sub, dialog.EventLegUnbridged, ofLeg(la))
	parkedAnswered(t, p, la)

	go func() { done <- e.Transfer(ctx, la, "1002") }()
	if err := ringIn(t, bob).Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("Transfer to a busy target succeeded")
	}
	if ev := nextEvent(t, sub, dialog.EventTransferFailed, ofLeg(la)); ev.Cause != dialog.CauseBusy.String() {
		t.Fatalf("transfer.failed %+v, want cause busy", ev)
	}
	hears(t, "alice after a busy target", a, nil, []float64{supportDefault, toneB})
	parkedAnswered(t, p, la)

	if err := e.Transfer(ctx, la, "7000"); err != nil {
		t.Fatal(err)
	}
	hears(t, "alice in the application", a, []float64{supportJazz}, []float64{supportDefault})
	nextEvent(t, sub, dialog.EventTransferDone, ofLeg(la))

	// A leg still ringing cannot be transferred.
	ring := ringUntilCancelled(bob)
	lb, err := e.Originate(ctx, dialog.OriginateRequest{To: "1002"})
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, sub, dialog.EventLegRinging, ofLeg(lb.ID))
	if err := e.Transfer(ctx, lb.ID, "1003"); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("transfer of a ringing leg: %v, want ErrInvalidState", err)
	}
	if _, err := e.AttendedTransfer(ctx, lb.ID, "1003"); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("attended transfer of a ringing leg: %v, want ErrInvalidState", err)
	}
	e.Hangup(ctx, lb.ID, dialog.CauseNormal)
	<-ring
	a.Hangup()
}

// Attended transfer to an application from a call (spec scenario 4):
// alice (the customer) hears her hold music and bob hears neither her nor
// the music; the consultation's id names no leg. Cancel returns alice to
// bob; a second one completed sends alice into the application (jazz) and
// hangs bob up. Events are bob's, as for a consultation.
func TestEngineAttendedTransferToApplication(t *testing.T) {
	p := supportPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)
	la, a, lb, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)

	x, err := e.AttendedTransfer(ctx, la, "sip:7000@local")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Leg(x.ID); ok || x.ID == "" {
		t.Fatalf("consultation id %q names a leg", x.ID)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferStarted, ofLeg(lb)); ev.OtherLegID != la || ev.Detail != "sip:7000@local" {
		t.Fatalf("transfer.started %+v", ev)
	}
	hears(t, "alice held", a, []float64{supportDefault}, []float64{toneB})
	hearsNone(t, "bob", b, a, toneA, supportDefault)
	if _, err := e.AttendedTransfer(ctx, la, "7000"); !errors.Is(err, dialog.ErrTransfer) {
		t.Fatalf("a second transfer: %v, want ErrTransfer", err)
	}
	if err := e.CancelTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, sub, dialog.EventTransferFailed, ofLeg(lb)); ev.Cause != "cancelled" {
		t.Fatalf("transfer.failed %+v", ev)
	}
	talking(t, a, b)

	x, err = e.AttendedTransfer(ctx, la, "7000")
	if err != nil {
		t.Fatal(err)
	}
	hears(t, "alice held again", a, []float64{supportDefault}, []float64{toneB})
	if err := e.CompleteTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("bob not hung up: %v", err)
	}
	hears(t, "alice in the application", a, []float64{supportJazz}, []float64{supportDefault, toneB})
	if ev := nextEvent(t, sub, dialog.EventTransferDone, ofLeg(lb)); ev.OtherLegID != la || ev.Detail != "7000" {
		t.Fatalf("transfer.completed %+v", ev)
	}
	if err := e.CancelTransfer(ctx, x.ID); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("cancel after complete: %v, want ErrNotFound", err)
	}
	a.Hangup()
}

// The transferor hanging up during a consultation of an application
// completes it, as with a target to talk to.
func TestEngineAttendedTransferToApplicationTransferorHangsUp(t *testing.T) {
	p := supportPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	la, a, _, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	x, err := e.AttendedTransfer(context.Background(), la, "7000")
	if err != nil {
		t.Fatal(err)
	}
	hears(t, "alice held", a, []float64{supportDefault}, []float64{toneB})
	b.Hangup()
	select {
	case <-x.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("consultation not over")
	}
	hears(t, "alice in the application", a, []float64{supportJazz}, []float64{supportDefault})
	a.Hangup()
}

// Attended transfer of a lone leg to an application: hold music, cancel
// takes it off hold, complete redirects it; events on the leg itself.
func TestEngineAttendedTransferLoneLegToApplication(t *testing.T) {
	p := supportPBX(t)
	alice := phone(t, p, "1001")
	e := p.Engine()
	ctx := context.Background()
	sub := subscribe(t, p)
	la, a := parkedHearingPrompt(t, p, alice)

	x, err := e.AttendedTransfer(ctx, la, "7000")
	if err != nil {
		t.Fatal(err)
	}
	hears(t, "alice held", a, []float64{supportDefault}, []float64{supportWelcome})
	if err := e.CancelTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	hears(t, "alice after cancel", a, nil, []float64{supportDefault})
	parkedAnswered(t, p, la)
	nextEvent(t, sub, dialog.EventTransferFailed, ofLeg(la))

	x, err = e.AttendedTransfer(ctx, la, "7000")
	if err != nil {
		t.Fatal(err)
	}
	hears(t, "alice held again", a, []float64{supportDefault}, nil)
	if err := e.CompleteTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	hears(t, "alice in the application", a, []float64{supportJazz}, []float64{supportDefault})
	if ev := nextEvent(t, sub, dialog.EventTransferDone, ofLeg(la)); ev.OtherLegID != la {
		t.Fatalf("transfer.completed %+v", ev)
	}
	a.Hangup()
}
