package sip

import (
	"encoding/json"
	"errors"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Ban is a source refused for brute-forcing.
type Ban struct {
	Addr     netip.Addr `json:"addr"`
	Until    time.Time  `json:"until"`
	Failures int        `json:"failures"`
}

const banBucket = "bans"

// Guard bans sources that fail authentication too often: maxFailures
// within window earns a ban of banFor, during which the source gets no
// answer at all.
type Guard struct {
	max    int
	window time.Duration
	banFor time.Duration
	allow  []netip.Prefix
	now    Clock
	kv     KV

	mu       sync.Mutex
	failures map[netip.Addr][]time.Time
	bans     map[netip.Addr]Ban
}

// GuardOption configures a Guard.
type GuardOption func(*Guard)

// WithGuardClock sets the guard's clock.
func WithGuardClock(c Clock) GuardOption { return func(g *Guard) { g.now = c } }

// WithGuardStore persists bans so they survive a restart and `pbx bans` can list them.
func WithGuardStore(kv KV) GuardOption { return func(g *Guard) { g.kv = kv } }

// NewGuard makes a guard; sources in allow are never banned.
func NewGuard(maxFailures int, window, banFor time.Duration, allow []netip.Prefix, opts ...GuardOption) *Guard {
	g := &Guard{max: maxFailures, window: window, banFor: banFor, allow: allow, now: time.Now,
		failures: map[netip.Addr][]time.Time{}, bans: map[netip.Addr]Ban{}}
	for _, o := range opts {
		o(g)
	}
	if g.kv != nil {
		if bans, err := ListBans(g.kv); err == nil {
			for _, b := range bans {
				if b.Until.After(g.now()) {
					g.bans[b.Addr] = b
				}
			}
		}
	}
	return g
}

func (g *Guard) allowed(a netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Fail counts one failed authentication from addr.
func (g *Guard) Fail(addr netip.Addr) {
	addr = addr.Unmap()
	if g.allowed(addr) {
		return
	}
	g.mu.Lock()
	now := g.now()
	recent := g.failures[addr][:0]
	for _, t := range g.failures[addr] {
		if now.Sub(t) < g.window {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	g.failures[addr] = recent
	var ban *Ban
	if len(recent) >= g.max {
		b := Ban{Addr: addr, Until: now.Add(g.banFor), Failures: len(recent)}
		g.bans[addr] = b
		delete(g.failures, addr)
		ban = &b
	}
	g.mu.Unlock()
	if ban != nil && g.kv != nil {
		v, _ := json.Marshal(ban)
		g.kv.Put(banBucket, addr.String(), v)
	}
}

// Banned reports whether addr is banned now.
func (g *Guard) Banned(addr netip.Addr) bool {
	addr = addr.Unmap()
	g.mu.Lock()
	b, ok := g.bans[addr]
	if ok && !g.now().Before(b.Until) {
		delete(g.bans, addr)
		ok = false
		if g.kv != nil {
			defer g.kv.Delete(banBucket, addr.String())
		}
	}
	g.mu.Unlock()
	return ok
}

// Bans lists the bans in force, by address.
func (g *Guard) Bans() []Ban {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	out := make([]Ban, 0, len(g.bans))
	for _, b := range g.bans {
		if now.Before(b.Until) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// Unban lifts a ban.
func (g *Guard) Unban(addr netip.Addr) {
	g.mu.Lock()
	delete(g.bans, addr.Unmap())
	g.mu.Unlock()
	if g.kv != nil {
		g.kv.Delete(banBucket, addr.Unmap().String())
	}
}

var errBanned = errors.New("sip: source banned")

// ReadFilter drops every packet from a banned source before parsing, so
// the source gets no answer. A UDP datagram is dropped silently (an error
// would stop sipgo's shared UDP reader); a stream connection is closed.
func (g *Guard) ReadFilter() sipmsg.TransportReadFilter {
	return func(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
		if info.RemoteAddr == nil {
			return data, nil
		}
		ap, err := netip.ParseAddrPort(info.RemoteAddr.String())
		if err != nil || !g.Banned(ap.Addr()) {
			return data, nil
		}
		if strings.EqualFold(info.Transport, "udp") {
			return nil, nil
		}
		return nil, errBanned
	}
}

// ListBans reads the bans persisted in a store.
func ListBans(kv KV) ([]Ban, error) {
	var out []Ban
	err := kv.ForEach(banBucket, func(_ string, v []byte) error {
		var b Ban
		if json.Unmarshal(v, &b) == nil {
			out = append(out, b)
		}
		return nil
	})
	return out, err
}
