package e2e

import (
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// Queue control over RWI (specs/rwi-use-cases.md, scenario 9) with real
// phones: a call the session made is put in a real queue, where it hears
// the queue's music; it is held and unheld; it is dequeued to an agent,
// whose phone rings, and customer and agent hear each other. A wallboard
// session follows a caller the dial plan queued, and an agent's day. The
// tones are rwi_scenarios_test.go's: alice (customer) toneA, bob (the
// agent) toneB; the queue's music is the class "default", toneDefault.

// The queue tests' tokens; rwiToken (rwiPBX's) gains queue.control.
const (
	rwiQueueToken = "rwi-e2e-queue-0001" // call.control and queue.control: its own legs only
	rwiCallsToken = "rwi-e2e-calls-0001" // call.control only
)

// Agent 7002, Bob, a dynamic member rung on extension 1002, is the only
// member of support_queue (dialled as 5100). He starts logged out.
const (
	rwiQueue       = "support_queue"
	rwiQueueNumber = "5100"
	rwiAgent       = "7002"
)

// rwiQueuePBX is rwiPBX with the queue tokens and support_queue.
func rwiQueuePBX(t *testing.T) *testkit.PBX {
	t.Helper()
	return rwiPBX(t, func(c *config.Config) {
		c.RWI.Tokens[0].Scopes = append(c.RWI.Tokens[0].Scopes, "queue.control")
		c.RWI.Tokens = append(c.RWI.Tokens,
			config.RWIToken{Name: "queue", Token: rwiQueueToken, Scopes: []string{"call.control", "queue.control"}},
			config.RWIToken{Name: "calls", Token: rwiCallsToken, Scopes: []string{"call.control"}})
		c.Agents = append(c.Agents, config.Agent{ID: rwiAgent, Name: "Bob", Contact: "1002"})
		// Built in code, the queue gets no defaults from the loader.
		c.Queues = append(c.Queues, config.Queue{
			Name: rwiQueue, Strategy: "ringall", Members: []config.Member{{Agent: rwiAgent}},
			RingTimeout: 10 * time.Second, Retry: time.Second, Music: "default", ServiceLevel: 20 * time.Second,
			AutopauseAs: "missed", CallbackTries: 3, CallbackRetry: 30 * time.Second, Progressively: 10 * time.Second,
		})
		c.Dialplan = append(c.Dialplan, config.DialplanRule{Match: config.Match{Exact: rwiQueueNumber}, Target: "queue:" + rwiQueue})
	})
}

// num is a JSON number of event or response data as an int (-1 when
// absent or not a number).
func num(m map[string]any, key string) int {
	if f, ok := m[key].(float64); ok {
		return int(f)
	}
	return -1
}

// waitAgentState consumes agent.state_changed events until agent id
// reaches state.
func waitAgentState(t *testing.T, c *testkit.RWIClient, id, state string) testkit.RWIEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev, err := c.NextEvent("agent.state_changed", "", time.Until(deadline))
		if err != nil {
			t.Fatalf("agent %s never %s: %v", id, state, err)
		}
		if ev.Str("agent_id") == id && ev.Str("state") == state {
			return ev
		}
	}
}

// callerOf finds a call among a queue.status's callers.
func callerOf(t *testing.T, status map[string]any, callID string) map[string]any {
	t.Helper()
	list, _ := status["callers"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["call_id"] == callID {
			return m
		}
	}
	t.Fatalf("queue.status: %s is not among the callers %v", callID, list)
	return nil
}

// Scenario 9: enqueue, hold, unhold, dequeue to an agent.
func TestRWIScenario9QueueControl(t *testing.T) {
	p := rwiQueuePBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := rwiClient(t, p)
	a := rwiOriginate(t, c, "leg_a", "1001", alice, toneA)
	hears(t, "customer before the queue", a, nil, []float64{toneDefault})

	// 1. Add the call to the queue: it is first in line and hears the
	// queue's music.
	d := c.MustDo("queue.enqueue", map[string]any{
		"call_id": "leg_a", "queue_id": rwiQueue, "priority": 5, "max_wait_secs": 300,
	})
	if d["call_id"] != "leg_a" || d["queue_id"] != rwiQueue || num(d, "position") != 1 || num(d, "priority") != 5 {
		t.Errorf("queue.enqueue: data %v, want leg_a first in %s with priority 5", d, rwiQueue)
	}
	ev := c.WaitEvent("queue.joined", "leg_a", 3*time.Second)
	if ev.Str("queue_id") != rwiQueue || num(ev.Data, "position") != 1 || ev.Str("call_id") != "leg_a" {
		t.Errorf("queue.joined: %s", ev.Raw)
	}
	hears(t, "customer waiting", a, []float64{toneDefault}, []float64{toneB})
	st := c.MustDo("queue.status", map[string]any{"queue_id": rwiQueue})
	if cl := callerOf(t, st, "leg_a"); num(cl, "position") != 1 || num(cl, "priority") != 5 || cl["held"] != false {
		t.Errorf("queue.status: caller %v", cl)
	}
	if num(st, "waiting") != 1 {
		t.Errorf("queue.status: waiting %v, want 1", st["waiting"])
	}

	// 2. Hold in queue: the agent logs in, and is not offered the call.
	c.MustDo("queue.hold", map[string]any{"call_id": "leg_a"})
	if ev := c.WaitEvent("queue.hold", "leg_a", 3*time.Second); ev.Str("queue_id") != rwiQueue {
		t.Errorf("queue.hold: %s", ev.Raw)
	}
	if d := c.MustDo("agent.login", map[string]any{"agent_id": rwiAgent}); d["agent_id"] != rwiAgent || d["state"] != "idle" {
		t.Errorf("agent.login: data %v, want %s idle", d, rwiAgent)
	}
	waitAgentState(t, c, rwiAgent, "idle")
	// He goes to lunch before the call is unheld, so nothing offers it
	// to him but the dequeue.
	if d := c.MustDo("agent.pause", map[string]any{"agent_id": rwiAgent, "break": "1", "reason": "noon"}); d["state"] != "paused" || d["break"] != "lunch" {
		t.Errorf("agent.pause: data %v, want paused for lunch", d)
	}
	if ev := waitAgentState(t, c, rwiAgent, "paused"); ev.Str("break") != "lunch" || ev.Str("reason") != "noon" {
		t.Errorf("agent.state_changed: %s, want break lunch, reason noon", ev.Raw)
	}
	if cl := callerOf(t, c.MustDo("queue.status", map[string]any{"queue_id": rwiQueue}), "leg_a"); cl["held"] != true {
		t.Errorf("queue.status: caller %v, want held", cl)
	}

	// 3. Unhold from queue: still waiting, still hearing the music.
	c.MustDo("queue.unhold", map[string]any{"call_id": "leg_a"})
	c.WaitEvent("queue.unhold", "leg_a", 3*time.Second)
	c.MustDo("queue.set_priority", map[string]any{"call_id": "leg_a", "priority": 7})
	if ev := c.WaitEvent("queue.priority_changed", "leg_a", 3*time.Second); num(ev.Data, "priority") != 7 {
		t.Errorf("queue.priority_changed: %s", ev.Raw)
	}
	hears(t, "customer unheld", a, []float64{toneDefault}, []float64{toneB})

	// 4. Dequeue to the agent: his phone rings, he answers, and customer
	// and agent talk.
	answered := rwiAnswerNext(bob, toneB)
	d = c.MustDo("queue.dequeue", map[string]any{"call_id": "leg_a", "agent_id": rwiAgent})
	if d["call_id"] != "leg_a" || d["agent_id"] != rwiAgent {
		t.Errorf("queue.dequeue: data %v", d)
	}
	b := <-answered
	if b == nil {
		t.Fatal("the agent's phone did not ring")
	}
	ev = c.WaitEvent("queue.agent_connected", "leg_a", 5*time.Second)
	if ev.Str("agent_id") != rwiAgent || ev.Str("queue_id") != rwiQueue || ev.Str("agent_call_id") == "" || num(ev.Data, "wait_secs") < 0 {
		t.Errorf("queue.agent_connected: %s", ev.Raw)
	}
	talking(t, a, b)
	if ev := c.WaitEvent("queue.left", "leg_a", 3*time.Second); ev.Str("reason") != "answered" || ev.Str("queue_id") != rwiQueue {
		t.Errorf("queue.left: %s, want reason answered", ev.Raw)
	}
	waitAgentState(t, c, rwiAgent, "on-call")
	if d := c.MustDo("agent.status", map[string]any{"agent_id": rwiAgent}); d["state"] != "on-call" || d["caller_call_id"] != "leg_a" {
		t.Errorf("agent.status: %v, want on-call with leg_a", d)
	}
	if st := c.MustDo("queue.status", map[string]any{"queue_id": rwiQueue}); num(st, "waiting") != 0 {
		t.Errorf("queue.status after the dequeue: %v", st)
	}

	// The customer hangs up: the agent's call ends too, and he is back
	// on his break.
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, c, "call.hangup", "leg_a")
	if err := b.WaitEnded(5 * time.Second); err != nil {
		t.Errorf("agent: %v", err)
	}
	waitAgentState(t, c, rwiAgent, "paused")
	checkSeq(t, c)
}

// The errors of the queue actions: unknown queue and agent, a call not
// waiting, a leg of another session or of nobody, a token without
// queue.control, and bad params.
func TestRWIQueueErrors(t *testing.T) {
	p := rwiQueuePBX(t)
	alice, carol := phone(t, p, "1001"), phone(t, p, "1003")
	q := testkit.DialRWI(t, p.HTTPAddr(), rwiQueueToken)
	other := testkit.DialRWI(t, p.HTTPAddr(), rwiQueueToken)
	calls := testkit.DialRWI(t, p.HTTPAddr(), rwiCallsToken)
	a := rwiOriginate(t, q, "leg_a", "1001", alice, toneA)
	legID := q.MustDo("session.list_calls", nil)["calls"].([]any)[0].(map[string]any)["leg_id"].(string)

	// A caller the dial plan queued is nobody's: the sessions hear of
	// it as wallboards, under its leg id.
	cc, err := carol.Call(ctxTimeout(t, 5*time.Second), rwiQueueNumber, testkit.CallOptions{})
	if err != nil {
		t.Fatalf("carol calls the queue: %v", err)
	}
	defer cc.Hangup()
	carolLeg := q.WaitEvent("queue.joined", "", 5*time.Second).CallID

	tests := []struct {
		name   string
		c      *testkit.RWIClient
		action string
		params map[string]any
		code   string
	}{
		{"unknown queue", q, "queue.enqueue", map[string]any{"call_id": "leg_a", "queue_id": "nope"}, "not_found"},
		{"unknown queue status", q, "queue.status", map[string]any{"queue_id": "nope"}, "not_found"},
		{"unknown requeue", q, "queue.requeue", map[string]any{"call_id": "leg_a", "queue_id": "nope"}, "not_found"},
		{"unknown agent", q, "agent.status", map[string]any{"agent_id": "4242"}, "not_found"},
		{"unknown agent login", q, "agent.login", map[string]any{"agent_id": "4242"}, "not_found"},
		{"unknown call", q, "queue.enqueue", map[string]any{"call_id": "ghost", "queue_id": rwiQueue}, "call_not_found"},
		{"not waiting: hold", q, "queue.hold", map[string]any{"call_id": "leg_a"}, "invalid_state"},
		{"not waiting: dequeue", q, "queue.dequeue", map[string]any{"call_id": "leg_a"}, "invalid_state"},
		{"not waiting: priority", q, "queue.set_priority", map[string]any{"call_id": "leg_a", "priority": 2}, "invalid_state"},
		{"logged out: pause", q, "agent.pause", map[string]any{"agent_id": rwiAgent, "break": "lunch"}, "invalid_state"},
		{"unknown break", q, "agent.pause", map[string]any{"agent_id": rwiAgent, "break": "nap"}, "invalid_params"},
		{"no queue_id", q, "queue.enqueue", map[string]any{"call_id": "leg_a"}, "invalid_params"},
		{"priority too high", q, "queue.enqueue", map[string]any{"call_id": "leg_a", "queue_id": rwiQueue, "priority": 5000}, "invalid_params"},
		{"unknown param", q, "queue.hold", map[string]any{"call_id": "leg_a", "music": "jazz"}, "invalid_params"},
		{"another session's leg", other, "queue.enqueue", map[string]any{"call_id": legID, "queue_id": rwiQueue}, "already_owned"},
		{"nobody's leg", q, "queue.hold", map[string]any{"call_id": carolLeg}, "forbidden"},
		{"no queue.control", calls, "queue.list", nil, "forbidden"},
		{"no queue.control for agents", calls, "agent.list", nil, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.Do(tt.action, tt.params)
			if r.OK || r.Code != tt.code {
				t.Errorf("%s %v: %s %s %s, want %s", tt.action, tt.params, map[bool]string{true: "success", false: "error"}[r.OK], r.Code, r.Message, tt.code)
			}
		})
	}

	// An enqueue refused leaves the call where it was: parked, its own.
	q.MustDo("queue.enqueue", map[string]any{"call_id": "leg_a", "queue_id": rwiQueue})
	if r := q.Do("queue.enqueue", map[string]any{"call_id": "leg_a", "queue_id": rwiQueue}); r.OK || r.Code != "invalid_state" {
		t.Errorf("enqueued twice: %s %s", r.Code, r.Message)
	}
	// Dequeued without an agent, the call is parked again, out of line.
	q.MustDo("queue.dequeue", map[string]any{"call_id": "leg_a"})
	if ev := q.WaitEvent("queue.left", "leg_a", 3*time.Second); ev.Str("reason") != "dequeued" {
		t.Errorf("queue.left: %s, want reason dequeued", ev.Raw)
	}
	if r := q.Do("queue.hold", map[string]any{"call_id": "leg_a"}); r.Code != "invalid_state" {
		t.Errorf("hold after the dequeue: %s %s", r.Code, r.Message)
	}
	// Parked, the customer hears the music no longer (carol, still
	// waiting, does).
	hearsNone(t, "customer dequeued, parked", a, cc, toneDefault)
	q.MustDo("call.hangup", map[string]any{"call_id": "leg_a"})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("customer: %v", err)
	}
}

// A wallboard: a session that only watches. It hears of a caller the dial
// plan queued (under its leg id) from joining to abandoning, and of an
// agent's login, break and logout, as its events allow-list admits.
func TestRWIQueueWallboard(t *testing.T) {
	p := rwiQueuePBX(t)
	carol := phone(t, p, "1003")
	w := testkit.DialRWI(t, p.HTTPAddr(), rwiQueueToken)
	sup := rwiClient(t, p)
	allowed := []string{"queue.joined", "queue.left", "agent.state_changed"}
	w.MustDo("session.subscribe", map[string]any{"events": allowed})

	cc, err := carol.Call(ctxTimeout(t, 5*time.Second), rwiQueueNumber, testkit.CallOptions{})
	if err != nil {
		t.Fatalf("carol calls the queue: %v", err)
	}
	cc.SendTone(toneC)
	joined := w.WaitEvent("queue.joined", "", 5*time.Second)
	leg := joined.CallID
	if leg == "" || joined.Str("call_id") != leg || joined.Str("queue_id") != rwiQueue || num(joined.Data, "position") != 1 {
		t.Errorf("queue.joined: %s", joined.Raw)
	}
	hears(t, "carol waiting", cc, []float64{toneDefault}, nil)
	qs, _ := w.MustDo("queue.list", nil)["queues"].([]any)
	found := false
	for _, x := range qs {
		if m, _ := x.(map[string]any); m["queue_id"] == rwiQueue {
			found = true
			if num(m, "waiting") != 1 || m["strategy"] != "ringall" {
				t.Errorf("queue.list: %v", m)
			}
		}
	}
	if !found {
		t.Errorf("queue.list: no %s in %v", rwiQueue, qs)
	}

	if err := cc.Hangup(); err != nil {
		t.Fatal(err)
	}
	if ev := w.WaitEvent("queue.left", leg, 5*time.Second); ev.Str("reason") != "abandoned" {
		t.Errorf("queue.left: %s, want reason abandoned", ev.Raw)
	}

	// The agent's day, driven by a supervisor's session.
	sup.MustDo("agent.login", map[string]any{"agent_id": rwiAgent})
	waitAgentState(t, w, rwiAgent, "idle")
	sup.MustDo("agent.pause", map[string]any{"agent_id": rwiAgent, "break": "meeting"})
	if ev := waitAgentState(t, w, rwiAgent, "paused"); ev.Str("break") != "meeting" {
		t.Errorf("agent.state_changed: %s, want break meeting", ev.Raw)
	}
	sup.MustDo("agent.unpause", map[string]any{"agent_id": rwiAgent})
	waitAgentState(t, w, rwiAgent, "idle")
	sup.MustDo("agent.logout", map[string]any{"agent_id": rwiAgent, "reason": "end of shift"})
	waitAgentState(t, w, rwiAgent, "logged-out")
	as, _ := w.MustDo("agent.list", nil)["agents"].([]any)
	for _, x := range as {
		if m, _ := x.(map[string]any); m["agent_id"] == rwiAgent && m["state"] != "logged-out" {
			t.Errorf("agent.list: %v", m)
		}
	}
	for _, ev := range w.Events() {
		if !slices.Contains(allowed, ev.Name) {
			t.Errorf("the wallboard got %s, outside its allow-list", ev)
		}
	}
	checkSeq(t, w)
}
