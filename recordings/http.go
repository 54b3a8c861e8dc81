package recordings

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// Handler serves the recordings over HTTP:
//
//	GET    /recordings            the index as JSON, newest first; query
//	                              call_id, since (RFC 3339 or a duration
//	                              such as 24h), limit
//	GET    /recordings/{id}       the WAV (audio/wav; Range requests work)
//	DELETE /recordings/{id}       remove a finished recording
//
// Mount it where it sees those paths whole (at "/recordings" and
// "/recordings/", without stripping the prefix). Every request must carry
// token, as "Authorization: Bearer <token>" or "?token=<token>", or it is
// answered 401. An empty token disables the API: everything is 403.
// Unknown ids are 404, a recording in progress cannot be downloaded nor
// removed (409).
func (a *Archive) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recordings", a.serveList)
	mux.HandleFunc("GET /recordings/{id}", a.serveFile)
	mux.HandleFunc("DELETE /recordings/{id}", a.serveDelete)
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.Error(w, "recording downloads are disabled", http.StatusForbidden)
			return
		}
		got, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="recordings"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// bearer is the token a request carries, from its Authorization header or
// its token query parameter.
func bearer(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		return "", false
	}
	if tok := r.URL.Query().Get("token"); tok != "" {
		return tok, true
	}
	return "", false
}

func (a *Archive) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{CallID: q.Get("call_id")}
	if s := q.Get("since"); s != "" {
		t, err := ParseSince(s, a.opts.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.Since = t
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			http.Error(w, "limit: want a whole number", http.StatusBadRequest)
			return
		}
		f.Limit = n
	}
	list, err := a.List(f)
	if err != nil {
		a.log.Error("recordings list", "err", err)
		http.Error(w, "cannot read the index", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

func (a *Archive) serveFile(w http.ResponseWriter, r *http.Request) {
	e, ok := a.entryFor(w, r)
	if !ok {
		return
	}
	p, err := a.path(e)
	if err != nil {
		a.log.Error("recordings download", "id", e.ID, "err", err)
		http.Error(w, "bad index entry", http.StatusInternalServerError)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		a.log.Error("recordings download", "id", e.ID, "err", err)
		http.Error(w, "recording file missing", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "recording file unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+path.Base(e.Path)+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (a *Archive) serveDelete(w http.ResponseWriter, r *http.Request) {
	e, ok := a.entryFor(w, r)
	if !ok {
		return
	}
	if err := a.Remove(e.ID); err != nil {
		a.log.Error("recordings delete", "id", e.ID, "err", err)
		http.Error(w, "cannot remove", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// entryFor finds the finished recording a request names, or answers 404
// or 409 itself.
func (a *Archive) entryFor(w http.ResponseWriter, r *http.Request) (Entry, bool) {
	e, err := a.Get(r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "no such recording", http.StatusNotFound)
		return Entry{}, false
	case err != nil:
		a.log.Error("recordings index", "err", err)
		http.Error(w, "cannot read the index", http.StatusInternalServerError)
		return Entry{}, false
	case e.Active:
		http.Error(w, "recording in progress", http.StatusConflict)
		return Entry{}, false
	}
	return e, true
}

// ParseSince reads a "since" value as the command line and the HTTP API
// take it: a duration before now (24h) or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("since: want a duration (24h) or an RFC 3339 time")
}
