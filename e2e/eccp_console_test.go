package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/config"
	"pbx/internal/testkit"
)

// The agent console's whole day over ECCP, on the default PBX (queue
// support on 5000 with static agent 9001, PIN 1234), over real SIP, RTP
// and DTMF; every prompt and the music is a tone of its own (ccSounds),
// and each phone sends its own: Alice (1001, the caller) toneA, Bob's
// phone (1002, the agent's line) toneB, Erin (1004, the transfer target)
// toneC. The console is an unfiltered session that sees every event;
// some requests are made the way Issabel's web console makes them, a
// fresh connection per page request (ecPage), while the agent stays
// logged in.

// ecPage does one page request of Issabel's web console: a new
// connection logs in, filters to the agent, sends one agent request
// (agent_number and agent_hash, then args) and disconnects.
func ecPage(t *testing.T, p *testkit.PBX, agent, password, name, args string) *testkit.ECCPDoc {
	t.Helper()
	c, cookie := ecConsole(t, p)
	if d := ecReq(t, c, "filterbyagent", "<agent_number>"+agent+"</agent_number>"); !d.Success() {
		t.Fatalf("filterbyagent %s: %s", agent, d.Raw)
	}
	d := ecReq(t, c, name, ecAgentArgs(cookie, agent, password)+args)
	c.Close()
	return d
}

// ecInOrder checks that the element path leads to has each of names
// once, in that order (others may come between).
func ecInOrder(t *testing.T, d *testkit.ECCPDoc, names []string, path ...string) {
	t.Helper()
	if got := d.Names(path...); !ecOrdered(got, names) {
		t.Errorf("%v: want %v once each and in this order, got %v in %s", path, names, got, d.Raw)
	}
}

// ecOrdered reports whether got has each of want once, in that order.
func ecOrdered(got, want []string) bool {
	at := -1
	for _, n := range want {
		i := slices.Index(got, n)
		if i < 0 || i <= at || slices.Index(got[i+1:], n) >= 0 {
			return false
		}
		at = i
	}
	return true
}

// ecLoginStatic logs Agent/9001 in from extension 1002 through console
// c: loginagent answers logging, the PBX calls 1002, whose phone
// answers, hears the PIN prompt and keys 1234#; agentloggedin follows
// and the line hears logged-in, then music. It returns the line, which
// sends toneB.
func ecLoginStatic(t *testing.T, p *testkit.PBX, c *testkit.ECCPClient, cookie string, bob *testkit.Phone) *testkit.PhoneCall {
	t.Helper()
	ecWant(t, c, "loginagent_logging", "loginagent", ecAgentArgs(cookie, ecAgent, ecAgentPass)+"<extension>1002</extension><timeout>600</timeout>")
	in, err := bob.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("the PBX does not call 1002 for the agent login: %v", err)
	}
	// While the call rings or asks for the PIN, the agent is offline on
	// a channel: dialerd's "logging".
	d := ecReq(t, c, "getagentstatus", "<agent_number>Agent/9001</agent_number>")
	if d.Text("getagentstatus_response", "status") != "offline" || d.Text("getagentstatus_response", "extension") != "1002" ||
		!strings.HasPrefix(d.Text("getagentstatus_response", "channel"), "SIP/1002") {
		t.Errorf("getagentstatus while logging: %s", d.Raw)
	}
	line, err := in.Answer()
	if err != nil {
		t.Fatalf("1002 answers the login call: %v", err)
	}
	line.StartCapture()
	if err := line.WaitHears(5*time.Second, ccPassword); err != nil {
		t.Fatalf("the login call asks no PIN: %v", err)
	}
	if err := line.SendDigits("1234#"); err != nil {
		t.Fatal(err)
	}
	ecGolden(t, "event_agentloggedin", ecEvent(t, c, "agentloggedin", ecOfAgent(ecAgent)))
	ccHeardSequence(t, "agent line logging in", line, ccTones, ccPassword, ccLoggedIn, ccMusic)
	line.SendTone(toneB)
	return line
}

// TestECCPConsoleFlow: login and loginagent with the PIN keyed over
// DTMF; a caller of queue support reaches the agent (agentlinked with
// the contact the caller id matched); hold (the caller hears the music;
// pausestart hold) and unhold (pauseend); recording mute and unmute;
// the form saved, with each validation error; a blind transfer to 1004
// (Erin's phone rings, the caller hears her), agentunlinked and the line
// back to music; a break and its end from page requests; logoutagent and
// agentloggedout, the line hung up.
func TestECCPConsoleFlow(t *testing.T) {
	p, _ := ecPBX(t, func(c *config.Config) {
		for i := range c.Queues {
			c.Queues[i].Record = "mono"
		}
	})
	alice, bob, erin := phone(t, p, "1001"), phone(t, p, "1002"), phone(t, p, "1004")
	center := p.Campaigns()
	if n, _, err := center.ImportContacts(strings.NewReader("first_name,last_name,phone,cedula_ruc\nAna,Uño & Co,1001,0911111111\n")); err != nil || n != 1 {
		t.Fatalf("import contacts: %d, %v", n, err)
	}
	contactID := center.Contacts()[0].ID
	form, err := center.CreateForm(campaign.Form{Name: "survey", Active: true, Fields: []campaign.Field{
		{ID: 1, Order: 1, Label: "comment", Type: campaign.Text, MaxSize: 20},
		{ID: 2, Order: 2, Label: "rating", Type: campaign.List, Options: []string{"good", "bad"}},
		{ID: 3, Order: 3, Label: "callback", Type: campaign.Date},
		{ID: 4, Order: 4, Label: "Be nice", Type: campaign.Label},
	}})
	if err != nil {
		t.Fatalf("create form: %v", err)
	}
	cp, err := center.CreateCampaign(campaign.Campaign{Kind: campaign.Incoming, Name: "support line", Queue: "support",
		Status: campaign.Active, Forms: []int{form.ID}, Script: "Greet the caller by name. ¡Olé!"})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}

	c, cookie := ecConsole(t, p)
	ecWant(t, c, "callprogress_ok", "callprogress", "<enable>1</enable>")
	me := ecAgentArgs(cookie, ecAgent, ecAgentPass)
	line := ecLoginStatic(t, p, c, cookie, bob)
	ecWant(t, c, "loginagent_loggedin", "loginagent", me+"<extension>1002</extension>")
	ecWant(t, c, "loginagent_otherextension", "loginagent", me+"<extension>1003</extension>")
	ecGolden(t, "getagentstatus_online", ecPage(t, p, ecAgent, ecAgentPass, "getagentstatus", ""))
	ecWant(t, c, "hold_notincall", "hold", me)
	ecWant(t, c, "transfercall_notincall", "transfercall", me+"<extension>1004</extension>")
	ecWant(t, c, "hangup_notincall", "hangup", me)
	ecWant(t, c, "unhold_notincall", "unhold", me)
	ecWant(t, c, "atxfercall_notincall", "atxfercall", me+"<extension>1004</extension>")
	ecWant(t, c, "mixmonitormute_notincall", "mixmonitormute", me)
	ecWant(t, c, "mixmonitorunmute_notincall", "mixmonitorunmute", me)
	d := ecReq(t, c, "getqueuescript", "<queue>support</queue>")
	// Non-ASCII goes out as character references (the client fails the
	// test on any raw byte over 0x7F).
	if d.Text("getqueuescript_response", "script") != "Greet the caller by name. ¡Olé!" ||
		!strings.Contains(string(d.Raw), "<script>Greet the caller by name. &#xA1;Ol&#xE9;!</script>") {
		t.Errorf("getqueuescript support: %s", d.Raw)
	}

	// The caller reaches the agent.
	caller := ccCall(t, alice, "5000", toneA)
	linked := ecEvent(t, c, "agentlinked", ecOfAgent(ecAgent))
	ecInOrder(t, linked, []string{"calltype", "call_id", "campaign_id", "phone", "status", "uniqueid", "datetime_join",
		"datetime_linkstart", "queue", "agent_number", "call_attributes", "matching_contacts", "call_survey",
		"campaignlog_id", "remote_channel"}, "agentlinked")
	callID := linked.Text("agentlinked", "call_id")
	if linked.Text("agentlinked", "calltype") != "incoming" || linked.Text("agentlinked", "campaign_id") != strconv.Itoa(cp.ID) ||
		linked.Text("agentlinked", "phone") != "1001" || linked.Text("agentlinked", "queue") != "support" || callID == "" {
		t.Errorf("agentlinked: %s", linked.Raw)
	}
	contact := linked.Find("agentlinked", "matching_contacts", "contact")
	if contact.Attr("id") != strconv.Itoa(contactID) {
		t.Errorf("agentlinked's matching contact: %s", linked.Raw)
	}
	if !strings.Contains(string(linked.Raw), "<label>last_name</label><value>U&#xF1;o &amp; Co</value>") {
		t.Errorf("agentlinked: the contact's last name not escaped as dialerd does: %s", linked.Raw)
	}
	if a := contact.Children("attribute"); len(a) < 3 || a[0].TextOf("label") != "first_name" || a[0].TextOf("value") != "Ana" ||
		a[0].TextOf("order") != "1" || !slices.Equal(a[0].Names(), []string{"label", "value", "order"}) {
		t.Errorf("agentlinked's contact attributes: %s", linked.Raw)
	}
	ccHears(t, "caller talking to the agent", caller, []float64{toneB}, []float64{ccMusic})
	ccHears(t, "agent talking to the caller", line, []float64{toneA}, []float64{ccMusic})

	d = ecReq(t, c, "getincomingqueuestatus", "<queue>support</queue>")
	ecNames(t, d, []string{"statuscount", "agents", "activecalls", "stats"}, "getincomingqueuestatus_response")
	ecNames(t, d, []string{"total", "onqueue", "success", "onhold", "abandoned", "finished", "losttrack"}, "getincomingqueuestatus_response", "statuscount")
	var agent *testkit.ECCPNode
	for _, a := range d.Children("getincomingqueuestatus_response", "agents") {
		if a.TextOf("agentchannel") == ecAgent {
			agent = a
		}
	}
	// statuscount counts the queue's calls of no campaign, as dialerd's
	// does: this one is the campaign's.
	if agent == nil || agent.TextOf("status") != "oncall" || agent.TextOf("callid") != callID || agent.TextOf("callchannel") == "" ||
		d.Text("getincomingqueuestatus_response", "statuscount", "total") != "0" {
		t.Errorf("getincomingqueuestatus: %s", d.Raw)
	}
	d = ecPage(t, p, ecAgent, ecAgentPass, "getagentstatus", "")
	ecNames(t, d, []string{"status", "channel", "extension", "remote_channel", "onhold", "callinfo"}, "getagentstatus_response")
	ecInOrder(t, d, []string{"calltype", "callid", "campaign_id", "queuenumber", "callnumber", "callstatus", "queuestart", "linkstart"},
		"getagentstatus_response", "callinfo")
	if d.Text("getagentstatus_response", "status") != "oncall" || d.Text("getagentstatus_response", "callinfo", "callid") != callID {
		t.Errorf("getagentstatus on the call: %s", d.Raw)
	}
	d = ecReq(t, c, "getcallinfo", "<campaign_type>incoming</campaign_type><call_id>"+callID+"</call_id>")
	ecInOrder(t, d, []string{"calltype", "call_id", "campaign_id", "phone", "status", "datetime_join", "datetime_linkstart",
		"queue", "agent_number", "call_attributes", "matching_contacts", "call_survey"}, "getcallinfo_response")
	if d.Text("getcallinfo_response", "agent_number") != ecAgent {
		t.Errorf("getcallinfo: %s", d.Raw)
	}
	d = ecReq(t, c, "getchanvars", me)
	vars := d.Children("getchanvars_response", "chanvars")
	if d.Text("getchanvars_response", "clientchannel") == "" || len(vars) == 0 ||
		!slices.ContainsFunc(vars, func(v *testkit.ECCPNode) bool { return strings.EqualFold(v.TextOf("label"), "Call-ID") }) {
		t.Errorf("getchanvars: %s", d.Raw)
	}

	// Hold: the caller hears the music, not the agent.
	m := c.Mark()
	ecWant(t, c, "hold_ok", "hold", me)
	if ev := c.EventsSince(m); !slices.Contains(ev, "pausestart") {
		t.Errorf("hold: events %v before the response, want pausestart", ev)
	}
	ecGolden(t, "event_pausestart_hold", ecEvent(t, c, "pausestart", ecOfAgent(ecAgent)))
	ccHears(t, "caller on hold", caller, []float64{ccMusic}, []float64{toneB})
	ev := ecEvent(t, c, "callprogress", func(d *testkit.ECCPDoc) bool { return d.Text("callprogress", "new_status") == "OnHold" })
	if ev.Text("callprogress", "call_id") != callID || ev.Text("callprogress", "campaign_type") != "incoming" {
		t.Errorf("callprogress OnHold: %s", ev.Raw)
	}
	d = ecReq(t, c, "hold", me)
	ecFailure(t, d, 417, "Agent already in hold")
	d = ecReq(t, c, "getagentstatus", "<agent_number>Agent/9001</agent_number>")
	if d.Text("getagentstatus_response", "onhold") != "1" {
		t.Errorf("getagentstatus on hold: %s", d.Raw)
	}
	m = c.Mark()
	ecWant(t, c, "unhold_ok", "unhold", me)
	if ev := c.EventsSince(m); !slices.Contains(ev, "pauseend") {
		t.Errorf("unhold: events %v before the response, want pauseend", ev)
	}
	ecGolden(t, "event_pauseend_hold", ecEvent(t, c, "pauseend", ecOfAgent(ecAgent)))
	ccHears(t, "caller off hold", caller, []float64{toneB}, []float64{ccMusic})
	ecEvent(t, c, "callprogress", func(d *testkit.ECCPDoc) bool {
		return d.Text("callprogress", "new_status") == "OffHold" && d.Text("callprogress", "call_id") == callID
	})
	ecWant(t, c, "unhold_ok", "unhold", me)

	// The recording: muted, then unmuted, each with its event first.
	for _, k := range []struct{ req, ev string }{{"mixmonitormute", "recordingmute"}, {"mixmonitorunmute", "recordingunmute"}} {
		m = c.Mark()
		d = ecReq(t, c, k.req, me)
		if !d.Success() || !slices.Equal(c.EventsSince(m), []string{k.ev}) {
			t.Errorf("%s: %s after events %v, want success after %s", k.req, d.Raw, c.EventsSince(m), k.ev)
			continue
		}
		ev := ecEvent(t, c, k.ev, ecOfAgent(ecAgent))
		ecNames(t, ev, []string{"agent_number", "calltype", "campaign_id", "call_id"}, k.ev)
	}

	// The form: each validation error, then the values saved.
	f := strconv.Itoa(form.ID)
	save := func(forms string) *testkit.ECCPDoc {
		return ecReq(t, c, "saveformdata", me+"<campaign_type>incoming</campaign_type><call_id>"+callID+"</call_id><forms>"+forms+"</forms>")
	}
	for _, k := range []struct {
		forms string
		code  int
		msg   string
	}{
		{`<form id="999"><field id="1">x</field></form>`, 404, "Form ID not found: 999"},
		{`<form id="` + f + `"><field id="9">x</field></form>`, 404, "Field ID not found in form: " + f + " - 9"},
		{`<form id="` + f + `"><field id="1">` + strings.Repeat("x", 21) + `</field></form>`, 413, "Form value too large: " + f + " - 1"},
		{`<form id="` + f + `"><field id="3">tomorrow</field></form>`, 406, "Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss: " + f + " - 3"},
		{`<form id="` + f + `"><field id="2">fine</field></form>`, 406, "Value not in list of accepted values: " + f + " - 2"},
	} {
		d = save(k.forms)
		if d.Name() != "saveformdata_response" {
			t.Errorf("saveformdata %s: %s, want the failure inside saveformdata_response", k.forms, d.Raw)
		}
		ecFailure(t, d, k.code, k.msg)
	}
	ecWant(t, c, "bad_request_id", "saveformdata", me+"<campaign_type>sideways</campaign_type><call_id>"+callID+"</call_id><forms/>")
	ecWant(t, c, "bad_request_id", "saveformdata", me+"<campaign_type>incoming</campaign_type><call_id>"+callID+"</call_id>")
	ecWant(t, c, "bad_request_id", "saveformdata", me+"<campaign_type>incoming</campaign_type><forms/>")
	ecWant(t, c, "bad_request_id", "saveformdata", me+"<campaign_type>incoming</campaign_type><call_id>"+callID+"</call_id><forms>"+
		`<form id="`+f+`"><field id="1">a</field></form><form id="`+f+`"><field id="1">b</field></form></forms>`)
	ecGolden(t, "saveformdata_ok", save(`<form id="`+f+`"><field id="1">very nice</field><field id="2">good</field><field id="3">2031-05-06</field></form>`))
	id, _ := strconv.Atoi(callID)
	if cl, _ := center.Call(id); cl.FormData[form.ID][1] != "very nice" || cl.FormData[form.ID][2] != "good" || cl.FormData[form.ID][3] != "2031-05-06" {
		t.Errorf("the call's form data: %v", cl.FormData)
	}
	d = ecReq(t, c, "getcallinfo", "<campaign_type>incoming</campaign_type><call_id>"+callID+"</call_id>")
	fld := d.Find("getcallinfo_response", "call_survey", "form", "field")
	if d.Find("getcallinfo_response", "call_survey", "form").Attr("id") != f || fld.Attr("id") != "1" ||
		fld.TextOf("label") != "comment" || fld.TextOf("value") != "very nice" {
		t.Errorf("getcallinfo's call_survey: %s", d.Raw)
	}
	d = ecReq(t, c, "getcampaigninfo", "<campaign_type>incoming</campaign_type><campaign_id>"+strconv.Itoa(cp.ID)+"</campaign_id>")
	ecNames(t, d, []string{"name", "type", "startdate", "enddate", "working_time_starttime", "working_time_endtime", "queue",
		"status", "script", "urltemplate", "urlopentype", "forms"}, "getcampaigninfo_response")
	if fl := d.Find("getcampaigninfo_response", "forms", "form"); fl.Attr("id") != f || len(fl.Children("field")) != 4 ||
		fl.Children("field")[1].Find("options") == nil || fl.Children("field")[0].TextOf("maxsize") != "20" {
		t.Errorf("getcampaigninfo's form: %s", d.Raw)
	}
	d = ecReq(t, c, "setcontact", me+"<call_id>"+callID+"</call_id><contact_id>999</contact_id>")
	ecFailure(t, d, 404, "Contact ID not found")
	d = ecReq(t, c, "setcontact", me+"<call_id>999999</call_id><contact_id>"+strconv.Itoa(contactID)+"</contact_id>")
	ecFailure(t, d, 404, "Call ID not found")
	if d = ecReq(t, c, "setcontact", me+"<call_id>"+callID+"</call_id><contact_id>"+strconv.Itoa(contactID)+"</contact_id>"); !d.Success() {
		t.Errorf("setcontact: %s", d.Raw)
	}

	// A blind transfer to 1004: Erin's phone rings, she answers and talks
	// to the caller; the agent is unlinked and the line hears music.
	ecWant(t, c, "transfercall_ok", "transfercall", me+"<extension>1004</extension>")
	erinCall := answerWithTone(t, erin, toneC)
	ccHears(t, "caller transferred to Erin", caller, []float64{toneC}, []float64{toneB})
	ccHears(t, "Erin", erinCall, []float64{toneA}, nil)
	// The agent left the call: agentunlinked now, while the caller talks
	// on with Erin.
	if unlinked, err := c.WaitEvent(ctxTimeout(t, 5*time.Second), "agentunlinked", ecOfAgent(ecAgent)); err != nil {
		t.Errorf("no agentunlinked once the agent transferred the call away: %v", err)
	} else {
		ecInOrder(t, unlinked, []string{"calltype", "campaign_id", "call_id", "phone", "datetime_linkend", "duration", "shortcall",
			"campaignlog_id", "queue", "agent_number"}, "agentunlinked")
		if unlinked.Text("agentunlinked", "call_id") != callID || unlinked.Text("agentunlinked", "calltype") != "incoming" {
			t.Errorf("agentunlinked: %s", unlinked.Raw)
		}
	}
	ccHears(t, "agent line after the transfer", line, []float64{ccMusic}, []float64{toneA})
	hangUp(t, caller, erinCall)

	// A break and its end, each from a page request; the console sees
	// pausestart and pauseend.
	ecGolden(t, "pauseagent_ok", ecPage(t, p, ecAgent, ecAgentPass, "pauseagent", "<pause_type>1</pause_type>"))
	ecGolden(t, "event_pausestart_lunch", ecEvent(t, c, "pausestart", ecOfAgent(ecAgent)))
	ecGolden(t, "getagentstatus_paused", ecPage(t, p, ecAgent, ecAgentPass, "getagentstatus", ""))
	ecGolden(t, "unpauseagent_ok", ecPage(t, p, ecAgent, ecAgentPass, "unpauseagent", ""))
	ecGolden(t, "event_pauseend_lunch", ecEvent(t, c, "pauseend", ecOfAgent(ecAgent)))

	// Logout: agentloggedout, and the line is hung up.
	ecWant(t, c, "logoutagent_ok", "logoutagent", me)
	ecGolden(t, "event_agentloggedout", ecEvent(t, c, "agentloggedout", ecOfAgent(ecAgent)))
	if err := line.WaitEnded(5 * time.Second); err != nil {
		t.Errorf("the agent's line after logoutagent: %v", err)
	}
	ecWant(t, c, "getagentstatus_offline", "getagentstatus", "<agent_number>Agent/9001</agent_number>")

	// The day's summary: the session, the break and the call. It is
	// read from the queue log in the store, which the PBX writes in
	// batches a moment behind: asked again until the session's end is
	// in (no event tells).
	var day *testkit.ECCPNode
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		d = ecReq(t, c, "getagentactivitysummary", "")
		for _, a := range d.Children("getagentactivitysummary_response", "agents") {
			if a.TextOf("agentchannel") == ecAgent {
				day = a
			}
		}
		if day.Has("lastsessionend") || time.Now().After(deadline) {
			break
		}
	}
	q := day.Find("callsummary", "incoming", "queue")
	if logged, _ := strconv.Atoi(day.TextOf("logintime")); logged < 1 || q.Attr("id") != "support" || q.TextOf("num_calls") != "1" ||
		!ecOrdered(day.Names(), []string{"agentchannel", "agentname", "logintime", "callsummary", "lastsessionstart", "lastsessionend", "lastpausestart", "lastpauseend"}) {
		t.Errorf("getagentactivitysummary after the day: %s", d.Raw)
	}
}

// ecPINPrompt answers the PBX's login call on bob (extension 1002) and
// waits for the PIN prompt.
func ecPINPrompt(t *testing.T, bob *testkit.Phone) *testkit.PhoneCall {
	t.Helper()
	in, err := bob.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("the PBX does not call 1002: %v", err)
	}
	call, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	if err := call.WaitHears(5*time.Second, ccPassword); err != nil {
		t.Fatalf("no PIN prompt: %v", err)
	}
	return call
}

// TestECCPAgentLoginFails: a login call answered and hung up before the
// PIN gives agentfailedlogin; a login that succeeded ends when the
// agent's own phone hangs up the line (agentloggedout); a break open
// then ends first with pauseend.
func TestECCPAgentLoginFails(t *testing.T) {
	p, _ := ecPBX(t)
	bob := phone(t, p, "1002")
	c, cookie := ecConsole(t, p)
	me := ecAgentArgs(cookie, ecAgent, ecAgentPass)
	ecWant(t, c, "loginagent_logging", "loginagent", me+"<extension>1002</extension>")
	call := ecPINPrompt(t, bob)
	call.Hangup()
	ecGolden(t, "event_agentfailedlogin", ecEvent(t, c, "agentfailedlogin", ecOfAgent(ecAgent)))
	ecWant(t, c, "getagentstatus_offline", "getagentstatus", "<agent_number>Agent/9001</agent_number>")

	line := ecLoginStatic(t, p, c, cookie, bob)
	ecWant(t, c, "pauseagent_ok", "pauseagent", me+"<pause_type>3</pause_type>")
	ecEvent(t, c, "pausestart", ecOfAgent(ecAgent))
	m := c.Mark()
	line.Hangup()
	ecEvent(t, c, "agentloggedout", ecOfAgent(ecAgent))
	if ev := slices.DeleteFunc(c.EventsSince(m), func(n string) bool { return n == "queuemembership" }); !slices.Equal(ev, []string{"pauseend", "agentloggedout"}) {
		t.Errorf("the line hung up in a break: events %v, want pauseend then agentloggedout", ev)
	}
	ecWant(t, c, "pingagent_notfound", "pingagent", me)

	// logoutagent while the login call still rings: the PBX stops
	// calling the extension.
	ecWant(t, c, "loginagent_logging", "loginagent", me+"<extension>1002</extension>")
	in, err := bob.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("the PBX does not call 1002: %v", err)
	}
	in.Ring()
	ecWant(t, c, "logoutagent_ok", "logoutagent", me)
	select {
	case <-in.Cancelled():
	case <-time.After(5 * time.Second):
		t.Errorf("1002 still rings 5 s after logoutagent")
	}
	ecWant(t, c, "getagentstatus_offline", "getagentstatus", "<agent_number>Agent/9001</agent_number>")
}

// TestECCPAttendedTransfer: atxfercall to 1004 holds the caller (music)
// while the agent talks to Erin; hangup completes the transfer: the
// caller and Erin talk, the agent is unlinked and the line hears music.
func TestECCPAttendedTransfer(t *testing.T) {
	p, _ := ecPBX(t)
	alice, bob, erin := phone(t, p, "1001"), phone(t, p, "1002"), phone(t, p, "1004")
	c, cookie := ecConsole(t, p)
	me := ecAgentArgs(cookie, ecAgent, ecAgentPass)
	line := ecLoginStatic(t, p, c, cookie, bob)
	caller := ccCall(t, alice, "5000", toneA)
	linked := ecEvent(t, c, "agentlinked", ecOfAgent(ecAgent))
	ccHears(t, "caller talking to the agent", caller, []float64{toneB}, nil)

	if d := ecReq(t, c, "atxfercall", me+"<extension>1004</extension>"); !d.Success() {
		t.Fatalf("atxfercall: %s", d.Raw)
	}
	erinCall := answerWithTone(t, erin, toneC)
	ccHears(t, "caller held during the consultation", caller, []float64{ccMusic}, []float64{toneB, toneC})
	ccHears(t, "agent consulting Erin", line, []float64{toneC}, []float64{toneA})
	ccHears(t, "Erin consulted", erinCall, []float64{toneB}, []float64{toneA})

	if d := ecReq(t, c, "hangup", me); !d.Success() {
		t.Fatalf("hangup completing the transfer: %s", d.Raw)
	}
	ccHears(t, "caller transferred to Erin", caller, []float64{toneC}, []float64{toneB, ccMusic})
	ccHears(t, "Erin after the transfer", erinCall, []float64{toneA}, []float64{toneB})
	if unlinked, err := c.WaitEvent(ctxTimeout(t, 5*time.Second), "agentunlinked", ecOfAgent(ecAgent)); err != nil {
		t.Errorf("no agentunlinked once the transfer completed: %v", err)
	} else if unlinked.Text("agentunlinked", "call_id") != linked.Text("agentlinked", "call_id") {
		t.Errorf("agentunlinked %s for agentlinked %s", unlinked.Raw, linked.Raw)
	}
	ccHears(t, "agent line after the transfer", line, []float64{ccMusic}, []float64{toneA, toneC})
	hangUp(t, caller, erinCall)
}

// TestECCPLoginTimeout: with eccp.login_timeout 1s, a login call
// answered and left at the PIN prompt is hung up 1 s after loginagent,
// and agentfailedlogin follows.
func TestECCPLoginTimeout(t *testing.T) {
	p, _ := ecPBX(t, func(c *config.Config) { c.ECCP.LoginTimeout = time.Second })
	bob := phone(t, p, "1002")
	c, cookie := ecConsole(t, p)
	sent := time.Now()
	ecWant(t, c, "loginagent_logging", "loginagent", ecAgentArgs(cookie, ecAgent, ecAgentPass)+"<extension>1002</extension>")
	call := ecPINPrompt(t, bob)
	if err := call.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("the login call left at the PIN prompt: %v", err)
	}
	if took := time.Since(sent); took < time.Second {
		t.Errorf("the login call was hung up %s after loginagent, want the 1 s login timeout", took)
	}
	ecGolden(t, "event_agentfailedlogin", ecEvent(t, c, "agentfailedlogin", ecOfAgent(ecAgent)))
	ecWant(t, c, "getagentstatus_offline", "getagentstatus", "<agent_number>Agent/9001</agent_number>")
}
