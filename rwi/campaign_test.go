package rwi

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/dialog"
)

// noAgents is a contact center whose queues exist and have nobody logged
// in: a dialer that runs never places a call. Nothing else of it is used.
type noAgents struct{ campaign.Agents }

func (noAgents) QueueAgents(string) (int, int, bool) { return 0, 0, true }

// testCampaigns gives s a campaign center on its engine, with no store,
// holding an incoming campaign (1, queue support) and an outgoing one
// (2, queue sales, predictive, inactive) with two numbers to call.
func testCampaigns(t *testing.T, s *Server) *campaign.Center {
	t.Helper()
	c, err := campaign.New(campaign.Options{Engine: s.e, Agents: noAgents{}, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.CreateCampaign(campaign.Campaign{Kind: campaign.Incoming, Name: "Inbound", Queue: "support", Status: campaign.Active}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateCampaign(campaign.Campaign{
		Kind: campaign.Outgoing, Name: "Renewals", Queue: "sales", Mode: campaign.Predictive, Retries: 2,
		RetryDelay: 90 * time.Second, WorkStart: "09:00", WorkEnd: "18:00",
		Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddNumbers(out.ID, []campaign.NumberRow{{Phone: "5551001"}, {Phone: "5551002"}}); err != nil {
		t.Fatal(err)
	}
	s.camps = c
	return c
}

// run runs a registered action as a session of these scopes would, and
// returns its data as the wire carries it.
func run(t *testing.T, s *Server, ss *session, action, params string) (map[string]any, *Error) {
	t.Helper()
	a, ok := actions[action]
	if !ok {
		t.Fatalf("%s is not registered", action)
	}
	data, err := a.run(&cmd{ctx: context.Background(), srv: s, ss: ss, params: json.RawMessage(params)})
	if err != nil {
		return nil, err
	}
	b, merr := json.Marshal(data)
	if merr != nil {
		t.Fatal(merr)
	}
	var m map[string]any
	if merr := json.Unmarshal(b, &m); merr != nil {
		t.Fatal(merr)
	}
	return m, nil
}

// The campaign actions list, show, start and stop campaigns, all under
// queue.control.
func TestCampaignActions(t *testing.T) {
	s := testServer(t)
	c := testCampaigns(t, s)
	ss := testSession(s, scopeQueue)

	for _, name := range []string{"campaign.list", "campaign.status", "campaign.start", "campaign.stop"} {
		if a := actions[name]; a.scope != scopeQueue {
			t.Errorf("%s: scope %q, want %s", name, a.scope, scopeQueue)
		}
	}

	inbound := map[string]any{"campaign_id": 1.0, "type": "incoming", "name": "Inbound", "queue_id": "support", "status": "active"}
	renewals := map[string]any{"campaign_id": 2.0, "type": "outgoing", "name": "Renewals", "queue_id": "sales", "status": "inactive", "mode": "predictive"}
	started := map[string]any{"campaign_id": 2.0, "type": "outgoing", "name": "Renewals", "queue_id": "sales", "status": "active", "mode": "predictive"}
	counts := func(pending float64) map[string]any {
		m := map[string]any{}
		for _, st := range callStatuses {
			m[string(st)] = 0.0
		}
		m["Pending"] = pending
		return m
	}
	status := map[string]any{
		"campaign_id": 2.0, "type": "outgoing", "name": "Renewals", "queue_id": "sales", "status": "inactive", "mode": "predictive",
		"start_date": "2025-03-01", "end_date": "2025-03-31", "work_start": "09:00", "work_end": "18:00",
		"max_channels": 10.0, "retries": 2.0, "retry_delay_secs": 90.0, "calls": counts(2), "total": 2.0,
	}
	tests := []struct {
		name, action, params string
		want                 map[string]any
		campaign             campaign.Status // campaign 2's status after it
	}{
		{"list", "campaign.list", `{}`, map[string]any{"campaigns": []any{inbound, renewals}}, campaign.Inactive},
		{"list without params", "campaign.list", ``, map[string]any{"campaigns": []any{inbound, renewals}}, campaign.Inactive},
		{"status", "campaign.status", `{"campaign_id":2}`, status, campaign.Inactive},
		{"status of an incoming campaign", "campaign.status", `{"campaign_id":1}`, map[string]any{
			"campaign_id": 1.0, "type": "incoming", "name": "Inbound", "queue_id": "support", "status": "active",
			"calls": counts(0), "total": 0.0,
		}, campaign.Inactive},
		{"start", "campaign.start", `{"campaign_id":2}`, started, campaign.Active},
		{"start again", "campaign.start", `{"campaign_id":2}`, started, campaign.Active},
		{"stop", "campaign.stop", `{"campaign_id":2}`, renewals, campaign.Inactive},
		{"stop again", "campaign.stop", `{"campaign_id":2}`, renewals, campaign.Inactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, s, ss, tt.action, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("data\n%v\nwant\n%v", got, tt.want)
			}
			if cp, _ := c.Campaign(2); cp.Status != tt.campaign {
				t.Errorf("campaign 2 is %s, want %s", cp.Status, tt.campaign)
			}
		})
	}
}

// Params are checked, an unknown campaign is not_found, and a node
// running no campaigns says so.
func TestCampaignActionErrors(t *testing.T) {
	s := testServer(t)
	ss := testSession(s, scopeQueue)
	tests := []struct {
		action, params, code string
	}{
		{"campaign.list", `{}`, CodeInvalidState},
		{"campaign.status", `{"campaign_id":1}`, CodeInvalidState},
		{"campaign.start", `{"campaign_id":1}`, CodeInvalidState},
		{"campaign.stop", `{"campaign_id":1}`, CodeInvalidState},
	}
	for _, tt := range tests {
		t.Run("no campaigns "+tt.action, func(t *testing.T) {
			if _, err := run(t, s, ss, tt.action, tt.params); err == nil || err.Code != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
		})
	}

	testCampaigns(t, s)
	tests = []struct {
		action, params, code string
	}{
		{"campaign.list", `{"campaign_id":1}`, CodeInvalidParams},
		{"campaign.list", `[]`, CodeInvalidParams},
		{"campaign.status", `{}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":0}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":-1}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":"2"}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":2.5}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":99999999999999999999}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":2,"queue_id":"sales"}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":2} {}`, CodeInvalidParams},
		{"campaign.status", `{"campaign_id":3}`, CodeNotFound},
		{"campaign.start", `{}`, CodeInvalidParams},
		{"campaign.start", `{"campaign_id":3}`, CodeNotFound},
		{"campaign.start", `{"id":2}`, CodeInvalidParams},
		{"campaign.stop", `{"campaign_id":"x"}`, CodeInvalidParams},
		{"campaign.stop", `{"campaign_id":42}`, CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.params, func(t *testing.T) {
			if _, err := run(t, s, ss, tt.action, tt.params); err == nil || err.Code != tt.code {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
		})
	}
}

func TestCampaignError(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{nil, ""},
		{campaign.ErrNotFound, CodeNotFound},
		{campaign.ErrInvalid, CodeInvalidParams},
		{context.Canceled, CodeInternal},
	}
	for _, tt := range tests {
		got := campaignError(tt.err)
		if (got == nil) != (tt.code == "") || (got != nil && got.Code != tt.code) {
			t.Errorf("%v: %v, want %q", tt.err, got, tt.code)
		}
	}
}

// campaign.call_progress carries the campaign, its call, the status and
// number, and what is known of the queue, the agent and the leg.
func TestTranslateCampaign(t *testing.T) {
	ss := &session{aliases: map[string]string{"t-1": "leg_a"}}
	tests := []struct {
		name string
		ev   dialog.Event
		want map[string]any
	}{
		{"placing", dialog.Event{Kind: campaign.EventCallProgress, Campaign: 2, CampaignCall: 7, State: "Placing", To: "5551001", Queue: "sales"},
			map[string]any{"campaign_id": 2, "campaign_call_id": 7, "status": "Placing", "phone": "5551001", "queue_id": "sales"}},
		{"dialing", dialog.Event{Kind: campaign.EventCallProgress, Campaign: 2, CampaignCall: 7, State: "Dialing", To: "5551001", Queue: "sales", LegID: "t-2"},
			map[string]any{"campaign_id": 2, "campaign_call_id": 7, "status": "Dialing", "phone": "5551001", "queue_id": "sales", "call_id": "t-2", "leg_id": "t-2"}},
		{"a leg the session named", dialog.Event{Kind: campaign.EventCallProgress, Campaign: 1, CampaignCall: 3, State: "Success", To: "1001", Queue: "support", Agent: "1003", LegID: "t-1"},
			map[string]any{"campaign_id": 1, "campaign_call_id": 3, "status": "Success", "phone": "1001", "queue_id": "support", "agent_id": "1003", "call_id": "leg_a", "leg_id": "t-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, data, ok := ss.translateLocked(tt.ev)
			if !ok || name != "campaign.call_progress" {
				t.Fatalf("%q %v, want campaign.call_progress", name, ok)
			}
			if !reflect.DeepEqual(data, tt.want) {
				t.Errorf("data %v, want %v", data, tt.want)
			}
		})
	}
	if !eventNames["campaign.call_progress"] {
		t.Error("session.subscribe does not know campaign.call_progress")
	}
}

// campaign.call_progress goes to every queue.control session, as its
// allow-list admits, and to the owner and the watchers of the call's leg;
// a session with neither hears nothing. Each session numbers it in its
// own sequence, kept for session.resume.
func TestRouteCampaign(t *testing.T) {
	s := testServer(t)
	board := testSession(s, scopeQueue)
	filtered := testSession(s, scopeQueue)
	filtered.events = map[string]bool{"agent.state_changed": true}
	subscribed := testSession(s, scopeQueue)
	x := &cmd{ctx: context.Background(), srv: s, ss: subscribed, params: json.RawMessage(`{"events":["campaign.call_progress"]}`)}
	if _, err := subscribe(x); err != nil {
		t.Fatal(err)
	}
	owner := testSession(s, scopeCall) // owns t-1, no queue.control
	owner.mu.Lock()
	owner.owned["t-1"] = true
	owner.names["leg_a"], owner.aliases["t-1"] = "t-1", "leg_a"
	owner.mu.Unlock()
	watcher := testSession(s, scopeSupervisor)
	s.watch(watcher, "t-3", true)
	other := testSession(s, scopeCall)

	progress := func(leg, owner, state string) dialog.Event {
		return dialog.Event{Kind: campaign.EventCallProgress, Campaign: 2, CampaignCall: 7, State: state, To: "1001",
			Queue: "sales", LegID: leg, Owner: owner}
	}
	s.route(progress("", "", "Placing"))                   // no leg yet
	s.route(progress("t-2", "campaign-call:7", "Dialing")) // the dialer's leg
	s.route(progress("t-1", owner.tag, "OnQueue"))         // a session's leg
	// A leg that ended while queued: its owner is the one it joined with.
	s.mu.Lock()
	s.queued["t-9"] = owner.tag
	s.mu.Unlock()
	s.route(progress("t-9", "", "Abandoned"))
	s.route(progress("t-3", "", "Ringing")) // a leg a supervisor watches

	board1 := []string{"campaign.call_progress ", "campaign.call_progress t-2", "campaign.call_progress t-1", // not its leg: its id
		"campaign.call_progress t-9", "campaign.call_progress t-3"}
	want := map[*session][]string{
		board:      board1,
		subscribed: board1,
		filtered:   nil,
		owner:      {"campaign.call_progress leg_a", "campaign.call_progress t-9"},
		watcher:    {"campaign.call_progress t-3"},
		other:      nil,
	}
	for ss, w := range want {
		if got := sentNames(t, ss); !reflect.DeepEqual(got, w) {
			t.Errorf("session with scopes %v: %q, want %q", ss.tok.scopes, got, w)
		}
	}
	for i, f := range sent(t, board) {
		if f.Seq != uint64(i+1) {
			t.Errorf("event %d: seq %d, want %d", i, f.Seq, i+1)
		}
	}
	d, _ := sent(t, owner)[0].Data.(map[string]any)
	if d["call_id"] != "leg_a" || d["leg_id"] != "t-1" || d["status"] != "OnQueue" || d["campaign_call_id"] != 7.0 {
		t.Errorf("the owner's data %v", d)
	}
}
