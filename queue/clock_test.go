package queue

import (
	"slices"
	"sort"
	"sync"
	"time"

	"pbx/dialog"
)

// testClock is the dialog.Clock of this package's tests: it moves only
// when a test says, so timers fire exactly when the test wants.
// internal/testkit has a clock like it, which these tests cannot import
// (testkit imports node, which imports this package).
type testClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*testTimer
}

type testTimer struct {
	c       *testClock
	at      time.Time
	f       func()
	stopped bool // stopped, or fired
}

func newTestClock(at time.Time) *testClock { return &testClock{now: at} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, backwards too, without running timers.
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *testClock) AfterFunc(d time.Duration, f func()) dialog.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &testTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *testTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock on by d, running the timers due by then on the
// test's goroutine, in time order, each with the clock at its own time;
// timers they set that fall due by then run too.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var due *testTimer
		for i, t := range c.timers {
			if t.stopped {
				continue
			}
			if !t.at.After(end) {
				due = t
				c.timers = slices.Delete(c.timers, i, i+1)
			}
			break
		}
		if due == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		due.stopped = true
		c.now = due.at
		c.mu.Unlock()
		due.f()
	}
}

// AdvanceAsync moves the clock on by d and runs the timers due, each on a
// goroutine of its own as time.AfterFunc would; the channel is closed
// when they have all returned.
func (c *testClock) AdvanceAsync(d time.Duration) <-chan struct{} {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	var left []*testTimer
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			left = append(left, t)
		}
	}
	c.timers = left
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range due {
		wg.Go(f)
	}
	ran := make(chan struct{})
	go func() { wg.Wait(); close(ran) }()
	return ran
}

// armed is how many timers are pending.
func (c *testClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}
