package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// The agent's current call driven by API, as an agent console (ECCP) does
// it, end to end over real SIP and RTP on qcPBX (queue support on 5000,
// music 1700 Hz in the wait room and on a static agent's open line). Alice
// (1001, toneA) calls the queue; the agent is either static agent 9001 on
// Bob's line (1002, toneB) or dynamic member Carol (1003, toneC); whom the
// call is transferred to answers with their own tone. Each step asserts
// what every party hears, the agent's state, and the queue_log line that
// tells how the call ended for the agent. A static agent's line is never
// hung up by the API: it goes back to music, logged in.

// qapiCall is a queue call put through to an agent.
type qapiCall struct {
	p                 *testkit.PBX
	alice, bob, carol *testkit.Phone
	a                 *testkit.PhoneCall // Alice's call
	agent             *testkit.PhoneCall // the agent's side: Bob's line, or Carol's call
	line              string             // the static agent's line leg, "" for Carol
}

// qapiStatic logs agent 9001 in on Bob's line and puts Alice's call
// through to it; Carol is free to be transferred to.
func qapiStatic(t *testing.T, opts ...testkit.PBXOption) *qapiCall {
	t.Helper()
	p := qcPBX(t, opts...)
	alice, bob, carol := threePhones(t, p)
	line := qcLoginLine(t, p, bob, toneB)
	t.Cleanup(func() { line.Hangup() }) // before the PBX stops: it need not drain the line
	st := qcAgentState(t, p, "9001", queue.StateIdle)
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.SendTone(toneA)
	if err := line.WaitHears(5*time.Second, qcToneBeep); err != nil {
		t.Fatalf("agent heard no beep: %v", err)
	}
	talkingTones(t, a, toneA, line, toneB)
	qcAgentState(t, p, "9001", queue.StateOnCall)
	return &qapiCall{p: p, alice: alice, bob: bob, carol: carol, a: a, agent: line, line: st.LegID}
}

// qapiDynamic logs Carol (1003) in and puts Alice's call through to her;
// Bob is free to be transferred to.
func qapiDynamic(t *testing.T, opts ...testkit.PBXOption) *qapiCall {
	t.Helper()
	p := qcPBX(t, opts...)
	alice, bob, carol := threePhones(t, p)
	if err := p.Queues().Login(ctxTimeout(t, time.Second), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	agentCall := rwiAnswerNext(carol, toneC)
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.SendTone(toneA)
	c := <-agentCall
	if c == nil {
		t.Fatal("1003 not rung")
	}
	talkingTones(t, a, toneA, c, toneC)
	qcAgentState(t, p, "1003", queue.StateOnCall)
	return &qapiCall{p: p, alice: alice, bob: bob, carol: carol, a: a, agent: c}
}

// staysLoggedIn checks that static agent 9001 is idle on the same line,
// which hears its music again and none of the call.
func (x *qapiCall) staysLoggedIn(t *testing.T, notWant ...float64) {
	t.Helper()
	if err := x.agent.WaitHearsAll(5*time.Second, []float64{qcToneMusic}, notWant); err != nil {
		t.Fatalf("line not back to music: %v", err)
	}
	st := qcAgentState(t, x.p, "9001", queue.StateIdle)
	if st.LegID != x.line || st.CallLegID != "" {
		t.Errorf("agent 9001 after the call: line %q call %q, want still on line %q with no call", st.LegID, st.CallLegID, x.line)
	}
	select {
	case <-x.agent.Ended():
		t.Fatal("the agent's line was hung up")
	default:
	}
}

// qapiQlog waits until the queue_log has event by agent in queue support.
func qapiQlog(t *testing.T, p *testkit.PBX, agent, event string) qlogLine {
	t.Helper()
	path := filepath.Join(p.DataDir, "queue_log")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			lines := readQueueLog(t, path)
			if i := slices.IndexFunc(lines, func(l qlogLine) bool {
				return l.queue == "support" && l.agent == "Agent/"+agent && l.event == event
			}); i >= 0 {
				return lines[i]
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(path)
			t.Fatalf("queue_log has no %s by Agent/%s:\n%s", event, agent, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueAgentAPIHoldAndHangup: agent 9001's console holds the call:
// Alice hears the queue's music instead of the agent, the agent is
// on-hold (OnHold, HeldAt); resumed, they talk again. Muting a call that
// is not recorded says so. The console hangs the call up: Alice is hung
// up (COMPLETEAGENT), and the agent's line goes back to music, logged in.
func TestQueueAgentAPIHoldAndHangup(t *testing.T) {
	x := qapiStatic(t)
	q, ctx := x.p.Queues(), ctxTimeout(t, 5*time.Second)
	before := time.Now()
	if err := q.HoldCall(ctx, "9001", true); err != nil {
		t.Fatal(err)
	}
	if err := x.a.WaitHearsAll(3*time.Second, []float64{qcToneMusic}, []float64{toneB}); err != nil {
		t.Fatalf("held caller: %v", err)
	}
	st := qcAgentState(t, x.p, "9001", queue.StateOnHold)
	if !st.OnHold || st.HeldAt.Before(before.Add(-time.Second)) {
		t.Errorf("agent on hold: %+v, want OnHold since the hold", st)
	}
	if err := q.HoldCall(ctx, "9001", true); err != nil {
		t.Errorf("holding a held call: %v, want a no-op", err)
	}
	if err := q.HoldCall(ctx, "9001", false); err != nil {
		t.Fatal(err)
	}
	talkingTones(t, x.a, toneA, x.agent, toneB)
	if st := qcAgentState(t, x.p, "9001", queue.StateOnCall); st.OnHold {
		t.Errorf("resumed: %+v, want not on hold", st)
	}
	if err := q.MuteRecording(ctx, "9001", true); !errors.Is(err, queue.ErrNoRecording) {
		t.Errorf("MuteRecording of a call not recorded = %v, want ErrNoRecording", err)
	}

	if err := q.HangupCall(ctx, "9001"); err != nil {
		t.Fatal(err)
	}
	if err := x.a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("caller not hung up: %v", err)
	}
	x.staysLoggedIn(t, toneA)
	qapiQlog(t, x.p, "9001", "COMPLETEAGENT")
	if err := q.HangupCall(ctx, "9001"); !errors.Is(err, queue.ErrNoCall) {
		t.Errorf("HangupCall with no call = %v, want ErrNoCall", err)
	}
}

// TestQueueAgentAPIBlindTransferStatic: agent 9001's console transfers
// Alice blind to 1003: Carol's phone rings, and Alice talks to Carol; the
// agent's line goes back to music, logged in (BLINDTRANSFER), and takes
// the next caller.
func TestQueueAgentAPIBlindTransferStatic(t *testing.T) {
	x := qapiStatic(t)
	target := rwiAnswerNext(x.carol, toneC)
	if err := x.p.Queues().TransferCall(ctxTimeout(t, 5*time.Second), "9001", "1003", false); err != nil {
		t.Fatal(err)
	}
	c := <-target
	if c == nil {
		t.Fatal("1003 not rung by the transfer")
	}
	talkingTones(t, x.a, toneA, c, toneC)
	x.staysLoggedIn(t, toneA, toneC)
	if l := qapiQlog(t, x.p, "9001", "BLINDTRANSFER"); len(l.data) == 0 || l.data[0] != "1003" {
		t.Errorf("BLINDTRANSFER %v, want to 1003", l.data)
	}
	hangUp(t, x.a, c)

	// Still an agent: the next caller is put through to the line.
	a2, err := x.alice.Call(ctxTimeout(t, 5*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a2.SendTone(toneA)
	talkingTones(t, a2, toneA, x.agent, toneB)
	if err := a2.Hangup(); err != nil {
		t.Fatal(err)
	}
	x.staysLoggedIn(t, toneA)
}

// TestQueueAgentAPIBlindTransferDynamic: Carol's console transfers Alice
// blind to 1002: Carol's call is hung up at once and she is free; Bob's
// phone rings and Alice talks to him.
func TestQueueAgentAPIBlindTransferDynamic(t *testing.T) {
	x := qapiDynamic(t)
	target := rwiAnswerNext(x.bob, toneB)
	if err := x.p.Queues().TransferCall(ctxTimeout(t, 5*time.Second), "1003", "1002", false); err != nil {
		t.Fatal(err)
	}
	if err := x.agent.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("the agent's call not hung up: %v", err)
	}
	qcAgentState(t, x.p, "1003", queue.StateIdle)
	b := <-target
	if b == nil {
		t.Fatal("1002 not rung by the transfer")
	}
	talkingTones(t, x.a, toneA, b, toneB)
	qapiQlog(t, x.p, "1003", "BLINDTRANSFER")
	hangUp(t, x.a, b)
}

// TestQueueAgentAPIBlindTransferToQueue: Carol's console sends Alice back
// to queue support (5000): she joins it as a new caller, is offered to the
// free agent (Carol again, after her wrap-up of none) and talks to her.
func TestQueueAgentAPIBlindTransferToQueue(t *testing.T) {
	x := qapiDynamic(t)
	again := rwiAnswerNext(x.carol, toneC)
	sub, err := x.p.Engine().Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{queue.EventJoined}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := x.p.Queues().TransferCall(ctxTimeout(t, 5*time.Second), "1003", "5000", false); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-sub.C:
		if ev.Queue != "support" || ev.Position != 1 {
			t.Errorf("joined %+v, want support at 1", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Alice did not join the queue again")
	}
	c := <-again
	if c == nil {
		t.Fatal("1003 not rung for the transferred caller")
	}
	talkingTones(t, x.a, toneA, c, toneC)
	qapiQlog(t, x.p, "1003", "BLINDTRANSFER")
	hangUp(t, x.a, c)
}

// TestQueueAgentAPIAttendedStatic: agent 9001's console starts an
// attended transfer to 1003: Alice holds with the queue's music while the
// agent talks to Carol, neither heard by Alice; the console hangs up:
// Alice talks to Carol, the line goes back to music, logged in
// (ATTENDEDTRANSFER). Alice hanging up then hangs up Carol.
func TestQueueAgentAPIAttendedStatic(t *testing.T) {
	x := qapiStatic(t)
	q, ctx := x.p.Queues(), ctxTimeout(t, 5*time.Second)
	target := rwiAnswerNext(x.carol, toneC)
	if err := q.TransferCall(ctx, "9001", "1003", true); err != nil {
		t.Fatal(err)
	}
	c := <-target
	if c == nil {
		t.Fatal("1003 not rung by the consultation")
	}
	talkingTones(t, x.agent, toneB, c, toneC)
	if err := x.a.WaitHearsAll(3*time.Second, []float64{qcToneMusic}, []float64{toneB, toneC}); err != nil {
		t.Fatalf("caller during the consultation: %v", err)
	}
	if err := c.WaitHearsAll(3*time.Second, []float64{toneB}, []float64{toneA}); err != nil {
		t.Fatalf("the one consulted: %v", err)
	}
	if err := q.TransferCall(ctx, "9001", "1002", false); !errors.Is(err, dialog.ErrInvalidState) {
		t.Errorf("a second transfer during the consultation = %v, want ErrInvalidState", err)
	}

	if err := q.HangupCall(ctx, "9001"); err != nil {
		t.Fatal(err)
	}
	talkingTones(t, x.a, toneA, c, toneC)
	x.staysLoggedIn(t, toneA, toneC)
	qapiQlog(t, x.p, "9001", "ATTENDEDTRANSFER")
	hangUp(t, x.a, c)
}

// TestQueueAgentAPIAttendedDynamic: Carol's console starts an attended
// transfer to 1002; Carol talks to Bob while Alice hears music; Carol's
// phone hangs up, which completes it: Alice talks to Bob, Carol is free.
func TestQueueAgentAPIAttendedDynamic(t *testing.T) {
	x := qapiDynamic(t)
	target := rwiAnswerNext(x.bob, toneB)
	if err := x.p.Queues().TransferCall(ctxTimeout(t, 5*time.Second), "1003", "1002", true); err != nil {
		t.Fatal(err)
	}
	b := <-target
	if b == nil {
		t.Fatal("1002 not rung by the consultation")
	}
	talkingTones(t, x.agent, toneC, b, toneB)
	if err := x.a.WaitHearsAll(3*time.Second, []float64{qcToneMusic}, []float64{toneB, toneC}); err != nil {
		t.Fatalf("caller during the consultation: %v", err)
	}
	if err := x.agent.Hangup(); err != nil {
		t.Fatal(err)
	}
	talkingTones(t, x.a, toneA, b, toneB)
	qcAgentState(t, x.p, "1003", queue.StateIdle)
	qapiQlog(t, x.p, "1003", "ATTENDEDTRANSFER")
	hangUp(t, b, x.a)
}

// TestQueueAgentAPIAttendedRefused: the one consulted rings while Alice
// holds with music, then is busy: Alice talks to the agent again, and the
// call goes on until the console hangs it up.
func TestQueueAgentAPIAttendedRefused(t *testing.T) {
	x := qapiStatic(t)
	ringing, reject := make(chan error, 1), make(chan struct{})
	go func() {
		in, err := x.carol.Incoming(5 * time.Second)
		if err == nil {
			err = in.Ring()
		}
		ringing <- err
		if err == nil {
			<-reject
			in.Reject(486, "Busy Here")
		}
	}()
	if err := x.p.Queues().TransferCall(ctxTimeout(t, 5*time.Second), "9001", "1003", true); err != nil {
		t.Fatal(err)
	}
	if err := <-ringing; err != nil {
		t.Fatalf("1003 not rung by the consultation: %v", err)
	}
	if err := x.a.WaitHearsAll(3*time.Second, []float64{qcToneMusic}, []float64{toneB}); err != nil {
		t.Fatalf("caller while the one consulted rings: %v", err)
	}
	close(reject)
	if err := x.a.WaitHears(3*time.Second, toneB, qcToneMusic); err != nil {
		t.Fatalf("caller after the refusal: %v", err)
	}
	talkingTones(t, x.a, toneA, x.agent, toneB)
	qcAgentState(t, x.p, "9001", queue.StateOnCall)
	if err := x.p.Queues().HangupCall(ctxTimeout(t, 5*time.Second), "9001"); err != nil {
		t.Fatal(err)
	}
	if err := x.a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("caller not hung up: %v", err)
	}
	x.staysLoggedIn(t, toneA)
}

// TestQueueAgentAPIMuteRecording: in a queue that records its calls,
// Carol's console pauses the recording of her call and resumes it.
func TestQueueAgentAPIMuteRecording(t *testing.T) {
	x := qapiDynamic(t, func(c *config.Config) {
		c.Recordings.Beep = false
		c.Queues[0].Record = "mono"
	})
	q, ctx := x.p.Queues(), ctxTimeout(t, 5*time.Second)
	if err := q.MuteRecording(ctx, "1003", true); err != nil {
		t.Fatal(err)
	}
	x.p.WaitEvent(dialog.EventRecordingPaused, 3*time.Second)
	if err := q.MuteRecording(ctx, "1003", false); err != nil {
		t.Fatal(err)
	}
	x.p.WaitEvent(dialog.EventRecordingResumed, 3*time.Second)
	hangUp(t, x.a, x.agent)
}

// TestQueueAgentAPILegHeaders: the headers of a call's INVITEs, as the
// PBX received Alice's and as it sent Bob's, are read back by leg.
func TestQueueAgentAPILegHeaders(t *testing.T) {
	p := qcPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	got := make(chan *testkit.Incoming, 1)
	answered := make(chan *testkit.PhoneCall, 1)
	go func() {
		defer close(answered)
		in, err := bob.Incoming(5 * time.Second)
		if err != nil {
			close(got)
			return
		}
		got <- in
		if b, err := in.Answer(); err == nil {
			answered <- b
		}
	}()
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "1002", testkit.CallOptions{Headers: map[string]string{"X-Order": "42"}})
	if err != nil {
		t.Fatal(err)
	}
	in := <-got
	if in == nil {
		t.Fatal("1002 not rung")
	}
	var inbound, outbound string
	for _, l := range p.Engine().Legs() {
		switch l.Direction {
		case dialog.Inbound:
			inbound = l.ID
		case dialog.Outbound:
			outbound = l.ID
		}
	}
	hs, ok := p.Engine().LegHeaders(inbound)
	if !ok || !slices.Contains(hs, [2]string{"X-Order", "42"}) {
		t.Errorf("inbound INVITE headers %q (%v), want X-Order: 42 among them", hs, ok)
	}
	hs, ok = p.Engine().LegHeaders(outbound)
	var sent []string
	for _, h := range hs {
		sent = append(sent, h[0]+": "+h[1])
	}
	var received []string
	for _, h := range in.Request.Headers() {
		received = append(received, h.Name()+": "+h.Value())
	}
	if !ok || !slices.Contains(sent, "Call-ID: "+in.Request.CallID().Value()) || len(sent) == 0 {
		t.Errorf("outbound INVITE headers %q (%v), want those Bob received %q", sent, ok, received)
	}
	if _, ok := p.Engine().LegHeaders("no-such-leg"); ok {
		t.Error("headers of a leg that does not exist")
	}
	if b := <-answered; b != nil {
		hangUp(t, a, b)
	}
}
