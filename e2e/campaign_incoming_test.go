package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// Incoming campaigns, end to end: callers (phones 1201, ...) dial queue
// support (5101), whose agent 201 answers on phone 1101 (the qr* helpers
// of queue_routing_test.go); the campaign follows each caller in a call
// record, matched by caller id against the contact book, and takes the
// form data the agent saves. And the CSV import of an outgoing campaign's
// numbers, with malformed rows.
//
// The helpers here are ci*; campaign_dialer_test.go has the cd* ones.

// ciStart starts a contact center with agent 201 in queue support, and an
// active incoming campaign on it with these forms.
func ciStart(t *testing.T, forms ...int) (*qrCC, campaign.Campaign) {
	t.Helper()
	x := qrStart(t, qrAgents(1), []config.Queue{{Name: "support", Members: qrMembers(nil, "201")}})
	cp, err := x.p.Campaigns().CreateCampaign(campaign.Campaign{
		Kind: campaign.Incoming, Name: "support line", Queue: "support", Status: campaign.Active, Forms: forms,
	})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	return x, cp
}

// ciJoin has caller n call the support queue and returns it with its
// campaign call record, as it is once the caller is in line.
func ciJoin(t *testing.T, x *qrCC, cp campaign.Campaign, n int) (*qrCaller, campaign.Call) {
	t.Helper()
	m := x.bus.mark()
	c := x.join(n, 0, false, 0)
	ev, _ := x.bus.log.Await(m, 5*time.Second, "OnQueue of "+c.Ext, func(ev dialog.Event) bool {
		return cdIsProgress(cp.ID, 0, campaign.OnQueue)(ev) && ev.LegID == c.Leg
	})
	cl, ok := x.p.Campaigns().Call(ev.CampaignCall)
	if !ok {
		t.Fatalf("no call record %d for %s", ev.CampaignCall, c.Ext)
	}
	if cl.CampaignID != cp.ID || cl.Kind != campaign.Incoming || cl.Phone != c.Ext || cl.Queue != "support" ||
		cl.LegID != c.Leg || cl.Join.IsZero() || ev.To != c.Ext {
		t.Fatalf("%s's record: %+v (event to %q)", c.Ext, cl, ev.To)
	}
	return c, cl
}

// ciTalk has the agent take caller c, and checks the record follows: it
// is a Success with the agent once they are connected.
func ciTalk(t *testing.T, x *qrCC, cp campaign.Campaign, c *qrCaller, id int) *testkit.PhoneCall {
	t.Helper()
	m := x.bus.mark()
	agentCall := x.serve(c, x.agent("201"))
	ev, _ := x.bus.log.Await(m, 5*time.Second, "Success of "+c.Ext, cdIsProgress(cp.ID, id, campaign.Success))
	if ev.Agent != "201" && ev.Agent != "Agent/201" {
		t.Fatalf("%s's Success with agent %q, want 201", c.Ext, ev.Agent)
	}
	if cl, _ := x.p.Campaigns().Call(id); cl.Status != campaign.Success || cl.Agent != ev.Agent || cl.LinkStart.Before(cl.Join) {
		t.Fatalf("%s's record once connected: %+v", c.Ext, cl)
	}
	return agentCall
}

// ciHangUp has caller c hang up and checks the record has the end of the
// conversation.
func ciHangUp(t *testing.T, x *qrCC, c *qrCaller, agentCall *testkit.PhoneCall, id int) campaign.Call {
	t.Helper()
	x.finish(c, x.agent("201"), agentCall, queue.StateIdle)
	cl := cdEnded(t, x, id)
	if cl.Status != campaign.Success || cl.Duration <= 0 || !cl.LinkEnd.Equal(cl.LinkStart.Add(cl.Duration)) || cl.LegID != "" {
		t.Fatalf("%s's record after the hangup: status %s, link %s..%s, duration %s, leg %q",
			c.Ext, cl.Status, cl.LinkStart, cl.LinkEnd, cl.Duration, cl.LegID)
	}
	return cl
}

// TestCampaignIncomingContacts: with a contact book imported from CSV
// (one bad row, reported at its line), a caller whose number is one
// contact's has that contact on the record; a caller whose number two
// contacts share has both, none chosen, until SetContact picks one. Each
// caller reaches the agent: the record goes OnQueue, then Success with the
// agent, and has the conversation's end and length after the hangup.
func TestCampaignIncomingContacts(t *testing.T) {
	x, cp := ciStart(t)
	center := x.p.Campaigns()
	book := "first_name,last_name,phone,cedula_ruc\n" +
		"Ana,Uno,1201,0911111111\n" +
		"Bea,Dos,1202,\n" +
		"Carl,Tres,(1202),0922222222\n" +
		"Dan,Cuatro,12x3,\n" +
		"Eva,Cinco,1299,\n"
	added, problems, err := center.ImportContacts(strings.NewReader(book))
	if err != nil || added != 4 {
		t.Fatalf("import contacts: %d added, %v", added, err)
	}
	if len(problems) != 1 || problems[0].Line != 5 || !strings.Contains(problems[0].Msg, "12x3") {
		t.Fatalf("import contacts: problems %v, want the bad phone on line 5", problems)
	}
	ids := map[string]int{}
	for _, ct := range center.Contacts() {
		ids[ct.FirstName] = ct.ID
	}
	ana, bea, carl := ids["Ana"], ids["Bea"], ids["Carl"]
	if ana == 0 || bea == 0 || carl == 0 || ids["Dan"] != 0 {
		t.Fatalf("contacts %v", center.Contacts())
	}
	x.login("201")

	// One match: chosen.
	c1, r1 := ciJoin(t, x, cp, 1)
	if !slices.Equal(r1.Contacts, []int{ana}) || r1.Contact != ana {
		t.Errorf("1201's contacts %v, chosen %d; want [%d] and %d", r1.Contacts, r1.Contact, ana, ana)
	}
	a1 := ciTalk(t, x, cp, c1, r1.ID)
	ciHangUp(t, x, c1, a1, r1.ID)

	// Two matches: none chosen until the agent says.
	c2, r2 := ciJoin(t, x, cp, 2)
	if !slices.Equal(r2.Contacts, []int{bea, carl}) || r2.Contact != 0 {
		t.Errorf("1202's contacts %v, chosen %d; want [%d %d] and none", r2.Contacts, r2.Contact, bea, carl)
	}
	a2 := ciTalk(t, x, cp, c2, r2.ID)
	if err := center.SetContact(r2.ID, carl); err != nil {
		t.Fatalf("set contact: %v", err)
	}
	if err := center.SetContact(r2.ID, 9999); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("set an unknown contact: %v, want ErrNotFound", err)
	}
	if err := center.SetContact(9999, carl); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("set the contact of an unknown call: %v, want ErrNotFound", err)
	}
	if cl := ciHangUp(t, x, c2, a2, r2.ID); cl.Contact != carl || !slices.Equal(cl.Contacts, []int{bea, carl}) {
		t.Errorf("1202's record: contacts %v, chosen %d; want [%d %d] and %d", cl.Contacts, cl.Contact, bea, carl, carl)
	}

	// The log: each call OnQueue, then Success with the agent.
	log := center.Log(cp.ID, 0)
	for _, id := range []int{r1.ID, r2.ID} {
		var got []string
		for _, l := range log {
			if l.CallID == id {
				got = append(got, fmt.Sprintf("%s/%s/%s", l.Status, l.Kind, l.Agent))
			}
		}
		if want := []string{"OnQueue/incoming/", "Success/incoming/201"}; !slices.Equal(got, want) && !slices.Equal(got, []string{"OnQueue/incoming/", "Success/incoming/Agent/201"}) {
			t.Errorf("call %d's log %v, want %v", id, got, want)
		}
	}
	if counts, total := center.StatusCount(cp.ID); total != 2 || counts[campaign.Success] != 2 {
		t.Errorf("status counts %v of %d, want 2 Success", counts, total)
	}
}

// ciFormFields are the fields of the test's form.
var ciFormFields = []campaign.Field{
	{ID: 1, Order: 1, Label: "Comment", Type: campaign.Text, MaxSize: 10},
	{ID: 2, Order: 2, Label: "Call back on", Type: campaign.Date},
	{ID: 3, Order: 3, Label: "Interested", Type: campaign.List, Options: []string{"yes", "no"}},
	{ID: 4, Order: 4, Label: "Read the offer", Type: campaign.Label},
}

// TestCampaignIncomingForms: an agent on a call of a campaign with a form
// (TEXT of 10 characters, DATE, LIST, LABEL) saves its data: every bad
// value is refused with ECCP's code and message, and nothing is kept;
// good data is kept (without the LABEL's value) and exported with the
// call's outcome as CSV and JSON.
func TestCampaignIncomingForms(t *testing.T) {
	// The form is made first, on a PBX of its own: the campaign names it.
	x := qrStart(t, qrAgents(1), []config.Queue{{Name: "support", Members: qrMembers(nil, "201")}})
	center := x.p.Campaigns()
	form, err := center.CreateForm(campaign.Form{Name: "survey", Active: true, Fields: ciFormFields})
	if err != nil {
		t.Fatalf("create form: %v", err)
	}
	cp, err := center.CreateCampaign(campaign.Campaign{
		Kind: campaign.Incoming, Name: "survey line", Queue: "support", Status: campaign.Active, Forms: []int{form.ID},
	})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	if forms, err := center.Forms(cp.ID); err != nil || len(forms) != 1 || forms[0].ID != form.ID || len(forms[0].Fields) != 4 {
		t.Fatalf("the campaign's forms: %+v, %v", forms, err)
	}
	x.login("201")
	c, rec := ciJoin(t, x, cp, 1)
	agentCall := ciTalk(t, x, cp, c, rec.ID)

	f := form.ID
	for _, tt := range []struct {
		name string
		data map[int]map[int]string
		code int
		msg  string
	}{
		{"unknown form", map[int]map[int]string{f + 100: {1: "x"}}, 404, fmt.Sprintf("Form ID not found: %d", f+100)},
		{"unknown field", map[int]map[int]string{f: {1: "ok", 9: "x"}}, 404, fmt.Sprintf("Field ID not found in form: %d - 9", f)},
		{"too long", map[int]map[int]string{f: {1: "eleven char"}}, 413, fmt.Sprintf("Form value too large: %d - 1", f)},
		{"too long, in runes", map[int]map[int]string{f: {1: "ñññññññññññ"}}, 413, fmt.Sprintf("Form value too large: %d - 1", f)},
		{"bad date", map[int]map[int]string{f: {2: "2024-02-30"}}, 406,
			fmt.Sprintf("Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss: %d - 2", f)},
		{"bad date shape", map[int]map[int]string{f: {2: "30/01/2024"}}, 406,
			fmt.Sprintf("Date format not acceptable, must be yyyy-mm-dd or yyyy-mm-dd hh:mm:ss: %d - 2", f)},
		{"not in the list", map[int]map[int]string{f: {3: "maybe"}}, 406, fmt.Sprintf("Value not in list of accepted values: %d - 3", f)},
		{"first problem by field id", map[int]map[int]string{f: {3: "maybe", 1: "eleven char"}}, 413, fmt.Sprintf("Form value too large: %d - 1", f)},
	} {
		err := center.SaveFormData(rec.ID, tt.data)
		var fe *campaign.FormError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a *campaign.FormError", tt.name, err)
			continue
		}
		if fe.Code != tt.code || fe.Msg != tt.msg {
			t.Errorf("%s: %d %q, want %d %q", tt.name, fe.Code, fe.Msg, tt.code, tt.msg)
		}
	}
	if err := center.SaveFormData(9999, map[int]map[int]string{f: {1: "x"}}); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("form data for an unknown call: %v, want ErrNotFound", err)
	}
	if cl, _ := center.Call(rec.ID); cl.FormData != nil {
		t.Fatalf("refused data was kept: %v", cl.FormData)
	}

	good := map[int]map[int]string{f: {1: "ten chars!", 2: "2024-02-29 13:45:00", 3: "yes", 4: "a label takes no value"}}
	if err := center.SaveFormData(rec.ID, good); err != nil {
		t.Fatalf("save good data: %v", err)
	}
	// Empty DATE and LIST values are accepted, and a later save updates.
	if err := center.SaveFormData(rec.ID, map[int]map[int]string{f: {2: "", 3: "no"}}); err != nil {
		t.Fatalf("save again: %v", err)
	}
	want := map[int]map[int]string{f: {1: "ten chars!", 2: "", 3: "no"}}
	if cl, _ := center.Call(rec.ID); !ciSameData(cl.FormData, want) {
		t.Fatalf("kept form data %v, want %v", cl.FormData, want)
	}
	rec = ciHangUp(t, x, c, agentCall, rec.ID)

	// The results, as CSV.
	var out bytes.Buffer
	if err := center.ExportResults(cp.ID, &out, "csv"); err != nil {
		t.Fatalf("export csv: %v", err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("exported CSV: %d rows, %v:\n%s", len(rows), err, out.String())
	}
	got := map[string]string{}
	for i, h := range rows[0] {
		got[h] = rows[1][i]
	}
	for col, v := range map[string]string{
		"call_id": fmt.Sprint(rec.ID), "phone": "1201", "status": "Success", "agent": rec.Agent,
		fmt.Sprintf("form%d.field1", f): "ten chars!", fmt.Sprintf("form%d.field2", f): "", fmt.Sprintf("form%d.field3", f): "no",
	} {
		if g, ok := got[col]; !ok || g != v {
			t.Errorf("exported CSV: column %q is %q (present %v), want %q; header %v", col, g, ok, v, rows[0])
		}
	}
	if _, ok := got[fmt.Sprintf("form%d.field4", f)]; ok {
		t.Errorf("exported CSV has the LABEL field: %v", rows[0])
	}
	if got["datetime_linkstart"] == "" || got["datetime_linkend"] == "" {
		t.Errorf("exported CSV without the conversation's times: %v", got)
	}

	// And as JSON.
	out.Reset()
	if err := center.ExportResults(cp.ID, &out, "json"); err != nil {
		t.Fatalf("export json: %v", err)
	}
	var calls []campaign.Call
	if err := json.Unmarshal(out.Bytes(), &calls); err != nil || len(calls) != 1 {
		t.Fatalf("exported JSON: %d calls, %v", len(calls), err)
	}
	if cl := calls[0]; cl.ID != rec.ID || cl.Status != campaign.Success || !ciSameData(cl.FormData, want) {
		t.Errorf("exported JSON: %+v", cl)
	}
	if err := center.ExportResults(cp.ID, &out, "xml"); !errors.Is(err, campaign.ErrInvalid) {
		t.Errorf("export as xml: %v, want ErrInvalid", err)
	}
}

// ciSameData compares form data.
func ciSameData(a, b map[int]map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for f, fields := range a {
		other, ok := b[f]
		if !ok || len(fields) != len(other) {
			return false
		}
		for k, v := range fields {
			if w, ok := other[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

// TestCampaignIncomingImportNumbers: a CSV file of numbers with malformed
// rows (too few cells, bad phones, a repeated phone, then a CSV syntax
// error, which ends the reading) is imported into an outgoing campaign:
// each problem comes with its line, the good rows before the syntax error
// are the campaign's calls, with their attributes; a campaign that takes
// no numbers is refused.
func TestCampaignIncomingImportNumbers(t *testing.T) {
	p := testkit.StartPBX(t, "")
	center := p.Campaigns()
	cp, err := center.CreateCampaign(campaign.Campaign{Kind: campaign.Outgoing, Name: "import", Queue: "support"})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	file := strings.Join([]string{
		"phone,name,city",             // 1: the header
		"1301,Ana,Quito",              // 2
		"1302,Bea",                    // 3: two cells
		"abc,Carl,Lima",               // 4: not a phone
		"",                            // 5: blank, skipped
		"+593 99 123 4567,Dan,Cuenca", // 6
		"1301,Eve,Loja",               // 7: 1301 again
		"12,Fay,Ambato",               // 8: too few digits
		`1303,"Gus ""G"" Diaz",Manta`, // 9: quoted, with quotes
		"1304,Hal,Tena,extra",         // 10: four cells
		`1305,"Ivy"x,Loja`,            // 11: a bad quote: the end
		"1306,Jon,Ibarra",             // 12: not read
	}, "\n") + "\n"
	added, problems, err := center.ImportNumbers(cp.ID, strings.NewReader(file))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if added != 3 {
		t.Errorf("added %d, want 3", added)
	}
	wantProblems := []struct {
		line int
		msg  string
	}{
		{3, "2 cells"}, {4, `"abc"`}, {7, "already on line 2"}, {8, `"12"`}, {10, "4 cells"}, {11, "bad CSV"},
	}
	if len(problems) != len(wantProblems) {
		t.Fatalf("problems %v, want %d", problems, len(wantProblems))
	}
	for i, w := range wantProblems {
		if problems[i].Line != w.line || !strings.Contains(problems[i].Msg, w.msg) {
			t.Errorf("problem %d: %v, want line %d with %q", i, problems[i], w.line, w.msg)
		}
	}
	calls := center.Calls(cp.ID)
	var got []string
	for _, cl := range calls {
		if cl.Status != campaign.Pending || cl.Retries != 0 || cl.Queue != "support" {
			t.Errorf("imported %s: %s, %d tries, queue %q", cl.Phone, cl.Status, cl.Retries, cl.Queue)
		}
		var attrs []string
		for _, a := range cl.Attributes {
			attrs = append(attrs, fmt.Sprintf("%d:%s=%s", a.Order, a.Label, a.Value))
		}
		got = append(got, cl.Phone+" "+strings.Join(attrs, " "))
	}
	want := []string{"1301 1:name=Ana 2:city=Quito", "+593991234567 1:name=Dan 2:city=Cuenca", `1303 1:name=Gus "G" Diaz 2:city=Manta`}
	if !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if _, total := center.StatusCount(cp.ID); total != 3 {
		t.Errorf("%d calls counted, want 3", total)
	}

	in, err := center.CreateCampaign(campaign.Campaign{Kind: campaign.Incoming, Name: "in", Queue: "support"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := center.ImportNumbers(in.ID, strings.NewReader("1301\n")); !errors.Is(err, campaign.ErrInvalid) {
		t.Errorf("numbers into an incoming campaign: %v, want ErrInvalid", err)
	}
	if _, _, err := center.ImportNumbers(9999, strings.NewReader("1301\n")); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("numbers into no campaign: %v, want ErrNotFound", err)
	}
	if len(center.Calls(in.ID)) != 0 {
		t.Errorf("the incoming campaign has calls")
	}
}
