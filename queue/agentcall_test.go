package queue

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
)

// agentCallCenter is a Center with dynamic agents a1 (logged in) and a2
// (logged out) in queue q, with no wrap-up.
func agentCallCenter(t *testing.T) *coreCenter {
	t.Helper()
	cfg := &config.Config{
		Agents: []config.Agent{dyn("a1"), dyn("a2")}, Queues: []config.Queue{qcfg("q", "linear", "a1", "a2")},
		ContactCenter: config.ContactCenter{Breaks: []config.Break{{Name: "lunch"}}},
	}
	cc := newCoreCenter(t, cfg, nil)
	if err := cc.Login(context.Background(), "a1", LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	return cc
}

// talk puts caller leg in q through to agent a1 on agent leg agentLeg,
// connected in bridge B-leg.
func (cc *coreCenter) talk(t *testing.T, leg, agentLeg string) *conn {
	t.Helper()
	cl := cc.join(t, leg, "q", 0)
	o := cc.offerOf(t, "a1")
	o.leg = agentLeg
	cc.do(func(t *txn) { t.answered(o) })
	k := cl.conn
	cc.do(func(t *txn) { t.connected(k, "B-"+leg, "") })
	if cc.state("a1") != StateOnCall {
		t.Fatalf("a1 is %s, want on-call", cc.state("a1"))
	}
	cc.take()
	return k
}

// The agent-call API refuses an unknown agent, a logged-out one and one
// with no call, with the errors a control plane maps to its codes.
func TestAgentCallErrors(t *testing.T) {
	cc := agentCallCenter(t)
	ctx := context.Background()
	apis := map[string]func(id string) error{
		"HoldCall":       func(id string) error { return cc.HoldCall(ctx, id, true) },
		"HangupCall":     func(id string) error { return cc.HangupCall(ctx, id) },
		"TransferBlind":  func(id string) error { return cc.TransferCall(ctx, id, "1002", false) },
		"TransferAttend": func(id string) error { return cc.TransferCall(ctx, id, "1002", true) },
		"MuteRecording":  func(id string) error { return cc.MuteRecording(ctx, id, true) },
	}
	tests := []struct {
		agent string
		want  error
		also  error // the engine error it matches
	}{
		{"nobody", ErrUnknownAgent, dialog.ErrNotFound},
		{"a2", ErrLoggedOut, dialog.ErrInvalidState},
		{"a1", ErrNoCall, dialog.ErrInvalidState},
	}
	for name, api := range apis {
		for _, tt := range tests {
			err := api(tt.agent)
			if !errors.Is(err, tt.want) || !errors.Is(err, tt.also) {
				t.Errorf("%s(%s) = %v, want %v (and %v)", name, tt.agent, err, tt.want, tt.also)
			}
		}
	}
	if err := cc.TransferCall(ctx, "a1", "", false); !errors.Is(err, dialog.ErrBadTarget) {
		t.Errorf("TransferCall to no number = %v, want ErrBadTarget", err)
	}
}

// HoldCall holds the agent's call as the agent's phone does: the agent is
// on-hold from then on (AgentStatus.OnHold, HeldAt), once, and on-call
// again when resumed.
func TestHoldCall(t *testing.T) {
	cc := agentCallCenter(t)
	ctx := context.Background()
	cc.talk(t, "L1", "A1")
	cc.clock.Advance(3 * time.Second)
	heldAt := cc.clock.Now()
	for range 2 { // the second is a no-op
		if err := cc.HoldCall(ctx, "a1", true); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := cc.Agent("a1")
	if st.State != StateOnHold || !st.OnHold || !st.HeldAt.Equal(heldAt) || st.CallLegID != "L1" {
		t.Fatalf("held: %+v, want on-hold since %v on L1", st, heldAt)
	}
	if err := cc.HoldCall(ctx, "a1", false); err != nil {
		t.Fatal(err)
	}
	if st, _ = cc.Agent("a1"); st.State != StateOnCall || st.OnHold || !st.HeldAt.IsZero() {
		t.Fatalf("resumed: %+v, want on-call, not held", st)
	}
	if got, want := states(cc.take(), "a1"), []string{StateOnHold, StateOnCall}; !slices.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
}

// A break taken during a call shows in AgentStatus while the state is
// still the call's.
func TestPausedOnCall(t *testing.T) {
	cc := agentCallCenter(t)
	cc.talk(t, "L1", "A1")
	cc.clock.Advance(time.Second)
	if err := cc.Pause("a1", "lunch", ""); err != nil {
		t.Fatal(err)
	}
	st, _ := cc.Agent("a1")
	if st.State != StateOnCall || !st.Paused || !st.PausedAt.Equal(cc.clock.Now()) || st.Break != "lunch" {
		t.Fatalf("paused on a call: %+v", st)
	}
	if err := cc.Unpause("a1"); err != nil {
		t.Fatal(err)
	}
	if st, _ = cc.Agent("a1"); st.Paused || !st.PausedAt.IsZero() {
		t.Fatalf("unpaused: %+v", st)
	}
}

// HangupCall ends the agent's call: the caller and the agent's leg are
// let go, the agent is free, the next caller is offered.
func TestHangupCall(t *testing.T) {
	cc := agentCallCenter(t)
	k := cc.talk(t, "L1", "A1")
	if err := cc.HangupCall(context.Background(), "a1"); err != nil {
		t.Fatal(err)
	}
	if !k.ended || cc.state("a1") != StateIdle {
		t.Fatalf("after HangupCall: ended %v, agent %s", k.ended, cc.state("a1"))
	}
	if _, ok := cc.legs["L1"]; ok {
		t.Error("the caller is still tracked")
	}
	if _, ok := cc.legs["A1"]; ok {
		t.Error("the agent's call is still tracked")
	}
	cc.join(t, "L2", "q", 0)
	if o := cc.offerOf(t, "a1"); o.cl.leg != "L2" {
		t.Errorf("a1 offered %s, want L2", o.cl.leg)
	}
}

// consulting starts the books of an attended transfer by API as
// consultTransfer does, without an engine: T1 is the one consulted.
func (cc *coreCenter) consulting(k *conn) *consultCall {
	x := &consultCall{number: "1002", leg: "T1"}
	cc.do(func(t *txn) {
		k.consult = x
		cc.legs["T1"] = legRef{kind: legConsult, k: k}
	})
	return x
}

// An attended transfer by API: completed by HangupCall once the one
// consulted answered, or, asked while they ring, when they answer; the
// caller and the one consulted are paired. One that fails returns the
// call to the agent; an agent who hung up meanwhile ends it.
func TestConsultTransferBooks(t *testing.T) {
	answered := dialog.Event{Kind: dialog.EventLegAnswered, LegID: "T1"}
	ended := dialog.Event{Kind: dialog.EventLegEnded, LegID: "T1"}
	agentEnded := dialog.Event{Kind: dialog.EventLegEnded, LegID: "A1"}
	tests := []struct {
		name      string
		steps     []any // dialog.Event routed, or "hangup" (HangupCall)
		completed bool  // the caller went to T1
		callEnds  bool  // the call ended for the agent
	}{
		{"answered then hangup", []any{answered, "hangup"}, true, true},
		{"hangup while ringing, then answered", []any{"hangup", answered}, true, true},
		{"agent hangs up after the answer", []any{answered, agentEnded}, true, true},
		{"agent hangs up while ringing, then answered", []any{agentEnded, answered}, true, true},
		{"no answer", []any{ended}, false, false},
		{"consulted hangs up", []any{answered, ended}, false, false},
		{"agent gone, then no answer", []any{agentEnded, ended}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := agentCallCenter(t)
			k := cc.talk(t, "L1", "A1")
			x := cc.consulting(k)
			if err := cc.HoldCall(context.Background(), "a1", true); !errors.Is(err, dialog.ErrInvalidState) {
				t.Errorf("HoldCall during a consultation = %v, want ErrInvalidState", err)
			}
			for _, s := range tt.steps {
				switch s := s.(type) {
				case dialog.Event:
					cc.route(s)
				case string:
					if err := cc.HangupCall(context.Background(), "a1"); err != nil {
						t.Fatal(err)
					}
				}
			}
			if k.ended != tt.callEnds {
				t.Errorf("call ended %v, want %v", k.ended, tt.callEnds)
			}
			pair := cc.legs["L1"].kind == legPair && cc.legs["L1"].peer == "T1" && cc.legs["T1"].peer == "L1"
			if pair != tt.completed || tt.completed && !x.done {
				t.Errorf("caller paired with T1: %v, want %v (legs %v)", pair, tt.completed, cc.legs)
			}
			switch {
			case tt.callEnds && cc.state("a1") != StateIdle:
				t.Errorf("agent %s after the call, want idle", cc.state("a1"))
			case !tt.callEnds && (cc.state("a1") != StateOnCall || k.consult != nil):
				t.Errorf("agent %s, consult %v: want back on the call", cc.state("a1"), k.consult)
			}
		})
	}
}

// The caller hanging up during a consultation ends it: the one consulted
// is let go with the call.
func TestConsultCallerGone(t *testing.T) {
	cc := agentCallCenter(t)
	k := cc.talk(t, "L1", "A1")
	x := cc.consulting(k)
	cc.route(dialog.Event{Kind: dialog.EventLegEnded, LegID: "L1"})
	if !k.ended || !x.done {
		t.Fatalf("call ended %v, consultation done %v", k.ended, x.done)
	}
	if _, ok := cc.legs["T1"]; ok {
		t.Error("the one consulted is still tracked")
	}
}

// AddMember and RemoveMember publish queue.membership_changed for each
// change, and nothing when nothing changes.
func TestMembershipEvents(t *testing.T) {
	cc := agentCallCenter(t)
	cc.take()
	steps := []func() error{
		func() error { return cc.AddMember("q", "a1", 0) }, // no change
		func() error { return cc.AddMember("q", "a1", 3) },
		func() error { return cc.RemoveMember("q", "a2") },
		func() error { return cc.AddMember("q", "a2", 1) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, ev := range cc.take() {
		if ev.Kind == EventMembership {
			got = append(got, ev.Agent+" "+ev.Queue+" "+ev.Detail+" "+itoa(ev.Position))
		}
	}
	want := []string{"a1 q penalty 3", "a2 q removed 0", "a2 q added 1"}
	if !slices.Equal(got, want) {
		t.Errorf("membership events %q, want %q", got, want)
	}
}
