package dialog

import (
	"context"
	"sync"

	"pbx/media"
	"pbx/sounds"
)

// A conference room is a persistent bridge, made when the first caller
// joins and gone when the last leaves. It beeps when someone joins or
// leaves, asks for the room's PIN when it has one (three tries), and the
// mute key mutes and unmutes oneself.
type rooms struct {
	mu sync.Mutex
	m  map[string]*Bridge
}

// pinAttempts is how many times a caller may try a room's PIN.
const pinAttempts = 3

func handleConference(ctx context.Context, e *Engine, l *Leg, r Route) {
	name := r.Number
	if t, ok := r.Parsed.(ConferenceTarget); ok && t.Room != "" {
		name = t.Room
	}
	// Keys pressed from the answer on are the PIN's, even before the
	// prompt asks for it.
	keys := make(chan rune, 64)
	stopKeys := l.keys.subscribe(func(d media.Digit) {
		select {
		case keys <- d.Key:
		default:
		}
	})
	ok := e.answerApp(l)
	if pin := e.opts.Conference.PINs[name]; ok && pin != "" {
		ok = e.askPIN(l, keys, pin)
	}
	stopKeys()
	if !ok {
		return
	}
	b := e.rooms.join(e, name, l)
	if b == nil {
		return
	}
	l.log.Info("conference joined", "room", name)
	muted := false
	l.keys.subscribe(func(d media.Digit) {
		if string(d.Key) != e.opts.Conference.MuteKey {
			return
		}
		muted = !muted
		b.setMuted(l, muted)
		l.log.Info("conference mute", "room", name, "muted", muted)
	})
	l.onEnd(func() {
		e.rooms.left(e, name, b)
		l.log.Info("conference left", "room", name)
	})
}

// askPIN asks for the room's PIN until it is right, three times at most.
func (e *Engine) askPIN(l *Leg, keys <-chan rune, pin string) bool {
	for range pinAttempts {
		pb, err := e.PlayPrompts(context.Background(), l.id, []string{sounds.ConferenceEnterPIN}, PlayOptions{Interrupt: true})
		if err != nil {
			l.log.Warn("conference prompt", "error", err)
		}
		got, _, err := e.collect(context.Background(), l, keys, CollectOptions{Max: 16, Terminator: "#", Timeout: 2 * e.opts.Features.DigitTimeout, InterDigit: 2 * e.opts.Features.DigitTimeout})
		if pb != nil {
			pb.Stop()
		}
		if err != nil {
			return false
		}
		if got == pin {
			return true
		}
		if !e.playAndWait(l, PlayOptions{}, sounds.Invalid) {
			return false
		}
	}
	e.playAndWait(l, PlayOptions{}, sounds.Goodbye)
	l.ops.do(context.Background(), func() error { l.end(CauseNormal, byLocal, 0); return nil })
	return false
}

// join puts l into the room's bridge, making the room if it is new.
func (rs *rooms) join(e *Engine, name string, l *Leg) *Bridge {
	rs.mu.Lock()
	if rs.m == nil {
		rs.m = map[string]*Bridge{}
	}
	b := rs.m[name]
	if b == nil {
		b = e.newBridge(true, false)
		rs.m[name] = b
	}
	rs.mu.Unlock()
	if err := b.join(l); err != nil {
		return nil
	}
	e.roomBeep(b)
	return b
}

// left forgets an empty room, or beeps to those who stay.
func (rs *rooms) left(e *Engine, name string, b *Bridge) {
	rs.mu.Lock()
	empty := len(b.parties()) == 0
	if empty && rs.m[name] == b {
		delete(rs.m, name)
	}
	rs.mu.Unlock()
	if empty {
		b.dissolve()
		return
	}
	e.roomBeep(b)
}

func (e *Engine) roomBeep(b *Bridge) {
	if !e.opts.Conference.Beep {
		return
	}
	if p, err := e.player(false, sounds.Beep); err == nil {
		b.addSource(p, nil, nil)
	}
}

// setMuted mutes or unmutes a leg in the bridge: nobody hears it.
func (b *Bridge) setMuted(l *Leg, muted bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.muted == nil {
		b.muted = map[*Leg]bool{}
	}
	if muted {
		b.muted[l] = true
	} else {
		delete(b.muted, l)
	}
	b.reconcile()
}

// Rooms reports the conference rooms in use and how many are in each.
func (e *Engine) Rooms() map[string]int {
	e.rooms.mu.Lock()
	defer e.rooms.mu.Unlock()
	out := map[string]int{}
	for name, b := range e.rooms.m {
		out[name] = len(b.parties())
	}
	return out
}
