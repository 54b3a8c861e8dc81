package e2e

import (
	"context"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
)

// waitKind is a target kind these tests register, as a control plane
// would: its handler leaves the caller's leg ringing for the program.
const waitKind = "e2e-wait"

func init() {
	dialog.RegisterTarget(dialog.TargetKind{
		Name:   waitKind,
		Handle: func(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {},
	})
}

// waitPBX routes 7100 to the waiting kind.
func waitPBX(t *testing.T) *testkit.PBX {
	return testkit.StartPBX(t, "", func(c *config.Config) {
		c.Dialplan = append([]config.DialplanRule{{Name: "program", Match: config.Match{Exact: "7100"}, Target: waitKind}}, c.Dialplan...)
	})
}

// inboundLeg waits for the next inbound leg offered by the dial plan.
func inboundLeg(t *testing.T, sub *dialog.Subscription) dialog.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if ev.Kind == dialog.EventLegCreated && ev.Direction == string(dialog.Inbound) {
				return ev
			}
		case <-deadline:
			t.Fatal("no inbound leg")
		}
	}
}

// A program rings, then answers, a caller's leg the dial plan gave it; it
// sends the phone a MESSAGE in the call; a second caller is rejected busy.
func TestEngineInboundRingAnswerReject(t *testing.T) {
	p := waitPBX(t)
	alice := phone(t, p, "1001")
	e := p.Engine()
	ctx := context.Background()
	sub, err := e.Subscribe(dialog.EventFilter{Kinds: []dialog.EventKind{dialog.EventLegCreated}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	rang := make(chan int, 4)
	calls := make(chan *testkit.PhoneCall, 1)
	go func() {
		c, err := alice.Call(ctxTimeout(t, 5*time.Second), "7100", testkit.CallOptions{OnRinging: func(code int) { rang <- code }})
		if err != nil {
			t.Error(err)
		}
		calls <- c
	}()
	created := inboundLeg(t, sub)
	if created.Context != "program" || created.From != "1001" || created.To != "7100" {
		t.Fatalf("leg.created %+v", created)
	}
	if err := e.Ring(ctx, created.LegID); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-rang:
		if code != 180 {
			t.Fatalf("provisional %d, want 180", code)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the caller heard no ringing")
	}
	if err := e.Answer(ctx, created.LegID); err != nil {
		t.Fatal(err)
	}
	a := <-calls
	if a == nil {
		t.FailNow()
	}
	if info, _ := e.Leg(created.LegID); info.State != dialog.StateAnswered || info.Direction != dialog.Inbound {
		t.Fatalf("answered leg %+v", info)
	}
	code, err := e.SendRequest(ctx, created.LegID, "MESSAGE", nil, "text/plain", []byte("hello from a program"))
	if err != nil || code != 200 {
		t.Fatalf("MESSAGE: %d %v", code, err)
	}
	select {
	case body := <-a.Messages():
		if body != "hello from a program" {
			t.Fatalf("MESSAGE body %q", body)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the phone got no MESSAGE")
	}

	// A second caller is refused busy by the program.
	refused := make(chan error, 1)
	go func() {
		_, err := alice.Call(ctxTimeout(t, 5*time.Second), "7100", testkit.CallOptions{})
		refused <- err
	}()
	second := inboundLeg(t, sub)
	if err := e.Reject(ctx, second.LegID, 486); err != nil {
		t.Fatal(err)
	}
	if code := testkit.StatusOf(<-refused); code != 486 {
		t.Fatalf("second caller got %d, want 486", code)
	}
	if err := e.Reject(ctx, created.LegID, 486); err == nil {
		t.Fatal("rejected an answered leg")
	}
	a.Hangup()
}
