package media

import (
	"net/netip"
	"testing"

	"github.com/pion/rtp"
)

// FuzzRTPInput feeds arbitrary datagrams to the receive path of a bridged
// endpoint: header parsing, statistics, rewriting, transcoding. Nothing
// may panic, and what parses must stay within the packet.
func FuzzRTPInput(f *testing.F) {
	f.Add([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 1, 0xff, 0xff})
	f.Add([]byte{0x80, 0x65, 0x00, 0x02, 0, 0, 1, 64, 0, 0, 0, 1, 5, 0x80, 0, 160})
	f.Add([]byte{0x80, 0x00})
	f.Add([]byte{0x92, 0x08, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 0xd5})
	f.Add([]byte{0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x02})
	e, err := NewEngine(Config{BindIP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	a, _ := e.NewEndpoint()
	b, _ := e.NewEndpoint()
	a.SetCodec(PCMU, 101)
	b.SetCodec(PCMA, 96)
	b.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"))
	Bridge(a, b)
	src := netip.MustParseAddrPort("127.0.0.1:7")
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, ok := parseHeader(data); ok && (h.off > h.end || h.end > len(data)) {
			t.Fatalf("payload bounds %d..%d outside %d bytes", h.off, h.end, len(data))
		}
		var hdr rtp.Header
		a.receive(data, src, &hdr)
	})
}

// FuzzRTCPInput feeds arbitrary datagrams to the RTCP reader.
func FuzzRTCPInput(f *testing.F) {
	f.Add([]byte{0x81, 0xc9, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x80, 0xc8, 0x00, 0x06, 0, 0, 0, 1})
	f.Add([]byte{0x81, 0xcb, 0x00, 0x01, 0, 0, 0, 1})
	f.Add([]byte{})
	e, err := NewEngine(Config{BindIP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	a, _ := e.NewEndpoint()
	f.Fuzz(func(t *testing.T, data []byte) {
		a.handleRTCP(data)
	})
}
