package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// FrameDuration is the PBX's audio frame: everything it generates (prompts,
// hold music, mixer output, recordings) moves in steps of 20 ms.
const FrameDuration = 20 * time.Millisecond

// FrameSamples is one frame of 8 kHz audio.
const FrameSamples = 160

// maxCatchUp bounds how many frames a late wake-up runs back to back. A
// stall longer than this (a paused VM, a debugger) is skipped rather than
// replayed as a burst nobody could play out in time.
const maxCatchUp = 10

// ticker is what the clock drives: a player, a mixer. tick runs on the
// clock's goroutine once per frame and must not block.
type ticker interface {
	tick(now time.Time)
}

// clockPhases splits each frame into 5 ms phases. A stream with many
// listeners (hold music) sends to a quarter of them in each phase: the
// packets of a tick are spread over the frame instead of leaving in one
// burst, and a listener's packet no longer waits behind thousands of
// others whose sending time varies from tick to tick.
const clockPhases = 4

const phaseDuration = FrameDuration / clockPhases

// phasedTicker is driven every phase: phase 0 starts a frame.
type phasedTicker interface {
	tickPhase(now time.Time, phase int)
}

// tickLists is what one round of the clock runs.
type tickLists struct {
	frame  []ticker
	phased []phasedTicker
}

// Clock is the one 20 ms tick that paces every generated stream, so the
// PBX runs no goroutine or timer per call. A wake-up that comes late runs
// the frames it owes from the time elapsed since the clock started, so
// pacing stays true under load instead of drifting by each delay.
type Clock struct {
	mu     sync.Mutex
	items  []ticker // guarded by mu; lists is the copy the goroutine reads
	phased []phasedTicker
	lists  atomic.Pointer[tickLists]
	round  sync.Mutex // held while a phase's ticks run

	frames  atomic.Uint64 // frames run since start
	skipped atomic.Uint64 // frames dropped by stalls longer than maxCatchUp
	busy    atomic.Int64  // nanoseconds spent running ticks

	stop chan struct{}
	done chan struct{}
}

// newClock starts the clock's goroutine; Close stops it.
func newClock() *Clock {
	c := &Clock{stop: make(chan struct{}), done: make(chan struct{})}
	c.lists.Store(&tickLists{})
	go c.run()
	return c
}

// add makes t run from the next frame on.
func (c *Clock) add(t ticker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = append(c.items, t)
	c.publish()
}

// addPhased makes t run every phase from the next one on.
func (c *Clock) addPhased(t phasedTicker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.phased = append(c.phased, t)
	c.publish()
}

// remove stops running t (a ticker or a phasedTicker); after it returns,
// t is not running and will not run again. It must not be called from a
// tick.
func (c *Clock) remove(t any) {
	// Holding round, the change cannot land in the middle of a phase: once
	// it is released, the next phase runs without t.
	c.round.Lock()
	defer c.round.Unlock()
	c.mu.Lock()
	for i, x := range c.items {
		if x == t {
			c.items = append(c.items[:i:i], c.items[i+1:]...)
			break
		}
	}
	for i, x := range c.phased {
		if x == t {
			c.phased = append(c.phased[:i:i], c.phased[i+1:]...)
			break
		}
	}
	c.publish()
	c.mu.Unlock()
}

// publish hands the goroutine a fresh copy of the list, so a tick never
// sees a slice that add or remove is changing. mu must be held.
func (c *Clock) publish() {
	c.lists.Store(&tickLists{
		frame:  append([]ticker(nil), c.items...),
		phased: append([]phasedTicker(nil), c.phased...),
	})
}

// ClockStats tells how well the clock keeps time.
type ClockStats struct {
	Frames  uint64        // frames run
	Skipped uint64        // frames lost to stalls longer than 200 ms
	Busy    time.Duration // time spent generating, sending and mixing
}

// Stats reads the clock's counters.
func (c *Clock) Stats() ClockStats {
	return ClockStats{Frames: c.frames.Load(), Skipped: c.skipped.Load(), Busy: time.Duration(c.busy.Load())}
}

func (c *Clock) close() {
	close(c.stop)
	<-c.done
}

func (c *Clock) run() {
	defer close(c.done)
	start := time.Now()
	var n int64 // phases run
	timer := time.NewTimer(phaseDuration)
	defer timer.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		now := time.Now()
		due := int64(now.Sub(start) / phaseDuration)
		if late := due - n; late > maxCatchUp*clockPhases {
			// Skip whole frames, so phase 0 still starts a frame.
			skip := (late - 1) / clockPhases * clockPhases
			c.skipped.Add(uint64(skip / clockPhases))
			n += skip
		}
		c.round.Lock()
		for ; n < due; n++ {
			phase := int(n % clockPhases)
			l := c.lists.Load()
			if phase == 0 {
				for _, t := range l.frame {
					t.tick(now)
				}
				c.frames.Add(1)
			}
			for _, t := range l.phased {
				t.tickPhase(now, phase)
			}
		}
		c.round.Unlock()
		c.busy.Add(int64(time.Since(now)))
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * phaseDuration)))
	}
}
