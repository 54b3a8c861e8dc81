package e2e

import (
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// Three callers in one room, each sending its own tone: each hears exactly
// the other two. The mute key takes one out of what the others hear.
func TestConferenceThreeParties(t *testing.T) {
	p := markerPBX(t)
	tones := []float64{toneA, toneB, toneC}
	var calls []*testkit.PhoneCall
	for i, ext := range []string{"1001", "1002", "1003"} {
		c, err := phone(t, p, ext).Call(ctxTimeout(t, 5*time.Second), "8000", testkit.CallOptions{})
		if err != nil {
			t.Fatalf("%s joins: %v", ext, err)
		}
		c.SendTone(tones[i])
		calls = append(calls, c)
	}
	for i, c := range calls {
		var want, notWant []float64
		for j, f := range tones {
			if i == j {
				notWant = append(notWant, f)
			} else {
				want = append(want, f)
			}
		}
		if err := c.WaitHearsAll(5*time.Second, want, notWant); err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	if got := p.Engine().Rooms()["8000"]; got != 3 {
		t.Fatalf("room 8000 has %d members, want 3", got)
	}
	// Party 0 mutes itself.
	if err := calls[0].SendDigits("*"); err != nil {
		t.Fatal(err)
	}
	if err := calls[1].WaitHearsAll(5*time.Second, []float64{toneC}, []float64{toneA, toneB}); err != nil {
		t.Fatalf("after mute: %v", err)
	}
	if err := calls[0].WaitHearsAll(3*time.Second, []float64{toneB, toneC}, []float64{toneA}); err != nil {
		t.Fatalf("the muted party no longer hears: %v", err)
	}
	// A leaving party is heard no more; the beep says so (1000 Hz).
	calls[2].Hangup()
	if err := calls[1].WaitHears(3*time.Second, 1000); err != nil {
		t.Fatalf("no beep when a party left: %v", err)
	}
	if err := calls[1].WaitHearsAll(3*time.Second, nil, []float64{toneC}); err != nil {
		t.Fatal(err)
	}
	calls[0].Hangup()
	calls[1].Hangup()
}

// A room with a PIN asks for it; a wrong PIN is refused, the right one
// lets the caller in.
func TestConferencePIN(t *testing.T) {
	p := markerPBX(t, func(c *config.Config) { c.Conference.PINs = map[string]string{"8001": "1234"} })
	first, err := phone(t, p, "1001").Call(ctxTimeout(t, 5*time.Second), "8001", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WaitHears(3*time.Second, 1500); err != nil {
		t.Fatalf("no PIN prompt: %v", err)
	}
	first.SendDigits("99#")
	if err := first.WaitHears(3*time.Second, 1700); err != nil {
		t.Fatalf("wrong PIN not refused: %v", err)
	}
	if err := first.WaitHears(3*time.Second, 1500); err != nil {
		t.Fatalf("PIN not asked again: %v", err)
	}
	first.SendDigits("1234#")
	first.SendTone(toneA)
	second, err := phone(t, p, "1002").Call(ctxTimeout(t, 5*time.Second), "8001", testkit.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second.SendDigits("1234#")
	second.SendTone(toneB)
	if err := second.WaitHears(5*time.Second, toneA, toneB); err != nil {
		t.Fatalf("second: %v", err)
	}
	if err := first.WaitHears(5*time.Second, toneB, toneA); err != nil {
		t.Fatalf("first: %v", err)
	}
	first.Hangup()
	second.Hangup()
}
