package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// The contact center's basics, end to end over real SIP and RTP: a caller
// in queue support (5000) reaches a dynamic member, a static agent logs in
// by PIN over DTMF and is put through with a beep, and a caller who hangs
// up while waiting is counted as abandoned. Prompts and music are tones,
// so each step asserts what each party hears.

// Marker audio of the contact-center PBX.
const (
	qcToneMusic    = 1700.0 // music class "default": the wait room and the agent's open line
	qcToneBeep     = 2500.0 // "beep": a call put through to a static agent's line
	qcTonePassword = 1100.0 // "enter-password"
	qcToneLoggedIn = 1900.0 // "logged-in"
	qcToneLogin    = 2100.0 // "agent-login"
	qcToneClosed   = 900.0  // "queue-closed": the shutdown prompt
	qcToneCbOK     = 2900.0 // "queue-callback-confirmed"
)

// qcPBX is the default PBX (queue support on 5000, static agent 9001 PIN
// 1234, dynamic member 1003) whose prompts and music are tones, and whose
// queue plays nothing but music to callers.
func qcPBX(t *testing.T, opts ...testkit.PBXOption) *testkit.PBX {
	t.Helper()
	return testkit.StartPBX(t, "", append(qcOptions(t), opts...)...)
}

// qcOptions are qcPBX's changes to the default config.
func qcOptions(t *testing.T) []testkit.PBXOption {
	t.Helper()
	dir := testkit.WritePrompts(t, time.Second, map[string]float64{
		"beep": qcToneBeep, "enter-password": qcTonePassword, "logged-in": qcToneLoggedIn,
		"agent-login": qcToneLogin, "music-default": qcToneMusic, "queue-closed": qcToneClosed,
		"queue-callback-confirmed": qcToneCbOK,
	})
	return []testkit.PBXOption{func(c *config.Config) {
		c.Sounds.Prompts = dir
		c.Sounds.Music = map[string]string{"default": dir + "/music-default.wav"}
		for i := range c.Queues {
			q := &c.Queues[i]
			q.Announce, q.AnnounceEvery, q.PeriodicEvery, q.Periodic = "", 0, 0, nil
			q.Music = "default"
		}
	}}
}

// qcAgentState waits until an agent is in a state.
func qcAgentState(t *testing.T, p *testkit.PBX, id, state string) queue.AgentStatus {
	t.Helper()
	// Subscribe first, then look: a change between the two is not missed.
	sub, err := p.Engine().Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{queue.EventAgentStateChanged}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	st, ok := p.Queues().Agent(id)
	if !ok {
		t.Fatalf("no agent %s", id)
	}
	timeout := time.After(5 * time.Second)
	for st.State != state {
		select {
		case ev, open := <-sub.C:
			if !open {
				t.Fatalf("agent %s: the event subscription ended", id)
			}
			if ev.Agent == id && ev.State == state {
				st, _ = p.Queues().Agent(id)
				return st
			}
		case <-timeout:
			t.Fatalf("agent %s is %s, want %s", id, st.State, state)
		}
	}
	return st
}

// qcNextEvent waits for the next event of a kind about a leg (any leg if
// leg is "").
func qcNextEvent(t *testing.T, p *testkit.PBX, kind dialog.EventKind, leg string) dialog.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev := p.WaitEvent(kind, time.Until(deadline))
		if leg == "" || ev.LegID == leg {
			return ev
		}
	}
}

// TestQueueCoreDynamicMember: a caller in queue support is put through to
// the dynamic member 1003, rung at her extension with the caller's number;
// they hear each other; when the caller hangs up, her call is hung up too.
func TestQueueCoreDynamicMember(t *testing.T) {
	p := qcPBX(t)
	alice, carol := phone(t, p, "1001"), phone(t, p, "1003")
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	qcAgentState(t, p, "1003", queue.StateIdle)

	type ringing struct {
		from string
		call *testkit.PhoneCall
	}
	got := make(chan ringing, 1)
	go func() {
		defer close(got)
		in, err := carol.Incoming(5 * time.Second)
		if err != nil {
			return
		}
		from := in.Request.From().Address.User
		c, err := in.Answer()
		if err != nil {
			return
		}
		c.SendTone(toneC)
		got <- ringing{from, c}
	}()
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.SendTone(toneA)
	r := <-got
	if r.call == nil {
		t.Fatal("1003 was not rung")
	}
	if r.from != "1001" {
		t.Errorf("1003 rung from %q, want the caller's number 1001", r.from)
	}
	ev := p.WaitEvent(queue.EventAgentConnected, 5*time.Second)
	if ev.Agent != "1003" || ev.Queue != "support" || ev.OtherLegID == "" {
		t.Errorf("agent_connected %+v: want agent 1003 in support with the agent's leg", ev)
	}
	talkingTones(t, a, toneA, r.call, toneC)
	st := qcAgentState(t, p, "1003", queue.StateOnCall)
	if st.CallLegID != ev.LegID || st.LegID != ev.OtherLegID {
		t.Errorf("agent status legs %q/%q, want %q/%q", st.LegID, st.CallLegID, ev.OtherLegID, ev.LegID)
	}

	hangUp(t, a, r.call)
	qcAgentState(t, p, "1003", queue.StateIdle)
	if st, _ := p.Queues().Agent("1003"); st.Answered != 1 {
		t.Errorf("answered %d, want 1", st.Answered)
	}
}

// TestQueueCoreStaticAgentLogin: agent 9001 logs in from 1002 with *609001
// and the PIN keyed over RTP, stays on the line hearing music; a caller
// in queue support is then put through to that line after a beep.
func TestQueueCoreStaticAgentLogin(t *testing.T) {
	p := qcPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")

	line, err := bob.Call(ctxTimeout(t, 5*time.Second), "*609001", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := line.WaitHears(5*time.Second, qcTonePassword); err != nil {
		t.Fatalf("no PIN prompt: %v", err)
	}
	if err := line.SendDigits("1234#"); err != nil {
		t.Fatal(err)
	}
	if err := line.WaitHears(5*time.Second, qcToneLoggedIn); err != nil {
		t.Fatalf("not told logged in: %v", err)
	}
	if err := line.WaitHears(5*time.Second, qcToneMusic, qcToneLoggedIn); err != nil {
		t.Fatalf("no music on the open line: %v", err)
	}
	st := qcAgentState(t, p, "9001", queue.StateIdle)
	if st.Device != "1002" || st.LegID == "" {
		t.Errorf("agent 9001: device %q line %q, want 1002 and the line", st.Device, st.LegID)
	}
	line.SendTone(toneB)

	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.SendTone(toneA)
	if err := line.WaitHears(5*time.Second, qcToneBeep); err != nil {
		t.Fatalf("agent heard no beep: %v", err)
	}
	talkingTones(t, a, toneA, line, toneB)
	ev := p.WaitEvent(queue.EventAgentConnected, 5*time.Second)
	if ev.Agent != "9001" || ev.OtherLegID != st.LegID {
		t.Errorf("agent_connected %+v: want agent 9001 on its line %s", ev, st.LegID)
	}
	qcAgentState(t, p, "9001", queue.StateOnCall)

	// The caller hangs up: the line stays, back to music.
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	if err := line.WaitHears(5*time.Second, qcToneMusic, toneA); err != nil {
		t.Fatalf("line not back to music: %v", err)
	}
	qcAgentState(t, p, "9001", queue.StateIdle)

	// The agent hangs up the line: logged out.
	if err := line.Hangup(); err != nil {
		t.Fatal(err)
	}
	qcAgentState(t, p, "9001", queue.StateLoggedOut)
}

// TestQueueCoreAbandon: with no agent logged in, a caller waits hearing
// the queue's music; hanging up is an abandon, in the events and the
// queue_log.
func TestQueueCoreAbandon(t *testing.T) {
	p := qcPBX(t)
	a, err := phone(t, p, "1001").Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	joined := p.WaitEvent(queue.EventJoined, 5*time.Second)
	if joined.Queue != "support" || joined.Position != 1 {
		t.Errorf("joined %+v: want support, position 1", joined)
	}
	if err := a.WaitHears(5*time.Second, qcToneMusic); err != nil {
		t.Fatalf("no hold music: %v", err)
	}
	if q, _ := p.Queues().Queue("support"); q.Waiting != 1 || len(q.Callers) != 1 || q.Callers[0].LegID != joined.LegID {
		t.Errorf("queue status %+v: want the caller waiting", q)
	}
	if err := a.Hangup(); err != nil {
		t.Fatal(err)
	}
	left := qcNextEvent(t, p, queue.EventLeft, joined.LegID)
	if left.Cause != queue.LeftAbandoned {
		t.Errorf("left with %q, want abandoned", left.Cause)
	}
	if q, _ := p.Queues().Queue("support"); q.Waiting != 0 || q.Stats.Abandoned != 1 {
		t.Errorf("queue status: waiting %d abandoned %d, want 0 and 1", q.Waiting, q.Stats.Abandoned)
	}
	path := filepath.Join(p.DataDir, "queue_log")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "|support|NONE|ABANDON|1|1|") && strings.Contains(string(b), "|support|NONE|ENTERQUEUE||1001|1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue_log:\n%s\nwant ENTERQUEUE and ABANDON of the caller", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueCoreShutdown: a caller still waiting when the PBX stops hears
// the shutdown prompt, then is hung up (no shutdown target), and leaves
// the queue with cause shutdown.
func TestQueueCoreShutdown(t *testing.T) {
	p := qcPBX(t)
	a, err := phone(t, p, "1001").Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	joined := p.WaitEvent(queue.EventJoined, 5*time.Second)
	if err := a.WaitHears(5*time.Second, qcToneMusic); err != nil {
		t.Fatalf("no hold music: %v", err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		p.Stop()
	}()
	if err := a.WaitHears(3*time.Second, qcToneClosed, qcToneMusic); err != nil {
		t.Errorf("no shutdown prompt: %v", err)
	}
	if err := a.WaitEnded(5 * time.Second); err != nil {
		t.Errorf("caller not hung up: %v", err)
	}
	<-stopped
	left := qcNextEvent(t, p, queue.EventLeft, joined.LegID)
	if left.Cause != queue.LeftShutdown {
		t.Errorf("left with %q, want shutdown", left.Cause)
	}
}

// qcLoginLine logs static agent 9001 in from ph (PIN 1234) and returns
// the open line, sending tone.
func qcLoginLine(t *testing.T, p *testkit.PBX, ph *testkit.Phone, tone float64) *testkit.PhoneCall {
	t.Helper()
	line, err := ph.Call(ctxTimeout(t, 5*time.Second), "*609001", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := line.WaitHears(5*time.Second, qcTonePassword); err != nil {
		t.Fatalf("no PIN prompt: %v", err)
	}
	line.SendDigits("1234#")
	qcAgentState(t, p, "9001", queue.StateIdle)
	line.SendTone(tone)
	return line
}

// TestQueueCoreSupervisorKeys: supervisor 1001 dials *649001 during agent
// 9001's queue call and listens (hears both, heard by nobody), then keys
// 6 and barges in (everyone hears everyone).
func TestQueueCoreSupervisorKeys(t *testing.T) {
	p := qcPBX(t)
	alice, bob, carol := threePhones(t, p)
	line := qcLoginLine(t, p, bob, toneB)
	c, err := carol.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.SendTone(toneC)
	talkingTones(t, c, toneC, line, toneB)

	s, err := alice.Call(ctxTimeout(t, 5*time.Second), "*649001", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.SendTone(toneA)
	if err := s.WaitHearsAll(5*time.Second, []float64{toneB, toneC}, []float64{toneA}); err != nil {
		t.Fatalf("listening supervisor: %v", err)
	}
	if err := line.WaitHearsAll(time.Second, []float64{toneC}, []float64{toneA}); err != nil {
		t.Fatalf("agent while listened to: %v", err)
	}
	if err := c.WaitHearsAll(time.Second, []float64{toneB}, []float64{toneA}); err != nil {
		t.Fatalf("caller while listened to: %v", err)
	}
	s.SendDigits("6")
	if err := line.WaitHearsAll(5*time.Second, []float64{toneC, toneA}, nil); err != nil {
		t.Fatalf("agent after barge: %v", err)
	}
	if err := c.WaitHearsAll(5*time.Second, []float64{toneB, toneA}, nil); err != nil {
		t.Fatalf("caller after barge: %v", err)
	}
	s.Hangup()
	c.Hangup()
	if err := line.WaitHears(5*time.Second, qcToneMusic, toneC); err != nil {
		t.Fatalf("line not back to music: %v", err)
	}
	line.Hangup() // before the phone goes, at the end of the test
}

// TestQueueCoreSupervisorRefused: an extension that is no supervisor
// cannot listen.
func TestQueueCoreSupervisorRefused(t *testing.T) {
	p := qcPBX(t)
	_, err := phone(t, p, "1002").Call(ctxTimeout(t, 5*time.Second), "*649001", testkit.CallOptions{})
	if code := testkit.StatusOf(err); code != 403 {
		t.Fatalf("*649001 from 1002: %v, want 403", err)
	}
}

// TestQueueCoreCallback: a waiting caller presses the callback key, hears
// the confirmation and is hung up; when agent 1003 logs in, the PBX calls
// the caller back first, and only once they answer rings the agent.
func TestQueueCoreCallback(t *testing.T) {
	p := qcPBX(t)
	alice, carol := phone(t, p, "1001"), phone(t, p, "1003")
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	joined := p.WaitEvent(queue.EventJoined, 5*time.Second)
	if err := a.WaitHears(5*time.Second, qcToneMusic); err != nil {
		t.Fatalf("no hold music: %v", err)
	}
	a.SendDigits("1")
	if err := a.WaitHears(5*time.Second, qcToneCbOK); err != nil {
		t.Fatalf("no confirmation: %v", err)
	}
	if err := a.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("caller not hung up: %v", err)
	}
	if left := qcNextEvent(t, p, queue.EventLeft, joined.LegID); left.Cause != queue.LeftCallback {
		t.Fatalf("left with %q, want callback", left.Cause)
	}
	if q, _ := p.Queues().Queue("support"); q.Waiting != 1 || !q.Callers[0].Callback || q.Callers[0].From != "1001" {
		t.Fatalf("queue %+v: want the virtual entry of 1001", q)
	}

	// Carol logs in: alice is called back first; carol rings only then.
	back := rwiAnswerNext(alice, toneA)
	agentCall := rwiAnswerNext(carol, toneC)
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	a2 := <-back
	if a2 == nil {
		t.Fatal("1001 was not called back")
	}
	again := p.WaitEvent(queue.EventJoined, 5*time.Second)
	if again.Detail != "callback" || again.Position != 1 {
		t.Errorf("joined again %+v: want detail callback at position 1", again)
	}
	c := <-agentCall
	if c == nil {
		t.Fatal("1003 was not rung after the call back was answered")
	}
	talkingTones(t, a2, toneA, c, toneC)
	hangUp(t, a2, c)
}

// TestQueueCoreRestart: agent 9001 logs in on a line from 1002 and pauses
// for lunch with *621; after a restart it is still logged in and paused,
// its line gone; unpaused, it is called back on 1002 for the next caller.
func TestQueueCoreRestart(t *testing.T) {
	dir := t.TempDir()
	p := testkit.StartPBX(t, dir, qcOptions(t)...)
	bob := phone(t, p, "1002")
	line := qcLoginLine(t, p, bob, toneB)
	pause, err := bob.Call(ctxTimeout(t, 5*time.Second), "*621", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pause.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("pause code: %v", err)
	}
	st := qcAgentState(t, p, "9001", queue.StatePaused)
	if st.Break != "lunch" {
		t.Fatalf("paused with break %q, want lunch", st.Break)
	}
	p.Stop()
	line.WaitEnded(5 * time.Second)

	p = testkit.StartPBX(t, dir, qcOptions(t)...)
	st = qcAgentState(t, p, "9001", queue.StatePaused)
	if st.Break != "lunch" || st.Device != "1002" || st.LegID != "" {
		t.Fatalf("after restart: %+v, want paused for lunch, device 1002, no line", st)
	}
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	if err := p.Queues().Unpause("9001"); err != nil {
		t.Fatal(err)
	}
	rung := rwiAnswerNext(bob, toneB)
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.SendTone(toneA)
	b := <-rung
	if b == nil {
		t.Fatal("1002 not called back for agent 9001")
	}
	talkingTones(t, a, toneA, b, toneB)
	hangUp(t, a, b)
	qcAgentState(t, p, "9001", queue.StateIdle)
}

// TestQueueCoreBlindTransfer: dynamic member 1003 takes a queue call and
// transfers it blind (REFER) to 1002: the caller talks to 1002, the
// agent's part ends (BLINDTRANSFER in the queue_log) and she is free.
func TestQueueCoreBlindTransfer(t *testing.T) {
	x := qapiDynamic(t)
	p, bob, a, c := x.p, x.bob, x.a, x.agent
	target := rwiAnswerNext(bob, toneB)
	if res, err := c.Refer("sip:1002@" + p.Addr()); err != nil || res.StatusCode >= 300 {
		t.Fatalf("refer: %v %v", res, err)
	}
	b := <-target
	if b == nil {
		t.Fatal("1002 not rung by the transfer")
	}
	talkingTones(t, a, toneA, b, toneB)
	c.Hangup()
	qcAgentState(t, p, "1003", queue.StateIdle)
	path := filepath.Join(p.DataDir, "queue_log")
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), "|support|Agent/1003|BLINDTRANSFER|") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue_log:\n%s\nwant BLINDTRANSFER by Agent/1003", data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hangUp(t, a, b)
}

// TestQueueCoreTakeover: supervisor 1001 dials *67 and the agent id
// during the agent's call: the supervisor talks with the caller, the agent
// (dynamic 1003) is hung up and free.
func TestQueueCoreTakeover(t *testing.T) {
	p := qcPBX(t)
	alice, bob, carol := threePhones(t, p)
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	agentCall := rwiAnswerNext(carol, toneC)
	b, err := bob.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.SendTone(toneB)
	c := <-agentCall
	if c == nil {
		t.Fatal("1003 not rung")
	}
	talkingTones(t, b, toneB, c, toneC)
	s, err := alice.Call(ctxTimeout(t, 5*time.Second), "*671003", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.SendTone(toneA)
	if err := c.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("agent not hung up after the takeover: %v", err)
	}
	talkingTones(t, b, toneB, s, toneA)
	qcAgentState(t, p, "1003", queue.StateIdle)
	hangUp(t, b, s)
}
