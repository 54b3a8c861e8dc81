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

// Agents and the limits of a queue, end to end over real SIP and RTP with
// dynamic members on test phones (the qr* helpers of
// queue_routing_test.go): wrap-up and its per-agent override, autopause
// after missed offers, feature codes from a member's own phone, maximum
// wait and the fallback (a prompt the caller hears, or a phone that
// answers), leave-when-empty, join-empty and max_callers.

// qaWrapup is how long a wrap-up lasts: a time the test can tell apart.
const qaWrapup = 1200 * time.Millisecond

// refused dials a queue number as caller n and waits for the queue to
// refuse it (queue.left with cause, without ever joining).
func (x *qrCC) refused(n int, number, cause string) *qrCaller {
	x.t.Helper()
	c := x.dial(n, number)
	ev := x.bus.next(x.t, "queue.left of "+c.Ext, 5*time.Second, func(ev dialog.Event) bool {
		return ev.Kind == queue.EventLeft && x.legFrom(ev.LegID) == c.Ext
	})
	c.Leg = ev.LegID
	if ev.Cause != cause {
		x.t.Fatalf("caller %s left %s with %q, want %q", c.Ext, ev.Queue, ev.Cause, cause)
	}
	if j := x.bus.seen(func(ev dialog.Event) bool { return ev.Kind == queue.EventJoined && ev.LegID == c.Leg }); len(j) > 0 {
		x.t.Fatalf("caller %s refused with %s, yet joined: %+v", c.Ext, cause, j)
	}
	return c
}

// hearsFallbackPrompt checks that a caller sent to the play:qr-fallback
// target hears it (and no longer the queue's music), then is hung up.
func qaHearsFallbackPrompt(t *testing.T, c *qrCaller) {
	t.Helper()
	if err := c.Call.WaitHears(3*time.Second, qrToneFallback, qrToneMusic); err != nil {
		t.Fatalf("caller %s does not hear the fallback prompt: %v", c.Ext, err)
	}
	if err := c.Call.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("caller %s after the fallback prompt: %v", c.Ext, err)
	}
}

// qaOverflowAnswers answers the call ringing the fallback phone and checks
// caller c and that phone hear each other.
func qaOverflowAnswers(t *testing.T, fb *testkit.Phone, c *qrCaller) {
	t.Helper()
	in, err := fb.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("the fallback extension is not rung for %s: %v", c.Ext, err)
	}
	in.Ring()
	call, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	call.SendTone(qrToneOverflow)
	talkingTones(t, c.Call, c.Tone, call, qrToneOverflow)
	hangUp(t, c.Call, call)
}

// TestQueueAgentsWrapup: after a call from queue wu, agent 201 is in
// wrap-up for the queue's 1.2 s: its state reads wrap-up, and a caller who
// joins meanwhile, even in the agent's other queue wu2, waits, to be
// offered to 201 only once it is idle again. Agent 202's own wrap-up
// (300 ms) overrides the queue's.
func TestQueueAgentsWrapup(t *testing.T) {
	agents := qrAgents(2)
	short := 300 * time.Millisecond
	agents[1].Wrapup = &short
	x := qrStart(t, agents, []config.Queue{
		{Name: "wu", Strategy: "linear", Wrapup: qaWrapup, Members: qrMembers(nil, "201", "202")},
		{Name: "wu2", Strategy: "linear", Members: qrMembers(nil, "201")},
	})
	a, b := x.agent("201"), x.agent("202")
	x.login("201")

	c1 := x.join(1, 0, false, 1)
	call := x.serve(c1, a)
	wrap := x.finish(c1, a, call, queue.StateWrapup)
	if st, _ := x.cc.Agent("201"); st.State != queue.StateWrapup {
		t.Fatalf("agent 201 reads %s after its call, want wrap-up", st.State)
	}
	m := x.bus.mark()
	c2 := x.join(2, 1, false, 1)
	idle := x.waitState("201", queue.StateIdle, m)
	if d := idle.Time.Sub(wrap.Time); d < qaWrapup-50*time.Millisecond {
		t.Fatalf("agent 201 idle %s after its call, want the queue's wrap-up %s", d, qaWrapup)
	}
	o := x.offered(c2, "201")
	if o.Seq < idle.Seq {
		t.Fatalf("caller 2 offered to 201 (event %d) before 201 was idle (event %d)", o.Seq, idle.Seq)
	}
	call = x.pickUp(a, x.ring(a, c2))
	x.connected(c2, a, call)
	x.finish(c2, a, call, queue.StateIdle) // wu2 has no wrap-up

	// 202 takes over, with its own wrap-up.
	if err := x.cc.Logout(t.Context(), "201", "test"); err != nil {
		t.Fatal(err)
	}
	x.login("202")
	c3 := x.join(3, 0, false, 1)
	call = x.serve(c3, b)
	m = x.bus.mark()
	wrap = x.finish(c3, b, call, queue.StateWrapup)
	idle = x.waitState("202", queue.StateIdle, m)
	if d := idle.Time.Sub(wrap.Time); d < short-50*time.Millisecond || d >= qaWrapup {
		t.Fatalf("agent 202 idle %s after its call, want its own wrap-up %s", d, short)
	}
}

// TestQueueAgentsAutopause: a queue that pauses an agent after 2 missed
// offers in a row. Agent 201 lets caller 1 ring out (1 s), then refuses
// it: 201 is paused with break missed, reason autopause, in the events
// and its status, while the caller keeps waiting. Back from the pause,
// 201 is offered the caller again and takes it.
func TestQueueAgentsAutopause(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{
		Name: "ap", Strategy: "linear", RingTimeout: time.Second, Retry: 0,
		Autopause: 2, AutopauseAs: "missed", Members: qrMembers(nil, "201"),
	}})
	a := x.agent("201")
	x.login("201")
	m := x.bus.mark()

	c1 := x.join(1, 0, false, 1)
	x.offered(c1, "201")
	in := x.ring(a, c1)
	select {
	case <-in.Cancelled():
	case <-time.After(3 * time.Second):
		t.Fatal("the offer to 201 still rings after the queue's ring timeout")
	}
	x.bus.next(t, "first no answer", 5*time.Second, func(ev dialog.Event) bool {
		return ev.Kind == queue.EventAgentNoAnswer && ev.LegID == c1.Leg && ev.Agent == "201"
	})
	x.offered(c1, "201")
	if err := x.ring(a, c1).Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	x.bus.next(t, "second no answer", 5*time.Second, func(ev dialog.Event) bool {
		return ev.Kind == queue.EventAgentNoAnswer && ev.LegID == c1.Leg && ev.Agent == "201"
	})
	ev := x.waitState("201", queue.StatePaused, m)
	if ev.Detail != "missed" || ev.Cause != "autopause" {
		t.Fatalf("agent 201 paused with break %q, reason %q; want missed, autopause", ev.Detail, ev.Cause)
	}
	st, _ := x.cc.Agent("201")
	if st.State != queue.StatePaused || st.Break != "missed" || st.Reason != "autopause" || st.Missed != 2 {
		t.Fatalf("agent 201: %+v, want paused (missed, autopause) with 2 missed", st)
	}
	if q, _ := x.cc.Queue("ap"); q.Waiting != 1 || q.Callers[0].LegID != c1.Leg {
		t.Fatalf("queue ap: %+v, want caller 1 still waiting", q.Callers)
	}
	if err := c1.Call.WaitHears(3*time.Second, qrToneMusic); err != nil {
		t.Fatalf("caller 1 while 201 is paused: %v", err)
	}

	x.unpause("201")
	call := x.serve(c1, a)
	x.finish(c1, a, call, queue.StateIdle)
	if st, _ := x.cc.Agent("201"); st.Answered != 1 || st.Missed != 2 {
		t.Fatalf("agent 201 answered %d, missed %d; want 1 and 2", st.Answered, st.Missed)
	}
}

// TestQueueAgentsFeatureCodes: a dynamic member logs in with *60 from its
// own phone, is rung for a caller and talks with them; the agent hangs up
// first, which ends the caller's call too. The member then pauses with
// *621 (break lunch), comes back with *63 and logs out with *61. Each code
// is confirmed by a prompt, then hung up.
func TestQueueAgentsFeatureCodes(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{
		Name: "fc", Strategy: "ringall", Members: qrMembers(nil, "201"),
	}})
	a := x.agent("201")
	code := func(number, state string) dialog.Event {
		t.Helper()
		m := x.bus.mark()
		c, err := a.Ph.Call(ctxTimeout(t, 5*time.Second), number, testkit.CallOptions{})
		if err != nil {
			t.Fatalf("201 dials %s: %v", number, err)
		}
		c.StartCapture()
		if err := c.WaitEnded(5 * time.Second); err != nil {
			t.Fatalf("%s: %v", number, err)
		}
		if pcm, _ := c.Captured(); !slices.Contains(testkit.ToneSequence(pcm, qrToneConfirm), qrToneConfirm) {
			t.Fatalf("%s: no confirmation heard before the hang-up", number)
		}
		return x.waitState("201", state, m)
	}
	code("*60", queue.StateIdle)

	c1 := x.join(1, 0, false, 1)
	call := x.serve(c1, a)
	if st, _ := x.cc.Agent("201"); st.State != queue.StateOnCall || st.CallLegID != c1.Leg {
		t.Fatalf("agent 201: %+v, want on-call with caller 1", st)
	}
	m := x.bus.mark()
	hangUp(t, call, c1.Call)
	x.waitState("201", queue.StateIdle, m)

	if ev := code("*621", queue.StatePaused); ev.Detail != "lunch" {
		t.Fatalf("paused with break %q, want lunch", ev.Detail)
	}
	code("*63", queue.StateIdle)
	code("*61", queue.StateLoggedOut)
}

// TestQueueAgentsMaxWait: callers who wait a queue's max_wait (1 s) with
// nobody to take them leave with cause timeout to the queue's fallback:
// in queue mw a prompt the caller hears before being hung up, in queue mx
// the fallback extension, which rings, answers and talks with the caller.
func TestQueueAgentsMaxWait(t *testing.T) {
	const maxWait = time.Second
	x := qrStart(t, qrAgents(1), []config.Queue{
		{Name: "mw", MaxWait: maxWait, Fallback: "play:qr-fallback", Members: qrMembers(nil, "201")},
		{Name: "mx", MaxWait: maxWait, Fallback: "extension:" + qrFallbackExt, Members: qrMembers(nil, "201")},
	})
	fb := x.register(qrFallbackExt)

	c1 := x.join(1, 0, false, 1)
	c2 := x.join(2, 1, false, 1)
	if err := c1.Call.WaitHears(3*time.Second, qrToneMusic); err != nil {
		t.Fatalf("caller 1 waiting: %v", err)
	}
	for _, c := range []*qrCaller{c1, c2} {
		if ev := x.left(c, queue.LeftTimeout); ev.Wait < maxWait {
			t.Fatalf("caller %s timed out after %s, want %s", c.Ext, ev.Wait, maxWait)
		}
	}
	qaHearsFallbackPrompt(t, c1)
	qaOverflowAnswers(t, fb, c2)
	x.noOffer("201", nil)
	if q, _ := x.cc.Queue("mw"); q.Waiting != 0 || q.Stats.Timeouts != 1 {
		t.Fatalf("queue mw: waiting %d, timeouts %d; want 0 and 1", q.Waiting, q.Stats.Timeouts)
	}
}

// TestQueueAgentsLeaveWhenEmpty: a queue whose callers leave when every
// member is paused or logged out. Caller 2 waits while 201 talks to
// caller 1 (a member on a call is present); when 201, wrapping up, pauses,
// nobody is left: caller 2 leaves with cause empty for the fallback
// prompt. Later, caller 4 waits behind caller 3 the same way, and leaves
// when 201 logs out.
func TestQueueAgentsLeaveWhenEmpty(t *testing.T) {
	x := qrStart(t, qrAgents(2), []config.Queue{{
		Name: "le", Strategy: "linear", Wrapup: qaWrapup, LeaveEmpty: []string{"paused", "loggedout"},
		Fallback: "play:qr-fallback", Members: qrMembers(nil, "201", "202"),
	}})
	a := x.agent("201")
	x.login("201") // 202 stays logged out

	c1 := x.join(1, 0, false, 1)
	call := x.serve(c1, a)
	c2 := x.join(2, 0, false, 1)
	x.finish(c1, a, call, queue.StateWrapup)
	if q, _ := x.cc.Queue("le"); q.Waiting != 1 {
		t.Fatalf("queue le with 201 wrapping up: %d waiting, want caller 2", q.Waiting)
	}
	x.pause("201")
	x.left(c2, queue.LeftEmpty)
	qaHearsFallbackPrompt(t, c2)

	x.waitState("201", queue.StateIdle, x.unpause("201"))
	c3 := x.join(3, 0, false, 1)
	call = x.serve(c3, a)
	c4 := x.join(4, 0, false, 1)
	x.finish(c3, a, call, queue.StateWrapup)
	if err := x.cc.Logout(t.Context(), "201", "test"); err != nil {
		t.Fatal(err)
	}
	x.left(c4, queue.LeftEmpty)
	qaHearsFallbackPrompt(t, c4)
}

// TestQueueAgentsJoinEmptyAndFull: queue je refuses callers when every
// member is paused or logged out (join_empty): with 201 paused, a caller
// never joins and hears the fallback prompt. Queue mc holds one caller
// (max_callers): the second is refused with cause full and put through to
// the fallback extension, and the first keeps waiting.
func TestQueueAgentsJoinEmptyAndFull(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{
		{Name: "je", JoinEmpty: []string{"paused", "loggedout"}, Fallback: "play:qr-fallback", Members: qrMembers(nil, "201")},
		{Name: "mc", MaxCallers: 1, Fallback: "extension:" + qrFallbackExt, Members: qrMembers(nil, "201")},
	})
	fb := x.register(qrFallbackExt)
	x.login("201")
	x.pause("201")

	c1 := x.refused(1, qrQueueNumber(0, false), queue.LeftEmpty)
	qaHearsFallbackPrompt(t, c1)

	c2 := x.join(2, 1, false, 1)
	c3 := x.refused(3, qrQueueNumber(1, false), queue.LeftFull)
	qaOverflowAnswers(t, fb, c3)
	if q, _ := x.cc.Queue("mc"); q.Waiting != 1 || q.Callers[0].LegID != c2.Leg {
		t.Fatalf("queue mc: %+v, want caller 2 still waiting", q.Callers)
	}
	if err := c2.Call.WaitHears(3*time.Second, qrToneMusic); err != nil {
		t.Fatalf("caller 2 waiting: %v", err)
	}
	m := x.bus.mark()
	if err := c2.Call.Hangup(); err != nil {
		t.Fatal(err)
	}
	x.bus.since(t, m, "abandon of caller 2", 5*time.Second, func(ev dialog.Event) bool {
		return ev.Kind == queue.EventLeft && ev.LegID == c2.Leg && ev.Cause == queue.LeftAbandoned
	})
}

// TestQueueAgentsLeaveWhenEmptyOnCall: a queue whose callers leave when
// every member is paused. Agent 201, its only member, talks to caller 1
// while caller 2 waits; 201 pauses during the call (to take no more after
// it): from then on every member is paused, so caller 2 leaves with cause
// empty for the fallback prompt at once, not when 201's call ends.
func TestQueueAgentsLeaveWhenEmptyOnCall(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{
		Name: "lc", Strategy: "linear", LeaveEmpty: []string{"paused"},
		Fallback: "play:qr-fallback", Members: qrMembers(nil, "201"),
	}})
	a := x.agent("201")
	x.login("201")

	c1 := x.join(1, 0, false, 1)
	call := x.serve(c1, a)
	c2 := x.join(2, 0, false, 1)
	if err := x.cc.Pause("201", "lunch", "after this call"); err != nil {
		t.Fatal(err)
	}
	x.left(c2, queue.LeftEmpty)
	qaHearsFallbackPrompt(t, c2)
	talkingTones(t, c1.Call, c1.Tone, call, a.Tone)
	x.finish(c1, a, call, queue.StatePaused)
}

// TestQueueAgentsUnreachableMember: a logged-in dynamic member whose
// phone is not registered cannot be reached: each offer fails at once.
// With retry 0 the queue must still not hammer it: during the caller's
// one-second max wait, the member is offered the caller a handful of
// times at most, not in a loop as fast as the PBX can go (each turn of
// which is a call attempt, two agent events and a queue_log line); the
// caller then goes to the fallback as usual.
func TestQueueAgentsUnreachableMember(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{
		Name: "un", Strategy: "linear", Retry: 0, MaxWait: time.Second,
		Fallback: "play:qr-fallback", Members: qrMembers(nil, "201"),
	}})
	if res, err := x.agent("201").Ph.Register(0); err != nil || res.StatusCode != 200 {
		t.Fatalf("unregister 1101: %v %v", res, err)
	}
	x.login("201")

	c1 := x.join(1, 0, false, 1)
	x.left(c1, queue.LeftTimeout)
	offers := x.bus.seen(func(ev dialog.Event) bool { return ev.Kind == queue.EventAgentOffered && ev.LegID == c1.Leg })
	if len(offers) == 0 || len(offers) > 10 {
		t.Errorf("the unreachable member was offered the caller %d times in its 1 s wait, want at least once and at most 10", len(offers))
	}
	qaHearsFallbackPrompt(t, c1)
}

// TestQueueAgentsMaxWaitWhileRinging: a caller whose max wait (1 s) runs
// out while agent 201's phone rings (ring timeout 5 s) leaves for the
// fallback: 201's phone stops ringing, and 201 is idle again, not counted
// as having missed the offer.
func TestQueueAgentsMaxWaitWhileRinging(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{
		Name: "mr", RingTimeout: 5 * time.Second, MaxWait: time.Second, Autopause: 1,
		Fallback: "play:qr-fallback", Members: qrMembers(nil, "201"),
	}})
	a := x.agent("201")
	x.login("201")

	c1 := x.join(1, 0, false, 1)
	x.offered(c1, "201")
	in := x.ring(a, c1)
	m := x.bus.mark()
	x.left(c1, queue.LeftTimeout)
	select {
	case <-in.Cancelled():
	case <-time.After(3 * time.Second):
		t.Fatal("201 still rings after the caller left")
	}
	x.waitState("201", queue.StateIdle, m)
	qaHearsFallbackPrompt(t, c1)
	if st, _ := x.cc.Agent("201"); st.State != queue.StateIdle || st.Missed != 0 {
		t.Fatalf("agent 201: %s with %d missed, want idle with none", st.State, st.Missed)
	}
}

// TestQueueAgentsRingInUse: agent 201 talks to caller 1 of queue rn
// (ring_in_use off); caller 2 of rn waits, but caller 3 of ri (ring_in_use
// on) rings 201's phone during the call, and 201 takes it as a second
// call. When both calls are over, 201 takes caller 2.
func TestQueueAgentsRingInUse(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{
		{Name: "rn", Strategy: "linear", Members: qrMembers(nil, "201")},
		{Name: "ri", Strategy: "linear", RingInUse: true, Members: qrMembers(nil, "201")},
	})
	a := x.agent("201")
	x.login("201")

	c1 := x.join(1, 0, false, 1)
	call1 := x.serve(c1, a)
	c2 := x.join(2, 0, false, 1)
	c3 := x.join(3, 1, false, 1)
	call3 := x.serve(c3, a)
	x.noOffer("201", c2)
	talkingTones(t, c1.Call, c1.Tone, call1, a.Tone)

	hangUp(t, c3.Call, call3)
	if st, _ := x.cc.Agent("201"); st.State != queue.StateOnCall || st.CallLegID != c1.Leg {
		t.Fatalf("agent 201 after caller 3: %+v, want on-call with caller 1", st)
	}
	if q, _ := x.cc.Queue("rn"); q.Waiting != 1 || len(q.Callers[0].OfferedTo) != 0 {
		t.Fatalf("queue rn: %+v, want caller 2 waiting, offered to nobody", q.Callers)
	}
	m := x.bus.mark()
	hangUp(t, c1.Call, call1)
	x.waitState("201", queue.StateIdle, m)
	call2 := x.serve(c2, a)
	x.finish(c2, a, call2, queue.StateIdle)
}
