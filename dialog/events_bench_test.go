package dialog

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// benchBuffer is each benchmark subscriber's buffer. The publisher yields
// while a subscriber holds more than half of it, so that the figures measure
// a bus whose readers keep up, never one that disconnects them.
const benchBuffer = 1024

// BenchmarkBusPublish publishes one leg event to n subscribers that all
// want it, each drained by its own goroutine.
func BenchmarkBusPublish(b *testing.B) {
	for _, n := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			benchPublish(b, n, func(int) EventFilter { return EventFilter{Buffer: benchBuffer} })
		})
	}
}

// BenchmarkBusPublishFiltered publishes one leg event to 100 subscribers of
// which one follows that leg: the cost of the filter check that the other
// 99 pay.
func BenchmarkBusPublishFiltered(b *testing.B) {
	for _, legs := range []int{1, 16} { // a slice scan, then a map lookup
		b.Run(fmt.Sprintf("legs=%d", legs), func(b *testing.B) {
			benchPublish(b, 100, func(i int) EventFilter {
				f := EventFilter{Buffer: benchBuffer, Legs: make([]string, legs)}
				for j := range f.Legs {
					f.Legs[j] = fmt.Sprintf("leg-%d-%d", i, j)
				}
				return f
			})
		})
	}
}

// benchPublish runs the publish loop against n subscribers made with
// filter. It owns the draining goroutines and stops them before it returns.
func benchPublish(b *testing.B, n int, filter func(i int) EventFilter) {
	bus := NewBus(0)
	subs := make([]*Subscription, n)
	var drainers sync.WaitGroup
	for i := range subs {
		s, err := bus.Subscribe(filter(i))
		if err != nil {
			b.Fatal(err)
		}
		subs[i] = s
		drainers.Go(func() {
			for range s.C {
			}
		})
	}
	defer func() {
		for _, s := range subs {
			s.Close()
		}
		drainers.Wait()
	}()

	e := Event{Kind: EventDTMF, CallID: "call-1", LegID: "leg-0-0", Digit: "5", Source: "rfc4733"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		bus.publish(e)
		if i%64 == 63 {
			for _, s := range subs {
				for len(s.C) > benchBuffer/2 {
					runtime.Gosched()
				}
			}
		}
	}
	b.StopTimer()
	for i, s := range subs {
		if s.Lagged() {
			b.Fatalf("subscriber %d lagged: the figures would not be for a full fan-out", i)
		}
	}
	if n > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sub")
	}
}
