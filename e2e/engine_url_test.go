package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// A WAV fetched over HTTP is played to a parked leg, looping, until the
// phone presses a key; a bad leg id fails before anything is fetched.
func TestEnginePlayURL(t *testing.T) {
	const tone = 1700.0
	dir := testkit.WritePrompts(t, time.Second, map[string]float64{"tone": tone})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.ServeFile(w, r, dir+"/tone.wav")
	}))
	t.Cleanup(srv.Close)

	p := testkit.StartPBX(t, "")
	alice := phone(t, p, "1001")
	leg, a := p.Originate("1001", alice, toneA, "")

	if _, err := p.Engine().PlayURL(context.Background(), "no-such-leg", srv.URL+"/tone.wav", dialog.PlayOptions{}); !errors.Is(err, dialog.ErrNotFound) {
		t.Fatalf("play to an unknown leg: %v, want ErrNotFound", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the URL was fetched %d times for an unknown leg", n)
	}

	pb, err := p.Engine().PlayURL(context.Background(), leg, srv.URL+"/tone.wav", dialog.PlayOptions{Loop: true, Interrupt: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WaitHears(3*time.Second, tone); err != nil {
		t.Fatalf("played URL: %v", err)
	}
	// The clip lasts one second: still heard after it, it loops.
	select {
	case <-pb.Done():
		t.Fatalf("looping playback ended %q", pb.Reason())
	case <-time.After(1500 * time.Millisecond):
	}
	if err := a.WaitHears(3*time.Second, tone); err != nil {
		t.Fatalf("looped URL: %v", err)
	}
	if err := a.SendDigits("5"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pb.Done():
		if pb.Reason() != "interrupted" {
			t.Fatalf("playback ended %q, want interrupted", pb.Reason())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a key did not interrupt the playback")
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{tone}); err != nil {
		t.Fatalf("after the key: %v", err)
	}
	if err := p.Engine().Hangup(context.Background(), leg, dialog.CauseNormal); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
}
