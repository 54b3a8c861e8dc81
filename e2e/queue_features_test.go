package e2e

import (
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// The contact center's feature codes and callback in queue, end to end on
// the default configuration (queue support on 5000, static agent 9001 PIN
// 1234, dynamic member 1003, codes *60 to *67, supervisor 1001), over real
// SIP, RTP and DTMF. Every prompt and the hold music is a tone of its own,
// and each phone sends its own tone, so each step is proven by what each
// party hears. Events are awaited from a log of the engine's bus.

// Marker audio of the contact-center PBX: each prompt its own tone.
// The phones send toneA (440), toneB (800) and toneC (1300).
const (
	ccInvalid     = 600.0  // "invalid"
	ccPassword    = 1000.0 // "enter-password"
	ccPaused      = 1550.0 // "paused"
	ccMusic       = 1700.0 // music class "default": the wait room, an agent's open line, a waiting supervisor
	ccLoggedIn    = 1900.0 // "logged-in"
	ccAgentLogin  = 2100.0 // "agent-login"
	ccUnpaused    = 2300.0 // "unpaused"
	ccBeep        = 2500.0 // "beep": a call put through to a static agent's line
	ccGoodbye     = 2700.0 // "goodbye"
	ccLoggedOut   = 2900.0 // "logged-out"
	ccNotLoggedIn = 3100.0 // "agent-not-logged-in"
	ccCallbackOK  = 3300.0 // "queue-callback-confirmed"
)

// ccTones are every tone the contact-center PBX and phones make, for ToneSequence.
var ccTones = []float64{
	toneA, toneB, toneC, ccInvalid, ccPassword, ccPaused, ccMusic, ccLoggedIn, ccAgentLogin,
	ccUnpaused, ccBeep, ccGoodbye, ccLoggedOut, ccNotLoggedIn, ccCallbackOK,
}

// ccSounds writes the marker prompts (400 ms each) and the music (a 2 s
// loop) once, and returns the option that points a PBX at them, so that
// a PBX restarted on the same data directory sounds the same.
func ccSounds(t *testing.T) testkit.PBXOption {
	t.Helper()
	dir := testkit.WritePrompts(t, 400*time.Millisecond, map[string]float64{
		"invalid": ccInvalid, "enter-password": ccPassword, "paused": ccPaused, "logged-in": ccLoggedIn,
		"agent-login": ccAgentLogin, "unpaused": ccUnpaused, "beep": ccBeep, "goodbye": ccGoodbye,
		"logged-out": ccLoggedOut, "agent-not-logged-in": ccNotLoggedIn, "queue-callback-confirmed": ccCallbackOK,
	})
	music := testkit.WritePrompts(t, 2*time.Second, map[string]float64{"default": ccMusic})
	return func(c *config.Config) {
		c.Sounds.Prompts = dir
		c.Sounds.Music = map[string]string{"default": music + "/default.wav"}
		// A fourth extension, in no role of the contact center.
		c.Users = append(c.Users, config.User{Extension: "1004", Password: "demo1004", Name: "Erin"})
		for i := range c.Queues {
			q := &c.Queues[i]
			// Callers hear the queue's music and nothing else, unless a
			// test asks for more; no callback key unless a test sets one.
			q.Announce, q.AnnounceEvery, q.PeriodicEvery, q.Periodic = "", 0, 0, nil
			q.Music, q.CallbackKey, q.MaxWait = "default", "", 0
		}
	}
}

// ccPBX starts the default PBX on dataDir ("" for a new one) with the
// marker sounds, and a log of its events.
func ccPBX(t *testing.T, dataDir string, sounds testkit.PBXOption, opts ...testkit.PBXOption) (*testkit.PBX, *testkit.EventLog) {
	t.Helper()
	p := testkit.StartPBX(t, dataDir, append([]testkit.PBXOption{sounds}, opts...)...)
	return p, testkit.RecordEvents(t, p)
}

// ccHears waits until x hears every tone of want and none of notWant.
func ccHears(t *testing.T, who string, x *testkit.PhoneCall, want, notWant []float64) {
	t.Helper()
	if err := x.WaitHearsAll(3*time.Second, want, notWant); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
}

// ccNever checks that x does not hear tone at any moment during d.
func ccNever(t *testing.T, who string, x *testkit.PhoneCall, tone float64, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if x.Hears(tone)[tone] {
			t.Fatalf("%s hears %v Hz, and must not", who, tone)
		}
		time.Sleep(20 * time.Millisecond) // sampling audio: no event says a tone is absent
	}
}

// ccHeardSequence waits until x, since its capture started, has heard the
// tones of want (each a run, in that order, others of tones in between
// not allowed), and fails if it heard them otherwise. The music playing
// as the capture started does not count unless want starts with it.
func ccHeardSequence(t *testing.T, who string, x *testkit.PhoneCall, tones []float64, want ...float64) {
	t.Helper()
	steps := make([]anyTone, len(want))
	for i, w := range want {
		steps[i] = anyTone{w}
	}
	heardSteps(t, who, x, tones, ccMusic, steps...)
}

// ccCall calls number from ph and starts its tone.
func ccCall(t *testing.T, ph *testkit.Phone, number string, tone float64) *testkit.PhoneCall {
	t.Helper()
	c, err := ph.Call(ctxTimeout(t, 5*time.Second), number, testkit.CallOptions{})
	if err != nil {
		t.Fatalf("%s calls %s: %v", ph.User, number, err)
	}
	c.StartCapture()
	if tone != 0 {
		c.SendTone(tone)
	}
	return c
}

// ccFeature dials a feature code the PBX answers, confirms with a prompt
// and hangs up; it checks the prompt heard, in full, and the hang-up.
func ccFeature(t *testing.T, ph *testkit.Phone, code string, prompt float64) {
	t.Helper()
	c := ccCall(t, ph, code, 0)
	if err := c.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("%s from %s: %v", code, ph.User, err)
	}
	pcm, _ := c.Captured()
	if got := testkit.ToneSequence(pcm, ccTones...); !slices.Equal(got, []float64{prompt}) {
		t.Fatalf("%s from %s: heard %v Hz, want the prompt %v Hz, then the hang-up", code, ph.User, got, prompt)
	}
}

// answerWithTone answers the next call ringing on ph, starts capturing
// what it hears and sends tone.
func answerWithTone(t *testing.T, ph *testkit.Phone, tone float64) *testkit.PhoneCall {
	t.Helper()
	in, err := ph.Incoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := in.Answer()
	if err != nil {
		t.Fatalf("%s answers: %v", ph.User, err)
	}
	c.StartCapture()
	c.SendTone(tone)
	return c
}

// ccState waits for agent id to change to state after event index from,
// and checks the agent's status agrees.
func ccState(t *testing.T, p *testkit.PBX, log *testkit.EventLog, from int, id, state string) queue.AgentStatus {
	t.Helper()
	log.Await(from, 5*time.Second, "agent "+id+" "+state, func(ev dialog.Event) bool {
		return ev.Kind == queue.EventAgentStateChanged && ev.Agent == id && ev.State == state
	})
	st, ok := p.Queues().Agent(id)
	if !ok || st.State != state {
		t.Fatalf("agent %s after its %s event: %+v", id, state, st)
	}
	return st
}

// ccJoined waits for a caller to join a queue after index from.
func ccJoined(t *testing.T, log *testkit.EventLog, from int, queueName string) (dialog.Event, int) {
	t.Helper()
	return log.Await(from, 5*time.Second, "queue.joined "+queueName, func(ev dialog.Event) bool {
		return ev.Kind == queue.EventJoined && ev.Queue == queueName
	})
}

// ccStaticLogin logs agent 9001 in from ph by *609001 and the PIN 1234
// keyed over RTP; the line hears logged-in, then music, and sends tone.
func ccStaticLogin(t *testing.T, p *testkit.PBX, log *testkit.EventLog, ph *testkit.Phone, tone float64) (*testkit.PhoneCall, queue.AgentStatus) {
	t.Helper()
	m := log.Mark()
	line := ccCall(t, ph, "*609001", 0)
	if err := line.WaitHears(5*time.Second, ccPassword); err != nil {
		t.Fatalf("no PIN prompt: %v", err)
	}
	if err := line.SendDigits("1234#"); err != nil {
		t.Fatal(err)
	}
	st := ccState(t, p, log, m, "9001", queue.StateIdle)
	ccHeardSequence(t, "agent line logging in", line, ccTones, ccPassword, ccLoggedIn, ccMusic)
	line.SendTone(tone)
	return line, st
}

// TestQueueStaticAgentLineAndBeep: agent 9001 logs in from 1002 with *60,
// the id and the PIN keyed over RTP (a wrong PIN first is refused), and
// the open line hears music. A caller of 5000 is put through to that line:
// the agent hears the music, the beep, then the caller, in that order;
// the caller never hears the beep; they hear each other. The caller hangs
// up: the line goes back to music. The agent hangs up the line: logged out.
func TestQueueStaticAgentLineAndBeep(t *testing.T) {
	p, log := ccPBX(t, "", ccSounds(t))
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")

	m := log.Mark()
	line := ccCall(t, bob, "*609001", 0)
	if err := line.WaitHears(5*time.Second, ccPassword); err != nil {
		t.Fatalf("no PIN prompt: %v", err)
	}
	if err := line.SendDigits("4321#"); err != nil {
		t.Fatal(err)
	}
	// Refused, and asked again.
	ccHeardSequence(t, "wrong PIN", line, ccTones, ccPassword, ccInvalid, ccPassword)
	if st, _ := p.Queues().Agent("9001"); st.State != queue.StateLoggedOut {
		t.Fatalf("agent 9001 after a wrong PIN: %s, want logged-out", st.State)
	}
	if err := line.SendDigits("1234#"); err != nil {
		t.Fatal(err)
	}
	st := ccState(t, p, log, m, "9001", queue.StateIdle)
	if st.Device != "1002" || st.LegID == "" {
		t.Errorf("agent 9001 logged in: device %q line %q, want 1002 and its line", st.Device, st.LegID)
	}
	ccHeardSequence(t, "agent line", line, ccTones, ccPassword, ccInvalid, ccPassword, ccLoggedIn, ccMusic)
	line.SendTone(toneB)

	line.StartCapture()
	m = log.Mark()
	a := ccCall(t, alice, "5000", toneA)
	ccHeardSequence(t, "agent line taking a call", line, []float64{ccMusic, ccBeep, toneA}, ccBeep, toneA)
	ev, _ := log.Await(m, 5*time.Second, "agent_connected", testkit.IsKind(queue.EventAgentConnected))
	if ev.Agent != "9001" || ev.Queue != "support" || ev.OtherLegID != st.LegID {
		t.Errorf("agent_connected %+v: want agent 9001 in support on its line %s", ev, st.LegID)
	}
	talking(t, a, line)
	if pcm, _ := a.Captured(); slices.Contains(testkit.ToneSequence(pcm, ccTones...), ccBeep) {
		t.Error("the caller heard the agent's beep")
	}
	ccState(t, p, log, m, "9001", queue.StateOnCall)

	m = log.Mark()
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	ccHears(t, "agent line after the caller hung up", line, []float64{ccMusic}, []float64{toneA})
	ccState(t, p, log, m, "9001", queue.StateIdle)

	m = log.Mark()
	if err := line.Hangup(); err != nil {
		t.Fatal(err)
	}
	ccState(t, p, log, m, "9001", queue.StateLoggedOut)
	if st, _ := p.Queues().Agent("9001"); st.LegID != "" {
		t.Errorf("agent 9001 logged out keeps line %q", st.LegID)
	}
}

// TestQueueStaticAgentWrongPINThrice: three wrong PINs are each refused,
// then the PBX says goodbye and hangs up; the agent stays logged out.
func TestQueueStaticAgentWrongPINThrice(t *testing.T) {
	p, _ := ccPBX(t, "", ccSounds(t))
	bob := phone(t, p, "1002")
	line := ccCall(t, bob, "*609001", 0)
	var heard []float64
	for range 3 {
		heard = append(heard, ccPassword)
		ccHeardSequence(t, "PIN prompt", line, ccTones, heard...)
		if err := line.SendDigits("9999#"); err != nil {
			t.Fatal(err)
		}
		heard = append(heard, ccInvalid)
		ccHeardSequence(t, "wrong PIN", line, ccTones, heard...)
	}
	if err := line.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("after three wrong PINs: %v", err)
	}
	pcm, _ := line.Captured()
	got := testkit.ToneSequence(pcm, ccTones...)
	want := []float64{ccPassword, ccInvalid, ccPassword, ccInvalid, ccPassword, ccInvalid, ccGoodbye}
	if !slices.Equal(got, want) {
		t.Errorf("heard %v Hz, want %v", got, want)
	}
	if st, _ := p.Queues().Agent("9001"); st.State != queue.StateLoggedOut {
		t.Errorf("agent 9001: %s, want logged-out", st.State)
	}
}

// TestQueueAgentPauseByFeatureCode: agent 9001, logged in on 1002's line,
// pauses with *621 from 1002 (lunch: the break and the reason recorded in
// its status and event); *629 (no such break) is refused and changes
// nothing; a caller waits while the agent is paused, its line not rung;
// *63 makes the agent available and the caller is put through at once.
// From an extension no agent uses, the codes say not logged in.
func TestQueueAgentPauseByFeatureCode(t *testing.T) {
	p, log := ccPBX(t, "", ccSounds(t))
	alice, bob, erin := phone(t, p, "1001"), phone(t, p, "1002"), phone(t, p, "1004")
	line, _ := ccStaticLogin(t, p, log, bob, toneB)

	ccFeature(t, bob, "*629", ccInvalid)
	if st, _ := p.Queues().Agent("9001"); st.State != queue.StateIdle {
		t.Fatalf("agent 9001 after *629: %s, want idle", st.State)
	}
	ccFeature(t, erin, "*621", ccNotLoggedIn)

	m := log.Mark()
	ccFeature(t, bob, "*621", ccPaused)
	ev, _ := log.Await(m, 5*time.Second, "agent 9001 paused", func(ev dialog.Event) bool {
		return ev.Kind == queue.EventAgentStateChanged && ev.Agent == "9001" && ev.State == queue.StatePaused
	})
	if ev.Detail != "lunch" || ev.Cause != "feature code" {
		t.Errorf("paused event: break %q reason %q, want lunch and feature code", ev.Detail, ev.Cause)
	}
	st, _ := p.Queues().Agent("9001")
	if st.State != queue.StatePaused || st.Break != "lunch" || st.Reason != "feature code" || st.LegID == "" {
		t.Errorf("agent 9001 paused: %+v, want paused, lunch, feature code, its line kept", st)
	}
	if q, _ := p.Queues().Queue("support"); q.Agents[queue.StatePaused] != 1 {
		t.Errorf("support's agents by state %v, want one paused", q.Agents)
	}

	line.StartCapture()
	m = log.Mark()
	a := ccCall(t, alice, "5000", toneA)
	joined, _ := ccJoined(t, log, m, "support")
	ccHears(t, "caller waiting for a paused agent", a, []float64{ccMusic}, nil)
	ccNever(t, "paused agent's line", line, ccBeep, 300*time.Millisecond)
	if _, i := log.Find(m, testkit.IsKind(queue.EventAgentOffered)); i >= 0 {
		t.Fatal("a paused agent was offered the caller")
	}

	m = log.Mark()
	ccFeature(t, bob, "*63", ccUnpaused)
	ev, _ = log.Await(m, 5*time.Second, "agent_connected", testkit.IsKind(queue.EventAgentConnected))
	if ev.LegID != joined.LegID || ev.Agent != "9001" {
		t.Errorf("agent_connected %+v: want the waiting caller and agent 9001", ev)
	}
	ccHeardSequence(t, "agent line after *63", line, []float64{ccMusic, ccBeep, toneA}, ccBeep, toneA)
	talking(t, a, line)
	if st, _ := p.Queues().Agent("9001"); st.Break != "" || st.Reason != "" {
		t.Errorf("agent 9001 unpaused keeps break %q reason %q", st.Break, st.Reason)
	}
	hangUp(t, line, a)
}

// TestQueueDynamicMemberFeatureCodes: Carol (1003), a dynamic member,
// logs in with *60 and nothing else from her own phone, pauses with *622
// (meeting), unpauses with *63, and logs out with *61; each step is the
// confirmation prompt, then the hang-up, and her state follows.
func TestQueueDynamicMemberFeatureCodes(t *testing.T) {
	p, log := ccPBX(t, "", ccSounds(t))
	carol := phone(t, p, "1003")
	ccFeature(t, carol, "*63", ccNotLoggedIn)

	m := log.Mark()
	ccFeature(t, carol, "*60", ccLoggedIn)
	ccState(t, p, log, m, "1003", queue.StateIdle)

	m = log.Mark()
	ccFeature(t, carol, "*622", ccPaused)
	st := ccState(t, p, log, m, "1003", queue.StatePaused)
	if st.Break != "meeting" || st.Reason != "feature code" {
		t.Errorf("carol paused: break %q reason %q, want meeting, feature code", st.Break, st.Reason)
	}

	m = log.Mark()
	ccFeature(t, carol, "*63", ccUnpaused)
	ccState(t, p, log, m, "1003", queue.StateIdle)

	m = log.Mark()
	ccFeature(t, carol, "*61", ccLoggedOut)
	ccState(t, p, log, m, "1003", queue.StateLoggedOut)
}

// TestQueueCallbackKeepsPlace: Alice and then Bob wait in support while
// its one agent, Carol, is paused. Alice presses the callback key, hears
// the confirmation and is hung up, her place kept. When Carol is free,
// the PBX calls Alice back first (from 5000, the number she dialled),
// and neither Carol is rung nor Bob offered until Alice answers; then
// Alice, back at the head of the line, is put through to Carol, and Bob
// still waits.
func TestQueueCallbackKeepsPlace(t *testing.T) {
	p, log := ccPBX(t, "", ccSounds(t), func(c *config.Config) {
		for i := range c.Queues {
			c.Queues[i].CallbackKey = "1"
		}
	})
	alice, bob, carol := threePhones(t, p)
	cc := p.Queues()
	if err := cc.Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cc.Pause("1003", "lunch", ""); err != nil {
		t.Fatal(err)
	}

	m := log.Mark()
	a := ccCall(t, alice, "5000", toneA)
	ja, _ := ccJoined(t, log, m, "support")
	m = log.Mark()
	b := ccCall(t, bob, "5000", toneB)
	jb, _ := ccJoined(t, log, m, "support")
	if ja.Position != 1 || jb.Position != 2 {
		t.Fatalf("joined at %d and %d, want 1 and 2", ja.Position, jb.Position)
	}
	ccHears(t, "alice waiting", a, []float64{ccMusic}, nil)

	m = log.Mark()
	a.StartCapture()
	if err := a.SendDigits("1"); err != nil {
		t.Fatal(err)
	}
	left, _ := log.Await(m, 5*time.Second, "alice leaves for a call back", testkit.IsLegEvent(queue.EventLeft, ja.LegID))
	if left.Cause != queue.LeftCallback || left.Position != 1 {
		t.Fatalf("alice left with %q at %d, want callback at 1", left.Cause, left.Position)
	}
	if err := a.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("alice not hung up after the confirmation: %v", err)
	}
	if pcm, _ := a.Captured(); !slices.Contains(testkit.ToneSequence(pcm, ccTones...), ccCallbackOK) {
		t.Error("alice did not hear the callback confirmation")
	}
	q, _ := cc.Queue("support")
	if len(q.Callers) != 2 || !q.Callers[0].Callback || q.Callers[1].LegID != jb.LegID || q.Callers[1].Position != 2 {
		t.Fatalf("support after the callback key: %+v, want alice's place (1) kept and bob 2nd", q.Callers)
	}

	// Carol is free: Alice is called back first.
	m = log.Mark()
	if err := cc.Unpause("1003"); err != nil {
		t.Fatal(err)
	}
	in, err := alice.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("alice not called back: %v", err)
	}
	if from := in.Request.From().Address.User; from != "5000" {
		t.Errorf("call back from %q, want 5000, the number alice dialled", from)
	}
	if ev, i := log.Find(m, testkit.IsKind(queue.EventAgentOffered)); i >= 0 {
		who := "bob"
		if ev.LegID != jb.LegID {
			who = "leg " + ev.LegID
		}
		t.Fatalf("%s (position 2) was offered to agent %s while alice's call back rings: alice (position 1) must be served first", who, ev.Agent)
	}
	cb, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	cb.SendTone(toneA)
	back, ib := log.Await(m, 5*time.Second, "alice back in line", func(ev dialog.Event) bool {
		return ev.Kind == queue.EventJoined && ev.Detail == "callback"
	})
	if back.Position != 1 || back.Queue != "support" {
		t.Errorf("alice back at %d in %s, want 1 in support", back.Position, back.Queue)
	}
	offered, io := log.Await(m, 5*time.Second, "an offer to carol", testkit.IsKind(queue.EventAgentOffered))
	if offered.LegID != back.LegID || offered.Agent != "1003" || io < ib {
		t.Errorf("offer %+v (event %d): want carol offered alice's call back (%s, event %d), after it joined", offered, io, back.LegID, ib)
	}
	agent := answerWithTone(t, carol, toneC)
	talkingTones(t, cb, toneA, agent, toneC)
	ccHears(t, "bob still waiting", b, []float64{ccMusic}, []float64{toneA, toneC})
	q, _ = cc.Queue("support")
	if len(q.Callers) != 1 || q.Callers[0].LegID != jb.LegID || q.Callers[0].Position != 1 {
		t.Errorf("support with alice put through: %+v, want bob alone, first", q.Callers)
	}
	// Bob goes first, so that Carol, free again, is not rung for him.
	b.Hangup()
	hangUp(t, cb, agent)
}
