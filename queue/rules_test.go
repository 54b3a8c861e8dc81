package queue

import (
	"maps"
	"testing"
	"time"

	"pbx/config"
)

func ip(v int) *int { return &v }

// ruledQueue widens penalties and relaxes skills as the wait grows: from
// the start only penalty 0 with French 50 and billing 30; after 30s
// penalty up to 2 and French 20; after 60s any penalty and no billing;
// after 90s penalty 1 or more (the first tier has had its chance).
func ruledQueue() *config.Queue {
	return &config.Queue{
		Name:   "support",
		Skills: map[string]int{"fr": 50, "billing": 30},
		Rules: []config.QueueRule{
			{After: 0, MaxPenalty: ip(0)},
			{After: 30 * time.Second, MaxPenalty: ip(2), Skills: map[string]int{"fr": 20}},
			{After: 60 * time.Second, MaxPenalty: ip(-1), Skills: map[string]int{"billing": 0}},
			{After: 90 * time.Second, MinPenalty: ip(1)},
		},
	}
}

func TestLimitsAt(t *testing.T) {
	tests := []struct {
		w    time.Duration
		want limits
	}{
		{0, limits{-1, 0, map[string]int{"fr": 50, "billing": 30}}},
		{29 * time.Second, limits{-1, 0, map[string]int{"fr": 50, "billing": 30}}},
		{30 * time.Second, limits{-1, 2, map[string]int{"fr": 20, "billing": 30}}},
		{59 * time.Second, limits{-1, 2, map[string]int{"fr": 20, "billing": 30}}},
		{60 * time.Second, limits{-1, -1, map[string]int{"fr": 20}}},
		{90 * time.Second, limits{1, -1, map[string]int{"fr": 20}}},
		{time.Hour, limits{1, -1, map[string]int{"fr": 20}}},
	}
	for _, order := range []string{"sorted", "reversed"} {
		q := ruledQueue()
		if order == "reversed" {
			for i, j := 0, len(q.Rules)-1; i < j; i, j = i+1, j-1 {
				q.Rules[i], q.Rules[j] = q.Rules[j], q.Rules[i]
			}
		}
		for _, tc := range tests {
			got := limitsAt(q, tc.w)
			if got.MinPenalty != tc.want.MinPenalty || got.MaxPenalty != tc.want.MaxPenalty || !maps.Equal(got.Skills, tc.want.Skills) {
				t.Errorf("%s: limitsAt(%v) = %+v, want %+v", order, tc.w, got, tc.want)
			}
		}
		if !maps.Equal(q.Skills, map[string]int{"fr": 50, "billing": 30}) {
			t.Errorf("%s: queue skills modified: %v", order, q.Skills)
		}
	}
}

func TestLimitsAtEdges(t *testing.T) {
	tests := []struct {
		name string
		q    config.Queue
		w    time.Duration
		want limits
	}{
		{"no rules no skills", config.Queue{}, time.Minute, limits{-1, -1, nil}},
		{"base skills only", config.Queue{Skills: map[string]int{"de": 10}}, 0, limits{-1, -1, map[string]int{"de": 10}}},
		{"nil pointers leave limits", config.Queue{Rules: []config.QueueRule{
			{After: 0, MaxPenalty: ip(3), MinPenalty: ip(1)},
			{After: 10 * time.Second},
		}}, time.Minute, limits{1, 3, nil}},
		{"rule before its time ignored", config.Queue{Rules: []config.QueueRule{
			{After: 10 * time.Second, MaxPenalty: ip(3)},
		}}, 9 * time.Second, limits{-1, -1, nil}},
		{"same After in config order", config.Queue{Rules: []config.QueueRule{
			{After: 20 * time.Second, MaxPenalty: ip(9)},
			{After: 10 * time.Second, MaxPenalty: ip(1)},
			{After: 20 * time.Second, MaxPenalty: ip(4)},
		}}, 20 * time.Second, limits{-1, 4, nil}},
		{"negative clears a limit", config.Queue{Rules: []config.QueueRule{
			{After: 0, MinPenalty: ip(2)},
			{After: time.Second, MinPenalty: ip(-5)},
		}}, time.Second, limits{-1, -1, nil}},
		{"rule adds a skill", config.Queue{Skills: map[string]int{"fr": 50}, Rules: []config.QueueRule{
			{After: time.Second, Skills: map[string]int{"vip": 1}},
		}}, time.Second, limits{-1, -1, map[string]int{"fr": 50, "vip": 1}}},
		{"rule drops the last skill", config.Queue{Skills: map[string]int{"fr": 50}, Rules: []config.QueueRule{
			{After: time.Second, Skills: map[string]int{"fr": 0}},
		}}, time.Second, limits{-1, -1, map[string]int{}}},
		{"rule raises a level", config.Queue{Skills: map[string]int{"fr": 50}, Rules: []config.QueueRule{
			{After: 0, Skills: map[string]int{"fr": 80}},
		}}, 0, limits{-1, -1, map[string]int{"fr": 80}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := limitsAt(&tc.q, tc.w)
			if got.MinPenalty != tc.want.MinPenalty || got.MaxPenalty != tc.want.MaxPenalty || !maps.Equal(got.Skills, tc.want.Skills) {
				t.Errorf("limitsAt(%v) = %+v, want %+v", tc.w, got, tc.want)
			}
		})
	}
}

func TestAdmits(t *testing.T) {
	fr50 := map[string]int{"fr": 50}
	tests := []struct {
		name    string
		l       limits
		penalty int
		skills  map[string]int
		want    bool
	}{
		{"unbounded", limits{-1, -1, nil}, 7, nil, true},
		{"at max", limits{-1, 2, nil}, 2, nil, true},
		{"over max", limits{-1, 2, nil}, 3, nil, false},
		{"max 0 admits 0", limits{-1, 0, nil}, 0, nil, true},
		{"max 0 refuses 1", limits{-1, 0, nil}, 1, nil, false},
		{"at min", limits{1, -1, nil}, 1, nil, true},
		{"under min", limits{1, -1, nil}, 0, nil, false},
		{"within range", limits{1, 3, nil}, 2, nil, true},
		{"skill at level", limits{-1, -1, fr50}, 0, map[string]int{"fr": 50}, true},
		{"skill above level", limits{-1, -1, fr50}, 0, map[string]int{"fr": 90, "de": 5}, true},
		{"skill below level", limits{-1, -1, fr50}, 0, map[string]int{"fr": 49}, false},
		{"skill missing", limits{-1, -1, fr50}, 0, map[string]int{"de": 100}, false},
		{"no skills held", limits{-1, -1, fr50}, 0, nil, false},
		{"all skills needed", limits{-1, -1, map[string]int{"fr": 10, "vip": 1}}, 0, map[string]int{"fr": 10}, false},
		{"level 0 requires nothing", limits{-1, -1, map[string]int{"fr": 0}}, 0, nil, true},
		{"penalty refuses despite skills", limits{-1, 0, fr50}, 1, map[string]int{"fr": 99}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.admits(tc.penalty, tc.skills); got != tc.want {
				t.Errorf("admits(%d, %v) = %v, want %v", tc.penalty, tc.skills, got, tc.want)
			}
		})
	}
}

func TestNextChange(t *testing.T) {
	q := ruledQueue()
	tests := []struct{ w, want time.Duration }{
		{0, 30 * time.Second},
		{time.Second, 30 * time.Second},
		{30 * time.Second, 60 * time.Second},
		{59 * time.Second, 60 * time.Second},
		{60 * time.Second, 90 * time.Second},
		{90 * time.Second, 0},
		{time.Hour, 0},
	}
	for _, tc := range tests {
		if got := nextChange(q, tc.w); got != tc.want {
			t.Errorf("nextChange(%v) = %v, want %v", tc.w, got, tc.want)
		}
	}
	unsorted := &config.Queue{Rules: []config.QueueRule{{After: 50 * time.Second}, {After: 20 * time.Second}, {After: 20 * time.Second}}}
	if got := nextChange(unsorted, 10*time.Second); got != 20*time.Second {
		t.Errorf("unsorted: nextChange = %v, want 20s", got)
	}
	if got := nextChange(&config.Queue{}, 0); got != 0 {
		t.Errorf("no rules: nextChange = %v, want 0", got)
	}
}

// TestWideningOverTime follows one caller of ruledQueue: which agents it
// may reach as it waits, re-evaluated at each nextChange as CORE does.
func TestWideningOverTime(t *testing.T) {
	type agent struct {
		id      string
		penalty int
		skills  map[string]int
	}
	agents := []agent{
		{"expert", 0, map[string]int{"fr": 80, "billing": 50}},
		{"junior", 0, map[string]int{"fr": 30, "billing": 40}},
		{"backup", 2, map[string]int{"fr": 60}},
		{"overflow", 5, map[string]int{"fr": 25}},
		{"nofrench", 1, map[string]int{"billing": 90}},
	}
	q := ruledQueue()
	want := map[time.Duration]string{
		0:                "expert",
		30 * time.Second: "expert junior",
		60 * time.Second: "expert junior backup overflow",
		90 * time.Second: "backup overflow",
	}
	var seen []time.Duration
	for w := time.Duration(0); ; {
		seen = append(seen, w)
		l := limitsAt(q, w)
		got := ""
		for _, a := range agents {
			if l.admits(a.penalty, a.skills) {
				if got != "" {
					got += " "
				}
				got += a.id
			}
		}
		if got != want[w] {
			t.Errorf("after %v: admitted %q, want %q", w, got, want[w])
		}
		next := nextChange(q, w)
		if next == 0 {
			break
		}
		if next <= w {
			t.Fatalf("nextChange(%v) = %v does not advance", w, next)
		}
		w = next
	}
	if len(seen) != len(want) {
		t.Errorf("evaluated at %v, want %d points", seen, len(want))
	}
}

func TestLimitsAtAllocs(t *testing.T) {
	q := &config.Queue{Skills: map[string]int{"fr": 50}, Rules: []config.QueueRule{
		{After: 0, MaxPenalty: ip(0)},
		{After: time.Minute, MaxPenalty: ip(3)},
	}}
	if n := testing.AllocsPerRun(100, func() { limitsAt(q, 2*time.Minute) }); n != 0 {
		t.Errorf("limitsAt without skill rules: %.1f allocs", n)
	}
}

func BenchmarkLimitsAt(b *testing.B) {
	q := ruledQueue()
	b.Run("penalty only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l := limitsAt(q, 10*time.Second)
			l.admits(0, map[string]int{"fr": 60, "billing": 40})
		}
	})
	b.Run("skills relaxed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l := limitsAt(q, time.Hour)
			l.admits(1, nil)
		}
	})
}
