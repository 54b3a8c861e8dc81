package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// What the contact center keeps: agents' sessions and today's statistics
// across a restart on the same data directory, and an Asterisk-format
// queue_log whose lines are exactly the calls and agent actions made.

// ccAbandon has ph call 5000 while nobody can take it, wait in line
// hearing the music, and hang up: an abandon.
func ccAbandon(t *testing.T, log *testkit.EventLog, ph *testkit.Phone, tone float64) dialog.Event {
	t.Helper()
	m := log.Mark()
	c := ccCall(t, ph, "5000", tone)
	joined, _ := ccJoined(t, log, m, "support")
	ccHears(t, "caller waiting", c, []float64{ccMusic}, nil)
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	left, _ := log.Await(m, 5*time.Second, "the abandon", testkit.IsLegEvent(queue.EventLeft, joined.LegID))
	if left.Cause != queue.LeftAbandoned {
		t.Fatalf("left with %q, want abandoned", left.Cause)
	}
	return joined
}

// ccAnswered has ph call 5000, be put through to the static agent's line
// (which hears the beep, then the caller), and hang up.
func ccAnswered(t *testing.T, log *testkit.EventLog, ph *testkit.Phone, line *testkit.PhoneCall) dialog.Event {
	t.Helper()
	m := log.Mark()
	line.StartCapture()
	c := ccCall(t, ph, "5000", toneA)
	ev, _ := log.Await(m, 5*time.Second, "agent_connected", testkit.IsKind(queue.EventAgentConnected))
	ccHeardSequence(t, "agent line", line, []float64{ccMusic, ccBeep, toneA}, ccBeep, toneA)
	talking(t, c, line)
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	log.Await(m, 5*time.Second, "the caller's end", testkit.IsLegEvent(dialog.EventLegEnded, ev.LegID))
	return ev
}

// TestQueueRestartKeepsAgents: agent 9001 logs in by PIN on 1002's line,
// takes a call, and pauses with *622 (meeting); Carol logs in with *60 and
// is paused by API (training, "coaching"); a caller abandons. The PBX
// stops and starts again on the same data directory: both agents are
// still logged in and paused with their break, reason and pause time,
// 9001 still on device 1002, and today's statistics of support are those
// of before. The session works: 9001 unpauses with *63 from 1002 and,
// its line gone with the old PBX, is called on 1002 for the next caller.
// The queue_log file goes on from where it was.
func TestQueueRestartKeepsAgents(t *testing.T) {
	dir := t.TempDir()
	sounds := ccSounds(t)
	p, log := ccPBX(t, dir, sounds)
	alice, bob, carol := threePhones(t, p)

	line, _ := ccStaticLogin(t, p, log, bob, toneB)
	ccAnswered(t, log, alice, line)
	m := log.Mark()
	ccFeature(t, bob, "*622", ccPaused)
	ccState(t, p, log, m, "9001", queue.StatePaused)
	m = log.Mark()
	ccFeature(t, carol, "*60", ccLoggedIn)
	ccState(t, p, log, m, "1003", queue.StateIdle)
	if err := p.Queues().Pause("1003", "training", "coaching"); err != nil {
		t.Fatal(err)
	}
	ccAbandon(t, log, alice, toneA)

	before := map[string]queue.AgentStatus{}
	for _, id := range []string{"9001", "1003"} {
		before[id], _ = p.Queues().Agent(id)
	}
	qBefore, _ := p.Queues().Queue("support")
	if s := qBefore.Stats; s.Offered != 2 || s.Answered != 1 || s.Abandoned != 1 {
		t.Fatalf("support before the restart: %+v, want 2 offered, 1 answered, 1 abandoned", s)
	}
	p.Stop()
	qlogBefore, err := os.ReadFile(filepath.Join(dir, "queue_log"))
	if err != nil {
		t.Fatal(err)
	}

	p, log = ccPBX(t, dir, sounds)
	for _, tc := range []struct{ id, brk, reason, device string }{
		{"9001", "meeting", "feature code", "1002"},
		{"1003", "training", "coaching", ""},
	} {
		st, ok := p.Queues().Agent(tc.id)
		if !ok || st.State != queue.StatePaused || st.Break != tc.brk || st.Reason != tc.reason || st.Device != tc.device {
			t.Errorf("agent %s after the restart: %+v, want paused (%s, %q) on device %q", tc.id, st, tc.brk, tc.reason, tc.device)
		}
		b := before[tc.id]
		if !st.LoginAt.Equal(b.LoginAt) || !st.Since.Equal(b.Since) {
			t.Errorf("agent %s after the restart: logged in %v, paused since %v; before: %v, %v", tc.id, st.LoginAt, st.Since, b.LoginAt, b.Since)
		}
		if st.LegID != "" {
			t.Errorf("agent %s after the restart has line %q from the old PBX", tc.id, st.LegID)
		}
	}
	q, _ := p.Queues().Queue("support")
	if q.Stats != qBefore.Stats {
		t.Errorf("support's statistics after the restart: %+v, before %+v", q.Stats, qBefore.Stats)
	}
	if q.Agents[queue.StatePaused] != 2 {
		t.Errorf("support's agents by state after the restart: %v, want two paused", q.Agents)
	}

	// The phones register again with the restarted PBX (the store kept
	// their bindings), and 9001 is back: called on its device 1002 for
	// the next caller.
	for _, ph := range []*testkit.Phone{alice, bob, carol} {
		ph.UseTransport("UDP", p.Addr())
		if res, err := ph.Register(300); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s registers again: %v %v", ph.User, res, err)
		}
	}
	m = log.Mark()
	ccFeature(t, bob, "*63", ccUnpaused)
	ccState(t, p, log, m, "9001", queue.StateIdle)
	m = log.Mark()
	a := ccCall(t, alice, "5000", toneA)
	in, err := bob.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("agent 9001 not called on 1002: %v", err)
	}
	agent, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	agent.SendTone(toneB)
	ev, _ := log.Await(m, 5*time.Second, "agent_connected", testkit.IsKind(queue.EventAgentConnected))
	if ev.Agent != "9001" {
		t.Errorf("put through to %s, want 9001", ev.Agent)
	}
	talking(t, a, agent)
	hangUp(t, a, agent)
	if q, _ := p.Queues().Queue("support"); q.Stats.Offered != 3 || q.Stats.Answered != 2 {
		t.Errorf("support's statistics after one more call: %+v, want 3 offered, 2 answered", q.Stats)
	}

	p.Stop()
	after, err := os.ReadFile(filepath.Join(dir, "queue_log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(after), string(qlogBefore)) || strings.Count(string(after), "|QUEUESTART|") != 2 ||
		strings.Count(string(after), "|ENTERQUEUE|") != 3 {
		t.Errorf("queue_log after the restart:\n%s\nwant the first run's lines, then the second's", after)
	}
}

// qlogLine is one line of the queue_log file.
type qlogLine struct {
	epoch                       int64
	callID, queue, agent, event string
	data                        []string
}

func readQueueLog(t *testing.T, path string) []qlogLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []qlogLine
	for _, s := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.Split(s, "|")
		if len(f) < 6 {
			t.Fatalf("queue_log line %q: want epoch|callid|queue|agent|EVENT|data...", s)
		}
		e, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("queue_log line %q: epoch: %v", s, err)
		}
		out = append(out, qlogLine{e, f[1], f[2], f[3], f[4], f[5:]})
	}
	return out
}

// TestQueueLogMatchesCalls: a scripted day, then the queue_log file read
// back line by line. Agent 9001 logs in on 1002's line; Alice's call is
// answered by it and she hangs up (ENTERQUEUE, CONNECT, COMPLETECALLER);
// 9001 pauses for lunch (PAUSE); Alice calls and hangs up waiting
// (ENTERQUEUE, ABANDON); Carol logs in (AGENTLOGIN); Alice calls, Carol is
// rung and declines (ENTERQUEUE, RINGNOANSWER); 9001 unpauses (UNPAUSE)
// and takes her; 9001 hangs up its line (COMPLETEAGENT, AGENTLOGOFF);
// Carol logs out (AGENTLOGOFF). Every line has the right call id, queue,
// agent (Agent/9001, Agent/1003, NONE) and fields, in that order.
func TestQueueLogMatchesCalls(t *testing.T) {
	p, log := ccPBX(t, "", ccSounds(t))
	alice, bob, carol := threePhones(t, p)

	line, st := ccStaticLogin(t, p, log, bob, toneB)
	lineLeg := st.LegID
	call1 := ccAnswered(t, log, alice, line)

	m := log.Mark()
	ccFeature(t, bob, "*621", ccPaused)
	ccState(t, p, log, m, "9001", queue.StatePaused)
	call2 := ccAbandon(t, log, alice, toneA)

	m = log.Mark()
	ccFeature(t, carol, "*60", ccLoggedIn)
	ccState(t, p, log, m, "1003", queue.StateIdle)

	m = log.Mark()
	a := ccCall(t, alice, "5000", toneA)
	call3, _ := ccJoined(t, log, m, "support")
	in, err := carol.Incoming(5 * time.Second)
	if err != nil {
		t.Fatalf("carol not rung: %v", err)
	}
	if err := in.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	log.Await(m, 5*time.Second, "carol's no answer", testkit.IsKind(queue.EventAgentNoAnswer))
	line.StartCapture()
	ccFeature(t, bob, "*63", ccUnpaused)
	ev, _ := log.Await(m, 5*time.Second, "agent_connected", testkit.IsKind(queue.EventAgentConnected))
	if ev.LegID != call3.LegID || ev.Agent != "9001" {
		t.Fatalf("agent_connected %+v: want alice's third call and 9001", ev)
	}
	ccHeardSequence(t, "agent line", line, []float64{ccMusic, ccBeep, toneA}, ccBeep, toneA)
	m = log.Mark()
	hangUp(t, line, a)
	ccState(t, p, log, m, "9001", queue.StateLoggedOut)

	m = log.Mark()
	ccFeature(t, carol, "*61", ccLoggedOut)
	ccState(t, p, log, m, "1003", queue.StateLoggedOut)

	p.Stop() // the queue log is flushed and closed
	lines := readQueueLog(t, filepath.Join(p.DataDir, "queue_log"))

	type want struct {
		callID, queue, agent, event string
		data                        []string // "#": a whole number; "*": anything
	}
	const num, anything = "#", "*"
	wants := []want{
		{"NONE", "NONE", "NONE", "QUEUESTART", []string{""}},
		{"NONE", "support", "Agent/9001", "AGENTLOGIN", []string{lineLeg}},
		{call1.CallID, "support", "NONE", "ENTERQUEUE", []string{"", "1001", "1"}},
		{call1.CallID, "support", "Agent/9001", "CONNECT", []string{num, lineLeg, num}},
		{call1.CallID, "support", "Agent/9001", "COMPLETECALLER", []string{num, num, "1"}},
		{"NONE", "support", "Agent/9001", "PAUSE", []string{"lunch"}},
		{call2.CallID, "support", "NONE", "ENTERQUEUE", []string{"", "1001", "1"}},
		{call2.CallID, "support", "NONE", "ABANDON", []string{"1", "1", num}},
		{"NONE", "support", "Agent/1003", "AGENTLOGIN", []string{anything}},
		{call3.CallID, "support", "NONE", "ENTERQUEUE", []string{"", "1001", "1"}},
		{call3.CallID, "support", "Agent/1003", "RINGNOANSWER", []string{num}},
		{"NONE", "support", "Agent/9001", "UNPAUSE", []string{"lunch"}},
		{call3.CallID, "support", "Agent/9001", "CONNECT", []string{num, lineLeg, num}},
		{call3.CallID, "support", "Agent/9001", "COMPLETEAGENT", []string{num, num, "1"}},
		// The channel logged off is the one that logged in (Asterisk
		// pairs AGENTLOGIN and AGENTLOGOFF by it).
		{"NONE", "support", "Agent/9001", "AGENTLOGOFF", []string{lineLeg, num}},
		{"NONE", "support", "Agent/1003", "AGENTLOGOFF", []string{anything, num}},
	}
	show := func() string {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString("\n  " + strings.Join(append([]string{l.callID, l.queue, l.agent, l.event}, l.data...), "|"))
		}
		return b.String()
	}
	if len(lines) != len(wants) {
		t.Errorf("queue_log has %d lines, want %d:%s", len(lines), len(wants), show())
	}
	for i := range min(len(lines), len(wants)) {
		l, w := lines[i], wants[i]
		ok := l.callID == w.callID && l.queue == w.queue && l.agent == w.agent && l.event == w.event && len(l.data) == len(w.data)
		for j := 0; ok && j < len(w.data); j++ {
			switch w.data[j] {
			case num:
				_, err := strconv.Atoi(l.data[j])
				ok = err == nil
			case anything:
			default:
				ok = l.data[j] == w.data[j]
			}
		}
		if !ok {
			t.Errorf("queue_log line %d: %s|%s|%s|%s|%s, want %s|%s|%s|%s|%s", i+1,
				l.callID, l.queue, l.agent, l.event, strings.Join(l.data, "|"),
				w.callID, w.queue, w.agent, w.event, strings.Join(w.data, "|"))
		}
		if i > 0 && l.epoch < lines[i-1].epoch {
			t.Errorf("queue_log line %d goes back in time: %d after %d", i+1, l.epoch, lines[i-1].epoch)
		}
	}
	// The three calls are three call ids, each the caller's call.
	if call1.CallID == "" || call1.CallID == call2.CallID || call2.CallID == call3.CallID || call1.CallID == call3.CallID {
		t.Errorf("call ids %q %q %q: want three different ones", call1.CallID, call2.CallID, call3.CallID)
	}
	if t.Failed() {
		t.Logf("queue_log:%s", show())
	}
}
