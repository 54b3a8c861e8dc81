package rwi

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are what an operator watches of RWI: sessions open, commands
// by outcome, events sent. All are safe to use unregistered.
type metrics struct {
	commands *prometheus.CounterVec // by code: success or an error code
	events   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Server) (*metrics, error) {
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pbx_rwi_commands_total", Help: "RWI requests answered, by code (success or the error code).",
		}, []string{"code"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pbx_rwi_events_total", Help: "RWI events sent to sessions (or kept for a resume).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "pbx_rwi_sessions", Help: "RWI sessions: connected, or waiting for a resume.",
	}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.sessions))
	})
	for _, c := range []prometheus.Collector{m.commands, m.events, sessions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// answered counts one response.
func (m *metrics) answered(e *Error) {
	code := "success"
	if e != nil {
		code = e.Code
	}
	m.commands.WithLabelValues(code).Inc()
}
