package sip

import (
	"net"
	"net/netip"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestGuardBansAfterFailuresInWindow(t *testing.T) {
	clock := newLocTestClock()
	g := NewGuard(3, time.Minute, 10*time.Minute, nil, WithGuardClock(clock.Now))
	a := netip.MustParseAddr("192.0.2.7")

	g.Fail(a)
	clock.Advance(50 * time.Second)
	g.Fail(a)
	clock.Advance(20 * time.Second) // the first failure leaves the window
	g.Fail(a)
	if g.Banned(a) {
		t.Fatal("banned for failures spread over more than the window")
	}
	g.Fail(a)
	if !g.Banned(a) {
		t.Fatal("not banned after 3 failures within the window")
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Addr != a || bans[0].Failures != 3 || !bans[0].Until.Equal(clock.Now().Add(10*time.Minute)) {
		t.Fatalf("bans: %+v", bans)
	}
	if g.Banned(netip.MustParseAddr("192.0.2.8")) {
		t.Fatal("a neighbour is banned too")
	}
	// IPv4-mapped IPv6 is the same source.
	if !g.Banned(netip.MustParseAddr("::ffff:192.0.2.7")) {
		t.Fatal("mapped address not banned")
	}

	clock.Advance(10 * time.Minute)
	if g.Banned(a) || len(g.Bans()) != 0 {
		t.Fatal("ban did not expire")
	}
	// After the ban the count starts again.
	g.Fail(a)
	if g.Banned(a) {
		t.Fatal("banned again on the first failure after expiry")
	}
}

func TestGuardAllowListNeverBanned(t *testing.T) {
	g := NewGuard(1, time.Minute, time.Hour, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")})
	for _, s := range []string{"10.1.2.3", "2001:db8::1", "::ffff:10.9.9.9"} {
		a := netip.MustParseAddr(s)
		for range 5 {
			g.Fail(a)
		}
		if g.Banned(a) {
			t.Errorf("%s is allow-listed but banned", s)
		}
	}
	g.Fail(netip.MustParseAddr("192.0.2.1"))
	if !g.Banned(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("maxFailures=1 did not ban on the first failure")
	}
}

func TestGuardPersistsBans(t *testing.T) {
	clock := newLocTestClock()
	kv := newLocTestKV()
	g := NewGuard(2, time.Minute, time.Hour, nil, WithGuardClock(clock.Now), WithGuardStore(kv))
	a, b := netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("2001:db8::20")
	for range 2 {
		g.Fail(a)
		g.Fail(b)
	}
	listed, err := ListBans(kv)
	if err != nil || len(listed) != 2 || listed[0].Addr != a || listed[1].Addr != b {
		t.Fatalf("ListBans: %+v %v", listed, err)
	}

	// A new guard on the same store (a restart) keeps the bans.
	g2 := NewGuard(2, time.Minute, time.Hour, nil, WithGuardClock(clock.Now), WithGuardStore(kv))
	if !g2.Banned(a) || !g2.Banned(b) {
		t.Fatal("bans lost on restart")
	}
	g2.Unban(a)
	if g2.Banned(a) {
		t.Fatal("unban did not lift the ban")
	}
	if listed, _ := ListBans(kv); len(listed) != 1 || listed[0].Addr != b {
		t.Fatalf("after unban the store lists %+v", listed)
	}

	// Expired bans are dropped from the store when noticed, or at start.
	clock.Advance(2 * time.Hour)
	g3 := NewGuard(2, time.Minute, time.Hour, nil, WithGuardClock(clock.Now), WithGuardStore(kv))
	if g3.Banned(b) || len(g3.Bans()) != 0 {
		t.Fatal("expired ban loaded")
	}
	if listed, _ := ListBans(kv); len(listed) != 0 {
		t.Fatalf("expired ban left in the store: %+v", listed)
	}
}

func TestGuardReadFilter(t *testing.T) {
	g := NewGuard(1, time.Minute, time.Hour, nil)
	g.Fail(netip.MustParseAddr("192.0.2.30"))
	filter := g.ReadFilter()
	data := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")
	local := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}

	out, err := filter(sipmsg.TransportReadProps{Transport: "UDP", LocalAddr: local, RemoteAddr: &net.UDPAddr{IP: net.ParseIP("192.0.2.30"), Port: 5060}}, data)
	if err != nil || len(out) != 0 {
		t.Fatalf("banned UDP datagram: %q %v (must be dropped without error: an error stops sipgo's UDP reader)", out, err)
	}
	out, err = filter(sipmsg.TransportReadProps{Transport: "TCP", LocalAddr: local, RemoteAddr: &net.TCPAddr{IP: net.ParseIP("192.0.2.30"), Port: 40000}}, data)
	if err == nil || len(out) != 0 {
		t.Fatalf("banned TCP read: %q %v (must close the connection)", out, err)
	}
	out, err = filter(sipmsg.TransportReadProps{Transport: "UDP", LocalAddr: local, RemoteAddr: &net.UDPAddr{IP: net.ParseIP("192.0.2.31"), Port: 5060}}, data)
	if err != nil || string(out) != string(data) {
		t.Fatalf("other source: %q %v", out, err)
	}
	out, err = filter(sipmsg.TransportReadProps{Transport: "WS", LocalAddr: local}, data)
	if err != nil || string(out) != string(data) {
		t.Fatalf("unknown source: %q %v", out, err)
	}
}

func TestGuardTableIsBounded(t *testing.T) {
	g := NewGuard(5, time.Minute, time.Hour, nil)
	base := netip.MustParseAddr("2001:db8::").As16()
	for i := range guardMaxTracked + 100 {
		a := base
		a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		g.Fail(netip.AddrFrom16(a))
	}
	g.mu.RLock()
	n := len(g.failures)
	g.mu.RUnlock()
	if n > guardMaxTracked {
		t.Fatalf("%d sources tracked, bound is %d", n, guardMaxTracked)
	}
}
