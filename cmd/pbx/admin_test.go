package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"pbx/store"
)

// capture runs f with stdout redirected and returns what it printed.
func capture(t *testing.T, f func() error) string {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stdout
	os.Stdout = w
	err := f()
	w.Close()
	os.Stdout = old
	var b bytes.Buffer
	io.Copy(&b, r)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return b.String()
}

// deadAPI is an address where no PBX answers, so the commands read the store.
func deadAPI(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestCDRCommandReadsStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	st.AddCDR(store.CDR{ID: "pbx1-old", From: "1001", To: "1002", Start: old, End: old.Add(time.Minute), Disposition: "ANSWERED"})
	st.AddCDR(store.CDR{ID: "pbx1-new", From: "1002", To: "1003", Start: time.Now(), End: time.Now(), Disposition: "BUSY"})
	st.Close()
	api := deadAPI(t)

	all := capture(t, func() error { return cdr([]string{"-data", dir, "-api", api, "-format", "csv"}) })
	if lines := strings.Split(strings.TrimSpace(all), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "id,call_id,from,to") {
		t.Fatalf("csv:\n%s", all)
	}
	recent := capture(t, func() error { return cdr([]string{"-data", dir, "-api", api, "-since", "24h"}) })
	if !strings.Contains(recent, "BUSY") || strings.Contains(recent, "ANSWERED") {
		t.Fatalf("table since 24h:\n%s", recent)
	}
	js := capture(t, func() error { return cdr([]string{"-data", dir, "-api", api, "-format", "json"}) })
	if !strings.Contains(js, `"id": "pbx1-old"`) {
		t.Fatalf("json:\n%s", js)
	}
	if err := cdr([]string{"-data", dir, "-api", api, "-format", "xml"}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/bad.yaml"
	os.WriteFile(bad, []byte("sip:\n  udpp: \":5060\"\n"), 0o600)
	err := checkConfig([]string{bad})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:2: sip.udpp") {
		t.Fatalf("error %v, want one naming bad.yaml:2: sip.udpp", err)
	}
	if out := capture(t, func() error { return checkConfig([]string{"../../pbx.yaml"}) }); !strings.Contains(out, "ok") {
		t.Fatalf("default config: %s", out)
	}
}
