package media

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets up the media engine.
type Config struct {
	BindIP           netip.Addr    // address RTP sockets bind to
	PortMin, PortMax int           // even-port RTP range; 0, 0 picks ephemeral ports
	Timeout          time.Duration // default RTP inactivity timeout (endpoints set their own)
	RTCPEvery        time.Duration // RTCP report interval, default 5 s
	Logger           *slog.Logger
}

// Totals are engine-wide counters for metrics.
type Totals struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut, Lost uint64
	Endpoints                                      int
}

// Engine owns the RTP ports and one housekeeping goroutine that sends RTCP
// and watches for silent endpoints: no ticker per call.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	ports *ports

	mu        sync.Mutex
	endpoints map[*Endpoint]struct{}

	packetsIn, packetsOut, bytesIn, bytesOut, lostClosed atomic.Uint64

	stop chan struct{}
	done chan struct{}
}

// NewEngine starts the engine's housekeeping.
func NewEngine(cfg Config) (*Engine, error) {
	if !cfg.BindIP.IsValid() {
		cfg.BindIP = netip.IPv4Unspecified()
	}
	if cfg.RTCPEvery <= 0 {
		cfg.RTCPEvery = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PortMin != 0 && (cfg.PortMax <= cfg.PortMin || cfg.PortMax > 65535) {
		return nil, fmt.Errorf("media: bad port range %d-%d", cfg.PortMin, cfg.PortMax)
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, ports: newPorts(cfg.BindIP, cfg.PortMin, cfg.PortMax),
		endpoints: map[*Endpoint]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
	go e.housekeeping()
	return e, nil
}

// NewEndpoint opens an RTP/RTCP pair and starts reading it.
func (e *Engine) NewEndpoint() (*Endpoint, error) {
	rtp, err := e.ports.open()
	if err != nil {
		return nil, err
	}
	ep := newEndpoint(e, rtp)
	e.mu.Lock()
	e.endpoints[ep] = struct{}{}
	e.mu.Unlock()
	go ep.readRTP()
	return ep, nil
}

func (e *Engine) forget(ep *Endpoint) {
	e.mu.Lock()
	delete(e.endpoints, ep)
	e.mu.Unlock()
	e.ports.release(ep.port)
}

// Totals sums the counters of every endpoint, open or closed.
func (e *Engine) Totals() Totals {
	e.mu.Lock()
	n := len(e.endpoints)
	var lost uint64
	for ep := range e.endpoints {
		lost += ep.Stats().Lost
	}
	e.mu.Unlock()
	return Totals{PacketsIn: e.packetsIn.Load(), PacketsOut: e.packetsOut.Load(),
		BytesIn: e.bytesIn.Load(), BytesOut: e.bytesOut.Load(), Lost: lost + e.lostClosed.Load(), Endpoints: n}
}

// Close closes every endpoint and stops housekeeping.
func (e *Engine) Close() error {
	select {
	case <-e.stop:
		return nil
	default:
	}
	close(e.stop)
	<-e.done
	e.mu.Lock()
	eps := make([]*Endpoint, 0, len(e.endpoints))
	for ep := range e.endpoints {
		eps = append(eps, ep)
	}
	e.mu.Unlock()
	for _, ep := range eps {
		ep.Close()
	}
	return nil
}

// housekeeping walks every endpoint once a tick: RTCP when due, and the
// inactivity timeout.
func (e *Engine) housekeeping() {
	defer close(e.done)
	tick := 250 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	var eps []*Endpoint
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			eps = eps[:0]
			e.mu.Lock()
			for ep := range e.endpoints {
				eps = append(eps, ep)
			}
			e.mu.Unlock()
			for _, ep := range eps {
				ep.housekeep(now)
			}
		}
	}
}
