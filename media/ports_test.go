package media

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// freeRange finds n consecutive free loopback ports starting on an even
// one: the kernel picks the area, so no fixed port is assumed.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		base := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		base += base % 2
		if base+n > 65535 {
			continue
		}
		ok := true
		var held []*net.UDPConn
		for p := base; p < base+n && ok; p++ {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func TestPortPool(t *testing.T) {
	base := freeRange(t, 8)
	e := newTestEngine(t, Config{PortMin: base, PortMax: base + 7})
	var eps []*Endpoint
	for i := range 4 {
		ep, err := e.NewEndpoint()
		if err != nil {
			t.Fatalf("endpoint %d: %v", i, err)
		}
		if got, want := int(ep.LocalAddr().Port()), base+2*i; got != want {
			t.Fatalf("endpoint %d on port %d, want %d", i, got, want)
		}
		eps = append(eps, ep)
	}
	_, err := e.NewEndpoint()
	if !errors.Is(err, ErrNoPorts) || err.Error() != "media: no free RTP ports" {
		t.Fatalf("exhausted pool: got %v", err)
	}
	eps[1].Close()
	ep, err := e.NewEndpoint()
	if err != nil || int(ep.LocalAddr().Port()) != base+2 {
		t.Fatalf("closed pair was not returned: %v", err)
	}
}

func TestPortPoolRotatesAndSkipsTakenPorts(t *testing.T) {
	base := freeRange(t, 8)
	// Another process holds the RTCP port of the second pair.
	squatter, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(base+3))))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	e := newTestEngine(t, Config{PortMin: base, PortMax: base + 7})
	var got []int
	for range 3 {
		ep, err := e.NewEndpoint()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, int(ep.LocalAddr().Port()))
		ep.Close() // freed at once, yet not reused next
	}
	want := []int{base, base + 4, base + 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ports %v, want %v", got, want)
		}
	}
}

func TestEphemeralPortsAreEven(t *testing.T) {
	e := newTestEngine(t, Config{})
	for range 10 {
		ep, err := e.NewEndpoint()
		if err != nil {
			t.Fatal(err)
		}
		if port := int(ep.LocalAddr().Port()); port%2 != 0 {
			t.Fatalf("RTP on odd port %d", port)
		}
		if ep.rtcp.Load() != nil {
			t.Fatal("RTCP socket open before any media")
		}
	}
}

// The RTCP socket opens on the port above RTP once media flows, and not
// before: a leg that carries no RTP holds one socket.
func TestRTCPSocketOpensWithMedia(t *testing.T) {
	e := newTestEngine(t, Config{RTCPEvery: 50 * time.Millisecond})
	ep, err := e.NewEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	phone := newFarEnd(t)
	ep.SetRemote(phone.addr())
	ep.SetCodec(PCMU, 0)
	if err := ep.WritePayload(0, make([]byte, 160), 160, false); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	phone.rtcp.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := phone.rtcp.Read(buf); err != nil {
		t.Fatalf("no RTCP report: %v", err)
	}
	c := ep.rtcp.Load()
	if c == nil || c.LocalAddr().(*net.UDPAddr).Port != int(ep.LocalAddr().Port())+1 {
		t.Fatalf("RTCP socket %v, want port %d", c, ep.LocalAddr().Port()+1)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ephemeral", Config{}, true},
		{"range", Config{PortMin: 10000, PortMax: 20000}, true},
		{"one pair", Config{PortMin: 10000, PortMax: 10001}, true},
		{"odd bounds holding one pair", Config{PortMin: 10001, PortMax: 10003}, true},
		{"no pair", Config{PortMin: 10001, PortMax: 10002}, false},
		{"reversed", Config{PortMin: 20000, PortMax: 10000}, false},
		{"only max", Config{PortMax: 10000}, false},
		{"past 65535", Config{PortMin: 60000, PortMax: 70000}, false},
		{"negative timeout", Config{Timeout: -1}, false},
		{"negative RTCP interval", Config{RTCPEvery: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
	}
	if _, err := NewEngine(Config{PortMin: 5}); err == nil {
		t.Error("NewEngine took an invalid config")
	}
}
