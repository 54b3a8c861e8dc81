package agentrpc

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are Agent RPC's collectors (pbx_agentrpc_*).
type metrics struct {
	connections prometheus.Gauge
	frames      prometheus.Counter
	calls       *prometheus.CounterVec
	inviteDelay prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pbx_agentrpc_connections", Help: "Bots connected to Agent RPC endpoints.",
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbx_agentrpc_frames_received_total", Help: "Frames received from bots.",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pbx_agentrpc_calls_total", Help: "Calls offered to bots, by result: accepted, rejected (one bot's refusal), fallback.",
		}, []string{"result"}),
		inviteDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pbx_agentrpc_invite_delay_seconds",
			Help:    "From the call's arrival to the invite sent to a bot.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.frames, m.calls, m.inviteDelay} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
