package web_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"pbx/campaign"
	"pbx/store"
	"pbx/web"
)

// noAgents is a contact center with no agent anywhere: an active campaign's
// dialer finds nobody to call for, so nothing needs an engine.
type noAgents struct{ campaign.Agents }

func (noAgents) QueueAgents(string) (int, int, bool) { return 0, 0, false }

// newCampaigns is a Center on a store of its own, closed with the test.
func newCampaigns(t *testing.T) (*campaign.Center, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := campaign.New(campaign.Options{Store: st, Agents: noAgents{}})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		st.Close()
	})
	return c, dir
}

// The campaign routes on a real Center: every route, loopback only, with
// its answers to good and bad requests, then what the good ones did.
func TestCampaignRoutes(t *testing.T) {
	c, _ := newCampaigns(t)
	h := web.New(web.Options{Campaigns: c}).Handler()
	const (
		form     = `{"name":"Survey","active":true,"fields":[{"id":1,"order":1,"label":"Happy?","type":"LIST","options":["yes","no"]}]}`
		outgoing = `{"name":"Sales","type":"outgoing","queue":"support","trunk":"carrier","forms":[1],"work_start":"09:00","work_end":"18:00","retries":2}`
		incoming = `{"name":"Help line","type":"incoming","queue":"support"}`
		numbers  = "phone,name\n+1 555 0100,Ann\n5550101,Bob\nnot a phone,Carl\n5550101,Bob again\n"
		contacts = "First Name,last_name,phone\nAnn,Smith,5550100\nBob,Jones,??\n"
	)
	tests := []struct {
		name         string
		method, path string
		body         string
		code         int
		msg          string // the error answer contains it
	}{
		// The good ones first, in order: they make what the others find.
		{"create form", "POST", "/api/forms", form, http.StatusCreated, ""},
		{"create outgoing", "POST", "/api/campaigns", outgoing, http.StatusCreated, ""},
		{"create incoming", "POST", "/api/campaigns", incoming, http.StatusCreated, ""},
		{"list", "GET", "/api/campaigns", "", http.StatusOK, ""},
		{"show", "GET", "/api/campaigns/1", "", http.StatusOK, ""},
		{"import numbers", "POST", "/api/campaigns/1/numbers", numbers, http.StatusOK, ""},
		{"start", "POST", "/api/campaigns/1/start", "", http.StatusOK, ""},
		{"stop incoming", "POST", "/api/campaigns/2/stop", "", http.StatusOK, ""},
		{"results", "GET", "/api/campaigns/1/results", "", http.StatusOK, ""},
		{"results csv", "GET", "/api/campaigns/1/results?format=csv", "", http.StatusOK, ""},
		{"results json", "GET", "/api/campaigns/1/results?format=json", "", http.StatusOK, ""},
		{"calls", "GET", "/api/campaigns/1/calls", "", http.StatusOK, ""},
		{"log", "GET", "/api/campaigns/1/log", "", http.StatusOK, ""},
		{"log last", "GET", "/api/campaigns/1/log?last=5", "", http.StatusOK, ""},
		{"import contacts", "POST", "/api/contacts", contacts, http.StatusOK, ""},
		{"contacts", "GET", "/api/contacts", "", http.StatusOK, ""},

		{"no name", "POST", "/api/campaigns", `{"type":"outgoing","queue":"q"}`, http.StatusBadRequest, "needs a name"},
		{"bad type", "POST", "/api/campaigns", `{"name":"x","type":"sideways","queue":"q"}`, http.StatusBadRequest, `type "sideways"`},
		{"bad mode", "POST", "/api/campaigns", `{"name":"x","type":"outgoing","queue":"q","mode":"psychic"}`, http.StatusBadRequest, `mode "psychic"`},
		{"no such form", "POST", "/api/campaigns", `{"name":"x","type":"incoming","queue":"q","forms":[9]}`, http.StatusBadRequest, "no form 9"},
		{"unknown field", "POST", "/api/campaigns", `{"name":"x","type":"incoming","queue":"q","colour":"red"}`, http.StatusBadRequest, "colour"},
		{"not JSON", "POST", "/api/campaigns", `name=x`, http.StatusBadRequest, "body"},
		{"two values", "POST", "/api/campaigns", incoming + incoming, http.StatusBadRequest, "more than one"},
		{"id given", "POST", "/api/campaigns", `{"id":7,"name":"x","type":"incoming","queue":"q"}`, http.StatusBadRequest, "id"},
		{"too large", "POST", "/api/campaigns", `{"script":"` + strings.Repeat("x", web.MaxCampaignJSON) + `"}`, http.StatusRequestEntityTooLarge, "over"},
		{"bad form", "POST", "/api/forms", `{"name":"Empty","fields":[]}`, http.StatusBadRequest, "no fields"},
		{"bad form field", "POST", "/api/forms", `{"name":"F","fields":[{"id":1,"label":"L","type":"BLOB"}]}`, http.StatusBadRequest, "unknown type"},
		{"form id given", "POST", "/api/forms", `{"id":3,"name":"F","fields":[{"id":1,"label":"L","type":"TEXT"}]}`, http.StatusBadRequest, "id"},
		{"unknown campaign", "GET", "/api/campaigns/99", "", http.StatusNotFound, "not found"},
		{"campaign id not a number", "GET", "/api/campaigns/one", "", http.StatusBadRequest, "want a number"},
		{"start unknown", "POST", "/api/campaigns/99/start", "", http.StatusNotFound, "not found"},
		{"stop unknown", "POST", "/api/campaigns/99/stop", "", http.StatusNotFound, "not found"},
		{"numbers of unknown", "POST", "/api/campaigns/99/numbers", numbers, http.StatusNotFound, "not found"},
		{"numbers of incoming", "POST", "/api/campaigns/2/numbers", numbers, http.StatusBadRequest, "only outgoing"},
		{"results of unknown", "GET", "/api/campaigns/99/results", "", http.StatusNotFound, "not found"},
		{"results as XML", "GET", "/api/campaigns/1/results?format=xml", "", http.StatusBadRequest, "want csv or json"},
		{"calls of unknown", "GET", "/api/campaigns/99/calls", "", http.StatusNotFound, "not found"},
		{"log of unknown", "GET", "/api/campaigns/99/log", "", http.StatusNotFound, "not found"},
		{"log last word", "GET", "/api/campaigns/1/log?last=ten", "", http.StatusBadRequest, "last"},
		{"log last negative", "GET", "/api/campaigns/1/log?last=-1", "", http.StatusBadRequest, "last"},
		{"put list", "PUT", "/api/campaigns", incoming, http.StatusMethodNotAllowed, ""},
		{"delete campaign", "DELETE", "/api/campaigns/1", "", http.StatusMethodNotAllowed, ""},
		{"get start", "GET", "/api/campaigns/1/start", "", http.StatusMethodNotAllowed, ""},
		{"get numbers", "GET", "/api/campaigns/1/numbers", "", http.StatusMethodNotAllowed, ""},
		{"post results", "POST", "/api/campaigns/1/results", "", http.StatusMethodNotAllowed, ""},
		{"get forms", "GET", "/api/forms", "", http.StatusMethodNotAllowed, ""},
		{"delete contacts", "DELETE", "/api/contacts", "", http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range tests {
		if tc.code != http.StatusMethodNotAllowed {
			if w := serve(h, tc.method, tc.path, tc.body, "192.0.2.7:40000"); w.Code != http.StatusForbidden {
				t.Errorf("%s from 192.0.2.7: %d, want 403", tc.name, w.Code)
			}
		}
		w := serve(h, tc.method, tc.path, tc.body, "127.0.0.1:40000")
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.msg) {
			t.Errorf("%s: %s %s: %d %q, want %d with %q", tc.name, tc.method, tc.path, w.Code, w.Body, tc.code, tc.msg)
		}
	}

	// call sends a request from loopback that must succeed, and decodes
	// its JSON answer into v.
	call := func(method, path, body string, v any) *httptest.ResponseRecorder {
		t.Helper()
		w := serve(h, method, path, body, "[::1]:40000")
		if w.Code/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		if v != nil {
			if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, w.Body)
			}
		}
		return w
	}
	var list []campaign.Campaign
	call("GET", "/api/campaigns", "", &list)
	if len(list) != 2 || list[0].Name != "Help line" || list[1].Name != "Sales" {
		t.Fatalf("list: %+v", list)
	}
	var info web.CampaignInfo
	call("GET", "/api/campaigns/1", "", &info)
	cp := info.Campaign
	if cp.ID != 1 || cp.Status != campaign.Active || cp.Kind != campaign.Outgoing || cp.Trunk != "carrier" || cp.Retries != 2 ||
		cp.WorkStart != "09:00" || cp.Mode != campaign.Progressive || cp.MaxChannels != 10 {
		t.Fatalf("campaign 1: %+v", cp)
	}
	if info.Total != 2 || !reflect.DeepEqual(info.StatusCount, map[campaign.CallStatus]int{campaign.Pending: 2}) ||
		len(info.Forms) != 1 || info.Forms[0].Name != "Survey" {
		t.Fatalf("campaign 1 info: %+v", info)
	}
	call("GET", "/api/campaigns/2", "", &info)
	if info.Campaign.Status != campaign.Inactive || info.Total != 0 || info.StatusCount == nil || info.Forms == nil {
		t.Fatalf("campaign 2 info: %+v", info)
	}

	var clean, imp web.ImportResult
	if call("POST", "/api/campaigns/1/numbers", "5550102\n", &clean); clean.Added != 1 || clean.Problems == nil || len(clean.Problems) != 0 {
		t.Fatalf("clean import: %+v", clean)
	}
	call("POST", "/api/campaigns/1/numbers", numbers, &imp)
	want := web.ImportResult{Added: 2, Problems: []web.ImportProblem{
		{Line: 4, Msg: `bad phone number "not a phone"`}, {Line: 5, Msg: "phone 5550101 already on line 3"},
	}}
	if !reflect.DeepEqual(imp, want) {
		t.Fatalf("import: %+v, want %+v", imp, want)
	}

	var calls []campaign.Call
	call("GET", "/api/campaigns/1/calls", "", &calls)
	if len(calls) != 5 || calls[0].Phone != "+15550100" || calls[0].Attributes[0] != (campaign.Attribute{Label: "name", Value: "Ann", Order: 1}) {
		t.Fatalf("calls: %+v", calls)
	}
	var logs []campaign.LogEntry
	call("GET", "/api/campaigns/1/log?last=3", "", &logs)
	if logs == nil || len(logs) != 0 {
		t.Fatalf("log of a campaign that dialled nothing: %+v", logs)
	}

	w := call("GET", "/api/campaigns/1/results", "", nil)
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(recs) != 6 || recs[0][0] != "call_id" || recs[1][1] != "+15550100" || recs[1][2] != "Pending" ||
		w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("results csv (%v): %q %v", err, recs, w.Header())
	}
	var results []campaign.Call
	if w := call("GET", "/api/campaigns/1/results?format=json", "", &results); !reflect.DeepEqual(results, calls) ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("results json: %s", w.Body)
	}

	var book []campaign.Contact
	call("GET", "/api/contacts", "", &book)
	if len(book) != 1 || book[0] != (campaign.Contact{ID: 1, FirstName: "Ann", LastName: "Smith", Phone: "5550100"}) {
		t.Fatalf("contacts: %+v", book)
	}
	var noPhone web.ImportResult
	if call("POST", "/api/contacts", "name\nAnn\n", &noPhone); noPhone.Added != 0 || len(noPhone.Problems) != 2 ||
		noPhone.Problems[1] != (web.ImportProblem{Line: 1, Msg: "no phone column in the header"}) {
		t.Fatalf("contacts without phone: %+v", noPhone)
	}

	// Stopped, it says so; the answer is the campaign after.
	if call("POST", "/api/campaigns/1/stop", "", &cp); cp.ID != 1 || cp.Status != campaign.Inactive {
		t.Fatalf("stop: %+v", cp)
	}
	if w := call("POST", "/api/campaigns", incoming, &cp); cp.ID != 3 || cp.Status != campaign.Inactive ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("create: %s", w.Body)
	}
}

// serve sends one request to h from the address from and returns the answer.
func serve(h http.Handler, method, path, body, from string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = from
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// Without campaigns (web.Options.Campaigns nil), none of their routes is served.
func TestCampaignRoutesLeftOut(t *testing.T) {
	h := web.New(web.Options{}).Handler()
	for _, path := range []string{"/api/campaigns", "/api/campaigns/1", "/api/contacts"} {
		if w := serve(h, "GET", path, "", "127.0.0.1:1"); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, w.Code)
		}
	}
}
