package e2e

import (
	"context"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// csPBX starts a PBX whose queue support has two dynamic agents: 1003
// (penalty 0, offered first) and 1004 (penalty 1); the demo static agent
// is left out. It returns the PBX and a subscription to campaign events.
func csPBX(t *testing.T) (*testkit.PBX, *dialog.Subscription) {
	t.Helper()
	p := testkit.StartPBX(t, "", func(c *config.Config) {
		c.Users = append(c.Users, config.User{Extension: "1004", Password: "pw1004", Music: "default"})
		c.Agents = append(c.Agents, config.Agent{ID: "1004", Contact: "1004"})
		for i := range c.Queues {
			if c.Queues[i].Name == "support" {
				c.Queues[i].Members = []config.Member{{Agent: "1003"}, {Agent: "1004", Penalty: 1}}
				c.Queues[i].Announce, c.Queues[i].AnnounceEvery = "", 0
				c.Queues[i].Periodic, c.Queues[i].PeriodicEvery = nil, 0
			}
		}
	})
	sub, err := p.Engine().Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{campaign.EventCallProgress}, Buffer: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return p, sub
}

// csAnswer answers the next call a phone gets, sending tone, in the
// background; the call comes out of the channel.
func csAnswer(t *testing.T, ph *testkit.Phone, tone float64) <-chan *testkit.PhoneCall {
	ch := make(chan *testkit.PhoneCall, 1)
	go func() {
		defer close(ch)
		in, err := ph.Incoming(20 * time.Second)
		if err != nil {
			t.Errorf("%s: %v", ph.User, err)
			return
		}
		c, err := in.Answer()
		if err != nil {
			t.Errorf("%s answers: %v", ph.User, err)
			return
		}
		c.SendTone(tone)
		ch <- c
	}()
	return ch
}

// csUntil waits for a campaign call to reach status, and returns that event.
func csUntil(t *testing.T, sub *dialog.Subscription, call int, status campaign.CallStatus) dialog.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if ev.CampaignCall == call && ev.State == string(status) {
				return ev
			}
		case <-deadline:
			t.Fatalf("call %d never reached %s", call, status)
		}
	}
}

// A call scheduled back to one agent goes to that agent when its window
// opens, although the queue would offer it to another first.
func TestCampaignScheduledToAgent(t *testing.T) {
	p, sub := csPBX(t)
	carol, dave, cust := phone(t, p, "1003"), phone(t, p, "1004"), phone(t, p, "1002")
	for _, a := range []string{"1003", "1004"} {
		if err := p.Queues().Login(context.Background(), a, queue.LoginOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cc := p.Campaigns()
	cp, err := cc.CreateCampaign(campaign.Campaign{Kind: campaign.Outgoing, Name: "callbacks", Queue: "support"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.AddNumbers(cp.ID, []campaign.NumberRow{{Phone: "1002"}}); err != nil {
		t.Fatal(err)
	}
	orig := cc.Calls(cp.ID)[0]

	// The first call goes to 1003, the agent of lowest penalty.
	agentCall, custCall := csAnswer(t, carol, toneB), csAnswer(t, cust, toneA)
	if err := cc.Start(cp.ID); err != nil {
		t.Fatal(err)
	}
	if ev := csUntil(t, sub, orig.ID, campaign.Success); ev.Agent != "1003" {
		t.Fatalf("first call went to %q, want 1003", ev.Agent)
	}
	a, c := <-agentCall, <-custCall
	if a == nil || c == nil {
		t.FailNow()
	}
	talking(t, c, a)
	a.Hangup()
	if err := c.WaitEnded(5 * time.Second); err != nil {
		t.Fatal(err)
	}

	// The agent books a call back for Dave: it goes to 1004, with 1003 free.
	now := time.Now()
	sched, err := cc.Schedule(orig.ID, now, now.Add(time.Minute), "", "1004")
	if err != nil {
		t.Fatal(err)
	}
	agentCall, custCall = csAnswer(t, dave, toneB), csAnswer(t, cust, toneA)
	if ev := csUntil(t, sub, sched.ID, campaign.Success); ev.Agent != "1004" {
		t.Fatalf("scheduled call went to %q, want 1004", ev.Agent)
	}
	a, c = <-agentCall, <-custCall
	if a == nil || c == nil {
		t.FailNow()
	}
	talking(t, c, a)
	c.Hangup()
	if err := a.WaitEnded(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := cc.Call(orig.ID); got.Status != campaign.Success || got.Retries != 1 {
		t.Fatalf("the first call after its follow-up: %+v", got)
	}
}

// With answering-machine detection on, a customer who greets at length is
// taken for a machine and hung up, and one who says hello and waits goes
// to an agent.
func TestCampaignAnsweringMachine(t *testing.T) {
	p, sub := csPBX(t)
	carol, machine, person := phone(t, p, "1003"), phone(t, p, "1001"), phone(t, p, "1002")
	if err := p.Queues().Login(context.Background(), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	cc := p.Campaigns()
	cp, err := cc.CreateCampaign(campaign.Campaign{Kind: campaign.Outgoing, Name: "amd", Queue: "support", AMD: true, MaxChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.AddNumbers(cp.ID, []campaign.NumberRow{{Phone: "1001"}, {Phone: "1002"}}); err != nil {
		t.Fatal(err)
	}
	calls := cc.Calls(cp.ID)
	greets := csAnswer(t, machine, toneA) // a tone that goes on: a long greeting
	if err := cc.Start(cp.ID); err != nil {
		t.Fatal(err)
	}
	m := <-greets
	if m == nil {
		t.FailNow()
	}
	csUntil(t, sub, calls[0].ID, campaign.Failure)
	if err := m.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("the machine was not hung up: %v", err)
	}
	if got, _ := cc.Call(calls[0].ID); got.Failure != "answering machine" {
		t.Fatalf("machine's call: %+v", got)
	}

	agentCall := csAnswer(t, carol, toneB)
	hello := csAnswer(t, person, toneA)
	c := <-hello
	if c == nil {
		t.FailNow()
	}
	time.AfterFunc(500*time.Millisecond, c.StopTone) // "Hello?", then waits
	csUntil(t, sub, calls[1].ID, campaign.Success)
	a := <-agentCall
	if a == nil {
		t.FailNow()
	}
	c.SendTone(toneA)
	talking(t, c, a)
	c.Hangup()
	a.WaitEnded(5 * time.Second)
}
