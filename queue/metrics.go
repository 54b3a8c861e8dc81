package queue

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bucket bounds, in seconds. Callers wait from seconds to many minutes
// (service levels are commonly 20 to 60 s); a phone rings an agent for up
// to the ring timeout, 15 to 30 s.
var (
	waitBuckets = []float64{1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800}
	ringBuckets = []float64{0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60}
)

// queueMetrics are the contact center's collectors on a node's registry:
//
//   - pbx_queue_offered_total, pbx_queue_answered_total and
//     pbx_queue_abandoned_total{queue}: callers who joined, were answered,
//     hung up while waiting;
//   - pbx_queue_wait_seconds{queue}: how long each caller waited, observed
//     when they stop waiting (answered, abandoned or timed out);
//   - pbx_queue_ring_to_answer_seconds{queue}: how long an agent's phone
//     rang before the agent took the call;
//   - pbx_queue_callers_waiting{queue} and pbx_queue_agents{queue,state}:
//     gauges read at each scrape from the snapshot the Center gives (stats.gauges),
//     every state of AgentStates present, 0 included.
type queueMetrics struct {
	reg                          prometheus.Registerer
	offered, answered, abandoned *prometheus.CounterVec
	wait, ring                   *prometheus.HistogramVec
	live                         *liveCollector
	snapshot                     atomic.Pointer[func() []QueueStatus]
}

// newQueueMetrics registers the collectors on reg. Counters and histograms
// already there (a Center opened again on the same registry) are taken
// over, so they go on counting.
func newQueueMetrics(reg prometheus.Registerer) (*queueMetrics, error) {
	m := &queueMetrics{reg: reg}
	counter := func(name, help string) (*prometheus.CounterVec, error) {
		return registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"queue"}))
	}
	histogram := func(name, help string, buckets []float64) (*prometheus.HistogramVec, error) {
		return registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, []string{"queue"}))
	}
	var errs [5]error
	m.offered, errs[0] = counter("pbx_queue_offered_total", "Callers who joined the queue.")
	m.answered, errs[1] = counter("pbx_queue_answered_total", "Callers of the queue answered by an agent.")
	m.abandoned, errs[2] = counter("pbx_queue_abandoned_total", "Callers who hung up while waiting in the queue.")
	m.wait, errs[3] = histogram("pbx_queue_wait_seconds", "How long callers waited in the queue, until answered, abandoned or timed out.", waitBuckets)
	m.ring, errs[4] = histogram("pbx_queue_ring_to_answer_seconds", "How long an agent's phone rang before the agent took a call of the queue.", ringBuckets)
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("queue metrics: %w", err)
	}
	m.live = &liveCollector{m: m}
	if err := reg.Register(m.live); err != nil {
		return nil, fmt.Errorf("queue metrics: %w", err)
	}
	return m, nil
}

// registerOrReuse registers c, or returns the collector of the same kind already
// registered.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

// unregister withdraws the gauges, whose snapshot belongs to a closed
// Center. A nil m does nothing.
func (m *queueMetrics) unregister() {
	if m != nil {
		m.reg.Unregister(m.live)
	}
}

// series are one queue's handles, looked up once so that counting a call
// is an atomic add, without a label lookup or an allocation.
func (m *queueMetrics) series(queue string) queueSeries {
	return queueSeries{
		offered:   metricCounter{m.offered.WithLabelValues(queue)},
		answered:  metricCounter{m.answered.WithLabelValues(queue)},
		abandoned: metricCounter{m.abandoned.WithLabelValues(queue)},
		wait:      metricHistogram{m.wait.WithLabelValues(queue)},
		ring:      metricHistogram{m.ring.WithLabelValues(queue)},
	}
}

// queueSeries is one queue's counters and histograms; its zero value (no
// registry) counts nothing.
type queueSeries struct {
	offered, answered, abandoned metricCounter
	wait, ring                   metricHistogram
}

type metricCounter struct{ c prometheus.Counter }

func (c metricCounter) inc() {
	if c.c != nil {
		c.c.Inc()
	}
}

type metricHistogram struct{ h prometheus.Observer }

func (h metricHistogram) observe(d time.Duration) {
	if h.h != nil {
		h.h.Observe(max(d, 0).Seconds())
	}
}

var (
	waitingDesc = prometheus.NewDesc("pbx_queue_callers_waiting", "Callers waiting in the queue now.", []string{"queue"}, nil)
	agentsDesc  = prometheus.NewDesc("pbx_queue_agents", "Members of the queue in each agent state now.", []string{"queue", "state"}, nil)
)

// liveCollector reads the gauges from the Center's snapshot at scrape
// time, so there is nothing to keep up to date on call paths.
type liveCollector struct{ m *queueMetrics }

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- waitingDesc
	ch <- agentsDesc
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.m.snapshot.Load()
	if snap == nil {
		return
	}
	for _, q := range (*snap)() {
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(q.Waiting), q.Name)
		for _, st := range AgentStates {
			ch <- prometheus.MustNewConstMetric(agentsDesc, prometheus.GaugeValue, float64(q.Agents[st]), q.Name, st)
		}
		for st, n := range q.Agents { // a state AgentStates does not list
			if !slices.Contains(AgentStates, st) {
				ch <- prometheus.MustNewConstMetric(agentsDesc, prometheus.GaugeValue, float64(n), q.Name, st)
			}
		}
	}
}
