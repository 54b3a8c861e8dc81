package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data") // Open creates it
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func keys(t *testing.T, kv KV, bucket string) string {
	t.Helper()
	var out []string
	if err := kv.ForEach(bucket, func(k string, v []byte) error { out = append(out, k+"="+string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ",")
}

func TestKVRoundTrip(t *testing.T) {
	s, dir := openTemp(t)
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("no database file: %v", err)
	}
	var kv KV = s
	if v, err := kv.Get("regs", "missing"); v != nil || err != nil {
		t.Fatalf("absent bucket: %q %v", v, err)
	}
	if err := kv.ForEach("regs", func(string, []byte) error { t.Fatal("called on an absent bucket"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete("regs", "missing"); err != nil {
		t.Fatalf("delete from an absent bucket: %v", err)
	}
	for _, k := range []string{"1002", "1001", "1003"} {
		if err := kv.Put("regs", k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	kv.Put("bans", "192.0.2.1", []byte("x"))
	if v, err := kv.Get("regs", "1002"); string(v) != "v1002" || err != nil {
		t.Fatalf("get: %q %v", v, err)
	}
	if v, _ := kv.Get("regs", "missing"); v != nil {
		t.Fatalf("absent key: %q", v)
	}
	kv.Put("regs", "1003", []byte("replaced"))
	kv.Put("regs", "empty", []byte{})
	if v, err := kv.Get("regs", "empty"); v == nil || len(v) != 0 || err != nil {
		t.Fatalf("empty value: %#v %v", v, err)
	}
	kv.Delete("regs", "empty")
	if got := keys(t, kv, "regs"); got != "1001=v1001,1002=v1002,1003=replaced" {
		t.Fatalf("in key order: %s", got)
	}
	if err := kv.Delete("regs", "1001"); err != nil {
		t.Fatal(err)
	}
	if v, _ := kv.Get("regs", "1001"); v != nil {
		t.Fatal("deleted key still there")
	}
	if err := kv.Put("regs", "", []byte("x")); err == nil {
		t.Fatal("empty key accepted")
	}
}

// A value from Get is the caller's to keep and change.
func TestGetReturnsACopy(t *testing.T) {
	s, _ := openTemp(t)
	s.Put("b", "k", []byte("abc"))
	v, _ := s.Get("b", "k")
	v[0] = 'X'
	if v, _ := s.Get("b", "k"); string(v) != "abc" {
		t.Fatalf("stored value changed: %q", v)
	}
}

// ForEach's fn may write to the store (it runs outside the transaction),
// and its error stops the walk.
func TestForEachMayWriteAndStops(t *testing.T) {
	s, _ := openTemp(t)
	for _, k := range []string{"a", "b", "c"} {
		s.Put("b", k, []byte(k))
	}
	err := s.ForEach("b", func(k string, v []byte) error {
		return s.Put("copy", k, v)
	})
	if err != nil || keys(t, s, "copy") != "a=a,b=b,c=c" {
		t.Fatalf("copy: %v %s", err, keys(t, s, "copy"))
	}
	stop := errors.New("stop")
	n := 0
	if err := s.ForEach("b", func(string, []byte) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
}

func TestPersistsAcrossCloseAndOpen(t *testing.T) {
	s, dir := openTemp(t)
	s.Put("regs", "1001", []byte("contact"))
	s.PutUser("2001", "secret", "Dave")
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	s.AddCDR(CDR{ID: "pbx1-1", Start: start, Disposition: Answered})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Get("regs", "1001"); string(v) != "contact" {
		t.Fatalf("kv after reopen: %q", v)
	}
	if pw, name, ok, err := s.User("2001"); !ok || pw != "secret" || name != "Dave" || err != nil {
		t.Fatalf("user after reopen: %q %q %v %v", pw, name, ok, err)
	}
	if cdrs, _ := s.CDRs(time.Time{}, 0); len(cdrs) != 1 || cdrs[0].ID != "pbx1-1" || !cdrs[0].Start.Equal(start) {
		t.Fatalf("cdrs after reopen: %+v", cdrs)
	}
}

// A second process gets a clear error after a second instead of hanging.
func TestOpenLockedFailsFast(t *testing.T) {
	_, dir := openTemp(t)
	start := time.Now()
	s2, err := Open(dir)
	took := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second open succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "store locked by another process") {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("took %s", took)
	}
	// Readers are locked out by a writer too.
	if _, err := OpenReadOnly(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("read-only open: %v, want ErrLocked", err)
	}
}

func TestOpenReadOnly(t *testing.T) {
	if _, err := OpenReadOnly(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no store: %v", err)
	}
	s, dir := openTemp(t)
	s.Put("b", "k", []byte("v"))
	s.Close()

	r1, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := OpenReadOnly(dir) // readers share
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if v, _ := r2.Get("b", "k"); string(v) != "v" {
		t.Fatalf("read: %q", v)
	}
	if err := r1.Put("b", "k", []byte("w")); err == nil {
		t.Fatal("write to a read-only store accepted")
	}
}

func TestUsers(t *testing.T) {
	s, _ := openTemp(t)
	var u Users = s
	if _, _, ok, err := u.User("2001"); ok || err != nil {
		t.Fatalf("absent user: %v %v", ok, err)
	}
	u.PutUser("2001", "one", "")
	u.PutUser("2001", "two", "Eve")
	if pw, name, ok, _ := u.User("2001"); !ok || pw != "two" || name != "Eve" {
		t.Fatalf("user: %q %q %v", pw, name, ok)
	}
	if err := u.PutUser("", "x", ""); err == nil {
		t.Fatal("empty extension accepted")
	}
}

func TestCDRsChronologicalSinceAndLimit(t *testing.T) {
	s, _ := openTemp(t)
	var log CDRLog = s
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	// Written out of order; "b" and "b2" start at the same instant, and one
	// start is in another zone but earlier in absolute time.
	for _, c := range []CDR{
		{ID: "d", Start: base.Add(3 * time.Hour)},
		{ID: "b2", Start: base.Add(time.Hour)},
		{ID: "a", Start: base.In(paris)},
		{ID: "b", Start: base.Add(time.Hour)},
		{ID: "c", Start: base.Add(2 * time.Hour).In(paris)},
		{ID: "old", Start: time.Date(1999, 12, 31, 23, 59, 59, 999, time.UTC)},
	} {
		if err := log.AddCDR(c); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(cdrs []CDR, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cdrs {
			out = append(out, c.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		since time.Time
		limit int
		want  string
	}{
		{time.Time{}, 0, "old,a,b,b2,c,d"},
		{base, 0, "a,b,b2,c,d"},                               // since is inclusive
		{base.Add(time.Nanosecond), 0, "b,b2,c,d"},            // and exact to the nanosecond
		{base.Add(90 * time.Minute).In(paris), 0, "c,d"},      // in any zone
		{base.Add(time.Hour), 2, "b,b2"},                      // limit: the oldest first
		{base, -1, "a,b,b2,c,d"},                              // no limit
		{base.Add(4 * time.Hour), 0, ""},                      // nothing since
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 1, "a"}, // just after the old one
	} {
		if got := ids(log.CDRs(tt.since, tt.limit)); got != tt.want {
			t.Errorf("CDRs(%s, %d) = %s, want %s", tt.since, tt.limit, got, tt.want)
		}
	}
	// The same record written again replaces itself.
	log.AddCDR(CDR{ID: "a", Start: base, Disposition: Busy})
	if all, _ := log.CDRs(base, 1); len(all) != 1 || all[0].Disposition != Busy {
		t.Fatalf("rewrite: %+v", all)
	}
	if err := log.AddCDR(CDR{Start: base}); err == nil {
		t.Fatal("record without id accepted")
	}
	if empty, err := openTempCDRs(t); err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("empty store: %#v %v", empty, err)
	}
}

func openTempCDRs(t *testing.T) ([]CDR, error) {
	s, _ := openTemp(t)
	return s.CDRs(time.Time{}, 0)
}

// Every field survives the round trip through the store.
func TestCDRRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	in := sampleCDRs()[0]
	s.AddCDR(in)
	out, _ := s.CDRs(time.Time{}, 0)
	if len(out) != 1 {
		t.Fatalf("%d records", len(out))
	}
	got := out[0]
	if !got.Start.Equal(in.Start) || !got.Answer.Equal(in.Answer) || !got.End.Equal(in.End) {
		t.Fatalf("times: %+v", got)
	}
	got.Start, got.Answer, got.End = in.Start, in.Answer, in.End
	if got != in {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
}

// Records added by many calls ending at once are all kept: they share
// transactions, not records.
func TestAddCDRConcurrent(t *testing.T) {
	s, _ := openTemp(t)
	const n = 64
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := CDR{ID: fmt.Sprintf("node-%03d", i), Start: start.Add(time.Duration(i) * time.Millisecond), End: start.Add(time.Second)}
			if err := s.AddCDR(c); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	recs, err := s.CDRs(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if want := fmt.Sprintf("node-%03d", i); r.ID != want {
			t.Fatalf("record %d is %s, want %s (oldest first)", i, r.ID, want)
		}
	}
}

// PutMany puts and deletes in one transaction, and what it wrote is there
// after the file is closed and opened again.
func TestPutManyPutsDeletesAndPersists(t *testing.T) {
	s, dir := openTemp(t)
	if err := s.Put("regs", "1003", []byte("old")); err != nil {
		t.Fatal(err)
	}
	err := s.PutMany("regs", map[string][]byte{
		"1001": []byte("a"),
		"1002": []byte("b"),
		"1003": nil, // deleted
		"1004": nil, // deleting what is not there is no error
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMany("regs", nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := keys(t, s, "regs"); got != "1001=a,1002=b" {
		t.Fatalf("after reopen: %s", got)
	}
}
