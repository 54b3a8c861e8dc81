package dialog

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pbx/wav"
)

// testWAV builds a 16-bit PCM WAV file of rate and channels holding
// frames frames of a constant level, so tests control size and format.
func testWAV(rate, channels, frames int) []byte {
	data := frames * channels * 2
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*2*channels))
	binary.LittleEndian.PutUint16(b[32:], uint16(2*channels))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i := 44; i < len(b); i += 2 {
		binary.LittleEndian.PutUint16(b[i:], 1000)
	}
	return b
}

// Each URL a program may name, and what fetchWAV makes of it: only an
// http(s) answer of 2xx, within the size and time limits, holding a WAV,
// becomes samples; every refusal wraps ErrBadTarget.
func TestPlayURLFetch(t *testing.T) {
	const limit = 44 + 2*800 // one 100 ms clip at 8 kHz mono, exactly
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/mono8k.wav", func(w http.ResponseWriter, r *http.Request) {
		w.Write(testWAV(8000, 1, 800))
	})
	mux.HandleFunc("/stereo16k.wav", func(w http.ResponseWriter, r *http.Request) {
		w.Write(testWAV(16000, 2, 400)) // also exactly the limit
	})
	mux.HandleFunc("/big.wav", func(w http.ResponseWriter, r *http.Request) {
		w.Write(testWAV(8000, 1, 801)) // declared by Content-Length
	})
	mux.HandleFunc("/big-chunked.wav", func(w http.ResponseWriter, r *http.Request) {
		// Flushing before the end makes the answer chunked: no size is
		// declared, so only the bounded read can catch it.
		body := testWAV(8000, 1, 4000)
		w.Write(body[:100])
		w.(http.Flusher).Flush()
		w.Write(body[100:])
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>not audio</html>"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/mono8k.wav", http.StatusFound)
	})
	mux.HandleFunc("/redirect-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the client gave up
		case <-release:
		}
	}
	mux.HandleFunc("/slow-headers", slow)
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1644")
		w.Write(testWAV(8000, 1, 800)[:100])
		w.(http.Flusher).Flush()
		slow(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	tests := []struct {
		name      string
		url       string
		wantLen   int    // samples; 0 means a refusal is expected
		wantInErr string // a part of the refusal's text
		wantIs    error  // besides ErrBadTarget
	}{
		{"8 kHz mono at exactly the limit", srv.URL + "/mono8k.wav", 800, "", nil},
		{"16 kHz stereo resampled", srv.URL + "/stereo16k.wav", 200, "", nil},
		{"redirect followed", srv.URL + "/redirect", 800, "", nil},
		{"ftp refused", "ftp://" + srv.Listener.Addr().String() + "/mono8k.wav", 0, `scheme "ftp"`, nil},
		{"file refused", "file:///etc/passwd", 0, `scheme "file"`, nil},
		{"bare path refused", "/mono8k.wav", 0, `scheme ""`, nil},
		{"no host refused", "http:///mono8k.wav", 0, "no host", nil},
		{"unparsable refused", "http://[::1", 0, "url", nil},
		{"redirect to file refused", srv.URL + "/redirect-file", 0, "unsupported protocol scheme", nil},
		{"404 refused", srv.URL + "/missing.wav", 0, "404", nil},
		{"500 refused", srv.URL + "/error", 0, "500", nil},
		{"declared size over the limit", srv.URL + "/big.wav", 0, "over the limit", nil},
		{"chunked body over the limit", srv.URL + "/big-chunked.wav", 0, "over the limit", nil},
		{"not a WAV", srv.URL + "/text", 0, "", wav.ErrFormat},
		{"headers slower than the timeout", srv.URL + "/slow-headers", 0, "Timeout", nil},
		{"body slower than the timeout", srv.URL + "/slow-body", 0, "", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			pcm, err := fetchWAV(context.Background(), tt.url, limit, 200*time.Millisecond)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("fetch took %s with a 200ms timeout", elapsed)
			}
			if tt.wantLen > 0 {
				if err != nil {
					t.Fatalf("fetch: %v", err)
				}
				if len(pcm) != tt.wantLen {
					t.Fatalf("%d samples, want %d", len(pcm), tt.wantLen)
				}
				return
			}
			if !errors.Is(err, ErrBadTarget) {
				t.Fatalf("got %d samples, err %v; want an error wrapping ErrBadTarget", len(pcm), err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not say %q", err, tt.wantInErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
		})
	}
}

// The caller's context bounds the fetch too, and its error shows through
// so a caller can tell its own cancellation from a bad server.
func TestPlayURLFetchCancelled(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := fetchWAV(ctx, srv.URL, urlMaxBytes, time.Minute)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrBadTarget) {
		t.Fatalf("cancelled fetch: %v; want context.Canceled and ErrBadTarget", err)
	}
}

// A password in the URL never shows in an error, which may be logged or
// sent back to a program.
func TestPlayURLRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	url := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
	_, err := fetchWAV(context.Background(), url, urlMaxBytes, time.Second)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v shows the password", err)
	}
	_, err = checkURL("gopher://user:s3cret@host/x")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v shows the password", err)
	}
}

// FuzzCheckURL checks that no string makes the URL check panic, that what
// it accepts is an http(s) URL with a host, and that every refusal wraps
// ErrBadTarget.
func FuzzCheckURL(f *testing.F) {
	f.Add("http://127.0.0.1:8080/tone.wav")
	f.Add("https://user:pw@example.com/a%20b.wav?x=1#f")
	f.Add("file:///etc/passwd")
	f.Add("HTTP://[::1]:80/")
	f.Add("http://[::1")
	f.Add("//host/path")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := checkURL(raw)
		if err != nil {
			if !errors.Is(err, ErrBadTarget) {
				t.Fatalf("checkURL(%q): %v does not wrap ErrBadTarget", raw, err)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("checkURL(%q) accepted scheme %q host %q", raw, u.Scheme, u.Host)
		}
	})
}
