package e2e

import (
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// carrier is a test carrier on its own loopback address that demands
// digest credentials on every INVITE.
func carrier(t *testing.T, ip string) *testkit.Phone {
	c := testkit.NewPhoneOn(t, ip, "", "carrier", "")
	c.RequireDigest("carrier", map[string]string{"pbxuser": "s3cret"})
	return c
}

func withTrunk(c *testkit.Phone, mutate func(*config.Trunk)) testkit.PBXOption {
	return func(cfg *config.Config) {
		tr := config.Trunk{Name: "carrier", Host: c.Addr().String(), Transport: "udp",
			Username: "pbxuser", Password: "s3cret", CallerID: "+3215550000",
			InboundCIDRs: []string{c.Addr().Addr().String() + "/32"},
			DIDs:         []config.DID{{Match: config.Match{Exact: "3215551002"}, Target: "extension:1002"}}}
		if mutate != nil {
			mutate(&tr)
		}
		cfg.Trunks = append(cfg.Trunks, tr)
		cfg.Dialplan = append([]config.DialplanRule{{Name: "out", Match: config.Match{Prefix: "9"}, Strip: 1, Target: "trunk:carrier"}}, cfg.Dialplan...)
	}
}

// An extension dials out: the PBX answers the carrier's challenge, rewrites
// the caller ID, and both ends hear each other.
func TestTrunkOutbound(t *testing.T) {
	c := carrier(t, "127.0.0.2")
	p := testkit.StartPBX(t, "", withTrunk(c, nil))
	c.PBX = p.Addr()
	alice := phone(t, p, "1001")
	a, b := connect(t, alice, c, "90471234567")
	talking(t, a, b)
	inv := <-c.Invites
	if inv.Recipient.User != "0471234567" || inv.From().Address.User != "+3215550000" {
		t.Fatalf("carrier got %s from %s", inv.Recipient.String(), inv.From().Address.String())
	}
	if inv.GetHeader("Proxy-Authorization") == nil {
		t.Fatal("INVITE reached the carrier without credentials")
	}
	hangUp(t, a, b)
	if rec := waitCDR(t, p, 1); rec[0].Trunk != "carrier" {
		t.Fatalf("record: %+v", rec[0])
	}
}

// A call from the carrier's address to a DID reaches the extension.
func TestTrunkInboundByAddress(t *testing.T) {
	c := carrier(t, "127.0.0.3")
	p := testkit.StartPBX(t, "", withTrunk(c, nil))
	c.PBX = p.Addr()
	bob := phone(t, p, "1002")
	a, b := connect(t, c, bob, "3215551002")
	talking(t, a, b)
	hangUp(t, a, b)
}

// A carrier that is not matched by address authenticates with digest.
func TestTrunkInboundByCredentials(t *testing.T) {
	c := testkit.NewPhoneOn(t, "127.0.0.4", "", "pbxin", "inpass")
	p := testkit.StartPBX(t, "", withTrunk(c, func(tr *config.Trunk) {
		tr.InboundCIDRs = nil
		tr.InboundUser, tr.InboundPassword = "pbxin", "inpass"
	}))
	c.PBX = p.Addr()
	bob := phone(t, p, "1002")
	a, b := connect(t, c, bob, "3215551002")
	talking(t, a, b)
	hangUp(t, a, b)
}

// When the first trunk fails with 503 the call moves on to the next.
func TestTrunkFailover(t *testing.T) {
	down := testkit.NewPhoneOn(t, "127.0.0.6", "", "down", "")
	up := carrier(t, "127.0.0.7")
	p := testkit.StartPBX(t, "", withTrunk(up, nil), func(cfg *config.Config) {
		cfg.Trunks = append(cfg.Trunks, config.Trunk{Name: "down", Host: down.Addr().String()})
		cfg.Dialplan[0].Target = "trunks:down,carrier"
	})
	go func() {
		if in, err := down.Incoming(5 * time.Second); err == nil {
			in.Reject(503, "Service Unavailable")
		}
	}()
	alice := phone(t, p, "1001")
	a, b := connect(t, alice, up, "9123")
	talking(t, a, b)
	hangUp(t, a, b)
}
