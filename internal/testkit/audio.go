package testkit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pbx/media"
	"pbx/wav"
)

// WritePrompts writes, in a new directory, one WAV per prompt name holding
// a pure tone of its frequency for d: marker prompts whose order a test can
// hear. It returns the directory, for sounds.prompts.
func WritePrompts(t testing.TB, d time.Duration, tones map[string]float64) string {
	t.Helper()
	dir := t.TempDir()
	for name, freq := range tones {
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

// ToneSequence reads which of freqs sound in pcm, window by window (50 ms),
// and returns them in the order they start, each run counted once.
// Windows where none or several sound are skipped.
func ToneSequence(pcm []int16, freqs ...float64) []float64 {
	var seq []float64
	last := math.NaN()
	for off := 0; off+400 <= len(pcm); off += 400 {
		got := media.DetectTones(pcm[off:off+400], freqs)
		var one float64
		n := 0
		for _, f := range freqs {
			if got[f] {
				one = f
				n++
			}
		}
		if n != 1 || one == last {
			continue
		}
		seq = append(seq, one)
		last = one
	}
	return seq
}

// WaitHearsAll waits until the call hears every frequency of want and none
// of notWant in its last 300 ms.
func (c *PhoneCall) WaitHearsAll(timeout time.Duration, want, notWant []float64) error {
	deadline := time.Now().Add(timeout)
	all := append(append([]float64{}, want...), notWant...)
	var got map[float64]bool
	for time.Now().Before(deadline) {
		got = c.Hears(all...)
		ok := true
		for _, f := range want {
			ok = ok && got[f]
		}
		for _, f := range notWant {
			ok = ok && !got[f]
		}
		if ok {
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-c.done:
			return fmt.Errorf("call ended while waiting for %v", want)
		}
	}
	return fmt.Errorf("after %s: heard %v, want %v and not %v", timeout, got, want, notWant)
}
