package media

import (
	"net"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
)

// benchPair is two bridged endpoints; what a receives goes out of b to a
// sink socket nobody reads (the kernel drops what overflows).
func benchPair(b *testing.B, codecA, codecB Codec) (*Endpoint, netip.AddrPort) {
	e, err := NewEngine(Config{BindIP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	a, _ := e.NewEndpoint()
	c, _ := e.NewEndpoint()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	a.SetRemote(src)
	c.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	a.SetCodec(codecA, 101)
	c.SetCodec(codecB, 101)
	Bridge(a, c)
	return a, src
}

func benchRelay(b *testing.B, codecA, codecB Codec) {
	a, src := benchPair(b, codecA, codecB)
	pkt := make([]byte, 172)
	var hdr rtp.Header
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: codecA.PayloadType, SSRC: 1234}, Payload: make([]byte, 160)}
	b.ReportAllocs()
	b.SetBytes(172)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p.SequenceNumber = uint16(i)
		p.Timestamp = uint32(i) * 160
		n, _ := p.MarshalTo(pkt)
		a.receive(pkt[:n], src, &hdr)
	}
}

// BenchmarkRelay is the per-packet fast path: parse, count, rewrite
// sequence/timestamp/SSRC and send, codecs alike. It must not allocate.
func BenchmarkRelay(b *testing.B) { benchRelay(b, PCMU, PCMU) }

// BenchmarkRelayTranscode is the same path with PCMU to PCMA.
func BenchmarkRelayTranscode(b *testing.B) { benchRelay(b, PCMU, PCMA) }

func BenchmarkG711Decode(b *testing.B) {
	src, dst := make([]byte, 160), make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		DecodeUlaw(dst, src)
	}
}

func BenchmarkG711Encode(b *testing.B) {
	src, dst := make([]int16, 160), make([]byte, 160)
	NewToneGenerator(440, 8000).Read(src)
	b.ReportAllocs()
	for b.Loop() {
		EncodeAlaw(dst, src)
	}
}
