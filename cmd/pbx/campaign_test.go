package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pbx/campaign"
	"pbx/internal/testkit"
	"pbx/web"
)

// writeFile writes a file into dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The campaign and contacts commands against a running PBX with the
// default configuration (queue support): a form, an outgoing campaign that
// may only dial in 2099 (so nothing is dialled), an incoming one, numbers
// and contacts imported with bad rows, start and stop, the results; then
// the same read again from the stopped PBX's store, and the changes
// refused.
func TestCampaignCommands(t *testing.T) {
	p := testkit.StartPBX(t, "")
	api := "http://" + p.HTTPAddr()
	dir := t.TempDir()
	formFile := writeFile(t, dir, "form.json",
		`{"name":"Survey","active":true,"fields":[{"id":1,"order":1,"label":"Happy?","type":"LIST","options":["yes","no"]}]}`)
	numbers := writeFile(t, dir, "numbers.csv", "phone,name\n+1 555 0100,Ann\n5550101,Bob\nnot a phone,Carl\n5550101,Bob again\n")
	contacts := writeFile(t, dir, "contacts.csv", "first_name,last_name,phone\nAnn,Smith,5550100\nBob,Jones,??\n")

	steps := []struct {
		name string
		run  func([]string) error
		args []string
		want []string // lines of the output, in order (a prefix of it)
	}{
		{"create form", campaignCmd, []string{"create-form", formFile}, []string{"form 1 created: Survey (1 fields)"}},
		{"create outgoing", campaignCmd, []string{"create", "-name", "Sales", "-type", "outgoing", "-queue", "support",
			"-trunk", "carrier", "-mode", "predictive", "-max-channels", "4", "-retries", "2", "-retry-delay", "10m",
			"-short-call", "20s", "-work-hours", "09:00-18:00", "-start", "2099-01-01", "-end", "2099-12-31",
			"-script", "Say hello", "-caller-id", "5551000", "-forms", "1"},
			[]string{"campaign 1 created: Sales (outgoing, inactive); `pbx campaign start 1` starts it"}},
		{"create incoming", campaignCmd, []string{"create", "-type", "incoming", "-name", "Help line", "-queue", "support"},
			[]string{"campaign 2 created: Help line (incoming, inactive); `pbx campaign start 2` starts it"}},
		{"import numbers", campaignCmd, []string{"import-numbers", "1", numbers}, []string{
			numbers + `:4: bad phone number "not a phone"`, numbers + ":5: phone 5550101 already on line 3",
			"2 numbers added, 2 rows left out"}},
		{"start", campaignCmd, []string{"start", "1"}, []string{"campaign 1 (Sales) is active"}},
		{"start incoming", campaignCmd, []string{"start", "2"}, []string{"campaign 2 (Help line) is active"}},
		{"stop incoming", campaignCmd, []string{"stop", "2"}, []string{"campaign 2 (Help line) is inactive"}},
		{"import contacts", contactsCmd, []string{"import", contacts}, []string{
			contacts + `:3: bad phone number "??"`, "1 contacts added, 1 rows left out"}},
	}
	for _, s := range steps {
		out := capture(t, func() error { return s.run(append(s.args, "-api", api)) })
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != len(s.want) || strings.Join(lines, "\n") != strings.Join(s.want, "\n") {
			t.Fatalf("%s: got\n%s\nwant\n%s", s.name, out, strings.Join(s.want, "\n"))
		}
	}

	// What the PBX has, as the reading commands show it.
	check := func(how string, api string, extra ...string) {
		t.Helper()
		args := func(a ...string) []string { return append(append(a, "-api", api), extra...) }
		list := capture(t, func() error { return campaignCmd(args("list")) })
		if h := rows(list)[0]; strings.Join(h, " ") != "ID TYPE NAME STATUS QUEUE TRUNK MODE DATES HOURS" {
			t.Fatalf("%s: list header %q", how, h)
		}
		if r := row(t, list, "1"); strings.Join(r, "|") != "1|outgoing|Sales|active|support|carrier|predictive|2099-01-01..2099-12-31|09:00-18:00" {
			t.Fatalf("%s: list: %q in\n%s", how, r, list)
		}
		if r := row(t, list, "2"); strings.Join(r, "|") != "2|incoming|Help line|inactive|support|-|-|-|-" {
			t.Fatalf("%s: list: %q in\n%s", how, r, list)
		}
		if rs := rows(list); len(rs) != 3 || rs[1][0] != "2" {
			t.Fatalf("%s: list: incoming campaigns come first:\n%s", how, list)
		}
		var cps []campaign.Campaign
		if err := json.Unmarshal([]byte(capture(t, func() error { return campaignCmd(args("list", "-format", "json")) })), &cps); err != nil ||
			len(cps) != 2 || cps[1].RetryDelay.String() != "10m0s" || cps[1].Start.Format("2006-01-02 15:04") != "2099-01-01 00:00" {
			t.Fatalf("%s: list json (%v): %+v", how, err, cps)
		}

		show := capture(t, func() error { return campaignCmd(args("show", "1")) })
		for key, want := range map[string]string{
			"name": "Sales", "status": "active", "queue": "support", "trunk": "carrier", "caller id": "5551000",
			"mode": "predictive", "dates": "2099-01-01..2099-12-31", "hours": "09:00-18:00", "max channels": "4",
			"retries": "2", "retry delay": "10m0s", "short call": "20s", "abandon cap": "3%", "forms": "1 (Survey)",
			"script": "Say hello", "Pending": "2", "total": "2",
		} {
			if r := row(t, show, key); len(r) != 2 || r[1] != want {
				t.Errorf("%s: show: %q, want %s %s", how, r, key, want)
			}
		}
		if r := row(t, show, "CALLS"); strings.Join(r, " ") != "CALLS COUNT" {
			t.Errorf("%s: show: %q", how, r)
		}
		var info web.CampaignInfo
		js := capture(t, func() error { return campaignCmd(args("show", "-format", "json", "2")) })
		if err := json.Unmarshal([]byte(js), &info); err != nil || info.Campaign.Name != "Help line" || info.Total != 0 {
			t.Fatalf("%s: show json (%v):\n%s", how, err, js)
		}
		if show := capture(t, func() error { return campaignCmd(args("show", "2")) }); strings.Contains(show, "trunk") ||
			row(t, show, "total")[1] != "0" || row(t, show, "type")[1] != "incoming" {
			t.Fatalf("%s: show 2:\n%s", how, show)
		}

		csvOut := filepath.Join(t.TempDir(), "results.csv")
		if out := capture(t, func() error { return campaignCmd(args("export-results", "1", "-o", csvOut)) }); out != "" {
			t.Fatalf("%s: export to a file wrote %q", how, out)
		}
		b, err := os.ReadFile(csvOut)
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 ||
			!strings.HasPrefix(lines[0], "call_id,phone,status,") || !strings.HasPrefix(lines[1], "1,+15550100,Pending,0,") ||
			!strings.HasSuffix(lines[2], ",Bob") {
			t.Fatalf("%s: results:\n%s", how, b)
		}
		var calls []campaign.Call
		js = capture(t, func() error { return campaignCmd(args("export-results", "-format", "json", "1")) })
		if err := json.Unmarshal([]byte(js), &calls); err != nil || len(calls) != 2 || calls[1].Phone != "5550101" ||
			calls[1].Attributes[0].Value != "Bob" {
			t.Fatalf("%s: results json (%v):\n%s", how, err, js)
		}

		book := capture(t, func() error { return contactsCmd(args("list")) })
		if r := row(t, book, "1"); strings.Join(r, "|") != "1|Ann|Smith|5550100|-|-" {
			t.Fatalf("%s: contacts: %q in\n%s", how, r, book)
		}
	}
	check("running", api)

	failures := []struct {
		name string
		run  func([]string) error
		args []string
		want string
	}{
		{"no subcommand", campaignCmd, nil, "want create"},
		{"unknown subcommand", campaignCmd, []string{"delete", "1"}, "campaign delete: want"},
		{"contacts unknown", contactsCmd, []string{"export"}, "contacts export: want"},
		{"no name", campaignCmd, []string{"create", "-queue", "support"}, "needs a name"},
		{"bad type", campaignCmd, []string{"create", "-name", "x", "-type", "both", "-queue", "support"}, `type "both"`},
		{"bad mode", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-mode", "psychic"}, `mode "psychic"`},
		{"bad hours", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-work-hours", "9-18"}, "want HH:MM"},
		{"hours without a dash", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-work-hours", "09:00"}, "want HH:MM-HH:MM"},
		{"bad date", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-start", "2099/01/01"}, "want YYYY-MM-DD"},
		{"end before start", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-start", "2099-02-01", "-end", "2099-01-01"}, "end date is before"},
		{"no such form", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-forms", "7"}, "no form 7"},
		{"bad forms", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "-forms", "one"}, "want form ids"},
		{"create extra", campaignCmd, []string{"create", "-name", "x", "-queue", "support", "now"}, `unexpected "now"`},
		{"bad form file", campaignCmd, []string{"create-form", numbers}, "400"},
		{"missing form file", campaignCmd, []string{"create-form", filepath.Join(dir, "nosuch.json")}, "no such file"},
		{"show unknown", campaignCmd, []string{"show", "99"}, "campaign 99: campaign: not found"},
		{"show no id", campaignCmd, []string{"show"}, "want ID"},
		{"show word", campaignCmd, []string{"show", "one"}, "want a number"},
		{"show two", campaignCmd, []string{"show", "1", "2"}, "want ID"},
		{"show as csv", campaignCmd, []string{"show", "1", "-format", "csv"}, "want table or json"},
		{"list extra", campaignCmd, []string{"list", "all"}, `unexpected "all"`},
		{"start unknown", campaignCmd, []string{"start", "99"}, "404"},
		{"stop no id", campaignCmd, []string{"stop"}, "want ID"},
		{"numbers of unknown", campaignCmd, []string{"import-numbers", "99", numbers}, "404"},
		{"numbers of incoming", campaignCmd, []string{"import-numbers", "2", numbers}, "only outgoing campaigns have numbers"},
		{"numbers no file", campaignCmd, []string{"import-numbers", "1"}, "want ID FILE.csv"},
		{"numbers missing file", campaignCmd, []string{"import-numbers", "1", filepath.Join(dir, "nosuch.csv")}, "no such file"},
		{"contacts no file", contactsCmd, []string{"import"}, "want FILE.csv"},
		{"export unknown", campaignCmd, []string{"export-results", "99"}, "404"},
		{"export as xml", campaignCmd, []string{"export-results", "1", "-format", "xml"}, "want csv or json"},
		{"export to no directory", campaignCmd, []string{"export-results", "1", "-o", filepath.Join(dir, "no", "such.csv")}, "no such file"},
	}
	for _, f := range failures {
		err := f.run(append(f.args, "-api", api))
		if err == nil || !strings.Contains(err.Error(), f.want) {
			t.Errorf("%s: %v, want an error with %q", f.name, err, f.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !os.IsNotExist(err) {
		t.Errorf("a failed export left %v", err)
	}

	// Stopped: what is read comes from the store, what changes is refused.
	p.Stop()
	check("stopped", api, "-data", p.DataDir)
	for _, args := range [][]string{
		{"create", "-name", "x", "-queue", "support"}, {"create-form", formFile}, {"start", "1"}, {"stop", "1"},
		{"import-numbers", "1", numbers},
	} {
		if err := campaignCmd(append(args, "-api", api)); err == nil || !strings.Contains(err.Error(), "no PBX answers") {
			t.Errorf("campaign %s with no PBX: %v", args[0], err)
		}
	}
	if err := contactsCmd([]string{"import", contacts, "-api", api}); err == nil || !strings.Contains(err.Error(), "no PBX answers") {
		t.Errorf("contacts import with no PBX: %v", err)
	}
	if err := campaignCmd([]string{"show", "99", "-api", api, "-data", p.DataDir}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show 99 from the store: %v", err)
	}
	if err := campaignCmd([]string{"export-results", "99", "-api", api, "-data", p.DataDir}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("export 99 from the store: %v", err)
	}
	if err := campaignCmd([]string{"list", "-api", api, "-data", t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Errorf("list with no PBX and no store: %v", err)
	}
}
