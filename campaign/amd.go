package campaign

import (
	"context"
	"math"
	"time"

	"pbx/dialog"
)

// Answering-machine detection listens to the first seconds of an answered
// call before it joins the queue. A person answers with a short greeting
// ("Hello?") and waits; a machine speaks on, a long greeting with only
// short pauses. The audio is cut in 20 ms frames, a frame is voiced when
// its energy is over a threshold, and the greeting runs from the first
// voiced frame through every pause shorter than personPause. A greeting
// that reaches machineGreeting is a machine; one followed by personPause
// of silence is a person; nothing heard is a person too (some answer in
// silence), so that no customer is lost to a guess.

const (
	amdListen       = 3 * time.Second         // how long the detector may listen
	machineGreeting = 2200 * time.Millisecond // a greeting this long is a machine's
	personPause     = 800 * time.Millisecond  // the silence a person leaves after a greeting
	amdFrame        = 160                     // samples in 20 ms
	voicedEnergy    = 500.0                   // RMS of a voiced frame (speech at -36 dBFS and up)
)

// isMachine classifies the first seconds of a call.
func isMachine(pcm []int16) bool {
	const frame = 20 * time.Millisecond
	var greeting, silence time.Duration
	started := false
	for off := 0; off+amdFrame <= len(pcm); off += amdFrame {
		switch {
		case rms(pcm[off:off+amdFrame]) >= voicedEnergy:
			greeting += silence + frame // a short pause belongs to the greeting
			silence, started = 0, true
		case started:
			silence += frame
			if silence >= personPause {
				return false
			}
		}
		if greeting >= machineGreeting {
			return true
		}
	}
	return false
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		f := float64(v)
		sum += f * f
	}
	return math.Sqrt(sum / float64(len(s)))
}

// screen listens to an answered campaign call and then queues it, or,
// when a machine answered, hangs up or plays the campaign's prompt; it
// runs on a goroutine the Center owns.
func (c *Center) screen(cl *Call, leg, queue string, cp Campaign) {
	pcm, err := c.e.Capture(c.ctx, leg, amdListen)
	if err != nil {
		return // the call ended, or the PBX stops
	}
	if !isMachine(pcm) {
		c.enqueue(cl, leg, queue)
		return
	}
	c.mu.Lock()
	cl.Failure = "answering machine"
	c.failedLocked(cl, Failure)
	c.mu.Unlock()
	c.log.Info("campaign call answered by a machine", "call", cl.ID, "action", cp.AMDPrompt)
	if cp.AMDPrompt != "" {
		if err := c.e.Redirect(c.ctx, leg, "play:"+cp.AMDPrompt); err == nil {
			return
		}
	}
	c.e.Hangup(context.Background(), leg, dialog.CauseNormal)
}

// enqueue sends an answered campaign call to its queue.
func (c *Center) enqueue(cl *Call, leg, queue string) {
	if err := c.e.Redirect(c.ctx, leg, "queue:"+queue); err != nil {
		c.log.Warn("campaign call not queued", "call", cl.ID, "queue", queue, "error", err)
		c.e.Hangup(context.Background(), leg, dialog.CauseCongestion)
	}
}
