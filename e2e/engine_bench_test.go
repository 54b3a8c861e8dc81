package e2e

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// benchWait bounds each wait of the engine benchmark: an answer, an end.
const benchWait = 5 * time.Second

// BenchmarkEngineOriginateBridgeHangup measures the engine API alone, as a
// control plane drives it: each cycle originates a leg to 1001 and one to
// 1002 (test phones on loopback that answer at once), waits for both
// leg.answered events, bridges the two legs, hangs both up and waits for
// both leg.ended events. The phones send no audio. Allocations count the
// whole process: the PBX and both phones.
func BenchmarkEngineOriginateBridgeHangup(b *testing.B) {
	p := testkit.StartPBX(b, "")
	phones := []*testkit.Phone{phone(b, p, "1001"), phone(b, p, "1002")}
	e := p.Engine()
	ctx := context.Background()

	sub, err := e.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventLegAnswered, dialog.EventLegEnded}})
	if err != nil {
		b.Fatalf("subscribe: %v", err)
	}
	// Deferred calls run before the cleanups of the phones and the PBX:
	// the answering goroutines stop while both are still up.
	defer sub.Close()
	stop := autoAnswer(b, phones)
	defer stop()

	// waitBoth waits on sub for an event of kind about each of legs a and
	// b, in either order; a leg that ends while it is awaited to answer
	// fails the benchmark.
	waitBoth := func(kind dialog.EventKind, la, lb string) {
		b.Helper()
		pending := map[string]bool{la: true, lb: true}
		deadline := time.NewTimer(benchWait)
		defer deadline.Stop()
		for len(pending) > 0 {
			select {
			case ev, ok := <-sub.C:
				if !ok {
					b.Fatalf("event subscription dropped while waiting for %s", kind)
				}
				if !pending[ev.LegID] {
					continue
				}
				if ev.Kind == kind {
					delete(pending, ev.LegID)
					continue
				}
				if ev.Kind == dialog.EventLegEnded {
					b.Fatalf("leg %s ended (%s) while waiting for %s", ev.LegID, ev.Cause, kind)
				}
			case <-deadline.C:
				b.Fatalf("no %s of legs %v within %s", kind, pending, benchWait)
			}
		}
	}

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		a, err := e.Originate(ctx, dialog.OriginateRequest{To: "1001"})
		if err != nil {
			b.Fatalf("originate to 1001: %v", err)
		}
		o, err := e.Originate(ctx, dialog.OriginateRequest{To: "1002"})
		if err != nil {
			b.Fatalf("originate to 1002: %v", err)
		}
		waitBoth(dialog.EventLegAnswered, a.ID, o.ID)
		if _, err := e.Bridge(ctx, a.ID, o.ID); err != nil {
			b.Fatalf("bridge: %v", err)
		}
		if err := e.Hangup(ctx, a.ID, dialog.CauseNormal); err != nil {
			b.Fatalf("hang up %s: %v", a.ID, err)
		}
		if err := e.Hangup(ctx, o.ID, dialog.CauseNormal); err != nil {
			b.Fatalf("hang up %s: %v", o.ID, err)
		}
		waitBoth(dialog.EventLegEnded, a.ID, o.ID)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
}

// autoAnswer answers every call that rings on the phones, each from a
// goroutine of its own, until the function it returns is called. That
// function stops the goroutines and checks that every call they answered
// has ended: the PBX's BYE ends a phone's call by itself.
func autoAnswer(b *testing.B, phones []*testkit.Phone) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var calls []*testkit.PhoneCall
	var byeFirst atomic.Int64
	for _, ph := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				// A short wait, so that stop is not held up for long.
				in, err := ph.Incoming(100 * time.Millisecond)
				if err != nil {
					continue // nothing rang
				}
				c, err := in.Answer()
				if err != nil && !strings.Contains(err.Error(), "No ACK") {
					b.Errorf("%s: answer: %v", ph.User, err)
					continue
				}
				if err != nil {
					// The PBX sends its ACK before it reports the leg
					// answered, but the phone handles each request on a
					// goroutine of its own: when the benchmark's BYE
					// follows at once, the phone may take it before the
					// ACK, and Answer reports no ACK. The BYE has ended
					// the call all the same.
					byeFirst.Add(1)
					continue
				}
				mu.Lock()
				calls = append(unended(calls), c)
				mu.Unlock()
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			if n := byeFirst.Load(); n > 0 {
				b.Logf("%d answered calls took the PBX's BYE before its ACK", n)
			}
			if b.Failed() {
				return // a cycle broke off: the PBX's shutdown ends its calls
			}
			for _, c := range calls {
				if err := c.WaitEnded(benchWait); err != nil {
					b.Errorf("a phone's call: %v", err)
				}
			}
		})
	}
}

// unended drops the calls that have ended, in place.
func unended(calls []*testkit.PhoneCall) []*testkit.PhoneCall {
	kept := calls[:0]
	for _, c := range calls {
		select {
		case <-c.Ended():
		default:
			kept = append(kept, c)
		}
	}
	clear(calls[len(kept):])
	return kept
}
