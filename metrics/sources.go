package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"pbx/dialog"
	"pbx/media"
	"pbx/sip"
)

// Sources are what the pbx_* counters and gauges read at each scrape.
// Every field is required.
type Sources struct {
	Calls         Calls         // EngineCalls(engine)
	RTP           RTP           // *media.Engine
	Registrations Registrations // *sip.Location
	Auth          Auth          // *sip.Guard
}

// Calls reports the call engine's counts. EngineCalls adapts *dialog.Engine.
type Calls interface {
	// ActiveCalls is the number of calls in progress.
	ActiveCalls() int
	// CallsStarted is the number of calls taken since start.
	CallsStarted() uint64
	// CallResults is the number of ended calls per call-record disposition.
	CallResults() map[string]uint64
	// LegsActive is the number of legs alive (call sides, ringing or up).
	LegsActive() int
	// CallsRefused is the number of new calls refused for capacity (503).
	CallsRefused() uint64
}

// RTP reports the media engine's packet counters; *media.Engine is one.
type RTP interface {
	Totals() media.Totals
}

// Registrations lists the registered contacts; *sip.Location is one.
type Registrations interface {
	All() []sip.Binding
}

// Auth reports authentication failures and bans; *sip.Guard is one.
type Auth interface {
	Failures() uint64
	Bans() []sip.Ban
}

// EngineCalls adapts the call engine to Calls.
func EngineCalls(e *dialog.Engine) Calls { return engineCalls{e} }

type engineCalls struct{ e *dialog.Engine }

func (c engineCalls) ActiveCalls() int               { return c.e.ActiveCalls() }
func (c engineCalls) CallsStarted() uint64           { return c.e.Metrics().CallsStarted.Load() }
func (c engineCalls) CallResults() map[string]uint64 { return c.e.Metrics().Results() }
func (c engineCalls) LegsActive() int                { return c.e.LegCount() }
func (c engineCalls) CallsRefused() uint64           { return c.e.Metrics().Refused.Load() }

// sourceCollector reads every source once per scrape, so the samples of one
// source (the six RTP counters, say) come from one consistent snapshot.
// The names, types and help texts are those of the hand-written exposition
// this replaced; dashboards keep working.
type sourceCollector struct {
	src Sources

	registrations, registeredAORs      *prometheus.Desc
	callsActive, callsStarted, calls   *prometheus.Desc
	legsActive, callsRefused           *prometheus.Desc
	packetsIn, packetsOut              *prometheus.Desc
	bytesIn, bytesOut, lost, endpoints *prometheus.Desc
	authFailures, bansActive           *prometheus.Desc
}

func newSourceCollector(src Sources) *sourceCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &sourceCollector{
		src:            src,
		registrations:  d("pbx_registrations", "Registered contacts."),
		registeredAORs: d("pbx_registered_aors", "Addresses of record with at least one contact."),
		callsActive:    d("pbx_calls_active", "Calls in progress."),
		callsStarted:   d("pbx_calls_started_total", "Calls taken."),
		calls:          d("pbx_calls_total", "Calls ended, by disposition.", "result"),
		legsActive:     d("pbx_legs_active", "Legs alive: call sides ringing or up."),
		callsRefused:   d("pbx_calls_refused_total", "New calls refused with 503 for capacity (calls.max_legs, calls.max_setup)."),
		packetsIn:      d("pbx_rtp_packets_in_total", "RTP packets received."),
		packetsOut:     d("pbx_rtp_packets_out_total", "RTP packets sent."),
		bytesIn:        d("pbx_rtp_bytes_in_total", "RTP bytes received."),
		bytesOut:       d("pbx_rtp_bytes_out_total", "RTP bytes sent."),
		lost:           d("pbx_rtp_packets_lost_total", "RTP packets lost on receive (sequence gaps)."),
		endpoints:      d("pbx_rtp_endpoints", "Open RTP endpoints."),
		authFailures:   d("pbx_auth_failures_total", "Failed digest authentications, REGISTER and INVITE."),
		bansActive:     d("pbx_bans_active", "Sources banned now."),
	}
}

// Describe sends every descriptor, so the registry rejects a name clash
// at registration rather than at a scrape.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.registrations, c.registeredAORs, c.callsActive, c.callsStarted, c.calls,
		c.legsActive, c.callsRefused,
		c.packetsIn, c.packetsOut, c.bytesIn, c.bytesOut, c.lost, c.endpoints,
		c.authFailures, c.bansActive,
	} {
		ch <- d
	}
}

// Collect reads the sources. It runs on the scraping request's goroutine.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}

	regs := c.src.Registrations.All()
	aors := map[string]bool{}
	for _, b := range regs {
		aors[b.AOR] = true
	}
	gauge(c.registrations, float64(len(regs)))
	gauge(c.registeredAORs, float64(len(aors)))

	gauge(c.callsActive, float64(c.src.Calls.ActiveCalls()))
	counter(c.callsStarted, float64(c.src.Calls.CallsStarted()))
	gauge(c.legsActive, float64(c.src.Calls.LegsActive()))
	counter(c.callsRefused, float64(c.src.Calls.CallsRefused()))
	for result, n := range c.src.Calls.CallResults() {
		counter(c.calls, float64(n), result)
	}

	t := c.src.RTP.Totals()
	counter(c.packetsIn, float64(t.PacketsIn))
	counter(c.packetsOut, float64(t.PacketsOut))
	counter(c.bytesIn, float64(t.BytesIn))
	counter(c.bytesOut, float64(t.BytesOut))
	counter(c.lost, float64(t.Lost))
	gauge(c.endpoints, float64(t.Endpoints))

	counter(c.authFailures, float64(c.src.Auth.Failures()))
	gauge(c.bansActive, float64(len(c.src.Auth.Bans())))
}
