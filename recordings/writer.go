package recordings

import (
	"context"
	"fmt"
	"math"
	"time"
)

// drainEvery is how often the writer empties the rings when nothing wakes
// it sooner: five frames, well inside a ring's capacity.
const drainEvery = 100 * time.Millisecond

// beepFrames is the beep's length in frames: 200 ms.
const beepFrames = 10

// beep is 200 ms of 1 kHz at -12 dBFS; at 8 kHz a period is 8 samples,
// so it starts and ends on a zero crossing.
var beep = func() (b [beepFrames * FrameSamples]int16) {
	for i := range b {
		b[i] = int16(math.Round(8192 * math.Sin(2*math.Pi*1000*float64(i)/8000)))
	}
	return b
}()

// writer is the state of the writer goroutine.
type writer struct {
	recs []*Recording
	out  [2 * FrameSamples]int16
}

// writeLoop is the Archive's one writer goroutine: it drains every ring
// into its file, fixes headers every SyncEvery, ends recordings that were
// stopped or reached their maximum, and when ctx ends it stops them all.
func (a *Archive) writeLoop(ctx context.Context) {
	defer a.wg.Done()
	var w writer
	t := time.NewTicker(drainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.closed = true
			a.mu.Unlock()
			w.drainAll(a, true)
			return
		case <-t.C:
		case <-a.wake:
		}
		w.drainAll(a, false)
	}
}

// wakeWriter has the writer drain now, as Stop wants.
func (a *Archive) wakeWriter() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// drainAll writes out every active recording's buffered frames; with
// final, it stops them all.
func (w *writer) drainAll(a *Archive, final bool) {
	a.drainMu.Lock()
	defer a.drainMu.Unlock()
	began := time.Now()
	a.mu.Lock()
	w.recs = w.recs[:0]
	for _, r := range a.active {
		w.recs = append(w.recs, r)
	}
	a.mu.Unlock()
	now := time.Now()
	for _, r := range w.recs {
		if final {
			r.stopReq.Store(true)
		}
		stopping := r.stopReq.Load()
		if stopping {
			// Hold off a WriteFrame that passed its check just before
			// the stop, and pick up the drops that no frame followed.
			r.pmu.Lock()
		}
		done := w.drain(r, stopping)
		if stopping {
			r.pmu.Unlock()
		}
		if done || stopping {
			r.stopReq.Store(true)
			a.mu.Lock()
			delete(a.active, r.entry.ID)
			a.mu.Unlock()
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.finish(r)
			}()
			continue
		}
		if now.Sub(r.lastSync) >= a.opts.SyncEvery {
			r.lastSync = now
			w.sync(r)
		}
	}
	clear(w.recs) // keep no recordings alive through the reused slice
	a.busy.Add(int64(time.Since(began)))
	a.mu.Lock()
	close(a.drained)
	a.drained = make(chan struct{})
	a.mu.Unlock()
}

// nextDrain returns a channel closed when the drain under way, or the next
// one, ends. Waiting on two in a row guarantees a whole drain ran.
func (a *Archive) nextDrain() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.drained
}

// drain writes r's buffered frames. It reports whether r is over: its
// maximum duration reached, or its file failed.
func (w *writer) drain(r *Recording, stopping bool) bool {
	h := r.head.Load()
	for t := r.tail.Load(); t < h; t++ {
		s := &r.ring[t%uint64(len(r.ring))]
		for range s.gap {
			if w.frame(r, nil, silentCaller|silentCallee) {
				return true
			}
		}
		over := w.frame(r, s, s.silent)
		r.tail.Store(t + 1)
		if over {
			return true
		}
	}
	if stopping {
		for ; r.pending > 0; r.pending-- {
			if w.frame(r, nil, silentCaller|silentCallee) {
				return true
			}
		}
	}
	return false
}

// frame writes one frame of r (s nil: silence), replacing it with the beep
// in the first 200 ms if r has one. It reports whether r is over.
func (w *writer) frame(r *Recording, s *slot, silent uint8) bool {
	if r.writeErr != nil || (r.maxFrame > 0 && r.frames >= r.maxFrame) {
		return true
	}
	ch := r.entry.Mode.channels()
	out := w.out[:ch*FrameSamples]
	switch {
	case r.beep && r.frames < beepFrames:
		b := beep[r.frames*FrameSamples:]
		for i := range FrameSamples {
			for c := range ch {
				out[i*ch+c] = b[i]
			}
		}
	case ch == 2:
		for i := range FrameSamples {
			var left, right int16
			if silent&silentCaller == 0 {
				left = s.caller[i]
			}
			if silent&silentCallee == 0 {
				right = s.callee[i]
			}
			out[2*i], out[2*i+1] = left, right
		}
	default:
		for i := range FrameSamples {
			var sum int32
			if silent&silentCaller == 0 {
				sum += int32(s.caller[i])
			}
			if silent&silentCallee == 0 {
				sum += int32(s.callee[i])
			}
			out[i] = int16(max(math.MinInt16, min(math.MaxInt16, sum)))
		}
	}
	if err := r.w.Write(out); err != nil {
		r.writeErr = err
		return true
	}
	r.frames++
	r.written.Store(r.frames)
	r.size.Store(r.w.Bytes())
	return r.maxFrame > 0 && r.frames >= r.maxFrame
}

// sync fixes r's header to cover what it has written.
func (w *writer) sync(r *Recording) {
	if r.writeErr != nil {
		return
	}
	if err := r.w.Sync(); err != nil {
		r.writeErr = err
		return
	}
	r.synced.Store(r.frames)
}

// finish completes a recording the writer has let go of: it fixes the
// header, flushes the file to disk and closes it, makes the index entry
// final, releases Stop, and calls OnStop. It runs on a goroutine of its
// own so that the fsync holds up no other recording.
func (a *Archive) finish(r *Recording) {
	err := r.writeErr
	if err == nil {
		err = r.w.Close()
	}
	if err == nil {
		r.synced.Store(r.frames)
		if serr := r.file.Sync(); serr != nil {
			err = fmt.Errorf("recordings: %s: %w", r.entry.ID, serr)
		}
	}
	if cerr := r.file.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("recordings: %s: %w", r.entry.ID, cerr)
	}
	e := r.entry
	e.Active = false
	e.Duration = time.Duration(r.frames) * frameDuration
	e.Size = r.w.Bytes()
	if perr := putEntry(a.kv, e); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		a.log.Error("recording failed", "id", e.ID, "err", err)
	} else {
		a.log.Info("recording stopped", "id", e.ID, "duration", e.Duration, "size", e.Size)
	}
	r.final, r.err = e, err
	close(r.finished)
	if r.opts.OnStop != nil {
		r.opts.OnStop(e)
	}
}
