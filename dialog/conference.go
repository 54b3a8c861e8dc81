package dialog

import (
	"context"
	"fmt"
	"sync"

	"pbx/media"
	"pbx/sounds"
)

// A conference room is a persistent bridge with a name. A caller who
// dials a conference target makes the room if it is new, and the room
// goes when the last one leaves; a program makes one by CreateRoom that
// stays, empty or not, until DestroyRoom. Both are the same rooms: a
// caller dialling a room a program made joins it. The room beeps when
// someone joins or leaves, asks callers for its PIN when it has one
// (three tries), and a caller's mute key mutes and unmutes it. Being a
// member is being in the room's bridge, so however a leg leaves it (hung
// up, bridged elsewhere, redirected) room.left reports it.
type rooms struct {
	mu sync.Mutex
	m  map[string]*room
}

// room is one conference room.
type room struct {
	name string
	b    *Bridge
	keep bool // made by CreateRoom: stays while empty, until DestroyRoom
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
	if _, err := e.rooms.join(e, name, l, true); err != nil {
		l.log.Info("conference not joined", "room", name, "error", err)
		return
	}
	l.log.Info("conference joined", "room", name)
	e.watchMuteKey(l)
}

// watchMuteKey lets a caller's key mute and unmute it in whatever room it
// is in, once per leg however many rooms it joins.
func (e *Engine) watchMuteKey(l *Leg) {
	l.mu.Lock()
	already := l.roomKeys
	l.roomKeys = true
	l.mu.Unlock()
	if already || e.opts.Conference.MuteKey == "" {
		return
	}
	l.keys.subscribe(func(d media.Digit) {
		if string(d.Key) != e.opts.Conference.MuteKey {
			return
		}
		b := l.currentBridge()
		if b == nil || b.room == "" {
			return
		}
		muted := !b.isMuted(l)
		e.muteInRoom(b, l, muted)
		l.log.Info("conference mute", "room", b.room, "muted", muted)
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

// newRoomLocked makes a room and its bridge; rs.mu is held.
func (rs *rooms) newRoomLocked(e *Engine, name string, keep bool) *room {
	if rs.m == nil {
		rs.m = map[string]*room{}
	}
	b := e.newBridge(true, false)
	b.room, b.keep = name, keep
	r := &room{name: name, b: b, keep: keep}
	rs.m[name] = r
	return r
}

// get finds a room by name.
func (rs *rooms) get(name string) *room {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.m[name]
}

// join puts l into the room's bridge. With create, a room that does not
// exist is made (a caller dialling it); without, that is ErrNotFound.
func (rs *rooms) join(e *Engine, name string, l *Leg, create bool) (*Bridge, error) {
	for {
		rs.mu.Lock()
		r := rs.m[name]
		made := false
		if r == nil {
			if !create {
				rs.mu.Unlock()
				return nil, fmt.Errorf("join room %s: %w", name, ErrNotFound)
			}
			r = rs.newRoomLocked(e, name, false)
			made = true
		}
		rs.mu.Unlock()
		if made {
			e.roomCreated(r)
		}
		err := r.b.join(l)
		if err == nil {
			e.roomBeep(r.b)
			return r.b, nil
		}
		if l.ended() {
			return nil, err
		}
		// The last member left as l came: the room is gone; a caller
		// makes it anew.
		rs.forget(e, r)
		if !create {
			return nil, fmt.Errorf("join room %s: %w", name, ErrNotFound)
		}
	}
}

// forget removes a room that ended, once, and reports room.ended.
func (rs *rooms) forget(e *Engine, r *room) {
	rs.mu.Lock()
	mine := rs.m[r.name] == r
	if mine {
		delete(rs.m, r.name)
	}
	rs.mu.Unlock()
	if !mine {
		return
	}
	r.b.dissolve()
	e.events.publish(Event{Kind: EventRoomEnded, BridgeID: r.b.id, Detail: r.name})
}

// left runs when a member has left room bridge b: a room made by a caller
// goes with its last member; one that stays beeps to those who remain.
func (rs *rooms) left(e *Engine, b *Bridge) {
	rs.mu.Lock()
	r := rs.m[b.room]
	rs.mu.Unlock()
	if r == nil || r.b != b {
		return // destroyed, or an older room of the same name
	}
	if len(b.parties()) > 0 {
		e.roomBeep(b)
		return
	}
	if !r.keep {
		rs.forget(e, r)
	}
}

func (e *Engine) roomCreated(r *room) {
	e.log.Info("conference room made", "room", r.name, "bridge", r.b.id, "kept", r.keep)
	e.events.publish(Event{Kind: EventRoomCreated, BridgeID: r.b.id, Detail: r.name})
}

func (e *Engine) roomBeep(b *Bridge) {
	if !e.opts.Conference.Beep {
		return
	}
	if p, err := e.player(false, sounds.Beep); err == nil {
		b.addSource(p, nil, nil)
	}
}

// setMuted mutes or unmutes a leg in the bridge: nobody hears it. It
// reports whether that changed anything.
func (b *Bridge) setMuted(l *Leg, muted bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.muted[l] == muted {
		return false
	}
	if b.muted == nil {
		b.muted = map[*Leg]bool{}
	}
	if muted {
		b.muted[l] = true
	} else {
		delete(b.muted, l)
	}
	b.reconcile()
	return true
}

func (b *Bridge) isMuted(l *Leg) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.muted[l]
}

// muteInRoom mutes or unmutes a member and reports it.
func (e *Engine) muteInRoom(b *Bridge, l *Leg, muted bool) {
	if !b.setMuted(l, muted) {
		return
	}
	kind := EventRoomUnmuted
	if muted {
		kind = EventRoomMuted
	}
	l.publish(Event{Kind: kind, BridgeID: b.id, Detail: b.room})
}

// Rooms reports the conference rooms in use and how many are in each.
func (e *Engine) Rooms() map[string]int {
	e.rooms.mu.Lock()
	rs := make([]*room, 0, len(e.rooms.m))
	for _, r := range e.rooms.m {
		rs = append(rs, r)
	}
	e.rooms.mu.Unlock()
	out := map[string]int{}
	for _, r := range rs {
		out[r.name] = len(r.b.parties())
	}
	return out
}

// CreateRoom makes a conference room that stays, empty or not, until
// DestroyRoom. Callers who dial its name through a conference target join
// it too. A room of that name already in use is ErrInvalidState; a name
// the dial plan could not name (up to 64 letters, digits, '*', '#', '-',
// '_' or '.') is ErrBadTarget.
func (e *Engine) CreateRoom(ctx context.Context, name string) error {
	if !roomRe.MatchString(name) {
		return fmt.Errorf("create room %q: %w: want up to 64 letters, digits, '*', '#', '-', '_' or '.'", name, ErrBadTarget)
	}
	rs := &e.rooms
	rs.mu.Lock()
	if rs.m[name] != nil {
		rs.mu.Unlock()
		return fmt.Errorf("create room %s: %w: it exists", name, ErrInvalidState)
	}
	r := rs.newRoomLocked(e, name, true)
	rs.mu.Unlock()
	e.roomCreated(r)
	return nil
}

// JoinRoom puts an answered leg into a room, taking it out of its bridge.
// A room that does not exist is ErrNotFound; a leg not answered,
// ErrInvalidState.
func (e *Engine) JoinRoom(ctx context.Context, name, legID string) error {
	l, err := e.liveLeg("join room", legID)
	if err != nil {
		return err
	}
	if st := l.getState(); st != StateAnswered && st != StateHeld {
		return fmt.Errorf("join %s to room %s: %w: not answered", legID, name, ErrInvalidState)
	}
	_, err = e.rooms.join(e, name, l, false)
	return err
}

// member finds a room and checks that a live leg is in it.
func (e *Engine) member(op, name, legID string) (*room, *Leg, error) {
	l, err := e.liveLeg(op, legID)
	if err != nil {
		return nil, nil, err
	}
	r := e.rooms.get(name)
	if r == nil {
		return nil, nil, fmt.Errorf("%s %s: room %s: %w", op, legID, name, ErrNotFound)
	}
	if l.currentBridge() != r.b {
		return nil, nil, fmt.Errorf("%s %s: %w: not in room %s", op, legID, ErrInvalidState, name)
	}
	return r, l, nil
}

// LeaveRoom takes a member out of a room; it stays up, parked.
func (e *Engine) LeaveRoom(ctx context.Context, name, legID string) error {
	r, l, err := e.member("leave room", name, legID)
	if err != nil {
		return err
	}
	r.b.leave(l, false)
	return nil
}

// MuteInRoom mutes a member (nobody hears it) or unmutes it.
func (e *Engine) MuteInRoom(ctx context.Context, name, legID string, muted bool) error {
	r, l, err := e.member("mute in room", name, legID)
	if err != nil {
		return err
	}
	e.muteInRoom(r.b, l, muted)
	return nil
}

// DestroyRoom hangs up every member of a room and ends it, whoever made
// it. A room that does not exist is ErrNotFound.
func (e *Engine) DestroyRoom(ctx context.Context, name string) error {
	rs := &e.rooms
	rs.mu.Lock()
	r := rs.m[name]
	if r != nil {
		delete(rs.m, name) // members leaving now find no room: no beeps
	}
	rs.mu.Unlock()
	if r == nil {
		return fmt.Errorf("destroy room %s: %w", name, ErrNotFound)
	}
	for _, l := range r.b.parties() {
		l.ops.do(ctx, func() error { l.end(CauseNormal, byLocal, 0); return nil })
	}
	r.b.dissolve()
	e.log.Info("conference room destroyed", "room", name)
	e.events.publish(Event{Kind: EventRoomEnded, BridgeID: r.b.id, Detail: name})
	return nil
}
