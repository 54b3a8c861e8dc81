package recordings

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"pbx/wav"
)

// FrameSamples is the number of samples per direction in one 20 ms frame
// at 8 kHz, what WriteFrame takes.
const FrameSamples = 160

// frameDuration is the time one frame covers.
const frameDuration = 20 * time.Millisecond

// Meta is what a recording is of.
type Meta struct {
	CallID string // the call's id, as the control planes know it
	LegID  string // the leg being recorded, if one
	Caller string
	Callee string
}

// StartOptions override the Archive's Options for one recording; zero
// values take them.
type StartOptions struct {
	Mode        Mode
	Beep        *bool
	MaxDuration time.Duration
	// OnStop, if set, is called once when the recording has stopped and
	// its file and index entry are final, whatever stopped it: Stop, the
	// maximum duration, a write error, or the Archive closing. It runs on
	// a goroutine of its own, so it may call anything, Stop included.
	OnStop func(Entry)
}

// slot is one buffered frame. silent marks a direction to write as
// silence (paused or masked) without copying it; gap counts the frames
// dropped just before this one, written as silence ahead of it so the
// timeline stays true.
type slot struct {
	caller, callee [FrameSamples]int16
	silent         uint8
	gap            uint32
}

const (
	silentCaller uint8 = 1 << iota
	silentCallee
)

// Recording is one recording in progress. WriteFrame, Pause, Resume and
// Mask may be called from any goroutine; WriteFrame is meant for the media
// clock and never blocks.
type Recording struct {
	a        *Archive
	entry    Entry // as at Start; the writer fills in the rest at the end
	opts     StartOptions
	beep     bool
	maxFrame int64 // frames after which it stops itself; 0: no limit

	// Producer side: the ring is single-producer, and pmu makes it so
	// if WriteFrame is ever called from two goroutines at once. The
	// writer never takes pmu.
	pmu     sync.Mutex
	ring    []slot
	head    atomic.Uint64 // next slot to fill; written by the producer
	tail    atomic.Uint64 // next slot to drain; written by the writer
	pending uint32        // frames dropped since the last one buffered
	paused  atomic.Bool
	mask    atomic.Uint32 // silentCaller|silentCallee
	stopReq atomic.Bool   // Stop was called, or the writer ended it

	// Writer side, touched only by the Archive's writer goroutine.
	file     *os.File
	w        *wav.Writer
	frames   int64 // frames written to w
	lastSync time.Time
	writeErr error

	// Progress, for List while active and for tests.
	written atomic.Int64 // frames written to the wav.Writer
	synced  atomic.Int64 // frames in the file with its header fixed
	size    atomic.Int64 // file size so far

	stopOnce sync.Once
	finished chan struct{} // closed once entry and err are final
	final    Entry
	err      error
}

// ID is the recording's id, its key in the index.
func (r *Recording) ID() string { return r.entry.ID }

// WriteFrame buffers one 20 ms frame: FrameSamples samples of what the
// caller said and of what the callee said. A shorter slice (nil included)
// is padded with silence, a longer one cut. It copies and returns at once,
// allocating nothing; the Archive's writer goroutine writes the frame out
// later. If the buffer is full (the disk has fallen behind), the frame is
// dropped, counted in Archive.DroppedFrames, and written as silence. While
// paused, or for a masked direction, silence is buffered instead, so a
// file's timeline matches the call's. After Stop, WriteFrame does nothing.
func (r *Recording) WriteFrame(caller, callee []int16) {
	if r.stopReq.Load() {
		return
	}
	r.pmu.Lock()
	defer r.pmu.Unlock()
	h, t := r.head.Load(), r.tail.Load()
	if h-t >= uint64(len(r.ring)) {
		r.pending++
		r.a.dropped.Add(1)
		return
	}
	s := &r.ring[h%uint64(len(r.ring))]
	silent := uint8(r.mask.Load())
	if r.paused.Load() {
		silent = silentCaller | silentCallee
	}
	s.silent = silent
	if silent&silentCaller == 0 {
		fill(&s.caller, caller)
	}
	if silent&silentCallee == 0 {
		fill(&s.callee, callee)
	}
	s.gap = r.pending
	r.pending = 0
	r.head.Store(h + 1)
}

// fill copies src into a frame, padding with silence.
func fill(dst *[FrameSamples]int16, src []int16) {
	n := copy(dst[:], src)
	clear(dst[n:])
}

// Pause makes the frames that follow silence until Resume: the parties
// are giving a card number, say. The file keeps its length.
func (r *Recording) Pause() { r.paused.Store(true) }

// Resume ends a Pause.
func (r *Recording) Resume() { r.paused.Store(false) }

// Paused tells whether the recording is paused.
func (r *Recording) Paused() bool { return r.paused.Load() }

// Mask makes one direction, or both, silence in the frames that follow
// (true) or audible again (false), independently of Pause.
func (r *Recording) Mask(caller, callee bool) {
	var m uint32
	if caller {
		m |= uint32(silentCaller)
	}
	if callee {
		m |= uint32(silentCallee)
	}
	r.mask.Store(m)
}

// Stop ends the recording: the frames buffered so far are written, the
// header fixed, the file flushed to disk (fsync) and closed, and the index
// entry made final. It returns that entry once all that is done. Calling
// it again, or after the recording stopped by itself, returns the same.
func (r *Recording) Stop() (Entry, error) {
	r.stopOnce.Do(func() {
		r.stopReq.Store(true)
		r.a.wakeWriter()
	})
	<-r.finished
	return r.final, r.err
}

// snapshot is the entry with the progress so far, for List while active.
func (r *Recording) snapshot() Entry {
	e := r.entry
	e.Duration = time.Duration(r.written.Load()) * frameDuration
	e.Size = r.size.Load()
	return e
}
