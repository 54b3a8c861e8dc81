package e2e

import (
	"testing"
	"time"

	"pbx/dialog"
	"pbx/internal/testkit"
)

// keysSeen collects the leg.dtmf events of n presses.
func keysSeen(t *testing.T, p *testkit.PBX, n int) (keys, source string) {
	t.Helper()
	for range n {
		ev := p.WaitEvent(dialog.EventDTMF, 5*time.Second)
		keys += ev.Digit
		source = ev.Source
	}
	return keys, source
}

// Each of the three forms a phone can key DTMF in is heard by the PBX, and
// reaches the other party in the form that party negotiated.
func TestDTMFFormsAndRelay(t *testing.T) {
	tests := []struct {
		name        string
		callerTones bool   // caller negotiates no telephone-event
		calleeTones bool   // callee negotiates no telephone-event
		info        string // caller keys by SIP INFO with this content type
		wantSource  string
	}{
		{name: "rfc4733 to tones", calleeTones: true, wantSource: "rfc4733"},
		{name: "tones to rfc4733", callerTones: true, wantSource: "inband"},
		{name: "dtmf-relay INFO to rfc4733", info: "application/dtmf-relay", wantSource: "info"},
		{name: "dtmf INFO to tones", info: "application/dtmf", calleeTones: true, wantSource: "info"},
		{name: "rfc4733 to rfc4733", wantSource: "rfc4733"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testkit.StartPBX(t, "")
			alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
			alice.NoTelephoneEvent, bob.NoTelephoneEvent = tt.callerTones, tt.calleeTones
			a, b := connect(t, alice, bob, "1002")
			talking(t, a, b)
			const keys = "159#"
			var err error
			if tt.info != "" {
				err = a.SendInfoDigits(tt.info, keys)
			} else {
				err = a.SendDigits(keys)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, src := keysSeen(t, p, len(keys))
			if got != keys || src != tt.wantSource {
				t.Fatalf("PBX heard %q from %s, want %q from %s", got, src, keys, tt.wantSource)
			}
			if err := b.WaitDigits(keys, 5*time.Second); err != nil {
				t.Fatalf("callee: %v", err)
			}
			talking(t, a, b)
			hangUp(t, a, b)
		})
	}
}

// A malformed DTMF INFO gets 400 and changes nothing.
func TestDTMFInfoMalformed(t *testing.T) {
	p := testkit.StartPBX(t, "")
	alice, bob := phone(t, p, "1001"), phone(t, p, "1002")
	a, b := connect(t, alice, bob, "1002")
	if err := a.SendInfoDigits("application/dtmf-relay", "x"); err == nil {
		t.Fatal("a key that is not DTMF was accepted")
	}
	talking(t, a, b)
	hangUp(t, a, b)
}
