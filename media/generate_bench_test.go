package media

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sinkEndpoints makes n endpoints that send to one socket nobody reads, so
// the kernel drops what overflows and sends never block.
func sinkEndpoints(b *testing.B, e *Engine, n int) []*Endpoint {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	eps := make([]*Endpoint, n)
	for i := range eps {
		eps[i] = newTestEndpoint(b, e, PCMU, 0)
		eps[i].SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return eps
}

// BenchmarkMixer is one 20 ms frame of a mixer: every member's received
// audio taken from its buffer, mixed, mix-minus for each, encoded and
// sent. ns/participant-frame is the cost of one party for one frame.
func BenchmarkMixer(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			e := newTestEngine(b, Config{})
			m := &Mixer{e: e} // driven here, not by the clock
			pcm := toneClip(440, 1)
			var mems []*Member
			for _, ep := range sinkEndpoints(b, e, n) {
				mems = append(mems, m.AddEndpoint(ep))
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, mem := range mems {
					mem.in.write(pcm)
				}
				m.tick(time.Time{})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/participant-frame")
		})
	}
}

// BenchmarkMusic is one frame of a hold-music class with 1,000 listeners:
// one read and one encoding, then a send to each.
func BenchmarkMusic(b *testing.B) {
	e := newTestEngine(b, Config{})
	m := &Music{e: e, src: NewPlayer(true, toneClip(440, 50))}
	for _, ep := range sinkEndpoints(b, e, 1000) {
		m.Listen(ep)
	}
	b.ReportAllocs()
	for b.Loop() {
		for phase := range clockPhases {
			m.tickPhase(time.Time{}, phase)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/listener-frame")
}

// BenchmarkMusicListeners plays one class to 2,000 listeners on the real
// clock for 5 s and measures what the issue targets: the clock goroutine's
// share of a core, and the jitter of each listener's packet spacing
// (arrival gap minus 20 ms) at the 99th percentile. Run it with
// -benchtime=1x.
func BenchmarkMusicListeners(b *testing.B) {
	const listeners, receivers, window = 2000, 5, 5 * time.Second
	for b.Loop() {
		e := newTestEngine(b, Config{})
		m := e.NewMusic("default", toneClip(440, 50))
		var eps []*Endpoint
		var socks []*net.UDPConn
		for range receivers {
			s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			s.SetReadBuffer(4 << 20)
			stampArrivals(b, s)
			socks = append(socks, s)
		}
		for i := range listeners {
			ep := newTestEndpoint(b, e, PCMU, 0)
			ep.SetRemote(socks[i%receivers].LocalAddr().(*net.UDPAddr).AddrPort())
			eps = append(eps, ep)
		}
		// Each receiver records the gaps between packets of each SSRC.
		var mu sync.Mutex
		var gaps []time.Duration
		var received int
		var wg sync.WaitGroup
		for _, s := range socks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				last := map[uint32]time.Time{}
				var local []time.Duration
				buf := make([]byte, maxDatagram)
				oob := make([]byte, 128)
				n := 0
				for {
					k, oobn, _, _, err := s.ReadMsgUDP(buf, oob)
					if err != nil {
						break
					}
					h, err := parseRTP(buf[:k])
					if err != nil {
						continue
					}
					now, ok := kernelTime(oob[:oobn])
					if !ok {
						b.Error("no kernel timestamp")
						break
					}
					if t, ok := last[h.ssrc]; ok {
						local = append(local, now.Sub(t)-FrameDuration)
					}
					last[h.ssrc] = now
					n++
				}
				mu.Lock()
				gaps = append(gaps, local...)
				received += n
				mu.Unlock()
			}()
		}
		before := e.Clock().Stats()
		for _, ep := range eps {
			m.Listen(ep)
		}
		start := time.Now()
		<-time.After(window) // the measurement window itself
		after := e.Clock().Stats()
		elapsed := time.Since(start)
		m.Close()
		for _, s := range socks {
			s.Close()
		}
		wg.Wait()
		for i := range gaps {
			if gaps[i] < 0 {
				gaps[i] = -gaps[i]
			}
		}
		slices.Sort(gaps)
		p99 := gaps[len(gaps)*99/100]
		b.ReportMetric(float64(gaps[len(gaps)/2])/float64(time.Millisecond), "jitter-p50-ms")
		b.ReportMetric(float64(gaps[len(gaps)*9/10])/float64(time.Millisecond), "jitter-p90-ms")
		cores := float64(after.Busy-before.Busy) / float64(elapsed)
		want := float64(listeners) * elapsed.Seconds() * 50
		b.ReportMetric(cores, "cores")
		b.ReportMetric(float64(p99)/float64(time.Millisecond), "jitter-p99-ms")
		b.ReportMetric(float64(received)/want, "delivered")
		b.ReportMetric(float64(after.Skipped-before.Skipped), "skipped-frames")
	}
}

// stampArrivals asks the kernel to time each datagram s receives.
func stampArrivals(b *testing.B, s *net.UDPConn) {
	raw, err := s.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		b.Fatal(err, serr)
	}
}

// kernelTime reads the SO_TIMESTAMPNS control message.
func kernelTime(oob []byte) (time.Time, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.LittleEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.LittleEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}

// BenchmarkSendto is the floor under every generated stream: one 172-byte
// datagram written to a loopback socket nobody reads, with nothing of the
// PBX around it.
func BenchmarkSendto(b *testing.B) {
	e := newTestEngine(b, Config{})
	ep := sinkEndpoints(b, e, 1)[0]
	dst := ep.Remote()
	pkt := make([]byte, rtpHeaderLen+FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		ep.sock.conn.WriteToUDPAddrPort(pkt, dst)
	}
}
