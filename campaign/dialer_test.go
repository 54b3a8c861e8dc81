package campaign

import (
	"context"
	"strconv"
	"testing"
	"time"

	"pbx/store"
)

// fakeAgents stands for the contact center in the dialer's unit tests.
type fakeAgents struct {
	loggedIn, free int
	idle           map[string]bool
}

func (f fakeAgents) QueueAgents(string) (int, int, bool) { return f.loggedIn, f.free, true }
func (f fakeAgents) AgentFree(a string) bool             { return f.idle[a] }
func (fakeAgents) Assign(context.Context, string, string) error {
	return nil
}

// planCenter is a Center whose dialers never run by themselves: the
// tests call plan.
func planCenter(t *testing.T, agents fakeAgents, trunks map[string]int) *Center {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Store: st, TrunkLimits: trunks})
	if err != nil {
		t.Fatal(err)
	}
	c.agents = agents
	t.Cleanup(func() { c.Close(); st.Close() })
	return c
}

func numbers(n int) []NumberRow {
	rows := make([]NumberRow, n)
	for i := range rows {
		rows[i] = NumberRow{Phone: "55500" + strconv.Itoa(10+i)}
	}
	return rows
}

// What one dialer tick places, by the rules: free agents, channels, the
// trunk's channels shared with other campaigns, no agent no call, hours.
func TestDialerPlan(t *testing.T) {
	now := time.Now()
	closed := now.Add(2 * time.Hour).Format("15:04")
	closedEnd := now.Add(2*time.Hour + time.Minute).Format("15:04")
	tests := []struct {
		name   string
		agents fakeAgents
		cp     Campaign
		busy   int // calls of another campaign live on the same trunk
		limit  int // the trunk's max_calls
		want   int
	}{
		{"one call per free agent", fakeAgents{loggedIn: 5, free: 3}, Campaign{MaxChannels: 10}, 0, 0, 3},
		{"within the campaign's channels", fakeAgents{loggedIn: 5, free: 5}, Campaign{MaxChannels: 2}, 0, 0, 2},
		{"within the trunk's channels", fakeAgents{loggedIn: 5, free: 5}, Campaign{MaxChannels: 10}, 2, 3, 1},
		{"trunk full", fakeAgents{loggedIn: 5, free: 5}, Campaign{MaxChannels: 10}, 3, 3, 0},
		{"no agent logged in", fakeAgents{loggedIn: 0, free: 0}, Campaign{MaxChannels: 10}, 0, 0, 0},
		{"agents all busy", fakeAgents{loggedIn: 4, free: 0}, Campaign{MaxChannels: 10}, 0, 0, 0},
		{"outside working hours", fakeAgents{loggedIn: 5, free: 5}, Campaign{MaxChannels: 10, WorkStart: closed, WorkEnd: closedEnd}, 0, 0, 0},
		{"after its end date", fakeAgents{loggedIn: 5, free: 5}, Campaign{MaxChannels: 10, End: now.AddDate(0, 0, -1)}, 0, 0, 0},
		{"predictive dials ahead", fakeAgents{loggedIn: 5, free: 3}, Campaign{MaxChannels: 10, Mode: Predictive}, 0, 0, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := planCenter(t, tt.agents, map[string]int{"carrier": tt.limit})
			tt.cp.Kind, tt.cp.Name, tt.cp.Queue, tt.cp.Trunk = Outgoing, "c", "q", "carrier"
			cp, err := c.CreateCampaign(tt.cp)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AddNumbers(cp.ID, numbers(8)); err != nil {
				t.Fatal(err)
			}
			other, _ := c.CreateCampaign(Campaign{Kind: Outgoing, Name: "other", Queue: "q2", Trunk: "carrier"})
			c.AddNumbers(other.ID, numbers(tt.busy))
			c.mu.Lock()
			for _, cl := range c.calls {
				if cl.CampaignID == other.ID {
					cl.LegID, cl.Trunk, cl.Status = "leg-"+strconv.Itoa(cl.ID), "carrier", Ringing
				}
			}
			c.campaigns[cp.ID].Status = Active // no dialer goroutine: the test plans by hand
			c.mu.Unlock()
			d := &dialer{c: c, id: cp.ID}
			got, req := d.plan()
			if len(got) != tt.want {
				t.Fatalf("placed %d calls, want %d", len(got), tt.want)
			}
			for i, cl := range got {
				if cl.Status != Placing || cl.Retries != 1 || (i > 0 && cl.ID < got[i-1].ID) {
					t.Fatalf("call %+v", cl)
				}
			}
			if tt.want > 0 && (req.Trunk != "carrier" || req.Context != "campaign:"+strconv.Itoa(cp.ID)) {
				t.Fatalf("originate %+v", req)
			}
		})
	}
}

// A failed call is tried again after its delay, as often as the campaign
// says; a success never again.
func TestDialerRetries(t *testing.T) {
	c := planCenter(t, fakeAgents{loggedIn: 3, free: 3}, nil)
	cp, err := c.CreateCampaign(Campaign{Kind: Outgoing, Name: "r", Queue: "q", Retries: 1, RetryDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.AddNumbers(cp.ID, numbers(2))
	c.mu.Lock()
	c.campaigns[cp.ID].Status = Active
	c.mu.Unlock()
	d := &dialer{c: c, id: cp.ID}
	first, _ := d.plan()
	if len(first) != 2 {
		t.Fatalf("first tick placed %d", len(first))
	}
	c.mu.Lock()
	c.failedLocked(first[0], NoAnswer)
	c.setStatusLocked(first[1], Success)
	c.mu.Unlock()
	if again, _ := d.plan(); len(again) != 0 {
		t.Fatalf("placed %d before the retry delay", len(again))
	}
	c.mu.Lock()
	first[0].NextTry = time.Now().Add(-time.Second)
	c.mu.Unlock()
	again, _ := d.plan()
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Retries != 2 {
		t.Fatalf("retry placed %+v", again)
	}
	c.mu.Lock()
	c.failedLocked(again[0], NoAnswer)
	again[0].NextTry = time.Time{}
	c.mu.Unlock()
	if last, _ := d.plan(); len(last) != 0 {
		t.Fatalf("placed %d after the last retry", len(last))
	}
}
