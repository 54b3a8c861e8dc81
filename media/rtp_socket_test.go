package media

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The raw reads and writes speak every kind of socket an engine binds:
// IPv4, IPv6, and the dual-stack socket of an engine bound to ::, which
// reaches IPv4 phones through IPv4-mapped addresses. Phone A, with no address from SDP, is found by latching onto
// the source of its first packet; each phone hears the other through the
// relay.
func TestRelayOverEachAddressFamily(t *testing.T) {
	v4, v6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	tests := []struct {
		name           string
		bind           netip.Addr
		phoneA, phoneB netip.Addr
	}{
		{"IPv4", v4, v4, v4},
		{"IPv6", v6, v6, v6},
		{"dual stack, IPv4 phone and IPv6 phone", netip.IPv6Unspecified(), v4, v6},
		{"dual stack, IPv6 phone and IPv4 phone", netip.IPv6Unspecified(), v6, v4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(Config{BindIP: tt.bind, RTCPEvery: time.Hour, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			a, b := newTestEndpoint(t, e, PCMU, 0), newTestEndpoint(t, e, PCMU, 0)
			phoneA, phoneB := udpPhone(t, tt.phoneA), udpPhone(t, tt.phoneB)
			b.SetRemote(phoneB.LocalAddr().(*net.UDPAddr).AddrPort())
			if err := Bridge(a, b); err != nil {
				t.Fatal(err)
			}
			toA := netip.AddrPortFrom(tt.phoneA, a.LocalAddr().Port())
			toB := netip.AddrPortFrom(tt.phoneB, b.LocalAddr().Port())

			hello, reply := bytes.Repeat([]byte{0x21}, 160), bytes.Repeat([]byte{0x42}, 160)
			sendRTP(t, phoneA, toA, rtpPacket(0, 1, 1, 160, hello))
			if got, from := recvRTP(t, phoneB); !bytes.Equal(got, hello) || from != toB {
				t.Fatalf("phone B got % x... from %s, want what A said from %s", got[:2], from, toB)
			}
			if got, want := a.Remote(), phoneA.LocalAddr().(*net.UDPAddr).AddrPort(); got != want {
				t.Fatalf("a latched onto %s, want phone A at %s", got, want)
			}
			sendRTP(t, phoneB, toB, rtpPacket(0, 2, 1, 160, reply))
			if got, from := recvRTP(t, phoneA); !bytes.Equal(got, reply) || from != toA {
				t.Fatalf("phone A got % x... from %s, want what B said from %s", got[:2], from, toA)
			}
		})
	}
}

// udpPhone is a phone's RTP socket on addr, at a port the kernel picks.
func udpPhone(t *testing.T, addr netip.Addr) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sendRTP(t *testing.T, c *net.UDPConn, to netip.AddrPort, p rtp.Packet) {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// recvRTP waits for an RTP packet on c and returns its payload and source.
func recvRTP(t *testing.T, c *net.UDPConn) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, maxDatagram)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no RTP packet at %s: %v", c.LocalAddr(), err)
	}
	h, err := parseRTP(buf[:n])
	if err != nil {
		t.Fatalf("bad RTP packet at %s: %v", c.LocalAddr(), err)
	}
	return buf[h.off:h.end], unmap(from)
}
