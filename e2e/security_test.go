package e2e

import (
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// Toll fraud: a caller without valid credentials never reaches a trunk,
// and neither does a carrier's call unless its trunk allows transit.
func TestTollFraudRefused(t *testing.T) {
	c := carrier(t, "127.0.0.8")
	p := testkit.StartPBX(t, "", withTrunk(c, func(tr *config.Trunk) {
		tr.DIDs = append(tr.DIDs, config.DID{Match: config.Match{Prefix: "00"}, Target: "trunk:carrier"})
	}))
	c.PBX = p.Addr()

	stranger := testkit.NewPhone(t, p.Addr(), "1001", "not-the-password")
	_, err := stranger.Call(ctxTimeout(t, 5*time.Second), "90033123456", testkit.CallOptions{})
	if code := testkit.StatusOf(err); code != 407 {
		t.Fatalf("wrong password: status %d (%v), want 407", code, err)
	}
	_, err = stranger.Call(ctxTimeout(t, 5*time.Second), "90033123456", testkit.CallOptions{NoAuth: true})
	if code := testkit.StatusOf(err); code != 407 {
		t.Fatalf("no credentials: status %d (%v), want 407", code, err)
	}
	_, err = c.Call(ctxTimeout(t, 5*time.Second), "0033123456", testkit.CallOptions{})
	if code := testkit.StatusOf(err); code != 403 {
		t.Fatalf("carrier transit: status %d (%v), want 403", code, err)
	}
	select {
	case inv := <-c.Invites:
		t.Fatalf("the carrier got an INVITE for %s", inv.Recipient.String())
	default:
	}
}

// Brute force: after max_failures wrong passwords in the window the source
// is banned and gets no answer at all, while other sources still register.
func TestBruteForceBan(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) {
		c.Security.MaxFailures = 3
		c.Security.Window = time.Minute
		c.Security.BanFor = time.Minute
	})
	attacker := testkit.NewPhoneOn(t, "127.0.0.9", p.Addr(), "1001", "guess")
	for i := 0; i < 3; i++ {
		res, err := attacker.Register(300)
		if err != nil || res.StatusCode != 401 {
			t.Fatalf("attempt %d: %v %v", i, res, err)
		}
	}
	attacker.Timeout = time.Second
	if _, err := attacker.Register(300); err == nil {
		t.Fatal("a banned source got an answer")
	}
	bans := p.Guard().Bans()
	if len(bans) != 1 || bans[0].Addr.String() != "127.0.0.9" {
		t.Fatalf("bans: %+v", bans)
	}
	phone(t, p, "1002") // another source is unaffected
}

// A call that loops (Max-Forwards used up) gets 483, and an INVITE that
// requires an extension the PBX lacks gets 420.
func TestInviteRefusals(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice := phone(t, p, "1001")
	phone(t, p, "1002")
	for _, tt := range []struct {
		hdrs map[string]string
		want int
	}{
		{map[string]string{"Max-Forwards": "1"}, 483},
		{map[string]string{"Require": "100rel"}, 420},
	} {
		_, err := alice.Call(ctxTimeout(t, 5*time.Second), "1002", testkit.CallOptions{Headers: tt.hdrs})
		if code := testkit.StatusOf(err); code != tt.want {
			t.Errorf("%v: status %d (%v), want %d", tt.hdrs, code, err, tt.want)
		}
	}
}
