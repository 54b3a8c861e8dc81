package media

import (
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// footprint is what one endpoint of a relayed call costs the process.
type footprint struct {
	heap       float64 // bytes of live heap
	stack      float64 // bytes of goroutine stacks
	goroutines float64
}

// measureFootprint opens n endpoints (n even) bridged in pairs, as n/2
// relayed calls, has RTP cross every bridge both ways and every endpoint
// send RTCP, and reports what each endpoint holds then: the live heap and
// the goroutine stacks it added, with the collector settled before and
// after. The engine and the two phones exist before the first reading,
// so only what grows with the calls is counted, the engine's per-endpoint
// bookkeeping included.
func measureFootprint(tb testing.TB, n, packets int) footprint {
	tb.Helper()
	e := newTestEngine(tb, Config{RTCPEvery: 200 * time.Millisecond})
	phoneA, phoneB := newFarEnd(tb), newFarEnd(tb)
	eps := make([]*Endpoint, 0, n)
	buf := make([]byte, maxDatagram)
	pkt := make([]byte, rtpHeaderLen+FrameSamples)
	seen := make(map[uint32]bool, n)
	tb.Cleanup(func() {
		for _, ep := range eps {
			ep.Close()
		}
	})

	before := settledMemStats()
	goroutines := runtime.NumGoroutine()
	for i := 0; i < n; i += 2 {
		a, err := e.NewEndpoint()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := e.NewEndpoint()
		if err != nil {
			a.Close()
			tb.Fatal(err)
		}
		eps = append(eps, a, b)
		a.SetCodec(PCMU, 101)
		b.SetCodec(PCMU, 101)
		// a's phone is behind NAT: its SDP names an address it does not
		// send from, and a latches onto where its RTP comes from.
		a.SetRemote(netip.AddrPortFrom(loopback, 9))
		b.SetRemote(phoneB.addr())
		if err := Bridge(a, b); err != nil {
			tb.Fatal(err)
		}
	}
	// RTP both ways across every bridge, each packet awaited at the far
	// end, so every reader has run the relay path.
	relay := func(from, to *farEnd, via *Endpoint, seq int) {
		putHeader(pkt, false, 0, uint16(seq), uint32(seq*FrameSamples), 0x5eed)
		if _, err := from.conn.WriteToUDPAddrPort(pkt, via.LocalAddr()); err != nil {
			tb.Fatal(err)
		}
		to.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := to.conn.Read(buf); err != nil {
			tb.Fatalf("relayed packet lost: %v", err)
		}
	}
	for k := range packets {
		for i := 0; i < n; i += 2 {
			relay(phoneA, phoneB, eps[i], k)
			relay(phoneB, phoneA, eps[i+1], k)
		}
	}
	// Every endpoint has sent RTP, so each opens its RTCP socket and
	// reports: wait for a report from each.
	for len(seen) < n {
		for _, f := range []*farEnd{phoneA, phoneB} {
			f.rtcp.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
			m, err := f.rtcp.Read(buf)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			if m >= 8 {
				seen[uint32(buf[4])<<24|uint32(buf[5])<<16|uint32(buf[6])<<8|uint32(buf[7])] = true
			}
		}
	}
	after := settledMemStats()
	runtime.KeepAlive(eps)
	return footprint{
		heap:       float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
		stack:      float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n),
		goroutines: float64(runtime.NumGoroutine()-goroutines) / float64(n),
	}
}

// settledMemStats reads the memory statistics once the collector has
// freed what it can.
func settledMemStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// An endpoint of a relayed call stays small: a few hundred calls' worth
// of endpoints, measured as BenchmarkEndpointFootprint measures them, hold
// under 3 KB of heap each (the endpoint, its sockets, its reader's
// goroutine record; 6.4 KB when each had its own read and write buffers)
// and their readers' stacks stay under 8 KB each (2 KB when the relay
// path fits the stack a goroutine starts with, 4 KB under the race
// detector's larger frames).
func TestEndpointFootprint(t *testing.T) {
	f := measureFootprint(t, 200, 3)
	t.Logf("per endpoint: %.0f B heap, %.0f B stack, %.2f goroutines", f.heap, f.stack, f.goroutines)
	if f.heap > 3<<10 {
		t.Errorf("%.0f B of heap per endpoint, want at most 3 KB", f.heap)
	}
	if f.stack > 8<<10 {
		t.Errorf("%.0f B of stack per endpoint, want at most 8 KB", f.stack)
	}
	if f.goroutines != 1 {
		t.Errorf("%.2f goroutines per endpoint, want its one RTP reader", f.goroutines)
	}
}

// BenchmarkEndpointFootprint reports what each endpoint of 1,000 (500
// relayed calls) costs: heap-B/endpoint, stack-B/endpoint and
// goroutines/endpoint. One iteration is the whole measurement; run it
// with -benchtime 1x.
func BenchmarkEndpointFootprint(b *testing.B) {
	var f footprint
	for b.Loop() {
		f = measureFootprint(b, 1000, 5)
	}
	b.ReportMetric(f.heap, "heap-B/endpoint")
	b.ReportMetric(f.stack, "stack-B/endpoint")
	b.ReportMetric(f.goroutines, "goroutines/endpoint")
}
