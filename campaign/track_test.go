package campaign

import (
	"context"
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testengine"
	"pbx/store"
)

// trackCenter is a Center on a call engine with one call, from 5550100,
// answered by a far end that parks it: enough for a caller's record. The
// test drives the Center with the events the queue would publish.
func trackCenter(t *testing.T, track bool) (*Center, *dialog.Engine, string) {
	t.Helper()
	// The far end first, so that the near end's cleanup runs before its.
	_, farAddr := testengine.Start(t, dialog.Options{Node: "far", Trunks: []config.Trunk{{
		Name: "near", Host: "127.0.0.1", InboundCIDRs: []string{"127.0.0.1/32"},
		DIDs: []config.DID{{Match: config.Match{Exact: "5000"}, Target: "park"}},
	}}}, true)
	e, _ := testengine.Start(t, dialog.Options{Node: "t"}, false)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Engine: e, Store: st, TrackQueues: track})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before the engine's: the Center unsubscribes first
		c.Close()
		st.Close()
	})
	sub, err := e.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventLegAnswered, dialog.EventLegEnded}, Buffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	leg, err := e.Originate(context.Background(), dialog.OriginateRequest{To: "sip:5000@" + farAddr.String(), CallerID: "5550100"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev := <-sub.C:
			if ev.LegID != leg.ID {
				continue
			}
			if ev.Kind != dialog.EventLegAnswered {
				t.Fatalf("call to the far end: %s (%s)", ev.Kind, ev.Cause)
			}
			return c, e, leg.ID
		case <-time.After(5 * time.Second):
			t.Fatal("call to the far end not answered within 5s")
		}
	}
}

// A caller who joins a queue gets a call record when an active incoming
// campaign has the queue, or, with TrackQueues, whatever the queue: of
// campaign 0 when no campaign has it.
func TestTrackQueues(t *testing.T) {
	tests := []struct {
		name         string
		track        bool
		campaign     Status // "" for none; else an incoming campaign of queue support
		queue        string
		wantRecord   bool
		wantCampaign bool // the record is the campaign's, not campaign 0's
	}{
		{"no campaign, not tracked", false, "", "support", false, false},
		{"no campaign, tracked", true, "", "support", true, false},
		{"inactive campaign, tracked", true, Inactive, "support", true, false},
		{"campaign of another queue, tracked", true, Active, "sales", true, false},
		{"active campaign, not tracked", false, Active, "support", true, true},
		{"active campaign, tracked", true, Active, "support", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, leg := trackCenter(t, tt.track)
			var cp Campaign
			if tt.campaign != "" {
				var err error
				if cp, err = c.CreateCampaign(Campaign{Kind: Incoming, Name: "in", Queue: "support", Status: tt.campaign}); err != nil {
					t.Fatal(err)
				}
			}
			c.progress(dialog.Event{Kind: "queue.joined", LegID: leg, Queue: tt.queue})
			cl, ok := c.CallOfLeg(leg)
			if ok != tt.wantRecord {
				t.Fatalf("CallOfLeg: %+v %v, want a record %v", cl, ok, tt.wantRecord)
			}
			if !ok {
				return
			}
			wantID := 0
			if tt.wantCampaign {
				wantID = cp.ID
			}
			if cl.CampaignID != wantID || cl.Kind != Incoming || cl.Queue != tt.queue || cl.Phone != "5550100" || cl.Status != OnQueue || cl.LegID != leg {
				t.Fatalf("record %+v, want campaign %d, queue %s, phone 5550100, OnQueue", cl, wantID, tt.queue)
			}
			if _, ok := c.CallOfLeg("no-such-leg"); ok {
				t.Fatal("a record for a leg of no call")
			}
		})
	}
}

// progressOf is what a campaign event says: its state and log entry.
type progressOf struct {
	kind  dialog.EventKind
	state string
	log   int
}

// An agent who holds a talking call holds its caller's leg: the log and
// campaign.call_progress say OnHold then OffHold, while the call stays a
// Success, and its end refers to the Success entry. Holds while the
// caller waits in the queue, and a second hold, change nothing.
func TestHoldKeepsSuccess(t *testing.T) {
	c, e, leg := trackCenter(t, true)
	sub, err := e.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{EventCallProgress, EventCallEnded}, Buffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, ev := range []dialog.Event{
		{Kind: "queue.joined", LegID: leg, Queue: "support"},
		{Kind: dialog.EventLegHeld, LegID: leg}, // waiting: not a talking call's hold
		{Kind: dialog.EventLegResumed, LegID: leg},
		{Kind: "queue.agent_connected", LegID: leg, Queue: "support", Agent: "9001"},
		{Kind: dialog.EventLegHeld, LegID: leg, Detail: "default"},
		{Kind: dialog.EventLegHeld, LegID: leg}, // held already
		{Kind: dialog.EventLegResumed, LegID: leg},
		{Kind: dialog.EventLegEnded, LegID: leg, Cause: "normal"},
	} {
		c.progress(ev)
		if ev.Kind == dialog.EventLegHeld && ev.Detail != "" {
			if cl, ok := c.CallOfLeg(leg); !ok || cl.Status != Success {
				t.Fatalf("held call: %+v %v, want it a Success", cl, ok)
			}
		}
	}

	var got []progressOf
	for len(got) < 5 {
		select {
		case ev := <-sub.C:
			got = append(got, progressOf{ev.Kind, ev.State, ev.CampaignLog})
			if ev.Campaign != 0 || ev.CampaignCall == 0 || ev.Agent == "" && ev.State != string(OnQueue) {
				t.Errorf("event %+v: want campaign 0, its call and the agent", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("events %+v, want 5", got)
		}
	}
	log := c.Log(0, 0)
	var statuses []CallStatus
	for _, l := range log {
		statuses = append(statuses, l.Status)
	}
	if want := []CallStatus{OnQueue, Success, OnHold, OffHold}; !slices.Equal(statuses, want) {
		t.Fatalf("log %v, want %v", statuses, want)
	}
	want := []progressOf{
		{EventCallProgress, "OnQueue", log[0].ID},
		{EventCallProgress, "Success", log[1].ID},
		{EventCallProgress, "OnHold", log[2].ID},
		{EventCallProgress, "OffHold", log[3].ID},
		{EventCallEnded, "Success", log[1].ID},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n got %+v\nwant %+v", got, want)
	}
	for _, l := range log {
		if got, ok := c.LogEntry(l.ID); !ok || got != l {
			t.Errorf("LogEntry(%d) = %+v %v, want %+v", l.ID, got, ok, l)
		}
	}
	if _, ok := c.LogEntry(log[len(log)-1].ID + 1); ok {
		t.Error("LogEntry of an id not given")
	}
	if cl, ok := c.Call(log[0].CallID); !ok || cl.Status != Success || cl.Agent != "9001" || cl.LinkEnd.IsZero() {
		t.Fatalf("call after its end: %+v", cl)
	}
	if _, ok := c.CallOfLeg(leg); ok {
		t.Fatal("CallOfLeg finds an ended call")
	}
}

// A call talked for less than the campaign's short_call ends as
// ShortCall, and campaign.call_ended names that entry of the log. A call
// whose Originate returned before its INVITE had a Call-ID gets it from
// its leg's events.
func TestShortCallEndNamesItsEntry(t *testing.T) {
	c, e, leg := trackCenter(t, false)
	cp, err := c.CreateCampaign(Campaign{Kind: Outgoing, Name: "out", Queue: "support", ShortCall: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddNumbers(cp.ID, []NumberRow{{Phone: "5550100"}}); err != nil {
		t.Fatal(err)
	}
	id := c.Calls(cp.ID)[0].ID
	c.mu.Lock()
	cl := c.calls[id] // as the dialer leaves a call it placed
	cl.Status, cl.LegID = Ringing, leg
	c.byLeg[leg] = cl
	c.mu.Unlock()
	sub, err := e.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{EventCallEnded}, Buffer: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, ev := range []dialog.Event{
		{Kind: "queue.joined", LegID: leg, Queue: "support"},
		{Kind: "queue.agent_connected", LegID: leg, Queue: "support", Agent: "9001"},
		{Kind: dialog.EventLegEnded, LegID: leg, Cause: "normal"},
	} {
		c.progress(ev)
	}
	log := c.Log(cp.ID, 1)
	if len(log) != 1 || log[0].Status != ShortCall {
		t.Fatalf("last entry %+v, want ShortCall", log)
	}
	// Originate returned before the INVITE had a Call-ID: the leg's
	// events fill it in.
	if info, _ := e.Leg(leg); info.SIPCallID == "" || log[0].UniqueID != info.SIPCallID {
		t.Fatalf("uniqueid %q, want the leg's SIP Call-ID %q", log[0].UniqueID, info.SIPCallID)
	}
	select {
	case ev := <-sub.C:
		if ev.State != string(ShortCall) || ev.CampaignLog != log[0].ID || ev.Campaign != cp.ID {
			t.Fatalf("call_ended %+v, want ShortCall naming entry %d", ev, log[0].ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no call_ended")
	}
}

// An agent who transfers a caller back into a queue ends the talk of the
// caller's record, which stays a Success (never Abandoned, never dialled
// again), and the caller waits as a new caller with a record of its own,
// whether the agent's state or the caller's joining comes first.
func TestTransferBackToQueue(t *testing.T) {
	tests := []struct {
		name       string
		agentFirst bool
	}{
		{"agent leaves, then the caller joins", true},
		{"the caller joins, then the agent leaves", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, e, leg := trackCenter(t, true)
			sub, err := e.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{EventCallEnded}, Buffer: 8})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			c.progress(dialog.Event{Kind: "queue.joined", LegID: leg, Queue: "support"})
			c.progress(dialog.Event{Kind: "queue.agent_connected", LegID: leg, Queue: "support", Agent: "9001"})
			first, _ := c.CallOfLeg(leg)
			left := dialog.Event{Kind: "agent.state_changed", Agent: "9001", State: "wrapup"}
			joined := dialog.Event{Kind: "queue.joined", LegID: leg, Queue: "sales"}
			if tt.agentFirst {
				c.progress(left)
				c.progress(joined)
			} else {
				c.progress(joined)
				c.progress(left)
			}
			second, ok := c.CallOfLeg(leg)
			if !ok || second.ID == first.ID || second.Queue != "sales" || second.Status != OnQueue || second.CampaignID != 0 {
				t.Fatalf("the caller in the second queue: %+v %v, want a new record OnQueue", second, ok)
			}
			c.progress(dialog.Event{Kind: "queue.agent_connected", LegID: leg, Queue: "sales", Agent: "1003"})
			c.progress(dialog.Event{Kind: dialog.EventLegEnded, LegID: leg, Cause: "normal"})

			var ended []int
			for len(ended) < 2 {
				select {
				case ev := <-sub.C:
					ended = append(ended, ev.CampaignCall)
					if ev.State != string(Success) {
						t.Errorf("call_ended %+v, want Success", ev)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("call_ended of %v, want both calls", ended)
				}
			}
			if !slices.Equal(ended, []int{first.ID, second.ID}) {
				t.Fatalf("call_ended of %v, want %d then %d", ended, first.ID, second.ID)
			}
			for _, id := range []int{first.ID, second.ID} {
				if cl, _ := c.Call(id); cl.Status != Success || cl.LinkEnd.IsZero() || cl.LegID != "" {
					t.Errorf("call %d after its end: %+v", id, cl)
				}
			}
			var statuses []CallStatus
			for _, l := range c.Log(0, 0) {
				if l.CallID == first.ID {
					statuses = append(statuses, l.Status)
				}
			}
			if want := []CallStatus{OnQueue, Success}; !slices.Equal(statuses, want) {
				t.Fatalf("log of the first call %v, want %v", statuses, want)
			}
		})
	}
}
