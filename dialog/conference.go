package dialog

import (
	"sync"

	"pbx/media"
	"pbx/sounds"
)

// rooms are the conference rooms open now, by number.
type rooms struct {
	mu sync.Mutex
	m  map[string]*room
}

// room is a conference: one mixer where every member hears every other.
type room struct {
	name    string
	mixer   *media.Mixer
	members map[*Leg]*media.Member
}

// pinAttempts is how many wrong PINs a caller may key before being let go.
const pinAttempts = 3

// conference asks for the room's PIN if it has one, then seats the caller
// in the room until it hangs up. The mute key mutes and unmutes.
func (e *Engine) conference(call *Call, name string) {
	a := call.a
	keys, stopKeys := a.readKeys()
	defer stopKeys()
	if pin := e.cfg.Conference.PINs[name]; pin != "" && !e.askPIN(call, keys, pin) {
		return
	}
	r, mem := e.rooms.join(e, name, a)
	call.log.Info("conference joined", "room", name)
	defer func() {
		e.rooms.leave(e, r, a)
		call.log.Info("conference left", "room", name)
	}()
	muted := false
	for {
		select {
		case d := <-keys:
			if string(d.Key) != e.cfg.Conference.MuteKey {
				continue
			}
			muted = !muted
			r.mixer.SetMuted(mem, muted)
			call.log.Info("conference mute", "room", name, "muted", muted)
		case <-call.done:
			return
		}
	}
}

// askPIN asks for a PIN up to pinAttempts times; a caller who never keys
// it is told goodbye and hung up.
func (e *Engine) askPIN(call *Call, keys <-chan media.Digit, pin string) bool {
	for range pinAttempts {
		pb, err := e.Play(call.a.ID, []string{sounds.ConferenceEnterPIN}, PlayOptions{Interrupt: true})
		if err != nil {
			call.log.Warn("conference prompt", "error", err)
		}
		got, ok := collectNumber(keys, call.done, 16, 2*e.cfg.Features.DigitTimeout)
		if pb != nil {
			pb.Stop()
		}
		if !ok {
			return false
		}
		if got == pin {
			return true
		}
		if !e.playWait(call, sounds.Invalid) {
			return false
		}
	}
	e.playWait(call, sounds.Goodbye)
	call.hangup(nil, CauseNormal)
	return false
}

// playWait plays prompts to the caller and waits for them; false if the
// call ended first.
func (e *Engine) playWait(call *Call, names ...string) bool {
	pb, err := e.playAlone(call.a, false, names...)
	if err != nil {
		call.log.Warn("prompt", "error", err)
		return true
	}
	select {
	case <-pb.Done():
		return true
	case <-call.done:
		pb.Stop()
		return false
	}
}

// join seats l in room name, opening the room if needed, and beeps.
func (rs *rooms) join(e *Engine, name string, l *Leg) (*room, *media.Member) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.m == nil {
		rs.m = map[string]*room{}
	}
	r := rs.m[name]
	if r == nil {
		r = &room{name: name, mixer: e.media.NewMixer(), members: map[*Leg]*media.Member{}}
		rs.m[name] = r
	}
	mem := r.mixer.AddEndpoint(l.ep)
	r.members[l] = mem
	r.beep(e)
	return r, mem
}

// leave takes l out of its room, beeps to those left, and closes an
// empty room.
func (rs *rooms) leave(e *Engine, r *room, l *Leg) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if mem := r.members[l]; mem != nil {
		r.mixer.Remove(mem)
		delete(r.members, l)
	}
	if len(r.members) == 0 {
		r.mixer.Close()
		delete(rs.m, r.name)
		return
	}
	r.beep(e)
}

// beep tells the room someone came or went, if beeps are on.
func (r *room) beep(e *Engine) {
	if !e.cfg.Conference.Beep {
		return
	}
	if p, err := e.player(false, sounds.Beep); err == nil {
		r.mixer.AddSource(p, nil)
	}
}

// Rooms lists the open conference rooms and how many are in each.
func (e *Engine) Rooms() map[string]int {
	e.rooms.mu.Lock()
	defer e.rooms.mu.Unlock()
	out := map[string]int{}
	for name, r := range e.rooms.m {
		out[name] = len(r.members)
	}
	return out
}
