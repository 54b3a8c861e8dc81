package e2e

import (
	"slices"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/internal/testkit"
	"pbx/queue"
)

// rwiDemoToken is the demo RWI token of the default configuration; it
// holds queue.control, which the campaign actions and campaign events need.
const rwiDemoToken = "rwi-demo-token"

// nextProgress returns the next campaign.call_progress event over RWI of
// campaign call callID.
func nextProgress(t *testing.T, c *testkit.RWIClient, callID int) testkit.RWIEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, err := c.NextEvent("campaign.call_progress", "", time.Until(deadline))
		if err != nil {
			t.Fatalf("campaign call %d: %v", callID, err)
		}
		if num(ev.Data, "campaign_call_id") == callID {
			return ev
		}
	}
}

// incoming hands over the next call to ph, unanswered; the channel is
// closed without one when none came. Like rwiAnswerNext, it never
// touches t.
func incoming(ph *testkit.Phone) <-chan *testkit.Incoming {
	ch := make(chan *testkit.Incoming, 1)
	go func() {
		defer close(ch)
		if in, err := ph.Incoming(5 * time.Second); err == nil {
			ch <- in
		}
	}()
	return ch
}

// An outgoing campaign run over RWI, without ECCP: a dashboard lists the
// campaigns and starts one; the dialer calls its one number (Alice, 1001,
// who answers) into queue support, where Carol (the dynamic member 1003)
// takes her call; the dashboard follows the call through
// campaign.call_progress, Placing to Success, reads the count, and stops
// the campaign.
func TestRWICampaign(t *testing.T) {
	p := testkit.StartPBX(t, "", qcOptions(t)...)
	alice, carol := phone(t, p, "1001"), phone(t, p, "1003")
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	qcAgentState(t, p, "1003", queue.StateIdle)

	cp, err := p.Campaigns().CreateCampaign(campaign.Campaign{Kind: campaign.Outgoing, Name: "Renewals", Queue: "support"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Campaigns().AddNumbers(cp.ID, []campaign.NumberRow{{Phone: "1001"}}); err != nil {
		t.Fatal(err)
	}
	calls := p.Campaigns().Calls(cp.ID)
	if len(calls) != 1 {
		t.Fatalf("calls %v, want the one number", calls)
	}
	callID := calls[0].ID

	c := testkit.DialRWI(t, p.HTTPAddr(), rwiDemoToken)

	// campaign.list: it is there, inactive, and nothing is dialled.
	list, _ := c.MustDo("campaign.list", map[string]any{})["campaigns"].([]any)
	i := slices.IndexFunc(list, func(x any) bool { m, _ := x.(map[string]any); return num(m, "campaign_id") == cp.ID })
	if i < 0 {
		t.Fatalf("campaign.list: %v, want campaign %d", list, cp.ID)
	}
	if m := list[i].(map[string]any); m["type"] != "outgoing" || m["name"] != "Renewals" || m["queue_id"] != "support" ||
		m["status"] != "inactive" || m["mode"] != "progressive" {
		t.Errorf("campaign.list: %v", m)
	}

	// campaign.start: the dialer calls Alice, whose phone rings, then
	// answers; the queue rings Carol, who answers. Each step waits for the
	// status before it, so the order is the call's, not a race's.
	ringing, agent := incoming(alice), rwiAnswerNext(carol, toneC)
	if d := c.MustDo("campaign.start", map[string]any{"campaign_id": cp.ID}); d["status"] != "active" || num(d, "campaign_id") != cp.ID {
		t.Errorf("campaign.start: %v", d)
	}
	var evs []testkit.RWIEvent
	progress := func(want string) testkit.RWIEvent {
		t.Helper()
		ev := nextProgress(t, c, callID)
		if ev.Str("status") != want {
			t.Fatalf("campaign.call_progress: %s, want %s", ev.Raw, want)
		}
		evs = append(evs, ev)
		return ev
	}
	progress("Placing")
	progress("Dialing")
	var in *testkit.Incoming
	select {
	case in = <-ringing:
	case <-time.After(5 * time.Second):
	}
	if in == nil {
		t.Fatal("the campaign never called 1001")
	}
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	progress("Ringing")
	cust, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	cust.SendTone(toneA)
	progress("OnQueue")
	if ev := progress("Success"); ev.Str("agent_id") != "1003" {
		t.Errorf("Success: agent %q, want 1003: %s", ev.Str("agent_id"), ev.Raw)
	}
	for i, ev := range evs {
		if num(ev.Data, "campaign_id") != cp.ID || ev.Str("phone") != "1001" || ev.Str("queue_id") != "support" {
			t.Errorf("%s: %s", ev.Str("status"), ev.Raw)
		}
		if st := ev.Str("status"); st != "Placing" && (ev.Str("leg_id") == "" || ev.CallID != ev.Str("leg_id")) {
			t.Errorf("%s: no leg: %s", st, ev.Raw)
		}
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			t.Errorf("seq %d after %d", ev.Seq, evs[i-1].Seq)
		}
	}
	ag := <-agent
	if ag == nil {
		t.Fatal("the agent's phone never rang")
	}
	hears(t, "the customer", cust, []float64{toneC}, nil)
	hears(t, "the agent", ag, []float64{toneA}, nil)

	// campaign.status: one call, a success.
	st := c.MustDo("campaign.status", map[string]any{"campaign_id": cp.ID})
	counts, _ := st["calls"].(map[string]any)
	if st["status"] != "active" || num(st, "total") != 1 || num(counts, "Success") != 1 || num(counts, "Pending") != 0 {
		t.Errorf("campaign.status: %v, want active with 1 call, a success", st)
	}

	// campaign.stop, and an unknown campaign.
	if d := c.MustDo("campaign.stop", map[string]any{"campaign_id": cp.ID}); d["status"] != "inactive" {
		t.Errorf("campaign.stop: %v", d)
	}
	if st := c.MustDo("campaign.status", map[string]any{"campaign_id": cp.ID}); st["status"] != "inactive" {
		t.Errorf("campaign.status after stop: %v", st)
	}
	if cp, _ := p.Campaigns().Campaign(cp.ID); cp.Status != campaign.Inactive {
		t.Errorf("campaign %d is %s after campaign.stop", cp.ID, cp.Status)
	}
	for _, action := range []string{"campaign.status", "campaign.start", "campaign.stop"} {
		if r := c.Do(action, map[string]any{"campaign_id": cp.ID + 100}); r.OK || r.Code != "not_found" {
			t.Errorf("%s of an unknown campaign: %s, want not_found", action, r.Raw)
		}
	}
	if r := c.Do("campaign.status", map[string]any{"campaign_id": "one"}); r.OK || r.Code != "invalid_params" {
		t.Errorf("campaign.status with a bad id: %s, want invalid_params", r.Raw)
	}

	if err := cust.Hangup(); err != nil {
		t.Error(err)
	}
	if err := ag.WaitEnded(5 * time.Second); err != nil {
		t.Errorf("the agent's call: %v", err)
	}
}
