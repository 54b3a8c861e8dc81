package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"pbx/dialog"
)

// Metrics is one node's registry: the pbx_* collectors over its sources,
// the two event histograms, and the Go and process collectors.
type Metrics struct {
	reg   *prometheus.Registry
	setup prometheus.Histogram
	lag   prometheus.Histogram
	log   *slog.Logger
}

// Option changes how New builds the metrics.
type Option func(*Metrics)

// WithLogger sets where scrape errors are logged; by default they are not.
func WithLogger(l *slog.Logger) Option { return func(m *Metrics) { m.log = l } }

// Bucket bounds, in seconds. Call setup spans ringing, so it runs from a
// fraction of a second (an answering machine, an application) to the ring
// timeout; event delivery should stay well under a millisecond, and the
// upper buckets show a subscriber about to fall behind.
var (
	setupBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60}
	lagBuckets   = []float64{0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1}
)

// New registers every collector on a registry of its own.
func New(src Sources, opts ...Option) (*Metrics, error) {
	if src.Calls == nil || src.RTP == nil || src.Registrations == nil || src.Auth == nil {
		return nil, errors.New("metrics: every source is required")
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbx_call_setup_seconds",
			Help:    "Time from a call's first leg to its answer.",
			Buckets: setupBuckets,
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbx_event_delivery_lag_seconds",
			Help:    "Time from an engine event's publication to a subscriber reading it.",
			Buckets: lagBuckets,
		}),
		log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(m)
	}
	for _, c := range []prometheus.Collector{
		newSourceCollector(src),
		m.setup,
		m.lag,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// Handler serves the registry in the Prometheus exposition format the
// scraper asks for (text by default). A collector that fails is logged and
// left out; the rest are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Registerer is where another package (a queue, a control plane) adds its
// own collectors to this node's registry.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// ObserveEvent records one engine event read by a subscriber at received:
// the delivery lag (received minus the event's publication time) for every
// event, and the setup time of an answered call. A lag below zero (the wall
// clock stepped back) counts as zero; an event without a time, or a
// call.answered without Setup, adds nothing to that histogram. It is safe
// to call from any goroutine.
func (m *Metrics) ObserveEvent(ev dialog.Event, received time.Time) {
	if !ev.Time.IsZero() {
		m.lag.Observe(max(received.Sub(ev.Time), 0).Seconds())
	}
	if ev.Kind == dialog.EventCallAnswered && ev.Setup > 0 {
		m.setup.Observe(ev.Setup.Seconds())
	}
}

// slogPrinter lets promhttp log through slog.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.l.Error("metrics", "error", fmt.Sprint(v...)) }
