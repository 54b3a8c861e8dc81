package eccp

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are ECCP's collectors (pbx_eccp_*).
type metrics struct {
	sessions prometheus.Gauge
	refused  prometheus.Counter
	requests *prometheus.CounterVec
	events   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pbx_eccp_sessions", Help: "ECCP connections open.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbx_eccp_connections_refused_total", Help: "ECCP connections closed at once: the address is not in authorized_ips.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pbx_eccp_requests_total", Help: "ECCP requests answered, by result: success, failure (a failure inside the response), error (a top-level failure).",
		}, []string{"result"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbx_eccp_events_total", Help: "ECCP event documents queued to sessions.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sessions, m.refused, m.requests, m.events} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
