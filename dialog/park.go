package dialog

// A leg in no bridge is parked: it hears silence, or music when asked
// (Hold, or the music of Park), until a program or the dial plan gives it
// somewhere to go. Silence is sent as a stream too, one shared by every
// parked leg, so phones see RTP flowing. Prompts played to a parked leg go straight to its
// endpoint; the music pauses meanwhile.

// reconcileSolo makes a leg out of any bridge hear what it should.
func (l *Leg) reconcileSolo() {
	l.mu.Lock()
	defer l.mu.Unlock()
	class := l.hold
	if class == "" {
		class = l.park
	}
	want := l.bridge == nil && l.state != StateEnded && l.playing == 0 &&
		(l.state >= StateAnswered || l.state == StateEarly)
	var m = l.music
	switch {
	case !want && m != nil:
		m.Unlisten(l.ep)
		l.music = nil
	case want && (m == nil || m != l.e.musicOrSilence(class)):
		if m != nil {
			m.Unlisten(l.ep)
		}
		l.music = l.e.musicOrSilence(class)
		l.music.Listen(l.ep)
	}
}

// stopSolo stops the leg's own music, before a bridge takes its media.
func (l *Leg) stopSolo() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.music != nil {
		l.music.Unlisten(l.ep)
		l.music = nil
	}
}
