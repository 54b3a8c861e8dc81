package queue

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pbx/config"
	"pbx/store"
)

func statsConfig() *config.Config {
	return &config.Config{
		ContactCenter: config.ContactCenter{StatsInterval: 15 * time.Minute},
		Queues: []config.Queue{
			{Name: "support", ServiceLevel: 20 * time.Second},
			{Name: "sales", ServiceLevel: 60 * time.Second},
		},
	}
}

func mustOpenStats(t testing.TB, st *store.Store, clock *testClock, reg prometheus.Registerer) *stats {
	t.Helper()
	s, err := openStats(st, statsConfig(), clock, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServiceLevelTable(t *testing.T) {
	tests := []struct {
		name  string
		sl    time.Duration
		holds []time.Duration // answered callers' waits
		want  float64
	}{
		{"none answered", 20 * time.Second, nil, 0},
		{"all within", 20 * time.Second, []time.Duration{0, 5 * time.Second, 19 * time.Second}, 100},
		{"the threshold itself counts in", 20 * time.Second, []time.Duration{20 * time.Second}, 100},
		{"just over", 20 * time.Second, []time.Duration{20*time.Second + time.Millisecond}, 0},
		{"three of four", 20 * time.Second, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, time.Minute}, 75},
		{"one of three", 10 * time.Second, []time.Duration{time.Second, time.Minute, time.Hour}, 100.0 / 3},
		{"no threshold: only an instant answer", 0, []time.Duration{0, time.Second}, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
			s := mustOpenStats(t, nil, clock, nil)
			defer s.close()
			s.setServiceLevel("q", tc.sl)
			for _, h := range tc.holds {
				s.offered("q")
				s.answered("q", "9001", h)
			}
			// Abandoned callers do not enter the service level.
			s.offered("q")
			s.abandoned("q", time.Second)
			got := s.totals("q")
			if got.ServiceLevel != tc.want {
				t.Fatalf("service level %v, want %v (%+v)", got.ServiceLevel, tc.want, got)
			}
			if got.AbandonedInSL != map[bool]int{true: 1, false: 0}[time.Second <= tc.sl] {
				t.Fatalf("abandoned in SL: %+v", got)
			}
		})
	}
}

// A day of calls, then a restart: today's figures and the history stay.
func TestStatsSurviveRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st := openLogStore(t, dir)
	loc := time.FixedZone("site", 2*3600)
	clock := newTestClock(time.Date(2026, 4, 1, 23, 50, 0, 0, loc))
	s := mustOpenStats(t, st, clock, nil)

	// Yesterday, late: not in today's totals.
	s.offered("support")
	s.answered("support", "9001", 5*time.Second)
	<-clock.AdvanceAsync(15 * time.Minute) // 00:05 the next day
	today := time.Date(2026, 4, 2, 0, 0, 0, 0, loc)

	// 00:05: two callers; one answered in 10 s and talks 2 min, one abandons.
	s.offered("support")
	s.offered("support")
	s.answered("support", "9001", 10*time.Second)
	s.ringAnswered("support", "9001", 3*time.Second)
	s.abandoned("support", 30*time.Second)
	clock.AdvanceAsync(2 * time.Minute)
	s.completed("support", "9001", 2*time.Minute)
	// 00:20, the next interval: answered after 40 s (outside the 20 s
	// level), 1 min talk; an offer to 1003 missed before; a timeout.
	clock.AdvanceAsync(13 * time.Minute)
	s.offered("support")
	s.ringNoAnswer("support", "1003", 15*time.Second)
	s.answered("support", "9001", 40*time.Second)
	s.offered("support")
	s.timedOut("support", 5*time.Minute)
	clock.AdvanceAsync(time.Minute)
	s.completed("support", "9001", time.Minute)
	s.offered("sales")

	want := Totals{
		Offered: 4, Answered: 2, Abandoned: 1, Timeouts: 1, AnsweredInSL: 1, AbandonedInSL: 0,
		ServiceLevel: 50, AvgHold: 25 * time.Second, AvgTalk: 90 * time.Second, LongestHold: 40 * time.Second,
	}
	if got := s.totals("support"); got != want {
		t.Fatalf("totals\n%+v\nwant\n%+v", got, want)
	}
	check := func(s *stats) {
		t.Helper()
		if got := s.totals("support"); got != want {
			t.Fatalf("totals\n%+v\nwant\n%+v", got, want)
		}
		if got := s.totals("sales"); got.Offered != 1 {
			t.Fatalf("sales: %+v", got)
		}
		if a, m, talk := s.agentTotals("9001"); a != 2 || m != 0 || talk != 3*time.Minute {
			t.Fatalf("agent 9001 today: %d %d %v", a, m, talk)
		}
		if a, m, talk := s.agentTotals("1003"); a != 0 || m != 1 || talk != 0 {
			t.Fatalf("agent 1003 today: %d %d %v", a, m, talk)
		}
		h, err := s.history("support", today.Add(-time.Hour), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		wantH := []Bucket{
			{Queue: "support", Start: today.Add(-15 * time.Minute), Offered: 1, Answered: 1, AnsweredInSL: 1, HoldSum: 5 * time.Second, MaxHold: 5 * time.Second},
			{Queue: "support", Start: today, Offered: 2, Answered: 1, Abandoned: 1, AnsweredInSL: 1, HoldSum: 10 * time.Second, TalkSum: 2 * time.Minute, MaxHold: 10 * time.Second},
			{Queue: "support", Start: today.Add(15 * time.Minute), Offered: 2, Answered: 1, Timeouts: 1, HoldSum: 40 * time.Second, TalkSum: time.Minute, MaxHold: 40 * time.Second},
		}
		if len(h) != len(wantH) {
			t.Fatalf("history %+v", h)
		}
		for i := range h {
			if h[i] != wantH[i] {
				t.Fatalf("bucket %d\n%+v\nwant\n%+v", i, h[i], wantH[i])
			}
		}
		if h, _ := s.history("support", today, today.Add(15*time.Minute)); len(h) != 1 || h[0].Offered != 2 {
			t.Fatalf("one interval: %+v", h)
		}
		if h, _ := s.history("nosuch", time.Time{}, time.Time{}); len(h) != 0 {
			t.Fatalf("unknown queue: %+v", h)
		}
	}
	check(s)
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openLogStore(t, dir)
	defer st.Close()
	s = mustOpenStats(t, st, clock, nil)
	check(s)
	// And counting goes on into the restored bucket.
	s.offered("support")
	if got := s.totals("support"); got.Offered != 5 {
		t.Fatalf("after restart, offered %d", got.Offered)
	}
	h, _ := s.history("support", today.Add(15*time.Minute), time.Time{})
	if len(h) != 1 || h[0].Offered != 3 {
		t.Fatalf("restored current bucket: %+v", h)
	}
	s.close()
}

// Buckets changed are written every few seconds, not only at close, so a
// crash loses at most that much.
func TestStatsFlushPeriodically(t *testing.T) {
	st := openLogStore(t, t.TempDir())
	defer st.Close()
	clock := newTestClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	s := mustOpenStats(t, st, clock, nil)
	defer s.close()
	stored := func() int {
		n := 0
		st.ForEach(StatsBucket, func(string, []byte) error { n++; return nil })
		return n
	}
	s.offered("support")
	s.answered("support", "9001", time.Second)
	if n := stored(); n != 0 {
		t.Fatalf("%d records before the flush", n)
	}
	<-clock.AdvanceAsync(statsFlushEvery)
	if n := stored(); n != 2 { // the bucket and the agent's day
		t.Fatalf("%d records after a flush, want 2", n)
	}
	// The timer is set again.
	<-clock.AdvanceAsync(time.Hour) // a new interval...
	s.offered("support")            // ...counted at 10:00
	<-clock.AdvanceAsync(statsFlushEvery)
	if n := stored(); n != 3 {
		t.Fatalf("%d records after the second flush, want 3", n)
	}
}

// The wall clock stepping back counts into the earlier interval, in order.
func TestStatsClockStepsBack(t *testing.T) {
	clock := newTestClock(time.Date(2026, 4, 1, 9, 40, 0, 0, time.UTC))
	s := mustOpenStats(t, nil, clock, nil)
	defer s.close()
	s.offered("q")
	clock.Set(clock.Now().Add(-30 * time.Minute)) // 9:10
	s.offered("q")
	s.offered("q")
	h, err := s.history("q", time.Time{}, time.Time{})
	if err != nil || len(h) != 2 || h[0].Offered != 2 || h[1].Offered != 1 || !h[0].Start.Before(h[1].Start) {
		t.Fatalf("history %+v %v", h, err)
	}
}

func TestStatsHotCallsNoAllocs(t *testing.T) {
	clock := newTestClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	s := mustOpenStats(t, openLogStore(t, t.TempDir()), clock, prometheus.NewRegistry())
	defer s.close()
	s.offered("support")
	s.answered("support", "9001", time.Second)
	calls := map[string]func(){
		"offered":      func() { s.offered("support") },
		"answered":     func() { s.answered("support", "9001", time.Second) },
		"completed":    func() { s.completed("support", "9001", time.Minute) },
		"abandoned":    func() { s.abandoned("support", time.Second) },
		"timedOut":     func() { s.timedOut("support", time.Second) },
		"ringNoAnswer": func() { s.ringNoAnswer("support", "9001", time.Second) },
		"ringAnswered": func() { s.ringAnswered("support", "9001", time.Second) },
		"totals":       func() { s.totals("support") },
	}
	for name, f := range calls {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func BenchmarkStats(b *testing.B) {
	clock := newTestClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	st := openLogStore(b, b.TempDir())
	defer st.Close()
	s := mustOpenStats(b, st, clock, prometheus.NewRegistry())
	defer s.close()
	b.Run("call", func(b *testing.B) { // one answered call's four events
		b.ReportAllocs()
		for b.Loop() {
			s.offered("support")
			s.answered("support", "9001", 12*time.Second)
			s.ringAnswered("support", "9001", 3*time.Second)
			s.completed("support", "9001", 90*time.Second)
		}
	})
	b.Run("totals", func(b *testing.B) {
		for i := range 96 { // a full day of intervals
			clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 15 * time.Minute))
			s.offered("support")
		}
		b.ReportAllocs()
		for b.Loop() {
			s.totals("support")
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.offered("support")
				s.answered("support", "9001", 12*time.Second)
			}
		})
	})
}
