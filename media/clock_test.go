package media

import (
	"testing"
	"time"
)

// countTicker counts frames and reports when it has seen want of them.
type countTicker struct {
	n     int
	want  int
	stall int // frame at which to sleep, as a loaded machine would
	done  chan time.Time
}

func (c *countTicker) tick(time.Time) {
	c.n++
	if c.n == c.stall {
		time.Sleep(70 * time.Millisecond) // the stall under test, not a wait
	}
	if c.n == c.want {
		c.done <- time.Now()
	}
}

func TestClockCatchesUpAfterAStall(t *testing.T) {
	c := newClock()
	defer c.close()
	ct := &countTicker{want: 50, stall: 10, done: make(chan time.Time, 1)}
	start := time.Now()
	c.add(ct)
	var end time.Time
	select {
	case end = <-ct.done:
	case <-time.After(5 * time.Second):
		t.Fatal("clock did not run 50 frames")
	}
	c.remove(ct)
	// 50 frames take 1 s of wall time whatever the stall: a clock that
	// slept 20 ms after each late tick would take 1.07 s or more.
	if got := end.Sub(start); got < 960*time.Millisecond || got > 1060*time.Millisecond {
		t.Fatalf("50 frames took %v, want about 1s", got)
	}
	if s := c.Stats(); s.Skipped != 0 {
		t.Fatalf("%d frames skipped; a 70 ms stall should be caught up", s.Skipped)
	}
}

func TestClockRemoveWaitsForTheRound(t *testing.T) {
	c := newClock()
	defer c.close()
	ct := &countTicker{want: 3, done: make(chan time.Time, 1)}
	c.add(ct)
	<-ct.done
	c.remove(ct)
	n := ct.n // no race: remove waited out the round
	if n < 3 {
		t.Fatalf("n = %d", n)
	}
}
