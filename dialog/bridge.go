package dialog

import (
	"pbx/media"
)

// callMedia is how a call's legs hear each other. Two legs with nothing
// else attached relay (media.Bridge); a prompt played into the call or a
// recording moves them into a mixer; a leg on hold, or held while its
// transferor consults the target, hears the music of its class instead. remix works out the whole
// arrangement from these facts each time one changes, so no sequence of
// holds, prompts and transfers can leave the media half switched.
type callMedia struct {
	mixer   *media.Mixer
	members map[*Leg]*media.Member
	bridged [2]*Leg               // the pair relaying, when relaying
	music   map[*Leg]*media.Music // legs hearing hold music now
	tap     *media.Tap

	heldBy    map[*Leg]bool // legs whose phone put the call on hold
	apiHold   map[*Leg]string
	sources   map[*media.Member]*source // prompts in the mixer
	recording *callRecording
}

// talkers are the answered legs of a call that has not ended (during a
// consultation, remix connects the transferor to the target instead).
func (c *Call) talkers() []*Leg {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.b == nil || c.answer.IsZero() {
		return nil
	}
	return []*Leg{c.a, c.b}
}

func (c *Call) isEnded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// musicFor says which class a leg hears while held, "" when it is not.
// mediaMu must be held.
func (c *Call) musicFor(l *Leg) string {
	if class, ok := c.m.apiHold[l]; ok {
		return class
	}
	for x := range c.m.heldBy {
		if x != l {
			return l.musicClass
		}
	}
	return ""
}

// remix makes the media match the call's state.
func (c *Call) remix() {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	c.remixLocked()
}

func (c *Call) remixLocked() {
	if c.isEnded() {
		return // teardownMedia has released, or will release, everything
	}
	m := &c.m
	legs := c.talkers()
	cs := c.consultation()
	if cs != nil {
		legs = nil // the consultation arranges its own media below
	}
	// Who hears music, and who talks.
	var talking []*Leg
	want := map[*Leg]*media.Music{}
	for _, l := range legs {
		if class := c.musicFor(l); class != "" {
			want[l] = c.e.music(class)
			continue
		}
		talking = append(talking, l)
	}
	if cs != nil {
		want[cs.held] = c.e.music(cs.held.musicClass)
		talking = []*Leg{cs.transferor, cs.target}
	}
	for l, mu := range m.music {
		if want[l] != mu {
			mu.Unlisten(l.ep)
			delete(m.music, l)
		}
	}
	needMixer := len(talking) > 2 || len(m.sources) > 0 || m.recording != nil
	// Undo what no longer holds.
	if b := m.bridged; b[0] != nil && (needMixer || len(talking) != 2 || !samePair(b, talking)) {
		media.Unbridge(b[0].ep, b[1].ep)
		m.bridged = [2]*Leg{}
	}
	if m.mixer != nil && !needMixer {
		if m.tap != nil {
			m.mixer.RemoveTap(m.tap)
			m.tap = nil
		}
		m.mixer.Close()
		m.mixer, m.members = nil, nil
	}
	// Set up what does.
	for l, mu := range want {
		if m.music[l] == nil {
			if mem := m.members[l]; mem != nil {
				m.mixer.Remove(mem)
				delete(m.members, l)
			}
			mu.Listen(l.ep)
			if m.music == nil {
				m.music = map[*Leg]*media.Music{}
			}
			m.music[l] = mu
		}
	}
	if !needMixer {
		if len(talking) == 2 && m.bridged[0] == nil {
			if err := media.Bridge(talking[0].ep, talking[1].ep); err != nil {
				c.log.Error("bridge", "error", err)
			}
			m.bridged = [2]*Leg{talking[0], talking[1]}
		}
		return
	}
	c.ensureMixer()
	in := map[*Leg]bool{}
	for _, l := range talking {
		in[l] = true
		if m.members[l] == nil {
			m.members[l] = m.mixer.AddEndpoint(l.ep)
		}
	}
	for l, mem := range m.members {
		if !in[l] {
			m.mixer.Remove(mem)
			delete(m.members, l)
		}
	}
	// A prompt for one leg is heard by that leg only.
	for mem, src := range m.sources {
		for l, lm := range m.members {
			m.mixer.SetHears(lm, mem, src.leg == nil || src.leg == l)
		}
	}
	c.retap()
}

// ensureMixer makes the call's mixer if it has none. mediaMu must be held.
func (c *Call) ensureMixer() {
	if c.m.mixer == nil {
		c.m.mixer = c.e.media.NewMixer()
		c.m.members = map[*Leg]*media.Member{}
	}
}

func samePair(b [2]*Leg, legs []*Leg) bool {
	return len(legs) == 2 && (b[0] == legs[0] && b[1] == legs[1] || b[0] == legs[1] && b[1] == legs[0])
}

// teardownMedia releases everything the call's media holds; the
// endpoints themselves are closed by hangup.
func (c *Call) teardownMedia() {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	m := &c.m
	for l, mu := range m.music {
		mu.Unlisten(l.ep)
	}
	m.music = nil
	if b := m.bridged; b[0] != nil {
		media.Unbridge(b[0].ep, b[1].ep)
		m.bridged = [2]*Leg{}
	}
	if m.mixer != nil {
		m.mixer.Close()
		m.mixer, m.members, m.tap = nil, nil, nil
	}
	for _, src := range m.sources {
		go src.finish() // it takes mediaMu
	}
	if r := m.recording; r != nil {
		m.recording = nil
		go r.stop()
	}
}
