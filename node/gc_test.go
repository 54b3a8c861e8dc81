package node

import (
	"runtime/debug"
	"strconv"
	"testing"
)

// gcPercentNow reads the collector's target without changing it.
func gcPercentNow() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// A node sets the collector's target to gcPercent, unless the operator
// chose one with GOGC, which it leaves alone.
func TestTuneGC(t *testing.T) {
	orig := gcPercentNow()
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	t.Run("GOGC unset", func(t *testing.T) {
		t.Setenv("GOGC", "")
		debug.SetGCPercent(100)
		if got := tuneGC(); got != strconv.Itoa(gcPercent) {
			t.Fatalf("tuneGC reports GOGC %s, want %d", got, gcPercent)
		}
		if p := gcPercentNow(); p != gcPercent {
			t.Fatalf("GC percent %d, want %d", p, gcPercent)
		}
	})
	t.Run("GOGC set by the operator", func(t *testing.T) {
		t.Setenv("GOGC", "150")
		debug.SetGCPercent(150) // what the runtime read from GOGC at start
		if got := tuneGC(); got != "150" {
			t.Fatalf("tuneGC reports GOGC %s, want the environment's 150", got)
		}
		if p := gcPercentNow(); p != 150 {
			t.Fatalf("GC percent %d, want the operator's 150 left alone", p)
		}
	})
}
