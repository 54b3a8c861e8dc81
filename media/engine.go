package media

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Config sets up an Engine. The zero value of each field has a meaning:
// see Validate and NewEngine.
type Config struct {
	// BindIP is the address RTP sockets bind to: 0.0.0.0 in production,
	// 127.0.0.1 in tests. The zero Addr means 0.0.0.0.
	BindIP netip.Addr
	// PortMin and PortMax bound the RTP ports (even) and their RTCP ports
	// (RTP + 1). 0, 0 lets the kernel pick, as tests do.
	PortMin, PortMax int
	// Timeout is the RTP inactivity timeout a new endpoint starts with;
	// SetTimeout replaces it. 0 disables.
	Timeout time.Duration
	// RTCPEvery is the RTCP report interval of each endpoint; 0 means 5 s.
	RTCPEvery time.Duration
	// Logger receives the engine's logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for timestamps, statistics and timeouts; nil means
	// time.Now. Tests inject one to assert exact RTP timestamps.
	Now func() time.Time
}

const defaultRTCPEvery = 5 * time.Second

// Validate reports a configuration the engine cannot run with, naming the
// field.
func (c Config) Validate() error {
	switch {
	case c.PortMin == 0 && c.PortMax == 0:
	case c.PortMin < 1 || c.PortMax > 65535 || c.PortMin > c.PortMax:
		return fmt.Errorf("media: ports %d-%d: want 1 <= PortMin <= PortMax <= 65535, or both 0", c.PortMin, c.PortMax)
	default:
		if first, last := firstLastPair(c.PortMin, c.PortMax); last < first {
			return fmt.Errorf("media: ports %d-%d: no even RTP port with its RTCP port in range", c.PortMin, c.PortMax)
		}
	}
	if c.BindIP.IsValid() && c.BindIP.Zone() != "" {
		return fmt.Errorf("media: bind IP %s: zones are not supported", c.BindIP)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("media: timeout %s is negative", c.Timeout)
	}
	if c.RTCPEvery < 0 {
		return fmt.Errorf("media: RTCP interval %s is negative", c.RTCPEvery)
	}
	return nil
}

// Totals are engine-wide counters for metrics: those of open endpoints
// plus those of every endpoint closed before.
type Totals struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut, Lost uint64
	Endpoints                                      int // open now
}

// Engine owns the RTP port pool and the endpoints made from it, and runs
// one housekeeping goroutine for all of them (RTCP reports, inactivity
// timeouts): no goroutine or ticker per call.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	epoch time.Time // endpoints keep times as offsets from it
	pool  *portPool
	cname string // RTCP canonical name
	tick  time.Duration
	clock *Clock

	mu        sync.Mutex
	endpoints map[*Endpoint]struct{}
	closedSum Totals // of endpoints closed so far
	closed    bool

	readers sync.WaitGroup    // every endpoint's RTP reader
	rtcpBuf [maxDatagram]byte // the housekeeping goroutine's, for every RTCP socket
	stop    chan struct{}
	done    chan struct{}

	rtcpSeen chan *Endpoint // test hook: told of each RTCP packet parsed
}

// NewEngine validates cfg, fills in its defaults and starts the
// housekeeping goroutine.
func NewEngine(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.BindIP.IsValid() {
		cfg.BindIP = netip.IPv4Unspecified()
	}
	cfg.BindIP = cfg.BindIP.Unmap()
	if cfg.RTCPEvery == 0 {
		cfg.RTCPEvery = defaultRTCPEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		cfg:       cfg,
		log:       cfg.Logger,
		now:       now,
		epoch:     now(),
		pool:      newPortPool(cfg.BindIP, cfg.PortMin, cfg.PortMax),
		cname:     fmt.Sprintf("pbx-%016x", rand.Uint64()),
		tick:      max(min(cfg.RTCPEvery, 100*time.Millisecond), 10*time.Millisecond),
		endpoints: map[*Endpoint]struct{}{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	e.clock = newClock()
	go e.housekeeping()
	return e, nil
}

var errEngineClosed = errors.New("media: engine closed")

// NewEndpoint binds an RTP socket (RTCP follows once media flows) and starts its reader. The
// endpoint starts with PCMU, no remote, no handler, and the engine's
// inactivity timeout with no callback.
func (e *Engine) NewEndpoint() (*Endpoint, error) {
	rtpConn, err := e.pool.acquire()
	if err != nil {
		return nil, err // ErrNoPorts, or a bind error naming the address
	}
	ep, err := newEndpoint(e, rtpConn, e.now())
	if err != nil {
		rtpConn.Close()
		e.pool.release(rtpConn.LocalAddr().(*net.UDPAddr).Port)
		return nil, fmt.Errorf("media: new endpoint: %w", err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		rtpConn.Close()
		e.pool.release(ep.rtpPort())
		return nil, fmt.Errorf("media: new endpoint: %w", errEngineClosed)
	}
	e.endpoints[ep] = struct{}{}
	e.readers.Add(1)
	ep.reading.Add(1)
	e.mu.Unlock()
	go ep.readRTP()
	e.log.Debug("rtp endpoint open", "local", ep.local)
	return ep, nil
}

// forget drops a closed endpoint, keeps its counters in the totals and
// returns its ports to the pool.
func (e *Engine) forget(ep *Endpoint) {
	s := ep.Stats()
	e.mu.Lock()
	delete(e.endpoints, ep)
	add(&e.closedSum, s)
	e.mu.Unlock()
	e.pool.release(ep.rtpPort())
	e.log.Debug("rtp endpoint closed", "local", ep.local, "packets_in", s.PacketsIn, "packets_out", s.PacketsOut, "lost", s.Lost)
}

func add(t *Totals, s Stats) {
	t.PacketsIn += s.PacketsIn
	t.PacketsOut += s.PacketsOut
	t.BytesIn += s.BytesIn
	t.BytesOut += s.BytesOut
	t.Lost += s.Lost
}

// Clock is the engine's 20 ms clock, which paces every generated stream.
func (e *Engine) Clock() *Clock { return e.clock }

// Totals sums the counters of every endpoint, open or closed, for metrics.
func (e *Engine) Totals() Totals {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.closedSum
	for ep := range e.endpoints {
		add(&t, ep.Stats())
	}
	t.Endpoints = len(e.endpoints)
	return t
}

// Close stops housekeeping, closes every endpoint and waits for all their
// goroutines. It must not be called from a handler or a timeout callback.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	close(e.stop)
	<-e.done
	e.clock.close()
	var errs []error
	for _, ep := range e.snapshot(nil) {
		errs = append(errs, ep.Close())
	}
	e.readers.Wait()
	return errors.Join(errs...)
}

// snapshot appends the open endpoints to eps.
func (e *Engine) snapshot(eps []*Endpoint) []*Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ep := range e.endpoints {
		eps = append(eps, ep)
	}
	return eps
}

// housekeeping is the engine's one timer goroutine: each tick it walks the
// endpoints for inactivity and due RTCP reports.
func (e *Engine) housekeeping() {
	defer close(e.done)
	t := time.NewTicker(e.tick)
	defer t.Stop()
	var eps []*Endpoint
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		now := e.now()
		eps = e.snapshot(eps[:0])
		for _, ep := range eps {
			ep.housekeep(now)
		}
		clear(eps) // let closed endpoints go
	}
}
