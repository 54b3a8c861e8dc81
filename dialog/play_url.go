package dialog

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"pbx/media"
	"pbx/wav"
)

// Limits on audio fetched by URL. The URL comes from a program, so the
// server it names is outside input: a slow one must not hold the command
// for long, and a huge one must not fill the process's memory.
const (
	urlFetchTimeout = 10 * time.Second // the whole fetch: connect, headers and body
	urlMaxBytes     = 16 << 20         // a WAV body larger than this is refused
)

// PlayURL fetches a WAV file over http or https and plays it to a leg, as
// Play does (loop, stop on a key, play.started and play.finished). The
// body is decoded to 8 kHz mono whatever its rate and channels. A URL of
// another scheme, a non-2xx answer, a body over 16 MiB, a fetch slower
// than 10 s or a body that is not WAV is refused with an error wrapping
// ErrBadTarget; an unknown or ended leg fails with ErrNotFound before
// anything is fetched.
func (e *Engine) PlayURL(ctx context.Context, legID, rawURL string, o PlayOptions) (*Playback, error) {
	if _, err := e.liveLeg("play", legID); err != nil {
		return nil, err
	}
	pcm, err := fetchWAV(ctx, rawURL, urlMaxBytes, urlFetchTimeout)
	if err != nil {
		return nil, fmt.Errorf("play to %s: %w", legID, err)
	}
	return e.Play(ctx, legID, media.NewPlayer(o.Loop, pcm), o)
}

// checkURL parses raw and accepts it only as an absolute http or https
// URL with a host: nothing else (file:, data:, a bare path) is fetched.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w: %v", ErrBadTarget, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %s: %w: scheme %q is not http or https", u.Redacted(), ErrBadTarget, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %s: %w: no host", u.Redacted(), ErrBadTarget)
	}
	return u, nil
}

// fetchWAV gets raw with a GET bounded by timeout and ctx, reads at most
// limit bytes of its body, and decodes it as WAV to 8 kHz mono samples.
// Every refusal wraps ErrBadTarget; one caused by ctx also wraps ctx's
// error (through the client's), so a caller can tell its own
// cancellation from a bad server.
func fetchWAV(ctx context.Context, raw string, limit int64, timeout time.Duration) ([]int16, error) {
	u, err := checkURL(raw)
	if err != nil {
		return nil, err
	}
	where := u.Redacted() // never echo a password in the URL
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %v", where, ErrBadTarget, err)
	}
	// A client per fetch carries its own time limit; the default transport
	// underneath still pools connections across fetches.
	client := &http.Client{Timeout: timeout}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %w", where, ErrBadTarget, err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, fmt.Errorf("fetch %s: %w: status %s", where, ErrBadTarget, res.Status)
	}
	if res.ContentLength > limit {
		return nil, fmt.Errorf("fetch %s: %w: body of %d bytes, over the limit of %d", where, ErrBadTarget, res.ContentLength, limit)
	}
	// One byte past the limit tells a body that is exactly limit long from
	// one that is longer, without reading the rest of it.
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %w", where, ErrBadTarget, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("fetch %s: %w: body over the limit of %d bytes", where, ErrBadTarget, limit)
	}
	pcm, err := wav.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %w", where, ErrBadTarget, err)
	}
	return pcm, nil
}
