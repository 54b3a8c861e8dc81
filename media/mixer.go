package media

import (
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Mixer mixes any number of members, each tick of the engine's clock: each
// endpoint member is sent the sum of everyone it hears but itself
// (mix-minus), sources such as prompts are heard like any member, and taps
// such as recorders receive chosen members' audio. Who hears whom is a
// matrix: by default everyone hears everyone; SetHears, SetMuted and
// SetDeaf carve out the supervisor modes, whisper and a prompt for one
// party only.
//
// Sums are taken in 32 bits and saturated to 16 once, when a listener's
// mix is complete, so a loud party clips only what is truly too loud and
// the mix never wraps around.
type Mixer struct {
	e *Engine

	mu      sync.Mutex
	members []*Member
	taps    []*Tap
	closed  bool

	sum [FrameSamples]int32 // clock goroutine only, under mu
	acc [FrameSamples]int32
	out [FrameSamples]int16
	enc [FrameSamples]byte
}

// Member is one input and output of a mixer: an endpoint (a party who
// talks and listens) or a source (which only talks).
type Member struct {
	m   *Mixer
	ep  *Endpoint
	src Source

	in      pcmFIFO                   // an endpoint's decoded audio, written by its reader
	scratch [maxDatagram]int16        // the reader's decode buffer
	frame   [FrameSamples]int16       // this tick's input
	handler func(*rtp.Header, []byte) // installed on ep while a member

	// guarded by the mixer's mu
	active  bool      // frame holds audio this tick
	muted   bool      // nobody hears this member
	deaf    bool      // this member hears nobody
	notHear []*Member // members this one does not hear
	first   bool      // the next packet sent is its first
	onEnd   func()    // a source ran out
	removed bool
}

// NewMixer starts an empty mixer on the engine's clock.
func (e *Engine) NewMixer() *Mixer {
	m := &Mixer{e: e}
	e.clock.add(m)
	return m
}

// AddEndpoint makes ep a party of the mixer: what it receives is mixed for
// the others, and it is sent its own mix. The endpoint must not be relaying;
// its handler is the mixer's until Remove.
func (m *Mixer) AddEndpoint(ep *Endpoint) *Member {
	mem := &Member{m: m, ep: ep, first: true}
	mem.handler = mem.receive
	ep.SetHandler(mem.handler)
	m.add(mem)
	return mem
}

// AddSource mixes src in, heard by every member unless SetHears says
// otherwise, until it ends (then onEnd, if not nil, is called on a
// goroutine of its own and the member leaves) or is removed.
func (m *Mixer) AddSource(src Source, onEnd func()) *Member {
	mem := &Member{m: m, src: src, deaf: true, onEnd: onEnd}
	m.add(mem)
	return mem
}

func (m *Mixer) add(mem *Member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.members = append(m.members, mem)
}

// Remove takes a member out. An endpoint is left with no handler, ready to
// relay or play; the rest of the mixer goes on.
func (m *Mixer) Remove(mem *Member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(mem)
}

func (m *Mixer) removeLocked(mem *Member) {
	if mem.removed {
		return
	}
	mem.removed = true
	if mem.ep != nil {
		mem.ep.SetHandler(nil)
	}
	for i, x := range m.members {
		if x == mem {
			m.members = append(m.members[:i], m.members[i+1:]...)
			break
		}
	}
	for _, x := range m.members {
		x.notHear = without(x.notHear, mem)
	}
	for _, t := range m.taps {
		t.left, t.right = without(t.left, mem), without(t.right, mem)
	}
}

func without(list []*Member, mem *Member) []*Member {
	for i, x := range list {
		if x == mem {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// SetHears says whether listener hears speaker.
func (m *Mixer) SetHears(listener, speaker *Member, hears bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	listener.notHear = without(listener.notHear, speaker)
	if !hears {
		listener.notHear = append(listener.notHear, speaker)
	}
}

// SetMuted says whether anyone hears mem (a supervisor who listens, a
// conference member muted by DTMF).
func (m *Mixer) SetMuted(mem *Member, muted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mem.muted = muted
}

// SetDeaf says whether mem hears anyone: a deaf endpoint is sent silence.
func (m *Mixer) SetDeaf(mem *Member, deaf bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mem.deaf = deaf
}

// Members counts the members.
func (m *Mixer) Members() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.members)
}

// Tap receives, every tick, the audio of chosen members: the sum of left
// and the sum of right, as a recorder of a call wants it (caller left,
// callee right). It hears members whether or not they are muted: muting
// is about the mix, not the record.
type Tap struct {
	left, right []*Member
	sink        func(left, right []int16)
	l, r        [FrameSamples]int16
}

// AddTap starts feeding sink every tick with the sums of left and right.
// sink runs on the clock's goroutine and must not block.
func (m *Mixer) AddTap(left, right []*Member, sink func(left, right []int16)) *Tap {
	t := &Tap{left: append([]*Member(nil), left...), right: append([]*Member(nil), right...), sink: sink}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.taps = append(m.taps, t)
	return t
}

// RemoveTap stops feeding t; when it returns its sink is not running.
func (m *Mixer) RemoveTap(t *Tap) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.taps {
		if x == t {
			m.taps = append(m.taps[:i], m.taps[i+1:]...)
			return
		}
	}
}

// Close stops the mixer and releases its endpoints' handlers.
func (m *Mixer) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for len(m.members) > 0 {
		m.removeLocked(m.members[0])
	}
	m.taps = nil
	m.mu.Unlock()
	m.e.clock.remove(m)
}

// receive is an endpoint member's handler, on the endpoint's reader.
func (mem *Member) receive(h *rtp.Header, payload []byte) {
	cs := mem.ep.codec.Load()
	if h.PayloadType != cs.codec.PayloadType {
		return // telephone-events, comfort noise
	}
	n, ok := decodeFor(cs, mem.scratch[:], payload)
	if !ok {
		return
	}
	mem.in.write(mem.scratch[:n])
}

func (m *Mixer) tick(time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	clear(m.sum[:])
	for i := 0; i < len(m.members); i++ {
		mem := m.members[i]
		switch {
		case mem.ep != nil && mem.ep.isClosed():
			m.removeLocked(mem)
			i--
			continue
		case mem.src != nil:
			mem.active = mem.src.ReadFrame(mem.frame[:])
			if !mem.active {
				m.removeLocked(mem)
				i--
				if mem.onEnd != nil {
					go mem.onEnd()
				}
				continue
			}
		default:
			mem.active = mem.in.read(mem.frame[:])
		}
		if mem.active && !mem.muted {
			addTo(&m.sum, &mem.frame)
		}
	}
	for _, mem := range m.members {
		if mem.ep != nil {
			m.send(mem)
		}
	}
	for _, t := range m.taps {
		sumOf(&t.l, t.left)
		sumOf(&t.r, t.right)
		t.sink(t.l[:], t.r[:])
	}
}

// send encodes and sends mem its mix: everyone it hears but itself.
func (m *Mixer) send(mem *Member) {
	if mem.deaf {
		clear(m.out[:])
	} else {
		m.acc = m.sum
		if mem.active && !mem.muted {
			subFrom(&m.acc, &mem.frame)
		}
		for _, x := range mem.notHear {
			if x.active && !x.muted {
				subFrom(&m.acc, &x.frame)
			}
		}
		saturate(&m.out, &m.acc)
	}
	cs := mem.ep.codec.Load()
	n, ok := encodeFor(cs, m.enc[:], m.out[:])
	if !ok {
		return
	}
	mem.ep.writeGenerated(cs.codec.PayloadType, m.enc[:n], uint32(n), mem.first)
	mem.first = false
}

func addTo(sum *[FrameSamples]int32, f *[FrameSamples]int16) {
	for i, s := range f {
		sum[i] += int32(s)
	}
}

func subFrom(sum *[FrameSamples]int32, f *[FrameSamples]int16) {
	for i, s := range f {
		sum[i] -= int32(s)
	}
}

func saturate(out *[FrameSamples]int16, sum *[FrameSamples]int32) {
	for i, s := range sum {
		out[i] = int16(max(-32768, min(32767, s)))
	}
}

// sumOf mixes the active frames of members into out.
func sumOf(out *[FrameSamples]int16, members []*Member) {
	var acc [FrameSamples]int32
	for _, mem := range members {
		if mem.active {
			addTo(&acc, &mem.frame)
		}
	}
	saturate(out, &acc)
}
