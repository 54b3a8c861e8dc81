package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pbx/internal/testkit"
	"pbx/store"
)

// addCDRs writes n call records, one a minute from base, to st and returns
// them in start order.
func addCDRs(t *testing.T, st *store.Store, n int, base time.Time) []store.CDR {
	t.Helper()
	var out []store.CDR
	for i := range n {
		start := base.Add(time.Duration(i) * time.Minute)
		c := store.CDR{
			ID: fmt.Sprintf("pbx1-%04d", i), CallID: fmt.Sprintf("c%d@test", i), From: "1001", To: "5000",
			Start: start, Answer: start.Add(time.Second), End: start.Add(30 * time.Second),
			Duration: 30 * time.Second, Billsec: 29 * time.Second, Disposition: store.Answered,
			HangupBy: "caller", HangupCause: "normal", Codec: "PCMU", Trunk: `odd, "name"`,
		}
		if err := st.AddCDR(c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// wantExport is what the export of recs prints: what `pbx cdr` prints for
// them in the same format.
func wantExport(t *testing.T, recs []store.CDR, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := store.WriteCDRs(&b, recs, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCDRExportReadsStoppedStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	recs := addCDRs(t, st, 20, base)
	st.Close()
	api := deadAPI(t)
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }

	tests := []struct {
		name   string
		args   []string
		format string
		want   []store.CDR
	}{
		{"all as csv", nil, "csv", recs},
		{"window as json", []string{"-from", rfc(recs[5].Start), "-to", rfc(recs[12].Start)}, "json", recs[5:12]},
		{"from only", []string{"--from", rfc(recs[18].Start)}, "csv", recs[18:]},
		{"nothing in range", []string{"-to", rfc(base)}, "json", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-data", dir, "-api", api, "-format", tc.format}, tc.args...)
			got := capture(t, func() error { return cdrExport(args) })
			if want := wantExport(t, tc.want, tc.format); got != want {
				t.Fatalf("export:\n%s\nwant:\n%s", got, want)
			}
		})
	}

	// -o writes the file whole, and `pbx cdr export` reaches it through cdr.
	file := filepath.Join(t.TempDir(), "march.json")
	if out := capture(t, func() error {
		return cdr([]string{"export", "-data", dir, "-api", api, "-format", "json", "-o", file})
	}); out != "" {
		t.Fatalf("stdout with -o: %q", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var back []store.CDR
	if err := json.Unmarshal(b, &back); err != nil || len(back) != len(recs) || back[19].ID != recs[19].ID {
		t.Fatalf("file (%v): %d records", err, len(back))
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	for _, bad := range [][]string{
		{"-format", "xml"},
		{"-format", "table"},
		{"-from", "last week"},
		{"-from", rfc(recs[5].Start), "-to", rfc(recs[5].Start)},
		{"extra"},
	} {
		if err := cdrExport(append([]string{"-data", dir, "-api", api}, bad...)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := cdrExport([]string{"-data", t.TempDir(), "-api", api}); err == nil || !strings.Contains(err.Error(), "no running PBX") {
		t.Errorf("no PBX and no store: %v", err)
	}
}

// With a PBX running, the export comes from its API (the store is locked),
// and reads the same as from the store.
func TestCDRExportAsksRunningPBX(t *testing.T) {
	p := testkit.StartPBX(t, "")
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	recs := addCDRs(t, p.Store(), 10, base)
	api := "http://" + p.HTTPAddr()
	nodata := t.TempDir()

	for _, format := range []string{"csv", "json"} {
		got := capture(t, func() error {
			return cdrExport([]string{"-api", api, "-data", nodata, "-format", format, "-from", "3h", "-to", base.Add(4 * time.Minute).Format(time.RFC3339)})
		})
		if want := wantExport(t, recs[:4], format); got != want {
			t.Fatalf("%s from the API:\n%s\nwant:\n%s", format, got, want)
		}
	}
	file := filepath.Join(t.TempDir(), "out.csv")
	capture(t, func() error { return cdrExport([]string{"-api", api, "-data", nodata, "-o", file}) })
	if b, _ := os.ReadFile(file); string(b) != wantExport(t, recs, "csv") {
		t.Fatalf("file:\n%s", b)
	}
	// The running PBX holds its store: reading it directly is refused.
	err := cdrExport([]string{"-api", deadAPI(t), "-data", p.DataDir})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("store of a running PBX: %v, want ErrLocked", err)
	}
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-72 * time.Hour)
	// Records big enough to fill many pages, most of them then pruned.
	kv := map[string][]byte{}
	for i := range 4000 {
		start := base.Add(time.Duration(i) * time.Second)
		kv[store.TimeKey(start)+fmt.Sprintf("/n%05d", i)] = bytes.Repeat([]byte{'x'}, 1000)
	}
	if err := st.PutMany(store.CDRBucket, kv); err != nil {
		t.Fatal(err)
	}
	keep := base.Add(3900 * time.Second)
	if n, err := st.Prune(store.CDRBucket, keep, 0); err != nil || n != 3900 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	path := filepath.Join(dir, store.FileName)

	// Refused while a PBX (here: this store) holds the file.
	if err := compact([]string{"-data", dir}); !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("compact of an open store: %v", err)
	}
	st.Close()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	out := capture(t, func() error { return compact([]string{"-data", dir}) })
	var before, after int64
	if _, err := fmt.Sscanf(out[strings.Index(out, "(")+1:], "%d -> %d bytes", &before, &after); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	fi, _ := os.Stat(path)
	if before != int64(len(old)) || after != fi.Size() || after*4 > before {
		t.Fatalf("sizes %d -> %d (file now %d): not compacted\n%s", before, after, fi.Size(), out)
	}
	bak, err := os.ReadFile(path + ".bak")
	if err != nil || !bytes.Equal(bak, old) {
		t.Fatalf("backup (%v): not the old store", err)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
	st, err = store.OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	st.Range(store.CDRBucket, time.Time{}, time.Time{}, 0, func(string, []byte) error { n++; return nil })
	st.Close()
	if n != 100 {
		t.Fatalf("%d keys after compaction, want 100", n)
	}

	// Again: the previous backup is replaced.
	capture(t, func() error { return compact([]string{"-data", dir}) })
	if bak, _ := os.ReadFile(path + ".bak"); int64(len(bak)) != after {
		t.Fatalf("second backup is %d bytes, want %d", len(bak), after)
	}
	if err := compact([]string{"-data", t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("empty directory: %v", err)
	}
}
