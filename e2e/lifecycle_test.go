package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
)

// Shutdown drains: a new call gets 503 while a call in progress goes on,
// and when the drain time is up the call left is hung up with BYE.
func TestShutdownDrains(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.Calls.DrainTimeout = time.Second })
	alice, bob, carol := threePhones(t, p)
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)

	stopped := make(chan struct{})
	go func() {
		p.Stop()
		close(stopped)
	}()
	p.WaitEvent(dialog.EventDraining, 2*time.Second)
	_, err := carol.Call(ctxTimeout(t, 5*time.Second), "1001", testkit.CallOptions{})
	if code := testkit.StatusOf(err); code != 503 {
		t.Fatalf("call during drain: status %d (%v), want 503", code, err)
	}
	if err := a.WaitHears(time.Second, toneB, toneA); err != nil {
		t.Fatalf("the call in progress stopped during the drain: %v", err)
	}
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("callee: %v", err)
	}
	<-stopped
}

// A call whose RTP stops is hung up after the RTP timeout; a held call is not.
func TestRTPTimeoutHangsUp(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.Media.RTPTimeout = 700 * time.Millisecond })
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)

	// Held: both ends go quiet, the call stays.
	if _, err := a.Reinvite("sendonly"); err != nil {
		t.Fatal(err)
	}
	a.StopTone()
	b.StopTone()
	held := time.After(1500 * time.Millisecond)
	select {
	case <-a.Ended():
		t.Fatal("a held call was hung up by the RTP timeout")
	case <-held:
	}
	if _, err := a.Reinvite("sendrecv"); err != nil {
		t.Fatal(err)
	}
	// Resumed and silent: the PBX hangs up both legs.
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := b.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("callee: %v", err)
	}
	if rec := waitCDR(t, p, 1); rec[0].HangupCause != "media_timeout" || rec[0].HangupBy != "system" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// /healthz answers, and /metrics counts registrations, calls and RTP.
func TestHealthAndMetrics(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	hangUp(t, a, b)
	waitCDR(t, p, 1)
	if res, err := testkit.NewPhone(t, p.Addr(), "1003", "wrong").Register(300); err != nil || res.StatusCode != 401 {
		t.Fatalf("wrong password: %v %v", res, err)
	}

	if body := get(t, "http://"+p.HTTPAddr()+"/healthz"); strings.TrimSpace(body) != "ok" {
		t.Fatalf("healthz: %q", body)
	}
	m := get(t, "http://"+p.HTTPAddr()+"/metrics")
	for _, want := range []string{
		"pbx_registrations 2\n",
		"pbx_calls_active 0\n",
		"pbx_calls_started_total 1\n",
		`pbx_calls_total{result="ANSWERED"} 1` + "\n",
		"# TYPE pbx_rtp_packets_in_total counter\n",
		"pbx_auth_failures_total 1\n",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, "pbx_rtp_packets_in_total 0\n") {
		t.Error("no RTP counted")
	}
	if strings.Contains(m, password(t, p, "1001")) {
		t.Error("a password appears in /metrics")
	}
}

func get(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// With no external_ip, as in the embedded pbx.yaml, the PBX finds its own
// address; with qualify on, it pings the phones it registered.
func TestRunsWithoutExternalIP(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) {
		c.SIP.ExternalIP = ""
		c.SIP.QualifyEvery = 200 * time.Millisecond
	})
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	hangUp(t, a, b)
}
