package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"pbx/recordings"
	"pbx/sip"
	"pbx/store"
)

// The administration commands ask the running PBX over its loopback HTTP
// API; when none runs, they read the store file directly (bbolt allows one
// process at a time).

func cdr(args []string) error {
	if len(args) > 0 && args[0] == "export" {
		return cdrExport(args[1:])
	}
	fs := flag.NewFlagSet("cdr", flag.ContinueOnError)
	since := fs.String("since", "", "only calls since a duration ago (24h) or a time (RFC 3339)")
	format := fs.String("format", "table", "table, csv or json")
	dataDir := fs.String("data", "./data", "data directory, when no PBX runs")
	api := fs.String("api", "http://127.0.0.1:8088", "HTTP address of the running PBX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var from time.Time
	if *since != "" {
		t, err := recordings.ParseSince(*since, time.Now())
		if err != nil {
			return fmt.Errorf("-since %q: want a duration (24h) or an RFC 3339 time", *since)
		}
		from = t
	}
	var cdrs []store.CDR
	q := url.Values{}
	if !from.IsZero() {
		q.Set("since", from.Format(time.RFC3339))
	}
	if err := getJSON(*api+"/api/cdr?"+q.Encode(), "", &cdrs); err != nil {
		st, serr := store.OpenReadOnly(*dataDir)
		if serr != nil {
			return fmt.Errorf("no running PBX (%v) and no store: %w", err, serr)
		}
		defer st.Close()
		if cdrs, err = st.CDRs(from, 0); err != nil {
			return err
		}
	}
	return store.WriteCDRs(os.Stdout, cdrs, *format)
}

func bans(args []string) error {
	fs := flag.NewFlagSet("bans", flag.ContinueOnError)
	dataDir := fs.String("data", "./data", "data directory, when no PBX runs")
	api := fs.String("api", "http://127.0.0.1:8088", "HTTP address of the running PBX")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var list []sip.Ban
	if err := getJSON(*api+"/api/bans", "", &list); err != nil {
		st, serr := store.OpenReadOnly(*dataDir)
		if serr != nil {
			return fmt.Errorf("no running PBX (%v) and no store: %w", err, serr)
		}
		defer st.Close()
		if list, err = sip.ListBans(st); err != nil {
			return err
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ADDRESS\tUNTIL\tFAILURES")
	for _, b := range list {
		if b.Until.Before(time.Now()) {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%d\n", b.Addr, b.Until.Format(time.RFC3339), b.Failures)
	}
	return w.Flush()
}

// getJSON asks the running PBX's HTTP API, with a bearer token when one
// is given (the recordings API wants it; the loopback admin API does not).
func getJSON(u, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", req.URL.Redacted(), res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}
