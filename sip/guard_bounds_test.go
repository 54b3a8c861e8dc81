package sip

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// guardTestAddr is the n-th address of 10.0.0.0/8.
func guardTestAddr(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
}

// A spray of sources, each earning a ban, cannot grow the ban table
// without end: past the cap, expired bans go first, then arbitrary ones,
// and the newest ban is always kept. The lines it causes are limited.
func TestGuardBanTableBounded(t *testing.T) {
	sink := newLogSink("")
	clock := newLocTestClock()
	g := NewGuard(1, time.Minute, time.Hour, nil, WithGuardClock(clock.Now), WithGuardLogger(textLogger(sink, slog.LevelInfo)))

	for i := range guardMaxBans {
		g.Fail(guardTestAddr(i))
	}
	if n := len(g.Bans()); n != guardMaxBans {
		t.Fatalf("%d bans, want %d", n, guardMaxBans)
	}
	// Full, all in force: room is made by forgetting a quarter.
	last := guardTestAddr(guardMaxBans)
	g.Fail(last)
	if n := len(g.Bans()); n > guardMaxBans*3/4+1 || n < guardMaxBans/2 {
		t.Fatalf("%d bans after the table filled, want about %d", n, guardMaxBans*3/4)
	}
	if !g.Banned(last) {
		t.Fatal("the newest ban was not kept")
	}

	// Once they have expired, old bans are the first to go.
	clock.Advance(2 * time.Hour)
	g.mu.Lock()
	for i := len(g.bans); i < guardMaxBans; i++ {
		g.bans[guardTestAddr(1<<20+i)] = Ban{Addr: guardTestAddr(1<<20 + i), Until: clock.Now().Add(-time.Second)}
	}
	g.mu.Unlock()
	fresh := guardTestAddr(2 << 20)
	g.Fail(fresh)
	if n := len(g.Bans()); n != 1 || !g.Banned(fresh) {
		t.Fatalf("%d bans in force after expired ones were swept, want only the new one", n)
	}

	if lines := len(sink.all()); lines > 3*DefaultLogBurst {
		t.Fatalf("%d log lines for %d bans", lines, guardMaxBans+2)
	}
}
