package node_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"pbx/internal/testkit"
)

// A node mounts its metrics on the HTTP listener and feeds them from the
// event bus: after one answered call, a scrape shows its setup time and
// the delivery lag of the events that reported it.
func TestNodeFeedsMetricsFromEvents(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := register(t, p, "1001"), register(t, p, "1002")

	answered := make(chan error, 1)
	confirmed := make(chan struct{}) // bob has the PBX's ACK
	go func() {
		in, err := bob.Incoming(5 * time.Second)
		if err != nil {
			answered <- err
			return
		}
		in.Ring()
		c, err := in.Answer()
		if err == nil {
			close(confirmed)
			err = c.WaitEnded(5 * time.Second)
		}
		answered <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := alice.Call(ctx, "1002", testkit.CallOptions{})
	if err != nil {
		t.Fatalf("call 1002: %v", err)
	}
	// Hanging up before bob's phone has taken the ACK would let the
	// PBX's BYE overtake it inside bob's user agent.
	select {
	case <-confirmed:
	case err := <-answered:
		t.Fatalf("callee: %v", err)
	}
	if err := a.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("callee: %v", err)
	}

	// The feed reads the bus on its own goroutine; scrape until it has
	// caught up with the call, as Prometheus would see it a moment later.
	url := "http://" + p.HTTPAddr() + "/metrics"
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		fams := scrape(t, url)
		setup, lag := count(fams, "pbx_call_setup_seconds"), count(fams, "pbx_event_delivery_lag_seconds")
		if setup == 1 && lag > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one answered call: setup count %d, lag count %d", setup, lag)
		}
		<-tick.C
	}
}

func register(t *testing.T, p *testkit.PBX, ext string) *testkit.Phone {
	t.Helper()
	var pw string
	for _, u := range p.Config.Users {
		if u.Extension == ext {
			pw = u.Password
		}
	}
	ph := testkit.NewPhone(t, p.Addr(), ext, pw)
	if res, err := ph.Register(300); err != nil || res.StatusCode != 200 {
		t.Fatalf("register %s: %v %v", ext, res, err)
	}
	return ph
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// count is a histogram's number of observations, 0 when it is absent.
func count(fams map[string]*dto.MetricFamily, name string) uint64 {
	f, ok := fams[name]
	if !ok || len(f.GetMetric()) != 1 {
		return 0
	}
	return f.GetMetric()[0].GetHistogram().GetSampleCount()
}
