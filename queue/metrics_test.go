package queue

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestQueueMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	clock := newTestClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	s := mustOpenStats(t, nil, clock, reg)
	waiting := 3
	s.gauges(func() []QueueStatus {
		return []QueueStatus{
			{Name: "support", Waiting: waiting, Agents: map[string]int{StateIdle: 2, StateOnCall: 1, "odd": 1}},
			{Name: "sales"},
		}
	})
	for range 3 {
		s.offered("support")
	}
	s.answered("support", "9001", 12*time.Second)
	s.ringAnswered("support", "9001", 3*time.Second)
	s.abandoned("support", 30*time.Second)
	s.timedOut("support", 400*time.Second)
	s.offered("sales")

	// Every configured queue is there from the start, at 0.
	want := `
pbx_queue_abandoned_total{queue="sales"} 0
pbx_queue_abandoned_total{queue="support"} 1
pbx_queue_agents{queue="sales",state="idle"} 0
pbx_queue_agents{queue="sales",state="logged-out"} 0
pbx_queue_agents{queue="sales",state="on-call"} 0
pbx_queue_agents{queue="sales",state="on-hold"} 0
pbx_queue_agents{queue="sales",state="paused"} 0
pbx_queue_agents{queue="sales",state="ringing"} 0
pbx_queue_agents{queue="sales",state="wrap-up"} 0
pbx_queue_agents{queue="support",state="idle"} 2
pbx_queue_agents{queue="support",state="logged-out"} 0
pbx_queue_agents{queue="support",state="odd"} 1
pbx_queue_agents{queue="support",state="on-call"} 1
pbx_queue_agents{queue="support",state="on-hold"} 0
pbx_queue_agents{queue="support",state="paused"} 0
pbx_queue_agents{queue="support",state="ringing"} 0
pbx_queue_agents{queue="support",state="wrap-up"} 0
pbx_queue_answered_total{queue="sales"} 0
pbx_queue_answered_total{queue="support"} 1
pbx_queue_callers_waiting{queue="sales"} 0
pbx_queue_callers_waiting{queue="support"} 3
pbx_queue_offered_total{queue="sales"} 1
pbx_queue_offered_total{queue="support"} 3
`
	names := []string{"pbx_queue_abandoned_total", "pbx_queue_agents", "pbx_queue_answered_total", "pbx_queue_callers_waiting", "pbx_queue_offered_total"}
	if err := compareGathered(reg, want, names...); err != nil {
		t.Fatal(err)
	}

	// Histograms: the wait of the answered, abandoned and timed-out callers.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != "support" {
				continue
			}
			switch mf.GetName() {
			case "pbx_queue_wait_seconds":
				if h := m.GetHistogram(); h.GetSampleCount() != 3 || h.GetSampleSum() != 442 {
					t.Errorf("wait: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
				}
			case "pbx_queue_ring_to_answer_seconds":
				if h := m.GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 3 {
					t.Errorf("ring: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
				}
			}
		}
	}

	// The gauges read the snapshot at each scrape.
	waiting = 7
	if err := compareGathered(reg, `
pbx_queue_callers_waiting{queue="sales"} 0
pbx_queue_callers_waiting{queue="support"} 7
`, "pbx_queue_callers_waiting"); err != nil {
		t.Fatal(err)
	}

	// Closed: the gauges go; a Center opened again on the registry counts on.
	s.close()
	if n, err := gatheredCount(reg, "pbx_queue_callers_waiting"); err != nil || n != 0 {
		t.Fatalf("gauges after close: %d %v", n, err)
	}
	s = mustOpenStats(t, nil, clock, reg)
	defer s.close()
	s.offered("support")
	s.gauges(func() []QueueStatus { return []QueueStatus{{Name: "support", Waiting: 1}} })
	if err := compareGathered(reg, `
pbx_queue_callers_waiting{queue="support"} 1
pbx_queue_offered_total{queue="sales"} 1
pbx_queue_offered_total{queue="support"} 4
`, "pbx_queue_callers_waiting", "pbx_queue_offered_total"); err != nil {
		t.Fatal(err)
	}
}

// Without a snapshot the gauges are absent, not zero: nothing is known.
func TestQueueMetricsNoSnapshot(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := mustOpenStats(t, nil, newTestClock(time.Now()), reg)
	defer s.close()
	if n, err := gatheredCount(reg, "pbx_queue_callers_waiting", "pbx_queue_agents"); err != nil || n != 0 {
		t.Fatalf("%d series, %v", n, err)
	}
	// A registry already holding an unrelated collector of the same name
	// is an error, not a panic.
	bad := prometheus.NewRegistry()
	bad.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "pbx_queue_offered_total", Help: "x"}))
	if _, err := openStats(nil, statsConfig(), newTestClock(time.Now()), bad, nil); err == nil {
		t.Fatal("opened over a conflicting collector")
	}
}

// gathered is what reg serves of the named families, one line per series:
// name{label="value",...} value (histograms: their count), sorted.
func gathered(reg *prometheus.Registry, names ...string) ([]string, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			out = append(out, fmt.Sprintf("%s{%s} %v", mf.GetName(), strings.Join(labels, ","), v))
		}
	}
	slices.Sort(out)
	return out, nil
}

func gatheredCount(reg *prometheus.Registry, names ...string) (int, error) {
	lines, err := gathered(reg, names...)
	return len(lines), err
}

// compareGathered checks that reg serves exactly want (lines as gathered
// prints them) for the named families.
func compareGathered(reg *prometheus.Registry, want string, names ...string) error {
	got, err := gathered(reg, names...)
	if err != nil {
		return err
	}
	var w []string
	for _, l := range strings.Split(want, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			w = append(w, l)
		}
	}
	slices.Sort(w)
	if !slices.Equal(got, w) {
		return fmt.Errorf("gathered\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
	return nil
}
