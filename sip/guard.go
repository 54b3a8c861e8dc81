package sip

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Ban is a source refused for failing authentication too often.
type Ban struct {
	Addr     netip.Addr `json:"addr"`
	Until    time.Time  `json:"until"`
	Failures int        `json:"failures"`
}

// BanStore persists bans; it is the store's KV shape (bucket "bans", key
// the address, value the Ban as JSON).
type BanStore = KV

const guardBucket = "bans"

// guardMaxTracked bounds how many sources with failures (and no ban) are
// remembered, so a spray of sources cannot grow the table without end.
const guardMaxTracked = 65536

// guardMaxBans bounds the bans held in memory, for the same reason: a
// source that collects a ban past it pushes out expired bans first, then
// arbitrary ones (their persisted copies stay in the store until they
// expire).
const guardMaxBans = 65536

// GuardOption configures a Guard.
type GuardOption func(*Guard)

// WithGuardClock makes the Guard read time from c instead of time.Now.
func WithGuardClock(c Clock) GuardOption {
	return func(g *Guard) {
		if c != nil {
			g.now = c
		}
	}
}

// WithGuardStore persists bans in kv, so they survive a restart and
// `pbx bans` can list them (ListBans).
func WithGuardStore(kv BanStore) GuardOption {
	return func(g *Guard) { g.kv = kv }
}

// WithGuardLogger sets the logger that reports bans. Its lines are
// limited (LogLimiter): a spray of sources must not become a spray of lines.
func WithGuardLogger(log *slog.Logger) GuardOption {
	return func(g *Guard) {
		if log != nil {
			g.log = log
		}
	}
}

// Guard bans sources that fail authentication too often: maxFailures
// failures within window earn a ban of banFor, during which every packet
// from the source is dropped before parsing (ReadFilter), so it gets no
// answer at all. Sources in the allow list are never counted nor banned.
type Guard struct {
	max    int
	window time.Duration
	banFor time.Duration
	allow  []netip.Prefix
	now    Clock
	kv     KV
	log    *slog.Logger

	mu       sync.RWMutex
	failures map[netip.Addr][]time.Time // recent failures of sources not banned
	bans     map[netip.Addr]Ban

	storeMu sync.Mutex // orders writes to kv

	total atomic.Uint64 // every failure reported, allow-listed sources included
}

// Failures is the number of failed authentications reported so far, from
// REGISTER and INVITE alike, for metrics.
func (g *Guard) Failures() uint64 { return g.total.Load() }

// NewGuard makes a guard. maxFailures < 1 is taken as 1; a window or
// banFor <= 0 defaults to one minute and one hour. Bans persisted in the
// store given by WithGuardStore are loaded, expired ones dropped.
func NewGuard(maxFailures int, window, banFor time.Duration, allow []netip.Prefix, opts ...GuardOption) *Guard {
	if maxFailures < 1 {
		maxFailures = 1
	}
	if window <= 0 {
		window = time.Minute
	}
	if banFor <= 0 {
		banFor = time.Hour
	}
	g := &Guard{
		max: maxFailures, window: window, banFor: banFor,
		allow: append([]netip.Prefix(nil), allow...),
		now:   time.Now, log: slog.Default(),
		failures: make(map[netip.Addr][]time.Time),
		bans:     make(map[netip.Addr]Ban),
	}
	for _, o := range opts {
		o(g)
	}
	g.log = NewLogLimiter(0, 0).Logger(g.log)
	g.load()
	return g
}

func (g *Guard) load() {
	if g.kv == nil {
		return
	}
	bans, err := ListBans(g.kv)
	if err != nil {
		g.log.Error("guard: load bans", "error", err)
		return
	}
	now := g.now()
	for _, b := range bans {
		switch {
		case !b.Until.After(now) || g.allowed(b.Addr):
			g.storeSync(b.Addr)
		case len(g.bans) < guardMaxBans:
			g.bans[b.Addr] = b
		}
	}
}

func (g *Guard) allowed(a netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Fail counts one failed authentication from addr; the maxFailures-th
// within window bans it.
func (g *Guard) Fail(addr netip.Addr) {
	g.total.Add(1)
	if !addr.IsValid() {
		return
	}
	addr = addr.Unmap()
	if g.allowed(addr) {
		return
	}
	now := g.now()
	g.mu.Lock()
	if b, ok := g.bans[addr]; ok && now.Before(b.Until) {
		b.Failures++
		g.bans[addr] = b
		g.mu.Unlock()
		return
	}
	recent := guardRecent(g.failures[addr], now, g.window)
	recent = append(recent, now)
	if len(recent) < g.max {
		if _, tracked := g.failures[addr]; !tracked && len(g.failures) >= guardMaxTracked {
			g.forgetLocked(now)
		}
		g.failures[addr] = recent
		g.mu.Unlock()
		return
	}
	delete(g.failures, addr)
	ban := Ban{Addr: addr, Until: now.Add(g.banFor), Failures: len(recent)}
	forgot := 0
	if len(g.bans) >= guardMaxBans {
		forgot = g.forgetBansLocked(now)
	}
	g.bans[addr] = ban
	g.mu.Unlock()

	if forgot > 0 {
		g.log.Warn("guard: ban table full, bans forgotten", "forgotten", forgot, "max", guardMaxBans)
	}
	g.log.Warn("guard: source banned", "addr", addr.String(), "failures", ban.Failures, "until", ban.Until)
	g.storeSync(addr)
}

// forgetLocked makes room in the failure table: first sources whose
// failures are all outside the window, then arbitrary ones.
func (g *Guard) forgetLocked(now time.Time) {
	for a, ts := range g.failures {
		if len(guardRecent(ts, now, g.window)) == 0 {
			delete(g.failures, a)
		}
	}
	for a := range g.failures {
		if len(g.failures) < guardMaxTracked*3/4 {
			break
		}
		delete(g.failures, a)
	}
}

// forgetBansLocked makes room in the ban table: first expired bans, then
// arbitrary ones down to three quarters of the cap. It returns how many
// bans in force it dropped.
func (g *Guard) forgetBansLocked(now time.Time) int {
	for a, b := range g.bans {
		if !now.Before(b.Until) {
			delete(g.bans, a)
		}
	}
	n := 0
	for a := range g.bans {
		if len(g.bans) < guardMaxBans*3/4 {
			break
		}
		delete(g.bans, a)
		n++
	}
	return n
}

// guardRecent keeps the failures within window, reusing ts.
func guardRecent(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < window {
			out = append(out, t)
		}
	}
	return out
}

// Banned reports whether addr is banned now. An expired ban is lifted.
func (g *Guard) Banned(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	g.mu.RLock()
	b, ok := g.bans[addr]
	g.mu.RUnlock()
	if !ok {
		return false
	}
	if g.now().Before(b.Until) {
		return true
	}
	g.mu.Lock()
	cur, still := g.bans[addr]
	expired := still && !g.now().Before(cur.Until)
	if expired {
		delete(g.bans, addr)
	}
	g.mu.Unlock()
	if expired {
		g.log.Info("guard: ban expired", "addr", addr.String())
		g.storeSync(addr)
	}
	return still && !expired
}

// Bans lists the bans in force, by address.
func (g *Guard) Bans() []Ban {
	now := g.now()
	g.mu.RLock()
	out := make([]Ban, 0, len(g.bans))
	for _, b := range g.bans {
		if now.Before(b.Until) {
			out = append(out, b)
		}
	}
	g.mu.RUnlock()
	guardSortBans(out)
	return out
}

// Unban lifts the ban on addr and forgets its failures.
func (g *Guard) Unban(addr netip.Addr) {
	if !addr.IsValid() {
		return
	}
	addr = addr.Unmap()
	g.mu.Lock()
	delete(g.bans, addr)
	delete(g.failures, addr)
	g.mu.Unlock()
	g.log.Info("guard: source unbanned", "addr", addr.String())
	g.storeSync(addr)
}

var errGuardBanned = errors.New("sip: source banned")

// ReadFilter is for sipgo's WithTransportLayerReadFilter: it drops every
// packet from a banned source before parsing, so the source gets no answer.
// A UDP datagram is dropped silently (returning an error would stop sipgo's
// UDP reader, shared by every peer); a TCP, TLS or WebSocket connection
// gets an error, which makes sipgo close it.
func (g *Guard) ReadFilter() sipmsg.TransportReadFilter {
	return func(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
		addr, ok := guardRemoteAddr(info.RemoteAddr)
		if !ok || !g.Banned(addr) {
			return data, nil
		}
		if strings.EqualFold(info.Transport, "UDP") {
			return nil, nil
		}
		return nil, errGuardBanned
	}
}

func guardRemoteAddr(a net.Addr) (netip.Addr, bool) {
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, ok := netip.AddrFromSlice(v.IP)
		return ip.Unmap(), ok
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(v.IP)
		return ip.Unmap(), ok
	case nil:
		return netip.Addr{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// storeSync writes the current ban of addr to the store, or deletes it
// when there is none. Writes are serialised and each writes the state at
// the time it runs, so the store ends with the latest state even when a
// ban and an unban race.
func (g *Guard) storeSync(addr netip.Addr) {
	if g.kv == nil {
		return
	}
	g.storeMu.Lock()
	defer g.storeMu.Unlock()
	g.mu.RLock()
	b, banned := g.bans[addr]
	g.mu.RUnlock()
	var err error
	if banned {
		var v []byte
		if v, err = json.Marshal(b); err == nil {
			err = g.kv.Put(guardBucket, addr.String(), v)
		}
	} else {
		err = g.kv.Delete(guardBucket, addr.String())
	}
	if err != nil {
		g.log.Error("guard: persist ban", "addr", addr.String(), "error", err)
	}
}

// ListBans reads the bans persisted in a store, by address, including
// those whose Until has passed (the guard drops them when it next starts).
// Unreadable entries are skipped.
func ListBans(kv KV) ([]Ban, error) {
	var out []Ban
	err := kv.ForEach(guardBucket, func(_ string, v []byte) error {
		var b Ban
		if json.Unmarshal(v, &b) == nil && b.Addr.IsValid() {
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	guardSortBans(out)
	return out, nil
}

func guardSortBans(bs []Ban) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].Addr.Less(bs[j].Addr) })
}
