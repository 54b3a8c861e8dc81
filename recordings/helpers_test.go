package recordings

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pbx/store"
)

// Tones each party sends in these tests.
const (
	callerHz = 440
	calleeHz = 1300
)

// toneSource generates a continuous sine, frame by frame.
type toneSource struct {
	freq, amp float64
	n         int
	buf       [FrameSamples]int16
}

func newTone(freq float64) *toneSource { return &toneSource{freq: freq, amp: 8000} }

// next returns the next 20 ms of the tone (valid until the next call).
func (s *toneSource) next() []int16 {
	for i := range s.buf {
		s.buf[i] = int16(math.Round(s.amp * math.Sin(2*math.Pi*s.freq*float64(s.n)/8000)))
		s.n++
	}
	return s.buf[:]
}

// goertzel is the share of x's power at freq (8 kHz): near 1 for a pure
// tone at freq, near 0 when it is absent, 0 for silence.
func goertzel(x []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, total float64
	for _, v := range x {
		f := float64(v)
		total += f * f
		s0 := f + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if total == 0 {
		return 0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * p / float64(len(x)) / total
}

// syncBuffer is a log destination safe for the archive's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testArchive opens an Archive on a real store and directory, closed at
// the end of the test. opts.Dir defaults to a temporary directory.
func testArchive(t testing.TB, opts Options) (*Archive, *store.Store, *syncBuffer) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	var logs syncBuffer
	a, err := Open(context.Background(), opts, st, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return a, st, &logs
}

// waitDrained returns once the writer has run a whole drain after now.
func waitDrained(a *Archive) {
	ch := a.nextDrain()
	a.wakeWriter()
	<-ch
	ch = a.nextDrain()
	a.wakeWriter()
	<-ch
}

// readChannels reads the 16-bit WAV at path written by wav.Writer and
// returns its channels apart.
func readChannels(t testing.TB, path string, channels int) [][]int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a canonical WAV", path)
	}
	if got := int(binary.LittleEndian.Uint16(b[22:])); got != channels {
		t.Fatalf("%s: %d channels, want %d", path, got, channels)
	}
	n := int(binary.LittleEndian.Uint32(b[40:]))
	if 44+n != len(b) {
		t.Fatalf("%s: header says %d data bytes, file holds %d", path, n, len(b)-44)
	}
	out := make([][]int16, channels)
	for i := 0; i+2*channels <= n; i += 2 * channels {
		for c := range channels {
			out[c] = append(out[c], int16(binary.LittleEndian.Uint16(b[44+i+2*c:])))
		}
	}
	return out
}

// fileOf is the path of an entry's file.
func fileOf(a *Archive, e Entry) string { return filepath.Join(a.opts.Dir, filepath.FromSlash(e.Path)) }

// record starts a recording, feeds it frames from both tones and stops it.
func record(t testing.TB, a *Archive, meta Meta, o StartOptions, frames int) Entry {
	t.Helper()
	r, err := a.Start(meta, o)
	if err != nil {
		t.Fatal(err)
	}
	caller, callee := newTone(callerHz), newTone(calleeHz)
	for i := range frames {
		r.WriteFrame(caller.next(), callee.next())
		if i%50 == 49 {
			waitDrained(a) // as the media clock's pace would allow
		}
	}
	e, err := r.Stop()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fixedClock is a settable clock for Options.Now.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
