package media

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// quietLogger keeps test output readable.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestEngine makes an engine on loopback with ephemeral ports. Reports
// are rare unless cfg asks otherwise, so they stay out of tests that do
// not look for them.
func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	cfg.BindIP = loopback
	if cfg.RTCPEvery == 0 {
		cfg.RTCPEvery = time.Hour
	}
	cfg.Logger = quietLogger()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newTestEndpoint(t testing.TB, e *Engine, c Codec, dtmfPT uint8) *Endpoint {
	t.Helper()
	ep, err := e.NewEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	ep.SetCodec(c, dtmfPT)
	return ep
}

// fakeClock is an injectable clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// farEnd stands for a phone: an RTP socket and its RTCP socket above it.
type farEnd struct {
	t          testing.TB
	conn, rtcp *net.UDPConn
}

func newFarEnd(t testing.TB) *farEnd {
	t.Helper()
	pool := newPortPool(loopback, 0, 0)
	var rtpConn, rtcpConn *net.UDPConn
	for i := 0; rtcpConn == nil; i++ {
		if i == 20 {
			t.Fatal("no free port pair for a far end")
		}
		c, err := pool.acquire()
		if err != nil {
			t.Fatal(err)
		}
		if rtcpConn, err = pool.listen(c.LocalAddr().(*net.UDPAddr).Port + 1); err != nil {
			c.Close()
			continue
		}
		rtpConn = c
	}
	t.Cleanup(func() { rtpConn.Close(); rtcpConn.Close() })
	return &farEnd{t: t, conn: rtpConn, rtcp: rtcpConn}
}

func (f *farEnd) addr() netip.AddrPort { return f.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (f *farEnd) send(to *Endpoint, p rtp.Packet) {
	f.t.Helper()
	b, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.conn.WriteToUDPAddrPort(b, to.LocalAddr()); err != nil {
		f.t.Fatal(err)
	}
}

// recv waits for the next RTP packet.
func (f *farEnd) recv() rtp.Packet {
	f.t.Helper()
	buf := make([]byte, maxDatagram)
	f.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := f.conn.Read(buf)
		if err != nil {
			f.t.Fatalf("no RTP packet at %s: %v", f.addr(), err)
		}
		if isRTCP(buf[:n]) {
			continue
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			f.t.Fatalf("bad RTP packet at %s: %v", f.addr(), err)
		}
		return p
	}
}

// recvRTCP waits for the next compound RTCP packet on the RTCP socket.
func (f *farEnd) recvRTCP() []rtcp.Packet {
	f.t.Helper()
	buf := make([]byte, maxDatagram)
	f.rtcp.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := f.rtcp.Read(buf)
	if err != nil {
		f.t.Fatalf("no RTCP packet: %v", err)
	}
	pkts, err := rtcp.Unmarshal(buf[:n])
	if err != nil {
		f.t.Fatalf("RTCP does not parse: %v", err)
	}
	return pkts
}

func rtpPacket(pt uint8, ssrc uint32, seq uint16, ts uint32, payload []byte) rtp.Packet {
	return rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
}

// bridged makes two bridged endpoints, each facing its own phone.
func bridged(t testing.TB, e *Engine, ca Codec, dtmfA uint8, cb Codec, dtmfB uint8) (a, b *Endpoint, phoneA, phoneB *farEnd) {
	t.Helper()
	a, b = newTestEndpoint(t, e, ca, dtmfA), newTestEndpoint(t, e, cb, dtmfB)
	phoneA, phoneB = newFarEnd(t), newFarEnd(t)
	a.SetRemote(phoneA.addr())
	b.SetRemote(phoneB.addr())
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	return a, b, phoneA, phoneB
}

// toneFrames encodes n 20 ms frames of a tone in codec c.
func toneFrames(c Codec, freq float64, n int) [][]byte {
	gen := NewToneGenerator(freq, 8000)
	pcm := make([]int16, 160)
	var frames [][]byte
	for range n {
		gen.Read(pcm)
		b := make([]byte, 160)
		if c.Name == PCMA.Name {
			EncodeAlaw(b, pcm)
		} else {
			EncodeUlaw(b, pcm)
		}
		frames = append(frames, b)
	}
	return frames
}

func decode(c Codec, payload []byte) []int16 {
	pcm := make([]int16, len(payload))
	if c.Name == PCMA.Name {
		DecodeAlaw(pcm, payload)
	} else {
		DecodeUlaw(pcm, payload)
	}
	return pcm
}
