package rwi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"pbx/campaign"
	"pbx/config"
	"pbx/dialog"
	"pbx/queue"
)

// Path is where RWI is served on the HTTP listener.
const Path = "/rwi/v1"

// Subprotocol is the WebSocket subprotocol RWI offers.
const Subprotocol = "rwi-v1"

// SessionHeader carries the session id in the upgrade response, for
// session.resume after a reconnect.
const SessionHeader = "X-RWI-Session"

// Options are what a Server serves with.
type Options struct {
	Engine *dialog.Engine
	Config config.RWI
	Clock  dialog.Clock // nil means the wall clock
	Logger *slog.Logger
	// Metrics is where RWI's collectors go (pbx_rwi_*); nil keeps none.
	Metrics prometheus.Registerer
	// Queues is the contact center the queue.* and agent.* actions drive;
	// nil means the one serving Engine (queue.Of), looked up per command,
	// so a node may start its contact center after RWI.
	Queues *queue.Center
	// Campaigns are the campaigns the campaign.* actions drive; nil
	// means the node runs none, and those actions say so.
	Campaigns *campaign.Center
}

// Server accepts RWI connections and routes engine events to sessions.
// It owns the goroutines of its connections and of its event pump;
// Close stops them all.
type Server struct {
	e      *dialog.Engine
	cfg    config.RWI
	clock  dialog.Clock
	log    *slog.Logger
	tokens []*token
	mx     *metrics
	queues *queue.Center    // Options.Queues
	camps  *campaign.Center // Options.Campaigns

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session   // by id, connected or waiting to be resumed
	offers   map[string]*offer     // unclaimed rwi:CONTEXT legs, by leg id
	rooms    map[string]string     // conference rooms made over RWI -> the session that made them
	watchers map[string][]*session // leg id -> sessions watching it (attach in watch mode)
	queued   map[string]string     // leg id in a queue -> its owner when it joined, until queue.left (a caller who hangs up leaves after leg.ended)
	closed   bool

	upgrader websocket.Upgrader
}

// token is a configured token and its open connections.
type token struct {
	cfg    config.RWIToken
	scopes map[string]bool
	cidrs  []netip.Prefix
	conns  int // guarded by Server.mu
}

// New builds a server; it takes connections through Handler and routes
// events from the start.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = dialog.SystemClock{}
	}
	s := &Server{
		e: o.Engine, cfg: o.Config, clock: o.Clock, log: o.Logger, queues: o.Queues, camps: o.Campaigns,
		sessions: map[string]*session{}, offers: map[string]*offer{}, rooms: map[string]string{}, watchers: map[string][]*session{},
		queued: map[string]string{},
	}
	for _, tc := range o.Config.Tokens {
		// A token built in code (not read from a file) gets the
		// defaults pbx.yaml documents.
		if len(tc.CIDRs) == 0 {
			tc.CIDRs = config.DefaultRWICIDRs()
		}
		if tc.MaxConnections <= 0 {
			tc.MaxConnections = config.DefaultRWIMaxConnections
		}
		t := &token{cfg: tc, scopes: map[string]bool{}}
		for _, sc := range tc.Scopes {
			t.scopes[sc] = true
		}
		for _, c := range tc.CIDRs {
			p, err := config.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("rwi token %s: cidr %q: %w", tc.Name, c, err)
			}
			t.cidrs = append(t.cidrs, p)
		}
		s.tokens = append(s.tokens, t)
	}
	mx, err := newMetrics(o.Metrics, s)
	if err != nil {
		return nil, fmt.Errorf("rwi metrics: %w", err)
	}
	s.mx = mx
	s.upgrader = websocket.Upgrader{
		Subprotocols:     []string{Subprotocol},
		HandshakeTimeout: 10 * time.Second,
		// A browser page may drive RWI; the token, not the origin, is
		// what admits it.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	sub, err := s.e.Subscribe(dialog.EventFilter{Buffer: pumpBuffer})
	if err != nil {
		return nil, fmt.Errorf("rwi: subscribe to events: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.pump(sub)
	}()
	servers.Store(s.e, s)
	return s, nil
}

// servers finds the RWI server of an engine, for the rwi:CONTEXT target
// (one engine per node; tests run several nodes in one process).
var servers sync.Map // *dialog.Engine -> *Server

func serverOf(e *dialog.Engine) *Server {
	if v, ok := servers.Load(e); ok {
		return v.(*Server)
	}
	return nil
}

// Close disconnects every session, hands their legs to the fallback as
// orphans would be, and stops the server's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var conns []*conn
	for _, ss := range s.sessions {
		ss.mu.Lock()
		if ss.conn != nil {
			conns = append(conns, ss.conn)
		}
		if ss.orphan != nil {
			ss.orphan.Stop()
		}
		ss.mu.Unlock()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close(websocket.CloseGoingAway, "server stopping")
	}
	servers.CompareAndDelete(s.e, s)
	s.cancel()
	s.wg.Wait()
}

// authenticate finds the token of a request (Authorization: Bearer, or
// ?token=) that may connect from its address. Unknown tokens and tokens
// used from elsewhere are refused alike.
func (s *Server) authenticate(r *http.Request) *token {
	secret := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); h != "" {
		if v, ok := strings.CutPrefix(h, "Bearer "); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if secret == "" {
		return nil
	}
	var found *token
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(t.cfg.Token), []byte(secret)) == 1 {
			found = t
		}
	}
	if found == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	a = a.Unmap()
	for _, p := range found.cidrs {
		if p.Contains(a) {
			return found
		}
	}
	s.log.Warn("rwi token used from outside its networks", "token", found.cfg.Name, "remote", host)
	return nil
}

// ServeHTTP authenticates and upgrades a connection, then serves it until
// it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.authenticate(r)
	if t == nil {
		unauthorized(w, "invalid_token")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	if t.conns >= t.cfg.MaxConnections {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(encodeResponse("", nil, fail(CodeRateLimited, "token %s has %d connections open, its limit", t.cfg.Name, t.cfg.MaxConnections)))
		return
	}
	t.conns++
	sess := s.newSessionLocked(t)
	s.wg.Add(1) // under mu: Close waits only after closed is set
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		t.conns--
		s.mu.Unlock()
	}()
	ws, err := s.upgrader.Upgrade(w, r, http.Header{SessionHeader: {sess.id}})
	if err != nil {
		s.dropSession(sess)
		return // the upgrader has answered
	}
	c := newConn(ws, s.cfg.MaxFrame, s.log)
	s.serve(c, sess)
}

func unauthorized(w http.ResponseWriter, why string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="rwi", error="`+why+`"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

func (s *Server) newSessionLocked(t *token) *session {
	ss := &session{srv: s, id: newID(), tok: t, names: map[string]string{}, aliases: map[string]string{}, contexts: map[string]bool{}, offered: map[string]string{}, owned: map[string]bool{}, queued: map[string]bool{}}
	ss.tag = "rwi:" + ss.id
	ss.bucket = float64(burst(s.cfg.OriginateRate))
	ss.refilled = s.clock.Now()
	s.sessions[ss.id] = ss
	return ss
}

func (s *Server) dropSession(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
	s.mu.Unlock()
}

func (s *Server) session(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

func burst(rate float64) int {
	if rate < 1 {
		return 1
	}
	return int(rate)
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
