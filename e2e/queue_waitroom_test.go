package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
	"pbx/queue"
)

// What a caller waiting in a queue hears, proved with tones: every prompt
// the wait room may say and the queue's hold music are each a tone of
// their own, so the order in which a caller hears them is read back from
// the phone's audio. The queue's timers run on a clock the test moves.

// Marker audio of the wait-room PBX.
const (
	tonePleaseHold    = 500.0  // "please-hold", the queue's entry announcement
	toneCallerNumber  = 600.0  // "you-are-caller-number"
	toneDigit1        = 700.0  // "digits/1"
	toneDigit2        = 900.0  // "digits/2"
	toneDigit3        = 1000.0 // "digits/3"
	toneDigit4        = 1100.0 // "digits/4"
	toneDigit5        = 1200.0 // "digits/5"
	toneEstimatedWait = 1500.0 // "estimated-wait"
	toneMinutes       = 1600.0 // "minutes"
	toneMinute        = 1800.0 // "minute"
	toneLessThanOne   = 1900.0 // "less-than-one-minute"
	toneCallbackOffer = 2000.0 // "queue-callback-offer"
	toneCallbackOK    = 2200.0 // "queue-callback-confirmed"
	toneQueueMusic    = 1700.0 // music class "default", the queue's
)

// waitRoomTones are the tones the wait room plays, and the phones'.
var waitRoomTones = []float64{
	tonePleaseHold, toneCallerNumber, toneDigit1, toneDigit2, toneDigit3, toneDigit4, toneDigit5,
	toneEstimatedWait, toneMinutes, toneMinute, toneLessThanOne, toneCallbackOffer, toneCallbackOK,
	toneQueueMusic, toneA, toneB, toneC,
}

// waitRoomPBX is the default PBX on a manual clock, its prompts and music
// tones, with queue support (5000) announcing the position and the
// estimated wait every 30 s, offering the callback on 1 and leaving to
// extension 1003 on 0. Carol (1003) is its only member.
func waitRoomPBX(t *testing.T, clk *testkit.ManualClock) *testkit.PBX {
	t.Helper()
	dir := testkit.WritePrompts(t, 400*time.Millisecond, map[string]float64{
		"please-hold": tonePleaseHold, "you-are-caller-number": toneCallerNumber,
		"digits/1": toneDigit1, "digits/2": toneDigit2, "digits/3": toneDigit3, "digits/4": toneDigit4, "digits/5": toneDigit5,
		"estimated-wait": toneEstimatedWait, "minutes": toneMinutes, "minute": toneMinute,
		"less-than-one-minute": toneLessThanOne, "queue-callback-offer": toneCallbackOffer,
		"queue-callback-confirmed": toneCallbackOK,
	})
	music := testkit.WritePrompts(t, 2*time.Second, map[string]float64{"default": toneQueueMusic})
	return testkit.StartPBX(t, "", testkit.WithClock(clk), func(c *config.Config) {
		c.Sounds.Prompts = dir
		c.Sounds.Music = map[string]string{"default": music + "/default.wav"}
		for i := range c.Queues {
			q := &c.Queues[i]
			if q.Name != "support" {
				continue
			}
			q.Members = []config.Member{{Agent: "1003"}}
			q.Music, q.Announce = "default", "please-hold"
			q.AnnounceEvery, q.Position, q.HoldTime = 30*time.Second, true, true
			q.Periodic, q.PeriodicEvery = nil, 0
			q.ExitKeys = map[string]string{"0": "extension:1003"}
			q.CallbackKey = "1"
			q.MaxWait = 0
		}
	})
}

// anyTone is one step of what a caller hears: one of these tones.
type anyTone []float64

// heardInOrder is heardSteps with the wait room's tones and music.
func heardInOrder(t *testing.T, who string, x *testkit.PhoneCall, want ...anyTone) {
	t.Helper()
	heardSteps(t, who, x, waitRoomTones, toneQueueMusic, want...)
}

// heardSteps waits until x, since its capture started, has heard, of
// tones, as many distinct tones as want has steps, and checks that they
// are those, in that order. The music that was playing as the capture
// started, if any of it was caught, does not count unless want starts
// with it.
func heardSteps(t *testing.T, who string, x *testkit.PhoneCall, tones []float64, music float64, want ...anyTone) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pcm, _ := x.Captured()
		got := testkit.ToneSequence(pcm, tones...)
		if len(got) > 0 && got[0] == music && !slices.Contains(want[0], music) {
			got = got[1:]
		}
		if len(got) >= len(want) {
			for i, step := range want {
				if !slices.Contains(step, got[i]) {
					t.Fatalf("%s heard %v Hz, want %v", who, got, want)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s heard %v Hz in 10 s, want %v", who, got, want)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-x.Ended():
			t.Fatalf("%s: the call ended having heard %v Hz, want %v", who, got, want)
		}
	}
}

// waitRoomCall calls 5000 from ph, sending tone, and waits until the caller
// is in line and hears the entry announcement, then the queue's music.
func waitRoomCall(t *testing.T, p *testkit.PBX, ph *testkit.Phone, tone float64, position int) *testkit.PhoneCall {
	t.Helper()
	c, err := ph.Call(ctxTimeout(t, 10*time.Second), "5000", testkit.CallOptions{})
	if err != nil {
		t.Fatalf("call 5000: %v", err)
	}
	c.SendTone(tone)
	c.StartCapture()
	if ev := p.WaitEvent(queue.EventJoined, 5*time.Second); ev.Position != position {
		t.Fatalf("joined at position %d, want %d", ev.Position, position)
	}
	heardInOrder(t, fmt.Sprintf("caller %d joining", position), c, anyTone{tonePleaseHold}, anyTone{toneQueueMusic})
	return c
}

// waitRoomLeft waits for a caller leaving a queue and checks why.
func waitRoomLeft(t *testing.T, p *testkit.PBX, cause string) {
	t.Helper()
	if ev := p.WaitEvent(queue.EventLeft, 5*time.Second); ev.Cause != cause {
		t.Fatalf("queue.left %s, want %s", ev.Cause, cause)
	}
}

// A caller in a queue hears the entry announcement, then the queue's
// music; every 30 s the music stops for "you are caller number N", the
// estimated wait once the queue has answered a call (nothing before) and
// the callback offer, and then the music plays again. The exit key takes
// a caller to its target; the callback key plays the confirmation and
// hangs up.
func TestQueueWaitRoom(t *testing.T) {
	clk := testkit.NewManualClock()
	p := waitRoomPBX(t, clk)
	alice, bob, carol := phone(t, p, "1001"), phone(t, p, "1002"), phone(t, p, "1003")
	cc := p.Queues()
	if err := cc.Login(context.Background(), "1003", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cc.Pause("1003", "lunch", ""); err != nil {
		t.Fatal(err)
	}

	// Alice waits alone, two minutes, while Carol is at lunch. The queue
	// has answered nobody yet: her estimated wait is unknown, not said.
	a := waitRoomCall(t, p, alice, toneA, 1)
	a.StartCapture()
	clk.Advance(2 * time.Minute)
	heardInOrder(t, "alone in line", a,
		anyTone{toneCallerNumber}, anyTone{toneDigit1}, anyTone{toneCallbackOffer}, anyTone{toneQueueMusic})

	// Carol is back and takes her: the queue now knows a wait.
	if err := cc.Unpause("1003"); err != nil {
		t.Fatal(err)
	}
	agent := answerWithTone(t, carol, toneC)
	waitRoomLeft(t, p, "answered")
	hears(t, "alice put through", a, []float64{toneC}, []float64{toneQueueMusic})
	hangUp(t, a, agent)
	if err := cc.Pause("1003", "lunch", ""); err != nil {
		t.Fatal(err)
	}

	// Alice calls again, then Bob: they are callers 1 and 2.
	a = waitRoomCall(t, p, alice, toneA, 1)
	b := waitRoomCall(t, p, bob, toneB, 2)
	a.StartCapture()
	b.StartCapture()
	clk.Advance(30 * time.Second)
	wait := anyTone{toneDigit1, toneDigit2, toneDigit3, toneDigit4, toneDigit5}
	heardInOrder(t, "caller 2", b,
		anyTone{toneCallerNumber}, anyTone{toneDigit2},
		anyTone{toneEstimatedWait}, wait, anyTone{toneMinutes, toneMinute}, anyTone{toneCallbackOffer},
		anyTone{toneQueueMusic})
	heardInOrder(t, "caller 1", a,
		anyTone{toneCallerNumber}, anyTone{toneDigit1},
		anyTone{toneEstimatedWait}, wait, anyTone{toneMinutes, toneMinute}, anyTone{toneCallbackOffer},
		anyTone{toneQueueMusic})

	// Bob presses 0: he leaves the queue for extension 1003.
	if err := b.SendDigits("0"); err != nil {
		t.Fatal(err)
	}
	waitRoomLeft(t, p, "exit_key")
	direct := answerWithTone(t, carol, toneC)
	hears(t, "bob after the exit key", b, []float64{toneC}, []float64{toneQueueMusic})
	hangUp(t, b, direct)

	// Alice presses 1: the confirmation, then the PBX hangs up, keeping
	// her place.
	a.StartCapture()
	if err := a.SendDigits("1"); err != nil {
		t.Fatal(err)
	}
	waitRoomLeft(t, p, "callback")
	if err := a.WaitEnded(5 * time.Second); err != nil {
		t.Fatalf("alice after the confirmation: %v", err)
	}
	pcm, _ := a.Captured()
	got := testkit.ToneSequence(pcm, waitRoomTones...)
	if len(got) > 0 && got[0] == toneQueueMusic {
		got = got[1:] // the music until the key
	}
	if !slices.Equal(got, []float64{toneCallbackOK}) {
		t.Fatalf("alice heard %v Hz after the key, want the confirmation, then the hangup", got)
	}
	if st, ok := cc.Queue("support"); !ok || len(st.Callers) != 1 || !st.Callers[0].Callback {
		t.Fatalf("support after the callback key: %+v, want alice's place kept for the call back", st.Callers)
	}
}
