package metrics_test

import (
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"pbx/dialog"
	"pbx/media"
	"pbx/metrics"
	"pbx/sip"
)

// sources stands in for the engines: fixed counts the test can change
// between scrapes. The scrape reads it on the HTTP server's goroutine.
type sources struct {
	mu      sync.Mutex
	active  int
	started uint64
	results map[string]uint64
	rtp     media.Totals
	regs    []sip.Binding
	fails   uint64
	bans    []sip.Ban
}

func (s *sources) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

func (s *sources) CallsStarted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

func (s *sources) LegsActive() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return 2 * s.active
}

func (s *sources) CallsRefused() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started / 10
}

func (s *sources) CallResults() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.results)
}

func (s *sources) Totals() media.Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rtp
}

func (s *sources) All() []sip.Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sip.Binding(nil), s.regs...)
}

func (s *sources) Failures() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fails
}

func (s *sources) Bans() []sip.Ban {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sip.Ban(nil), s.bans...)
}

func newSources() *sources {
	return &sources{
		active:  3,
		started: 7,
		results: map[string]uint64{"ANSWERED": 4, "BUSY": 1},
		rtp:     media.Totals{PacketsIn: 100, PacketsOut: 90, BytesIn: 17200, BytesOut: 15480, Lost: 2, Endpoints: 6},
		regs:    []sip.Binding{{AOR: "1001", Contact: "sip:1001@a"}, {AOR: "1001", Contact: "sip:1001@b"}, {AOR: "1002", Contact: "sip:1002@c"}},
		fails:   5,
		bans:    []sip.Ban{{Addr: netip.MustParseAddr("192.0.2.7"), Until: time.Now().Add(time.Hour), Failures: 5}},
	}
}

// serve starts a real HTTP server on loopback with the metrics handler.
func serve(t *testing.T, src *sources) (*metrics.Metrics, string) {
	t.Helper()
	m, err := metrics.New(metrics.Sources{Calls: src, RTP: src, Registrations: src, Auth: src})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return m, srv.URL + "/metrics"
}

// scrape GETs the exposition as Prometheus would and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape: %s: %s", res.Status, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// value is the single sample of an unlabelled gauge or counter.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: missing or not one sample", name)
	}
	m := f.GetMetric()[0]
	if f.GetType() == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// Every name of the hand-written exposition is still served, with its
// type and the value its source reports.
func TestScrapeKeepsEveryName(t *testing.T) {
	_, url := serve(t, newSources())
	fams := scrape(t, url)

	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	for _, w := range []struct {
		name string
		typ  dto.MetricType
		v    float64
	}{
		{"pbx_registrations", gauge, 3},
		{"pbx_registered_aors", gauge, 2},
		{"pbx_calls_active", gauge, 3},
		{"pbx_calls_started_total", counter, 7},
		{"pbx_legs_active", gauge, 6},
		{"pbx_calls_refused_total", counter, 0},
		{"pbx_rtp_packets_in_total", counter, 100},
		{"pbx_rtp_packets_out_total", counter, 90},
		{"pbx_rtp_bytes_in_total", counter, 17200},
		{"pbx_rtp_bytes_out_total", counter, 15480},
		{"pbx_rtp_packets_lost_total", counter, 2},
		{"pbx_rtp_endpoints", gauge, 6},
		{"pbx_auth_failures_total", counter, 5},
		{"pbx_bans_active", gauge, 1},
	} {
		f, ok := fams[w.name]
		if !ok {
			t.Errorf("%s: missing", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s: type %s, want %s", w.name, f.GetType(), w.typ)
			continue
		}
		if v := value(t, fams, w.name); v != w.v {
			t.Errorf("%s = %g, want %g", w.name, v, w.v)
		}
	}

	calls, ok := fams["pbx_calls_total"]
	if !ok || calls.GetType() != counter {
		t.Fatalf("pbx_calls_total: missing or not a counter: %v", calls)
	}
	got := map[string]float64{}
	for _, m := range calls.GetMetric() {
		if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "result" {
			t.Fatalf("pbx_calls_total labels: %v", m.GetLabel())
		}
		got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if len(got) != 2 || got["ANSWERED"] != 4 || got["BUSY"] != 1 {
		t.Errorf("pbx_calls_total by result: %v", got)
	}

	for _, name := range []string{"pbx_call_setup_seconds", "pbx_event_delivery_lag_seconds"} {
		if f, ok := fams[name]; !ok || f.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s: missing or not a histogram", name)
		}
	}
	for _, name := range []string{"go_goroutines", "go_gc_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s: missing (Go and process collectors)", name)
		}
	}
}

// The counts are read at each scrape, not copied once.
func TestScrapeReadsSourcesEachTime(t *testing.T) {
	src := newSources()
	_, url := serve(t, src)
	if v := value(t, scrape(t, url), "pbx_calls_active"); v != 3 {
		t.Fatalf("pbx_calls_active = %g, want 3", v)
	}
	src.mu.Lock()
	src.active, src.started, src.bans = 0, 9, nil
	src.results["FAILED"] = 2
	src.mu.Unlock()
	fams := scrape(t, url)
	if v := value(t, fams, "pbx_calls_active"); v != 0 {
		t.Errorf("pbx_calls_active = %g, want 0", v)
	}
	if v := value(t, fams, "pbx_calls_started_total"); v != 9 {
		t.Errorf("pbx_calls_started_total = %g, want 9", v)
	}
	if v := value(t, fams, "pbx_bans_active"); v != 0 {
		t.Errorf("pbx_bans_active = %g, want 0", v)
	}
	if n := len(fams["pbx_calls_total"].GetMetric()); n != 3 {
		t.Errorf("pbx_calls_total has %d results, want 3", n)
	}
}

// histogram is the count and sum of a histogram family.
func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name string) (uint64, float64) {
	t.Helper()
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: missing", name)
	}
	h := f.GetMetric()[0].GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

// An answered call's setup time and every event's delivery lag reach the
// histograms; other events add only their lag.
func TestObserveEventMovesHistograms(t *testing.T) {
	m, url := serve(t, newSources())
	if n, _ := histogram(t, scrape(t, url), "pbx_call_setup_seconds"); n != 0 {
		t.Fatalf("setup count %d before any event", n)
	}

	now := time.Now()
	m.ObserveEvent(dialog.Event{Kind: dialog.EventCallAnswered, Time: now.Add(-3 * time.Millisecond), Setup: 2500 * time.Millisecond}, now)
	m.ObserveEvent(dialog.Event{Kind: dialog.EventLegAnswered, Time: now.Add(-time.Millisecond), Setup: 9 * time.Second}, now)
	m.ObserveEvent(dialog.Event{Kind: dialog.EventLegEnded, Time: now.Add(time.Second)}, now) // the clock stepped back: lag 0
	m.ObserveEvent(dialog.Event{Kind: dialog.EventCallAnswered}, now)                         // no time, no setup: nothing

	fams := scrape(t, url)
	if n, sum := histogram(t, fams, "pbx_call_setup_seconds"); n != 1 || sum != 2.5 {
		t.Errorf("setup: count %d sum %g, want 1 and 2.5", n, sum)
	}
	if n, sum := histogram(t, fams, "pbx_event_delivery_lag_seconds"); n != 3 || math.Abs(sum-0.004) > 1e-9 {
		t.Errorf("lag: count %d sum %g, want 3 and 0.004", n, sum)
	}
}

// Each Metrics has its own registry, so two nodes in one process (as in
// the tests that start several) both register the same names.
func TestTwoNodesInOneProcess(t *testing.T) {
	serve(t, newSources())
	serve(t, newSources())
}

func TestNewWantsEverySource(t *testing.T) {
	src := newSources()
	if _, err := metrics.New(metrics.Sources{Calls: src, RTP: src, Registrations: src}); err == nil {
		t.Fatal("New without Auth: no error")
	}
}
