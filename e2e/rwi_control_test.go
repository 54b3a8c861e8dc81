package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/gorilla/websocket"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
)

// RWI control: a program drives the PBX over real WebSockets with the
// wire contract's JSON, while real phones hear the result. These tests
// prove the supervisor modes, recording control, SIP requests into a call,
// inbound offers, every error code, ownership, resume after a reconnect,
// and many sessions at once. The helpers here are prefixed ctl, so that
// they do not collide with the other RWI tests of this package.

// The tokens of the control tests. Each is admitted from loopback unless
// it says otherwise.
const (
	ctlBoss   = "boss-token-0001"   // every scope, many connections
	ctlAgent  = "agent-token-0001"  // call.control and record.control: no supervisor.control
	ctlBare   = "bare-token-00001"  // no scope: session.* only
	ctlRemote = "remote-token-0001" // every scope, from 10.0.0.0/8 only
	ctlPair   = "pair-token-00001"  // call.control, two connections at most
)

// ctlMusic is the tone of the fallback's hold-music class, heard by a call
// nobody claimed and by a leg its session left behind.
const ctlMusic = 1700.0

var ctlAllScopes = []string{"call.control", "record.control", "supervisor.control", "queue.control", "media.stream"}

// ctlPBX starts a PBX with the control tests' tokens, a dial-plan rule
// 7000 -> rwi:sales, a fallback that plays music of ctlMusic Hz, and
// recordings without a beep; opts change the rest.
func ctlPBX(t *testing.T, opts ...testkit.PBXOption) *testkit.PBX {
	t.Helper()
	dir := testkit.WritePrompts(t, time.Second, map[string]float64{"ctl": ctlMusic})
	loop := []string{"127.0.0.0/8", "::1/128"}
	base := func(c *config.Config) {
		c.RWI.Tokens = []config.RWIToken{
			{Name: "boss", Token: ctlBoss, Scopes: ctlAllScopes, CIDRs: loop, MaxConnections: 128},
			{Name: "agent", Token: ctlAgent, Scopes: []string{"call.control", "record.control"}, CIDRs: loop, MaxConnections: 10},
			{Name: "bare", Token: ctlBare, CIDRs: loop, MaxConnections: 10},
			{Name: "remote", Token: ctlRemote, Scopes: ctlAllScopes, CIDRs: []string{"10.0.0.0/8"}, MaxConnections: 10},
			{Name: "pair", Token: ctlPair, Scopes: []string{"call.control"}, CIDRs: loop, MaxConnections: 2},
		}
		c.RWI.Fallback = "music:ctl"
		c.Sounds.Music = map[string]string{"ctl": filepath.Join(dir, "ctl.wav")}
		c.Recordings.Beep = false
		c.Dialplan = append([]config.DialplanRule{{Name: "rwi sales", Match: config.Match{Exact: "7000"}, Target: "rwi:sales"}}, c.Dialplan...)
	}
	p := testkit.StartPBX(t, "", append([]testkit.PBXOption{base}, opts...)...)
	if err := p.Config.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	if err := dialog.CheckDialplan(p.Config); err != nil {
		t.Fatalf("test config: %v", err)
	}
	return p
}

// ctlDial opens an RWI session with token.
func ctlDial(t *testing.T, p *testkit.PBX, token string) *testkit.RWIClient {
	t.Helper()
	c := testkit.DialRWI(t, p.HTTPAddr(), token)
	if c.Session == "" {
		t.Fatal("upgrade response without X-RWI-Session")
	}
	return c
}

// ctlOriginate has c originate a leg named name to destination, where ph
// answers it sending tone; it returns the phone's side once c has heard
// call.answered about name.
func ctlOriginate(t *testing.T, c *testkit.RWIClient, name, destination string, ph *testkit.Phone, tone float64) *testkit.PhoneCall {
	t.Helper()
	answered := answerNext(t, ph, tone)
	d := c.MustDo("call.originate", map[string]any{"call_id": name, "destination": destination, "caller_id": "2000", "timeout_secs": 10})
	if d["call_id"] != name || d["leg_id"] == "" || d["leg_id"] == nil {
		t.Fatalf("call.originate %s: data %v", name, d)
	}
	c.WaitEvent("call.answered", name, 5*time.Second)
	pc := <-answered
	if pc == nil {
		t.FailNow()
	}
	return pc
}

// ctlWant asserts that r is an error with code, and that its message
// starts with message when one is given.
func ctlWant(t *testing.T, what string, r testkit.RWIResponse, code, message string) {
	t.Helper()
	if r.OK || r.Code != code || !strings.HasPrefix(r.Message, message) {
		t.Fatalf("%s: got ok=%v %s %q (%s), want %s %q", what, r.OK, r.Code, r.Message, r.Raw, code, message)
	}
}

// ctlAlive asserts that c still answers requests in order.
func ctlAlive(t *testing.T, c *testkit.RWIClient) {
	t.Helper()
	d := c.MustDo("session.list_calls", map[string]any{})
	if _, ok := d["calls"].([]any); !ok {
		t.Fatalf("session.list_calls: data %v", d)
	}
}

// Scenario 7: a supervisor's leg listens to, whispers to, barges into and
// takes over an agent's call with a customer. Customer 440 Hz, agent
// 800 Hz, supervisor 1300 Hz; each mode is proven by what each one hears.
func TestRWIControlSupervisor(t *testing.T) {
	p := ctlPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := ctlDial(t, p, ctlBoss)
	cust := ctlOriginate(t, c, "leg_a", "sip:1001@local", alice, toneA)
	agent := ctlOriginate(t, c, "leg_b", "1002", bob, toneB)
	d := c.MustDo("call.bridge", map[string]any{"leg_a": "leg_a", "leg_b": "leg_b"})
	if d["bridge_id"] == "" || d["bridge_id"] == nil || d["leg_a"] != "leg_a" || d["leg_b"] != "leg_b" {
		t.Fatalf("call.bridge: data %v", d)
	}
	if ev := c.WaitEvent("call.bridged", "", 3*time.Second); ev.Str("bridge_id") != d["bridge_id"] {
		t.Fatalf("call.bridged %s: data %v, bridge %v", ev, ev.Data, d["bridge_id"])
	}
	talking(t, cust, agent)
	sup := ctlOriginate(t, c, "supervisor_leg", "1003", carol, toneC)

	type heard struct{ want, notWant []float64 }
	steps := []struct {
		action, event    string
		cust, agent, sup heard
	}{
		{"supervisor.listen", "supervisor.listen.started",
			heard{[]float64{toneB}, []float64{toneC}}, heard{[]float64{toneA}, []float64{toneC}}, heard{[]float64{toneA, toneB}, nil}},
		{"supervisor.whisper", "supervisor.whisper.started",
			heard{[]float64{toneB}, []float64{toneC}}, heard{[]float64{toneA, toneC}, nil}, heard{[]float64{toneA, toneB}, nil}},
		{"supervisor.barge", "supervisor.barge.started",
			heard{[]float64{toneB, toneC}, nil}, heard{[]float64{toneA, toneC}, nil}, heard{[]float64{toneA, toneB}, nil}},
		// Stopped, the supervisor is parked: the call goes on without it.
		{"supervisor.stop", "supervisor.mode.stopped",
			heard{[]float64{toneB}, []float64{toneC}}, heard{[]float64{toneA}, []float64{toneC}}, heard{nil, []float64{toneA, toneB}}},
		{"supervisor.listen", "supervisor.listen.started",
			heard{[]float64{toneB}, []float64{toneC}}, heard{[]float64{toneA}, []float64{toneC}}, heard{[]float64{toneA, toneB}, nil}},
		// Takeover: the supervisor replaces the agent, who is parked.
		{"supervisor.takeover", "supervisor.takeover.started",
			heard{[]float64{toneC}, []float64{toneB}}, heard{nil, []float64{toneA, toneC}}, heard{[]float64{toneA}, []float64{toneB}}},
	}
	for i, s := range steps {
		c.MustDo(s.action, map[string]any{"supervisor_call_id": "supervisor_leg", "target_call_id": "leg_b"})
		if ev, ok := expectEvent(t, c, s.event, ""); ok && (ev.Str("supervisor_call_id") != "supervisor_leg" || ev.Str("target_call_id") != "leg_b") {
			t.Errorf("step %d: %s data %v, want supervisor_leg and leg_b", i, ev, ev.Data)
		}
		for _, x := range []struct {
			who  string
			call *testkit.PhoneCall
			h    heard
		}{{"customer", cust, s.cust}, {"agent", agent, s.agent}, {"supervisor", sup, s.sup}} {
			if err := x.call.WaitHearsAll(3*time.Second, x.h.want, x.h.notWant); err != nil {
				t.Fatalf("step %d, %s: %s: %v", i, s.action, x.who, err)
			}
		}
	}
	for _, name := range []string{"leg_a", "leg_b", "supervisor_leg"} {
		c.MustDo("call.hangup", map[string]any{"call_id": name})
		c.WaitEvent("call.hangup", name, 5*time.Second)
	}
	for _, x := range []*testkit.PhoneCall{cust, agent, sup} {
		if err := x.WaitEnded(3 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	checkSeq(t, c)
}

// Scenario 8: recording started, paused, resumed and stopped over RWI; the
// recording's id is the same throughout, its duration is reported, and
// the file is in the archive.
func TestRWIControlRecording(t *testing.T) {
	p := ctlPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := ctlDial(t, p, ctlAgent)
	a := ctlOriginate(t, c, "leg_a", "1001", alice, toneA)
	b := ctlOriginate(t, c, "leg_b", "1002", bob, toneB)
	c.MustDo("call.bridge", map[string]any{"leg_a": "leg_a", "leg_b": "leg_b"})
	talking(t, a, b)

	d := c.MustDo("record.start", map[string]any{"call_id": "leg_a", "mode": "mixed", "beep": false, "max_duration_secs": 3600})
	id, _ := d["recording_id"].(string)
	if id == "" || d["call_id"] != "leg_a" {
		t.Fatalf("record.start: data %v", d)
	}
	if ev, ok := expectEvent(t, c, "record.started", "leg_a"); ok && ev.Str("recording_id") != id {
		t.Errorf("%s: data %v, want recording %s", ev, ev.Data, id)
	}
	talking(t, a, b)          // recording is not heard
	<-time.After(time.Second) // some audio to record
	for _, step := range []struct{ action, event string }{{"record.pause", "record.paused"}, {"record.resume", "record.resumed"}} {
		d := c.MustDo(step.action, map[string]any{"call_id": "leg_a"})
		if d["recording_id"] != id || d["call_id"] != "leg_a" {
			t.Fatalf("%s: data %v", step.action, d)
		}
		if ev, ok := expectEvent(t, c, step.event, "leg_a"); ok && ev.Str("recording_id") != id {
			t.Errorf("%s: data %v", ev, ev.Data)
		}
		<-time.After(time.Second) // the pause, then audio again
	}
	d = c.MustDo("record.stop", map[string]any{"call_id": "leg_a"})
	secs, _ := d["duration_secs"].(float64)
	if d["recording_id"] != id || secs < 1 || secs > 30 {
		t.Fatalf("record.stop: data %v", d)
	}
	if ev, ok := expectEvent(t, c, "record.stopped", "leg_a"); ok {
		if _, hasSecs := ev.Data["duration_secs"].(float64); ev.Str("recording_id") != id || !hasSecs {
			t.Errorf("%s: data %v, want recording %s and duration_secs", ev, ev.Data, id)
		}
	}
	entry, err := p.Recordings().Get(id)
	if err != nil {
		t.Fatalf("recording %s not in the archive: %v", id, err)
	}
	path := entry.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.DataDir, "recordings", path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() <= 44+8000 {
		t.Fatalf("recording file %s: %v, %v", path, fi, err)
	}
	// Stopped, there is nothing left to pause.
	ctlWant(t, "record.pause after stop", c.Do("record.pause", map[string]any{"call_id": "leg_a"}), "invalid_state", "")
	talking(t, a, b)
	for name, x := range map[string]*testkit.PhoneCall{"leg_a": a, "leg_b": b} {
		c.MustDo("call.hangup", map[string]any{"call_id": name})
		if err := x.WaitEnded(3 * time.Second); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// Scenario 10: MESSAGE, NOTIFY and OPTIONS sent into a call reach the
// phone, and the phone's answer is reported.
func TestRWIControlSIPRequests(t *testing.T) {
	p := ctlPBX(t)
	alice := phone(t, p, "1001")
	c := ctlDial(t, p, ctlAgent)
	a := ctlOriginate(t, c, "leg_a", "1001", alice, toneA)

	d := c.MustDo("sip.message", map[string]any{"call_id": "leg_a", "content_type": "text/plain", "body": "Your ticket number is 12345"})
	if d["call_id"] != "leg_a" || d["sip_status"] != 200.0 {
		t.Fatalf("sip.message: data %v", d)
	}
	select {
	case body := <-a.Messages():
		if body != "Your ticket number is 12345" {
			t.Fatalf("MESSAGE body %q", body)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the phone got no MESSAGE")
	}
	// content_type defaults to text/plain.
	if d := c.MustDo("sip.message", map[string]any{"call_id": "leg_a", "body": "second"}); d["sip_status"] != 200.0 {
		t.Fatalf("sip.message without content_type: data %v", d)
	}
	select {
	case body := <-a.Messages():
		if body != "second" {
			t.Fatalf("MESSAGE body %q", body)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the phone got no second MESSAGE")
	}

	d = c.MustDo("sip.notify", map[string]any{"call_id": "leg_a", "event": "check-sync",
		"content_type": "application/simple-message-summary", "body": "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n"})
	if d["call_id"] != "leg_a" || d["sip_status"] != 200.0 {
		t.Fatalf("sip.notify: data %v", d)
	}
	select {
	case line := <-a.Notifies():
		if line != "Messages-Waiting: yes" {
			t.Fatalf("NOTIFY body starts %q", line)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the phone got no NOTIFY")
	}

	d = c.MustDo("sip.options_ping", map[string]any{"call_id": "leg_a"})
	if d["call_id"] != "leg_a" || d["sip_status"] != 200.0 {
		t.Fatalf("sip.options_ping: data %v", d)
	}
	ctlWant(t, "sip.message to no call", c.Do("sip.message", map[string]any{"call_id": "nobody", "body": "x"}), "call_not_found", "")

	// The phone's own MESSAGE and NOTIFY in the call reach the session.
	if res, err := a.Request(ctxTimeout(t, 3*time.Second), sipmsg.MESSAGE, "text/plain", []byte("ticket 12345 received")); err != nil || res.StatusCode != 200 {
		t.Fatalf("phone MESSAGE: %v %v", res, err)
	}
	if ev, ok := expectEvent(t, c, "sip.message.received", "leg_a"); ok && (ev.Str("body") != "ticket 12345 received" || ev.Str("content_type") != "text/plain") {
		t.Errorf("sip.message.received: %s", ev.Raw)
	}
	if res, err := a.RequestWith(ctxTimeout(t, 3*time.Second), sipmsg.NOTIFY, map[string]string{"Event": "talk", "Subscription-State": "terminated"}, "", nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("phone NOTIFY: %v %v", res, err)
	}
	if ev, ok := expectEvent(t, c, "sip.notify.received", "leg_a"); ok && ev.Str("event") != "talk" {
		t.Errorf("sip.notify.received: %s", ev.Raw)
	}
	select {
	case <-a.Ended():
		t.Fatal("the call ended after the requests")
	default:
	}
	c.MustDo("call.hangup", map[string]any{"call_id": "leg_a"})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// ctlCallResult is how a call placed by a phone ended its setup.
type ctlCallResult struct {
	call *testkit.PhoneCall
	err  error
}

// ctlCall dials number from ph in the background, sending toneA once
// answered; the result arrives on the channel once the PBX answers or
// refuses.
func ctlCall(t *testing.T, ph *testkit.Phone, number string) <-chan ctlCallResult {
	ch := make(chan ctlCallResult, 1)
	go func() {
		c, err := ph.Call(ctxTimeout(t, 15*time.Second), number, testkit.CallOptions{})
		if c != nil {
			c.SendTone(toneA)
		}
		ch <- ctlCallResult{c, err}
	}()
	return ch
}

// ctlAnswered waits for a call placed with ctlCall to be answered.
func ctlAnswered(t *testing.T, ch <-chan ctlCallResult) *testkit.PhoneCall {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("call: %v", r.err)
		}
		return r.call
	case <-time.After(10 * time.Second):
		t.Fatal("the call was neither answered nor refused")
	}
	return nil
}

// Scenario 12: a dial-plan rule sends 7000 to rwi:sales. Two sessions
// subscribed to sales are offered the call and race to claim it: exactly
// one wins, the other is told already_owned. A call can be rejected busy.
// A call nobody is subscribed to, or nobody claims within offer_timeout,
// goes to the fallback (music here).
func TestRWIControlInbound(t *testing.T) {
	p := ctlPBX(t, func(c *config.Config) { c.RWI.OfferTimeout = time.Second })
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	s1, s2 := ctlDial(t, p, ctlAgent), ctlDial(t, p, ctlAgent)
	for _, s := range []*testkit.RWIClient{s1, s2} {
		d := s.MustDo("session.subscribe", map[string]any{"contexts": []string{"sales", "support"}})
		if d["session_id"] != s.Session {
			t.Fatalf("session.subscribe: session_id %v, the upgrade said %s", d["session_id"], s.Session)
		}
		if ctx, _ := d["contexts"].([]any); len(ctx) != 2 {
			t.Fatalf("session.subscribe: data %v", d)
		}
	}

	// The race to claim.
	called := ctlCall(t, alice, "7000")
	in1 := s1.WaitEvent("call.incoming", "", 5*time.Second)
	in2 := s2.WaitEvent("call.incoming", "", 5*time.Second)
	if in1.CallID == "" || in1.CallID != in2.CallID || in1.Context != "sales" || in2.Context != "sales" {
		t.Fatalf("offers %s %s / %s %s", in1, in1.Context, in2, in2.Context)
	}
	if in1.Str("from") != "1001" || in1.Str("to") != "7000" || in1.Str("direction") != "inbound" || in1.Str("leg_id") == "" {
		t.Fatalf("call.incoming data %v", in1.Data)
	}
	id1, err1 := s1.Send("session.attach_call", map[string]any{"call_id": in1.CallID})
	id2, err2 := s2.Send("session.attach_call", map[string]any{"call_id": in2.CallID})
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	r1, err1 := s1.Await(id1, 5*time.Second)
	r2, err2 := s2.Await(id2, 5*time.Second)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if r1.OK == r2.OK {
		t.Fatalf("both or neither claimed: %s / %s", r1.Raw, r2.Raw)
	}
	winner, loser, lost := s1, s2, r2
	if r2.OK {
		winner, loser, lost = s2, s1, r1
	}
	ctlWant(t, "the second claim", lost, "already_owned", "")
	ctlWant(t, "the loser answers", loser.Do("call.answer", map[string]any{"call_id": in1.CallID}), "already_owned", "")
	winner.MustDo("call.answer", map[string]any{"call_id": in1.CallID})
	winner.WaitEvent("call.answered", in1.CallID, 5*time.Second)
	a := ctlAnswered(t, called)
	calls := winner.MustDo("session.list_calls", map[string]any{})["calls"].([]any)
	if len(calls) != 1 {
		t.Fatalf("winner's calls %v", calls)
	}
	if l := calls[0].(map[string]any); l["call_id"] != in1.CallID || l["direction"] != "inbound" || l["from"] != "1001" || l["to"] != "7000" {
		t.Fatalf("winner's call %v", l)
	} else if l["context"] != "sales" {
		t.Errorf("winner's call: context %q, call.incoming said %q", l["context"], in1.Context)
	}
	if calls := loser.MustDo("session.list_calls", map[string]any{})["calls"].([]any); len(calls) != 0 {
		t.Fatalf("loser's calls %v", calls)
	}
	// The winner bridges the caller to an agent it dials.
	agent := ctlOriginate(t, winner, "agent", "1002", bob, toneB)
	winner.MustDo("call.bridge", map[string]any{"leg_a": in1.CallID, "leg_b": "agent"})
	talking(t, a, agent)
	winner.MustDo("call.hangup", map[string]any{"call_id": in1.CallID})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	winner.MustDo("call.hangup", map[string]any{"call_id": "agent"})
	if err := agent.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Rejected busy without a claim first: the caller gets 486.
	called = ctlCall(t, alice, "7000")
	in := s1.WaitEvent("call.incoming", "", 5*time.Second)
	s1.MustDo("call.ring", map[string]any{"call_id": in.CallID})
	s1.MustDo("call.reject", map[string]any{"call_id": in.CallID, "reason": "busy"})
	if ev := s1.WaitEvent("call.hangup", in.CallID, 3*time.Second); ev.Data["sip_status"] != 486.0 {
		t.Fatalf("%s: data %v, want sip_status 486", ev, ev.Data)
	}
	select {
	case r := <-called:
		if code := testkit.StatusOf(r.err); code != 486 {
			t.Fatalf("rejected caller got %d (%v), want 486", code, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the rejected caller got no answer")
	}

	// Nobody claims within offer_timeout: the fallback answers with music.
	s2.MustDo("session.unsubscribe", map[string]any{"contexts": []string{"sales", "support"}})
	called = ctlCall(t, alice, "7000")
	in = s1.WaitEvent("call.incoming", "", 5*time.Second)
	a = ctlAnswered(t, called)
	if err := a.WaitHears(5*time.Second, ctlMusic); err != nil {
		t.Fatalf("unclaimed call: %v", err)
	}
	if r := s1.Do("session.attach_call", map[string]any{"call_id": in.CallID}); r.OK {
		t.Fatalf("claimed a call the fallback took: %s", r.Raw)
	}
	a.Hangup()

	// Nobody subscribed: the fallback answers at once.
	d := s1.MustDo("session.unsubscribe", map[string]any{"contexts": []string{"sales"}})
	if rest, _ := d["contexts"].([]any); len(rest) != 1 || rest[0] != "support" {
		t.Fatalf("session.unsubscribe: data %v", d)
	}
	called = ctlCall(t, alice, "7000")
	a = ctlAnswered(t, called)
	if err := a.WaitHears(5*time.Second, ctlMusic); err != nil {
		t.Fatalf("call to a context nobody serves: %v", err)
	}
	a.Hangup()
	checkSeq(t, s1)
	checkSeq(t, s2)
}

// Every error code, each answered in order with its action_id, and the
// session still works after each.
func TestRWIControlErrors(t *testing.T) {
	p := ctlPBX(t)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := ctlDial(t, p, ctlAgent)

	// parse_error: what is not a request at all.
	for _, raw := range []string{
		`not json`,
		`[1,2]`,
		`{"action": 5}`,
		`{"action_id": 7, "action": "session.list_calls"}`,
		`{"action_id": "p5", "action": "session.list_calls", "colour": "red"}`,
		`{"action_id": "p6"}`,
		`{"action": "session.list_calls"} {"action": "session.list_calls"}`,
	} {
		if err := c.SendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		r, err := c.Response(3 * time.Second)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		ctlWant(t, raw, r, "parse_error", "")
		ctlAlive(t, c)
	}
	// A request without action_id gets a response without one.
	if err := c.SendRaw([]byte(`{"rwi":"1.0","action":"session.list_calls","params":{}}`)); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Response(3 * time.Second); err != nil || !r.OK || r.ActionID != "" || strings.Contains(string(r.Raw), "action_id") {
		t.Fatalf("request without action_id: %s %v", r.Raw, err)
	}

	for _, tt := range []struct {
		name, action string
		params       any
		code         string
	}{
		{"unknown action", "call.teleport", map[string]any{"call_id": "x"}, "unknown_action"},
		{"queue actions need queue.control", "queue.enqueue", map[string]any{"call_id": "x", "queue_id": "q"}, "forbidden"},
		{"param of the wrong type", "call.hangup", map[string]any{"call_id": 5}, "invalid_params"},
		{"params not an object", "call.hangup", []string{"x"}, "invalid_params"},
		{"unknown param", "call.hangup", map[string]any{"call_id": "x", "colour": "red"}, "invalid_params"},
		{"missing call_id", "call.hangup", map[string]any{}, "invalid_params"},
		{"missing destination", "call.originate", map[string]any{"call_id": "nowhere"}, "invalid_params"},
		{"no such call", "call.hangup", map[string]any{"call_id": "nonexistent"}, "call_not_found"},
		{"no such call to bridge", "call.bridge", map[string]any{"leg_a": "ghost_a", "leg_b": "ghost_b"}, "call_not_found"},
	} {
		ctlWant(t, tt.name, c.Do(tt.action, tt.params), tt.code, "")
		ctlAlive(t, c)
	}

	// invalid_params for a duplicate call_id; invalid_state for a command
	// the leg's state does not allow.
	a := ctlOriginate(t, c, "dup", "1001", alice, toneA)
	ctlWant(t, "duplicate call_id", c.Do("call.originate", map[string]any{"call_id": "dup", "destination": "1002"}), "invalid_params", "")
	ctlWant(t, "bad reject reason", c.Do("call.reject", map[string]any{"call_id": "dup", "reason": "sulk"}), "invalid_params", "")
	ctlWant(t, "ring an outbound leg", c.Do("call.ring", map[string]any{"call_id": "dup"}), "invalid_state", "")
	c.MustDo("call.answer", map[string]any{"call_id": "dup"}) // answered already: nothing to do, not an error
	ctlWant(t, "unbridge a parked leg", c.Do("call.unbridge", map[string]any{"call_id": "dup"}), "invalid_state", "")
	ctlWant(t, "pause a recording never started", c.Do("record.pause", map[string]any{"call_id": "dup"}), "invalid_state", "")
	ctlAlive(t, c)

	// forbidden: a scope the token lacks.
	b := ctlOriginate(t, c, "other", "1002", bob, toneB)
	c.MustDo("call.bridge", map[string]any{"leg_a": "dup", "leg_b": "other"})
	ctlWant(t, "supervisor action without the scope",
		c.Do("supervisor.listen", map[string]any{"supervisor_call_id": "other", "target_call_id": "dup"}),
		"forbidden", "scope required: supervisor.control")
	bare := ctlDial(t, p, ctlBare)
	ctlWant(t, "call action without any scope", bare.Do("call.originate", map[string]any{"destination": "1002"}), "forbidden", "scope required: call.control")
	ctlWant(t, "record action without any scope", bare.Do("record.start", map[string]any{"call_id": "x"}), "forbidden", "scope required: record.control")
	ctlAlive(t, bare) // session.* needs no scope
	bare.MustDo("session.subscribe", map[string]any{"contexts": []string{"sales"}})
	if acts, _ := bare.MustDo("session.list_actions", map[string]any{})["actions"].([]any); len(acts) < 10 {
		t.Fatalf("session.list_actions: %v", acts)
	}
	talking(t, a, b) // nothing of the above touched the call
	ctlAlive(t, c)
	c.MustDo("call.hangup", map[string]any{"call_id": "dup"})
	c.MustDo("call.hangup", map[string]any{"call_id": "other"})
	if err := errors.Join(a.WaitEnded(3*time.Second), b.WaitEnded(3*time.Second)); err != nil {
		t.Fatal(err)
	}

	// Requests pipelined without waiting are answered once each, in order.
	var ids []string
	want := map[string]bool{} // action_id -> success expected
	for i := range 20 {
		action, params := "session.list_calls", map[string]any{}
		if i%3 == 1 {
			action, params = "call.hangup", map[string]any{"call_id": fmt.Sprint("ghost", i)} // call_not_found
		}
		id, err := c.Send(action, params)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		want[id] = action == "session.list_calls"
	}
	var order []string
	for len(order) < len(ids) {
		raw, err := c.ReadRaw(3 * time.Second)
		if err != nil {
			t.Fatalf("after %d of %d pipelined responses: %v", len(order), len(ids), err)
		}
		for _, id := range ids {
			if strings.Contains(string(raw), `"action_id":"`+id+`"`) {
				order = append(order, id)
				if ok := strings.Contains(string(raw), `"response":"success"`); ok != want[id] {
					t.Fatalf("response to %s: %s", id, raw)
				}
			}
		}
	}
	if got := strings.Join(order, ","); got != strings.Join(ids, ",") {
		t.Fatalf("responses in order %s, want %s", got, strings.Join(ids, ","))
	}
}

// rate_limited: originate_rate 1 per second and max_legs 1 per session.
func TestRWIControlRateLimited(t *testing.T) {
	p := ctlPBX(t, func(c *config.Config) { c.RWI.OriginateRate, c.RWI.MaxLegs = 1, 1 })
	alice := phone(t, p, "1001")
	c := ctlDial(t, p, ctlAgent)
	a := ctlOriginate(t, c, "first", "1001", alice, toneA)
	ctlWant(t, "a second originate within the second", c.Do("call.originate", map[string]any{"call_id": "second", "destination": "1002"}), "rate_limited", "")
	<-time.After(1100 * time.Millisecond) // the rate under test refills
	ctlWant(t, "an originate beyond max_legs", c.Do("call.originate", map[string]any{"call_id": "third", "destination": "1002"}), "rate_limited", "")
	ctlAlive(t, c)
	c.MustDo("call.hangup", map[string]any{"call_id": "first"})
	c.WaitEvent("call.hangup", "first", 3*time.Second)
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	// One leg freed and a token refilled (whether or not the refused
	// originates took one): the next originate goes out.
	<-time.After(1100 * time.Millisecond)
	ringing := ringUntilCancelled(alice)
	c.MustDo("call.originate", map[string]any{"call_id": "fourth", "destination": "1001"})
	c.WaitEvent("call.ringing", "fourth", 3*time.Second)
	c.MustDo("call.hangup", map[string]any{"call_id": "fourth"})
	select {
	case <-ringing:
	case <-time.After(3 * time.Second):
		t.Fatal("the ringing phone was not cancelled")
	}
}

// The handshake: a bad token and a token from outside its CIDRs get 401,
// a token over its max_connections 429 (rate_limited), and no WebSocket; a good one gets the
// rwi-v1 subprotocol and a session id, by header or by query.
func TestRWIControlHandshake(t *testing.T) {
	p := ctlPBX(t)
	addr := p.HTTPAddr()
	bearer := func(token string) http.Header {
		h := http.Header{}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return h
	}
	for _, tt := range []struct {
		name   string
		header http.Header
		query  string
	}{
		{"no token", nil, ""},
		{"unknown token", bearer("not-a-token-at-all"), ""},
		{"unknown token in the query", nil, "token=not-a-token-at-all"},
		{"a token's prefix", bearer(ctlBoss[:10]), ""},
		{"token from outside its CIDRs", bearer(ctlRemote), ""},
		{"token from outside its CIDRs in the query", nil, "token=" + ctlRemote},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, res, err := testkit.DialRWIRaw(addr, tt.header, tt.query)
			if err == nil {
				conn.Close()
				t.Fatal("upgraded")
			}
			if res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("response %v, want 401: %v", res, err)
			}
		})
	}

	conn, res, err := testkit.DialRWIRaw(addr, nil, "token="+ctlBoss)
	if err != nil {
		t.Fatalf("token in the query: %v", err)
	}
	if res.Header.Get("Sec-WebSocket-Protocol") != "rwi-v1" || res.Header.Get("X-RWI-Session") == "" {
		t.Fatalf("upgrade headers %v", res.Header)
	}
	q := testkit.NewRWIClient(t, conn, res.Header.Get("X-RWI-Session"))
	ctlAlive(t, q)

	// max_connections 2: the third is refused until one closes.
	first, second := ctlDial(t, p, ctlPair), ctlDial(t, p, ctlPair)
	if first.Session == second.Session {
		t.Fatal("two connections share a session id")
	}
	if conn, res, err := testkit.DialRWIRaw(addr, bearer(ctlPair), ""); err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("third connection: %v %v, want 429", res, err)
	}
	ctlAlive(t, first) // the refusal cost the others nothing
	first.Close()
	// The server counts the connection closed once it has read the close;
	// nothing announces that, so the test retries for a while.
	deadline := time.Now().Add(3 * time.Second)
	for {
		conn, res, err := testkit.DialRWIRaw(addr, bearer(ctlPair), "")
		if err == nil {
			third := testkit.NewRWIClient(t, conn, res.Header.Get("X-RWI-Session"))
			ctlAlive(t, third)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a connection freed is not counted free: %v %v", res, err)
		}
		<-time.After(50 * time.Millisecond)
	}
	ctlAlive(t, second)
}

// A frame over max_frame closes the connection with 1009; the PBX and
// other sessions carry on.
func TestRWIControlOversizeFrame(t *testing.T) {
	p := ctlPBX(t, func(c *config.Config) { c.RWI.MaxFrame = 4096 })
	other := ctlDial(t, p, ctlBoss)
	c := ctlDial(t, p, ctlBoss)
	ctlAlive(t, c)
	// A frame just at the limit is read (and answered).
	head, tail := `{"action":"session.list_calls","params":{},"action_id":"`, `"}`
	fits := head + strings.Repeat("x", 4096-len(head)-len(tail)) + tail
	if err := c.SendRaw([]byte(fits)); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Response(3 * time.Second); err != nil || !r.OK {
		t.Fatalf("a frame of max_frame bytes: %v %s", err, r.Raw)
	}
	big := `{"action":"session.list_calls","action_id":"` + strings.Repeat("x", 8000) + `"}`
	if err := c.SendRaw([]byte(big)); err != nil {
		t.Fatal(err)
	}
	err := c.WaitClosed(5 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("after an oversize frame: %v, want close 1009", err)
	}
	ctlAlive(t, other)
	ctlAlive(t, ctlDial(t, p, ctlBoss))
}

// Ownership: a session's leg is its own. Another session's commands on it
// get already_owned, and the leg is not in its list; a token with
// supervisor.control may command it.
func TestRWIControlOwnership(t *testing.T) {
	p := ctlPBX(t)
	alice := phone(t, p, "1001")
	owner, rival, boss := ctlDial(t, p, ctlAgent), ctlDial(t, p, ctlAgent), ctlDial(t, p, ctlBoss)
	answered := answerNext(t, alice, toneA)
	d := owner.MustDo("call.originate", map[string]any{"call_id": "mine", "destination": "1001"})
	leg, _ := d["leg_id"].(string)
	owner.WaitEvent("call.answered", "mine", 5*time.Second)
	a := <-answered
	if a == nil {
		t.FailNow()
	}
	for _, tt := range []struct {
		action string
		params map[string]any
	}{
		{"call.hangup", map[string]any{"call_id": leg}},
		{"call.hold", map[string]any{"call_id": leg}},
		{"sip.message", map[string]any{"call_id": leg, "body": "not yours"}},
		{"session.attach_call", map[string]any{"call_id": leg}},
		{"record.start", map[string]any{"call_id": leg}},
	} {
		ctlWant(t, "rival "+tt.action, rival.Do(tt.action, tt.params), "already_owned", "")
	}
	// Names belong to the session that gave them.
	ctlWant(t, "rival uses the owner's name", rival.Do("call.hangup", map[string]any{"call_id": "mine"}), "call_not_found", "")
	if calls := rival.MustDo("session.list_calls", map[string]any{})["calls"].([]any); len(calls) != 0 {
		t.Fatalf("rival lists %v", calls)
	}
	if rival.HasEvent("call.answered", "") {
		t.Fatal("the rival got an event of a leg it does not own")
	}
	// The supervisor-scoped token may.
	if d := boss.MustDo("sip.message", map[string]any{"call_id": leg, "body": "from the boss"}); d["sip_status"] != 200.0 {
		t.Fatalf("boss sip.message: %v", d)
	}
	select {
	case body := <-a.Messages():
		if body != "from the boss" {
			t.Fatalf("MESSAGE %q", body)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the phone got no MESSAGE from the boss")
	}
	calls := owner.MustDo("session.list_calls", map[string]any{})["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["call_id"] != "mine" || calls[0].(map[string]any)["leg_id"] != leg {
		t.Fatalf("owner lists %v", calls)
	}
	owner.MustDo("session.detach_call", map[string]any{"call_id": "mine"})
	if calls := owner.MustDo("session.list_calls", map[string]any{})["calls"].([]any); len(calls) != 0 {
		t.Fatalf("owner lists %v after detaching", calls)
	}
	// Detached, the leg is anyone's to claim: with supervisor.control.
	boss.MustDo("session.attach_call", map[string]any{"call_id": leg})
	boss.MustDo("call.hangup", map[string]any{"call_id": leg})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Resume: a session whose connection drops keeps its legs; a new
// connection with the same token resumes it by id and gets the events it
// missed, in order, then commands the legs by their names.
func TestRWIControlResume(t *testing.T) {
	p := ctlPBX(t)
	alice := phone(t, p, "1001")
	c := ctlDial(t, p, ctlAgent)
	d := c.MustDo("session.subscribe", map[string]any{"contexts": []string{"sales"}})
	if d["session_id"] != c.Session {
		t.Fatalf("session.subscribe: session_id %v, upgrade header %s", d["session_id"], c.Session)
	}
	a := ctlOriginate(t, c, "keep", "1001", alice, toneA)
	events := c.Events()
	last := events[len(events)-1].Seq
	c.Drop()

	// Meanwhile the phone keys digits: events the session misses.
	dtmf, err := p.Engine().Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventDTMF}})
	if err != nil {
		t.Fatal(err)
	}
	defer dtmf.Close()
	if err := a.SendDigits("42"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-dtmf.C:
		case <-time.After(3 * time.Second):
			t.Fatal("the engine saw no digit")
		}
	}
	// The leg stays up while its session is away.
	select {
	case <-a.Ended():
		t.Fatal("the leg ended when its session dropped")
	default:
	}

	n := ctlDial(t, p, ctlAgent)
	// Another token cannot take the session over.
	other := ctlDial(t, p, ctlBoss)
	if r := other.Do("session.resume", map[string]any{"session_id": c.Session, "last_seq": last}); r.OK {
		t.Fatalf("a session resumed with another token: %s", r.Raw)
	}
	d = n.MustDo("session.resume", map[string]any{"session_id": c.Session, "last_seq": last})
	if d["session_id"] != c.Session || d["lost"] != 0.0 {
		t.Fatalf("session.resume: data %v", d)
	}
	if r, _ := d["replayed"].(float64); r < 2 {
		t.Fatalf("session.resume replayed %v, want the two digits at least", d["replayed"])
	}
	var digits string
	for want := last + 1; len(digits) < 2; want++ {
		ev := n.WaitEvent("call.dtmf", "keep", 3*time.Second)
		if ev.Seq < want {
			t.Fatalf("replayed %s, want seq %d or more", ev, want)
		}
		digits += ev.Str("digit")
	}
	if digits != "42" {
		t.Fatalf("replayed digits %q", digits)
	}
	var prev uint64
	for _, e := range n.Events() {
		if e.Seq <= last || (prev != 0 && e.Seq != prev+1) {
			t.Fatalf("after resuming from %d: %v", last, n.Events())
		}
		prev = e.Seq
	}
	// The subscriptions came along: an offer to sales reaches the resumed session.
	called := ctlCall(t, alice, "7000")
	in := n.WaitEvent("call.incoming", "", 5*time.Second)
	if in.Seq != prev+1 && prev != 0 {
		t.Fatalf("%s after seq %d", in, prev)
	}
	n.MustDo("call.reject", map[string]any{"call_id": in.CallID, "reason": "decline"})
	if r := <-called; r.err == nil {
		t.Fatal("declined call was answered")
	}
	// The names came along too.
	calls := n.MustDo("session.list_calls", map[string]any{})["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["call_id"] != "keep" {
		t.Fatalf("resumed session lists %v", calls)
	}
	n.MustDo("call.hangup", map[string]any{"call_id": "keep"})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Without a resume, a dropped session's legs go to the fallback after
// orphan_hold: the parked phone hears the fallback's music.
func TestRWIControlOrphanFallback(t *testing.T) {
	p := ctlPBX(t, func(c *config.Config) { c.RWI.OrphanHold = 300 * time.Millisecond })
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	c := ctlDial(t, p, ctlAgent)
	a := ctlOriginate(t, c, "left", "1001", alice, toneA)
	b := ctlOriginate(t, c, "behind", "1002", bob, toneB)
	if err := a.WaitHearsAll(2*time.Second, nil, []float64{ctlMusic}); err != nil {
		t.Fatalf("parked: %v", err)
	}
	c.Drop()
	for who, x := range map[string]*testkit.PhoneCall{"alice": a, "bob": b} {
		if err := x.WaitHears(5*time.Second, ctlMusic); err != nil {
			t.Fatalf("%s after the session dropped: %v", who, err)
		}
	}
	// Too late to resume: the legs went elsewhere.
	n := ctlDial(t, p, ctlAgent)
	if r := n.Do("session.resume", map[string]any{"session_id": c.Session, "last_seq": 0}); r.OK {
		if calls, _ := n.MustDo("session.list_calls", map[string]any{})["calls"].([]any); len(calls) != 0 {
			t.Fatalf("legs handed to the fallback came back: %v", calls)
		}
	}
	a.Hangup()
	b.Hangup()
}

// A session that closes cleanly, with the fallback empty, gets its legs
// hung up after orphan_hold.
func TestRWIControlOrphanHangup(t *testing.T) {
	p := ctlPBX(t, func(c *config.Config) { c.RWI.OrphanHold, c.RWI.Fallback = 0, "" })
	alice := phone(t, p, "1001")
	c := ctlDial(t, p, ctlAgent)
	a := ctlOriginate(t, c, "left", "1001", alice, toneA)
	c.Close()
	if err := a.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("orphaned leg with no fallback: %v", err)
	}
}

// A hundred sessions at once: each subscribes and lists its calls, and
// every one gets its answers.
func TestRWIControlManySessions(t *testing.T) {
	p := ctlPBX(t)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := http.Header{}
			h.Set("Authorization", "Bearer "+ctlBoss)
			conn, res, err := testkit.DialRWIRaw(p.HTTPAddr(), h, "")
			if err != nil {
				errs <- fmt.Errorf("session %d: %w", i, err)
				return
			}
			c := testkit.NewRWIClient(t, conn, res.Header.Get("X-RWI-Session"))
			ctx := fmt.Sprint("ctx", i)
			id, err := c.Send("session.subscribe", map[string]any{"contexts": []string{ctx}})
			if err != nil {
				errs <- fmt.Errorf("session %d: %w", i, err)
				return
			}
			id2, err := c.Send("session.list_calls", map[string]any{})
			if err != nil {
				errs <- fmt.Errorf("session %d: %w", i, err)
				return
			}
			r, err := c.Await(id, 10*time.Second)
			if err != nil || !r.OK || r.Str("session_id") != c.Session {
				errs <- fmt.Errorf("session %d: subscribe: %s %v", i, r.Raw, err)
				return
			}
			r, err = c.Await(id2, 10*time.Second)
			if calls, ok := r.Data["calls"].([]any); err != nil || !r.OK || !ok || len(calls) != 0 {
				errs <- fmt.Errorf("session %d: list_calls: %s %v", i, r.Raw, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// check-config knows rwi.fallback: a kind nobody serves is refused with
// the file, line and field.
func TestRWIControlFallbackChecked(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte("rwi:\n  fallback: nosuchkind:x\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = dialog.CheckDialplan(cfg)
	if err == nil || !strings.HasPrefix(err.Error(), `f.yaml:2: rwi.fallback: unknown target kind "nosuchkind"`) {
		t.Fatalf("CheckDialplan: %v", err)
	}
	cfg, err = config.Parse("f.yaml", []byte("rwi:\n  fallback: music:default\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dialog.CheckDialplan(cfg); err != nil {
		t.Fatalf("CheckDialplan: %v", err)
	}
}
