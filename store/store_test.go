package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKVRoundTripAndPersistence(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("b", "missing"); v != nil || err != nil {
		t.Fatalf("absent key: %q %v", v, err)
	}
	s.Put("b", "k2", []byte("two"))
	s.Put("b", "k1", []byte("one"))
	s.Delete("b", "nothing")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []string
	s.ForEach("b", func(k string, v []byte) error { keys = append(keys, k+"="+string(v)); return nil })
	if strings.Join(keys, ",") != "k1=one,k2=two" {
		t.Fatalf("after reopen: %v", keys)
	}
	s.Delete("b", "k1")
	if v, _ := s.Get("b", "k1"); v != nil {
		t.Fatal("deleted key still there")
	}
}

// A second process gets a clear error at once instead of hanging.
func TestOpenLockedFailsFast(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestCDRsInOrderSince(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i, id := range []string{"c", "a", "b"} { // written out of order
		start := base.Add(time.Duration([]int{3, 1, 2}[i]) * time.Hour)
		s.AddCDR(CDR{ID: id, Start: start, End: start.Add(time.Minute), Disposition: "ANSWERED"})
	}
	all, _ := s.CDRs(time.Time{}, 0)
	if len(all) != 3 || all[0].ID != "a" || all[2].ID != "c" {
		t.Fatalf("order: %+v", all)
	}
	recent, _ := s.CDRs(base.Add(90*time.Minute), 0)
	if len(recent) != 2 || recent[0].ID != "b" {
		t.Fatalf("since: %+v", recent)
	}
	if one, _ := s.CDRs(time.Time{}, 1); len(one) != 1 {
		t.Fatalf("limit: %+v", one)
	}
}

func TestWriteCDRsFormats(t *testing.T) {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	recs := []CDR{{ID: "pbx1-1", CallID: "x@y", From: "1001", To: "1002", Start: start, Answer: start.Add(2 * time.Second),
		End: start.Add(62 * time.Second), Duration: 62 * time.Second, Billsec: 60 * time.Second, Disposition: "ANSWERED",
		HangupCause: "normal_clearing", HangupBy: "caller", Codec: "PCMU"}}
	var b bytes.Buffer
	WriteCDRs(&b, recs, "csv")
	want := "id,call_id,from,to,start,answer,end,duration_s,billsec_s,disposition,hangup_cause,hangup_by,codec,packets_lost,trunk\n" +
		"pbx1-1,x@y,1001,1002,2026-11-01T12:00:00Z,2026-11-01T12:00:02Z,2026-11-01T12:01:02Z,62.000,60.000,ANSWERED,normal_clearing,caller,PCMU,0,\n"
	if b.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	WriteCDRs(&b, recs, "table")
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "2026-11-01 12:00:00  1001  1002  ANSWERED     1m2s") {
		t.Fatalf("table:\n%s", b.String())
	}
	b.Reset()
	WriteCDRs(&b, nil, "json")
	if strings.TrimSpace(b.String()) != "[]" {
		t.Fatalf("empty json: %q", b.String())
	}
	if err := WriteCDRs(&b, recs, "yaml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}
