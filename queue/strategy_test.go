package queue

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pbx/config"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// ids is the agent ids of cs, in order.
func ids(cs []candidate) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.ID
	}
	return strings.Join(s, " ")
}

// members builds candidates in member order from "id:penalty" pairs.
func members(spec ...string) []candidate {
	cs := make([]candidate, len(spec))
	for i, s := range spec {
		id, pen, _ := strings.Cut(s, ":")
		p := 0
		for _, r := range pen {
			p = p*10 + int(r-'0')
		}
		cs[i] = candidate{ID: id, Penalty: p, Order: i}
	}
	return cs
}

func mustStrategy(t testing.TB, name string) strategy {
	t.Helper()
	s, err := newStrategy(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewStrategyNames(t *testing.T) {
	modes := map[string]ringMode{"ringall": ringAll, "ring-progressively": ringProgressive}
	for _, name := range config.Strategies {
		s := mustStrategy(t, name)
		if got, want := s.mode(), modes[name]; got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	if len(kinds) != len(config.Strategies) {
		t.Errorf("%d strategies implemented, config has %d", len(kinds), len(config.Strategies))
	}
	for _, bad := range []string{"", "round-robin", "RingAll", "ring-all"} {
		if _, err := newStrategy(bad); err == nil {
			t.Errorf("newStrategy(%q): no error", bad)
		}
	}
}

// TestOrderDeterministic checks one caller's order under each strategy
// whose order does not depend on chance or memory.
func TestOrderDeterministic(t *testing.T) {
	withTimes := func(field string, cs []candidate, vals ...int) []candidate {
		for i, v := range vals {
			switch field {
			case "last":
				if v >= 0 {
					cs[i].LastCall = t0.Add(time.Duration(v) * time.Minute)
				}
			case "idle":
				if v >= 0 {
					cs[i].IdleSince = t0.Add(time.Duration(v) * time.Minute)
				}
			case "calls":
				cs[i].Calls = v
			case "answered":
				cs[i].Answered = v
			case "talk":
				cs[i].TalkTime = time.Duration(v) * time.Minute
			}
		}
		return cs
	}
	tests := []struct {
		name, strategy string
		cands          []candidate
		want           string
	}{
		{"ringall member order", "ringall", members("a", "b", "c"), "a b c"},
		{"ringall lowest tier first", "ringall", members("a:1", "b:0", "c:2", "d:0"), "b d a c"},
		{"progressively tiers then order", "ring-progressively", members("a:1", "b:0", "c:0"), "b c a"},
		{"leastrecent oldest first", "leastrecent", withTimes("last", members("a", "b", "c"), 30, 10, 20), "b c a"},
		{"leastrecent never first", "leastrecent", withTimes("last", members("a", "b", "c"), 30, -1, 20), "b c a"},
		{"leastrecent ties by order", "leastrecent", withTimes("last", members("a", "b", "c"), -1, 5, -1), "a c b"},
		{"leastrecent tier beats age", "leastrecent", withTimes("last", members("a:0", "b:1", "c:0"), 30, 1, 20), "c a b"},
		{"fewestcalls", "fewestcalls", withTimes("calls", members("a", "b", "c", "d"), 5, 2, 9, 2), "b d a c"},
		{"fewestcalls tiers", "fewestcalls", withTimes("calls", members("a:1", "b:0", "c:0"), 0, 7, 3), "c b a"},
		{"longest idle", "longest-idle-agent", withTimes("idle", members("a", "b", "c"), 15, 5, 10), "b c a"},
		{"longest idle unknown first", "longest-idle-agent", withTimes("idle", members("a", "b", "c"), 15, 5, -1), "c b a"},
		{"longest idle tiers", "longest-idle-agent", withTimes("idle", members("a:2", "b:1", "c:1"), 0, 50, 10), "c b a"},
		{"least talk", "agent-with-least-talk-time", withTimes("talk", members("a", "b", "c"), 40, 10, 10), "b c a"},
		{"least talk tiers", "agent-with-least-talk-time", withTimes("talk", members("a:0", "b:1", "c:0"), 40, 0, 50), "a c b"},
		{"fewest answered", "agent-with-fewest-calls", withTimes("answered", members("a", "b", "c"), 3, 1, 2), "b c a"},
		{"fewest answered ignores queue calls", "agent-with-fewest-calls",
			withTimes("calls", withTimes("answered", members("a", "b"), 3, 1), 0, 9), "b a"},
		{"linear fresh caller", "linear", members("c:0", "a:1", "b:0"), "c b a"},
		{"top-down fresh caller", "top-down", members("c:0", "a:1", "b:0"), "c b a"},
		{"rrordered fresh queue", "rrordered", members("c", "a", "b"), "c a b"},
		{"rrmemory fresh queue by id", "rrmemory", members("9003", "10", "9001"), "10 9001 9003"},
		{"empty", "ringall", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStrategy(t, tc.strategy)
			before := slices.Clone(tc.cands)
			var tr callerTrack
			got := s.order(tc.cands, &tr, nil)
			if ids(got) != tc.want {
				t.Errorf("order = %q, want %q", ids(got), tc.want)
			}
			if !slices.Equal(tc.cands, before) {
				t.Errorf("cands modified: %v", tc.cands)
			}
			if got2 := s.order(tc.cands, nil, nil); ids(got2) != tc.want {
				t.Errorf("order with nil track = %q, want %q", ids(got2), tc.want)
			}
		})
	}
}

// step is one dispatch in a round-robin scenario: a caller (by number)
// is ordered among the agents free then, and offered to the first.
type step struct {
	caller int
	free   []string // ids free now, nil: all
	want   string   // the agent offered
}

func runSteps(t *testing.T, strategyName string, all []candidate, steps []step) {
	t.Helper()
	s := mustStrategy(t, strategyName)
	tracks := map[int]*callerTrack{}
	var got, want []string
	for _, st := range steps {
		tr := tracks[st.caller]
		if tr == nil {
			tr = new(callerTrack)
			tracks[st.caller] = tr
		}
		cands := all
		if st.free != nil {
			cands = nil
			for _, c := range all {
				if slices.Contains(st.free, c.ID) {
					cands = append(cands, c)
				}
			}
		}
		ord := s.order(cands, tr, nil)
		first := ""
		if len(ord) > 0 {
			first = ord[0].ID
			s.offered(ord[0].ID, ord[0].Order, tr)
		}
		got = append(got, first)
		want = append(want, st.want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("offers = %v\n          want %v", got, want)
	}
}

// TestRoundRobin runs sequences of callers through the strategies with
// memory: per queue (rrmemory, rrordered) and per caller (linear,
// top-down).
func TestRoundRobin(t *testing.T) {
	// Member order differs from id order, so rrmemory and rrordered part.
	four := members("9003", "9001", "10", "9002")
	tests := []struct {
		name, strategy string
		all            []candidate
		steps          []step
	}{
		{"rrmemory rotates by id across callers", "rrmemory", four, []step{
			{1, nil, "10"}, {2, nil, "9001"}, {3, nil, "9002"}, {4, nil, "9003"}, {5, nil, "10"}, {6, nil, "9001"},
		}},
		{"rrordered rotates in member order across callers", "rrordered", four, []step{
			{1, nil, "9003"}, {2, nil, "9001"}, {3, nil, "10"}, {4, nil, "9002"}, {5, nil, "9003"}, {6, nil, "9001"},
		}},
		{"rrordered no answer moves on for the same caller", "rrordered", four, []step{
			{1, nil, "9003"}, {1, nil, "9001"}, {2, nil, "10"}, {1, nil, "9002"},
		}},
		{"rrordered skips a busy agent and keeps its turn", "rrordered", members("a", "b", "c", "d"), []step{
			{1, nil, "a"}, {2, []string{"a", "c", "d"}, "c"}, {3, nil, "d"}, {4, nil, "a"}, {5, nil, "b"},
		}},
		{"rrordered remembers an agent gone from the list", "rrordered", members("a", "b", "c", "d"), []step{
			{1, nil, "a"}, {2, nil, "b"}, {3, []string{"a", "c", "d"}, "c"}, {4, []string{"a", "d"}, "d"}, {5, []string{"a", "b"}, "a"},
		}},
		{"rrmemory lowest tier first", "rrmemory", members("1:0", "2:1", "3:0", "4:1"), []step{
			{1, nil, "1"}, {2, nil, "3"}, {3, nil, "1"}, {4, []string{"2", "4"}, "2"}, {5, []string{"2", "4"}, "4"}, {6, nil, "1"},
		}},
		{"rrordered lowest tier first", "rrordered", members("a:1", "b:0", "c:0", "d:1"), []step{
			// One position for all tiers (as Asterisk's rrpos): after b (member 1), d is next and a wraps.
			{1, nil, "b"}, {2, nil, "c"}, {3, nil, "b"}, {4, []string{"a", "d"}, "d"}, {5, []string{"a", "b", "d"}, "b"},
			{6, []string{"a", "d"}, "d"}, {7, []string{"a", "d"}, "a"},
		}},
		{"linear each caller from the top, continuing after its last", "linear", members("a", "b", "c"), []step{
			{1, nil, "a"}, {1, nil, "b"}, {2, nil, "a"}, {1, nil, "c"}, {1, nil, "a"}, {2, nil, "b"}, {3, nil, "a"},
		}},
		{"linear skips busy agents for the caller", "linear", members("a", "b", "c", "d"), []step{
			{1, nil, "a"}, {1, []string{"a", "c", "d"}, "c"}, {1, []string{"a", "b"}, "a"}, {1, nil, "b"},
		}},
		{"linear position holds in every tier", "linear", members("a:0", "b:1", "c:0", "d:1"), []step{
			// a and c busy: b (tier 1) is tried; when all are free the
			// caller continues after position 1 in tier 0 too.
			{1, []string{"b", "d"}, "b"}, {1, nil, "c"}, {1, nil, "a"}, {1, []string{"b", "d"}, "b"},
		}},
		{"top-down each caller from the top, continuing after its last", "top-down", members("a", "b", "c"), []step{
			{1, nil, "a"}, {1, nil, "b"}, {2, nil, "a"}, {1, nil, "c"}, {1, nil, "a"}, {2, nil, "b"}, {3, nil, "a"},
		}},
		{"top-down position holds in its own tier only", "top-down", members("a:0", "b:1", "c:0", "d:1"), []step{
			// b (tier 1) tried; tier 0 starts at its top again.
			{1, []string{"b", "d"}, "b"}, {1, nil, "a"}, {1, nil, "c"}, {1, []string{"b", "d"}, "b"}, {1, []string{"b", "d"}, "d"},
		}},
		{"ringall keeps no memory", "ringall", members("a", "b"), []step{
			{1, nil, "a"}, {1, nil, "a"}, {2, nil, "a"},
		}},
		{"leastrecent keeps no memory", "leastrecent", members("a", "b"), []step{
			{1, nil, "a"}, {1, nil, "a"}, {2, nil, "a"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, tc.strategy, tc.all, tc.steps) })
	}
}

// TestOrderFull checks whole orders, not only the first, after memory.
func TestOrderFull(t *testing.T) {
	all := members("a:0", "b:1", "c:0", "d:1", "e:0")
	tests := []struct {
		strategy string
		offered  string // offered to the caller (and the queue) before
		want     string
	}{
		{"rrordered", "c", "e a c d b"},
		{"rrmemory", "c", "e a c d b"},
		{"linear", "c", "e a c d b"},
		{"top-down", "c", "e a c b d"},
		{"top-down", "b", "a c e d b"},
		{"linear", "b", "c e a d b"},
		{"rrordered", "d", "e a c b d"},
	}
	for _, tc := range tests {
		t.Run(tc.strategy+" after "+tc.offered, func(t *testing.T) {
			s := mustStrategy(t, tc.strategy)
			var tr callerTrack
			s.order(all, &tr, nil)
			i := slices.IndexFunc(all, func(c candidate) bool { return c.ID == tc.offered })
			s.offered(all[i].ID, all[i].Order, &tr)
			if got := ids(s.order(all, &tr, nil)); got != tc.want {
				t.Errorf("order = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOrderOwnResult passes a caller's last order back in (whole and in
// part): the buffer it lives in must not be overwritten while read.
func TestOrderOwnResult(t *testing.T) {
	s := mustStrategy(t, "rrordered")
	var tr callerTrack
	ord := s.order(members("a", "b", "c", "d"), &tr, nil)
	if got, want := ids(ord), "a b c d"; got != want {
		t.Fatalf("order = %q, want %q", got, want)
	}
	s.offered("a", 0, &tr)
	ord = s.order(ord, &tr, nil)
	if got, want := ids(ord), "b c d a"; got != want {
		t.Errorf("order of its own result = %q, want %q", got, want)
	}
	s.offered("b", 1, &tr)
	if got, want := ids(s.order(ord[1:], &tr, nil)), "c d a"; got != want {
		t.Errorf("order of part of its own result = %q, want %q", got, want)
	}
}

// TestConcurrentCallers runs callers of one queue on their own
// goroutines (own track, own rand), as the race detector sees them.
func TestConcurrentCallers(t *testing.T) {
	cands := members("a", "b:1", "c", "d:1", "e")
	for _, name := range config.Strategies {
		s := mustStrategy(t, name)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				var tr callerTrack
				rnd := rand.New(rand.NewPCG(uint64(g), 1))
				for range 200 {
					ord := s.order(cands, &tr, rnd)
					if len(ord) != len(cands) {
						t.Errorf("%s: %d candidates", name, len(ord))
						return
					}
					s.offered(ord[0].ID, ord[0].Order, &tr)
				}
			})
		}
		wg.Wait()
	}
}

// TestOfferedWithoutOrder covers a track whose last order did not hold
// the agent offered (as after a Dequeue to a named agent): top-down then
// keeps the position in every tier.
func TestOfferedWithoutOrder(t *testing.T) {
	s := mustStrategy(t, "top-down")
	var tr callerTrack
	s.offered("x", 1, &tr)
	all := members("a:0", "b:1", "c:0", "d:1")
	if got, want := ids(s.order(all, &tr, nil)), "c a d b"; got != want {
		t.Errorf("order = %q, want %q", got, want)
	}
	s.offered("y", 0, nil) // no track: nothing kept, no panic
}

// firstCounts draws n orders of cands and counts who comes first, and
// checks every order keeps each candidate exactly once.
func firstCounts(t *testing.T, name string, cands []candidate, n int, seed uint64) map[string]int {
	t.Helper()
	s := mustStrategy(t, name)
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var tr callerTrack
	counts := map[string]int{}
	for range n {
		ord := s.order(cands, &tr, rnd)
		if len(ord) != len(cands) {
			t.Fatalf("order has %d, want %d", len(ord), len(cands))
		}
		counts[ord[0].ID]++
	}
	return counts
}

// chiSquare is Pearson's statistic of counts against probabilities.
func chiSquare(counts map[string]int, probs map[string]float64, n int) float64 {
	x := 0.0
	for id, p := range probs {
		e := p * float64(n)
		d := float64(counts[id]) - e
		x += d * d / e
	}
	return x
}

func TestRandomUniform(t *testing.T) {
	const n = 20000
	cands := members("a", "b", "c", "d")
	probs := map[string]float64{"a": .25, "b": .25, "c": .25, "d": .25}
	for _, seed := range []uint64{1, 2, 3} {
		counts := firstCounts(t, "random", cands, n, seed)
		for id, p := range probs {
			if got := float64(counts[id]) / n; math.Abs(got-p) > 0.015 {
				t.Errorf("seed %d: %s first %.3f, want %.3f +- 0.015", seed, id, got, p)
			}
		}
		// 3 degrees of freedom: 16.27 is the 0.1% critical value.
		if x := chiSquare(counts, probs, n); x > 16.27 {
			t.Errorf("seed %d: chi-square %.2f > 16.27 (%v)", seed, x, counts)
		}
	}
}

func TestRandomKeepsTiers(t *testing.T) {
	s := mustStrategy(t, "random")
	rnd := rand.New(rand.NewPCG(7, 7))
	cands := members("a:1", "b:0", "c:1", "d:0", "e:2")
	var tr callerTrack
	third := map[string]int{}
	for range 4000 {
		ord := s.order(cands, &tr, rnd)
		for i := 1; i < len(ord); i++ {
			if ord[i].Penalty < ord[i-1].Penalty {
				t.Fatalf("order %q breaks tiers", ids(ord))
			}
		}
		third[ord[2].ID]++
	}
	// Within tier 1, a and c share third place evenly.
	if a, c := third["a"], third["c"]; a < 1800 || c < 1800 || a+c != 4000 {
		t.Errorf("third place: a %d, c %d", a, c)
	}
}

// wrandomFirst is the probability that the agent at index i draws the
// lowest of independent uniforms on [0, w_j): the integral over [0,
// min w) of (1/w_i) * prod_{j != i} (1 - x/w_j), by Simpson's rule.
func wrandomFirst(w []float64, i int) float64 {
	lo := slices.Min(w)
	f := func(x float64) float64 {
		v := 1 / w[i]
		for j, wj := range w {
			if j != i {
				v *= 1 - x/wj
			}
		}
		return v
	}
	const steps = 1000
	h := lo / steps
	sum := f(0) + f(lo)
	for k := 1; k < steps; k++ {
		if k%2 == 1 {
			sum += 4 * f(float64(k)*h)
		} else {
			sum += 2 * f(float64(k)*h)
		}
	}
	return sum * h / 3
}

// TestWRandomWeights checks wrandom against Asterisk's metric: each agent
// draws in [0, (1+penalty)) and the lowest goes first, so weights 1, 2
// and 4 (penalties 0, 1, 3) come first 2/3, 11/48 and 5/48 of the time.
func TestWRandomWeights(t *testing.T) {
	const n = 20000
	cands := members("a:0", "b:1", "c:3")
	w := []float64{1, 2, 4}
	probs := map[string]float64{}
	total := 0.0
	for i, c := range cands {
		probs[c.ID] = wrandomFirst(w, i)
		total += probs[c.ID]
	}
	if math.Abs(total-1) > 1e-9 || math.Abs(probs["a"]-2.0/3) > 1e-9 || math.Abs(probs["c"]-5.0/48) > 1e-9 {
		t.Fatalf("theory: %v (sum %v)", probs, total)
	}
	for _, seed := range []uint64{11, 12, 13} {
		counts := firstCounts(t, "wrandom", cands, n, seed)
		for id, p := range probs {
			if got := float64(counts[id]) / n; math.Abs(got-p) > 0.015 {
				t.Errorf("seed %d: %s first %.3f, want %.3f +- 0.015", seed, id, got, p)
			}
		}
		// 2 degrees of freedom: 13.82 is the 0.1% critical value.
		if x := chiSquare(counts, probs, n); x > 13.82 {
			t.Errorf("seed %d: chi-square %.2f > 13.82 (%v)", seed, x, counts)
		}
	}
}

func TestWRandomEqualPenaltiesUniform(t *testing.T) {
	const n = 20000
	cands := members("a:2", "b:2", "c:2", "d:2")
	counts := firstCounts(t, "wrandom", cands, n, 21)
	probs := map[string]float64{"a": .25, "b": .25, "c": .25, "d": .25}
	if x := chiSquare(counts, probs, n); x > 16.27 {
		t.Errorf("chi-square %.2f > 16.27 (%v)", x, counts)
	}
}

func TestRandomSeeded(t *testing.T) {
	cands := members("a", "b", "c", "d", "e")
	for _, name := range []string{"random", "wrandom"} {
		s := mustStrategy(t, name)
		var t1, t2 callerTrack
		r1 := rand.New(rand.NewPCG(5, 6))
		r2 := rand.New(rand.NewPCG(5, 6))
		for range 50 {
			a, b := ids(s.order(cands, &t1, r1)), ids(s.order(cands, &t2, r2))
			if a != b {
				t.Fatalf("%s: same seed, orders %q and %q", name, a, b)
			}
		}
		// The global source is used when rnd is nil.
		if got := s.order(cands, nil, nil); len(got) != len(cands) {
			t.Fatalf("%s: nil rnd: %d candidates", name, len(got))
		}
	}
}

// TestOrderNoAllocs holds the dispatch hot path to no allocation once a
// caller's buffers have grown.
func TestOrderNoAllocs(t *testing.T) {
	cands := benchCands(30)
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, name := range config.Strategies {
		s := mustStrategy(t, name)
		var tr callerTrack
		s.order(cands, &tr, rnd)
		allocs := testing.AllocsPerRun(100, func() {
			ord := s.order(cands, &tr, rnd)
			s.offered(ord[0].ID, ord[0].Order, &tr)
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocs per order", name, allocs)
		}
	}
}

func benchCands(n int) []candidate {
	cs := make([]candidate, n)
	for i := range cs {
		cs[i] = candidate{
			ID:        string(rune('A'+i%26)) + string(rune('a'+i/26)),
			Penalty:   i % 3,
			Order:     i,
			LastCall:  t0.Add(time.Duration((i*7919)%97) * time.Second),
			IdleSince: t0.Add(time.Duration((i*104729)%89) * time.Second),
			Calls:     (i * 31) % 11,
			Answered:  (i * 17) % 13,
			TalkTime:  time.Duration((i*13)%29) * time.Minute,
		}
	}
	return cs
}

func BenchmarkOrder(b *testing.B) {
	for _, n := range []int{5, 50} {
		cands := benchCands(n)
		for _, name := range config.Strategies {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				s := mustStrategy(b, name)
				rnd := rand.New(rand.NewPCG(1, 2))
				var tr callerTrack
				b.ReportAllocs()
				for b.Loop() {
					ord := s.order(cands, &tr, rnd)
					s.offered(ord[0].ID, ord[0].Order, &tr)
				}
			})
		}
	}
}
