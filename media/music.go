package media

import (
	"sync"
	"time"
)

// Music is one class of hold music: a single looping stream, paced by the
// engine's clock, that every listener hears at the same position. Each
// frame is encoded once per codec and the same payload is sent to every
// listener of that codec, so a thousand callers on hold cost a thousand
// sends, not a thousand players.
type Music struct {
	e    *Engine
	name string
	src  *Player

	mu     sync.Mutex
	groups [clockPhases][]*musicListener // listeners, by the phase that sends to them
	fresh  bool                          // the clock goroutine read a frame this tick

	pcm  [FrameSamples]int16 // clock goroutine only
	ulaw [FrameSamples]byte
	alaw [FrameSamples]byte
}

type musicListener struct {
	ep    *Endpoint
	first bool // the next packet is its first: set the marker bit
}

// NewMusic starts a hold-music class playing pcm (8 kHz) in a loop. It
// plays, silently, while nobody listens, so the stream's position is the
// same for everyone whenever they join.
func (e *Engine) NewMusic(name string, pcm []int16) *Music {
	m := &Music{e: e, name: name, src: NewPlayer(true, pcm)}
	e.clock.addPhased(m)
	return m
}

// Name is the class's name.
func (m *Music) Name() string { return m.name }

// Listen sends the stream to ep, from its current position, until Unlisten.
// Listening twice changes nothing.
func (m *Music) Listen(ep *Endpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	least := 0
	for g, group := range m.groups {
		for _, l := range group {
			if l.ep == ep {
				return
			}
		}
		if len(group) < len(m.groups[least]) {
			least = g
		}
	}
	m.groups[least] = append(m.groups[least], &musicListener{ep: ep, first: true})
}

// Unlisten stops sending to ep. When it returns, no more music is sent to it.
func (m *Music) Unlisten(ep *Endpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for g, group := range m.groups {
		for i, l := range group {
			if l.ep == ep {
				last := len(group) - 1
				group[i] = group[last]
				group[last] = nil
				m.groups[g] = group[:last]
				return
			}
		}
	}
}

// Listeners counts who hears the class now.
func (m *Music) Listeners() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, group := range m.groups {
		n += len(group)
	}
	return n
}

// Close stops the stream and its listeners.
func (m *Music) Close() {
	m.e.clock.remove(m)
	m.mu.Lock()
	m.groups = [clockPhases][]*musicListener{}
	m.mu.Unlock()
}

// tickPhase reads and encodes the frame in phase 0, and in each phase
// sends it to that phase's listeners.
func (m *Music) tickPhase(_ time.Time, phase int) {
	if phase == 0 {
		m.fresh = m.src.ReadFrame(m.pcm[:])
		if m.fresh {
			EncodeUlaw(m.ulaw[:], m.pcm[:])
			EncodeAlaw(m.alaw[:], m.pcm[:])
		}
	}
	if !m.fresh {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	group := m.groups[phase]
	keep := group[:0]
	for _, l := range group {
		if l.ep.isClosed() {
			continue // a hung-up listener leaves by itself
		}
		keep = append(keep, l)
		cs := l.ep.codec.Load()
		var payload []byte
		switch cs.kind {
		case kindPCMU:
			payload = m.ulaw[:]
		case kindPCMA:
			payload = m.alaw[:]
		default:
			continue
		}
		l.ep.writeGenerated(cs.codec.PayloadType, payload, FrameSamples, l.first)
		l.first = false
	}
	clear(group[len(keep):])
	m.groups[phase] = keep
}
