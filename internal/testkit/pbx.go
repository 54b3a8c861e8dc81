package testkit

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/logging"
	"pbx/node"
)

// PBX is a PBX running in the test process on loopback.
type PBX struct {
	*node.Node
	Config  *config.Config
	DataDir string
	t       testing.TB
	stopped bool
	events  *dialog.Subscription
}

// PBXOption changes the configuration before the PBX starts.
type PBXOption func(*config.Config)

// StartPBX starts the PBX with the embedded default configuration moved to
// free loopback ports, a temporary data directory (or dataDir when given,
// to test persistence across restarts), and the options applied. It stops
// at the end of the test.
func StartPBX(t testing.TB, dataDir string, opts ...PBXOption) *PBX {
	t.Helper()
	cfg, err := config.Default()
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.SIP.TLS = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.SIP.ExternalIP = "127.0.0.1"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.AgentRPC.Listen = "127.0.0.1:0"
	cfg.ECCP.Listen = "127.0.0.1:0" // never the fixed default port: tests run side by side
	cfg.Media.RTPPortMin, cfg.Media.RTPPortMax = 0, 0
	cfg.Calls.RingTimeout = 5 * time.Second
	cfg.Calls.DrainTimeout = 2 * time.Second
	cfg.SIP.QualifyEvery = 0
	for _, o := range opts {
		o(cfg)
	}
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	var w io.Writer = io.Discard
	if os.Getenv("PBX_TEST_LOG") != "" {
		w = os.Stderr
	}
	logs := logging.NewLoggers(w, false, "debug", nil)
	srv, err := node.New(cfg, node.Options{DataDir: dataDir, Logs: logs, MediaIP: "127.0.0.1", Clock: clockFor(cfg)})
	if err != nil {
		t.Fatalf("new pbx: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("start pbx: %v", err)
	}
	p := &PBX{Node: srv, Config: cfg, DataDir: dataDir, t: t}
	p.events, err = srv.Engine().Subscribe(dialog.EventFilter{Buffer: 4096})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// Addr is the PBX's UDP SIP address, "127.0.0.1:port".
func (p *PBX) Addr() string { return p.SIPAddr("UDP").String() }

// Stop shuts the PBX down with a short drain; it is safe to call twice.
func (p *PBX) Stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), p.Config.Calls.DrainTimeout)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		p.t.Errorf("shutdown: %v", err)
	}
}

// WaitEvent waits for the next engine event of the given kind, skipping
// others, and fails the test after timeout.
func (p *PBX) WaitEvent(kind dialog.EventKind, timeout time.Duration) dialog.Event {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.events.C:
			if !ok {
				p.t.Fatalf("event subscription dropped while waiting for %s", kind)
			}
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			p.t.Fatalf("no %s event within %s", kind, timeout)
		}
	}
}

// Originate places an outbound leg through the engine API and waits until
// it is answered (the phone given answers it with its tone), returning
// the leg's id and the phone's side of the call.
func (p *PBX) Originate(to string, ph *Phone, tone float64, music string) (string, *PhoneCall) {
	p.t.Helper()
	sub, err := p.Engine().Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventLegAnswered, dialog.EventLegEnded}})
	if err != nil {
		p.t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	calls := make(chan *PhoneCall, 1)
	go func() {
		defer close(calls)
		in, err := ph.Incoming(5 * time.Second)
		if err != nil {
			p.t.Errorf("originate to %s: %v", to, err)
			return
		}
		c, err := in.Answer()
		if err != nil {
			p.t.Errorf("originate to %s: answer: %v", to, err)
			return
		}
		c.SendTone(tone)
		calls <- c
	}()
	leg, err := p.Engine().Originate(context.Background(), dialog.OriginateRequest{To: to, CallerID: "test", Music: music})
	if err != nil {
		p.t.Fatalf("originate to %s: %v", to, err)
	}
	c := <-calls
	if c == nil {
		p.t.FailNow()
	}
	p.WaitLeg(sub, leg.ID, dialog.EventLegAnswered, 5*time.Second)
	return leg.ID, c
}

// WaitLeg waits on sub for an event of kind about leg, and fails the test
// after timeout or when the leg ends first (unless leg.ended is awaited).
func (p *PBX) WaitLeg(sub *dialog.Subscription, leg string, kind dialog.EventKind, timeout time.Duration) dialog.Event {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				p.t.Fatalf("event subscription dropped while waiting for %s of %s", kind, leg)
			}
			if ev.LegID != leg {
				continue
			}
			if ev.Kind == kind {
				return ev
			}
			if ev.Kind == dialog.EventLegEnded {
				p.t.Fatalf("leg %s ended (%s) while waiting for %s", leg, ev.Cause, kind)
			}
		case <-deadline:
			p.t.Fatalf("no %s of leg %s within %s", kind, leg, timeout)
		}
	}
}

// clocks are the manual clocks tests asked for, by configuration.
var clocks sync.Map // *config.Config -> *ManualClock

// WithClock makes the PBX's call engine run on c, a clock the test moves.
func WithClock(c *ManualClock) PBXOption {
	return func(cfg *config.Config) { clocks.Store(cfg, c) }
}

func clockFor(cfg *config.Config) dialog.Clock {
	if c, ok := clocks.LoadAndDelete(cfg); ok {
		return c.(*ManualClock)
	}
	return nil
}
