package e2e

import (
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// The scenarios of specs/rwi-use-cases.md, each driven over a real RWI
// WebSocket with real SIP phones. Every party sends its own tone and each
// step asserts who hears whom: alice (customer) toneA, bob (agent 1)
// toneB, carol (agent 2) toneC.

const rwiToken = "rwi-e2e-token-0001"

// Marker audio of the RWI PBX: prompts and music classes are tones.
const (
	toneWelcome  = 500.0  // prompt "welcome"
	toneHoldFile = 2100.0 // prompt "hold", the spec's hold.wav
	toneDefault  = 1700.0 // music class "default" (every user's class)
	toneJazz     = 2300.0 // music class "jazz"; dial-plan 7300 plays it (the IVR)
)

// rwiPBX is a PBX with an RWI token for call, record and supervisor
// control, prompts and music classes that are tones, and an IVR stand-in
// at 7300.
func rwiPBX(t *testing.T, opts ...testkit.PBXOption) *testkit.PBX {
	t.Helper()
	dir := testkit.WritePrompts(t, 4*time.Second, map[string]float64{
		"welcome": toneWelcome, "hold": toneHoldFile, "music-default": toneDefault, "music-jazz": toneJazz,
	})
	return testkit.StartPBX(t, "", append([]testkit.PBXOption{func(c *config.Config) {
		c.Sounds.Prompts = dir
		c.Sounds.Music = map[string]string{"default": dir + "/music-default.wav", "jazz": dir + "/music-jazz.wav"}
		c.Dialplan = append(c.Dialplan, config.DialplanRule{Match: config.Match{Exact: "7300"}, Target: "music:jazz"})
		c.RWI.Tokens = []config.RWIToken{{
			Name: "e2e", Token: rwiToken,
			Scopes: []string{"call.control", "record.control", "supervisor.control"},
		}}
	}}, opts...)...)
}

func rwiClient(t *testing.T, p *testkit.PBX) *testkit.RWIClient {
	t.Helper()
	return testkit.DialRWI(t, p.HTTPAddr(), rwiToken)
}

// rwiAnswerNext answers the next call to ph with tone. Unlike answerNext
// it never touches t from its goroutine, which may outlive a failed test;
// the channel is closed without a call when none came.
func rwiAnswerNext(ph *testkit.Phone, tone float64) <-chan *testkit.PhoneCall {
	ch := make(chan *testkit.PhoneCall, 1)
	go func() {
		defer close(ch)
		in, err := ph.Incoming(5 * time.Second)
		if err != nil {
			return
		}
		c, err := in.Answer()
		if err != nil {
			return
		}
		c.SendTone(tone)
		ch <- c
	}()
	return ch
}

// rwiEnd ends a scenario: x's phone hangs up and the session hears of it;
// y, whom an RWI bridge leaves parked, is hung up by the session.
func rwiEnd(t *testing.T, c *testkit.RWIClient, x *testkit.PhoneCall, xName string, y *testkit.PhoneCall, yName string) {
	t.Helper()
	if err := x.Hangup(); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, c, "call.hangup", xName)
	c.MustDo("call.hangup", map[string]any{"call_id": yName})
	if err := y.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("%s: %v", yName, err)
	}
	expectEvent(t, c, "call.hangup", yName)
}

// rwiOriginate has the session call dest under the name callID, lets ph
// answer with tone, and waits for call.answered.
func rwiOriginate(t *testing.T, c *testkit.RWIClient, callID, dest string, ph *testkit.Phone, tone float64) *testkit.PhoneCall {
	t.Helper()
	answered := rwiAnswerNext(ph, tone)
	d := c.MustDo("call.originate", map[string]any{
		"call_id": callID, "destination": dest, "caller_id": "2000", "timeout_secs": 30,
	})
	if d["call_id"] != callID || d["leg_id"] == "" || d["leg_id"] == nil {
		t.Errorf("call.originate %s: data %v, want call_id %q and a leg_id", callID, d, callID)
	}
	c.WaitEvent("call.answered", callID, 5*time.Second)
	call := <-answered
	if call == nil {
		t.Fatalf("%s did not answer", dest)
	}
	return call
}

// rwiBridge bridges two legs by name and waits for call.bridged.
func rwiBridge(t *testing.T, c *testkit.RWIClient, x, y string) {
	t.Helper()
	d := c.MustDo("call.bridge", map[string]any{"leg_a": x, "leg_b": y})
	if d["bridge_id"] == "" || d["bridge_id"] == nil || d["leg_a"] != x || d["leg_b"] != y {
		t.Errorf("call.bridge: data %v, want bridge_id, leg_a %q, leg_b %q", d, x, y)
	}
	waitBridged(t, c, x, y)
}

// waitBridged consumes call.bridged events until one joins x and y (in
// either order, by their names); events of earlier bridges are skipped.
func waitBridged(t *testing.T, c *testkit.RWIClient, x, y string) testkit.RWIEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev, err := c.NextEvent("call.bridged", "", time.Until(deadline))
		if err != nil {
			t.Fatalf("no call.bridged of %s and %s: %v", x, y, err)
		}
		a, b := ev.Str("leg_a"), ev.Str("leg_b")
		if (a == x && b == y || a == y && b == x) && ev.Str("bridge_id") != "" {
			return ev
		}
	}
}

// rwiBridgedPair is the starting point of most scenarios: the session
// calls alice as leg_a and bob as leg_b and bridges them.
func rwiBridgedPair(t *testing.T, c *testkit.RWIClient, alice, bob *testkit.Phone) (a, b *testkit.PhoneCall) {
	t.Helper()
	a = rwiOriginate(t, c, "leg_a", "1001", alice, toneA)
	b = rwiOriginate(t, c, "leg_b", "sip:1002@local", bob, toneB)
	rwiBridge(t, c, "leg_a", "leg_b")
	talking(t, a, b)
	return a, b
}

// expectEvent waits for an event the contract promises; its absence is
// reported, and the scenario goes on.
func expectEvent(t *testing.T, c *testkit.RWIClient, name, callID string) (testkit.RWIEvent, bool) {
	t.Helper()
	ev, err := c.NextEvent(name, callID, 3*time.Second)
	if err != nil {
		t.Error(err)
		return ev, false
	}
	return ev, true
}

// checkSeq asserts the session's events are numbered 1, 2, 3... in the
// order they arrived, each with a timestamp.
func checkSeq(t *testing.T, c *testkit.RWIClient) {
	t.Helper()
	for i, ev := range c.Events() {
		if ev.Seq != uint64(i+1) {
			t.Errorf("event %d is %s: seq %d, want %d", i, ev, ev.Seq, i+1)
			return
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err != nil {
			t.Errorf("%s: timestamp %q: %v", ev, ev.Timestamp, err)
			return
		}
	}
}

// hears asserts what one party hears.
func hears(t *testing.T, who string, x *testkit.PhoneCall, want, notWant []float64) {
	t.Helper()
	if err := x.WaitHearsAll(3*time.Second, want, notWant); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
}

// hearsNone asserts that x receives none of freqs while clock receives
// half a second of audio. A leg may be sent nothing at all (its partner
// on hold), so what x heard before must not count: only what arrives now.
func hearsNone(t *testing.T, who string, x, clock *testkit.PhoneCall, freqs ...float64) {
	t.Helper()
	x.StartCapture()
	until := clock.Packets() + 25
	deadline := time.Now().Add(3 * time.Second)
	for clock.Packets() < until {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the other party got no audio for 3 s", who)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-x.Ended():
			t.Fatalf("%s: the call ended", who)
		}
	}
	pcm, _ := x.Captured()
	for _, f := range freqs {
		if got := testkit.ToneSequence(pcm, f); len(got) > 0 {
			t.Fatalf("%s: heard %v Hz, want none of %v", who, f, freqs)
		}
	}
}

// Scenario 1: call the customer, call the agent, bridge them once both
// answered. Before the bridge each is parked and hears nobody.
func TestRWIScenario1OutboundBridge(t *testing.T) {
	p := rwiPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := rwiClient(t, p)

	a := rwiOriginate(t, c, "leg_a", "1001", alice, toneA)
	b := rwiOriginate(t, c, "leg_b", "sip:1002@local", bob, toneB)
	hears(t, "parked customer", a, nil, []float64{toneB})
	hears(t, "parked agent", b, nil, []float64{toneA})

	rwiBridge(t, c, "leg_a", "leg_b")
	talking(t, a, b)

	calls, _ := c.MustDo("session.list_calls", nil)["calls"].([]any)
	var names []string
	for _, x := range calls {
		if m, ok := x.(map[string]any); ok {
			name, _ := m["call_id"].(string)
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"leg_a", "leg_b"}) {
		t.Errorf("session.list_calls: %v, want leg_a and leg_b", calls)
	}

	// The agent hangs up: the customer stays, parked; the session hangs
	// it up in turn.
	if err := b.Hangup(); err != nil {
		t.Fatal(err)
	}
	if ev, ok := expectEvent(t, c, "call.hangup", "leg_b"); ok && ev.Str("hangup_by") != "callee" {
		t.Errorf("call.hangup of leg_b: %s, want hangup_by callee", ev.Raw)
	}
	hears(t, "customer after the agent left", a, nil, []float64{toneB})
	c.MustDo("call.hangup", map[string]any{"call_id": "leg_a"})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("customer: %v", err)
	}
	expectEvent(t, c, "call.hangup", "leg_a")
	checkSeq(t, c)
}

// Scenario 2: an attended transfer of the customer from agent 1 to agent
// 2. While they consult the customer hears hold music; cancel restores
// the call, and a second transfer completed joins customer and agent 2.
func TestRWIScenario2AttendedTransfer(t *testing.T) {
	p := rwiPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := rwiClient(t, p)
	a, b := rwiBridgedPair(t, c, alice, bob)

	consult := func() (string, *testkit.PhoneCall) {
		t.Helper()
		carolCall := rwiAnswerNext(carol, toneC)
		d := c.MustDo("call.transfer.attended", map[string]any{"call_id": "leg_a", "target": "sip:1003@local", "timeout_secs": 30})
		id, _ := d["consultation_call_id"].(string)
		if id == "" || d["call_id"] != "leg_a" {
			t.Fatalf("call.transfer.attended: data %v", d)
		}
		x := <-carolCall
		if x == nil {
			t.FailNow()
		}
		expectEvent(t, c, "call.answered", id)
		hears(t, "agent 1 consulting", b, []float64{toneC}, []float64{toneA})
		hears(t, "agent 2 consulted", x, []float64{toneB}, []float64{toneA})
		hears(t, "held customer", a, []float64{toneDefault}, []float64{toneB, toneC})
		return id, x
	}

	id, x := consult()
	c.MustDo("call.transfer.cancel", map[string]any{"consultation_call_id": id})
	if err := x.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("agent 2 not hung up on cancel: %v", err)
	}
	expectEvent(t, c, "call.hangup", id)
	hears(t, "customer back with agent 1", a, []float64{toneB}, []float64{toneA, toneDefault})
	talking(t, a, b)

	id, x = consult()
	c.MustDo("call.transfer.complete", map[string]any{"call_id": "leg_a", "consultation_call_id": id})
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("agent 1 not hung up on complete: %v", err)
	}
	waitBridged(t, c, "leg_a", id)
	expectEvent(t, c, "call.hangup", "leg_b")
	exactlyTalking(t, a, x)
	hears(t, "customer", a, nil, []float64{toneDefault})
	rwiEnd(t, c, a, "leg_a", x, id)
	checkSeq(t, c)
}

// Scenario 3, method A: swap agents by hanging up agent 1, calling agent
// 2 and bridging. The customer waits parked meanwhile.
func TestRWIScenario3SwapHangupThenBridge(t *testing.T) {
	p := rwiPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := rwiClient(t, p)
	a, b := rwiBridgedPair(t, c, alice, bob)

	c.MustDo("call.hangup", map[string]any{"call_id": "leg_b"})
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("agent 1: %v", err)
	}
	expectEvent(t, c, "call.hangup", "leg_b")
	hears(t, "customer between agents", a, nil, []float64{toneB, toneC})

	answered := rwiAnswerNext(carol, toneC)
	c.MustDo("call.originate", map[string]any{"call_id": "leg_c", "destination": "sip:1003@local", "context": "default"})
	c.WaitEvent("call.answered", "leg_c", 5*time.Second)
	x := <-answered
	if x == nil {
		t.FailNow()
	}
	rwiBridge(t, c, "leg_a", "leg_c")
	exactlyTalking(t, a, x)
	rwiEnd(t, c, a, "leg_a", x, "leg_c")
	checkSeq(t, c)
}

// Scenario 3, method B: swap agents by an attended transfer completed at
// once; agent 1 is hung up by the completion.
func TestRWIScenario3SwapByTransfer(t *testing.T) {
	p := rwiPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := rwiClient(t, p)
	a, b := rwiBridgedPair(t, c, alice, bob)

	carolCall := rwiAnswerNext(carol, toneC)
	d := c.MustDo("call.transfer.attended", map[string]any{"call_id": "leg_a", "target": "sip:1003@local"})
	id, _ := d["consultation_call_id"].(string)
	x := <-carolCall
	if id == "" || x == nil {
		t.Fatalf("call.transfer.attended: data %v", d)
	}
	c.WaitEvent("call.answered", id, 5*time.Second) // the spec completes once the target answered
	c.MustDo("call.transfer.complete", map[string]any{"call_id": "leg_a", "consultation_call_id": id})
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("agent 1 not hung up: %v", err)
	}
	expectEvent(t, c, "call.hangup", "leg_b")
	waitBridged(t, c, "leg_a", id)
	exactlyTalking(t, a, x)
	rwiEnd(t, c, x, id, a, "leg_a")
	checkSeq(t, c)
}

// Scenario 4: a call that is bridged, even one made by a transfer, can be
// transferred again: customer with agent 1, then agent 2, then agent 1
// again (consultation_call_id alone names the transfer to complete).
func TestRWIScenario4TransferAgain(t *testing.T) {
	p := rwiPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := rwiClient(t, p)
	a, b := rwiBridgedPair(t, c, alice, bob)

	transfer := func(target string, to *testkit.Phone, tone float64, from *testkit.PhoneCall) (string, *testkit.PhoneCall) {
		t.Helper()
		answered := rwiAnswerNext(to, tone)
		d := c.MustDo("call.transfer.attended", map[string]any{"call_id": "leg_a", "target": target})
		id, _ := d["consultation_call_id"].(string)
		x := <-answered
		if id == "" || x == nil {
			t.Fatalf("call.transfer.attended to %s: data %v", target, d)
		}
		hears(t, "held customer", a, []float64{toneDefault}, nil)
		c.WaitEvent("call.answered", id, 5*time.Second) // the spec completes once the target answered
		c.MustDo("call.transfer.complete", map[string]any{"consultation_call_id": id})
		if err := from.WaitEnded(3 * time.Second); err != nil {
			t.Fatalf("transferor not hung up: %v", err)
		}
		waitBridged(t, c, "leg_a", id)
		return id, x
	}

	_, x := transfer("sip:1003@local", carol, toneC, b)
	exactlyTalking(t, a, x)
	id, y := transfer("sip:1002@local", bob, toneB, x)
	talking(t, a, y)
	hears(t, "customer with agent 1 again", a, nil, []float64{toneC, toneDefault})
	rwiEnd(t, c, a, "leg_a", y, id)
	checkSeq(t, c)
}

// Scenario 5: the customer waits with a looping hold prompt while two
// agents ring at once; the first to answer gets the call, the other is
// cancelled, the music stops and the customer is bridged.
func TestRWIScenario5HoldMusicParallelDial(t *testing.T) {
	p := rwiPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := rwiClient(t, p)
	a := rwiOriginate(t, c, "leg_a", "sip:1001@local", alice, toneA)

	d := c.MustDo("media.play", map[string]any{"call_id": "leg_a", "source": map[string]any{"type": "file", "uri": "hold.wav"}, "loop": true})
	playID, _ := d["play_id"].(string)
	if playID == "" {
		t.Errorf("media.play: data %v, want a play_id", d)
	}
	if ev, ok := expectEvent(t, c, "media.play.started", "leg_a"); ok && ev.Str("play_id") != playID {
		t.Errorf("media.play.started: %s, want play_id %q", ev.Raw, playID)
	}
	hears(t, "waiting customer", a, []float64{toneHoldFile}, nil)

	cancelled := ringUntilCancelled(bob)
	answered := rwiAnswerNext(carol, toneC)
	c.MustDo("call.originate", map[string]any{"call_id": "leg_b", "destination": "sip:1002@local", "timeout_secs": 30})
	c.MustDo("call.originate", map[string]any{"call_id": "leg_c", "destination": "sip:1003@local", "timeout_secs": 30})
	c.WaitEvent("call.answered", "leg_c", 5*time.Second)
	x := <-answered
	if x == nil {
		t.FailNow()
	}
	expectEvent(t, c, "call.ringing", "leg_b")

	c.MustDo("call.hangup", map[string]any{"call_id": "leg_b"})
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("agent 1 still rings after call.hangup")
	}
	expectEvent(t, c, "call.hangup", "leg_b")
	hears(t, "customer still waiting", a, []float64{toneHoldFile}, []float64{toneC})

	if d := c.MustDo("media.stop", map[string]any{"call_id": "leg_a"}); d["stopped"] != 1.0 {
		t.Errorf("media.stop: data %v, want stopped 1", d)
	}
	if ev, ok := expectEvent(t, c, "media.play.finished", "leg_a"); ok && ev.Str("play_id") != playID {
		t.Errorf("media.play.finished: %s, want play_id %q", ev.Raw, playID)
	}
	rwiBridge(t, c, "leg_a", "leg_c")
	exactlyTalking(t, a, x)
	hears(t, "bridged customer", a, nil, []float64{toneHoldFile})
	rwiEnd(t, c, x, "leg_c", a, "leg_a")
	checkSeq(t, c)
}

// Scenario 6: a prompt the customer may interrupt, a key collected, and
// the customer sent where that key says (2: agent 1002).
func TestRWIScenario6PromptAndDTMF(t *testing.T) {
	p := rwiPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := rwiClient(t, p)
	a := rwiOriginate(t, c, "leg_a", "sip:1001@local", alice, toneA)

	d := c.MustDo("media.play", map[string]any{"call_id": "leg_a", "source": map[string]any{"type": "file", "uri": "welcome.wav"}, "interrupt_on_dtmf": true})
	playID, _ := d["play_id"].(string)
	expectEvent(t, c, "media.play.started", "leg_a")
	hears(t, "customer", a, []float64{toneWelcome}, nil)
	c.MustDo("dtmf.collect", map[string]any{"call_id": "leg_a", "min_digits": 1, "max_digits": 1, "timeout_ms": 5000})
	if err := a.SendDigits("2"); err != nil {
		t.Fatal(err)
	}
	if ev, ok := expectEvent(t, c, "media.play.finished", "leg_a"); ok && (ev.Str("play_id") != playID || ev.Data["interrupted"] != true) {
		t.Errorf("media.play.finished: %s, want play_id %q interrupted", ev.Raw, playID)
	}
	if ev, ok := expectEvent(t, c, "call.dtmf", "leg_a"); ok && ev.Str("digit") != "2" {
		t.Errorf("call.dtmf: %s, want digit 2", ev.Raw)
	}
	ev := c.WaitEvent("dtmf.collected", "leg_a", 3*time.Second)
	if ev.Str("digits") != "2" || ev.Str("reason") != "max" {
		t.Fatalf("dtmf.collected: %s, want 2 by max", ev.Raw)
	}
	hears(t, "customer after the key", a, nil, []float64{toneWelcome})

	// The spec routes by the key with call.transfer.attended on this lone
	// leg: the customer waits on hold music while the agent rings.
	answered := rwiAnswerNext(bob, toneB)
	d = c.MustDo("call.transfer.attended", map[string]any{"call_id": "leg_a", "target": "sip:100" + ev.Str("digits") + "@local"})
	id, _ := d["consultation_call_id"].(string)
	if id == "" {
		t.Fatalf("call.transfer.attended: data %v", d)
	}
	hears(t, "customer while the agent rings", a, []float64{toneDefault}, nil)
	b := <-answered
	if b == nil {
		t.Fatal("the agent did not answer")
	}
	c.WaitEvent("call.answered", id, 5*time.Second) // the spec completes once the target answered
	c.MustDo("call.transfer.complete", map[string]any{"call_id": "leg_a", "consultation_call_id": id})
	waitBridged(t, c, "leg_a", id)
	talking(t, a, b)
	rwiEnd(t, c, a, "leg_a", b, id)
	checkSeq(t, c)
}

// Scenario 4 with an IVR as the target (7300 plays the jazz class): there
// is nobody to consult, so the customer waits on hold music, the agent
// hears nobody, and complete leaves the customer in the IVR and hangs the
// agent up.
func TestRWIScenario4TransferToIVR(t *testing.T) {
	p := rwiPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := rwiClient(t, p)
	a, b := rwiBridgedPair(t, c, alice, bob)

	d := c.MustDo("call.transfer.attended", map[string]any{"call_id": "leg_a", "target": "sip:7300@local"})
	id, _ := d["consultation_call_id"].(string)
	if id == "" {
		t.Fatalf("call.transfer.attended: data %v", d)
	}
	hears(t, "held customer", a, []float64{toneDefault}, []float64{toneB, toneJazz})
	hearsNone(t, "agent while the customer waits", b, a, toneA)
	c.MustDo("call.transfer.complete", map[string]any{"call_id": "leg_a", "consultation_call_id": id})
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("agent not hung up: %v", err)
	}
	hears(t, "customer in the IVR", a, []float64{toneJazz}, []float64{toneB, toneDefault})
	expectEvent(t, c, "call.transferred", "")
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, c, "call.hangup", "leg_a")
	checkSeq(t, c)
}

// Scenario 11: hold with a chosen class, unhold, hold with the leg's own
// class. The held customer hears music and the agent hears nobody.
func TestRWIScenario11HoldUnhold(t *testing.T) {
	p := rwiPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := rwiClient(t, p)
	a, b := rwiBridgedPair(t, c, alice, bob)

	for _, step := range []struct {
		music string  // call.hold's music param
		class string  // the class media.hold.started names
		tone  float64 // what the held customer hears
	}{
		{"jazz", "jazz", toneJazz},
		{"", "default", toneDefault},
	} {
		params := map[string]any{"call_id": "leg_a"}
		if step.music != "" {
			params["music"] = step.music
		}
		c.MustDo("call.hold", params)
		if ev, ok := expectEvent(t, c, "media.hold.started", "leg_a"); ok && ev.Str("music") != step.class {
			t.Errorf("media.hold.started: %s, want music %q", ev.Raw, step.class)
		}
		hears(t, "held customer", a, []float64{step.tone}, []float64{toneB})
		hearsNone(t, "agent facing a held customer", b, a, toneA, step.tone)

		c.MustDo("call.unhold", map[string]any{"call_id": "leg_a"})
		expectEvent(t, c, "media.hold.stopped", "leg_a")
		hears(t, "customer taken off hold", a, []float64{toneB}, []float64{step.tone})
		talking(t, a, b)
	}
	rwiEnd(t, c, b, "leg_b", a, "leg_a")
	checkSeq(t, c)
}
