package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// farEnd is a plain UDP socket standing for a phone.
type farEnd struct {
	t    *testing.T
	conn *net.UDPConn
}

func newFarEnd(t *testing.T) *farEnd {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &farEnd{t, c}
}

func (f *farEnd) addr() netip.AddrPort { return f.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (f *farEnd) send(to netip.AddrPort, p rtp.Packet) {
	b, _ := p.Marshal()
	if _, err := f.conn.WriteToUDPAddrPort(b, to); err != nil {
		f.t.Fatal(err)
	}
}

func (f *farEnd) recv() rtp.Packet {
	f.t.Helper()
	buf := make([]byte, 1500)
	f.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := f.conn.Read(buf)
	if err != nil {
		f.t.Fatalf("no packet: %v", err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func newTestEngine(t *testing.T) *Engine {
	e, err := NewEngine(Config{BindIP: netip.MustParseAddr("127.0.0.1"), RTCPEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func pkt(pt uint8, ssrc uint32, seq uint16, ts uint32, payload []byte) rtp.Packet {
	return rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
}

// The relay keeps the outgoing SSRC fixed and sequence and timestamps
// continuous, even when the source's SSRC and numbering jump.
func TestRelayRewritesContinuously(t *testing.T) {
	e := newTestEngine(t)
	a, _ := e.NewEndpoint()
	b, _ := e.NewEndpoint()
	phoneA, phoneB := newFarEnd(t), newFarEnd(t)
	a.SetRemote(phoneA.addr())
	b.SetRemote(phoneB.addr())
	a.SetCodec(PCMU, 101)
	b.SetCodec(PCMU, 101)
	Bridge(a, b)

	payload := make([]byte, 160)
	phoneA.send(a.LocalAddr(), pkt(0, 111, 1000, 5000, payload))
	first := phoneB.recv()
	phoneA.send(a.LocalAddr(), pkt(0, 111, 1001, 5160, payload))
	second := phoneB.recv()
	if second.SSRC != first.SSRC || second.SequenceNumber != first.SequenceNumber+1 || second.Timestamp != first.Timestamp+160 {
		t.Fatalf("not continuous: %+v then %+v", first.Header, second.Header)
	}
	// A new source (another SSRC, far-off numbers) continues the stream.
	phoneA.send(a.LocalAddr(), pkt(0, 999, 7, 123456, payload))
	third := phoneB.recv()
	if third.SSRC != first.SSRC || third.SequenceNumber != second.SequenceNumber+1 {
		t.Fatalf("switch broke the stream: %+v then %+v", second.Header, third.Header)
	}
	if d := third.Timestamp - second.Timestamp; d < 160 || d > 8000 {
		t.Fatalf("timestamp jumped by %d across the switch", d)
	}
	if !third.Marker {
		t.Error("no marker on the first packet of the new source")
	}
	// Locally written packets join the same stream.
	if err := b.WritePayload(0, payload, 160, false); err != nil {
		t.Fatal(err)
	}
	fourth := phoneB.recv()
	if fourth.SSRC != first.SSRC || fourth.SequenceNumber != third.SequenceNumber+1 {
		t.Fatalf("local write broke the stream: %+v then %+v", third.Header, fourth.Header)
	}
}

// PCMU in, PCMA out: a 440 Hz tone survives the transcoding; and a
// telephone-event crosses with its payload type mapped.
func TestRelayTranscodesAndMapsEvents(t *testing.T) {
	e := newTestEngine(t)
	a, _ := e.NewEndpoint()
	b, _ := e.NewEndpoint()
	phoneA, phoneB := newFarEnd(t), newFarEnd(t)
	a.SetRemote(phoneA.addr())
	b.SetRemote(phoneB.addr())
	a.SetCodec(PCMU, 101)
	b.SetCodec(PCMA, 96)
	Bridge(a, b)

	pcm := make([]int16, 160)
	NewToneGenerator(440, 8000).Read(pcm)
	ulaw := make([]byte, 160)
	EncodeUlaw(ulaw, pcm)
	phoneA.send(a.LocalAddr(), pkt(0, 1, 1, 160, ulaw))
	got := phoneB.recv()
	if got.PayloadType != 8 {
		t.Fatalf("payload type %d, want 8", got.PayloadType)
	}
	out := make([]int16, len(got.Payload))
	DecodeAlaw(out, got.Payload)
	if tones := DetectTones(out, []float64{440, 800, 1300}); !tones[440] || tones[800] || tones[1300] {
		t.Fatalf("tones after transcoding: %v", tones)
	}
	phoneA.send(a.LocalAddr(), pkt(101, 1, 2, 320, []byte{5, 0x80, 0, 160}))
	if ev := phoneB.recv(); ev.PayloadType != 96 || ev.Payload[0] != 5 {
		t.Fatalf("event: pt %d payload %v", ev.PayloadType, ev.Payload)
	}
}

// Symmetric RTP: the endpoint answers where packets come from, not where
// the SDP said.
func TestEndpointLatchesOntoSource(t *testing.T) {
	e := newTestEngine(t)
	a, _ := e.NewEndpoint()
	b, _ := e.NewEndpoint()
	natted, other := newFarEnd(t), newFarEnd(t)
	a.SetRemote(netip.MustParseAddrPort("127.0.0.1:9")) // what the SDP claimed
	b.SetRemote(other.addr())
	a.SetCodec(PCMU, 0)
	b.SetCodec(PCMU, 0)
	Bridge(a, b)
	natted.send(a.LocalAddr(), pkt(0, 1, 1, 160, make([]byte, 160)))
	other.recv()
	if a.Remote() != natted.addr() {
		t.Fatalf("remote %s, want the source %s", a.Remote(), natted.addr())
	}
	other.send(b.LocalAddr(), pkt(0, 2, 1, 160, make([]byte, 160)))
	natted.recv()
}

// The inactivity timeout fires once when packets stop, and not when off.
func TestEndpointTimeout(t *testing.T) {
	e := newTestEngine(t)
	a, _ := e.NewEndpoint()
	fired := make(chan struct{}, 2)
	a.SetTimeout(300*time.Millisecond, func() { fired <- struct{}{} })
	select {
	case <-fired:
	case <-time.After(2 * time.Second):
		t.Fatal("timeout never fired")
	}
	a.SetTimeout(0, nil)
	select {
	case <-fired:
		t.Fatal("fired twice, or while disabled")
	case <-time.After(600 * time.Millisecond):
	}
}

// Loss is counted from sequence gaps, and RTCP reports reach the far end
// on the port above RTP.
func TestEndpointLossAndRTCP(t *testing.T) {
	e := newTestEngine(t)
	a, _ := e.NewEndpoint()
	// A phone with its RTCP socket on the port above its RTP port.
	var phone *farEnd
	var rtcpSock *net.UDPConn
	for i := 0; rtcpSock == nil; i++ {
		if i == 20 {
			t.Fatal("no free port pair for the test phone")
		}
		phone = newFarEnd(t)
		rtcpSock, _ = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(phone.addr().Addr(), phone.addr().Port()+1)))
	}
	defer rtcpSock.Close()
	a.SetRemote(phone.addr())
	a.SetCodec(PCMU, 0)
	got := make(chan int, 1)
	a.SetHandler(func(h *rtp.Header, p []byte) {})
	for _, seq := range []uint16{1, 2, 3, 6, 7} { // 4 and 5 lost
		phone.send(a.LocalAddr(), pkt(0, 42, seq, uint32(seq)*160, make([]byte, 160)))
	}
	go func() {
		buf := make([]byte, 1500)
		rtcpSock.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := rtcpSock.Read(buf)
		if err != nil {
			got <- -1
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil || len(pkts) == 0 {
			got <- -2
			return
		}
		if rr, ok := pkts[0].(*rtcp.ReceiverReport); ok && len(rr.Reports) == 1 {
			got <- int(rr.Reports[0].TotalLost)
			return
		}
		got <- -3
	}()
	if lost := <-got; lost != 2 {
		t.Fatalf("RTCP report: lost %d, want 2", lost)
	}
	if s := a.Stats(); s.Lost != 2 || s.PacketsIn != 5 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestDetectTones(t *testing.T) {
	mix := make([]int16, 2400)
	for _, f := range []float64{440, 1300} {
		tone := make([]int16, len(mix))
		NewToneGenerator(f, 6000).Read(tone)
		for i := range mix {
			mix[i] += tone[i]
		}
	}
	got := DetectTones(mix, []float64{440, 800, 1300})
	if !got[440] || got[800] || !got[1300] {
		t.Fatalf("mix of 440 and 1300: %v", got)
	}
	if got := DetectTones(make([]int16, 2400), []float64{440}); got[440] {
		t.Fatal("tone found in silence")
	}
}
