package web

import (
	"net/http"
	"strconv"
	"time"

	"pbx/queue"
)

// ContactCenter is what the admin API reads of the contact center
// (*queue.Center): live queue and agent states and statistics history.
// The queue log is read from the store.
type ContactCenter interface {
	Queues() []queue.QueueStatus
	Queue(name string) (queue.QueueStatus, bool)
	Agents() []queue.AgentStatus
	History(queue string, from, to time.Time) ([]queue.Bucket, error)
}

// Limits of GET /api/queue_log: entries are gathered in memory before
// they are sent, so a request takes a bounded number.
const (
	DefaultQueueLogLimit = 10000
	MaxQueueLogLimit     = 100000
)

// DefaultHistory is the span GET /api/queues/{name}/history covers when
// from is not given: the day before to (or now).
const DefaultHistory = 24 * time.Hour

// contactRoutes are the contact center's admin routes, loopback only like
// the rest of the admin API: they name callers and agents.
//
//	GET /api/queues                       every queue, live, with today's totals
//	GET /api/queues/{name}                one queue, with its callers and members; 404 if none
//	GET /api/queues/{name}/history?from=&to=  its statistics buckets, oldest first
//	GET /api/agents                       every agent, live
//	GET /api/queue_log?from=&to=&limit=   queue-log entries, oldest first
//
// Times are RFC 3339; to is excluded.
func (s *Server) contactRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/queues", LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nonNil(s.cc.Queues()))
	})))
	mux.Handle("GET /api/queues/{name}", LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, ok := s.cc.Queue(r.PathValue("name"))
		if !ok {
			http.Error(w, "no such queue", http.StatusNotFound)
			return
		}
		writeJSON(w, q)
	})))
	mux.Handle("GET /api/queues/{name}/history", LoopbackOnly(http.HandlerFunc(s.serveQueueHistory)))
	mux.Handle("GET /api/agents", LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, nonNil(s.cc.Agents()))
	})))
	mux.Handle("GET /api/queue_log", LoopbackOnly(http.HandlerFunc(s.serveQueueLog)))
}

func (s *Server) serveQueueHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.cc.Queue(name); !ok {
		http.Error(w, "no such queue", http.StatusNotFound)
		return
	}
	from, to, ok := timeRange(w, r)
	if !ok {
		return
	}
	if from.IsZero() {
		end := to
		if end.IsZero() {
			end = time.Now()
		}
		from = end.Add(-DefaultHistory)
	}
	b, err := s.cc.History(name, from, to)
	if err != nil {
		s.log.Error("queue history", "queue", name, "error", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, nonNil(b))
}

// serveQueueLog answers GET /api/queue_log: the entries of the store's
// queue log written in [from, to), oldest first, at most limit of them.
func (s *Server) serveQueueLog(w http.ResponseWriter, r *http.Request) {
	from, to, ok := timeRange(w, r)
	if !ok {
		return
	}
	limit := DefaultQueueLogLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxQueueLogLimit {
			http.Error(w, "limit: want 1 to "+strconv.Itoa(MaxQueueLogLimit), http.StatusBadRequest)
			return
		}
		limit = n
	}
	e, err := queue.ReadQlog(s.store, from, to, limit)
	if err != nil {
		s.log.Error("queue log", "error", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, nonNil(e))
}

// timeRange reads the optional from and to parameters, answering 400 when
// one is not a time or to is not after from.
func timeRange(w http.ResponseWriter, r *http.Request) (from, to time.Time, ok bool) {
	q := r.URL.Query()
	from, err := queryTime(q.Get("from"))
	if err != nil {
		http.Error(w, "from: "+err.Error(), http.StatusBadRequest)
		return from, to, false
	}
	to, err = queryTime(q.Get("to"))
	if err != nil {
		http.Error(w, "to: "+err.Error(), http.StatusBadRequest)
		return from, to, false
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		http.Error(w, "to: not after from", http.StatusBadRequest)
		return from, to, false
	}
	return from, to, true
}

// nonNil makes an empty list encode as [], not null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
