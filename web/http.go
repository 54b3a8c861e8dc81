package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"sort"
	"sync"
	"time"

	"pbx/dialog"
	"pbx/media"
	"pbx/recordings"
	"pbx/sip"
	"pbx/store"
)

// Options are the parts of the node the HTTP surface reads.
type Options struct {
	Engine     *dialog.Engine
	Media      *media.Engine
	Location   *sip.Location
	Guard      *sip.Guard
	Store      *store.Store
	Recordings *recordings.Archive
	// RecordingsToken guards the recordings mount; see recordings.Archive.Handler.
	RecordingsToken string
	Logger          *slog.Logger
}

// Server is the HTTP listener and its routes. It owns the goroutine that
// serves; Shutdown stops it and waits for it.
type Server struct {
	engine *dialog.Engine
	media  *media.Engine
	loc    *sip.Location
	guard  *sip.Guard
	store  *store.Store
	rec    *recordings.Archive
	token  string
	log    *slog.Logger

	http *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
}

// New builds the HTTP surface; nothing listens until Start.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		engine: o.Engine, media: o.Media, loc: o.Location, guard: o.Guard,
		store: o.Store, rec: o.Recordings, token: o.RecordingsToken, log: o.Logger,
	}
}

// Start listens on addr (":0" picks a free port) and serves in the
// background until Shutdown.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", addr, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http", "error", err)
		}
	}()
	s.log.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// Addr is where the listener listens, "" before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops taking requests, lets those in flight finish until ctx
// ends, and waits for the serving goroutine. It is a no-op before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	err := s.http.Shutdown(ctx)
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// Handler is every route of the HTTP surface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.engine.Draining() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	// Recordings: listing and download, behind the token of pbx.yaml.
	rec := s.rec.Handler(s.token)
	mux.Handle("/recordings", rec)
	mux.Handle("/recordings/", rec)
	mux.Handle("GET /api/cdr", loopbackOnly(http.HandlerFunc(s.serveCDR)))
	mux.Handle("GET /api/bans", loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.guard.Bans())
	})))
	mux.Handle("GET /api/registrations", loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.loc.All())
	})))
	// Profiles for whoever runs the PBX, from the machine itself.
	mux.Handle("/debug/pprof/", loopbackOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", loopbackOnly(http.HandlerFunc(pprof.Profile)))
	return mux
}

// loopbackOnly keeps the admin API to the machine itself: it lists call
// records and addresses, which are nobody else's business.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Unmap().IsLoopback() {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) serveCDR(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			http.Error(w, "since: want RFC 3339 time", http.StatusBadRequest)
			return
		}
		since = t
	}
	cdrs, err := s.store.CDRs(since, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if cdrs == nil {
		cdrs = []store.CDR{}
	}
	writeJSON(w, cdrs)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveMetrics writes Prometheus text exposition format.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m := s.engine.Metrics()
	regs := s.loc.All()
	aors := map[string]bool{}
	for _, b := range regs {
		aors[b.AOR] = true
	}
	metric(w, "pbx_registrations", "gauge", "Registered contacts.", float64(len(regs)))
	metric(w, "pbx_registered_aors", "gauge", "Addresses of record with at least one contact.", float64(len(aors)))
	metric(w, "pbx_calls_active", "gauge", "Calls in progress.", float64(s.engine.ActiveCalls()))
	metric(w, "pbx_calls_started_total", "counter", "Calls taken.", float64(m.CallsStarted.Load()))
	fmt.Fprintf(w, "# HELP pbx_calls_total Calls ended, by disposition.\n# TYPE pbx_calls_total counter\n")
	res := m.Results()
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "pbx_calls_total{result=%q} %d\n", k, res[k])
	}
	t := s.media.Totals()
	metric(w, "pbx_rtp_packets_in_total", "counter", "RTP packets received.", float64(t.PacketsIn))
	metric(w, "pbx_rtp_packets_out_total", "counter", "RTP packets sent.", float64(t.PacketsOut))
	metric(w, "pbx_rtp_bytes_in_total", "counter", "RTP bytes received.", float64(t.BytesIn))
	metric(w, "pbx_rtp_bytes_out_total", "counter", "RTP bytes sent.", float64(t.BytesOut))
	metric(w, "pbx_rtp_packets_lost_total", "counter", "RTP packets lost on receive (sequence gaps).", float64(t.Lost))
	metric(w, "pbx_rtp_endpoints", "gauge", "Open RTP endpoints.", float64(t.Endpoints))
	metric(w, "pbx_auth_failures_total", "counter", "Failed digest authentications, REGISTER and INVITE.", float64(s.guard.Failures()))
	metric(w, "pbx_bans_active", "gauge", "Sources banned now.", float64(len(s.guard.Bans())))
}

func metric(w http.ResponseWriter, name, typ, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", name, help, name, typ, name, v)
}
