package node

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// After a burst of calls the Go runtime keeps the heap it grew: the next
// collection is due only when the heap has grown again by GOGC percent
// (or after two minutes), and until then the scavenger hands pages back
// to the kernel slowly. A PBX that served thousands of calls then sits at
// its peak RSS long after the last one ended. The reclaimer watches the
// number of calls and, once a busy period has given way to a quiet one,
// returns the freed memory at once.
//
// It does so twice in a quiet spell: a few seconds in, for the bulk of
// what the calls held, and again once the SIP transactions of the last
// calls have expired. A transaction outlives its call by up to 64×T1
// (32 s: Timer J of a BYE, Timer L and M of an INVITE) to absorb
// retransmissions; its request and response are live until then, and
// on an idle PBX no collection comes for up to two minutes after.

// Defaults of the reclaim policy.
const (
	// reclaimMinPeak is the peak, in calls in progress, that makes a
	// period busy. Below it the heap the calls left is a few megabytes,
	// not worth a forced collection.
	reclaimMinPeak = 200
	// reclaimQuietDiv: the PBX is quiet when its calls are at most
	// 1/reclaimQuietDiv of the busy period's peak.
	reclaimQuietDiv = 10
	// reclaimFirst is how long it must stay quiet before the first
	// release, so a short lull between two bursts costs no collection.
	reclaimFirst = 5 * time.Second
	// reclaimLast is when the last release comes: past the 32 s that SIP
	// transactions outlive their calls, with a margin.
	reclaimLast = 40 * time.Second
	// reclaimPoll is how often the node samples the calls in progress.
	reclaimPoll = time.Second
)

// reclaimPolicy decides, from samples of the calls in progress, when
// freed memory should go back to the operating system: after a busy
// period (a peak of at least MinPeak calls), once the calls have stayed
// at or below 1/QuietDiv of that peak for each of the durations in
// Settle. After the last of them the episode is over: a new period
// starts from the calls left, so staying quiet releases nothing more,
// and only a new busy period re-arms it. A quiet spell broken before the
// last release starts over. It keeps no clock of its own; the caller
// passes each sample's time.
type reclaimPolicy struct {
	MinPeak  int             // calls that make a period busy
	QuietDiv int             // quiet is calls <= peak / QuietDiv
	Settle   []time.Duration // quiet time before each release, ascending

	peak       int       // highest calls in progress in this period
	quietSince time.Time // when the current quiet spell began; zero if not quiet
	released   int       // releases done in this quiet spell
}

// newReclaimPolicy is the policy with the package defaults.
func newReclaimPolicy() *reclaimPolicy {
	return &reclaimPolicy{MinPeak: reclaimMinPeak, QuietDiv: reclaimQuietDiv,
		Settle: []time.Duration{reclaimFirst, reclaimLast}}
}

// observe takes one sample, active calls at now, and reports whether to
// return memory now, with the peak of the busy period it is for. A
// sample that finds several durations passed at once (after a gap in
// the polls) releases once.
func (p *reclaimPolicy) observe(now time.Time, active int) (release bool, peak int) {
	p.peak = max(p.peak, active)
	if p.peak < p.MinPeak || active*p.QuietDiv > p.peak {
		p.quietSince, p.released = time.Time{}, 0
		return false, 0
	}
	if p.quietSince.IsZero() {
		p.quietSince = now
	}
	quiet, due := now.Sub(p.quietSince), p.released
	for due < len(p.Settle) && quiet >= p.Settle[due] {
		due++
	}
	if due == p.released {
		return false, 0
	}
	p.released, peak = due, p.peak
	if due == len(p.Settle) {
		p.peak, p.quietSince, p.released = active, time.Time{}, 0
	}
	return true, peak
}

// reclaimer runs a reclaimPolicy on samples of the engine's calls and
// frees memory when it says so. Its parts are swappable so a test drives
// it with its own ticks and sees each release.
type reclaimer struct {
	policy *reclaimPolicy
	active func() int // calls in progress
	free   func()     // returns freed memory to the OS (debug.FreeOSMemory)
	log    *slog.Logger
}

// run samples the calls on each tick until ctx ends or ticks closes.
// The node runs it under its wait group.
func (r *reclaimer) run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case now, ok := <-ticks:
			if !ok {
				return
			}
			active := r.active()
			release, peak := r.policy.observe(now, active)
			if !release {
				continue
			}
			before := heldFromOS()
			start := time.Now()
			r.free()
			took, after := time.Since(start), heldFromOS()
			r.log.Info("calls quiet after a busy period: returned freed memory to the operating system",
				"peak_calls", peak, "calls", active, "held_mb_before", before>>20, "held_mb_after", after>>20,
				"took", took.Round(time.Millisecond))
		}
	}
}

// reclaimMemory runs the node's reclaimer over its engine, sampling the
// calls each second, until ctx ends. A forced collection with every
// free page released takes 50–75 ms on a 250 MB heap, paid only when the
// calls have gone quiet; the relay path allocates nothing, so calls
// still up do not wait on it.
func (s *Node) reclaimMemory(ctx context.Context) {
	t := time.NewTicker(reclaimPoll)
	defer t.Stop()
	r := &reclaimer{policy: newReclaimPolicy(), active: s.engine.ActiveCalls, free: debug.FreeOSMemory, log: s.log}
	r.run(ctx, t.C)
}

// heldFromOS is the memory the Go runtime holds from the operating
// system (heap, stacks, its own structures), less the heap pages it has
// released: roughly the process's resident anonymous memory.
func heldFromOS() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	total, released := s[0].Value.Uint64(), s[1].Value.Uint64()
	if released > total {
		return 0
	}
	return total - released
}
