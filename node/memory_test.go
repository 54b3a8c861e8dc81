package node

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// sample is one poll of the calls in progress, at a second since start.
type sample struct {
	sec    int
	active int
}

// ramp is samples one second apart from sec, one per value.
func ramp(sec int, active ...int) []sample {
	out := make([]sample, len(active))
	for i, a := range active {
		out[i] = sample{sec + i, a}
	}
	return out
}

func join(parts ...[]sample) []sample {
	var out []sample
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// repeat is n samples of the same count, one second apart from sec.
func repeat(sec, n, active int) []sample {
	out := make([]sample, n)
	for i := range out {
		out[i] = sample{sec + i, active}
	}
	return out
}

// The policy returns memory twice per busy period, 5 s and 40 s into a
// spell of calls at or below a tenth of the peak, and never again while
// the calls stay quiet; never for a load too small to matter or a lull
// shorter than 5 s.
func TestReclaimPolicy(t *testing.T) {
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		samples []sample
		fires   map[int]int // second -> the peak the policy reports releasing for
	}{
		{
			name: "busy then idle releases 5 s and 40 s into the quiet",
			// Quiet from second 4.
			samples: join(ramp(0, 0, 500, 1000, 800), repeat(4, 120, 0)),
			fires:   map[int]int{9: 1000, 44: 1000},
		},
		{
			name:    "staying idle for long releases nothing more",
			samples: join(ramp(0, 3000, 3000), repeat(2, 600, 2)),
			fires:   map[int]int{7: 3000, 42: 3000},
		},
		{
			name:    "a small blip never releases",
			samples: join(ramp(0, 0, 50, 150, 199, 30), repeat(5, 60, 0)),
		},
		{
			name:    "a lull shorter than 5 s does not release",
			samples: join(ramp(0, 1000), repeat(1, 4, 50), repeat(5, 5, 900), repeat(10, 4, 0), ramp(14, 700)),
		},
		{
			name:    "calls above a tenth of the peak are not quiet",
			samples: join(ramp(0, 1000), repeat(1, 60, 101)),
		},
		{
			name: "calls left at a tenth of the peak count as quiet, and do not re-arm",
			// The episode ends at 41 with 80 calls left; the new period
			// starts at 80 and its peak of 150 is below the busy mark.
			samples: join(ramp(0, 1000), repeat(1, 45, 80), repeat(46, 3, 150), repeat(49, 60, 0)),
			fires:   map[int]int{6: 1000, 41: 1000},
		},
		{
			name:    "a quiet spell broken between the releases starts over",
			samples: join(ramp(0, 1000), repeat(1, 10, 0), repeat(11, 2, 500), repeat(13, 60, 0)),
			fires:   map[int]int{6: 1000, 18: 1000, 53: 1000},
		},
		{
			name:    "a second busy period releases again",
			samples: join(ramp(0, 400), repeat(1, 41, 0), ramp(42, 250, 600), repeat(44, 45, 10)),
			fires:   map[int]int{6: 400, 41: 400, 49: 600, 84: 600},
		},
		{
			name: "after a gap in the polls, each sample releases at most once",
			// Quiet is first seen at 4; the sample at 34 finds the first
			// mark passed, the one at 50 the last.
			samples: []sample{{0, 1000}, {4, 0}, {34, 0}, {35, 0}, {50, 0}, {51, 0}},
			fires:   map[int]int{34: 1000, 50: 1000},
		},
		{
			name:    "a gap past both marks releases once and ends the episode",
			samples: []sample{{0, 1000}, {1, 0}, {100, 0}, {101, 0}, {200, 0}},
			fires:   map[int]int{100: 1000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newReclaimPolicy()
			got := map[int]int{}
			for _, s := range tt.samples {
				if fire, peak := p.observe(start.Add(time.Duration(s.sec)*time.Second), s.active); fire {
					got[s.sec] = peak
				}
			}
			if len(got) != len(tt.fires) {
				t.Fatalf("released at %v (second: peak), want %v", got, tt.fires)
			}
			for sec, peak := range tt.fires {
				if got[sec] != peak {
					t.Fatalf("released at %v (second: peak), want %v", got, tt.fires)
				}
			}
		})
	}
}

// The reclaimer samples the calls on each tick and frees memory when the
// policy says so: a busy period followed by a quiet one frees twice, and
// more idle ticks free nothing more.
func TestReclaimerFreesAfterBusyPeriod(t *testing.T) {
	counts := join(ramp(0, 0, 300, 900, 900, 40), repeat(5, 100, 0))
	// The test hands each tick's count over a channel before the tick;
	// active and free both run on run's goroutine, which numbers the ticks.
	next := make(chan int, 1)
	polled := -1
	freed := make(chan int, len(counts)) // the tick index at each release
	r := &reclaimer{
		policy: newReclaimPolicy(),
		active: func() int { polled++; return <-next },
		free:   func() { freed <- polled },
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(context.Background(), ticks)
	}()
	start := time.Now()
	for _, s := range counts {
		next <- s.active
		ticks <- start.Add(time.Duration(s.sec) * time.Second)
	}
	close(ticks)
	<-done // run has handled every tick and returned
	close(freed)
	var at []int
	for i := range freed {
		at = append(at, i)
	}
	// Quiet from tick 4 (40 calls, under a tenth of 900): 5 s and 40 s
	// later are ticks 9 and 44.
	if len(at) != 2 || at[0] != 9 || at[1] != 44 {
		t.Fatalf("freed at ticks %v, want 9 and 44", at)
	}
}

// The reclaimer stops when its context ends, so the node's wait group
// is released on shutdown.
func TestReclaimerStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &reclaimer{policy: newReclaimPolicy(), active: func() int { return 0 }, free: func() {},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run(ctx, make(chan time.Time))
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reclaimer still running 5 s after its context ended")
	}
}
