package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pbx/internal/testkit"
	"pbx/queue"
)

// rows splits a table into its lines, and each line into its columns
// (runs of two spaces or more separate them).
func rows(table string) [][]string {
	var out [][]string
	for _, l := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		var cols []string
		for _, c := range strings.Split(l, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		out = append(out, cols)
	}
	return out
}

// row finds the line of table whose first column is key.
func row(t *testing.T, table, key string) []string {
	t.Helper()
	for _, r := range rows(table) {
		if len(r) > 0 && r[0] == key {
			return r
		}
	}
	t.Fatalf("no line for %s in:\n%s", key, table)
	return nil
}

// The contact-center commands against a running PBX with the default
// configuration (queue support on 5000; agents 9001, static, and 1003,
// dynamic): an agent logged in and paused, a caller waiting, then
// abandoning; then the queue log read again from the stopped PBX's store.
func TestContactCommands(t *testing.T) {
	p := testkit.StartPBX(t, "")
	api := "http://" + p.HTTPAddr()
	cc := queue.Of(p.Engine())
	if cc == nil {
		t.Fatal("no contact center on the engine")
	}
	ctx := context.Background()
	if err := cc.Login(ctx, "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cc.Pause("1003", "lunch", "sandwich"); err != nil {
		t.Fatal(err)
	}
	for ev := p.WaitEvent(queue.EventAgentStateChanged, 5*time.Second); ev.State != queue.StatePaused; {
		ev = p.WaitEvent(queue.EventAgentStateChanged, 5*time.Second)
	}

	// A caller waits: nobody is free to take the call.
	caller := testkit.NewPhone(t, p.Addr(), "1001", "demo1001")
	if _, err := caller.Register(300); err != nil {
		t.Fatal(err)
	}
	call, err := caller.Call(ctx, "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	joined := p.WaitEvent(queue.EventJoined, 5*time.Second)
	if joined.Queue != "support" || joined.Position != 1 {
		t.Fatalf("joined: %+v", joined)
	}

	all := capture(t, func() error { return queues([]string{"-api", api}) })
	if r := row(t, all, "support"); len(r) != 9 || r[1] != "longest-idle-agent" || r[2] != "1" ||
		r[4] != "logged-out 1, paused 1" || r[5] != "1" || r[6] != "0" || r[7] != "0" || r[8] != "-" {
		t.Fatalf("pbx queues: %q in\n%s", r, all)
	}
	if h := rows(all)[0]; strings.Join(h, " ") != "QUEUE STRATEGY WAITING LONGEST AGENTS OFFERED ANSWERED ABANDONED SL%" {
		t.Fatalf("header %q", h)
	}

	one := capture(t, func() error { return queues([]string{"support", "-api", api}) })
	if r := row(t, one, "1"); r[1] != "1001" || r[3] != "0" || r[4] != joined.LegID {
		t.Fatalf("caller line %q in\n%s", r, one)
	}
	if r := row(t, one, "1003"); strings.Join(r, " ") != "1003 0 paused" {
		t.Fatalf("member 1003: %q in\n%s", r, one)
	}
	if r := row(t, one, "9001"); strings.Join(r, " ") != "9001 0 logged-out" {
		t.Fatalf("member 9001: %q in\n%s", r, one)
	}
	var st queue.QueueStatus
	js := capture(t, func() error { return queues([]string{"support", "-format", "json", "-api", api}) })
	if err := json.Unmarshal([]byte(js), &st); err != nil || st.Waiting != 1 || len(st.Callers) != 1 || st.Callers[0].LegID != joined.LegID {
		t.Fatalf("json (%v):\n%s", err, js)
	}

	ags := capture(t, func() error { return agents([]string{"-api", api}) })
	if r := row(t, ags, "1003"); r[1] != "Carol" || r[2] != "paused" || r[3] != "lunch" || r[4] != "sandwich" ||
		!strings.HasSuffix(r[5], "s)") || r[6] != "support" || r[7] != "0" {
		t.Fatalf("agent 1003: %q in\n%s", r, ags)
	}
	if r := row(t, ags, "9001"); r[1] != "Dave" || r[2] != "logged-out" {
		t.Fatalf("agent 9001: %q in\n%s", r, ags)
	}
	var list []queue.AgentStatus
	if err := json.Unmarshal([]byte(capture(t, func() error { return agents([]string{"-api", api, "-format", "json"}) })), &list); err != nil || len(list) != 2 {
		t.Fatalf("agents json: %v, %d agents", err, len(list))
	}

	// The caller gives up.
	call.Hangup()
	if left := p.WaitEvent(queue.EventLeft, 5*time.Second); left.Cause != queue.LeftAbandoned {
		t.Fatalf("left: %+v", left)
	}
	after := capture(t, func() error { return queues([]string{"-api", api}) })
	if r := row(t, after, "support"); r[2] != "0" || r[5] != "1" || r[7] != "1" {
		t.Fatalf("after the abandon: %q", r)
	}
	hist := capture(t, func() error { return queues([]string{"support", "-history", "-from", "1h", "-api", api}) })
	if rs := rows(hist); len(rs) != 2 || rs[1][1] != "1" || rs[1][2] != "0" || rs[1][3] != "1" {
		t.Fatalf("history:\n%s", hist)
	}

	// The queue log is written behind the calls, so it is read until the
	// abandon is in.
	var logged string
	for deadline := time.Now().Add(5 * time.Second); ; {
		logged = capture(t, func() error { return queueLog([]string{"-api", api, "-format", "log"}) })
		if strings.Contains(logged, "|ABANDON|") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		"|support|Agent/1003|AGENTLOGIN|", "|support|Agent/1003|PAUSE|lunch",
		"|" + joined.CallID + "|support|NONE|ENTERQUEUE||1001|1", "|" + joined.CallID + "|support|NONE|ABANDON|1|1|",
	} {
		if !strings.Contains(logged, want) {
			t.Fatalf("queue log has no %q:\n%s", want, logged)
		}
	}

	for _, bad := range [][]string{{"nosuch"}, {"support", "extra"}, {"-history"}, {"-format", "csv"}} {
		if err := queues(append([]string{"-api", api}, bad...)); err == nil {
			t.Errorf("pbx queues %q accepted", bad)
		}
	}
	if err := queueLog([]string{"-api", api, "-from", "1h", "-to", "2h"}); err == nil {
		t.Error("-to before -from accepted")
	}

	// Stopped: live state is refused plainly, the queue log comes from the store.
	p.Stop()
	if err := agents([]string{"-api", api}); err == nil || !strings.Contains(err.Error(), "no PBX answers") {
		t.Fatalf("agents with no PBX: %v", err)
	}
	stored := capture(t, func() error { return queueLog([]string{"-api", api, "-data", p.DataDir, "-format", "log"}) })
	if !strings.HasPrefix(stored, logged) {
		t.Fatalf("from the store:\n%s\nfrom the API:\n%s", stored, logged)
	}
	table := capture(t, func() error { return queueLog([]string{"-api", api, "-data", p.DataDir}) })
	if r := row(t, table, "TIME"); strings.Join(r, " ") != "TIME CALL QUEUE AGENT EVENT DATA" {
		t.Fatalf("header %q", r)
	}
	if !strings.Contains(table, "ABANDON") {
		t.Fatalf("table:\n%s", table)
	}
}
