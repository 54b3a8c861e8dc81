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

// WriteCDRs prints records as an aligned table, CSV with a header row, or
// a JSON array: what `pbx cdr` shows.
func WriteCDRs(w io.Writer, cdrs []CDR, format string) error {
	switch format {
	case "json":
		if cdrs == nil {
			cdrs = []CDR{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cdrs)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"id", "call_id", "from", "to", "start", "answer", "end", "duration_s", "billsec_s", "disposition", "hangup_cause", "hangup_by", "codec", "packets_lost", "trunk"})
		for _, c := range cdrs {
			cw.Write([]string{c.ID, c.CallID, c.From, c.To, ts(c.Start), ts(c.Answer), ts(c.End),
				secs(c.Duration), secs(c.Billsec), c.Disposition, c.HangupCause, c.HangupBy, c.Codec,
				strconv.FormatUint(c.PacketsLost, 10), c.Trunk})
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "START\tFROM\tTO\tDISPOSITION\tDURATION\tBILLSEC\tBY\tCAUSE\tCODEC\tLOST\tTRUNK")
		for _, c := range cdrs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.Start.Format("2006-01-02 15:04:05"),
				c.From, c.To, c.Disposition, c.Duration.Round(time.Second), c.Billsec.Round(time.Second),
				c.HangupBy, c.HangupCause, c.Codec, c.PacketsLost, c.Trunk)
		}
		return tw.Flush()
	}
	return fmt.Errorf("format %q: want table, csv or json", format)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
