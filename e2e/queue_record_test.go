package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/media"
	"pbx/queue"
	"pbx/recordings"
)

// What the contact center keeps of its calls, end to end over real SIP
// and RTP: the automatic recording of a queue's answered calls (each
// party's tone read back from the WAV file, on the channel the mode puts
// it), the queue_log lines of an agent's attended transfer and of members
// added and removed at run time, and the pbx_queue_* series of /metrics
// scraped over HTTP. The PBXs are built by qrStart (queue_routing_test.go):
// dynamic members on phones 1101..., callers on 1201..., every party
// sending its own tone.

// rqTalk is how much audio a recorded call holds at least before it is
// hung up: enough 50 ms windows to tell each tone from the other.
const rqTalk = 1500 * time.Millisecond

// rqMinWindows is how many 50 ms windows of rqTalk must carry a party's
// tone on its channel (of 30): the first frames of the recording may be
// the moment the mixer takes the call over.
const rqMinWindows = 20

// rqStart is qrStart with recordings' beep off (the beep would be heard
// in the file), and an event log of everything the engine publishes.
func rqStart(t *testing.T, agents []config.Agent, queues []config.Queue, opts ...testkit.PBXOption) (*qrCC, *testkit.EventLog) {
	t.Helper()
	opts = append([]testkit.PBXOption{func(c *config.Config) { c.Recordings.Beep = false }}, opts...)
	x := qrStart(t, agents, queues, opts...)
	return x, testkit.RecordEvents(t, x.p)
}

// rqCallID is the call id the queue gave caller c's call (queue.joined).
func rqCallID(t *testing.T, x *qrCC, c *qrCaller) string {
	t.Helper()
	evs := x.bus.seen(func(ev dialog.Event) bool { return ev.Kind == queue.EventJoined && ev.LegID == c.Leg })
	if len(evs) == 0 || evs[0].CallID == "" {
		t.Fatalf("no queue.joined with a call id for %s (%s)", c.Ext, c.Leg)
	}
	return evs[0].CallID
}

// rqConnected is caller c's queue.agent_connected event.
func rqConnected(t *testing.T, x *qrCC, c *qrCaller) dialog.Event {
	t.Helper()
	evs := x.bus.seen(func(ev dialog.Event) bool { return ev.Kind == queue.EventAgentConnected && ev.LegID == c.Leg })
	if len(evs) != 1 {
		t.Fatalf("%d queue.agent_connected for %s, want 1", len(evs), c.Ext)
	}
	return evs[0]
}

// rqWindows counts, for each of freqs, the 50 ms windows of pcm in which
// it sounds.
func rqWindows(pcm []int16, freqs ...float64) map[float64]int {
	n := map[float64]int{}
	for off := 0; off+400 <= len(pcm); off += 400 {
		for f, on := range media.DetectTones(pcm[off:off+400], freqs) {
			if on {
				n[f]++
			}
		}
	}
	return n
}

// rqBoth counts the 50 ms windows of pcm in which a and b sound together.
func rqBoth(pcm []int16, a, b float64) int {
	n := 0
	for off := 0; off+400 <= len(pcm); off += 400 {
		if got := media.DetectTones(pcm[off:off+400], []float64{a, b}); got[a] && got[b] {
			n++
		}
	}
	return n
}

// rqRecordedCall has caller n reach agent a of queue 0, checks that the
// queue started a recording of the call (its id on queue.agent_connected,
// recording.started on the caller's leg), lets rqTalk of audio be written,
// has the caller hang up and returns the finished recording's index entry
// once recording.stopped is out.
func rqRecordedCall(t *testing.T, x *qrCC, log *testkit.EventLog, n int, a *qrAgent) (*qrCaller, recordings.Entry) {
	t.Helper()
	m := log.Mark()
	c := x.join(n, 0, false, 1)
	callID := rqCallID(t, x, c)
	call := x.serve(c, a)
	id := rqConnected(t, x, c).Detail
	if id == "" {
		t.Fatalf("queue.agent_connected of %s names no recording: the queue records its calls", c.Ext)
	}
	started, _ := log.Await(m, 5*time.Second, "recording.started", testkit.IsKind(dialog.EventRecordingStarted))
	if started.Detail != id || started.LegID != c.Leg || started.CallID != callID {
		t.Fatalf("recording.started %s on leg %s call %s; want %s on the caller's leg %s, call %s",
			started.Detail, started.LegID, started.CallID, id, c.Leg, callID)
	}
	// The call goes on until the index says rqTalk of it is on disk.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, err := x.p.Recordings().Get(id)
		if err != nil {
			t.Fatalf("recording %s while the call is up: %v", id, err)
		}
		if !e.Active {
			t.Fatalf("recording %s stopped while the call is up: %+v", id, e)
		}
		if e.Duration >= rqTalk {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s holds %v after 5 s of talk", id, e.Duration)
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.finish(c, a, call, queue.StateIdle)
	log.Await(m, 5*time.Second, "recording.stopped of "+id, func(ev dialog.Event) bool {
		return ev.Kind == dialog.EventRecordingStopped && ev.Detail == id
	})
	e, err := x.p.Recordings().Get(id)
	if err != nil {
		t.Fatalf("recording %s after the call: %v", id, err)
	}
	if e.Active || e.CallID != callID || e.LegID != c.Leg || e.Caller != c.Ext || e.Duration < rqTalk {
		t.Fatalf("index entry %+v: want finished, call %s, the caller's leg %s and number %s, at least %v",
			e, callID, c.Leg, c.Ext, rqTalk)
	}
	if list, err := x.p.Recordings().List(recordings.Filter{CallID: callID}); err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("recordings of call %s: %+v %v, want %s only", callID, list, err, id)
	}
	return c, e
}

// rqRecordingQueue starts a PBX whose queue name records its calls in
// mode, puts one caller through to agent 201 and reads the recording back,
// which must be of that mode, at 8 kHz, with that many channels.
func rqRecordingQueue(t *testing.T, name string, mode recordings.Mode, channels int) (*qrCC, *testkit.EventLog, *qrAgent, *qrCaller, recordings.Entry, recording) {
	t.Helper()
	x, log := rqStart(t, qrAgents(1), []config.Queue{{Name: name, Members: qrMembers(nil, "201"), Record: string(mode)}})
	x.login("201")
	a := x.agent("201")
	c, e := rqRecordedCall(t, x, log, 1, a)
	if e.Mode != mode {
		t.Fatalf("recording mode %q, want %s", e.Mode, mode)
	}
	w := readRecording(t, rqPath(x, e))
	if w.rate != 8000 || len(w.channels) != channels {
		t.Fatalf("recording: %d Hz, %d channels; want 8000 Hz %s", w.rate, len(w.channels), mode)
	}
	return x, log, a, c, e, w
}

// rqPath is where a recording's file is.
func rqPath(x *qrCC, e recordings.Entry) string {
	if filepath.IsAbs(e.Path) {
		return e.Path
	}
	return filepath.Join(x.p.DataDir, "recordings", e.Path)
}

// TestQueueRecordStereo: a queue with record: stereo records its answered
// call: the file has two channels, the caller's tone on the left and the
// agent's on the right (RecordBridge puts the bridge's first party, the
// caller, on the left; README "Recording": caller left, callee right),
// neither channel holding the other's tone nor the wait music. A second
// caller who hangs up while the agent's phone rings leaves no recording:
// no recording.started for the call, nothing in the index, one file in
// the recordings directory.
func TestQueueRecordStereo(t *testing.T) {
	x, log, a, c, e, w := rqRecordingQueue(t, "rec", recordings.Stereo, 2)
	left := rqWindows(w.channels[0], c.Tone, a.Tone, qrToneMusic)
	right := rqWindows(w.channels[1], c.Tone, a.Tone, qrToneMusic)
	if left[c.Tone] < rqMinWindows || left[a.Tone] != 0 || left[qrToneMusic] != 0 {
		t.Errorf("left channel: %v windows of 50 ms with the caller's %v Hz, %v with the agent's %v Hz, %v with music; want >= %d, 0, 0",
			left[c.Tone], c.Tone, left[a.Tone], a.Tone, left[qrToneMusic], rqMinWindows)
	}
	if right[a.Tone] < rqMinWindows || right[c.Tone] != 0 || right[qrToneMusic] != 0 {
		t.Errorf("right channel: %v windows of 50 ms with the agent's %v Hz, %v with the caller's %v Hz, %v with music; want >= %d, 0, 0",
			right[a.Tone], a.Tone, right[c.Tone], c.Tone, right[qrToneMusic], rqMinWindows)
	}

	// Abandoned while the agent's phone rings: no recording.
	m, bm := log.Mark(), x.bus.mark()
	c2 := x.join(2, 0, false, 1)
	callID := rqCallID(t, x, c2)
	x.offered(c2, "201")
	in := x.ring(a, c2)
	if err := c2.Call.Hangup(); err != nil {
		t.Fatal(err)
	}
	x.left(c2, queue.LeftAbandoned)
	select {
	case <-in.Cancelled():
	case <-time.After(3 * time.Second):
		t.Fatal("the agent's phone still rings after the caller hung up")
	}
	x.waitState("201", queue.StateIdle, bm)
	if ev, i := log.Find(m, testkit.IsKind(dialog.EventRecordingStarted)); i >= 0 {
		t.Errorf("recording.started %s (leg %s) for an abandoned call", ev.Detail, ev.LegID)
	}
	if list, err := x.p.Recordings().List(recordings.Filter{CallID: callID}); err != nil || len(list) != 0 {
		t.Errorf("recordings of the abandoned call %s: %+v %v, want none", callID, list, err)
	}
	all, err := x.p.Recordings().List(recordings.Filter{})
	if err != nil || len(all) != 1 {
		t.Errorf("recordings index: %+v %v, want the answered call's only", all, err)
	}
	var files []string
	filepath.WalkDir(filepath.Join(x.p.DataDir, "recordings"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != 1 || files[0] != rqPath(x, e) {
		t.Errorf("recordings directory holds %v, want %s only", files, rqPath(x, e))
	}
}

// TestQueueRecordMono: with record: mono the file has one channel in
// which the caller's and the agent's tones sound together.
func TestQueueRecordMono(t *testing.T) {
	_, _, a, c, _, w := rqRecordingQueue(t, "recm", recordings.Mono, 1)
	if n := rqBoth(w.channels[0], c.Tone, a.Tone); n < rqMinWindows {
		t.Errorf("%d windows of 50 ms hold both the caller's %v Hz and the agent's %v Hz (%v), want >= %d",
			n, c.Tone, a.Tone, rqWindows(w.channels[0], c.Tone, a.Tone), rqMinWindows)
	}
	if n := rqWindows(w.channels[0], qrToneMusic)[qrToneMusic]; n != 0 {
		t.Errorf("%d windows of the recording hold the wait music", n)
	}
}

// rqQlog waits until the queue_log file in the data directory has a line
// that matches, and returns the file's lines.
func rqQlog(t *testing.T, x *qrCC, what string, match func(qlogLine) bool) []qlogLine {
	t.Helper()
	path := filepath.Join(x.p.DataDir, "queue_log")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			lines := readQueueLog(t, path)
			if slices.ContainsFunc(lines, match) {
				return lines
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(path)
				t.Fatalf("queue_log has no %s:\n%s", what, b)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("no queue_log file: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rqOfCall are the lines of one call id, as EVENT|data... strings.
func rqOfCall(lines []qlogLine, callID string) []string {
	var out []string
	for _, l := range lines {
		if l.callID == callID {
			out = append(out, l.queue+"|"+l.agent+"|"+l.event+"|"+strings.Join(l.data, "|"))
		}
	}
	return out
}

// rqSeconds is a duration as queue_log writes it: whole seconds, rounded.
func rqSeconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

// rqAttendedTransfer runs one attended transfer of a queue call and checks
// its queue_log lines: caller 1201 reaches agent 201 of queue "xfer";
// start (given the caller's and the agent's legs and the agent's call)
// begins the consultation of 1299, which answers; the agent talks to 1299
// while the caller hears music; complete ends the agent's part. Then the
// caller talks to 1299, and the agent is free. The call's lines are
// ENTERQUEUE, CONNECT, then ATTENDEDTRANSFER|BRIDGE|<1299's leg>|holdtime|
// calltime|1, and nothing else: not COMPLETECALLER nor COMPLETEAGENT.
func rqAttendedTransfer(t *testing.T, start func(x *qrCC, callerLeg, agentLeg string, agentCall *testkit.PhoneCall), complete func(x *qrCC, agentCall *testkit.PhoneCall, targetLeg string)) {
	x, log := rqStart(t, qrAgents(1), []config.Queue{{Name: "xfer", Members: qrMembers(nil, "201")}})
	x.login("201")
	a := x.agent("201")
	target := x.register(qrFallbackExt)
	c := x.join(1, 0, false, 1)
	callID := rqCallID(t, x, c)
	agentCall := x.serve(c, a)
	// A failure leaves calls up: hang them up before the PBX stops, which
	// would otherwise wait for them.
	t.Cleanup(func() {
		for _, call := range []*testkit.PhoneCall{c.Call, agentCall} {
			select {
			case <-call.Ended():
			default:
				call.Hangup()
			}
		}
	})
	conn := rqConnected(t, x, c)
	connectedAt := time.Now()
	agentLeg := conn.OtherLegID

	m, bm := log.Mark(), x.bus.mark()
	start(x, c.Leg, agentLeg, agentCall)
	st, _ := log.Await(m, 3*time.Second, "transfer.started on the agent's leg "+agentLeg+" (its consultation of 1299)",
		testkit.IsLegEvent(dialog.EventTransferStarted, agentLeg))
	if st.OtherLegID != c.Leg || st.Detail != qrFallbackExt {
		t.Fatalf("transfer.started holds %s to %q, want the caller's leg %s to %s", st.OtherLegID, st.Detail, c.Leg, qrFallbackExt)
	}
	in, err := target.Incoming(3 * time.Second)
	if err != nil {
		t.Fatalf("1299 not rung by the transfer: %v", err)
	}
	tc, err := in.Answer()
	if err != nil {
		t.Fatal(err)
	}
	tc.SendTone(qrToneOverflow)
	talkingTones(t, agentCall, a.Tone, tc, qrToneOverflow)
	if err := c.Call.WaitHears(3*time.Second, qrToneMusic, a.Tone, qrToneOverflow); err != nil {
		t.Fatalf("the caller during the consultation: %v", err)
	}
	targetLeg := ""
	for _, l := range x.p.Engine().Legs() {
		if l.To == qrFallbackExt && l.ID != agentLeg && l.ID != c.Leg {
			targetLeg = l.ID
		}
	}
	if targetLeg == "" {
		t.Fatal("no leg to 1299")
	}

	complete(x, agentCall, targetLeg)
	done, _ := log.Await(m, 5*time.Second, "transfer.completed", testkit.IsLegEvent(dialog.EventTransferDone, agentLeg))
	talk := time.Since(connectedAt)
	if done.OtherLegID != targetLeg {
		t.Fatalf("transfer.completed holds %s, want 1299's leg %s", done.OtherLegID, targetLeg)
	}
	if err := agentCall.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("the agent's call after the transfer: %v", err)
	}
	talkingTones(t, c.Call, c.Tone, tc, qrToneOverflow)
	x.waitState("201", queue.StateIdle, bm)

	lines := rqQlog(t, x, "ATTENDEDTRANSFER", func(l qlogLine) bool { return l.event == "ATTENDEDTRANSFER" })
	got := rqOfCall(lines, callID)
	if len(got) != 3 || !strings.HasPrefix(got[0], "xfer|NONE|ENTERQUEUE|") || !strings.HasPrefix(got[1], "xfer|Agent/201|CONNECT|") {
		t.Fatalf("queue_log lines of call %s:\n%s\nwant ENTERQUEUE, CONNECT, ATTENDEDTRANSFER", callID, strings.Join(got, "\n"))
	}
	hold := strconv.FormatInt(rqSeconds(conn.Wait), 10)
	if want := "xfer|Agent/201|CONNECT|" + hold + "|" + agentLeg + "|"; !strings.HasPrefix(got[1], want) {
		t.Errorf("CONNECT line %q, want %q + ring time", got[1], want)
	}
	f := strings.Split(got[2], "|")
	if len(f) != 8 || f[0] != "xfer" || f[1] != "Agent/201" || f[2] != "ATTENDEDTRANSFER" || f[3] != "BRIDGE" ||
		f[4] != targetLeg || f[5] != hold || f[7] != "1" {
		t.Errorf("ATTENDEDTRANSFER line %q: want xfer|Agent/201|ATTENDEDTRANSFER|BRIDGE|%s|%s|<talk>|1", got[2], targetLeg, hold)
	}
	// The talk time runs from the bridge to the transfer; the test sees
	// both a little late, so it is known to a second.
	if n, err := strconv.ParseInt(f[len(f)-2], 10, 64); err != nil || math.Abs(float64(n-rqSeconds(talk))) > 1 {
		t.Errorf("ATTENDEDTRANSFER talk time %q, want about %d s", f[len(f)-2], rqSeconds(talk))
	}
	hangUp(t, c.Call, tc)
}

// TestQueueRecordQlogAttendedTransferKeys: the agent keys *2 1299 # on
// the queue call, talks to 1299, and hangs up to complete.
func TestQueueRecordQlogAttendedTransferKeys(t *testing.T) {
	rqAttendedTransfer(t,
		func(x *qrCC, callerLeg, agentLeg string, agentCall *testkit.PhoneCall) {
			if err := agentCall.SendDigits("*2" + qrFallbackExt + "#"); err != nil {
				t.Fatal(err)
			}
		},
		func(x *qrCC, agentCall *testkit.PhoneCall, targetLeg string) {
			if err := agentCall.Hangup(); err != nil {
				t.Fatal(err)
			}
		})
}

// TestQueueRecordQlogAttendedTransferAPI: the engine API holds the caller
// and has the agent consult 1299 (AttendedTransfer names the leg to
// transfer, the caller's; the party it talks to, the agent, consults),
// then CompleteTransfer hangs up the agent.
func TestQueueRecordQlogAttendedTransferAPI(t *testing.T) {
	var cons *dialog.Consultation
	rqAttendedTransfer(t,
		func(x *qrCC, callerLeg, agentLeg string, agentCall *testkit.PhoneCall) {
			var err error
			cons, err = x.p.Engine().AttendedTransfer(context.Background(), callerLeg, qrFallbackExt)
			if err != nil {
				t.Fatalf("attended transfer: %v", err)
			}
		},
		func(x *qrCC, agentCall *testkit.PhoneCall, targetLeg string) {
			if cons.ID != targetLeg {
				t.Errorf("consultation %s, want 1299's leg %s", cons.ID, targetLeg)
			}
			if err := x.p.Engine().CompleteTransfer(context.Background(), cons.ID); err != nil {
				t.Fatalf("complete transfer: %v", err)
			}
		})
}

// TestQueueRecordQlogMembers: members added and removed at run time
// (Center.AddMember and RemoveMember, what a manager does) are logged as
// Asterisk logs AMI's QueueAdd and QueueRemove: callid MANAGER, the
// member, ADDMEMBER with "" (or "PAUSED" for a paused agent) and
// REMOVEMEMBER with "". A new penalty for a member already there is
// PENALTY|n. The membership takes effect: the added agent is rung.
func TestQueueRecordQlogMembers(t *testing.T) {
	x, _ := rqStart(t, qrAgents(2), []config.Queue{{Name: "mem", Members: qrMembers(nil, "201")}})
	cc := x.cc
	x.login("202")
	if err := cc.AddMember("mem", "202", 2); err != nil {
		t.Fatalf("add member: %v", err)
	}
	if err := cc.AddMember("mem", "202", 3); err != nil {
		t.Fatalf("change penalty: %v", err)
	}
	// The added member takes a caller (201 is logged out).
	c := x.join(1, 0, false, 1)
	call := x.serve(c, x.agent("202"))
	x.finish(c, x.agent("202"), call, queue.StateIdle)
	if err := cc.RemoveMember("mem", "202"); err != nil {
		t.Fatalf("remove member: %v", err)
	}
	x.login("201")
	x.pause("201")
	if err := cc.RemoveMember("mem", "201"); err != nil {
		t.Fatalf("remove member 201: %v", err)
	}
	if err := cc.AddMember("mem", "201", 0); err != nil {
		t.Fatalf("add member 201 paused: %v", err)
	}
	if err := cc.RemoveMember("mem", "202"); !errors.Is(err, queue.ErrNotMember) {
		t.Errorf("removing a member twice: %v, want ErrNotMember", err)
	}
	lines := rqQlog(t, x, "ADDMEMBER of 201", func(l qlogLine) bool { return l.event == "ADDMEMBER" && l.agent == "Agent/201" })
	var got []string
	for _, l := range lines {
		switch l.event {
		case "ADDMEMBER", "REMOVEMEMBER", "PENALTY":
			got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s", l.callID, l.queue, l.agent, l.event, strings.Join(l.data, "|")))
		}
	}
	want := []string{
		"MANAGER|mem|Agent/202|ADDMEMBER|",
		"NONE|mem|Agent/202|PENALTY|3",
		"MANAGER|mem|Agent/202|REMOVEMEMBER|",
		"MANAGER|mem|Agent/201|REMOVEMEMBER|",
		"MANAGER|mem|Agent/201|ADDMEMBER|PAUSED",
	}
	if !slices.Equal(got, want) {
		t.Errorf("queue_log member lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st, _ := cc.Queue("mem")
	if len(st.Members) != 1 || st.Members[0].Agent != "201" || st.Members[0].Penalty != 0 {
		t.Errorf("members of mem: %+v, want 201 only", st.Members)
	}
}

// rqScrape reads /metrics over HTTP from the PBX's HTTP address.
func rqScrape(t *testing.T, x *qrCC) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+x.p.HTTPAddr()+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(res.Body); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("scrape: status %d", res.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams, body.String()
}

// rqSeries finds the series of a family with these labels.
func rqSeries(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// rqWant is what a scrape should say of queue "mx".
type rqWant struct {
	offered, answered, abandoned, waiting float64
	agents                                map[string]float64 // state -> members; states not named: 0
	waits                                 []time.Duration    // what the wait histogram observed
	rings                                 uint64             // ring-to-answer observations
}

// rqCheck compares a scrape with w; it returns what differs.
func rqCheck(fams map[string]*dto.MetricFamily, w rqWant) []string {
	var bad []string
	value := func(name string, labels ...string) (float64, bool) {
		m := rqSeries(fams, name, labels...)
		switch {
		case m == nil:
			return 0, false
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		default:
			return m.GetGauge().GetValue(), true
		}
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"pbx_queue_offered_total", w.offered}, {"pbx_queue_answered_total", w.answered},
		{"pbx_queue_abandoned_total", w.abandoned}, {"pbx_queue_callers_waiting", w.waiting},
	} {
		if got, ok := value(c.name, "queue", "mx"); !ok || got != c.want {
			bad = append(bad, fmt.Sprintf("%s{queue=mx} = %v (present %v), want %v", c.name, got, ok, c.want))
		}
	}
	for _, st := range queue.AgentStates {
		if got, ok := value("pbx_queue_agents", "queue", "mx", "state", st); !ok || got != w.agents[st] {
			bad = append(bad, fmt.Sprintf("pbx_queue_agents{queue=mx,state=%s} = %v (present %v), want %v", st, got, ok, w.agents[st]))
		}
	}
	h := rqSeries(fams, "pbx_queue_wait_seconds", "queue", "mx").GetHistogram()
	sum := 0.0
	for _, d := range w.waits {
		sum += d.Seconds()
	}
	if h.GetSampleCount() != uint64(len(w.waits)) || math.Abs(h.GetSampleSum()-sum) > 1e-6 {
		bad = append(bad, fmt.Sprintf("pbx_queue_wait_seconds{queue=mx}: count %d sum %v, want %d and %v (the waits of queue.left)",
			h.GetSampleCount(), h.GetSampleSum(), len(w.waits), sum))
	}
	for _, b := range h.GetBucket() {
		n := uint64(0)
		for _, d := range w.waits {
			if d.Seconds() <= b.GetUpperBound() {
				n++
			}
		}
		if b.GetCumulativeCount() != n {
			bad = append(bad, fmt.Sprintf("pbx_queue_wait_seconds_bucket{queue=mx,le=%v} = %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n))
		}
	}
	if n := rqSeries(fams, "pbx_queue_ring_to_answer_seconds", "queue", "mx").GetHistogram().GetSampleCount(); n != w.rings {
		bad = append(bad, fmt.Sprintf("pbx_queue_ring_to_answer_seconds{queue=mx} count %d, want %d", n, w.rings))
	}
	return bad
}

// rqMetrics scrapes until the scrape says w (counters are updated just
// after the events that tell of them), and fails the test if it does not
// within 3 s.
func rqMetrics(t *testing.T, x *qrCC, what string, w rqWant) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		fams, body := rqScrape(t, x)
		bad := rqCheck(fams, w)
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var ours []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "pbx_queue_") {
					ours = append(ours, l)
				}
			}
			t.Fatalf("/metrics %s:\n%s\nscraped:\n%s", what, strings.Join(bad, "\n"), strings.Join(ours, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQueueRecordMetrics: /metrics of a running PBX, scraped over HTTP,
// after queue calls. Caller 1 is answered by 201; 201 pauses; caller 2
// hangs up while waiting; caller 3 waits. The scrape says, for queue mx:
// 3 offered, 1 answered, 1 abandoned, 1 caller waiting, 1 agent paused
// and none in any other state, a wait histogram of the two waits that
// ended (count, sum and every bucket, from the waits queue.left reported)
// and one ring-to-answer. Caller 3 then hangs up too: 2 abandoned, none
// waiting, three waits observed.
func TestQueueRecordMetrics(t *testing.T) {
	x, _ := rqStart(t, qrAgents(1), []config.Queue{{Name: "mx", Members: qrMembers(nil, "201")}})
	x.login("201")
	a := x.agent("201")
	rqMetrics(t, x, "before any call", rqWant{agents: map[string]float64{queue.StateIdle: 1}})

	c1 := x.join(1, 0, false, 1)
	call := x.serve(c1, a)
	left1 := x.bus.seen(func(ev dialog.Event) bool { return ev.Kind == queue.EventLeft && ev.LegID == c1.Leg })
	if len(left1) != 1 || left1[0].Cause != queue.LeftAnswered {
		t.Fatalf("queue.left of the answered caller: %+v", left1)
	}
	rqMetrics(t, x, "during the answered call", rqWant{offered: 1, answered: 1,
		agents: map[string]float64{queue.StateOnCall: 1}, waits: []time.Duration{left1[0].Wait}, rings: 1})
	x.finish(c1, a, call, queue.StateIdle)
	x.pause("201")

	c2 := x.join(2, 0, false, 1)
	if err := c2.Call.Hangup(); err != nil {
		t.Fatal(err)
	}
	left2 := x.left(c2, queue.LeftAbandoned)
	c3 := x.join(3, 0, false, 1)
	paused := map[string]float64{queue.StatePaused: 1}
	rqMetrics(t, x, "with one caller waiting", rqWant{offered: 3, answered: 1, abandoned: 1, waiting: 1,
		agents: paused, waits: []time.Duration{left1[0].Wait, left2.Wait}, rings: 1})

	if err := c3.Call.Hangup(); err != nil {
		t.Fatal(err)
	}
	left3 := x.left(c3, queue.LeftAbandoned)
	rqMetrics(t, x, "after the last caller hung up", rqWant{offered: 3, answered: 1, abandoned: 2,
		agents: paused, waits: []time.Duration{left1[0].Wait, left2.Wait, left3.Wait}, rings: 1})
}
