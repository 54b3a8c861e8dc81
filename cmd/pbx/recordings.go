package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"pbx/recordings"
	"pbx/store"
)

// listRecordings is `pbx recordings`: the recordings index, from the
// running PBX's API or, when none runs, from the store read-only.
func listRecordings(args []string) error {
	fs := flag.NewFlagSet("recordings", flag.ContinueOnError)
	since := fs.String("since", "", "only recordings since a duration ago (24h) or a time (RFC 3339)")
	call := fs.String("call", "", "only the recordings of this call id")
	format := fs.String("format", "table", "table, csv or json")
	dataDir := fs.String("data", "./data", "data directory, when no PBX runs")
	api := fs.String("api", "http://127.0.0.1:8088", "HTTP address of the running PBX")
	token := fs.String("token", "", "the PBX's recordings API token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("-format %q: want table, csv or json", *format)
	}
	f := recordings.Filter{CallID: *call}
	if *since != "" {
		t, err := recordings.ParseSince(*since, time.Now())
		if err != nil {
			return fmt.Errorf("-since %q: want a duration (24h) or an RFC 3339 time", *since)
		}
		f.Since = t
	}
	q := url.Values{}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if f.CallID != "" {
		q.Set("call_id", f.CallID)
	}
	var list []recordings.Entry
	if err := getJSON(*api+"/recordings?"+q.Encode(), *token, &list); err != nil {
		st, serr := store.OpenReadOnly(*dataDir)
		if serr != nil {
			return fmt.Errorf("no running PBX (%v) and no store: %w", err, serr)
		}
		defer st.Close()
		if list, err = recordings.ReadIndex(st, f); err != nil {
			return err
		}
	}
	return writeRecordings(os.Stdout, list, *format)
}

// writeRecordings prints the index: "table" for people (start in UTC,
// duration in seconds), "csv" with the same columns, "json" as the API
// serves it.
func writeRecordings(w io.Writer, list []recordings.Entry, format string) error {
	header := []string{"ID", "START", "DURATION", "SIZE", "MODE", "CALL", "PATH"}
	row := func(e recordings.Entry) []string {
		dur := strconv.FormatFloat(e.Duration.Seconds(), 'f', 1, 64)
		if e.Active {
			dur += "+" // still recording
		}
		return []string{e.ID, e.Start.UTC().Format(time.RFC3339), dur, strconv.FormatInt(e.Size, 10), string(e.Mode), e.CallID, e.Path}
	}
	switch format {
	case "json":
		if list == nil {
			list = []recordings.Entry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	case "csv":
		cw := csv.NewWriter(w)
		header[1], header[2] = "START_UTC", "DURATION_S"
		cw.Write(header)
		for _, e := range list {
			cw.Write(row(e))
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTART (UTC)\tDURATION (S)\tSIZE\tMODE\tCALL\tPATH")
		for _, e := range list {
			r := row(e)
			for i, s := range r {
				if s == "" {
					r[i] = "-"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3], r[4], r[5], r[6])
		}
		return tw.Flush()
	}
}
