package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// benchBridge is two bridged endpoints; b sends to a sink socket nobody
// reads, so the kernel drops what overflows and writes never block.
func benchBridge(b *testing.B, ca, cb Codec) (*Endpoint, netip.AddrPort) {
	e := newTestEngine(b, Config{})
	x, y := newTestEndpoint(b, e, ca, 101), newTestEndpoint(b, e, cb, 101)
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	x.SetRemote(src)
	y.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	if err := Bridge(x, y); err != nil {
		b.Fatal(err)
	}
	return x, src
}

// benchReceive drives the reader's per-packet function with 20 ms packets
// of one source: parse, latch check, statistics, peer lookup, rewrite of
// SSRC, sequence and timestamp, transcoding when the codecs differ, and
// the socket write on loopback.
func benchReceive(b *testing.B, ca, cb Codec) {
	x, src := benchBridge(b, ca, cb)
	pkt := make([]byte, rtpHeaderLen+160)
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		putHeader(pkt, false, ca.PayloadType, seq, uint32(seq)*160, 0x5eed)
		x.receive(pkt, src)
	}
	if x.peer.Load().Stats().PacketsOut == 0 {
		b.Fatal("nothing was relayed")
	}
}

// BenchmarkRelay is the relay fast path: same codec both sides. It must
// report 0 allocs/op.
func BenchmarkRelay(b *testing.B) { benchReceive(b, PCMU, PCMU) }

// BenchmarkRelayInbandDTMF is the relay with in-band DTMF detection on,
// as for a far end that negotiated no telephone-event.
func BenchmarkRelayInbandDTMF(b *testing.B) {
	x, src := benchBridge(b, PCMU, PCMU)
	x.SetInbandDTMF(true)
	pkt := make([]byte, rtpHeaderLen+160)
	pcm := make([]int16, 160)
	gen := NewToneGenerator(440, 8000)
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		gen.Read(pcm)
		EncodeUlaw(pkt[rtpHeaderLen:], pcm)
		putHeader(pkt, false, 0, seq, uint32(seq)*160, 0x5eed)
		x.receive(pkt, src)
	}
}

// BenchmarkTranscode is the same path with PCMU in and PCMA out.
func BenchmarkTranscode(b *testing.B) { benchReceive(b, PCMU, PCMA) }

// BenchmarkRelayLoopback is a packet's whole trip through the PBX: a phone
// sends it, the endpoint's reader goroutine reads, relays it through the
// other endpoint, and the other phone reads it.
func BenchmarkRelayLoopback(b *testing.B) {
	e := newTestEngine(b, Config{})
	x, y := newTestEndpoint(b, e, PCMU, 0), newTestEndpoint(b, e, PCMU, 0)
	phoneA, phoneB := newFarEnd(b), newFarEnd(b)
	x.SetRemote(phoneA.addr())
	y.SetRemote(phoneB.addr())
	if err := Bridge(x, y); err != nil {
		b.Fatal(err)
	}
	pkt := make([]byte, rtpHeaderLen+160)
	in := make([]byte, maxDatagram)
	dst := x.LocalAddr()
	phoneB.conn.SetReadDeadline(time.Now().Add(time.Minute))
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		putHeader(pkt, false, 0, seq, uint32(seq)*160, 0x5eed)
		if _, err := phoneA.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
		if _, _, err := phoneB.conn.ReadFromUDPAddrPort(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWritePayload is a locally generated packet (a prompt, hold
// music) going out of an endpoint.
func BenchmarkWritePayload(b *testing.B) {
	e := newTestEngine(b, Config{})
	ep := newTestEndpoint(b, e, PCMU, 0)
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	ep.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	payload := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		if err := ep.WritePayload(0, payload, 160, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranscodePayload is the per-packet conversion alone: 160 bytes
// of µ-law to A-law in place.
func BenchmarkTranscodePayload(b *testing.B) {
	p := make([]byte, 160)
	EncodeUlaw(p, mix(160, 8000, 440))
	b.SetBytes(160)
	b.ReportAllocs()
	for b.Loop() {
		transcodeInPlace(p, &ulawToAlaw)
	}
}

func BenchmarkG711Encode(b *testing.B) {
	pcm, law := mix(160, 8000, 440), make([]byte, 160)
	b.Run("ulaw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeUlaw(law, pcm)
		}
	})
	b.Run("alaw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeAlaw(law, pcm)
		}
	})
}

func BenchmarkG711Decode(b *testing.B) {
	pcm, law := make([]int16, 160), make([]byte, 160)
	EncodeUlaw(law, mix(160, 8000, 440))
	b.Run("ulaw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DecodeUlaw(pcm, law)
		}
	})
	b.Run("alaw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DecodeAlaw(pcm, law)
		}
	})
}

func BenchmarkGoertzel(b *testing.B) {
	s := mix(2400, 6000, 440, 1300)
	b.ReportAllocs()
	for b.Loop() {
		Goertzel(s, 440, 8000)
	}
}

// BenchmarkReceiveToHandler is the unbridged path: parse, statistics and
// the handler call with the reused rtp.Header.
func BenchmarkReceiveToHandler(b *testing.B) {
	e := newTestEngine(b, Config{})
	ep := newTestEndpoint(b, e, PCMU, 0)
	var n int
	ep.SetHandler(func(hdr *rtp.Header, payload []byte) { n += len(payload) })
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	pkt := make([]byte, rtpHeaderLen+160)
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		putHeader(pkt, false, 0, seq, uint32(seq)*160, 0x5eed)
		ep.receive(pkt, src)
	}
	if n == 0 {
		b.Fatal("handler never called")
	}
}
