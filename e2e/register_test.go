package e2e

import (
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// A phone registers with digest, unregisters, and an unanswered refresh
// lets the contact expire.
func TestRegisterUnregisterExpire(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.SIP.MinExpires = 1 })
	ph := phone(t, p, "1001")
	if got := p.Location().Lookup("1001"); len(got) != 1 || got[0].Source != ph.Addr().String() {
		t.Fatalf("bindings after register: %+v", got)
	}
	res, err := ph.Register(0)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("unregister: %v %v", res, err)
	}
	if got := p.Location().Lookup("1001"); len(got) != 0 {
		t.Fatalf("bindings after unregister: %+v", got)
	}
	if res, err := ph.Register(1); err != nil || res.StatusCode != 200 {
		t.Fatalf("register 1 s: %v %v", res, err)
	}
	deadline := time.Now().Add(4 * time.Second)
	for len(p.Location().Lookup("1001")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the 1 s registration did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A wrong password is refused with a fresh challenge, like an unknown user.
func TestRegisterWrongPassword(t *testing.T) {
	p := testkit.StartPBX(t, "")
	for _, user := range []string{"1001", "4242"} {
		ph := testkit.NewPhone(t, p.Addr(), user, "wrong")
		res, err := ph.Register(300)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if res.StatusCode != 401 {
			t.Fatalf("%s: %d, want 401", user, res.StatusCode)
		}
	}
	if got := p.Location().All(); len(got) != 0 {
		t.Fatalf("bindings: %+v", got)
	}
}

// Registrations and call records survive a restart: after it, a call to the
// registered phone still rings it.
func TestRegistrationsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	p := testkit.StartPBX(t, dir)
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	talking(t, a, b)
	hangUp(t, a, b)
	waitCDR(t, p, 1)
	p.Stop()

	p2 := testkit.StartPBX(t, dir)
	if got := p2.Location().Lookup("1002"); len(got) != 1 {
		t.Fatalf("bindings after restart: %+v", got)
	}
	if recs := waitCDR(t, p2, 1); recs[0].To != "1002" {
		t.Fatalf("record after restart: %+v", recs[0])
	}
	// The phones still point at the old PBX port; move the caller over.
	alice.PBX = p2.Addr()
	a, b = connect(t, alice, bob, "1002")
	talking(t, a, b)
	hangUp(t, a, b)
}
