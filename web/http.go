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
	"strconv"
	"sync"
	"time"

	"pbx/dialog"
	"pbx/recordings"
	"pbx/sip"
	"pbx/store"
)

// Options are the parts of the node the HTTP surface reads.
type Options struct {
	Engine     *dialog.Engine
	Location   *sip.Location
	Guard      *sip.Guard
	Store      *store.Store
	Recordings *recordings.Archive
	// RecordingsToken guards the recordings mount; see recordings.Archive.Handler.
	RecordingsToken string
	// Metrics serves /metrics (metrics.Metrics.Handler); nil leaves it out.
	Metrics http.Handler
	// Contact is the contact center, read by /api/queues, /api/agents and
	// /api/queue_log; nil (no contact center) leaves those routes out.
	Contact ContactCenter
	// Campaigns are the campaigns (*campaign.Center), served under
	// /api/campaigns, /api/forms and /api/contacts; nil leaves those out.
	Campaigns Campaigns
	// Handlers are more routes, by ServeMux pattern: the control planes
	// that speak over HTTP (RWI's WebSocket).
	Handlers map[string]http.Handler
	Logger   *slog.Logger
}

// Server is the HTTP listener and its routes. It owns the goroutine that
// serves; Shutdown stops it and waits for it.
type Server struct {
	engine  *dialog.Engine
	metrics http.Handler
	loc     *sip.Location
	guard   *sip.Guard
	store   *store.Store
	rec     *recordings.Archive
	cc      ContactCenter
	camps   Campaigns
	token   string
	extra   map[string]http.Handler
	log     *slog.Logger

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
		engine: o.Engine, metrics: o.Metrics, loc: o.Location, guard: o.Guard,
		store: o.Store, rec: o.Recordings, cc: o.Contact, camps: o.Campaigns, token: o.RecordingsToken, extra: o.Handlers, log: o.Logger,
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
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics)
	}
	// Recordings: listing and download, behind the token of pbx.yaml.
	rec := s.rec.Handler(s.token)
	mux.Handle("/recordings", rec)
	mux.Handle("/recordings/", rec)
	mux.Handle("GET /api/cdr", LoopbackOnly(http.HandlerFunc(s.serveCDR)))
	mux.Handle("GET /api/cdr/export", LoopbackOnly(http.HandlerFunc(s.serveCDRExport)))
	mux.Handle("GET /api/bans", LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.guard.Bans())
	})))
	mux.Handle("GET /api/registrations", LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.loc.All())
	})))
	if s.cc != nil {
		s.contactRoutes(mux)
	}
	if s.camps != nil {
		s.campaignRoutes(mux)
	}
	for pattern, h := range s.extra {
		mux.Handle(pattern, h)
	}
	// Profiles for whoever runs the PBX, from the machine itself.
	mux.Handle("/debug/pprof/", LoopbackOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", LoopbackOnly(http.HandlerFunc(pprof.Profile)))
	return mux
}

// LoopbackOnly keeps the admin API to the machine itself: it lists call
// records and addresses, which are nobody else's business. The node's
// own admin routes (the ECCP clients) go behind it too.
func LoopbackOnly(h http.Handler) http.Handler {
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

// The trailers of GET /api/cdr/export: how many records the body holds,
// or the error that cut it short once the status was sent.
const (
	ExportCountTrailer = "X-Export-Count"
	ExportErrorTrailer = "X-Export-Error"
)

// serveCDRExport streams the call records that started in [from, to) as
// csv or json (store.ExportCDRs), for `pbx cdr export`. Both bounds are
// optional RFC 3339 times. The body is written as the records are read,
// so the count comes in a trailer; a reader that finds no count trailer
// got a truncated export.
func (s *Server) serveCDRExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := queryTime(q.Get("from"))
	if err != nil {
		http.Error(w, "from: "+err.Error(), http.StatusBadRequest)
		return
	}
	to, err := queryTime(q.Get("to"))
	if err != nil {
		http.Error(w, "to: "+err.Error(), http.StatusBadRequest)
		return
	}
	format := q.Get("format")
	switch format {
	case "":
		format = store.FormatCSV
	case store.FormatCSV, store.FormatJSON:
	default:
		http.Error(w, "format: want csv or json", http.StatusBadRequest)
		return
	}
	ctype := "text/csv; charset=utf-8"
	if format == store.FormatJSON {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Trailer", ExportCountTrailer+", "+ExportErrorTrailer)
	n, err := s.store.ExportCDRs(w, from, to, format)
	if err != nil {
		s.log.Error("cdr export", "from", from, "to", to, "written", n, "error", err)
		w.Header().Set(ExportErrorTrailer, err.Error())
		return
	}
	w.Header().Set(ExportCountTrailer, strconv.Itoa(n))
}

// queryTime reads an optional RFC 3339 query parameter; "" is the zero time.
func queryTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time")
	}
	return t, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
