package e2e

import (
	"testing"
	"time"

	"pbx/internal/testkit"
)

// Conference over RWI: the session makes room 8050 (the dial plan's
// rooms: callers of 8050 reach the same one), adds two legs it placed, a
// phone dials in, and the session mutes, unmutes and removes members and
// ends the room. Each party's tone says who hears whom at every step.
func TestRWIConference(t *testing.T) {
	p := rwiPBX(t)
	alice, bob, carol := threePhones(t, p)
	c := rwiClient(t, p)

	if d := c.MustDo("conference.create", map[string]any{"conf_id": "8050"}); d["conf_id"] != "8050" {
		t.Fatalf("conference.create: %v", d)
	}
	expectEvent(t, c, "conference.created", "")
	if r := c.Do("conference.create", map[string]any{"conf_id": "8050"}); r.OK || r.Code != "invalid_state" {
		t.Fatalf("second create: %+v, want invalid_state", r)
	}

	a := rwiOriginate(t, c, "leg_a", "1001", alice, toneA)
	b := rwiOriginate(t, c, "leg_b", "1002", bob, toneB)
	for _, id := range []string{"leg_a", "leg_b"} {
		if d := c.MustDo("conference.add", map[string]any{"conf_id": "8050", "call_id": id}); d["call_id"] != id {
			t.Fatalf("conference.add %s: %v", id, d)
		}
		if ev, ok := expectEvent(t, c, "conference.member_joined", id); ok && ev.Str("conf_id") != "8050" {
			t.Errorf("member_joined: %v", ev)
		}
	}
	talking(t, a, b)

	// Carol dials the room's number: the session hears her join.
	joined := make(chan *testkit.PhoneCall, 1)
	go func() {
		x, err := carol.Call(ctxTimeout(t, 5*time.Second), "8050", testkit.CallOptions{})
		if err != nil {
			t.Error(err)
		}
		joined <- x
	}()
	x := <-joined
	if x == nil {
		t.FailNow()
	}
	x.SendTone(toneC)
	ev, _ := expectEvent(t, c, "conference.member_joined", "")
	carolLeg := ev.CallID
	hears(t, "alice, three in the room", a, []float64{toneB, toneC}, []float64{toneA})
	hears(t, "carol, three in the room", x, []float64{toneA, toneB}, []float64{toneC})

	// Mute bob: the others stop hearing him; he still hears them.
	c.MustDo("conference.mute", map[string]any{"conf_id": "8050", "call_id": "leg_b"})
	expectEvent(t, c, "conference.member_muted", "leg_b")
	hears(t, "alice, bob muted", a, []float64{toneC}, []float64{toneB})
	hears(t, "carol, bob muted", x, []float64{toneA}, []float64{toneB})
	hears(t, "bob, muted", b, []float64{toneA, toneC}, nil)
	c.MustDo("conference.unmute", map[string]any{"conf_id": "8050", "call_id": "leg_b"})
	expectEvent(t, c, "conference.member_unmuted", "leg_b")
	hears(t, "alice, bob unmuted", a, []float64{toneB, toneC}, nil)

	// The room's maker may remove a caller who dialled in: she is parked.
	c.MustDo("conference.remove", map[string]any{"conf_id": "8050", "call_id": carolLeg})
	expectEvent(t, c, "conference.member_left", carolLeg)
	hears(t, "alice, carol removed", a, []float64{toneB}, []float64{toneC})
	hearsNone(t, "carol, removed", x, a, toneA, toneB)

	// A bad room name is refused, and nothing changes.
	if r := c.Do("conference.add", map[string]any{"conf_id": "a b", "call_id": "leg_a"}); r.OK || r.Code != "invalid_params" {
		t.Fatalf("bad conf_id: %+v, want invalid_params", r)
	}

	// Destroy: every member is hung up.
	c.MustDo("conference.destroy", map[string]any{"conf_id": "8050"})
	expectEvent(t, c, "conference.destroyed", "")
	for name, call := range map[string]*testkit.PhoneCall{"alice": a, "bob": b} {
		if err := call.WaitEnded(3 * time.Second); err != nil {
			t.Fatalf("%s after destroy: %v", name, err)
		}
	}
	x.Hangup()
	checkSeq(t, c)
}
