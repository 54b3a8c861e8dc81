package recordings

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pbx/wav"
)

func TestHTTP(t *testing.T) {
	const token = "s3cret-token"
	a, _, logs := testArchive(t, Options{Format: Stereo})
	e := record(t, a, Meta{CallID: "call-1"}, StartOptions{}, 50)
	record(t, a, Meta{CallID: "call-2"}, StartOptions{}, 5)
	live, _ := a.Start(Meta{CallID: "call-3"}, StartOptions{})
	defer live.Stop()
	srv := httptest.NewServer(a.Handler(token))
	defer srv.Close()

	do := func(method, path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	auth := []string{"Authorization", "Bearer " + token}

	for _, c := range []struct {
		name   string
		path   string
		hdr    []string
		status int
	}{
		{"no token", "/recordings", nil, 401},
		{"wrong token", "/recordings", []string{"Authorization", "Bearer nope"}, 401},
		{"wrong scheme", "/recordings", []string{"Authorization", "Basic " + token}, 401},
		{"wrong query token", "/recordings?token=nope", nil, 401},
		{"bearer", "/recordings", auth, 200},
		{"query token", "/recordings?token=" + token, nil, 200},
		{"unknown id", "/recordings/nope", auth, 404},
		{"active", "/recordings/" + live.ID(), auth, 409},
		{"bad since", "/recordings?since=yesterday", auth, 400},
		{"bad limit", "/recordings?limit=x", auth, 400},
	} {
		res := do("GET", c.path, c.hdr...)
		if res.StatusCode != c.status {
			t.Errorf("%s: %s, want %d", c.name, res.Status, c.status)
		}
		if c.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, res.Header.Get("WWW-Authenticate"))
		}
	}

	var list []Entry
	json.NewDecoder(do("GET", "/recordings?call_id=call-1&since=1h&limit=5", auth...).Body).Decode(&list)
	if len(list) != 1 || list[0].ID != e.ID || list[0].Duration != e.Duration {
		t.Errorf("list for call-1: %+v", list)
	}
	json.NewDecoder(do("GET", "/recordings?limit=2", auth...).Body).Decode(&list)
	if len(list) != 2 || list[0].CallID != "call-3" {
		t.Errorf("limit 2: %+v", list)
	}

	res := do("GET", "/recordings/"+e.ID, auth...)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/wav" || int64(len(body)) != e.Size {
		t.Fatalf("download: %s %q %d bytes", res.Status, res.Header.Get("Content-Type"), len(body))
	}
	if pcm, err := wav.Decode(body); err != nil || len(pcm) != 50*FrameSamples {
		t.Errorf("downloaded file: %d samples, %v", len(pcm), err)
	}
	res = do("GET", "/recordings/"+e.ID, append(auth, "Range", "bytes=0-43")...)
	part, _ := io.ReadAll(res.Body)
	if res.StatusCode != 206 || string(part) != string(body[:44]) {
		t.Errorf("range: %s, %d bytes", res.Status, len(part))
	}

	if res := do("DELETE", "/recordings/"+e.ID, "Authorization", "Bearer x"); res.StatusCode != 401 {
		t.Errorf("delete without the token: %s", res.Status)
	}
	if res := do("DELETE", "/recordings/"+live.ID(), auth...); res.StatusCode != 409 {
		t.Errorf("delete active: %s", res.Status)
	}
	if res := do("DELETE", "/recordings/"+e.ID, auth...); res.StatusCode != 204 {
		t.Errorf("delete: %s", res.Status)
	}
	if res := do("GET", "/recordings/"+e.ID, auth...); res.StatusCode != 404 {
		t.Errorf("after delete: %s", res.Status)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("token in the log:\n%s", logs)
	}
}

// With no token configured, downloads are off: everything is 403.
func TestHTTPDisabled(t *testing.T) {
	a, _, _ := testArchive(t, Options{})
	e := record(t, a, Meta{CallID: "c"}, StartOptions{}, 1)
	h := a.Handler("")
	for _, target := range []string{"/recordings", "/recordings/" + e.ID, "/recordings?token="} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer ")
		h.ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", target, w.Code)
		}
	}
}
