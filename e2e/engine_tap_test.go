package e2e

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// Echo sends a parked leg its own voice, and stops when its context ends:
// the caller hears its tone only meanwhile.
func TestEngineEcho(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice := phone(t, p, "1001")
	la, a := p.Originate("1001", alice, toneA, "")
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneA}); err != nil {
		t.Fatalf("parked: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Engine().Echo(ctx, la) }()
	if err := a.WaitHears(3*time.Second, toneA); err != nil {
		t.Fatalf("echo: %v", err)
	}
	// A second taker is refused while the echo holds the leg's audio.
	if _, err := p.Engine().Capture(context.Background(), la, time.Second); !errors.Is(err, dialog.ErrBusy) {
		t.Fatalf("capture during echo: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("echo ended with %v", err)
	}
	if err := a.WaitHearsAll(3*time.Second, nil, []float64{toneA}); err != nil {
		t.Fatalf("after echo: %v", err)
	}
	a.Hangup()
}

// Capture returns what the far end of a parked leg says, as PCM, and
// refuses a leg in a bridge.
func TestEngineCapture(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	la, a := p.Originate("1001", alice, toneA, "")
	pcm, err := p.Engine().Capture(context.Background(), la, 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < 4000 || len(pcm) > 4800 {
		t.Fatalf("captured %d samples of 600 ms, want about 4800", len(pcm))
	}
	if seq := testkit.ToneSequence(pcm, toneA, toneB); !slices.Equal(seq, []float64{toneA}) {
		t.Fatalf("captured tones %v, want [%v]", seq, toneA)
	}
	lb, b := p.Originate("1002", bob, toneB, "")
	if _, err := p.Engine().Bridge(context.Background(), la, lb); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Engine().Capture(context.Background(), la, time.Second); !errors.Is(err, dialog.ErrInvalidState) {
		t.Fatalf("capture of a bridged leg: %v, want ErrInvalidState", err)
	}
	a.Hangup()
	b.Hangup()
}

// A collection's Total ends it even while its first-key timeout runs: on
// a clock the test moves, it ends long before the one-minute timeout.
func TestEngineCollectTotal(t *testing.T) {
	clk := testkit.NewManualClock()
	p := testkit.StartPBX(t, "", testkit.WithClock(clk))
	alice := phone(t, p, "1001")
	la, a := p.Originate("1001", alice, toneA, "")
	got := make(chan dialog.Collected, 1)
	go func() {
		c, err := p.Engine().CollectDTMF(context.Background(), la, dialog.CollectOptions{Timeout: time.Minute, Total: 3 * time.Second})
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	// The collection arms its timers when it starts, which the test cannot
	// see: the clock moves a second at a time until it ends.
	for moved := time.Duration(0); ; moved += time.Second {
		select {
		case c := <-got:
			if c.Reason != "timeout" || moved >= time.Minute {
				t.Fatalf("collected %+v after %v of clock, want a timeout before the minute", c, moved)
			}
			a.Hangup()
			return
		case <-time.After(20 * time.Millisecond):
			if moved > 2*time.Minute {
				t.Fatal("the collection never ended")
			}
			clk.Advance(time.Second)
		}
	}
}
