package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"pbx/internal/testkit"
	"pbx/queue"
	"pbx/web"
)

// The contact-center routes on a running PBX's contact center: loopback
// only, and their parameters checked.
func TestContactRoutes(t *testing.T) {
	p := testkit.StartPBX(t, "")
	h := web.New(web.Options{Engine: p.Engine(), Store: p.Store(), Contact: queue.Of(p.Engine())}).Handler()
	get := func(path, from string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = from
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	tests := []struct {
		path string
		code int
	}{
		{"/api/queues", http.StatusOK},
		{"/api/queues/support", http.StatusOK},
		{"/api/queues/nosuch", http.StatusNotFound},
		{"/api/queues/support/history", http.StatusOK},
		{"/api/queues/support/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", http.StatusOK},
		{"/api/queues/support/history?from=yesterday", http.StatusBadRequest},
		{"/api/queues/support/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", http.StatusBadRequest},
		{"/api/queues/nosuch/history", http.StatusNotFound},
		{"/api/agents", http.StatusOK},
		{"/api/queue_log", http.StatusOK},
		{"/api/queue_log?limit=5&from=2026-01-01T00:00:00Z", http.StatusOK},
		{"/api/queue_log?limit=0", http.StatusBadRequest},
		{"/api/queue_log?limit=100001", http.StatusBadRequest},
		{"/api/queue_log?to=noon", http.StatusBadRequest},
		{"/api/cdr/export?format=csv", http.StatusOK},
		{"/api/cdr/export?format=table", http.StatusBadRequest},
		{"/api/cdr/export?from=x", http.StatusBadRequest},
	}
	for _, tc := range tests {
		if w := get(tc.path, "192.0.2.7:40000"); w.Code != http.StatusForbidden {
			t.Errorf("%s from 192.0.2.7: %d, want 403", tc.path, w.Code)
		}
		if w := get(tc.path, "127.0.0.1:40000"); w.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.path, w.Code, w.Body, tc.code)
		}
	}

	var qs []queue.QueueStatus
	if err := json.Unmarshal(get("/api/queues", "[::1]:40000").Body.Bytes(), &qs); err != nil || len(qs) != 1 || qs[0].Name != "support" {
		t.Fatalf("queues (%v): %+v", err, qs)
	}
	var as []queue.AgentStatus
	if err := json.Unmarshal(get("/api/agents", "127.0.0.1:1").Body.Bytes(), &as); err != nil || len(as) != 2 {
		t.Fatalf("agents (%v): %+v", err, as)
	}
	// Empty lists are [], not null.
	for _, path := range []string{"/api/queues/support/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", "/api/queue_log?to=2000-01-01T00:00:00Z"} {
		if b := get(path, "127.0.0.1:1").Body.String(); b != "[]\n" {
			t.Errorf("%s: %q", path, b)
		}
	}
	// With no contact center, the routes are not there.
	bare := web.New(web.Options{Engine: p.Engine(), Store: p.Store()}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/queues", nil)
	req.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	bare.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound {
		t.Errorf("/api/queues with no contact center: %d", w.Code)
	}
}
