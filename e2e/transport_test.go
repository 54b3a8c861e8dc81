package e2e

import (
	"testing"

	"pbx/internal/testkit"
)

// Phones registered over TCP and TLS call each other: the PBX reaches each
// callee over the connection it registered on, and the media flows.
func TestCallsOverTCPAndTLS(t *testing.T) {
	for _, tr := range []string{"TCP", "TLS"} {
		t.Run(tr, func(t *testing.T) {
			p := testkit.StartPBX(t, "", testkit.WithTLS(t))
			alice := testkit.NewPhone(t, p.Addr(), "1001", password(t, p, "1001"))
			bob := testkit.NewPhone(t, p.Addr(), "1002", password(t, p, "1002"))
			for _, ph := range []*testkit.Phone{alice, bob} {
				ph.UseTransport(tr, p.SIPAddr(tr).String())
				if res, err := ph.Register(300); err != nil || res.StatusCode != 200 {
					t.Fatalf("register over %s: %v %v", tr, res, err)
				}
			}
			if got := p.Location().Lookup("1002"); len(got) != 1 || got[0].Transport != tr {
				t.Fatalf("binding: %+v", got)
			}
			a, b := connect(t, alice, bob, "1002")
			talking(t, a, b)
			hangUp(t, a, b)
		})
	}
}
