package store

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func exportRecords(t *testing.T, s *Store, n int, base time.Time) []CDR {
	t.Helper()
	var out []CDR
	kv := map[string][]byte{}
	for i := range n {
		c := CDR{
			ID: fmt.Sprintf("n1-%04d", i), CallID: fmt.Sprintf("call-%d@x", i), From: "1001", To: "5000",
			Start: base.Add(time.Duration(i) * time.Second), Disposition: Answered, HangupCause: "normal",
			HangupBy: "caller", Codec: "PCMU", PacketsLost: uint64(i), Trunk: `odd, "quoted"` + "\nname",
		}
		c.Answer = c.Start.Add(2 * time.Second)
		c.End = c.Start.Add(time.Minute)
		c.Duration, c.Billsec = c.End.Sub(c.Start), c.End.Sub(c.Answer)
		if i%3 == 0 {
			c.Answer, c.Billsec, c.Disposition = time.Time{}, 0, NoAnswer
		}
		v, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		kv[cdrKey(c)] = v // one transaction: AddCDR's fsync each would be slow
		out = append(out, c)
	}
	if err := s.PutMany(CDRBucket, kv); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportCDRsRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	base := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	all := exportRecords(t, s, 2*scanChunk+10, base) // several read chunks
	tests := []struct {
		name     string
		from, to time.Time
		want     []CDR
	}{
		{"all", time.Time{}, time.Time{}, all},
		{"window", all[100].Start, all[900].Start, all[100:900]},
		{"to excludes its instant", time.Time{}, all[1].Start, all[:1]},
		{"none", base.Add(-time.Hour), base, nil},
	}
	for _, tc := range tests {
		for _, format := range []string{FormatCSV, FormatJSON} {
			var out bytes.Buffer
			n, err := s.ExportCDRs(&out, tc.from, tc.to, format)
			if err != nil || n != len(tc.want) {
				t.Fatalf("%s %s: n=%d err=%v, want %d", tc.name, format, n, err, len(tc.want))
			}
			// The export is what WriteCDRs prints for the same records.
			var ref bytes.Buffer
			if err := WriteCDRs(&ref, tc.want, format); err != nil {
				t.Fatal(err)
			}
			if out.String() != ref.String() {
				t.Fatalf("%s %s: export differs from WriteCDRs\n%.300s\nvs\n%.300s", tc.name, format, out.String(), ref.String())
			}
			// And it reads back.
			switch format {
			case FormatJSON:
				var back []CDR
				if err := json.Unmarshal(out.Bytes(), &back); err != nil {
					t.Fatal(err)
				}
				if len(back) != len(tc.want) {
					t.Fatalf("%s json: %d back", tc.name, len(back))
				}
				for i := range back {
					if !cdrEqual(back[i], tc.want[i]) {
						t.Fatalf("%s json: record %d\n%+v\n%+v", tc.name, i, back[i], tc.want[i])
					}
				}
			case FormatCSV:
				rows, err := csv.NewReader(&out).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != len(tc.want)+1 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
					t.Fatalf("%s csv: %d rows, header %v", tc.name, len(rows), rows[0])
				}
				for i, r := range rows[1:] {
					c := tc.want[i]
					if r[0] != c.ID || r[4] != utc(c.Start) || r[5] != utc(c.Answer) || r[8] != seconds(c.Billsec) || r[14] != c.Trunk {
						t.Fatalf("%s csv: row %d = %q for %+v", tc.name, i, r, c)
					}
				}
			}
		}
	}
	if _, err := s.ExportCDRs(&bytes.Buffer{}, time.Time{}, time.Time{}, "table"); err == nil {
		t.Fatal("format table accepted")
	}
}

func cdrEqual(a, b CDR) bool {
	return a.ID == b.ID && a.CallID == b.CallID && a.From == b.From && a.To == b.To && a.Start.Equal(b.Start) &&
		a.Answer.Equal(b.Answer) && a.End.Equal(b.End) && a.Duration == b.Duration && a.Billsec == b.Billsec &&
		a.Disposition == b.Disposition && a.HangupCause == b.HangupCause && a.HangupBy == b.HangupBy &&
		a.Codec == b.Codec && a.PacketsLost == b.PacketsLost && a.Trunk == b.Trunk
}

// failWriter fails after n bytes, as a full disk would.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, fmt.Errorf("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestExportCDRsWriteError(t *testing.T) {
	s, _ := openTemp(t)
	exportRecords(t, s, 2*scanChunk, time.Now())
	n, err := s.ExportCDRs(&failWriter{n: 1000}, time.Time{}, time.Time{}, FormatCSV)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if n != 0 {
		t.Fatalf("reported %d written before the first write failed", n)
	}
}

func BenchmarkExportCDRs(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := time.Now()
	kv := map[string][]byte{}
	for i := range 2000 {
		c := CDR{ID: fmt.Sprint(i), Start: base.Add(time.Duration(i)), From: "1001", To: "5000", Disposition: Answered}
		kv[cdrKey(c)], _ = json.Marshal(c)
	}
	if err := s.PutMany(CDRBucket, kv); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{FormatCSV, FormatJSON} {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if n, err := s.ExportCDRs(&bytes.Buffer{}, time.Time{}, time.Time{}, f); err != nil || n != 2000 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
