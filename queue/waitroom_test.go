package queue

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testengine"
	"pbx/media"
	"pbx/prompts"
	"pbx/sounds"
	"pbx/wav"
)

// The pure rules first: what one announcement says and in which order the
// wait room plays things. Then the wait room on a real call: two call
// engines on loopback, the waiting caller's leg on one, its far end (a
// trunk call parked on the other) pressing keys by RFC 4733 and hanging
// up. What the caller hears, tone by tone, is proved end to end through
// the queue:NAME target in e2e.

func TestAnnouncement(t *testing.T) {
	for _, tc := range []struct {
		name     string
		position int
		wait     time.Duration
		callback bool
		want     []string
	}{
		{"nothing known", 0, 0, false, nil},
		{"position 2", 2, 0, false, []string{"you-are-caller-number", "digits/2"}},
		{"position 1", 1, 0, false, []string{"you-are-caller-number", "digits/1"}},
		{"position 42", 42, 0, false, []string{"you-are-caller-number", "digits/40", "digits/2"}},
		{"position 123", 123, 0, false, []string{"you-are-caller-number", "digits/1", "digits/hundred", "digits/20", "digits/3"}},
		{"wait only", 0, 3 * time.Minute, false, []string{"estimated-wait", "digits/3", "minutes"}},
		{"both", 2, 5 * time.Minute, false, []string{"you-are-caller-number", "digits/2", "estimated-wait", "digits/5", "minutes"}},
		{"both and callback", 3, 30 * time.Second, true,
			[]string{"you-are-caller-number", "digits/3", "estimated-wait", "less-than-one-minute", "queue-callback-offer"}},
		{"callback only", 0, 0, true, []string{"queue-callback-offer"}},
		{"negative position is unknown", -1, 0, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := announcement(tc.position, tc.wait, tc.callback); !slices.Equal(got, tc.want) {
				t.Errorf("announcement(%d, %s, %v) = %q, want %q", tc.position, tc.wait, tc.callback, got, tc.want)
			}
		})
	}
}

func TestWaitPrompts(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want []string
	}{
		{0, nil},
		{-time.Minute, nil},
		{time.Second, []string{"estimated-wait", "less-than-one-minute"}},
		{59 * time.Second, []string{"estimated-wait", "less-than-one-minute"}},
		{time.Minute, []string{"estimated-wait", "digits/1", "minute"}},
		{89 * time.Second, []string{"estimated-wait", "digits/1", "minute"}},
		{90 * time.Second, []string{"estimated-wait", "digits/2", "minutes"}},
		{2 * time.Minute, []string{"estimated-wait", "digits/2", "minutes"}},
		{21*time.Minute + 10*time.Second, []string{"estimated-wait", "digits/20", "digits/1", "minutes"}},
		{2 * time.Hour, []string{"estimated-wait", "digits/1", "digits/hundred", "digits/20", "minutes"}},
	} {
		if got := waitPrompts(tc.wait); !slices.Equal(got, tc.want) {
			t.Errorf("waitPrompts(%s) = %q, want %q", tc.wait, got, tc.want)
		}
	}
	// Every name said exists among the built-in sounds.
	for _, w := range []time.Duration{30 * time.Second, time.Minute, 7 * time.Minute, 999 * time.Minute} {
		for _, n := range append(waitPrompts(w), announcement(987, 0, true)...) {
			if _, err := sounds.Open(n); err != nil {
				t.Errorf("prompt %q said for %s: %v", n, w, err)
			}
		}
	}
}

// fixedInfo is a queue's answer that does not change.
type fixedInfo struct {
	pos  int
	wait time.Duration
}

func (f fixedInfo) position() int                { return f.pos }
func (f fixedInfo) estimatedWait() time.Duration { return f.wait }

func TestAgenda(t *testing.T) {
	full := config.Queue{
		Announce: "welcome", AnnounceEvery: 30 * time.Second, Position: true, HoldTime: true,
		Periodic: []string{"p1", "p2", "p3"}, PeriodicEvery: 45 * time.Second,
	}
	type step struct {
		announce, periodic bool // timers that fired before next
		it                 item
		names              []string
	}
	ann := []string{"you-are-caller-number", "digits/2", "estimated-wait", "digits/3", "minutes"}
	for _, tc := range []struct {
		name  string
		q     config.Queue
		steps []step
	}{
		{"entry once, then music", full, []step{
			{it: itemEntry, names: []string{"welcome"}},
			{it: itemNone},
			{it: itemNone},
		}},
		{"announcement between music", full, []step{
			{it: itemEntry, names: []string{"welcome"}},
			{announce: true, it: itemAnnounce, names: ann},
			{it: itemNone},
		}},
		{"a due timer waits for the entry", full, []step{
			{announce: true, it: itemEntry, names: []string{"welcome"}},
			{it: itemAnnounce, names: ann},
			{it: itemNone},
		}},
		{"periodic prompts in turn, round", full, []step{
			{it: itemEntry, names: []string{"welcome"}},
			{periodic: true, it: itemPeriodic, names: []string{"p1"}},
			{periodic: true, it: itemPeriodic, names: []string{"p2"}},
			{periodic: true, it: itemPeriodic, names: []string{"p3"}},
			{periodic: true, it: itemPeriodic, names: []string{"p1"}},
			{it: itemNone},
		}},
		{"both due: position first, then periodic, then music", full, []step{
			{it: itemEntry, names: []string{"welcome"}},
			{announce: true, periodic: true, it: itemAnnounce, names: ann},
			{it: itemPeriodic, names: []string{"p1"}},
			{it: itemNone},
		}},
		{"no entry announcement", config.Queue{AnnounceEvery: time.Minute, Position: true}, []step{
			{it: itemNone},
			{announce: true, it: itemAnnounce, names: []string{"you-are-caller-number", "digits/2"}},
		}},
		{"hold time only", config.Queue{AnnounceEvery: time.Minute, HoldTime: true}, []step{
			{announce: true, it: itemAnnounce, names: []string{"estimated-wait", "digits/3", "minutes"}},
		}},
		{"callback offer after the position", config.Queue{AnnounceEvery: time.Minute, Position: true, CallbackKey: "1"}, []step{
			{announce: true, it: itemAnnounce, names: []string{"you-are-caller-number", "digits/2", "queue-callback-offer"}},
		}},
		{"callback offer alone", config.Queue{AnnounceEvery: time.Minute, CallbackKey: "1"}, []step{
			{announce: true, it: itemAnnounce, names: []string{"queue-callback-offer"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgenda(&tc.q)
			for i, s := range tc.steps {
				if s.announce {
					a.announceDue = true
				}
				if s.periodic {
					a.periodicDue = true
				}
				it, names := a.next(fixedInfo{pos: 2, wait: 3 * time.Minute})
				if it != s.it || !slices.Equal(names, s.names) {
					t.Fatalf("step %d: next = %d %q, want %d %q", i, it, names, s.it, s.names)
				}
			}
		})
	}
}

// TestAgendaNotStacked: an announcement due several times over is played
// once, and the queue is asked for the position only when it is said.
func TestAgendaNotStacked(t *testing.T) {
	q := config.Queue{AnnounceEvery: time.Second, Position: true}
	a := newAgenda(&q)
	info := &countingInfo{pos: 4}
	for range 5 {
		a.announceDue = true
	}
	if it, names := a.next(info); it != itemAnnounce || !slices.Equal(names, []string{"you-are-caller-number", "digits/4"}) {
		t.Fatalf("next = %d %q", it, names)
	}
	if it, _ := a.next(info); it != itemNone {
		t.Fatalf("second next = %d, want music", it)
	}
	if p, w := info.calls(); p != 1 || w != 0 {
		t.Errorf("position asked %d times, wait %d times; want 1 and 0 (hold_time off)", p, w)
	}
}

func TestAgendaIntervals(t *testing.T) {
	for _, tc := range []struct {
		name               string
		q                  config.Queue
		announce, periodic time.Duration
	}{
		{"nothing", config.Queue{}, 0, 0},
		{"interval without anything to say", config.Queue{AnnounceEvery: time.Minute}, 0, 0},
		{"position", config.Queue{AnnounceEvery: time.Minute, Position: true}, time.Minute, 0},
		{"hold time", config.Queue{AnnounceEvery: time.Minute, HoldTime: true}, time.Minute, 0},
		{"callback offer", config.Queue{AnnounceEvery: time.Minute, CallbackKey: "1"}, time.Minute, 0},
		{"position without interval", config.Queue{Position: true}, 0, 0},
		{"periodic", config.Queue{Periodic: []string{"x"}, PeriodicEvery: 20 * time.Second}, 0, 20 * time.Second},
		{"periodic interval without prompts", config.Queue{PeriodicEvery: 20 * time.Second}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgenda(&tc.q)
			if got := a.announceEvery(); got != tc.announce {
				t.Errorf("announceEvery = %s, want %s", got, tc.announce)
			}
			if got := a.periodicEvery(); got != tc.periodic {
				t.Errorf("periodicEvery = %s, want %s", got, tc.periodic)
			}
		})
	}
}

func TestWaitRoomKeys(t *testing.T) {
	exit := func(string, string) {}
	cb := func() {}
	q := &config.Queue{ExitKeys: map[string]string{"0": "1000", "#": "play:goodbye"}, CallbackKey: "1"}
	for _, tc := range []struct {
		name  string
		q     *config.Queue
		h     waitHooks
		reads bool
		wants map[string]bool
	}{
		{"exit and callback", q, waitHooks{exit: exit, callback: cb}, true,
			map[string]bool{"0": true, "#": true, "1": true, "2": false, "": false, "*": false}},
		{"no keys configured", &config.Queue{}, waitHooks{exit: exit, callback: cb}, false,
			map[string]bool{"0": false, "1": false}},
		{"callback only", &config.Queue{CallbackKey: "*"}, waitHooks{exit: exit, callback: cb}, true,
			map[string]bool{"*": true, "0": false}},
		{"no hooks, no keys", q, waitHooks{}, false, map[string]bool{"0": false, "1": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &waitRoom{q: tc.q, h: tc.h}
			if got := w.readsKeys(); got != tc.reads {
				t.Errorf("readsKeys = %v, want %v", got, tc.reads)
			}
			for k, want := range tc.wants {
				if got := w.wants(k); got != want {
					t.Errorf("wants(%q) = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestMusicClass(t *testing.T) {
	if got := musicClass(&config.Queue{}); got != config.DefaultMusicClass {
		t.Errorf("no class: %q", got)
	}
	if got := musicClass(&config.Queue{Music: "calm"}); got != "calm" {
		t.Errorf("calm: %q", got)
	}
}

// countingInfo is a queue's answer that counts how often it is asked.
type countingInfo struct {
	pos   int
	wait  time.Duration
	mu    sync.Mutex
	p, w  int
	asked chan struct{} // a receive per position asked, when not nil
}

func (c *countingInfo) position() int {
	c.mu.Lock()
	c.p++
	c.mu.Unlock()
	if c.asked != nil {
		c.asked <- struct{}{}
	}
	return c.pos
}

func (c *countingInfo) estimatedWait() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w++
	return c.wait
}

func (c *countingInfo) calls() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.p, c.w
}

// On a real call.

// call is a waiting caller's leg on engine a, answered by a parked trunk
// call on engine b.
type call struct {
	a, b  *dialog.Engine
	leg   string // on a
	far   string // on b
	plays *dialog.Subscription
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Prompt lengths of the test prompts: short, so the tests run fast; the
// confirmation long enough to stop a wait room during it.
const (
	shortPrompt   = 120 * time.Millisecond
	confirmPrompt = 1500 * time.Millisecond
)

// writeTestPrompts writes every prompt a wait room of these tests says as
// a short tone.
func writeTestPrompts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	names := map[string]time.Duration{
		"welcome": shortPrompt, "you-are-caller-number": shortPrompt, "digits/2": shortPrompt,
		"estimated-wait": shortPrompt, "digits/3": shortPrompt, "minutes": shortPrompt,
		"queue-callback-offer": shortPrompt, "thank-you-for-waiting": shortPrompt, "please-hold": shortPrompt,
		"queue-callback-confirmed": confirmPrompt,
	}
	freq := 400.0
	for name, d := range names {
		p := filepath.Join(dir, filepath.FromSlash(name)+".wav")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w, err := wav.NewWriter(f, 1)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, int(d.Seconds()*8000))
		media.NewToneGenerator(freq, 8000).Read(pcm)
		freq += 150
		if err := w.Write(pcm); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

// newCall places a call from engine a to engine b, where it is parked,
// and returns once it is answered.
func newCall(t *testing.T) *call {
	t.Helper()
	// b first, so that a's cleanup (hang up, drain) runs before b's.
	b, bAddr := testengine.Start(t, dialog.Options{Node: "b", Trunks: []config.Trunk{{
		Name: "a", Host: "127.0.0.1", InboundCIDRs: []string{"127.0.0.1/32"},
		DIDs: []config.DID{{Match: config.Match{Exact: "7000"}, Target: "park"}},
	}}}, true)
	a, _ := testengine.Start(t, dialog.Options{Node: "a", Prompts: prompts.New(writeTestPrompts(t))}, false)
	sub, err := a.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventLegAnswered, dialog.EventLegEnded}, Buffer: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	leg, err := a.Originate(context.Background(), dialog.OriginateRequest{To: "sip:7000@" + bAddr.String(), CallerID: "caller"})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, leg.ID, dialog.EventLegAnswered, "")
	legs := b.Legs()
	if len(legs) != 1 {
		t.Fatalf("far end has %d legs, want 1", len(legs))
	}
	plays, err := a.Subscribe(dialog.EventFilter{
		Kinds: []dialog.EventKind{dialog.EventPlayStarted, dialog.EventPlayFinished}, Legs: []string{leg.ID}, Buffer: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plays.Close)
	return &call{a: a, b: b, leg: leg.ID, far: legs[0].ID, plays: plays}
}

// waitEvent waits for an event of kind about leg (with that cause, when
// not ""), skipping others.
func waitEvent(t *testing.T, sub *dialog.Subscription, leg string, kind dialog.EventKind, cause string) dialog.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed waiting for %s", kind)
			}
			if ev.LegID == leg && ev.Kind == kind && (cause == "" || ev.Cause == cause) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s (%s) of %s within 5s", kind, cause, leg)
		}
	}
}

// next waits for the next play event and checks its kind (and cause,
// when not "").
func (c *call) next(t *testing.T, kind dialog.EventKind, cause string) dialog.Event {
	t.Helper()
	select {
	case ev, ok := <-c.plays.C:
		if !ok {
			t.Fatalf("play events dropped")
		}
		if ev.Kind != kind || cause != "" && ev.Cause != cause {
			t.Fatalf("got %s (%s), want %s (%s)", ev.Kind, ev.Cause, kind, cause)
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", kind)
	}
	return dialog.Event{}
}

// music waits for hold music to start (a playback that only a stop ends)
// and returns its id.
func (c *call) musicStarts(t *testing.T) string {
	t.Helper()
	return c.next(t, dialog.EventPlayStarted, "").Detail
}

// prompt expects one prompt played to its end.
func (c *call) prompt(t *testing.T) {
	t.Helper()
	id := c.next(t, dialog.EventPlayStarted, "").Detail
	if ev := c.next(t, dialog.EventPlayFinished, "finished"); ev.Detail != id {
		t.Fatalf("playback %s finished, want %s", ev.Detail, id)
	}
}

// musicStops expects the music id to be stopped.
func (c *call) musicStops(t *testing.T, id string) {
	t.Helper()
	if ev := c.next(t, dialog.EventPlayFinished, "stopped"); ev.Detail != id {
		t.Fatalf("playback %s stopped, want the music %s", ev.Detail, id)
	}
}

// press sends a key from the far end.
func (c *call) press(t *testing.T, key string) {
	t.Helper()
	if err := c.b.SendDTMF(context.Background(), c.far, key); err != nil {
		t.Fatal(err)
	}
}

// silent checks that the wait room left nothing playing to the leg.
func (c *call) silent(t *testing.T) {
	t.Helper()
	n, err := c.a.StopPlays(context.Background(), c.leg)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d playbacks still playing to the leg after the wait room", n)
	}
}

// done waits for the wait room to end by itself.
func done(t *testing.T, w *waitRoom) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the wait room did not end")
	}
}

// TestWaitRoomSchedule: entry announcement once, music, and every
// interval the music stops for the announcement and starts again after;
// periodic prompts on their own timer; two due at once play back to back.
func TestWaitRoomSchedule(t *testing.T) {
	c := newCall(t)
	clock := newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := &config.Queue{
		Name: "support", Announce: "welcome", AnnounceEvery: 30 * time.Second, Position: true, HoldTime: true,
		Periodic: []string{"thank-you-for-waiting", "please-hold"}, PeriodicEvery: 45 * time.Second,
	}
	info := &countingInfo{pos: 2, wait: 3 * time.Minute}
	w := startWaitRoom(context.Background(), c.a, c.leg, q, info, waitHooks{}, clock, quiet)
	defer w.stop()

	c.prompt(t) // welcome
	music := c.musicStarts(t)
	if n := clock.armed(); n != 2 {
		t.Fatalf("%d timers armed once the music plays, want 2 (announcement, periodic)", n)
	}

	clock.AdvanceAsync(30 * time.Second) // t=30: the position
	c.musicStops(t, music)
	c.prompt(t)
	music = c.musicStarts(t)
	if p, wt := info.calls(); p != 1 || wt != 1 {
		t.Fatalf("asked position %d and wait %d times, want 1 and 1", p, wt)
	}

	clock.AdvanceAsync(15 * time.Second) // t=45: the first periodic prompt
	c.musicStops(t, music)
	c.prompt(t)
	music = c.musicStarts(t)

	clock.AdvanceAsync(15 * time.Second) // t=60: the position again (30 s after the last one)
	c.musicStops(t, music)
	c.prompt(t)
	music = c.musicStarts(t)

	clock.AdvanceAsync(30 * time.Second) // t=90: both at once, back to back
	c.musicStops(t, music)
	c.prompt(t)
	c.prompt(t)
	c.musicStarts(t)
	if p, _ := info.calls(); p != 3 {
		t.Fatalf("position asked %d times, want 3", p)
	}

	w.stop()
	c.next(t, dialog.EventPlayFinished, "stopped")
	c.silent(t)
	w.stop() // twice is fine
}

// TestWaitRoomNoStacking: timers stay disarmed while the announcement
// plays, so however long a prompt, one announcement follows another
// only after a full interval of music.
func TestWaitRoomNoStacking(t *testing.T) {
	c := newCall(t)
	clock := newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := &config.Queue{Name: "support", AnnounceEvery: 10 * time.Second, Position: true}
	asked := make(chan struct{})
	info := &countingInfo{pos: 2, asked: asked}
	w := startWaitRoom(context.Background(), c.a, c.leg, q, info, waitHooks{}, clock, quiet)
	defer w.stop()

	music := c.musicStarts(t)
	clock.AdvanceAsync(10 * time.Second)
	<-asked // the announcement is being made
	if n := clock.armed(); n != 0 {
		t.Fatalf("%d timers armed during the announcement, want 0", n)
	}
	clock.AdvanceAsync(time.Hour) // nothing may pile up
	c.musicStops(t, music)
	c.prompt(t)
	music = c.musicStarts(t)
	if n := clock.armed(); n != 1 {
		t.Fatalf("%d timers armed after the announcement, want 1", n)
	}
	clock.AdvanceAsync(9 * time.Second)
	clock.AdvanceAsync(time.Second)
	<-asked
	c.musicStops(t, music)
	c.prompt(t)
	c.musicStarts(t)
	if p, _ := info.calls(); p != 2 {
		t.Fatalf("position asked %d times, want 2", p)
	}
}

// TestWaitRoomExitKey: a key that is not an exit key does nothing; an
// exit key stops the music and hands its target to the queue. The hook
// may stop the wait room itself.
func TestWaitRoomExitKey(t *testing.T) {
	c := newCall(t)
	q := &config.Queue{Name: "support", ExitKeys: map[string]string{"9": "7100", "0": "1000"}}
	var room atomic.Pointer[waitRoom]
	exits := make(chan [2]string, 2)
	w := startWaitRoom(context.Background(), c.a, c.leg, q, fixedInfo{}, waitHooks{
		exit: func(key, target string) {
			room.Load().stop() // from inside the hook: returns at once
			exits <- [2]string{key, target}
		},
		callback: func() { t.Error("callback hook called") },
	}, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)
	room.Store(w)

	music := c.musicStarts(t)
	c.press(t, "4")
	c.press(t, "9")
	select {
	case got := <-exits:
		if got != [2]string{"9", "7100"} {
			t.Fatalf("exit hook got %q, want 9 -> 7100", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit hook")
	}
	c.musicStops(t, music)
	done(t, w)
	c.silent(t)
	w.stop()
	c.press(t, "0") // nobody reads keys any more
	select {
	case got := <-exits:
		t.Fatalf("a second exit %q", got)
	case <-c.plays.C:
		t.Fatal("something played after the wait room")
	case <-time.After(300 * time.Millisecond):
	}
}

// TestWaitRoomCallbackKey: the callback key stops the music, plays the
// confirmation to its end, and only then hands over to the queue.
func TestWaitRoomCallbackKey(t *testing.T) {
	c := newCall(t)
	q := &config.Queue{Name: "support", CallbackKey: "1", ExitKeys: map[string]string{"9": "7100"}}
	called := make(chan struct{}, 2)
	w := startWaitRoom(context.Background(), c.a, c.leg, q, fixedInfo{}, waitHooks{
		exit:     func(string, string) { t.Error("exit hook called") },
		callback: func() { called <- struct{}{} },
	}, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)
	defer w.stop()

	music := c.musicStarts(t)
	c.press(t, "1")
	c.musicStops(t, music)
	confirm := c.next(t, dialog.EventPlayStarted, "").Detail
	c.press(t, "9") // too late: the caller chose the callback
	select {
	case <-called:
		t.Fatal("callback hook called before the confirmation ended")
	default:
	}
	if ev := c.next(t, dialog.EventPlayFinished, "finished"); ev.Detail != confirm {
		t.Fatalf("playback %s finished, want the confirmation %s", ev.Detail, confirm)
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("no callback hook")
	}
	done(t, w)
	c.silent(t)
}

// TestWaitRoomStopDuringConfirmation: a stop while the confirmation plays
// wins: the confirmation is cut, no hook is called, and stop returns
// with nothing playing.
func TestWaitRoomStopDuringConfirmation(t *testing.T) {
	c := newCall(t)
	q := &config.Queue{Name: "support", CallbackKey: "1"}
	var hooks atomic.Int32
	w := startWaitRoom(context.Background(), c.a, c.leg, q, fixedInfo{}, waitHooks{
		callback: func() { hooks.Add(1) },
	}, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)

	music := c.musicStarts(t)
	c.press(t, "1")
	c.musicStops(t, music)
	confirm := c.next(t, dialog.EventPlayStarted, "").Detail
	w.stop()
	if ev := c.next(t, dialog.EventPlayFinished, "stopped"); ev.Detail != confirm {
		t.Fatalf("playback %s stopped, want the confirmation %s", ev.Detail, confirm)
	}
	c.silent(t)
	if n := hooks.Load(); n != 0 {
		t.Fatalf("callback hook called %d times after stop", n)
	}
}

// TestWaitRoomStopRacesKey: stop and an exit key at the same moment, over
// and over on one leg: stop always returns with nothing playing, and the
// hook is called at most once per wait room.
func TestWaitRoomStopRacesKey(t *testing.T) {
	c := newCall(t)
	q := &config.Queue{Name: "support", ExitKeys: map[string]string{"9": "7100"}, AnnounceEvery: time.Second, Position: true}
	for i := range 15 {
		var hooks atomic.Int32
		w := startWaitRoom(context.Background(), c.a, c.leg, q, fixedInfo{pos: 2}, waitHooks{
			exit: func(string, string) { hooks.Add(1) },
		}, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)
		c.musicStarts(t)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); c.press(t, "9") }()
		go func() { defer wg.Done(); w.stop() }()
		wg.Wait()
		w.stop()
		c.silent(t)
		if n := hooks.Load(); n > 1 {
			t.Fatalf("round %d: exit hook called %d times", i, n)
		}
		// The music's end, whoever stopped it.
		c.next(t, dialog.EventPlayFinished, "stopped")
	}
}

// TestWaitRoomEnds: the wait room ends by itself, with no hook, when the
// caller hangs up, when its context ends, and on a leg that is not there.
func TestWaitRoomEnds(t *testing.T) {
	hooks := waitHooks{
		exit:     func(string, string) { t.Error("exit hook called") },
		callback: func() { t.Error("callback hook called") },
	}
	q := &config.Queue{Name: "support", Announce: "welcome", CallbackKey: "1", ExitKeys: map[string]string{"9": "x"}}

	t.Run("context", func(t *testing.T) {
		c := newCall(t)
		ctx, cancel := context.WithCancel(context.Background())
		w := startWaitRoom(ctx, c.a, c.leg, q, fixedInfo{}, hooks, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)
		c.prompt(t)
		c.musicStarts(t)
		cancel()
		done(t, w)
		c.silent(t)
		w.stop()
	})
	t.Run("hangup", func(t *testing.T) {
		c := newCall(t)
		w := startWaitRoom(context.Background(), c.a, c.leg, q, fixedInfo{}, hooks, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)
		c.prompt(t)
		c.musicStarts(t)
		if err := c.b.Hangup(context.Background(), c.far, dialog.CauseNormal); err != nil {
			t.Fatal(err)
		}
		done(t, w)
		w.stop()
	})
	t.Run("hangup during the entry announcement", func(t *testing.T) {
		c := newCall(t)
		w := startWaitRoom(context.Background(), c.a, c.leg, q, fixedInfo{}, hooks, newTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), quiet)
		c.next(t, dialog.EventPlayStarted, "")
		if err := c.a.Hangup(context.Background(), c.leg, dialog.CauseNormal); err != nil {
			t.Fatal(err)
		}
		done(t, w)
		w.stop()
	})
	t.Run("no such leg", func(t *testing.T) {
		a, _ := testengine.Start(t, dialog.Options{Node: "a"}, false)
		w := startWaitRoom(context.Background(), a, "a-nosuchleg", q, fixedInfo{}, hooks, nil, nil)
		done(t, w)
		w.stop()
		w.stop()
	})
}
