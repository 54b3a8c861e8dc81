package store

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleCDRs: an answered outbound call, an unanswered one, and one whose
// fields need quoting in CSV.
func sampleCDRs() []CDR {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	return []CDR{
		{
			ID: "pbx1-0001", CallID: "a84b4c76e66710@192.0.2.4", From: "1001", To: "0033155550000",
			Start: start, Answer: start.Add(3 * time.Second), End: start.Add(65*time.Second + 400*time.Millisecond),
			Duration: 65*time.Second + 400*time.Millisecond, Billsec: 62*time.Second + 400*time.Millisecond,
			Disposition: Answered, HangupCause: "normal_clearing", HangupBy: "callee", Codec: "PCMA",
			PacketsLost: 12, Trunk: "carrier",
		},
		{
			ID: "pbx1-0002", CallID: "3848276298220188511@192.0.2.5", From: "1002", To: "1003",
			Start: start.Add(time.Minute), End: start.Add(time.Minute + 30*time.Second), Duration: 30 * time.Second,
			Disposition: NoAnswer, HangupCause: "no_answer", HangupBy: "system",
		},
		{
			ID: "pbx1-0003", CallID: `odd"id`, From: "Sales, \"east\"", To: "1001",
			Start: start.Add(2 * time.Minute), End: start.Add(2 * time.Minute), Disposition: Busy,
			HangupCause: "busy", HangupBy: "callee", Codec: "PCMU",
		},
	}
}

func TestWriteCDRsGolden(t *testing.T) {
	for _, tt := range []struct {
		format, golden string
		cdrs           []CDR
	}{
		{"table", "cdrs.table.golden", sampleCDRs()},
		{"csv", "cdrs.csv.golden", sampleCDRs()},
		{"json", "cdrs.json.golden", sampleCDRs()},
		{"table", "empty.table.golden", nil},
		{"csv", "empty.csv.golden", nil},
		{"json", "empty.json.golden", nil},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteCDRs(&b, tt.cdrs, tt.format); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("%s output:\n%s\nwant (%s):\n%s", tt.format, b.Bytes(), path, want)
			}
		})
	}
}

func TestWriteCDRsDefaultAndUnknownFormat(t *testing.T) {
	var table, def bytes.Buffer
	WriteCDRs(&table, sampleCDRs(), "table")
	WriteCDRs(&def, sampleCDRs(), "")
	if !bytes.Equal(table.Bytes(), def.Bytes()) {
		t.Fatal("the default format is not the table")
	}
	if err := WriteCDRs(&def, nil, "yaml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}
