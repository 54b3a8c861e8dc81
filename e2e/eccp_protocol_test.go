package e2e

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// ECCP's requests one by one against the default PBX: each success shape
// and each failure code and message, byte for byte against the golden
// files where the document is fixed, element order checked where it
// holds values of the run. The flows that need calls are in
// eccp_console_test.go and eccp_campaign_test.go; framing in
// eccp_framing_test.go.

var ecHex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestECCPSessionRequests: before login only getrequestlist, login and
// logout answer (401 Unauthorized otherwise); login takes the password or
// its MD5 and gives a new 32-hex cookie each time, refuses a wrong one,
// and wants both fields; an unknown request is 501; filterbyagent,
// callprogress, getpauses, dumpstatus and refreshagents; logout answers
// and closes the connection.
func TestECCPSessionRequests(t *testing.T) {
	p, _ := ecPBX(t)
	c := ecDial(t, p)
	ecWant(t, c, "getrequestlist", "getrequestlist", "")
	ecWant(t, c, "unauthorized", "getpauses", "")
	ecWant(t, c, "unauthorized", "getagentstatus", "<agent_number>Agent/9001</agent_number>")
	ecWant(t, c, "unauthorized", "pingagent", ecAgentArgs("", ecAgent, ecAgentPass))
	ecWant(t, c, "login_failure", "login", "<username>agentconsole</username><password>wrong</password>")
	ecWant(t, c, "login_failure", "login", "<username>nobody</username><password>agentconsole</password>")
	ecWant(t, c, "bad_request_id", "login", "<username>agentconsole</username>")
	ecWant(t, c, "bad_request_id", "login", "<password>agentconsole</password>")
	sum := md5.Sum([]byte("agentconsole"))
	d := ecWant(t, c, "login_ok", "login", "<username>agentconsole</username><password>"+hex.EncodeToString(sum[:])+"</password>")
	first := d.Text("login_response", "app_cookie")
	d = ecWant(t, c, "login_ok", "login", "<username>agentconsole</username><password>agentconsole</password>")
	cookie := d.Text("login_response", "app_cookie")
	if !ecHex32.MatchString(first) || !ecHex32.MatchString(cookie) || first == cookie {
		t.Fatalf("cookies %q then %q: want 32 hex digits, new on each login", first, cookie)
	}
	ecWant(t, c, "not_implemented", "dial", "<extension>1001</extension>")
	ecWant(t, c, "filterbyagent_ok", "filterbyagent", "<agent_number>Agent/9001</agent_number>")
	ecWant(t, c, "filterbyagent_ok", "filterbyagent", "<agent_number>any</agent_number>")
	ecWant(t, c, "filterbyagent_invalid", "filterbyagent", "<agent_number>9001</agent_number>")
	ecWant(t, c, "callprogress_ok", "callprogress", "<enable>1</enable>")
	ecWant(t, c, "callprogress_ok", "callprogress", "<enable>0</enable>")
	ecWant(t, c, "bad_request_id", "callprogress", "")
	ecWant(t, c, "getpauses", "getpauses", "")
	ecWant(t, c, "dumpstatus", "dumpstatus", "")
	ecWant(t, c, "refreshagents", "refreshagents", "")
	ecWant(t, c, "logout", "logout", "")
	if err := c.WaitClosed(ecCtx(t)); !errors.Is(err, io.EOF) {
		t.Fatalf("after logout: %v, want the server to close", err)
	}

	// Another client, from the store's accounts is covered by pbx eccp
	// client; one from pbx.yaml by its MD5 only.
	q, _ := ecPBX(t, func(c *config.Config) {
		c.ECCP.Clients = []config.ECCPClient{{Username: "crm", MD5Password: hex.EncodeToString(sum[:])}}
	})
	c2 := ecDial(t, q)
	ecWant(t, c2, "login_failure", "login", "<username>agentconsole</username><password>agentconsole</password>")
	ecWant(t, c2, "login_ok", "login", "<username>crm</username><password>agentconsole</password>")
}

// TestECCPAgentAuth: agent-authenticated requests check agent_number and
// agent_hash = md5(cookie + agent + eccp_password): a missing
// agent_number is a top-level 400; then, inside the response, 417 for a
// name that is not TYPE/NUMBER, 404 for no such agent, 401 for a wrong
// hash, a hash made with another session's cookie, or an agent with no
// eccp_password (whatever the hash).
func TestECCPAgentAuth(t *testing.T) {
	p, _ := ecPBX(t, func(c *config.Config) {
		for i := range c.Agents {
			if c.Agents[i].ID == "1003" {
				c.Agents[i].ECCPPassword = ""
			}
		}
	})
	c, cookie := ecConsole(t, p)
	_, other := ecConsole(t, p)
	for _, name := range []string{"pingagent", "pauseagent", "unpauseagent", "hold", "unhold", "hangup", "transfercall",
		"atxfercall", "mixmonitormute", "mixmonitorunmute", "getchanvars", "saveformdata", "setcontact", "schedulecall"} {
		ecWant(t, c, "bad_request_id", name, "<agent_hash>"+testkit.AgentHash(cookie, ecAgent, ecAgentPass)+"</agent_hash>")
		for _, k := range []struct{ golden, agent, hash string }{
			{"invalid", "9001", testkit.AgentHash(cookie, "9001", ecAgentPass)},
			{"invalid", "Agent/", testkit.AgentHash(cookie, "Agent/", ecAgentPass)},
			{"notfound", "Agent/9999", testkit.AgentHash(cookie, "Agent/9999", ecAgentPass)},
			{"notfound", "SIP/9001", testkit.AgentHash(cookie, "SIP/9001", ecAgentPass)},
			{"unauthorized", ecAgent, testkit.AgentHash(cookie, ecAgent, "wrong")},
			{"unauthorized", ecAgent, testkit.AgentHash(other, ecAgent, ecAgentPass)},
			{"unauthorized", ecMember, testkit.AgentHash(cookie, ecMember, "")},
			{"unauthorized", ecMember, testkit.AgentHash(cookie, ecMember, ecMemberPass)},
		} {
			d := ecReq(t, c, name, "<agent_number>"+k.agent+"</agent_number><agent_hash>"+k.hash+"</agent_hash>")
			want := map[string][2]any{"invalid": {417, "Invalid agent number"}, "notfound": {404, "Specified agent not found"},
				"unauthorized": {401, "Unauthorized agent"}}[k.golden]
			if d.Name() != name+"_response" {
				t.Errorf("%s as %s: %s, want the failure inside %s_response", name, k.agent, d.Raw, name)
			}
			ecFailure(t, d, want[0].(int), want[1].(string))
			if name == "pingagent" {
				ecGolden(t, "pingagent_"+k.golden, d)
			}
		}
	}
}

// TestECCPAgentLoggedOut: what each agent request answers for a known,
// authenticated agent who is logged out, and loginagent's and
// logoutagent's own checks (status logged-out with the failure).
func TestECCPAgentLoggedOut(t *testing.T) {
	p, _ := ecPBX(t)
	c, cookie := ecConsole(t, p)
	me := ecAgentArgs(cookie, ecAgent, ecAgentPass)
	ecWant(t, c, "getagentstatus_offline", "getagentstatus", "<agent_number>Agent/9001</agent_number>")
	ecWant(t, c, "getagentstatus_invalid", "getagentstatus", "<agent_number>9001</agent_number>")
	ecWant(t, c, "getagentstatus_invalid", "getagentstatus", "<agent_number>Agent/9999</agent_number>")
	ecWant(t, c, "bad_request_id", "getagentstatus", "")
	ecWant(t, c, "pingagent_notfound", "pingagent", me)
	ecWant(t, c, "pauseagent_notloggedin", "pauseagent", me+"<pause_type>1</pause_type>")
	ecWant(t, c, "pauseagent_nobreak", "pauseagent", me+"<pause_type>9</pause_type>")
	ecWant(t, c, "pauseagent_nobreak", "pauseagent", me+"<pause_type>lunch</pause_type>")
	ecWant(t, c, "unpauseagent_notloggedin", "unpauseagent", me)
	ecWant(t, c, "hold_notloggedin", "hold", me)
	for _, name := range []string{"unhold", "hangup", "atxfercall", "mixmonitormute", "mixmonitorunmute"} {
		d := ecReq(t, c, name, me+"<extension>1004</extension>")
		if code, _, ok := d.Failure(); !ok || (code != 417 && code != 404) || d.Name() != name+"_response" {
			t.Errorf("%s for a logged-out agent: %s, want a 417 or 404 failure inside the response", name, d.Raw)
		}
	}
	ecWant(t, c, "bad_request_id", "transfercall", me)
	ecWant(t, c, "bad_request_id", "transfercall", me+"<extension>10x4</extension>")
	ecWant(t, c, "bad_request_id", "atxfercall", me+"<extension>*60</extension>")

	ecWant(t, c, "loginagent_notfound", "loginagent", ecAgentArgs(cookie, "Agent/9999", ecAgentPass)+"<extension>1002</extension>")
	ecWant(t, c, "loginagent_notfound", "loginagent", ecAgentArgs(cookie, "9001", ecAgentPass)+"<extension>1002</extension>")
	ecWant(t, c, "loginagent_unauthorized", "loginagent", ecAgentArgs(cookie, ecAgent, "wrong")+"<extension>1002</extension>")
	ecWant(t, c, "loginagent_noextension", "loginagent", me+"<extension>1999</extension>")
	ecWant(t, c, "bad_request_id", "loginagent", me)
	ecWant(t, c, "bad_request_id", "loginagent", "<extension>1002</extension>")
	ecWant(t, c, "bad_request_id", "loginagent", me+"<extension>1002</extension><timeout>soon</timeout>")
	ecWant(t, c, "logoutagent_notfound", "logoutagent", ecAgentArgs(cookie, "Agent/9999", ecAgentPass))
	ecWant(t, c, "logoutagent_unauthorized", "logoutagent", ecAgentArgs(cookie, ecAgent, "wrong"))
	ecWant(t, c, "logoutagent_ok", "logoutagent", me)

	d := ecReq(t, c, "getmultipleagentstatus", "<agents><agent_number>Agent/9001</agent_number><agent_number>SIP/1003</agent_number></agents>")
	ecNames(t, d, []string{"agent", "agent"}, "getmultipleagentstatus_response", "agents")
	for i, a := range d.Children("getmultipleagentstatus_response", "agents") {
		if want := []string{ecAgent, ecMember}[i]; a.TextOf("agent_number") != want || a.TextOf("status") != "offline" ||
			!slices.Equal(a.Names(), []string{"agent_number", "status"}) {
			t.Errorf("getmultipleagentstatus agent %d: %v %q %q, want %s offline", i, a.Names(), a.TextOf("agent_number"), a.TextOf("status"), want)
		}
	}
	ecWant(t, c, "getmultipleagentstatus_invalid", "getmultipleagentstatus", "<agents><agent_number>Agent/9001</agent_number><agent_number>x</agent_number></agents>")
	ecWant(t, c, "getmultipleagentstatus_notfound", "getmultipleagentstatus", "<agents><agent_number>Agent/9999</agent_number></agents>")
	ecWant(t, c, "bad_request_id", "getmultipleagentstatus", "")
}

// TestECCPDynamicMember: SIP/1003, a dynamic member, logs in at once
// (agentloggedin before the response, then logged-in again for the same
// extension, 409 for another); a break starts with pausestart before the
// response (the same break again: success and no event; another break:
// 417), status and queues follow; unpause ends it with pauseend; logout
// gives agentloggedout. A console filtered to another agent hears none of
// it; an unfiltered one hears all.
func TestECCPDynamicMember(t *testing.T) {
	p, _ := ecPBX(t)
	anon := ecDial(t, p) // connected, never logged in: no events
	c, cookie := ecConsole(t, p)
	other, _ := ecConsole(t, p)
	ecReq(t, other, "filterbyagent", "<agent_number>Agent/9001</agent_number>")
	mine, _ := ecConsole(t, p)
	ecReq(t, mine, "filterbyagent", "<agent_number>SIP/1003</agent_number>")
	me := ecAgentArgs(cookie, ecMember, ecMemberPass)

	d := ecReq(t, c, "loginagent", me+"<extension>1003</extension>")
	if d.Text("loginagent_response", "status") != "logging" && d.Text("loginagent_response", "status") != "logged-in" {
		t.Fatalf("loginagent SIP/1003: %s", d.Raw)
	}
	ev := ecEvent(t, c, "agentloggedin", ecOfAgent(ecMember))
	if string(ev.Raw) != testkit.ECCPDecl+"<event><agentloggedin><agent>SIP/1003</agent></agentloggedin></event>\n" {
		t.Errorf("agentloggedin: %q", ev.Raw)
	}
	ecWant(t, c, "loginagent_loggedin", "loginagent", me+"<extension>1003</extension>")
	d = ecReq(t, c, "loginagent", me+"<extension>1002</extension>")
	ecFailure(t, d, 409, "Specified agent already connected to extension: SIP/1003")
	ecNames(t, d, []string{"status", "failure"}, "loginagent_response")

	d = ecReq(t, c, "getagentstatus", "<agent_number>SIP/1003</agent_number>")
	ecNames(t, d, []string{"status", "channel", "extension", "onhold"}, "getagentstatus_response")
	if d.Text("getagentstatus_response", "status") != "online" || d.Text("getagentstatus_response", "extension") != "1003" ||
		d.Text("getagentstatus_response", "onhold") != "0" {
		t.Errorf("getagentstatus of SIP/1003 logged in: %s", d.Raw)
	}
	ecWant(t, c, "pingagent_ok", "pingagent", me)
	d = ecReq(t, c, "getagentqueues", "<agent_number>SIP/1003</agent_number>")
	if got := d.Find("getagentqueues_response", "queues").Children("queue"); len(got) != 1 || got[0].Text != "support" {
		t.Errorf("getagentqueues SIP/1003: %s", d.Raw)
	}
	ecWant(t, c, "getagentqueues_notfound", "getagentqueues", "<agent_number>SIP/9999</agent_number>")

	// A break: pausestart, then the response.
	m := c.Mark()
	d = ecReq(t, c, "pauseagent", me+"<pause_type>2</pause_type>")
	if !d.Success() {
		t.Fatalf("pauseagent: %s", d.Raw)
	}
	docs := c.Since(m)
	if len(docs) < 2 || docs[len(docs)-1] != d || docs[len(docs)-2].Name() != "pausestart" {
		t.Fatalf("pauseagent: want pausestart right before the response, got %v", c.EventsSince(m))
	}
	ps := docs[len(docs)-2]
	ecNames(t, ps, []string{"pause_class", "pause_type", "pause_name", "pause_start", "agent_number"}, "pausestart")
	if ps.Text("pausestart", "pause_name") != "meeting" || ps.Text("pausestart", "pause_type") != "2" || ps.Text("pausestart", "agent_number") != ecMember {
		t.Errorf("pausestart: %s", ps.Raw)
	}
	m = c.Mark()
	ecWant(t, c, "pauseagent_ok", "pauseagent", me+"<pause_type>2</pause_type>")
	if ev := c.EventsSince(m); len(ev) > 0 {
		t.Errorf("the same break again sent %v", ev)
	}
	ecWant(t, c, "pauseagent_incompatible", "pauseagent", me+"<pause_type>1</pause_type>")
	d = ecReq(t, c, "getagentstatus", "<agent_number>SIP/1003</agent_number>")
	ecNames(t, d, []string{"status", "channel", "extension", "onhold", "pauseinfo"}, "getagentstatus_response")
	ecNames(t, d, []string{"pauseid", "pausename", "pausestart"}, "getagentstatus_response", "pauseinfo")
	if d.Text("getagentstatus_response", "status") != "paused" || d.Text("getagentstatus_response", "pauseinfo", "pauseid") != "2" {
		t.Errorf("getagentstatus in a break: %s", d.Raw)
	}
	m = c.Mark()
	ecWant(t, c, "unpauseagent_ok", "unpauseagent", me)
	if ev := c.EventsSince(m); !slices.Equal(ev, []string{"pauseend"}) {
		t.Fatalf("unpauseagent: events %v before the response, want pauseend", ev)
	}
	pe := ecEvent(t, c, "pauseend", ecOfAgent(ecMember))
	ecNames(t, pe, []string{"pause_class", "pause_start", "pause_end", "pause_duration", "pause_type", "pause_name", "agent_number"}, "pauseend")
	m = c.Mark()
	ecWant(t, c, "unpauseagent_ok", "unpauseagent", me)
	if ev := c.EventsSince(m); len(ev) > 0 {
		t.Errorf("unpause with no break sent %v", ev)
	}

	// Membership changed by the contact center's API: queuemembership,
	// the agent's flattened status with its queues last.
	if err := p.Queues().RemoveMember("support", "1003"); err != nil {
		t.Fatalf("remove member: %v", err)
	}
	qm := ecEvent(t, c, "queuemembership", func(d *testkit.ECCPDoc) bool {
		return d.Text("queuemembership", "agent_number") == ecMember && len(d.Find("queuemembership", "queues").Children("queue")) == 0
	})
	if names := qm.Names("queuemembership"); len(names) < 3 || names[0] != "agent_number" || names[1] != "status" || names[len(names)-1] != "queues" {
		t.Errorf("queuemembership: %s", qm.Raw)
	}
	if err := p.Queues().AddMember("support", "1003", 1); err != nil {
		t.Fatalf("add member: %v", err)
	}
	ecEvent(t, c, "queuemembership", func(d *testkit.ECCPDoc) bool {
		q := d.Find("queuemembership", "queues").Children("queue")
		return d.Text("queuemembership", "agent_number") == ecMember && len(q) == 1 && q[0].Text == "support"
	})

	ecWant(t, c, "logoutagent_ok", "logoutagent", me)
	ecEvent(t, c, "agentloggedout", ecOfAgent(ecMember))
	ecWant(t, c, "getagentstatus_offline", "getagentstatus", "<agent_number>SIP/1003</agent_number>")
	for _, name := range []string{"agentloggedin", "pausestart", "pauseend", "agentloggedout"} {
		for _, d := range other.Docs() {
			if d.Name() == name {
				t.Errorf("a console filtered to Agent/9001 got %s", d.Raw)
			}
		}
		ecEvent(t, mine, name, ecOfAgent(ecMember)) // filtered to SIP/1003: gets them
	}
	if docs := anon.Docs(); len(docs) > 0 {
		t.Errorf("a session never logged in got %s", docs[0].Raw)
	}
}

// TestECCPQueuesAndCampaignsEmpty: the queue requests on the default
// configuration (one queue, support, id 1), and the campaign requests'
// not-found failures.
func TestECCPQueuesAndCampaignsEmpty(t *testing.T) {
	p, _ := ecPBX(t)
	c, _ := ecConsole(t, p)
	d := ecReq(t, c, "getincomingqueuelist", "")
	if want := "<getincomingqueuelist_response><queues><queue><id>1</id><queue>support</queue><status>active</status></queue></queues></getincomingqueuelist_response>"; d.Body() == nil ||
		!regexp.MustCompile(regexp.QuoteMeta(want)).Match(d.Raw) {
		t.Errorf("getincomingqueuelist: %s, want %s", d.Raw, want)
	}
	d = ecReq(t, c, "getmultipleagentqueues", "<agents><agent_number>Agent/9001</agent_number><agent_number>SIP/1003</agent_number></agents>")
	for i, a := range d.Children("getmultipleagentqueues_response", "agents") {
		if !slices.Equal(a.Names(), []string{"agent_number", "queues"}) || a.TextOf("agent_number") != []string{ecAgent, ecMember}[i] {
			t.Errorf("getmultipleagentqueues: %s", d.Raw)
		}
	}
	d = ecReq(t, c, "getmultipleagentqueues", "<agents><agent_number>bogus</agent_number></agents>")
	ecFailure(t, d, 417, "Invalid agent number")
	d = ecReq(t, c, "getmultipleagentqueues", "<agents><agent_number>Agent/9999</agent_number></agents>")
	ecFailure(t, d, 404, "Specified agent not found")
	ecWant(t, c, "getqueuescript_notfound", "getqueuescript", "<queue>nosuch</queue>")
	ecWant(t, c, "bad_request_id", "getqueuescript", "")
	ecWant(t, c, "getcampaigninfo_notfound", "getcampaigninfo", "<campaign_id>999</campaign_id>")
	ecWant(t, c, "getcampaigninfo_notfound", "getcampaigninfo", "<campaign_type>incoming</campaign_type><campaign_id>999</campaign_id>")
	ecWant(t, c, "getcampaignstatus_notfound", "getcampaignstatus", "<campaign_id>999</campaign_id>")
	ecWant(t, c, "getcallinfo_notfound", "getcallinfo", "<campaign_type>incoming</campaign_type><call_id>999</call_id>")
	ecWant(t, c, "bad_request_id", "getcallinfo", "<campaign_type>incoming</campaign_type>")
	ecWant(t, c, "bad_request_id", "getcallinfo", "<campaign_type>outgoing</campaign_type><call_id>1</call_id>")
	d = ecReq(t, c, "getcampaignlist", "")
	if d.Find("getcampaignlist_response", "campaigns") == nil || len(d.Children("getcampaignlist_response", "campaigns")) != 0 {
		t.Errorf("getcampaignlist with no campaigns: %s", d.Raw)
	}
	for _, args := range []string{"<campaign_type>sideways</campaign_type>", "<status>asleep</status>",
		"<datetime_start>yesterday</datetime_start>", "<datetime_end>2024/01/31</datetime_end>", "<offset>5</offset>"} {
		d = ecReq(t, c, "getcampaignlist", args)
		if code, _, ok := d.Failure(); !ok || code != 400 || d.Root.Child("failure") == nil {
			t.Errorf("getcampaignlist %s: %s, want a top-level 400", args, d.Raw)
		}
	}
	d = ecReq(t, c, "getagentactivitysummary", "")
	ags := d.Children("getagentactivitysummary_response", "agents")
	if len(ags) != 2 || ags[0].TextOf("agentchannel") != ecAgent || ags[1].TextOf("agentchannel") != ecMember {
		t.Errorf("getagentactivitysummary: %s", d.Raw)
	}
	for _, a := range ags {
		if n := a.Names(); len(n) < 4 || !slices.Equal(n[:4], []string{"agentchannel", "agentname", "logintime", "callsummary"}) {
			t.Errorf("getagentactivitysummary agent children %v", n)
		}
	}
	d = ecReq(t, c, "campaignlog", "<campaign_type>incoming</campaign_type><campaign_id>999</campaign_id>")
	if _, _, failed := d.Failure(); !failed && d.Find("campaignlog_response", "logentries") == nil {
		t.Errorf("campaignlog of no campaign: %s", d.Raw)
	}
}

// TestECCPAgentInactivity: loginagent with a timeout of 2 s: pingagent
// every half second keeps the agent logged in past it; without pings the
// agent is logged out (agentloggedout) about 2 s after the last.
func TestECCPAgentInactivity(t *testing.T) {
	p, _ := ecPBX(t)
	c, cookie := ecConsole(t, p)
	me := ecAgentArgs(cookie, ecMember, ecMemberPass)
	ecReq(t, c, "loginagent", me+"<extension>1003</extension><timeout>2</timeout>")
	ecEvent(t, c, "agentloggedin", ecOfAgent(ecMember))
	tick := time.NewTicker(500 * time.Millisecond)
	for range 7 { // 3.5 s of pings: the console's doing, not a wait
		<-tick.C
		ecWant(t, c, "pingagent_ok", "pingagent", me)
	}
	tick.Stop()
	last := time.Now()
	if d := ecReq(t, c, "getagentstatus", "<agent_number>SIP/1003</agent_number>"); d.Text("getagentstatus_response", "status") != "online" {
		t.Fatalf("after 3.5 s of pings with a 2 s timeout: %s", d.Raw)
	}
	ev := ecEvent(t, c, "agentloggedout", ecOfAgent(ecMember))
	// The PBX checks idle agents every second; last was taken a moment
	// after the PBX took the ping.
	if idle := ev.Received.Sub(last); idle < 1900*time.Millisecond || idle > 4*time.Second {
		t.Errorf("logged out %s after the last ping, want the 2 s timeout and at most 2 s more", idle)
	}
}

// TestECCPShutdown: the PBX stops with consoles connected, one of them
// idle and one in the middle of a request stream: it stops within its
// drain, and each console sees its connection closed.
func TestECCPShutdown(t *testing.T) {
	p, _ := ecPBX(t)
	idle, _ := ecConsole(t, p)
	busy, _ := ecConsole(t, p)
	for range 50 {
		busy.Send("getpauses", "")
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		p.Stop()
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the PBX does not stop while ECCP sessions are open")
	}
	for _, c := range []*testkit.ECCPClient{idle, busy} {
		if err := c.WaitClosed(ecCtx(t)); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a console after the PBX stopped: %v, want its connection closed", err)
		}
	}
}
