package e2e

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/config"
	"pbx/internal/testkit"
)

// An outgoing campaign seen from ECCP consoles, end to end: agent 201, a
// dynamic member of queue sales (SIP/201 on phone 1101), logs in over
// ECCP; the campaign calls customer 1301 (the cd* farm), who answers
// and waits. A console that enabled callprogress gets the call's
// progress in order, then agentlinked with the number's attributes; one
// that did not gets no callprogress. The campaign requests answer with
// the call on; the agent hangs up over ECCP (agentunlinked).

// ecPasswords gives every agent of a qrStart PBX the ECCP secret "pw".
func ecPasswords(c *config.Config) {
	for i := range c.Agents {
		c.Agents[i].ECCPPassword = "pw"
	}
}

// ecLoginSIP201 logs agent SIP/201 in on 1101 from console c and waits
// for agentloggedin; it returns the agent's arguments for requests.
func ecLoginSIP201(t *testing.T, c *testkit.ECCPClient, cookie string) string {
	t.Helper()
	me := ecAgentArgs(cookie, "SIP/201", "pw")
	ecReq(t, c, "loginagent", me+"<extension>1101</extension>")
	ecEvent(t, c, "agentloggedin", ecOfAgent("SIP/201"))
	return me
}

// ecOutgoingCampaign creates an inactive progressive campaign of queue
// sales, one channel, that calls these numbers.
func ecOutgoingCampaign(t *testing.T, center *campaign.Center, name string, rows ...campaign.NumberRow) campaign.Campaign {
	t.Helper()
	cp, err := center.CreateCampaign(campaign.Campaign{Kind: campaign.Outgoing, Name: name, Queue: "sales",
		Status: campaign.Inactive, Mode: campaign.Progressive, MaxChannels: 1, RingTimeout: 5 * time.Second, CallerID: "5550100"})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	if n, err := center.AddNumbers(cp.ID, rows); err != nil || n != len(rows) {
		t.Fatalf("add numbers: %d, %v", n, err)
	}
	return cp
}

func TestECCPOutgoingCampaign(t *testing.T) {
	x := qrStart(t, qrAgents(1), []config.Queue{{Name: "sales", Members: qrMembers(nil, "201")}}, cdUsers, ecPasswords)
	customer := cdExt(1)
	farm := cdNewFarm(t, x, cdAgentTones(1), map[string]cdBehaviour{customer: {Act: cdAnswer, Delay: 200 * time.Millisecond, Tone: 440}})
	staff := cdStaff(t, x, 0, true)

	c, cookie := ecConsole(t, x.p)
	quiet, _ := ecConsole(t, x.p)
	// callprogress is nobody's: a console filtered to another agent that
	// asked for it gets it.
	filtered, _ := ecConsole(t, x.p)
	ecReq(t, filtered, "filterbyagent", "<agent_number>SIP/999</agent_number>")
	ecWant(t, filtered, "callprogress_ok", "callprogress", "<enable>1</enable>")
	ecWant(t, c, "callprogress_ok", "callprogress", "<enable>1</enable>")
	me := ecLoginSIP201(t, c, cookie)

	center := x.p.Campaigns()
	cp := ecOutgoingCampaign(t, center, "renewals", campaign.NumberRow{Phone: customer, Attributes: []campaign.Attribute{
		{Label: "name", Value: "Ana Uno", Order: 1}, {Label: "plan", Value: "Gold", Order: 2},
	}})
	callID := strconv.Itoa(center.Calls(cp.ID)[0].ID)
	campaignID := strconv.Itoa(cp.ID)
	m := c.Mark()
	if err := center.Start(cp.ID); err != nil {
		t.Fatalf("start: %v", err)
	}
	linked := ecEvent(t, c, "agentlinked", ecOfAgent("SIP/201"))

	// The call's progress, in order, before agentlinked.
	var statuses []string
	var lastID int
	for _, d := range c.Since(m) {
		if d == linked {
			break
		}
		if d.Name() != "callprogress" {
			continue
		}
		statuses = append(statuses, d.Text("callprogress", "new_status"))
		ecInOrder(t, d, []string{"datetime_entry", "new_status", "id", "campaign_type", "campaign_id", "call_id", "phone", "queue"}, "callprogress")
		id, _ := strconv.Atoi(d.Text("callprogress", "id"))
		if d.Text("callprogress", "call_id") != callID || d.Text("callprogress", "campaign_type") != "outgoing" ||
			d.Text("callprogress", "campaign_id") != campaignID || d.Text("callprogress", "phone") != customer ||
			d.Text("callprogress", "queue") != "sales" || id <= lastID {
			t.Errorf("callprogress: %s", d.Raw)
		}
		lastID = id
	}
	if got := slices.DeleteFunc(slices.Clone(statuses), func(s string) bool { return s == "Dialing" }); !slices.Equal(got, []string{"Placing", "Ringing", "OnQueue"}) ||
		(slices.Contains(statuses, "Dialing") && statuses[1] != "Dialing") {
		t.Errorf("callprogress before agentlinked: %v, want Placing, (Dialing,) Ringing, OnQueue", statuses)
	}
	for _, d := range quiet.Docs() {
		if d.Name() == "callprogress" {
			t.Errorf("a console that did not enable callprogress got %s", d.Raw)
		}
	}
	ecEvent(t, filtered, "callprogress", func(d *testkit.ECCPDoc) bool { return d.Text("callprogress", "new_status") == "OnQueue" })
	for _, d := range filtered.Docs() {
		if d.Name() == "agentlinked" {
			t.Errorf("a console filtered to SIP/999 got %s", d.Raw)
		}
	}

	// agentlinked: the call with its attributes.
	ecInOrder(t, linked, []string{"calltype", "call_id", "campaign_id", "phone", "status", "uniqueid", "datetime_originate",
		"datetime_originateresponse", "datetime_join", "datetime_linkstart", "retries", "agent_number", "call_attributes",
		"call_survey", "queue", "campaignlog_id", "remote_channel"}, "agentlinked")
	if linked.Text("agentlinked", "calltype") != "outgoing" || linked.Text("agentlinked", "call_id") != callID ||
		linked.Text("agentlinked", "campaign_id") != campaignID || linked.Text("agentlinked", "phone") != customer ||
		linked.Text("agentlinked", "status") != "Success" || linked.Text("agentlinked", "queue") != "sales" {
		t.Errorf("agentlinked: %s", linked.Raw)
	}
	attrs := linked.Find("agentlinked", "call_attributes").Children("attribute")
	if len(attrs) != 2 || !slices.Equal(attrs[0].Names(), []string{"label", "value", "order"}) ||
		attrs[0].TextOf("label") != "name" || attrs[0].TextOf("value") != "Ana Uno" || attrs[1].TextOf("value") != "Gold" {
		t.Errorf("agentlinked's call_attributes: %s", linked.Raw)
	}
	var agentCall *testkit.PhoneCall
	cdEventually(t, 2*time.Second, "agent 201's call", func() bool { agentCall = staff["201"].Current(); return agentCall != nil })
	if err := farm.Customer(t, customer).Last().WaitHears(3*time.Second, qrAgentTones[0], 440); err != nil {
		t.Fatalf("the customer does not hear the agent: %v", err)
	}

	// The campaign requests with the call on.
	d := ecReq(t, c, "getcampaigninfo", "<campaign_id>"+campaignID+"</campaign_id>")
	ecInOrder(t, d, []string{"name", "type", "startdate", "enddate", "working_time_starttime", "working_time_endtime", "queue",
		"retries", "context", "maxchan", "status", "script", "urltemplate", "urlopentype", "forms"}, "getcampaigninfo_response")
	if d.Text("getcampaigninfo_response", "name") != "renewals" || d.Text("getcampaigninfo_response", "status") != "active" {
		t.Errorf("getcampaigninfo: %s", d.Raw)
	}
	d = ecReq(t, c, "getcampaignstatus", "<campaign_id>"+campaignID+"</campaign_id>")
	ecNames(t, d, []string{"statuscount", "agents", "activecalls", "stats"}, "getcampaignstatus_response")
	ecNames(t, d, []string{"total", "pending", "placing", "ringing", "onqueue", "success", "onhold", "failure", "shortcall",
		"noanswer", "abandoned"}, "getcampaignstatus_response", "statuscount")
	if d.Text("getcampaignstatus_response", "statuscount", "total") != "1" || d.Text("getcampaignstatus_response", "statuscount", "success") != "1" {
		t.Errorf("getcampaignstatus counts: %s", d.Raw)
	}
	ag := d.Find("getcampaignstatus_response", "agents", "agent")
	if ag.TextOf("agentchannel") != "SIP/201" || ag.TextOf("status") != "oncall" || ag.TextOf("callid") != callID {
		t.Errorf("getcampaignstatus agent: %s", d.Raw)
	}
	d = ecReq(t, c, "getcallinfo", "<campaign_type>outgoing</campaign_type><campaign_id>"+campaignID+"</campaign_id><call_id>"+callID+"</call_id>")
	ecInOrder(t, d, []string{"calltype", "call_id", "campaign_id", "phone", "status", "uniqueid", "datetime_originate",
		"datetime_originateresponse", "datetime_join", "datetime_linkstart", "retries", "agent_number", "call_attributes", "call_survey"},
		"getcallinfo_response")
	d = ecReq(t, c, "getcampaignlist", "<campaign_type>outgoing</campaign_type><status>active</status><filtername>renew</filtername>")
	if cs := d.Children("getcampaignlist_response", "campaigns"); len(cs) != 1 ||
		!slices.Equal(cs[0].Names(), []string{"id", "type", "name", "status"}) || cs[0].TextOf("id") != campaignID {
		t.Errorf("getcampaignlist: %s", d.Raw)
	}
	d = ecReq(t, c, "getcampaignlist", "<campaign_type>incoming</campaign_type>")
	if len(d.Children("getcampaignlist_response", "campaigns")) != 0 {
		t.Errorf("getcampaignlist of incoming campaigns: %s", d.Raw)
	}
	// Incoming campaigns first, then by id; offset and limit page it.
	in, err := center.CreateCampaign(campaign.Campaign{Kind: campaign.Incoming, Name: "inbound", Queue: "sales", Status: campaign.Inactive})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	d = ecReq(t, c, "getcampaignlist", "")
	if cs := d.Children("getcampaignlist_response", "campaigns"); len(cs) != 2 || cs[0].TextOf("id") != strconv.Itoa(in.ID) ||
		cs[0].TextOf("type") != "incoming" || cs[0].TextOf("status") != "inactive" || cs[1].TextOf("id") != campaignID {
		t.Errorf("getcampaignlist: %s", d.Raw)
	}
	d = ecReq(t, c, "getcampaignlist", "<offset>1</offset><limit>1</limit>")
	if cs := d.Children("getcampaignlist_response", "campaigns"); len(cs) != 1 || cs[0].TextOf("id") != campaignID {
		t.Errorf("getcampaignlist offset 1 limit 1: %s", d.Raw)
	}
	d = ecReq(t, c, "campaignlog", "<campaign_type>outgoing</campaign_type><campaign_id>"+campaignID+"</campaign_id>")
	var logged []string
	for _, e := range d.Children("campaignlog_response", "logentries") {
		logged = append(logged, e.TextOf("new_status"))
		if want := []string{"id", "datetime_entry", "phone", "queue", "campaign_type", "campaign_id", "call_id", "new_status", "retry"}; !ecOrdered(e.Names(), want) {
			t.Errorf("campaignlog entry: %v, want %v in order", e.Names(), want)
		}
	}
	if len(logged) < 4 || logged[0] != "Placing" || logged[len(logged)-1] != "Success" {
		t.Errorf("campaignlog: %v in %s", logged, d.Raw)
	}
	d = ecReq(t, c, "getcampaignqueuewait", "<campaign_type>outgoing</campaign_type><campaign_id>"+campaignID+"</campaign_id>")
	ecNames(t, d, []string{"histogram", "abandoned"}, "getcampaignqueuewait_response")
	if iv := d.Children("getcampaignqueuewait_response", "histogram"); len(iv) != 7 || !slices.Equal(iv[0].Names(), []string{"lower", "upper", "count"}) ||
		!slices.Equal(iv[6].Names(), []string{"lower", "count"}) || iv[6].TextOf("lower") != "30" || iv[0].TextOf("count") != "1" {
		t.Errorf("getcampaignqueuewait: %s", d.Raw)
	}

	// schedulecall's checks, and one scheduled for tomorrow.
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	for _, k := range []struct{ args, msg string }{
		{"<schedule><date_init>" + tomorrow + "</date_init></schedule>", "Bad request: incomplete schedule"},
		{"<sameagent>1</sameagent>", "Bad request: same-agent requires schedule"},
		{"<newphone>12ab</newphone>", "Bad request: invalid new phone"},
		{"<schedule><date_init>2020-01-01</date_init><date_end>2020-01-02</date_end><time_init>09:00:00</time_init><time_end>10:00:00</time_end></schedule>", "Bad request: date_init before current date"},
		{"<schedule><date_init>" + tomorrow + "</date_init><date_end>" + tomorrow + "</date_end><time_init>9am</time_init><time_end>10:00:00</time_end></schedule>", "Bad request: invalid time_init"},
	} {
		d = ecReq(t, c, "schedulecall", me+k.args)
		ecFailure(t, d, 400, k.msg)
	}
	sched := "<schedule><date_init>" + tomorrow + "</date_init><date_end>" + tomorrow + "</date_end><time_init>09:00:00</time_init><time_end>10:00:00</time_end></schedule>"
	if d = ecReq(t, c, "schedulecall", me+sched+"<sameagent>1</sameagent>"); !d.Success() {
		t.Errorf("schedulecall: %s", d.Raw)
	}
	d = ecReq(t, c, "schedulecall", me+sched)
	ecFailure(t, d, 417, "Found duplicate scheduled call")

	// The agent hangs up from the console.
	if d = ecReq(t, c, "hangup", me); !d.Success() {
		t.Fatalf("hangup: %s", d.Raw)
	}
	unlinked := ecEvent(t, c, "agentunlinked", ecOfAgent("SIP/201"))
	if unlinked.Text("agentunlinked", "call_id") != callID || unlinked.Text("agentunlinked", "calltype") != "outgoing" {
		t.Errorf("agentunlinked: %s", unlinked.Raw)
	}
	if err := agentCall.WaitEnded(5 * time.Second); err != nil {
		t.Errorf("the agent's phone after hangup: %v", err)
	}
	d = ecReq(t, c, "schedulecall", me+sched)
	ecFailure(t, d, 417, "Not in outgoing call")
	farm.Check(t)
}
