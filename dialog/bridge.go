package dialog

import (
	"fmt"
	"sync"

	"pbx/media"
)

// Bridge joins legs' media and owns who hears whom. Two talking legs with
// nothing else attached relay packets (media.Bridge); a third party, a
// prompt, a recording or a supervisor's matrix moves them into a mixer,
// and back when it is over. reconcile works out the whole arrangement from
// the bridge's facts each time one changes, so no sequence of holds,
// prompts, transfers and supervisor modes can leave the media half
// switched. Each far end's outgoing stream stays continuous across the
// switches (media rewrites SSRC, sequence and timestamp per stream).
//
// Nothing else in dialog calls media.Bridge or makes a mixer for legs.
type Bridge struct {
	id string
	e  *Engine

	mu           sync.Mutex
	legs         []*Leg
	persistent   bool   // stays up with fewer than two legs (a conference room, a call in consultation)
	room         string // the conference room it is, "" for none; set at creation
	keep         bool   // stays up with no party at all (a room a program made); set at creation
	together     bool   // a dial-plan call: when one party hangs up, the others are hung up
	ended        bool
	transferring bool // a transfer is dialing its target
	muted        map[*Leg]bool
	supervise    map[*Leg]supervision // supervisors and their mode
	sources      map[*media.Member]*bridgeSource
	rec          *bridgeRecording

	// What reconcile set up.
	relay   [2]*Leg
	mixer   *media.Mixer
	members map[*Leg]*media.Member
	music   map[*Leg]*media.Music
	tap     *media.Tap
}

// bridgeSource is a prompt mixed into a bridge.
type bridgeSource struct {
	hearers map[*Leg]bool // nil: every leg
	finish  func()
}

// BridgeInfo is a snapshot of a bridge.
type BridgeInfo struct {
	ID    string
	Legs  []string
	Mixed bool // the mixer path, not the relay
}

func (e *Engine) newBridge(persistent, together bool) *Bridge {
	b := &Bridge{id: e.newID(), e: e, persistent: persistent, together: together}
	e.mu.Lock()
	e.bridges[b.id] = b
	e.mu.Unlock()
	return b
}

// ID is the bridge's stable id.
func (b *Bridge) ID() string { return b.id }

// Info takes a snapshot of the bridge.
func (b *Bridge) Info() BridgeInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	bi := BridgeInfo{ID: b.id, Mixed: b.mixer != nil}
	for _, l := range b.legs {
		bi.Legs = append(bi.Legs, l.id)
	}
	return bi
}

// other is a leg of the bridge other than l (the party l talks to in a
// two-party bridge), or nil.
func (b *Bridge) other(l *Leg) *Leg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.otherLocked(l)
}

func (b *Bridge) otherLocked(l *Leg) *Leg {
	for _, x := range b.legs {
		if x != l && b.supervise[x].mode == 0 {
			return x
		}
	}
	return nil
}

// parties are the legs that are not supervisors.
func (b *Bridge) parties() []*Leg {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.partiesLocked()
}

func (b *Bridge) partiesLocked() []*Leg {
	var out []*Leg
	for _, l := range b.legs {
		if b.supervise[l].mode == 0 {
			out = append(out, l)
		}
	}
	return out
}

// join adds l to the bridge, taking it out of any other bridge first.
func (b *Bridge) join(l *Leg) error {
	if old := l.currentBridge(); old != nil && old != b {
		old.leave(l, false)
	}
	l.stopSolo()
	b.mu.Lock()
	if b.ended {
		b.mu.Unlock()
		l.reconcileSolo()
		return fmt.Errorf("bridge %s: %w", b.id, ErrNotFound)
	}
	l.mu.Lock()
	if l.state == StateEnded {
		l.mu.Unlock()
		b.mu.Unlock()
		return fmt.Errorf("join %s to bridge %s: %w", l.id, b.id, ErrNotFound)
	}
	l.bridge = b
	l.mu.Unlock()
	for _, x := range b.legs {
		if x == l {
			b.mu.Unlock()
			return nil
		}
	}
	b.legs = append(b.legs, l)
	b.reconcile()
	other := b.otherLocked(l)
	b.mu.Unlock()
	ev := Event{Kind: EventLegBridged, BridgeID: b.id}
	if other != nil {
		ev.OtherLegID = other.id
	}
	l.publish(ev)
	if b.room != "" {
		l.publish(Event{Kind: EventRoomJoined, BridgeID: b.id, Detail: b.room})
	}
	return nil
}

// leave takes l out of the bridge. When l hung up and the bridge is a
// dial-plan call, the other parties are hung up too; otherwise a bridge
// left with fewer than two parties dissolves unless it is persistent, and
// the legs left are parked.
func (b *Bridge) leave(l *Leg, hungUp bool) {
	b.mu.Lock()
	if !b.removeLocked(l) {
		b.mu.Unlock()
		return
	}
	var hangup, parked []*Leg
	parties := 0
	for _, x := range b.legs {
		if b.supervise[x].mode == 0 {
			parties++
		}
	}
	switch {
	case hungUp && b.together && !b.persistent:
		// The parties are hung up; a supervisor is the program's, parked.
		for _, x := range b.legs {
			if b.supervise[x].mode == 0 {
				hangup = append(hangup, x)
			} else {
				parked = append(parked, x)
			}
		}
		b.dissolveLocked()
	case parties < 2 && !b.persistent || parties == 0 && !b.keep:
		parked = append(parked, b.legs...)
		b.dissolveLocked()
	default:
		b.reconcile()
	}
	b.mu.Unlock()
	l.publish(Event{Kind: EventLegUnbridged, BridgeID: b.id})
	if b.room != "" {
		l.publish(Event{Kind: EventRoomLeft, BridgeID: b.id, Detail: b.room})
		b.e.rooms.left(b.e, b)
	}
	for _, x := range parked {
		x.publish(Event{Kind: EventLegUnbridged, BridgeID: b.id})
		x.reconcileSolo()
	}
	for _, x := range hangup {
		x.ops.post(func() { x.end(CauseNormal, byLocal, 0) })
	}
	if !hungUp {
		l.reconcileSolo()
	}
}

// removeLocked takes l out of the member list and its media; b.mu held.
func (b *Bridge) removeLocked(l *Leg) bool {
	i := -1
	for j, x := range b.legs {
		if x == l {
			i = j
		}
	}
	if i < 0 {
		return false
	}
	b.legs = append(b.legs[:i], b.legs[i+1:]...)
	delete(b.muted, l)
	delete(b.supervise, l)
	for x, s := range b.supervise {
		if s.target == l {
			delete(b.supervise, x) // its supervisor is a plain party now
		}
	}
	l.mu.Lock()
	if l.bridge == b {
		l.bridge = nil
	}
	l.mu.Unlock()
	b.releaseLeg(l)
	return true
}

// dissolve ends the bridge: every leg leaves it and is parked.
func (b *Bridge) dissolve() {
	b.mu.Lock()
	legs := append([]*Leg(nil), b.legs...)
	for _, l := range legs {
		b.removeLocked(l)
	}
	b.dissolveLocked()
	b.mu.Unlock()
	for _, l := range legs {
		l.publish(Event{Kind: EventLegUnbridged, BridgeID: b.id})
		l.reconcileSolo()
	}
}

// dissolveLocked releases everything; b.mu held. The legs still listed
// are taken out of the bridge.
func (b *Bridge) dissolveLocked() {
	if b.ended {
		return
	}
	b.ended = true
	for _, l := range b.legs {
		l.mu.Lock()
		if l.bridge == b {
			l.bridge = nil
		}
		l.mu.Unlock()
		b.releaseLeg(l)
	}
	b.legs = nil
	if b.mixer != nil {
		b.mixer.Close()
		b.mixer, b.members, b.tap = nil, nil, nil
	}
	for _, src := range b.sources {
		b.e.goOwned(src.finish) // it takes b.mu
	}
	if r := b.rec; r != nil {
		b.rec = nil
		b.e.goOwned(r.stop)
	}
	b.e.mu.Lock()
	delete(b.e.bridges, b.id)
	b.e.mu.Unlock()
}

// releaseLeg undoes what reconcile set up for l; b.mu held.
func (b *Bridge) releaseLeg(l *Leg) {
	if mu := b.music[l]; mu != nil {
		mu.Unlisten(l.ep)
		delete(b.music, l)
	}
	if r := b.relay; r[0] == l || r[1] == l {
		media.Unbridge(r[0].ep, r[1].ep)
		b.relay = [2]*Leg{}
	}
	if mem := b.members[l]; mem != nil {
		b.mixer.Remove(mem)
		delete(b.members, l)
	}
}

// musicFor says which class l hears instead of the bridge, "" for none:
// a leg on hold by the API hears its class, and in a two-party call the
// party facing a phone that holds hears its own class.
func (b *Bridge) musicFor(l *Leg) string {
	l.mu.Lock()
	hold, class := l.hold, l.musicClass
	l.mu.Unlock()
	if hold != "" {
		return hold
	}
	if o := b.otherLocked(l); o != nil && len(b.partiesLocked()) == 2 && o.isPhoneHeld() {
		return class
	}
	return ""
}

func (l *Leg) isPhoneHeld() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.phoneHeld
}

// hears is the bridge's matrix: whether listener hears speaker.
func (b *Bridge) hears(listener, speaker *Leg) bool {
	if listener == speaker || b.muted[speaker] {
		return false
	}
	s := b.supervise[speaker]
	switch s.mode {
	case SuperviseListen:
		return false
	case SuperviseWhisper:
		return listener == s.target
	}
	return true
}

// reconcile makes the media match the bridge's facts; b.mu held.
func (b *Bridge) reconcile() {
	if b.ended {
		return
	}
	var talking []*Leg
	want := map[*Leg]*media.Music{}
	for _, l := range b.legs {
		st := l.getState()
		if st == StateRinging && l.dir == Outbound || st == StateEnded {
			continue // no media yet
		}
		if class := b.musicFor(l); class != "" {
			want[l] = b.e.music(class)
			continue
		}
		if l.isPhoneHeld() && len(b.partiesLocked()) == 2 {
			continue // its phone neither sends nor hears; the other hears music
		}
		talking = append(talking, l)
	}
	for l, mu := range b.music {
		if want[l] != mu {
			mu.Unlisten(l.ep)
			delete(b.music, l)
		}
	}
	matrix := false
	for _, l := range talking {
		if b.muted[l] || b.supervise[l].mode != 0 {
			matrix = true
		}
	}
	needMixer := len(talking) > 2 || len(b.sources) > 0 || b.rec != nil || matrix
	if r := b.relay; r[0] != nil && (needMixer || len(talking) != 2 || !samePair(r, talking)) {
		media.Unbridge(r[0].ep, r[1].ep)
		b.relay = [2]*Leg{}
	}
	if b.mixer != nil && !needMixer {
		b.mixer.Close()
		b.mixer, b.members, b.tap = nil, nil, nil
	}
	for l, mu := range want {
		if b.music[l] == nil {
			if mem := b.members[l]; mem != nil {
				b.mixer.Remove(mem)
				delete(b.members, l)
			}
			mu.Listen(l.ep)
			if b.music == nil {
				b.music = map[*Leg]*media.Music{}
			}
			b.music[l] = mu
		}
	}
	if !needMixer {
		if len(talking) == 2 && b.relay[0] == nil {
			if err := media.Bridge(talking[0].ep, talking[1].ep); err != nil {
				b.e.log.Error("relay", "bridge", b.id, "error", err)
			}
			b.relay = [2]*Leg{talking[0], talking[1]}
		}
		return
	}
	b.ensureMixer()
	in := map[*Leg]bool{}
	for _, l := range talking {
		in[l] = true
		if b.members[l] == nil {
			b.members[l] = b.mixer.AddEndpoint(l.ep)
		}
	}
	for l, mem := range b.members {
		if !in[l] {
			b.mixer.Remove(mem)
			delete(b.members, l)
		}
	}
	for l, lm := range b.members {
		for x, xm := range b.members {
			if l != x {
				b.mixer.SetHears(lm, xm, b.hears(l, x))
			}
		}
		for mem, src := range b.sources {
			b.mixer.SetHears(lm, mem, src.hearers == nil || src.hearers[l])
		}
	}
	b.retap()
}

// ensureMixer makes the bridge's mixer if it has none; b.mu held.
func (b *Bridge) ensureMixer() {
	if b.mixer == nil {
		b.mixer = b.e.media.NewMixer()
		b.members = map[*Leg]*media.Member{}
	}
}

func samePair(r [2]*Leg, legs []*Leg) bool {
	return len(legs) == 2 && (r[0] == legs[0] && r[1] == legs[1] || r[0] == legs[1] && r[1] == legs[0])
}

// anyPhoneHeld reports whether a party's phone holds the bridge, which
// exempts its legs from the RTP timeout.
func (b *Bridge) anyPhoneHeld() bool {
	for _, l := range b.parties() {
		if l.isPhoneHeld() {
			return true
		}
	}
	return false
}

// update re-runs reconcile after a leg's facts changed (hold, state).
func (b *Bridge) update() {
	b.mu.Lock()
	b.reconcile()
	b.mu.Unlock()
}
