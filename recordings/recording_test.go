package recordings

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"pbx/wav"
)

// A stereo recording has the caller on the left and the callee on the
// right, and nothing of one in the other.
func TestStereoCallerLeftCalleeRight(t *testing.T) {
	a, _, _ := testArchive(t, Options{Format: Stereo})
	e := record(t, a, Meta{CallID: "c1", Caller: "1001", Callee: "1002"}, StartOptions{}, 100)
	if e.Mode != Stereo || e.Duration != 2*time.Second || e.Active {
		t.Fatalf("entry %+v", e)
	}
	ch := readChannels(t, fileOf(a, e), 2)
	left, right := ch[0], ch[1]
	if len(left) != 100*FrameSamples {
		t.Fatalf("%d samples per channel, want %d", len(left), 100*FrameSamples)
	}
	if p := goertzel(left, callerHz); p < 0.9 {
		t.Errorf("left: caller tone at %.2f", p)
	}
	if p := goertzel(left, calleeHz); p > 0.01 {
		t.Errorf("left: callee tone at %.2f", p)
	}
	if p := goertzel(right, calleeHz); p < 0.9 {
		t.Errorf("right: callee tone at %.2f", p)
	}
	if p := goertzel(right, callerHz); p > 0.01 {
		t.Errorf("right: caller tone at %.2f", p)
	}
	if st, _ := os.Stat(fileOf(a, e)); st.Size() != e.Size {
		t.Errorf("entry size %d, file %d", e.Size, st.Size())
	}
	pcm, err := wav.Decode(mustRead(t, fileOf(a, e)))
	if err != nil || len(pcm) != 100*FrameSamples {
		t.Fatalf("wav.Decode: %d samples, %v", len(pcm), err)
	}
}

// A mono recording mixes both parties, with a sum that saturates rather
// than wraps.
func TestMonoMixes(t *testing.T) {
	a, _, _ := testArchive(t, Options{})
	e := record(t, a, Meta{CallID: "c1"}, StartOptions{}, 50)
	if e.Mode != Mono {
		t.Fatalf("mode %q", e.Mode)
	}
	mono := readChannels(t, fileOf(a, e), 1)[0]
	for _, f := range []float64{callerHz, calleeHz} {
		if p := goertzel(mono, f); p < 0.4 || p > 0.6 {
			t.Errorf("%v Hz at %.2f of the mix, want about half", f, p)
		}
	}

	r, _ := a.Start(Meta{CallID: "loud"}, StartOptions{})
	hi, lo := make([]int16, FrameSamples), make([]int16, FrameSamples)
	for i := range hi {
		hi[i], lo[i] = 30000, -30000
	}
	r.WriteFrame(hi, hi)
	r.WriteFrame(lo, lo)
	e, _ = r.Stop()
	got := readChannels(t, fileOf(a, e), 1)[0]
	if got[0] != 32767 || got[FrameSamples] != -32768 {
		t.Errorf("30000+30000 gave %d, -30000-30000 gave %d; want saturation", got[0], got[FrameSamples])
	}
}

// A pause is silence of exactly its length in the file: the timeline of the
// call is kept. Resume brings the audio back.
func TestPauseIsSilence(t *testing.T) {
	a, _, _ := testArchive(t, Options{Format: Stereo})
	r, err := a.Start(Meta{CallID: "c1"}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caller, callee := newTone(callerHz), newTone(calleeHz)
	for i := range 75 {
		switch i {
		case 25:
			r.Pause()
		case 50:
			r.Resume()
		}
		if r.Paused() != (i >= 25 && i < 50) {
			t.Fatalf("frame %d: Paused() = %v", i, r.Paused())
		}
		r.WriteFrame(caller.next(), callee.next())
		if i%25 == 24 {
			waitDrained(a)
		}
	}
	e, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if e.Duration != 75*frameDuration {
		t.Errorf("duration %v, want 1.5s", e.Duration)
	}
	ch := readChannels(t, fileOf(a, e), 2)
	for c, x := range ch {
		before, paused, after := x[:25*FrameSamples], x[25*FrameSamples:50*FrameSamples], x[50*FrameSamples:]
		if rmsOf(paused) != 0 {
			t.Errorf("channel %d: paused span not silent", c)
		}
		if rmsOf(before) < 5000 || rmsOf(after) < 5000 {
			t.Errorf("channel %d: audio around the pause at %.0f and %.0f", c, rmsOf(before), rmsOf(after))
		}
	}
}

// A masked direction is silence while the other is kept.
func TestMask(t *testing.T) {
	a, _, _ := testArchive(t, Options{Format: Stereo})
	r, _ := a.Start(Meta{CallID: "c1"}, StartOptions{})
	caller, callee := newTone(callerHz), newTone(calleeHz)
	r.Mask(true, false)
	for range 10 {
		r.WriteFrame(caller.next(), callee.next())
	}
	r.Mask(false, true)
	for range 10 {
		r.WriteFrame(caller.next(), callee.next())
	}
	r.Mask(false, false)
	for range 10 {
		r.WriteFrame(caller.next(), callee.next())
	}
	e, _ := r.Stop()
	ch := readChannels(t, fileOf(a, e), 2)
	span := func(c, from, to int) float64 { return rmsOf(ch[c][from*FrameSamples : to*FrameSamples]) }
	if span(0, 0, 10) != 0 || span(1, 0, 10) < 5000 {
		t.Errorf("caller masked: left %.0f right %.0f", span(0, 0, 10), span(1, 0, 10))
	}
	if span(0, 10, 20) < 5000 || span(1, 10, 20) != 0 {
		t.Errorf("callee masked: left %.0f right %.0f", span(0, 10, 20), span(1, 10, 20))
	}
	if span(0, 20, 30) < 5000 || span(1, 20, 30) < 5000 {
		t.Errorf("unmasked: left %.0f right %.0f", span(0, 20, 30), span(1, 20, 30))
	}
}

// With a beep, the first 200 ms of the file are 1 kHz; then the call.
func TestBeep(t *testing.T) {
	a, _, _ := testArchive(t, Options{Beep: true})
	e := record(t, a, Meta{CallID: "c1"}, StartOptions{}, 30)
	x := readChannels(t, fileOf(a, e), 1)[0]
	if p := goertzel(x[:1600], 1000); p < 0.95 {
		t.Errorf("first 200 ms: 1 kHz at %.2f", p)
	}
	if p := goertzel(x[1600:], 1000); p > 0.01 {
		t.Errorf("after 200 ms: 1 kHz at %.2f", p)
	}
	if p := goertzel(x[1600:], callerHz); p < 0.4 {
		t.Errorf("after the beep: caller at %.2f", p)
	}
	off := false
	e = record(t, a, Meta{CallID: "c2"}, StartOptions{Beep: &off}, 30)
	if p := goertzel(readChannels(t, fileOf(a, e), 1)[0][:1600], 1000); p > 0.01 {
		t.Errorf("beep turned off, still there at %.2f", p)
	}
}

// At its maximum duration a recording stops by itself, OnStop hears of it,
// and frames after that are ignored.
func TestMaxDuration(t *testing.T) {
	a, _, _ := testArchive(t, Options{MaxDuration: time.Hour})
	stopped := make(chan Entry, 1)
	r, _ := a.Start(Meta{CallID: "c1"}, StartOptions{
		MaxDuration: 300 * time.Millisecond,
		OnStop:      func(e Entry) { stopped <- e },
	})
	caller, callee := newTone(callerHz), newTone(calleeHz)
	for range 40 {
		r.WriteFrame(caller.next(), callee.next())
	}
	e := <-stopped
	if e.Duration != 300*time.Millisecond || e.Active {
		t.Errorf("OnStop got %+v", e)
	}
	r.WriteFrame(caller.next(), callee.next())
	again, err := r.Stop()
	if err != nil || again != e {
		t.Errorf("Stop after the maximum: %+v, %v", again, err)
	}
	if n := len(readChannels(t, fileOf(a, e), 1)[0]); n != 15*FrameSamples {
		t.Errorf("%d samples, want 300 ms", n)
	}
	stored, _ := a.Get(e.ID)
	if stored != e {
		t.Errorf("index %+v, want %+v", stored, e)
	}
}

// Stop is idempotent and OnStop is called once, also for an explicit Stop;
// OnStop may call Stop itself.
func TestStopIdempotentAndOnStop(t *testing.T) {
	a, _, _ := testArchive(t, Options{})
	calls := make(chan Entry, 2)
	var r *Recording
	r, _ = a.Start(Meta{CallID: "c1"}, StartOptions{OnStop: func(e Entry) {
		again, _ := r.Stop()
		calls <- again
	}})
	r.WriteFrame(nil, nil)
	e1, err1 := r.Stop()
	e2, err2 := r.Stop()
	if err1 != nil || err2 != nil || e1 != e2 || e1.Duration != frameDuration {
		t.Fatalf("Stop twice: %+v %v / %+v %v", e1, err1, e2, err2)
	}
	if got := <-calls; got != e1 {
		t.Errorf("OnStop saw %+v", got)
	}
	a.Close()
	if len(calls) != 0 {
		t.Error("OnStop called twice")
	}
}

// When the disk falls behind and a buffer fills, frames are dropped and
// counted, and written as silence so the file keeps the call's length.
func TestOverflowDropsButKeepsTimeline(t *testing.T) {
	a, _, _ := testArchive(t, Options{BufferFrames: 10})
	r, _ := a.Start(Meta{CallID: "c1"}, StartOptions{})
	caller := newTone(callerHz)
	a.drainMu.Lock() // the writer is stuck
	for range 25 {
		r.WriteFrame(caller.next(), nil)
	}
	a.drainMu.Unlock()
	waitDrained(a)
	for range 5 {
		r.WriteFrame(caller.next(), nil)
	}
	a.drainMu.Lock()
	for range 15 { // 5 fit, 10 dropped, and no frame follows them
		r.WriteFrame(caller.next(), nil)
	}
	a.drainMu.Unlock()
	e, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := a.DroppedFrames(); got != 15+10 {
		t.Errorf("%d frames dropped, want 25", got)
	}
	if e.Duration != 45*frameDuration {
		t.Errorf("duration %v, want %v (every frame, dropped ones as silence)", e.Duration, 45*frameDuration)
	}
	x := readChannels(t, fileOf(a, e), 1)[0]
	if rmsOf(x[10*FrameSamples:25*FrameSamples]) != 0 {
		t.Error("dropped frames are not silence")
	}
	if rmsOf(x[25*FrameSamples:35*FrameSamples]) < 4000 {
		t.Error("frames after the drop missing")
	}
	if rmsOf(x[35*FrameSamples:]) != 0 {
		t.Error("frames dropped before Stop are not silence")
	}
}

// Closing the Archive stops what is recording, and Start then fails.
func TestCloseStopsRecordings(t *testing.T) {
	a, st, _ := testArchive(t, Options{})
	stopped := make(chan Entry, 1)
	r, _ := a.Start(Meta{CallID: "c1"}, StartOptions{OnStop: func(e Entry) { stopped <- e }})
	r.WriteFrame(nil, nil)
	r.WriteFrame(nil, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	e := <-stopped
	if e.Active || e.Duration != 2*frameDuration {
		t.Errorf("entry after Close: %+v", e)
	}
	if got, _ := getEntry(st, e.ID); got != e {
		t.Errorf("index after Close: %+v", got)
	}
	if _, err := a.Start(Meta{}, StartOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
}

// The index holds an entry per recording, active while it runs and final
// after; List filters and orders newest first; durations are seconds in
// JSON.
func TestIndex(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	a, st, _ := testArchive(t, Options{Now: clock.Now})
	var ids []string
	for i, call := range []string{"a", "b", "a"} {
		clock.Set(clock.Now().Add(time.Minute))
		e := record(t, a, Meta{CallID: call, LegID: "leg" + call, Caller: "100" + call, Callee: "200"}, StartOptions{}, 10*(i+1))
		ids = append(ids, e.ID)
	}
	clock.Set(clock.Now().Add(time.Minute))
	r, _ := a.Start(Meta{CallID: "live"}, StartOptions{})
	r.WriteFrame(nil, nil)
	waitDrained(a)
	live, _ := a.Get(r.ID())
	if !live.Active || live.Duration != frameDuration || live.Size != 44+320 {
		t.Errorf("live entry %+v", live)
	}

	all, err := a.List(Filter{})
	if err != nil || len(all) != 4 || all[0].ID != r.ID() || all[1].ID != ids[2] || all[3].ID != ids[0] {
		t.Fatalf("List: %v %+v", err, all)
	}
	if got, _ := a.List(Filter{CallID: "a"}); len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[0] {
		t.Errorf("call a: %+v", got)
	}
	if got, _ := a.List(Filter{Limit: 1, CallID: "a"}); len(got) != 1 || got[0].ID != ids[2] {
		t.Errorf("limit 1: %+v", got)
	}
	since := time.Date(2026, 3, 1, 10, 2, 0, 0, time.UTC)
	if got, _ := a.List(Filter{Since: since}); len(got) != 3 {
		t.Errorf("since %v: %d entries", since, len(got))
	}
	if _, err := a.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}

	raw, _ := st.Get(Bucket, ids[1])
	var m map[string]any
	json.Unmarshal(raw, &m)
	if m["duration_s"] != 0.4 || m["call_id"] != "b" || m["active"] != false || m["path"] != "2026/03/01/"+ids[1]+".wav" {
		t.Errorf("stored JSON %s", raw)
	}
	if _, ok := m["Duration"]; ok {
		t.Errorf("nanoseconds stored: %s", raw)
	}
	var back Entry
	if err := json.Unmarshal(raw, &back); err != nil || back.Duration != 400*time.Millisecond || back.LegID != "legb" {
		t.Errorf("decoded %+v, %v", back, err)
	}
	if !strings.HasPrefix(ids[0], "20260301T100100000Z-") {
		t.Errorf("id %q is not time-ordered", ids[0])
	}
	r.Stop()
}

// Ids are unique even when started in the same millisecond.
func TestIDsUnique(t *testing.T) {
	seen := map[string]bool{}
	now := time.Now()
	for range 1000 {
		id := newID(now)
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rmsOf(x []int16) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(1, len(x))))
}
