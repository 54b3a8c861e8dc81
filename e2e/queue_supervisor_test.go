package e2e

import (
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// Supervisors on queue calls, end to end: the customer (Bob, 1002, toneA)
// calls queue support (5000) and is put through to Carol (1003, the
// dynamic member, toneB); the supervisor (Alice, 1001, listed in
// contact_center.supervisors, toneC) dials a feature code and Carol's
// agent id. What each of the three hears proves the hearing matrix
// (dialog/supervise.go): listen, the supervisor hears both and nobody
// hears the supervisor; whisper, the agent hears the supervisor and the
// customer does not; barge, everyone hears everyone; takeover, the
// supervisor is in the agent's place.

// supCall is a queue call with a supervisor: each party's end.
type supCall struct {
	p                  *testkit.PBX
	log                *testkit.EventLog
	cust, agent        *testkit.PhoneCall
	custLeg, agentLeg  string
	supPhone, outsider *testkit.Phone
}

// supQueueCall starts the PBX, logs Carol in, and puts Bob's call to 5000
// through to her; both hear each other.
func supQueueCall(t *testing.T) *supCall {
	t.Helper()
	p, log := ccPBX(t, "", ccSounds(t))
	alice, bob, carol := threePhones(t, p)
	s := &supCall{p: p, log: log, supPhone: alice, outsider: phone(t, p, "1004")}
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	m := log.Mark()
	s.cust = ccCall(t, bob, "5000", toneA)
	s.agent = answerWithTone(t, carol, toneB)
	ev, _ := log.Await(m, 5*time.Second, "agent_connected", testkit.IsKind(queue.EventAgentConnected))
	if ev.Agent != "1003" {
		t.Fatalf("put through to agent %s, want 1003", ev.Agent)
	}
	s.custLeg, s.agentLeg = ev.LegID, ev.OtherLegID
	talking(t, s.cust, s.agent)
	return s
}

// supervise dials code+1003 from Alice's phone, sending toneC, and waits
// until the engine says the supervisor is in Carol's call in mode.
func (s *supCall) supervise(t *testing.T, code, mode string) (*testkit.PhoneCall, string) {
	t.Helper()
	m := s.log.Mark()
	sup := ccCall(t, s.supPhone, code+"1003", toneC)
	ev := s.started(t, m, mode)
	return sup, ev.LegID
}

// started waits for a supervisor to start a mode on Carol's leg.
func (s *supCall) started(t *testing.T, from int, mode string) dialog.Event {
	t.Helper()
	ev, _ := s.log.Await(from, 5*time.Second, "supervise.started "+mode, func(ev dialog.Event) bool {
		return ev.Kind == dialog.EventSuperviseStarted && ev.Detail == mode
	})
	if ev.OtherLegID != s.agentLeg {
		t.Fatalf("supervise.started %s on leg %s, want Carol's %s", mode, ev.OtherLegID, s.agentLeg)
	}
	return ev
}

// hearing is who hears whom in a supervisor mode.
type hearing struct {
	custHearsSup, agentHearsSup bool
}

var supHearing = map[string]hearing{
	"listen":  {custHearsSup: false, agentHearsSup: false},
	"whisper": {custHearsSup: false, agentHearsSup: true},
	"barge":   {custHearsSup: true, agentHearsSup: true},
}

// assertMode checks the hearing matrix of a supervisor mode: the
// supervisor hears both, never its own tone nor music; the customer and
// the agent always hear each other, and the supervisor as the mode says.
func (s *supCall) assertMode(t *testing.T, mode string, sup *testkit.PhoneCall) {
	t.Helper()
	h := supHearing[mode]
	ccHears(t, mode+": supervisor", sup, []float64{toneA, toneB}, []float64{toneC, ccMusic})
	check := func(who string, x *testkit.PhoneCall, own, other float64, hearsSup bool) {
		t.Helper()
		if hearsSup {
			ccHears(t, mode+": "+who, x, []float64{other, toneC}, []float64{own})
		} else {
			ccHears(t, mode+": "+who, x, []float64{other}, []float64{own, toneC})
		}
	}
	check("customer", s.cust, toneA, toneB, h.custHearsSup)
	check("agent", s.agent, toneB, toneA, h.agentHearsSup)
	// Who must not hear the supervisor never does, over a while.
	if !h.custHearsSup {
		ccNever(t, mode+": customer", s.cust, toneC, 400*time.Millisecond)
	}
	if !h.agentHearsSup {
		ccNever(t, mode+": agent", s.agent, toneC, 400*time.Millisecond)
	}
}

// TestQueueSupervisorModes: the supervisor starts each mode by its
// feature code (*64 listen, *65 whisper, *66 barge) on a queue call.
func TestQueueSupervisorModes(t *testing.T) {
	for _, tc := range []struct{ code, mode string }{
		{"*64", "listen"}, {"*65", "whisper"}, {"*66", "barge"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := supQueueCall(t)
			sup, _ := s.supervise(t, tc.code, tc.mode)
			s.assertMode(t, tc.mode, sup)
			if st, _ := s.p.Queues().Agent("1003"); st.State != queue.StateOnCall {
				t.Errorf("agent supervised: %s, want on-call", st.State)
			}
			// The customer hangs up: Carol's call ends; the supervisor's
			// leg stays, parked with music, for her next call.
			hangUp(t, s.cust, s.agent)
			ccHears(t, "supervisor after the call", sup, []float64{ccMusic}, []float64{toneA, toneB})
			sup.Hangup()
		})
	}
}

// TestQueueSupervisorSwitchByDTMF: a supervisor listening (*64) keys 5,
// 6 and 4: whisper, barge, then listen again, each proven by who hears
// whom.
func TestQueueSupervisorSwitchByDTMF(t *testing.T) {
	s := supQueueCall(t)
	sup, _ := s.supervise(t, "*64", "listen")
	s.assertMode(t, "listen", sup)
	for _, step := range []struct{ key, mode string }{{"5", "whisper"}, {"6", "barge"}, {"4", "listen"}} {
		m := s.log.Mark()
		if err := sup.SendDigits(step.key); err != nil {
			t.Fatal(err)
		}
		s.started(t, m, step.mode)
		s.assertMode(t, step.mode, sup)
	}
	hangUp(t, s.cust, s.agent)
	sup.Hangup()
}

// TestQueueSupervisorTakeover: the supervisor dials *67 and the agent id:
// the supervisor is in the agent's place, talking with the customer; the
// agent's call is hung up and the agent is free again. When the customer
// hangs up, the supervisor is hung up too.
func TestQueueSupervisorTakeover(t *testing.T) {
	s := supQueueCall(t)
	m := s.log.Mark()
	sup, supLeg := s.supervise(t, "*67", "takeover")
	if err := s.agent.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("agent's call after the takeover: %v", err)
	}
	ccHears(t, "takeover: customer", s.cust, []float64{toneC}, []float64{toneB, toneA})
	ccHears(t, "takeover: supervisor", sup, []float64{toneA}, []float64{toneB, toneC})
	ccState(t, s.p, s.log, m, "1003", queue.StateIdle)
	hangUp(t, s.cust, sup)
	s.log.Await(m, 5*time.Second, "supervisor's leg ended", testkit.IsLegEvent(dialog.EventLegEnded, supLeg))
}

// TestQueueSupervisorWaitsForCall: a supervisor who dials *64 for an agent
// with no call hears music, and is put in listen on the agent's next call.
func TestQueueSupervisorWaitsForCall(t *testing.T) {
	p, log := ccPBX(t, "", ccSounds(t))
	alice, bob, carol := threePhones(t, p)
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	sup := ccCall(t, alice, "*641003", toneC)
	ccHears(t, "supervisor waiting", sup, []float64{ccMusic}, nil)

	m := log.Mark()
	cust := ccCall(t, bob, "5000", toneA)
	agent := answerWithTone(t, carol, toneB)
	ev, _ := log.Await(m, 5*time.Second, "supervise.started listen", testkit.IsKind(dialog.EventSuperviseStarted))
	if ev.Detail != "listen" {
		t.Fatalf("supervisor attached in %s, want listen", ev.Detail)
	}
	s := &supCall{p: p, log: log, cust: cust, agent: agent, agentLeg: ev.OtherLegID}
	s.assertMode(t, "listen", sup)
	hangUp(t, cust, agent)
	sup.Hangup()
}

// TestQueueSupervisorRefused: an extension not among the supervisors
// (1004) dialling *64 and an agent id is refused (403), and the call it
// aimed at goes on, the two parties hearing only each other.
func TestQueueSupervisorRefused(t *testing.T) {
	s := supQueueCall(t)
	for _, code := range []string{"*64", "*65", "*66", "*67"} {
		c, err := s.outsider.Call(ctxTimeout(t, 5*time.Second), code+"1003", testkit.CallOptions{})
		if err == nil {
			c.Hangup()
			t.Fatalf("%s1003 from 1004 answered, want refused", code)
		}
		if st := testkit.StatusOf(err); st != 403 {
			t.Fatalf("%s1003 from 1004: %v (status %d), want 403", code, err, st)
		}
	}
	if _, i := s.log.Find(0, testkit.IsKind(dialog.EventSuperviseStarted)); i >= 0 {
		t.Fatal("a supervision started")
	}
	talking(t, s.cust, s.agent)
	hangUp(t, s.cust, s.agent)
}
