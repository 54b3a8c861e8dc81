package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
)

// readStereo reads a stereo recording written by the PBX.
func readStereo(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	w := readRecording(t, path)
	if len(w.channels) != 2 {
		t.Fatalf("%s is not a stereo WAV", path)
	}
	return w.channels[0], w.channels[1]
}

// silentRun is the longest run of 20 ms frames silent in both channels.
func silentRun(left, right []int16) time.Duration {
	best, run := 0, 0
	for off := 0; off+160 <= len(left); off += 160 {
		if rms(left[off:off+160]) < 50 && rms(right[off:off+160]) < 50 {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return time.Duration(best) * 20 * time.Millisecond
}

// The caller starts recording with the feature code; the PBX pauses and
// resumes it through the engine API; the caller stops it with the code.
// The file holds the caller's tone on the left, the callee's on the right,
// and silence as long as the pause.
func TestRecordingOnDemand(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) {
		c.Recordings.Beep = false
		c.Recordings.Token = "s3cret-token"
	})
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	if err := a.SendDigits("*1"); err != nil {
		t.Fatal(err)
	}
	ev := p.WaitEvent(dialog.EventRecordingStarted, 5*time.Second)
	id, callID := ev.Detail, ev.CallID
	talking(t, a, b)          // the move into the mixer is not heard
	<-time.After(time.Second) // some audio to record
	if err := p.Engine().PauseRecording(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	<-time.After(time.Second) // the pause under test
	if err := p.Engine().ResumeRecording(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	pause := time.Since(paused)
	<-time.After(time.Second)
	if err := a.SendDigits("*1"); err != nil {
		t.Fatal(err)
	}
	if ev := p.WaitEvent(dialog.EventRecordingStopped, 5*time.Second); ev.Detail != id {
		t.Fatalf("stopped %q, want %q", ev.Detail, id)
	}
	talking(t, a, b) // back to the relay, unheard
	entry, err := p.Recordings().Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if entry.CallID != callID || entry.Active || entry.Duration < 2500*time.Millisecond {
		t.Fatalf("index entry %+v", entry)
	}
	path := entry.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.DataDir, "recordings", path)
	}
	left, right := readStereo(t, path)
	if l := testkit.ToneSequence(left, toneA, toneB); len(l) != 1 || l[0] != toneA {
		t.Fatalf("left channel holds %v, want the caller's %v Hz only", l, toneA)
	}
	if r := testkit.ToneSequence(right, toneA, toneB); len(r) != 1 || r[0] != toneB {
		t.Fatalf("right channel holds %v, want the callee's %v Hz only", r, toneB)
	}
	if got := silentRun(left, right); got < pause-80*time.Millisecond || got > pause+80*time.Millisecond {
		t.Fatalf("silence of %v in the file, the pause lasted %v", got, pause)
	}
	// The file over HTTP: with the token only.
	url := "http://" + p.HTTPAddr() + "/recordings/" + id
	for token, want := range map[string]int{"": 401, "wrong": 401, "s3cret-token": 200} {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("token %q: status %d, want %d", token, res.StatusCode, want)
		}
		if want == 200 && (res.Header.Get("Content-Type") != "audio/wav" || int64(len(body)) != entry.Size) {
			t.Fatalf("download: %s, %d bytes, want audio/wav of %d", res.Header.Get("Content-Type"), len(body), entry.Size)
		}
	}
	hangUp(t, a, b)
}

// A recording of one leg puts that leg on the left; the engine API holds
// and resumes a leg (it hears music meanwhile) and transfers blind.
func TestRecordLegHoldAndTransferByAPI(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.Recordings.Beep = false })
	alice, bob, carol := threePhones(t, p)
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	started := p.WaitEvent(dialog.EventCallStarted, 3*time.Second)
	bobLeg := p.WaitEvent(dialog.EventCallAnswered, 3*time.Second).LegID
	id, err := p.Engine().Record(context.Background(), bobLeg, dialog.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	talking(t, a, b)
	<-time.After(time.Second) // a second of audio to record
	entry, err := p.Engine().StopRecording(context.Background(), id)
	if err != nil || entry.ID != id || entry.LegID != bobLeg {
		t.Fatalf("stop: %+v %v", entry, err)
	}
	path := entry.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.DataDir, "recordings", path)
	}
	left, right := readStereo(t, path)
	if l, r := testkit.ToneSequence(left, toneA, toneB), testkit.ToneSequence(right, toneA, toneB); len(l) != 1 || l[0] != toneB || len(r) != 1 || r[0] != toneA {
		t.Fatalf("left %v right %v: want the recorded leg's %v left, what it hears right", l, r, toneB)
	}

	if err := p.Engine().Hold(context.Background(), started.LegID, "calm"); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneB}); err != nil {
		t.Fatalf("held caller: %v", err)
	}
	if pcm := a.Heard(); rms(pcm[len(pcm)-1600:]) < 100 {
		t.Fatal("the held caller hears silence, not music")
	}
	if err := p.Engine().Unhold(context.Background(), started.LegID); err != nil {
		t.Fatal(err)
	}
	talking(t, a, b)

	carolCall := answerNext(t, carol, toneC)
	if err := p.Engine().Transfer(context.Background(), started.LegID, "1003"); err != nil {
		t.Fatal(err)
	}
	c := <-carolCall
	if err := b.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("bob not released: %v", err)
	}
	exactlyTalking(t, a, c)
	hangUp(t, a, c)
}
