package rwi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testengine"
	"pbx/queue"
)

// testServer is an RWI server on a real engine (SIP stack and media on
// loopback, no calls), with no contact center.
func testServer(t *testing.T) *Server {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	e, _ := testengine.Start(t, dialog.Options{}, false)
	s, err := New(Options{Engine: e, Config: config.RWI{OrphanHold: time.Minute, MaxLegs: 10, OriginateRate: 10}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testSession is a session of a token with these scopes, not connected:
// what it is sent stays in its history.
func testSession(s *Server, scopes ...string) *session {
	t := &token{cfg: config.RWIToken{Name: "t"}, scopes: map[string]bool{}}
	for _, sc := range scopes {
		t.scopes[sc] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newSessionLocked(t)
}

// sent is what a session was sent, in order, decoded.
func sent(t *testing.T, ss *session) []eventFrame {
	t.Helper()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out []eventFrame
	for seq := uint64(1); seq <= ss.seq; seq++ {
		var f eventFrame
		if err := json.Unmarshal(ss.history[seq%historySize], &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func sentNames(t *testing.T, ss *session) []string {
	var names []string
	for _, f := range sent(t, ss) {
		names = append(names, f.Event+" "+f.CallID)
	}
	return names
}

// Each contact-center event becomes the RWI event of the same name, with
// the caller's call_id as the session names it and the spec's fields.
func TestTranslateQueue(t *testing.T) {
	ss := &session{aliases: map[string]string{"t-1": "leg_a", "t-9": "agent_leg"}}
	tests := []struct {
		ev   dialog.Event
		want map[string]any
	}{
		{dialog.Event{Kind: queue.EventJoined, LegID: "t-1", Queue: "support", Position: 3},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "position": 3}},
		{dialog.Event{Kind: queue.EventJoined, LegID: "t-2", Queue: "support", Position: 1, Detail: "callback"},
			map[string]any{"call_id": "t-2", "queue_id": "support", "position": 1, "callback": true}},
		{dialog.Event{Kind: queue.EventPositionChanged, LegID: "t-1", Queue: "support", Position: 2},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "position": 2}},
		{dialog.Event{Kind: queue.EventAgentOffered, LegID: "t-1", Queue: "support", Agent: "9001"},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "agent_id": "9001"}},
		{dialog.Event{Kind: queue.EventAgentConnected, LegID: "t-1", Queue: "support", Agent: "9001", OtherLegID: "t-9", Wait: 12345 * time.Millisecond},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "agent_id": "9001", "agent_call_id": "agent_leg", "wait_secs": 12.345}},
		{dialog.Event{Kind: queue.EventAgentNoAnswer, LegID: "t-1", Queue: "support", Agent: "9001", Cause: "no_answer"},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "agent_id": "9001", "reason": "no_answer"}},
		{dialog.Event{Kind: queue.EventHold, LegID: "t-1", Queue: "support"},
			map[string]any{"call_id": "leg_a", "queue_id": "support"}},
		{dialog.Event{Kind: queue.EventUnhold, LegID: "t-1", Queue: "support"},
			map[string]any{"call_id": "leg_a", "queue_id": "support"}},
		{dialog.Event{Kind: queue.EventLeft, LegID: "t-1", Queue: "support", Cause: queue.LeftAbandoned, Wait: 30 * time.Second, Position: 2},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "reason": "abandoned", "wait_secs": 30.0, "position": 2}},
		{dialog.Event{Kind: queue.EventPriorityChanged, LegID: "t-1", Queue: "support", Detail: "7"},
			map[string]any{"call_id": "leg_a", "queue_id": "support", "priority": 7}},
		{dialog.Event{Kind: queue.EventAgentStateChanged, Agent: "9001", State: queue.StatePaused, Detail: "lunch", Cause: "hungry"},
			map[string]any{"agent_id": "9001", "state": "paused", "break": "lunch", "reason": "hungry"}},
		{dialog.Event{Kind: queue.EventAgentStateChanged, Agent: "9001", State: queue.StateIdle},
			map[string]any{"agent_id": "9001", "state": "idle"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.ev.Kind), func(t *testing.T) {
			name, data, ok := ss.translateLocked(tt.ev)
			if !ok || name != string(tt.ev.Kind) {
				t.Fatalf("%q %v, want %s", name, ok, tt.ev.Kind)
			}
			if !reflect.DeepEqual(data, tt.want) {
				t.Errorf("data %v, want %v", data, tt.want)
			}
			if !eventNames[name] {
				t.Errorf("%s: session.subscribe does not know it", name)
			}
		})
	}
	if _, _, ok := ss.translateLocked(dialog.Event{Kind: "queue.something_new"}); ok {
		t.Error("an unknown queue event is reported")
	}
}

// A caller's queue events go to the leg's owner (even after the leg
// ended, under the name it chose); events of a leg nobody owns and agent
// events go to every queue.control session, as its allow-list admits.
func TestRouteQueue(t *testing.T) {
	s := testServer(t)
	owner := testSession(s, scopeCall, scopeQueue)
	board := testSession(s, scopeQueue)
	filtered := testSession(s, scopeQueue)
	filtered.events = map[string]bool{"agent.state_changed": true}
	other := testSession(s, scopeCall)

	owner.mu.Lock()
	owner.owned["t-1"] = true
	owner.names["leg_a"], owner.aliases["t-1"] = "t-1", "leg_a"
	owner.mu.Unlock()

	// The owner's leg: only the owner hears of it, whether the event
	// says the owner or the server remembers it from queue.joined.
	s.route(dialog.Event{Kind: queue.EventJoined, LegID: "t-1", Owner: owner.tag, Queue: "support", Position: 1})
	s.route(dialog.Event{Kind: queue.EventHold, LegID: "t-1", Queue: "support"})
	s.route(dialog.Event{Kind: dialog.EventLegEnded, LegID: "t-1", Owner: owner.tag, Cause: "normal", By: "remote"})
	s.route(dialog.Event{Kind: queue.EventLeft, LegID: "t-1", Queue: "support", Cause: queue.LeftAbandoned})
	// A leg nobody owns: the wallboards.
	s.route(dialog.Event{Kind: queue.EventJoined, LegID: "t-2", Queue: "support", Position: 2})
	// An agent: the wallboards.
	s.route(dialog.Event{Kind: queue.EventAgentStateChanged, Agent: "9001", State: queue.StateIdle})

	want := map[*session][]string{
		owner:    {"queue.joined leg_a", "queue.hold leg_a", "call.hangup leg_a", "queue.left leg_a", "queue.joined t-2", "agent.state_changed "}, // queue.control: a wallboard too
		board:    {"queue.joined t-2", "agent.state_changed "},
		filtered: {"agent.state_changed "},
		other:    nil,
	}
	for ss, w := range want {
		if got := sentNames(t, ss); !reflect.DeepEqual(got, w) {
			t.Errorf("session with scopes %v: %q, want %q", ss.tok.scopes, got, w)
		}
	}
	owner.mu.Lock()
	if len(owner.names) != 0 || len(owner.queued) != 0 {
		t.Errorf("the ended leg is still known: names %v, queued %v", owner.names, owner.queued)
	}
	owner.mu.Unlock()
	s.mu.Lock()
	if len(s.queued) != 0 {
		t.Errorf("queued %v after every caller left", s.queued)
	}
	s.mu.Unlock()

	// The owner's data: the spec's fields.
	f := sent(t, owner)[3]
	d, _ := f.Data.(map[string]any)
	if d["reason"] != "abandoned" || d["queue_id"] != "support" || d["call_id"] != "leg_a" {
		t.Errorf("queue.left data %v", d)
	}
}

// A session may ask for the queue events by name.
func TestSubscribeQueueEvents(t *testing.T) {
	s := testServer(t)
	ss := testSession(s, scopeQueue)
	x := &cmd{ctx: context.Background(), srv: s, ss: ss, params: json.RawMessage(`{"events":["queue.joined","queue.left","agent.state_changed"]}`)}
	if _, err := subscribe(x); err != nil {
		t.Fatal(err)
	}
	if !ss.events["queue.left"] || !ss.events["agent.state_changed"] || ss.events["queue.hold"] {
		t.Errorf("events %v", ss.events)
	}
}

// Params are checked before anything is looked up, and a node without a
// contact center says so.
func TestQueueActionParams(t *testing.T) {
	s := testServer(t)
	ss := testSession(s, scopeCall, scopeQueue)
	tests := []struct {
		action, params, code string
	}{
		{"queue.enqueue", `{"call_id":"a"}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"bad queue"}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"support","priority":1001}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"support","max_wait_secs":-1}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"support","max_wait_secs":86401}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"support","priority":"high"}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"support","extra":1}`, CodeInvalidParams},
		{"queue.enqueue", `{"call_id":"a","queue_id":"support","priority":5,"max_wait_secs":300}`, CodeInvalidState},
		{"queue.dequeue", `{"call_id":"a","agent_id":"9 001"}`, CodeInvalidParams},
		{"queue.dequeue", `{"call_id":"a","agent_id":"9001"}`, CodeInvalidState},
		{"queue.hold", `{"call_id":"a"}`, CodeInvalidState},
		{"queue.unhold", `{"call_id":"a","queue_id":"x"}`, CodeInvalidParams},
		{"queue.set_priority", `{"call_id":"a"}`, CodeInvalidParams},
		{"queue.set_priority", `{"call_id":"a","priority":-1001}`, CodeInvalidParams},
		{"queue.set_priority", `{"call_id":"a","priority":3}`, CodeInvalidState},
		{"queue.requeue", `{"call_id":"a"}`, CodeInvalidParams},
		{"queue.requeue", `{"call_id":"a","queue_id":"sales","priority":2000}`, CodeInvalidParams},
		{"queue.requeue", `{"call_id":"a","queue_id":"sales"}`, CodeInvalidState},
		{"queue.list", `{"x":1}`, CodeInvalidParams},
		{"queue.list", `{}`, CodeInvalidState},
		{"queue.status", `{}`, CodeInvalidParams},
		{"queue.status", `{"queue_id":"support"}`, CodeInvalidState},
		{"agent.list", `{}`, CodeInvalidState},
		{"agent.status", `{}`, CodeInvalidParams},
		{"agent.status", `{"agent_id":"9001","device":"1001"}`, CodeInvalidParams},
		{"agent.login", `{"agent_id":"9001","device":"not a device"}`, CodeInvalidParams},
		{"agent.login", `{"agent_id":"9001","device":"1001"}`, CodeInvalidState},
		{"agent.logout", `{"agent_id":"9001","reason":"end of shift"}`, CodeInvalidState},
		{"agent.logout", `{"agent_id":"9001","break":"lunch"}`, CodeInvalidParams},
		{"agent.pause", `{"agent_id":"9001","break":"lunch","reason":"` + longString(maxReasonBytes+1) + `"}`, CodeInvalidParams},
		{"agent.pause", `{"agent_id":"9001","break":"lunch"}`, CodeInvalidState},
		{"agent.unpause", `{"agent_id":""}`, CodeInvalidParams},
		{"agent.unpause", `{"agent_id":"9001","break":"lunch"}`, CodeInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.params, func(t *testing.T) {
			a, ok := actions[tt.action]
			if !ok {
				t.Fatalf("%s is not registered", tt.action)
			}
			if a.scope != scopeQueue {
				t.Errorf("scope %q, want %s", a.scope, scopeQueue)
			}
			x := &cmd{ctx: context.Background(), srv: s, ss: ss, params: json.RawMessage(tt.params)}
			_, err := a.run(x)
			if err == nil || err.Code != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
		})
	}
}

func longString(n int) string { return strings.Repeat("x", n) }

func TestBreakName(t *testing.T) {
	breaks := []config.Break{{Name: "lunch", Code: "1"}, {Name: "meeting", Code: "2"}, {Name: "training"}}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true}, {"lunch", "lunch", true}, {"2", "meeting", true}, {"training", "training", true},
		{"3", "", false}, {"nap", "", false},
	}
	for _, tt := range tests {
		got, ok := breakName(breaks, tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%q: %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := breakList(nil); got != "no break (none are configured)" {
		t.Errorf("no breaks: %s", got)
	}
}

func TestQueueError(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{nil, ""},
		{queue.ErrUnknownQueue, CodeNotFound},
		{fmt.Errorf("enqueue: %w", queue.ErrUnknownAgent), CodeNotFound},
		{queue.ErrNotWaiting, CodeInvalidState},
		{queue.ErrWaiting, CodeInvalidState},
		{queue.ErrFull, CodeInvalidState},
		{queue.ErrLoggedOut, CodeInvalidState},
		{queue.ErrUnknownBreak, CodeInvalidParams},
		{dialog.ErrNotFound, CodeCallNotFound},
		{dialog.ErrInvalidState, CodeInvalidState},
	}
	for _, tt := range tests {
		got := queueError(tt.err)
		if (got == nil) != (tt.code == "") || (got != nil && got.Code != tt.code) {
			t.Errorf("%v: %v, want %q", tt.err, got, tt.code)
		}
	}
}
