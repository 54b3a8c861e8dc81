package store

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// Formats WriteCDRs knows.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// WriteCDRs prints call records as `pbx cdr` shows them:
//
//   - "table" (or ""): aligned columns for people, times as recorded,
//     durations rounded to the second, "-" for an empty value;
//   - "csv": a header row then one row per record, times in UTC RFC 3339,
//     durations in seconds with three decimals;
//   - "json": an indented array of the records as stored ([] when empty).
func WriteCDRs(w io.Writer, cdrs []CDR, format string) error {
	switch format {
	case FormatTable, "":
		return writeTable(w, cdrs)
	case FormatCSV:
		return writeCSV(w, cdrs)
	case FormatJSON:
		if cdrs == nil {
			cdrs = []CDR{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cdrs)
	}
	return fmt.Errorf("cdr format %q: want table, csv or json", format)
}

func writeTable(w io.Writer, cdrs []CDR) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tID\tFROM\tTO\tDISPOSITION\tDURATION\tBILLSEC\tBY\tCAUSE\tCODEC\tLOST\tTRUNK")
	for _, c := range cdrs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			c.Start.Format(time.DateTime), dash(c.ID), dash(c.From), dash(c.To), dash(c.Disposition),
			c.Duration.Round(time.Second), c.Billsec.Round(time.Second), dash(c.HangupBy),
			dash(c.HangupCause), dash(c.Codec), c.PacketsLost, dash(c.Trunk))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var csvHeader = []string{"id", "call_id", "from", "to", "start", "answer", "end", "duration_s", "billsec_s",
	"disposition", "hangup_cause", "hangup_by", "codec", "packets_lost", "trunk"}

func writeCSV(w io.Writer, cdrs []CDR) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, c := range cdrs {
		if err := cw.Write([]string{c.ID, c.CallID, c.From, c.To, utc(c.Start), utc(c.Answer), utc(c.End),
			seconds(c.Duration), seconds(c.Billsec), c.Disposition, c.HangupCause, c.HangupBy, c.Codec,
			strconv.FormatUint(c.PacketsLost, 10), c.Trunk}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// utc is a time for machines: RFC 3339 in UTC, "" when zero.
func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
