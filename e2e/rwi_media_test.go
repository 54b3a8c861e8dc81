package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pbx/internal/testkit"
)

// media.play of each source type over RWI: a WAV over HTTP, a hold-music
// class and a prompt, heard by the phone; media.stop by play_id and for
// all; bad sources refused with invalid_params.
func TestRWIMediaSources(t *testing.T) {
	const urlTone = 1900.0
	dir := testkit.WritePrompts(t, time.Second, map[string]float64{"clip": urlTone})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, dir+"/clip.wav")
	}))
	t.Cleanup(srv.Close)

	p := rwiPBX(t)
	alice := phone(t, p, "1001")
	c := rwiClient(t, p)
	a := rwiOriginate(t, c, "leg_a", "1001", alice, toneA)

	d := c.MustDo("media.play", map[string]any{"call_id": "leg_a", "source": map[string]any{"type": "url", "uri": srv.URL + "/clip.wav"}, "loop": true})
	urlPlay, _ := d["play_id"].(string)
	hears(t, "url", a, []float64{urlTone}, nil)
	c.MustDo("media.stop", map[string]any{"call_id": "leg_a", "play_id": urlPlay})
	if ev, ok := expectEvent(t, c, "media.play.finished", "leg_a"); ok && (ev.Str("play_id") != urlPlay || ev.Data["interrupted"] != false || ev.Str("reason") != "stopped") {
		t.Errorf("media.play.finished: %s", ev.Raw)
	}
	hearsNone(t, "url stopped", a, a, urlTone)

	c.MustDo("media.play", map[string]any{"call_id": "leg_a", "source": map[string]any{"type": "music", "uri": "jazz"}})
	hears(t, "music", a, []float64{toneJazz}, []float64{urlTone})
	c.MustDo("media.play", map[string]any{"call_id": "leg_a", "source": map[string]any{"type": "file", "uri": "hold.wav"}, "loop": true})
	if d := c.MustDo("media.stop", map[string]any{"call_id": "leg_a"}); d["stopped"] != 2.0 {
		t.Fatalf("media.stop of all: %v, want 2 stopped", d)
	}
	hearsNone(t, "all stopped", a, a, toneJazz, toneHoldFile)

	for _, src := range []map[string]any{
		{"type": "tts", "uri": "hello"},
		{"type": "file", "uri": "no-such-prompt"},
		{"type": "music", "uri": "no-such-class"},
		{"type": "url", "uri": "ftp://example.invalid/x.wav"},
		{"type": "file"},
	} {
		if r := c.Do("media.play", map[string]any{"call_id": "leg_a", "source": src}); r.OK || r.Code != "invalid_params" {
			t.Errorf("media.play %v: %+v, want invalid_params", src, r)
		}
	}
	c.MustDo("call.hangup", map[string]any{"call_id": "leg_a"})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	checkSeq(t, c)

	// What the operator sees: commands by outcome, sessions open.
	res, err := http.Get("http://" + p.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`pbx_rwi_commands_total{code="invalid_params"} 5`, "pbx_rwi_sessions 1", "pbx_rwi_events_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
