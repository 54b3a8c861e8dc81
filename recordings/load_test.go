package recordings

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

// runCalls records n calls at once, half mono and half stereo, fed by one
// goroutine ticking every 20 ms as the PBX's media clock does, for ticks
// frames; then stops them all. It returns what the writer and the process
// spent meanwhile.
func runCalls(t testing.TB, a *Archive, n, ticks int) (busy, cpu, wall time.Duration) {
	recs := make([]*Recording, n)
	for i := range recs {
		mode := Mono
		if i%2 == 1 {
			mode = Stereo
		}
		r, err := a.Start(Meta{CallID: "load"}, StartOptions{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = r
	}
	caller, callee := newTone(callerHz), newTone(calleeHz)
	busy0, cpu0 := a.busy.Load(), processCPU()
	began := time.Now()
	tick := time.NewTicker(frameDuration)
	for range ticks {
		<-tick.C
		c, e := caller.next(), callee.next()
		for _, r := range recs {
			r.WriteFrame(c, e)
		}
	}
	tick.Stop()
	var wg sync.WaitGroup
	for _, r := range recs {
		wg.Go(func() {
			e, err := r.Stop()
			if err != nil {
				t.Error(err)
			}
			if e.Duration != time.Duration(ticks)*frameDuration {
				t.Errorf("%s: %v recorded, want %v", e.ID, e.Duration, time.Duration(ticks)*frameDuration)
			}
		})
	}
	wg.Wait()
	return time.Duration(a.busy.Load() - busy0), processCPU() - cpu0, time.Since(began)
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Five hundred calls recorded at once, for a second of real 20 ms ticks:
// the single writer keeps up and not one frame is dropped.
func TestFiveHundredRecordingsDropNothing(t *testing.T) {
	a, _, _ := testArchive(t, Options{})
	busy, _, wall := runCalls(t, a, 500, 50)
	if d := a.DroppedFrames(); d != 0 {
		t.Errorf("%d frames dropped", d)
	}
	t.Logf("writer busy %v of %v", busy, wall)
}

// Benchmark500Recordings is 500 concurrent recordings for 3 s of real
// 20 ms ticks (150), reporting dropped frames (must be 0), the share of
// the time the writer goroutine worked, and the process's CPU per second.
func Benchmark500Recordings(b *testing.B) {
	a, _, _ := testArchive(b, Options{})
	for b.Loop() {
		busy, cpu, wall := runCalls(b, a, 500, 150)
		b.ReportMetric(float64(a.DroppedFrames()), "dropped")
		b.ReportMetric(100*busy.Seconds()/wall.Seconds(), "writer-busy-%")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "process-cpu-%")
	}
	if d := a.DroppedFrames(); d != 0 {
		b.Errorf("%d frames dropped", d)
	}
}

// BenchmarkWriteFrame is the media clock's cost per recording per tick.
// The writer is held off and the benchmark consumes the ring itself, so
// what is measured is the copy, never the drop path.
func BenchmarkWriteFrame(b *testing.B) {
	a, _, _ := testArchive(b, Options{Format: Stereo})
	r, err := a.Start(Meta{CallID: "bench"}, StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	caller, callee := newTone(callerHz).next(), newTone(calleeHz).next()
	a.drainMu.Lock()
	b.ReportAllocs()
	for b.Loop() {
		r.WriteFrame(caller, callee)
		r.tail.Store(r.head.Load())
	}
	a.drainMu.Unlock()
	if a.DroppedFrames() != 0 {
		b.Fatal("frames dropped")
	}
	r.Stop()
}

// WriteFrame does not allocate.
func TestWriteFrameDoesNotAllocate(t *testing.T) {
	a, _, _ := testArchive(t, Options{Format: Stereo})
	r, _ := a.Start(Meta{CallID: "c"}, StartOptions{})
	caller := newTone(callerHz).next()
	a.drainMu.Lock()
	n := testing.AllocsPerRun(200, func() {
		r.WriteFrame(caller, caller)
		r.tail.Store(r.head.Load())
	})
	a.drainMu.Unlock()
	if n != 0 {
		t.Errorf("%v allocations per WriteFrame", n)
	}
	r.Stop()
}
