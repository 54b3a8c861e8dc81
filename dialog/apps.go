package dialog

import (
	"context"

	"github.com/pion/rtp"

	"pbx/sounds"
)

// Applications are dial-plan targets the PBX answers itself: the echo
// test, prompts to play, hold music, and park (answer and wait for a
// program). Each runs on a goroutine the engine owns.

// answerApp answers a caller's leg with the PBX's own media (a leg
// already answered, redirected here, stays so); false when the caller is
// gone. A parked leg then hears what the application set up for it.
func (e *Engine) answerApp(l *Leg) bool {
	err := l.ops.do(context.Background(), func() error {
		if err := l.answer(); err != nil {
			return err
		}
		l.reconcileSolo()
		return nil
	})
	if err != nil {
		l.log.Info("caller did not take the answer", "error", err)
		return false
	}
	return true
}

// handleEcho plays the echo-test prompt, then sends the caller back what
// it says.
func handleEcho(ctx context.Context, e *Engine, l *Leg, r Route) {
	if !e.answerApp(l) || !e.playAndWait(l, PlayOptions{}, sounds.EchoTest) {
		return
	}
	// The echo owns the leg's outgoing stream from now on: no silence.
	l.mu.Lock()
	l.playing++
	l.mu.Unlock()
	l.reconcileSolo()
	l.ep.SetHandler(func(h *rtp.Header, payload []byte) {
		if h.PayloadType == l.ep.Codec().PayloadType {
			_ = l.ep.WritePayload(h.PayloadType, payload, uint32(len(payload)), h.Marker)
		}
	})
}

// handlePlay plays prompts to the caller, then hangs up.
func handlePlay(ctx context.Context, e *Engine, l *Leg, r Route) {
	t, _ := r.Parsed.(PlayTarget)
	if !e.answerApp(l) {
		return
	}
	if e.playAndWait(l, PlayOptions{}, t.Prompts...) {
		l.ops.do(context.Background(), func() error { l.end(CauseNormal, byLocal, 0); return nil })
	}
}

// handleMusic plays the caller a hold-music class until it hangs up: a
// number to check what callers on hold hear, and a load test's target.
func handleMusic(ctx context.Context, e *Engine, l *Leg, r Route) {
	t, _ := r.Parsed.(MusicTarget)
	class := t.Class
	if class == "" {
		class = l.musicClass
	}
	l.mu.Lock()
	l.park = class
	l.mu.Unlock()
	e.answerApp(l)
}

// handlePark answers the caller and leaves it parked, hearing silence or
// a music class, until a program gives it somewhere to go.
func handlePark(ctx context.Context, e *Engine, l *Leg, r Route) {
	t, _ := r.Parsed.(ParkTarget)
	l.mu.Lock()
	l.park = t.Music
	l.mu.Unlock()
	e.answerApp(l)
}
