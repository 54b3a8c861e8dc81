package e2e

import (
	"context"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/config"
	"pbx/internal/testkit"
)

// A caller that asks for an RFC 4028 session timer gets it in the answer,
// and a call whose refresh never comes is ended when the interval runs out.
func TestSessionTimerHonoured(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.Calls.MinSE = time.Second })
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	go func() {
		if in, err := bob.Incoming(5 * time.Second); err == nil {
			in.Answer()
		}
	}()
	a, err := alice.Call(ctxTimeout(t, 5*time.Second), "1002", testkit.CallOptions{
		Headers: map[string]string{"Session-Expires": "1;refresher=uac", "Supported": "timer"}})
	if err != nil {
		t.Fatal(err)
	}
	res := a.Answer()
	if h := res.GetHeader("Session-Expires"); h == nil || h.Value() != "1;refresher=uac" {
		t.Fatalf("answer Session-Expires: %v", h)
	}
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatalf("no refresh, yet %v", err)
	}
	if rec := waitCDR(t, p, 1); rec[0].HangupCause != "session_timer_expired" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// A caller that supports session timers and asks for less than
// calls.min_se gets 422 with the PBX's Min-SE (RFC 4028), before any leg
// is made.
func TestSessionTimerTooSmall(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.Calls.MinSE = 2 * time.Second })
	alice := phone(t, p, "1001")
	phone(t, p, "1002")
	_, err := alice.Call(ctxTimeout(t, 5*time.Second), "1002", testkit.CallOptions{
		Headers: map[string]string{"Session-Expires": "1", "Supported": "timer"}})
	if code := testkit.StatusOf(err); code != 422 {
		t.Fatalf("status %d (%v), want 422", code, err)
	}
	if legs := p.Engine().Legs(); len(legs) != 0 {
		t.Fatalf("legs made for a refused call: %+v", legs)
	}
}

// OPTIONS and INFO inside a call are answered, and the call goes on.
func TestInDialogOptionsAndInfo(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	for _, m := range []sipmsg.RequestMethod{sipmsg.OPTIONS, sipmsg.INFO} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		res, err := a.Request(ctx, m, "application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
		cancel()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %v %v", m, res, err)
		}
	}
	talking(t, a, b)
	hangUp(t, a, b)
}

// The PBX keeps a registration with a carrier that asks for digest: here
// the carrier is a second PBX, where the trunk registers as extension 1003.
func TestTrunkRegistersOutbound(t *testing.T) {
	carrierPBX := testkit.StartPBX(t, "")
	p := testkit.StartPBX(t, "", func(c *config.Config) {
		c.Trunks = append(c.Trunks, config.Trunk{Name: "upstream", Host: carrierPBX.Addr(), Transport: "udp",
			Username: "1003", Password: password(t, carrierPBX, "1003"), Register: true, Expires: 60})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	regs := p.TrunkRegistrations()
	if len(regs) != 1 {
		t.Fatalf("%d trunk registrations", len(regs))
	}
	if err := regs[0].WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	got := carrierPBX.Location().Lookup("1003")
	if len(got) != 1 || got[0].Source != p.Addr() {
		t.Fatalf("carrier's bindings for 1003: %+v (PBX at %s)", got, p.Addr())
	}
	// Stopping unregisters.
	p.Stop()
	if got := carrierPBX.Location().Lookup("1003"); len(got) != 0 {
		t.Fatalf("still registered after stop: %+v", got)
	}
}
