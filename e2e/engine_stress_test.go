package e2e

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// Commands, re-INVITEs and BYEs fired at the same legs at once: every leg
// ends in a consistent state (ended, unlisted, its bridge gone), and the
// engine leaves no goroutine behind.
func TestEngineStress(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	e := p.Engine()
	ctx := context.Background()
	settle := func(want int) int {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		n := runtime.NumGoroutine()
		for n > want && time.Now().Before(deadline) {
			runtime.Gosched()
			time.Sleep(20 * time.Millisecond) // polling a count: there is no event for "goroutine gone"
			n = runtime.NumGoroutine()
		}
		return n
	}
	before := runtime.NumGoroutine()
	for round := range 6 {
		la, a := p.Originate("1001", alice, toneA, "")
		lb, b := p.Originate("1002", bob, toneB, "")
		if _, err := e.Bridge(ctx, la, lb); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		fire := func(fn func()) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn()
			}()
		}
		for range 3 {
			fire(func() { e.Hold(ctx, la, "") })
			fire(func() { e.Unhold(ctx, la) })
			fire(func() { e.Unbridge(ctx, lb) })
			fire(func() { e.Bridge(ctx, la, lb) })
			fire(func() { e.PlayPrompts(ctx, lb, []string{"welcome"}, dialog.PlayOptions{}) })
			fire(func() { a.Reinvite("sendonly") })
			fire(func() { a.Reinvite("sendrecv") })
			fire(func() { e.SendDTMF(ctx, la, "1") })
		}
		if round%2 == 0 {
			fire(func() { a.Hangup() })
			fire(func() { e.Hangup(ctx, lb, dialog.CauseNormal) })
		} else {
			fire(func() { b.Hangup() })
			fire(func() { e.Hangup(ctx, la, dialog.CauseNormal) })
		}
		wg.Wait()
		for _, id := range []string{la, lb} {
			e.Hangup(ctx, id, dialog.CauseNormal) // whatever is left
		}
		a.WaitEnded(5 * time.Second)
		b.WaitEnded(5 * time.Second)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.Legs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the registry: each leg ends on its own queue
	}
	if legs := e.Legs(); len(legs) != 0 {
		t.Fatalf("legs left after the storm: %+v", legs)
	}
	if n := settle(before + 5); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
