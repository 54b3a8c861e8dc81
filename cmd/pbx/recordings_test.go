package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pbx/recordings"
	"pbx/store"
)

// recordCalls makes an archive in a fresh data directory holding one
// recording two days old and one just made, and returns the directory,
// the archive and the ids (old, new). The caller closes the archive.
func recordCalls(t *testing.T) (string, *recordings.Archive, *store.Store, [2]string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := now.Add(-48 * time.Hour)
	a, err := recordings.Open(context.Background(), recordings.Options{
		Dir: t.TempDir(), Format: recordings.Stereo, Now: func() time.Time { return clock },
	}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids [2]string
	for i, call := range []string{"call-old", "call-new"} {
		r, err := a.Start(recordings.Meta{CallID: call, Caller: "1001", Callee: "1002"}, recordings.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range 25 * (i + 1) {
			r.WriteFrame(nil, nil)
		}
		e, err := r.Stop()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = e.ID
		clock = now
	}
	return dir, a, st, ids
}

func TestRecordingsCommandReadsStore(t *testing.T) {
	dir, a, st, ids := recordCalls(t)
	a.Close()
	st.Close()
	api := deadAPI(t)

	table := capture(t, func() error { return listRecordings([]string{"-data", dir, "-api", api}) })
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "START (UTC)") ||
		!strings.HasPrefix(lines[1], ids[1]) || !strings.Contains(lines[1], " 1.0 ") || !strings.Contains(lines[1], "stereo") ||
		!strings.Contains(lines[2], " 0.5 ") || !strings.Contains(lines[2], "call-old") {
		t.Fatalf("table:\n%s", table)
	}
	recent := capture(t, func() error { return listRecordings([]string{"-data", dir, "-api", api, "-since", "24h"}) })
	if !strings.Contains(recent, ids[1]) || strings.Contains(recent, ids[0]) {
		t.Fatalf("since 24h:\n%s", recent)
	}
	byCall := capture(t, func() error {
		return listRecordings([]string{"-data", dir, "-api", api, "-call", "call-old", "-format", "csv"})
	})
	if rows := strings.Split(strings.TrimSpace(byCall), "\n"); len(rows) != 2 ||
		rows[0] != "ID,START_UTC,DURATION_S,SIZE,MODE,CALL,PATH" || !strings.HasPrefix(rows[1], ids[0]+",") {
		t.Fatalf("csv for call-old:\n%s", byCall)
	}
	js := capture(t, func() error { return listRecordings([]string{"-data", dir, "-api", api, "-format", "json"}) })
	var list []map[string]any
	if err := json.Unmarshal([]byte(js), &list); err != nil || len(list) != 2 || list[1]["duration_s"] != 0.5 {
		t.Fatalf("json (%v):\n%s", err, js)
	}
	if err := listRecordings([]string{"-data", dir, "-api", api, "-format", "xml"}); err == nil {
		t.Error("unknown format accepted")
	}
	if err := listRecordings([]string{"-data", dir, "-api", api, "-since", "last week"}); err == nil {
		t.Error("bad -since accepted")
	}
}

func TestRecordingsCommandAsksRunningPBX(t *testing.T) {
	_, a, st, ids := recordCalls(t)
	defer st.Close()
	defer a.Close()
	srv := httptest.NewServer(a.Handler("tok"))
	defer srv.Close()
	nodata := t.TempDir()

	out := capture(t, func() error {
		return listRecordings([]string{"-api", srv.URL, "-token", "tok", "-data", nodata, "-call", "call-new", "-format", "csv"})
	})
	if rows := strings.Split(strings.TrimSpace(out), "\n"); len(rows) != 2 || !strings.HasPrefix(rows[1], ids[1]+",") {
		t.Fatalf("from the API:\n%s", out)
	}
	err := listRecordings([]string{"-api", srv.URL, "-token", "wrong", "-data", nodata})
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong token: %v", err)
	}
}
