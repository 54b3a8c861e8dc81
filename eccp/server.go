package eccp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"pbx/campaign"
	"pbx/config"
	"pbx/dialog"
	"pbx/queue"
	"pbx/store"

	"github.com/prometheus/client_golang/prometheus"
)

// Options are what a Server works with.
type Options struct {
	Config    config.ECCP
	Engine    *dialog.Engine
	Queue     *queue.Center
	Campaigns *campaign.Center
	Store     *store.Store // where clients added with `pbx eccp client` are kept
	Users     []config.User
	Agents    []config.Agent
	Breaks    []config.Break
	Queues    []config.Queue
	Clock     dialog.Clock // nil means the wall clock
	Logger    *slog.Logger
	// Metrics is where the pbx_eccp_* collectors go; nil keeps none.
	Metrics prometheus.Registerer
}

// maxDocument is the largest request accepted: saveformdata with a few
// hundred fields fits easily.
const maxDocument = 1 << 20

// Server accepts ECCP clients. It owns the goroutines of its listeners,
// its sessions, its event pump and its timers' callbacks (login and
// recording-mute timeouts); Close stops them all, and a timer that fires
// after Close does nothing.
type Server struct {
	cfg    config.ECCP
	e      *dialog.Engine
	q      *queue.Center
	camp   *campaign.Center
	st     *store.Store
	clock  dialog.Clock
	log    *slog.Logger
	allow  []netip.Prefix
	users  map[string]bool
	agents []*agentRef // in config order
	byName map[string]*agentRef
	breaks []config.Break
	queues []config.Queue
	cert   tls.Certificate
	hasTLS bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	ln, tlsLn net.Listener

	mu       sync.Mutex
	sessions map[*session]struct{}

	track *tracker
	mx    *metrics
}

// New prepares a server; Start listens.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = dialog.SystemClock{}
	}
	s := &Server{
		cfg: o.Config, e: o.Engine, q: o.Queue, camp: o.Campaigns, st: o.Store, clock: o.Clock, log: o.Logger,
		users: map[string]bool{}, byName: map[string]*agentRef{}, breaks: o.Breaks, queues: o.Queues,
		sessions: map[*session]struct{}{},
	}
	allow := o.Config.AuthorizedIPs
	if len(allow) == 0 {
		allow = config.DefaultECCPAuthorizedIPs()
	}
	for _, c := range allow {
		p, err := parsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("eccp authorized_ips: %w", err)
		}
		s.allow = append(s.allow, p)
	}
	for _, u := range o.Users {
		s.users[u.Extension] = true
	}
	for _, a := range o.Agents {
		r := newAgentRef(a)
		s.agents = append(s.agents, r)
		s.byName[r.Name] = r
	}
	if o.Config.TLS != "" {
		cert, err := tls.LoadX509KeyPair(o.Config.TLSCert, o.Config.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("eccp tls: %w", err)
		}
		s.cert, s.hasTLS = cert, true
	}
	mx, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("eccp metrics: %w", err)
	}
	s.mx = mx
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.track = newTracker(s)
	return s, nil
}

// parsePrefix reads a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Start listens on the configured addresses and starts following the
// contact center's events.
func (s *Server) Start() error {
	if err := s.track.start(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.cancel()
		return fmt.Errorf("eccp listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.goRun(func() { s.accept(ln) })
	if s.hasTLS {
		tl, err := net.Listen("tcp", s.cfg.TLS)
		if err != nil {
			ln.Close()
			s.cancel()
			return fmt.Errorf("eccp tls listen %s: %w", s.cfg.TLS, err)
		}
		s.tlsLn = tls.NewListener(tl, &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12})
		s.goRun(func() { s.accept(s.tlsLn) })
	}
	s.log.Info("eccp listening", "addr", ln.Addr().String(), "tls", s.TLSAddr())
	return nil
}

// Addr is the plain TCP address listened on, "" before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// TLSAddr is the TLS address listened on, "" when TLS is off.
func (s *Server) TLSAddr() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// Close stops listening and closes every session. Agents stay logged
// in: their logins belong to them, not to the connections.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	s.mu.Lock()
	open := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		open = append(open, ss)
	}
	s.mu.Unlock()
	for _, ss := range open { // close takes s.mu to forget the session
		ss.close("server stopping")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("eccp close: %w", ctx.Err())
	}
}

// goRun runs f on a goroutine the server owns: Close waits for it. It
// is called from the server's own goroutines (or before Start returns),
// so the wait group never counts up from zero while Close waits.
func (s *Server) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// afterFunc runs f after d, unless Close came first; Close waits for an
// f that has started. The check and the count are made under s.mu, which
// Close takes after cancelling and before waiting.
func (s *Server) afterFunc(d time.Duration, f func()) dialog.Timer {
	return s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		f()
	})
}

func (s *Server) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Error("eccp accept", "error", err)
			time.Sleep(50 * time.Millisecond) // out of descriptors: let some close
			continue
		}
		if !s.authorized(c.RemoteAddr()) {
			// The protocol says: close at once, and log it.
			s.log.Warn("eccp connection refused: address not in authorized_ips", "remote", c.RemoteAddr().String())
			s.mx.refused.Inc()
			c.Close()
			continue
		}
		ss := newSession(s, c)
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.sessions[ss] = struct{}{}
		s.mx.sessions.Inc()
		s.mu.Unlock()
		s.goRun(ss.writeLoop)
		s.goRun(ss.readLoop)
	}
}

// authorized reports whether a client's address is in authorized_ips.
func (s *Server) authorized(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	return slices.ContainsFunc(s.allow, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// forget drops a closed session.
func (s *Server) forget(ss *session) {
	s.mu.Lock()
	if _, ok := s.sessions[ss]; ok {
		delete(s.sessions, ss)
		s.mx.sessions.Dec()
	}
	s.mu.Unlock()
}

// outEvent is an event document and who receives it.
type outEvent struct {
	agent    string // the agent it concerns, for filterbyagent; "" for none
	progress bool   // a callprogress event: only to sessions that asked
	doc      []byte
}

// emit sends an event to every logged-in session that wants it. It only
// queues the document, so a request's events are written before its
// response, which is queued after.
func (s *Server) emit(name string, agent string, kids ...*node) {
	ev := outEvent{agent: agent, progress: name == "callprogress", doc: encode(el("event", el(name, kids...)))}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.sessions {
		if ss.event(ev) {
			s.mx.events.Inc()
		}
	}
}

// stamp is a date and time as ECCP writes them, "" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(time.DateTime)
}
