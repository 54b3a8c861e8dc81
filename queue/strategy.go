package queue

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
	"unsafe"
)

// candidate is an eligible, free agent as a strategy sees it for one
// queue. The Center builds the list (agents free now, admitted by the caller's
// limits); a strategy only orders it.
type candidate struct {
	ID        string
	Penalty   int
	Order     int           // place in the queue's member list (config order; members added at runtime go last)
	LastCall  time.Time     // end of this agent's last call FROM THIS QUEUE (leastrecent); zero = never
	IdleSince time.Time     // since when the agent is free, across all queues (longest-idle-agent); zero = longest
	Calls     int           // calls completed from this queue (fewestcalls)
	Answered  int           // calls answered across queues (agent-with-fewest-calls)
	TalkTime  time.Duration // across queues (agent-with-least-talk-time)
}

// ringMode says how many of the ordered candidates ring at once.
type ringMode int

const (
	// ringOne offers the caller to the first candidate only; after a no
	// answer (and the queue's Retry) the order is asked for again.
	ringOne ringMode = iota
	// ringAll rings every candidate of the lowest penalty present (the
	// leading run of equal Penalty in the order) at once.
	ringAll
	// ringProgressive rings the first candidate, then adds the next one
	// every Queue.Progressively while the earlier ones keep ringing.
	ringProgressive
)

// String names the mode for logs.
func (m ringMode) String() string {
	switch m {
	case ringOne:
		return "one"
	case ringAll:
		return "all"
	case ringProgressive:
		return "progressive"
	}
	return fmt.Sprintf("ringMode(%d)", int(m))
}

// strategy orders the free agents of one queue for one caller. There is
// one instance per queue: the round-robin strategies keep the queue's
// position in it. Its methods are safe for concurrent use by different
// callers; one callerTrack (and one rnd) must not be used concurrently.
type strategy interface {
	mode() ringMode
	// order returns cands in the order to offer them to one caller (cands
	// is not modified). t is that caller's own memory (linear and top-down
	// continue after the agent last tried for this caller); t may be nil,
	// as for a caller never offered. The result lives in t's buffer: it
	// stays valid until the next order call with the same t (with t nil it
	// is freshly allocated). rnd nil uses the global source.
	order(cands []candidate, t *callerTrack, rnd *rand.Rand) []candidate
	// offered records that agent id (at place order in the member list)
	// was offered to the caller: the round-robin position of the queue, and
	// the caller's own position in t (nil: none kept).
	offered(id string, order int, t *callerTrack)
}

// callerTrack is one waiting caller's memory of the strategy: the agent
// last offered (linear, top-down) and the buffers order reuses, so that a
// dispatch allocates nothing once a caller's buffers have grown. The zero
// value is ready; the Center keeps one per waiting caller (and per queue, after
// a requeue, a fresh one).
type callerTrack struct {
	tried     bool // an agent has been offered to this caller
	lastOrder int  // Order of the agent last offered
	// lastPenalty is that agent's penalty, when it was in the caller's
	// last order; top-down continues after it within that tier only.
	lastPenalty  int
	penaltyKnown bool

	keys []rankKey
	out  []candidate
}

// rankKey is one candidate's sort key: lower sorts first. Comparing
// head (tier, then wrap), then k, then (rrmemory) the agent id, then tail
// (member order, then place in cands) gives a total, deterministic
// order. It is kept small and free of pointers: sorting moves it.
type rankKey struct {
	head int64 // penalty<<1 | wrap: the tier (0 for all under wrandom), then round-robin wrap-around after the others
	k    int64 // the strategy's metric within a tier
	tail int64 // Order<<32 | index in cands
}

// idx is the candidate's index in cands.
func (r *rankKey) idx() int { return int(int32(r.tail)) }

// key builds a rankKey; tier and order are clamped to keep the packing.
func key(tier int, wrap bool, k int64, order, idx int) rankKey {
	h := int64(min(max(tier, -1<<60), 1<<60)) << 1
	if wrap {
		h |= 1
	}
	return rankKey{head: h, k: k, tail: int64(min(max(order, 0), 1<<31-1))<<32 | int64(idx)}
}

// kind is one of the strategies, by how it computes its metric.
type kind int

const (
	kRingAll kind = iota
	kLeastRecent
	kFewestCalls
	kRandom
	kRRMemory
	kRROrdered
	kLinear
	kWRandom
	kLongestIdle
	kLeastTalk
	kFewestAnswered
	kTopDown
	kProgressive
)

var kinds = map[string]kind{
	"ringall":                    kRingAll,
	"leastrecent":                kLeastRecent,
	"fewestcalls":                kFewestCalls,
	"random":                     kRandom,
	"rrmemory":                   kRRMemory,
	"rrordered":                  kRROrdered,
	"linear":                     kLinear,
	"wrandom":                    kWRandom,
	"longest-idle-agent":         kLongestIdle,
	"agent-with-least-talk-time": kLeastTalk,
	"agent-with-fewest-calls":    kFewestAnswered,
	"top-down":                   kTopDown,
	"ring-progressively":         kProgressive,
}

// newStrategy returns a fresh instance of the named strategy (one of
// config.Strategies) for one queue.
//
// Every strategy but wrandom offers the lowest penalty first, then:
//
//   - ringall, ring-progressively: member order (all of the lowest tier
//     ring at once, or one more every Queue.Progressively).
//   - leastrecent: the agent whose last call from this queue ended
//     longest ago; never = first.
//   - fewestcalls: fewest calls completed from this queue.
//   - random: uniformly at random.
//   - rrmemory: round robin in agent-id order (numeric ids in numeric
//     order; the analogue of Asterisk's hashed member list, independent
//     of how members were added), continuing after the agent last offered
//     to any caller of the queue.
//   - rrordered: the same round robin, in member order.
//   - linear: member order, continuing for each caller after the agent
//     last offered to that caller, in every tier (Asterisk's per-caller
//     linpos); a new caller starts at the top.
//   - top-down: member order from the top, continuing after the agent last
//     tried for this caller within that agent's tier only (FreeSWITCH's
//     level and position); other tiers start at their top.
//   - longest-idle-agent: free longest, across queues.
//   - agent-with-least-talk-time: least talk time, across queues.
//   - agent-with-fewest-calls: fewest calls answered, across queues.
//   - wrandom: no tiers; each agent draws at random in [0, 1+penalty)
//     and the lowest draw goes first, so a higher penalty is a handicap
//     (Asterisk's ast_random() % ((1+penalty)*1000)).
//
// Ties go to member order (then place in cands), so orders are
// deterministic.
func newStrategy(name string) (strategy, error) {
	k, ok := kinds[name]
	if !ok {
		return nil, fmt.Errorf("queue: unknown strategy %q", name)
	}
	return &strat{k: k}, nil
}

// strat implements every strategy; k selects the metric.
type strat struct {
	k kind

	mu     sync.Mutex // guards the round-robin memory below
	rrSet  bool
	rrID   string // rrmemory: id of the agent last offered
	rrOrdr int    // rrordered: Order of the agent last offered
}

func (s *strat) mode() ringMode {
	switch s.k {
	case kRingAll:
		return ringAll
	case kProgressive:
		return ringProgressive
	}
	return ringOne
}

// wrandomShift scales wrandom's draw: (1+penalty)<<wrandomShift values,
// so ties are negligible; maxWPenalty keeps it within an int64.
const (
	wrandomShift = 40
	maxWPenalty  = 1<<22 - 1
)

func (s *strat) order(cands []candidate, t *callerTrack, rnd *rand.Rand) []candidate {
	if t == nil {
		t = new(callerTrack)
	}
	keys := t.keys[:0]
	if cap(keys) < len(cands) {
		keys = make([]rankKey, 0, len(cands))
	}

	// Round-robin memory is read once, under the lock.
	var rrSet bool
	var rrID string
	var rrOrdr int
	if s.k == kRRMemory || s.k == kRROrdered {
		s.mu.Lock()
		rrSet, rrID, rrOrdr = s.rrSet, s.rrID, s.rrOrdr
		s.mu.Unlock()
	}

	byID := s.k == kRRMemory
	for i := range cands {
		c := &cands[i]
		tier, wrap, k := c.Penalty, false, int64(0)
		switch s.k {
		case kLeastRecent:
			k = timeKey(c.LastCall)
		case kFewestCalls:
			k = int64(c.Calls)
		case kRandom:
			k = randInt64(rnd)
		case kRRMemory:
			wrap = rrSet && compareID(c.ID, rrID) <= 0
		case kRROrdered:
			wrap = rrSet && c.Order <= rrOrdr
		case kLinear:
			wrap = t.tried && c.Order <= t.lastOrder
		case kTopDown:
			wrap = t.tried && (!t.penaltyKnown || c.Penalty == t.lastPenalty) && c.Order <= t.lastOrder
		case kWRandom:
			p := min(max(c.Penalty, 0), maxWPenalty)
			tier, k = 0, randInt64N(rnd, int64(1+p)<<wrandomShift)
		case kLongestIdle:
			k = timeKey(c.IdleSince)
		case kLeastTalk:
			k = int64(c.TalkTime)
		case kFewestAnswered:
			k = int64(c.Answered)
		}
		keys = append(keys, key(tier, wrap, k, c.Order, i))
	}
	if byID {
		sortKeys(keys, cands)
	} else {
		sortKeys(keys, nil)
	}
	t.keys = keys

	out := t.out[:0]
	if cap(out) < len(cands) || overlaps(out[:cap(out)], cands) {
		out = make([]candidate, 0, len(cands))
	}
	for _, k := range keys {
		out = append(out, cands[k.idx()])
	}
	t.out = out
	return out
}

func (s *strat) offered(id string, order int, t *callerTrack) {
	switch s.k {
	case kRRMemory:
		s.mu.Lock()
		s.rrSet, s.rrID = true, id
		s.mu.Unlock()
	case kRROrdered:
		s.mu.Lock()
		s.rrSet, s.rrOrdr = true, order
		s.mu.Unlock()
	}
	if t == nil {
		return
	}
	t.tried, t.lastOrder, t.penaltyKnown = true, order, false
	for i := range t.out {
		if t.out[i].ID == id {
			t.lastPenalty, t.penaltyKnown = t.out[i].Penalty, true
			break
		}
	}
}

// overlaps says whether a and b share memory, as when a caller's last
// order is passed back in as cands: writing a would then change b.
func overlaps(a, b []candidate) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	size := unsafe.Sizeof(a[0])
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+uintptr(len(b))*size && b0 < a0+uintptr(len(a))*size
}

// timeKey turns a time into an ascending key; the zero time (never)
// sorts before every real time.
func timeKey(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

func randInt64(rnd *rand.Rand) int64 {
	if rnd == nil {
		return rand.Int64()
	}
	return rnd.Int64()
}

func randInt64N(rnd *rand.Rand, n int64) int64 {
	if rnd == nil {
		return rand.Int64N(n)
	}
	return rnd.Int64N(n)
}

// compareID orders agent ids numerically when they are digits (a shorter
// id first, then bytewise), which is also a total order on any strings.
func compareID(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortKeys sorts keys; with byID set (rrmemory), equal heads and
// metrics go by the agent id of byID[idx]. Short lists, the common case,
// go through an insertion sort whose comparison inlines.
func sortKeys(keys []rankKey, byID []candidate) {
	if len(keys) > 12 {
		slices.SortFunc(keys, func(a, b rankKey) int { return compareKeys(&a, &b, byID) })
		return
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && compareKeys(&keys[j], &keys[j-1], byID) < 0; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// compareKeys compares head, metric, the agent id (byID set), then tail.
func compareKeys(a, b *rankKey, byID []candidate) int {
	switch {
	case a.head != b.head:
		return cmp.Compare(a.head, b.head)
	case a.k != b.k:
		return cmp.Compare(a.k, b.k)
	}
	if byID != nil {
		if c := compareID(byID[a.idx()].ID, byID[b.idx()].ID); c != 0 {
			return c
		}
	}
	return cmp.Compare(a.tail, b.tail)
}
