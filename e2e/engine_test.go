package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
)

// The engine API driven as a program would: legs originated to phones,
// bridged, swapped, parked, played to, asked for digits, transferred and
// supervised. Each phone sends its own tone; the assertions say who hears
// whom.

// Two legs originated by the engine, then bridged, hear each other.
func TestEngineOriginateAndBridge(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	la, a := p.Originate("1001", alice, toneA, "")
	lb, b := p.Originate("1002", bob, toneB, "")
	if info, _ := p.Engine().Leg(la); info.State != dialog.StateAnswered || info.Direction != dialog.Outbound || info.BridgeID != "" {
		t.Fatalf("parked leg: %+v", info)
	}
	// Parked, they hear silence.
	if err := a.WaitHearsAll(2*time.Second, nil, []float64{toneB}); err != nil {
		t.Fatalf("parked a: %v", err)
	}
	br, err := p.Engine().Bridge(context.Background(), la, lb)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.Legs) != 2 {
		t.Fatalf("bridge %+v", br)
	}
	talking(t, a, b)
	if info, _ := p.Engine().Leg(lb); info.BridgeID != br.ID {
		t.Fatalf("leg b not in bridge %s: %+v", br.ID, info)
	}
	if err := p.Engine().Hangup(context.Background(), la, dialog.CauseNormal); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	// An API bridge parks the party left, it does not hang it up.
	if info, ok := p.Engine().Leg(lb); !ok || info.State != dialog.StateAnswered || info.BridgeID != "" {
		t.Fatalf("leg b after its partner hung up: %+v %v", info, ok)
	}
	if err := p.Engine().Hangup(context.Background(), lb, dialog.CauseNormal); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// bridgedPair originates a leg to each of two phones, which answer with
// their tones, bridges the legs, and checks that each hears the other.
func bridgedPair(t *testing.T, p *testkit.PBX, nx string, x *testkit.Phone, tx float64, ny string, y *testkit.Phone, ty float64) (lx string, cx *testkit.PhoneCall, ly string, cy *testkit.PhoneCall) {
	t.Helper()
	lx, cx = p.Originate(nx, x, tx, "")
	ly, cy = p.Originate(ny, y, ty, "")
	if _, err := p.Engine().Bridge(context.Background(), lx, ly); err != nil {
		t.Fatal(err)
	}
	talkingTones(t, cx, tx, cy, ty)
	return lx, cx, ly, cy
}

// Unbridge and re-bridge to another leg: a swap. A talks to B, then to C;
// B is parked and hears neither.
func TestEngineSwap(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	la, a, lb, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	lc, c := p.Originate("1003", carol, toneC, "")
	ctx := context.Background()
	if err := p.Engine().Unbridge(ctx, lb); err != nil {
		t.Fatal(err)
	}
	if info, _ := p.Engine().Leg(la); info.BridgeID != "" {
		t.Fatalf("a still bridged after b left: %+v", info)
	}
	if _, err := p.Engine().Bridge(ctx, la, lc); err != nil {
		t.Fatal(err)
	}
	exactlyTalking(t, a, c)
	if err := b.WaitHearsAll(2*time.Second, nil, []float64{toneA, toneC}); err != nil {
		t.Fatalf("parked b: %v", err)
	}
	for _, x := range []*testkit.PhoneCall{a, b, c} {
		x.Hangup()
	}
}

// An originated leg parked with music hears the class until it is bridged.
func TestEngineParkWithMusic(t *testing.T) {
	dir := testkit.WritePrompts(t, time.Second, map[string]float64{"jazz": 1700})
	p := testkit.StartPBX(t, "", func(c *config.Config) {
		c.Sounds.Music = map[string]string{"jazz": dir + "/jazz.wav"}
	})
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	la, a := p.Originate("1001", alice, toneA, "jazz")
	if err := a.WaitHears(3*time.Second, 1700); err != nil {
		t.Fatalf("parked with music: %v", err)
	}
	lb, b := p.Originate("1002", bob, toneB, "")
	if _, err := p.Engine().Bridge(context.Background(), la, lb); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHearsAll(3*time.Second, []float64{toneB}, []float64{1700}); err != nil {
		t.Fatalf("bridged: %v", err)
	}
	a.Hangup()
	b.Hangup()
}

// A prompt played to a parked leg, then digits collected from it.
func TestEnginePlayAndCollect(t *testing.T) {
	p := markerPBX(t)
	alice := phone(t, p, "1001")
	la, a := p.Originate("1001", alice, toneA, "")
	a.StopTone()
	pb, err := p.Engine().PlayPrompts(context.Background(), la, []string{"welcome", "welcome", "welcome"}, dialog.PlayOptions{Interrupt: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHears(3*time.Second, 500); err != nil {
		t.Fatalf("prompt: %v", err)
	}
	if err := p.Engine().StopPlay(context.Background(), "no-such-playback"); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("stop of an unknown playback: %v", err)
	}
	got := make(chan dialog.Collected, 1)
	go func() {
		c, err := p.Engine().CollectDTMF(context.Background(), la, dialog.CollectOptions{Max: 4, Terminator: "#", Timeout: 5 * time.Second})
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	if err := a.SendDigits("42#"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pb.Done():
		if pb.Reason() != "interrupted" {
			t.Fatalf("prompt ended %q, want interrupted", pb.Reason())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a key did not interrupt the prompt")
	}
	if c := <-got; c.Digits != "42" || c.Reason != "terminator" {
		t.Fatalf("collected %+v, want 42 by terminator", c)
	}
	// A looping prompt stopped by its id; the parked leg hears silence again.
	loop, err := p.Engine().PlayPrompts(context.Background(), la, []string{"welcome"}, dialog.PlayOptions{Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHears(3*time.Second, 500); err != nil {
		t.Fatalf("looping prompt: %v", err)
	}
	if err := p.Engine().StopPlay(context.Background(), loop.ID); err != nil {
		t.Fatal(err)
	}
	if loop.Reason() != "stopped" {
		t.Fatalf("stopped playback ended %q", loop.Reason())
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{500}); err != nil {
		t.Fatalf("after stop: %v", err)
	}
	a.Hangup()
}

// An attended transfer made through the API: the held party hears music
// while the transferor consults the target; cancel restores the call,
// and a second one completed joins the held party with the target.
func TestEngineAttendedTransfer(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	ctx := context.Background()
	la, a, _, b := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)

	carolCall := answerNext(t, carol, toneC)
	x, err := p.Engine().AttendedTransfer(ctx, la, "1003")
	if err != nil {
		t.Fatal(err)
	}
	c := <-carolCall
	if err := b.WaitHearsAll(5*time.Second, []float64{toneC}, []float64{toneA}); err != nil {
		t.Fatalf("transferor consulting: %v", err)
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneB, toneC}); err != nil {
		t.Fatalf("held party: %v", err)
	}
	if err := p.Engine().CancelTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("target not hung up on cancel: %v", err)
	}
	talking(t, a, b)

	carolCall = answerNext(t, carol, toneC)
	x, err = p.Engine().AttendedTransfer(ctx, la, "1003")
	if err != nil {
		t.Fatal(err)
	}
	c = <-carolCall
	if err := b.WaitHears(5*time.Second, toneC, toneA); err != nil {
		t.Fatalf("consultation: %v", err)
	}
	if err := p.Engine().CompleteTransfer(ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("transferor not hung up on complete: %v", err)
	}
	exactlyTalking(t, a, c)
	a.Hangup()
	c.Hangup()
}

// Supervisor modes, each checked with three tones: customer (A), agent
// (B), supervisor (C).
func TestEngineSupervise(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	ctx := context.Background()
	_, cust, la, agent := bridgedPair(t, p, "1001", alice, toneA, "1002", bob, toneB)
	ls, sup := p.Originate("1003", carol, toneC, "")
	hears := func(mode string, x *testkit.PhoneCall, want, notWant []float64) {
		t.Helper()
		if err := x.WaitHearsAll(3*time.Second, want, notWant); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
	}

	if err := p.Engine().Listen(ctx, ls, la); err != nil {
		t.Fatal(err)
	}
	hears("listen: supervisor", sup, []float64{toneA, toneB}, nil)
	hears("listen: customer", cust, []float64{toneB}, []float64{toneC})
	hears("listen: agent", agent, []float64{toneA}, []float64{toneC})

	if err := p.Engine().Whisper(ctx, ls, la); err != nil {
		t.Fatal(err)
	}
	hears("whisper: agent", agent, []float64{toneA, toneC}, nil)
	hears("whisper: customer", cust, []float64{toneB}, []float64{toneC})
	hears("whisper: supervisor", sup, []float64{toneA, toneB}, nil)

	if err := p.Engine().Barge(ctx, ls, la); err != nil {
		t.Fatal(err)
	}
	hears("barge: customer", cust, []float64{toneB, toneC}, nil)
	hears("barge: agent", agent, []float64{toneA, toneC}, nil)
	hears("barge: supervisor", sup, []float64{toneA, toneB}, nil)

	if err := p.Engine().Listen(ctx, ls, la); err != nil {
		t.Fatal(err)
	}
	hears("listen again: customer", cust, []float64{toneB}, []float64{toneC})

	if err := p.Engine().Takeover(ctx, ls, la); err != nil {
		t.Fatal(err)
	}
	hears("takeover: customer", cust, []float64{toneC}, []float64{toneB})
	hears("takeover: supervisor", sup, []float64{toneA}, []float64{toneB})
	hears("takeover: agent", agent, nil, []float64{toneA, toneC})
	if info, _ := p.Engine().Leg(la); info.BridgeID != "" || info.State != dialog.StateAnswered {
		t.Fatalf("agent after takeover: %+v", info)
	}
	for _, x := range []*testkit.PhoneCall{cust, agent, sup} {
		x.Hangup()
	}
}

// A leg that rings can be cancelled by its id: the phone sees CANCEL, and
// the leg ends with the cause given.
func TestEngineCancelRingingLeg(t *testing.T) {
	p := testkit.StartPBX(t, "")
	bob := phone(t, p, "1002")
	sub, err := p.Engine().Subscribe(dialog.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	cancelled := ringUntilCancelled(bob)
	leg, err := p.Engine().Originate(context.Background(), dialog.OriginateRequest{To: "1002"})
	if err != nil {
		t.Fatal(err)
	}
	p.WaitLeg(sub, leg.ID, dialog.EventLegRinging, 3*time.Second)
	if info, ok := p.Engine().Leg(leg.ID); !ok || info.State != dialog.StateRinging {
		t.Fatalf("ringing leg: %+v %v", info, ok)
	}
	if err := p.Engine().Hangup(context.Background(), leg.ID, dialog.CauseCancelled); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the phone was not sent CANCEL")
	}
	ev := p.WaitLeg(sub, leg.ID, dialog.EventLegEnded, 3*time.Second)
	if ev.Cause != dialog.CauseCancelled.String() || ev.By != "local" {
		t.Fatalf("ended: %+v", ev)
	}
	if _, ok := p.Engine().Leg(leg.ID); ok {
		t.Fatal("an ended leg is still listed")
	}
	if err := p.Engine().Hangup(context.Background(), leg.ID, dialog.CauseNormal); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("hangup of an ended leg: %v, want ErrNotFound", err)
	}
}

// A program's subscription drops, a call happens meanwhile, and the
// program resumes after the last sequence number it saw: it gets exactly
// the events it missed, in order, then live ones.
func TestEngineEventsResume(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	all, err := e.Subscribe(dialog.EventFilter{Buffer: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	first, err := e.Subscribe(dialog.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := connect(t, alice, bob, "1002")
	hangUp(t, a, b)
	var last uint64
	for ev := range first.C {
		last = ev.Seq
		if ev.Kind == dialog.EventCallEnded {
			break
		}
	}
	first.Close()

	// Missed: a whole second call.
	a, b = connect(t, alice, bob, "1002")
	hangUp(t, a, b)
	var missed []dialog.Event
	for ev := range all.C {
		if ev.Seq <= last {
			continue
		}
		missed = append(missed, ev)
		if ev.Kind == dialog.EventCallEnded {
			break
		}
	}

	resumed, err := e.Subscribe(dialog.EventFilter{After: last})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	for i, want := range missed {
		select {
		case got := <-resumed.C:
			if got.Seq != want.Seq || got.Kind != want.Kind || got.LegID != want.LegID {
				t.Fatalf("resumed event %d: %d %s %s, want %d %s %s", i, got.Seq, got.Kind, got.LegID, want.Seq, want.Kind, want.LegID)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("resumed only %d of %d missed events", i, len(missed))
		}
	}
	if len(missed) < 10 {
		t.Fatalf("a whole call made only %d events", len(missed))
	}
	// Then live events: a third call's first event follows at once.
	a, b = connect(t, alice, bob, "1002")
	select {
	case ev := <-resumed.C:
		if ev.Seq != missed[len(missed)-1].Seq+1 {
			t.Fatalf("live event %d after resume, want %d", ev.Seq, missed[len(missed)-1].Seq+1)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no live event after the replay")
	}
	hangUp(t, a, b)

	// Too far back: the history is bounded, and a future point is refused.
	if _, err := e.Subscribe(dialog.EventFilter{After: last + 1_000_000}); !errors.Is(err, dialog.ErrTooLate) {
		t.Fatalf("resume from the future: %v, want ErrTooLate", err)
	}
}

// The ring timeout runs on the engine's clock: a leg that rings for 30 s
// of that clock is cancelled as unanswered, with no real wait.
func TestEngineRingTimeoutOnTheClock(t *testing.T) {
	clk := testkit.NewManualClock()
	p := testkit.StartPBX(t, "", testkit.WithClock(clk))
	bob := phone(t, p, "1002")
	sub, err := p.Engine().Subscribe(dialog.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	cancelled := ringUntilCancelled(bob)
	leg, err := p.Engine().Originate(context.Background(), dialog.OriginateRequest{To: "1002", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.WaitLeg(sub, leg.ID, dialog.EventLegRinging, 3*time.Second)
	clk.Advance(29 * time.Second)
	if info, ok := p.Engine().Leg(leg.ID); !ok || info.State != dialog.StateRinging {
		t.Fatalf("after 29 s of ringing: %+v %v", info, ok)
	}
	clk.Advance(time.Second)
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the phone was not sent CANCEL at the ring timeout")
	}
	ev := p.WaitLeg(sub, leg.ID, dialog.EventLegEnded, 3*time.Second)
	if ev.Cause != dialog.CauseNoAnswer.String() || ev.By != "system" {
		t.Fatalf("ended: %+v", ev)
	}
}

// A supervisor listening to a dial-plan call stays up when the call ends:
// the parties are hung up together, the supervisor's leg is parked.
func TestEngineSupervisorOutlivesTheCall(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob, carol := threePhones(t, p)
	sub, err := p.Engine().Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventCallAnswered}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	var bobLeg string
	select {
	case ev := <-sub.C:
		bobLeg = ev.LegID
	case <-time.After(3 * time.Second):
		t.Fatal("no call.answered")
	}
	ls, sup := p.Originate("1003", carol, toneC, "")
	if err := p.Engine().Listen(context.Background(), ls, bobLeg); err != nil {
		t.Fatal(err)
	}
	if err := sup.WaitHearsAll(3*time.Second, []float64{toneA, toneB}, nil); err != nil {
		t.Fatalf("listening: %v", err)
	}
	hangUp(t, a, b)
	if info, ok := p.Engine().Leg(ls); !ok || info.State != dialog.StateAnswered || info.BridgeID != "" {
		t.Fatalf("supervisor after the call: %+v %v", info, ok)
	}
	if err := sup.WaitHearsAll(3*time.Second, nil, []float64{toneA, toneB}); err != nil {
		t.Fatalf("parked supervisor: %v", err)
	}
	sup.Hangup()
}
