package agentrpc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"pbx/config"
	"pbx/dialog"
	"pbx/prompts"
)

// Options are what a Server serves with.
type Options struct {
	Engine    *dialog.Engine
	Config    config.AgentRPC
	Endpoints map[string]config.Endpoint
	// Prompts is the directory of the PBX's prompts (sounds.prompts),
	// where file:// URIs are found when Config.PlaybackDir is "".
	Prompts string
	Clock   dialog.Clock // nil means the wall clock
	Logger  *slog.Logger
	// Metrics is where the pbx_agentrpc_* collectors go; nil keeps none.
	Metrics prometheus.Registerer
}

// Server accepts bots and offers them the calls of their endpoints. It
// owns the goroutines of its connections and of the calls they control;
// Close stops them all.
type Server struct {
	e         *dialog.Engine
	cfg       config.AgentRPC
	endpoints map[string]config.Endpoint
	playback  *prompts.Library
	clock     dialog.Clock
	log       *slog.Logger
	mx        *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[string][]*conn // by endpoint, in connection order
	closed bool

	upgrader websocket.Upgrader
	http     *http.Server
	ln       net.Listener
}

// New builds a server and makes it the one that serves agentrpc:NAME
// targets for its engine. Start listens.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = dialog.SystemClock{}
	}
	dir := o.Config.PlaybackDir
	if dir == "" {
		dir = o.Prompts
	}
	s := &Server{
		e: o.Engine, cfg: o.Config, endpoints: o.Endpoints, playback: prompts.New(dir),
		clock: o.Clock, log: o.Logger, conns: map[string][]*conn{},
	}
	mx, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("agentrpc metrics: %w", err)
	}
	s.mx = mx
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Bots are programs, not pages; the address and the token admit them.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	servers.Store(s.e, s)
	return s, nil
}

// servers finds the server of an engine, for the agentrpc:NAME target
// (one engine per node; tests run several nodes in one process).
var servers sync.Map // *dialog.Engine -> *Server

func serverOf(e *dialog.Engine) *Server {
	if v, ok := servers.Load(e); ok {
		return v.(*Server)
	}
	return nil
}

// Start listens on addr and serves bots until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agent rpc listen %s: %w", addr, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("agent rpc server", "error", err)
		}
	}()
	s.log.Info("agent rpc listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address Start bound, nil before.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close disconnects every bot and stops the server's goroutines. Calls a
// bot still controls stay up, with nobody steering them, for the engine
// to end: a node closes Agent RPC after draining its calls, so bots keep
// their calls through the drain.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var all []*conn
	for _, cs := range s.conns {
		all = append(all, cs...)
	}
	s.mu.Unlock()
	s.cancel() // first: calls see the server stop, not a bot leave, and skip the fallback
	if s.http != nil {
		s.http.Close()
	}
	for _, c := range all {
		c.close()
	}
	servers.CompareAndDelete(s.e, s)
	s.wg.Wait()
}

// ServeHTTP checks a bot's request, as diagox answers it, then upgrades
// it and serves the connection until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.log.Warn("agent rpc connection refused: bad token", "remote", r.RemoteAddr)
		plain(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	name := r.URL.Query().Get("endpoint")
	if name == "" {
		plain(w, http.StatusBadRequest, "Endpoint parameter required")
		return
	}
	ep, ok := s.endpoints[name]
	if !ok || !ep.IsAgent() {
		plain(w, http.StatusNotFound, "No endpoint found")
		return
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		plain(w, http.StatusServiceUnavailable, "Server stopping")
		return
	case len(s.conns[name]) >= ep.MaxConnections:
		s.mu.Unlock()
		s.log.Warn("agent rpc connection refused: endpoint full", "endpoint", name, "remote", r.RemoteAddr, "max", ep.MaxConnections)
		plain(w, http.StatusBadRequest, "Maximum connection of agent reached")
		return
	}
	c := newConn(s, name, r.RemoteAddr)
	s.conns[name] = append(s.conns[name], c) // holds the place while upgrading
	s.wg.Add(1)                              // under mu: Close waits only after closed is set
	s.mu.Unlock()
	defer s.wg.Done()
	defer s.drop(c)
	defer c.close()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(int64(s.cfg.MaxFrame))
	c.attach(ws)
	s.mx.connections.Inc()
	defer s.mx.connections.Dec()
	c.log.Info("bot connected")
	c.serve()
	c.log.Info("bot disconnected")
}

// authorized checks the token when one is configured.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	secret := r.URL.Query().Get("token")
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		secret = strings.TrimSpace(v)
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.Token)) == 1
}

// plain answers a request it refuses before the upgrade: a status and a
// text body, as diagox words it.
func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(msg))
}

// drop forgets a connection that closed.
func (s *Server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.conns[c.endpoint]
	for i, x := range cs {
		if x == c {
			s.conns[c.endpoint] = append(cs[:i:i], cs[i+1:]...)
			break
		}
	}
}

// pick chooses the connection of an endpoint to offer a call to, among
// those not tried yet: at random, or the one controlling fewest calls.
func (s *Server) pick(name string, tried map[*conn]bool) *conn {
	s.mu.Lock()
	var free []*conn
	for _, c := range s.conns[name] {
		if !tried[c] && c.ready() {
			free = append(free, c)
		}
	}
	s.mu.Unlock()
	if len(free) == 0 {
		return nil
	}
	if s.endpoints[name].Balance == "least_busy" {
		best := free[0]
		for _, c := range free[1:] {
			if c.load() < best.load() {
				best = c
			}
		}
		return best
	}
	return free[rand.IntN(len(free))]
}
