package e2e

import (
	"strconv"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/config"
	"pbx/internal/testkit"
)

// TestECCPScheduledCallEvents: an agent schedules a call back to
// themselves (schedulecall with sameagent) in a window open now. Once the
// agent is free the dialer places it: schedulecallstart, then the call
// reaches the same agent (agentlinked with a new call id). A second one,
// to a number that is busy, ends in schedulecallfailed.
func TestECCPScheduledCallEvents(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{Name: "sales", Members: qrMembers(nil, "201")}}, cdUsers, ecPasswords)
	customer, busy := cdExt(1), cdExt(2)
	farm := cdNewFarm(t, x, cdAgentTones(1), map[string]cdBehaviour{
		customer: {Act: cdAnswer, Delay: 200 * time.Millisecond, Tone: 440},
		busy:     {Act: cdBusy, Delay: 100 * time.Millisecond},
	})
	cdStaff(t, x, 0, true)

	c, cookie := ecConsole(t, x.p)
	me := ecLoginSIP201(t, c, cookie)

	center := x.p.Campaigns()
	cp := ecOutgoingCampaign(t, center, "callbacks", campaign.NumberRow{Phone: customer})
	first := strconv.Itoa(center.Calls(cp.ID)[0].ID)
	if err := center.Start(cp.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
	ecEvent(t, c, "agentlinked", func(d *testkit.ECCPDoc) bool { return d.Text("agentlinked", "call_id") == first })

	// A window from now to an hour on (over midnight, into tomorrow).
	now := time.Now()
	end := now.Add(time.Hour)
	window := "<schedule><date_init>" + now.Format(time.DateOnly) + "</date_init><date_end>" + end.Format(time.DateOnly) +
		"</date_end><time_init>" + now.Format(time.TimeOnly) + "</time_init><time_end>" + end.Format(time.TimeOnly) + "</time_end></schedule>"
	if d := ecReq(t, c, "schedulecall", me+window+"<sameagent>1</sameagent>"); !d.Success() {
		t.Fatalf("schedulecall: %s", d.Raw)
	}
	m := c.Mark()
	if d := ecReq(t, c, "hangup", me); !d.Success() {
		t.Fatalf("hangup: %s", d.Raw)
	}
	ecEvent(t, c, "agentunlinked", ecOfAgent("SIP/201"))
	start := ecEvent(t, c, "schedulecallstart", ecOfAgent("SIP/201"))
	ecInOrder(t, start, []string{"agent_number", "calltype", "campaign_id", "call_id"}, "schedulecallstart")
	again := start.Text("schedulecallstart", "call_id")
	if again == first || start.Text("schedulecallstart", "calltype") != "outgoing" || start.Text("schedulecallstart", "campaign_id") != strconv.Itoa(cp.ID) {
		t.Errorf("schedulecallstart: %s", start.Raw)
	}
	linked := ecEvent(t, c, "agentlinked", func(d *testkit.ECCPDoc) bool { return d.Text("agentlinked", "call_id") == again })
	if linked.Text("agentlinked", "agent_number") != "SIP/201" || linked.Text("agentlinked", "phone") != customer {
		t.Errorf("the scheduled call's agentlinked: %s", linked.Raw)
	}
	for _, d := range c.Since(m) {
		if d.Name() == "schedulecallfailed" {
			t.Errorf("a scheduled call that went through failed: %s", d.Raw)
		}
	}

	// Scheduled again, to a busy number: it fails.
	if d := ecReq(t, c, "schedulecall", me+window+"<sameagent>1</sameagent><newphone>"+busy+"</newphone>"); !d.Success() {
		t.Fatalf("schedulecall to a new phone: %s", d.Raw)
	}
	if d := ecReq(t, c, "hangup", me); !d.Success() {
		t.Fatalf("hangup: %s", d.Raw)
	}
	failed := ecEvent(t, c, "schedulecallfailed", ecOfAgent("SIP/201"))
	if failed.Text("schedulecallfailed", "call_id") == again || failed.Text("schedulecallfailed", "call_id") == first {
		t.Errorf("schedulecallfailed names an earlier call: %s", failed.Raw)
	}
	farm.Check(t)
}
