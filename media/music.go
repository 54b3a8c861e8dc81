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

	mu        sync.Mutex
	listeners []*musicListener

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
	e.clock.add(m)
	return m
}

// Name is the class's name.
func (m *Music) Name() string { return m.name }

// Listen sends the stream to ep, from its current position, until Unlisten.
// Listening twice changes nothing.
func (m *Music) Listen(ep *Endpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.listeners {
		if l.ep == ep {
			return
		}
	}
	m.listeners = append(m.listeners, &musicListener{ep: ep, first: true})
}

// Unlisten stops sending to ep. When it returns, no more music is sent to it.
func (m *Music) Unlisten(ep *Endpoint) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, l := range m.listeners {
		if l.ep == ep {
			last := len(m.listeners) - 1
			m.listeners[i] = m.listeners[last]
			m.listeners[last] = nil
			m.listeners = m.listeners[:last]
			return
		}
	}
}

// Listeners counts who hears the class now.
func (m *Music) Listeners() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.listeners)
}

// Close stops the stream and its listeners.
func (m *Music) Close() {
	m.e.clock.remove(m)
	m.mu.Lock()
	m.listeners = nil
	m.mu.Unlock()
}

func (m *Music) tick(time.Time) {
	if !m.src.ReadFrame(m.pcm[:]) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var haveUlaw, haveAlaw bool
	keep := m.listeners[:0]
	for _, l := range m.listeners {
		if l.ep.isClosed() {
			continue // a hung-up listener leaves by itself
		}
		keep = append(keep, l)
		cs := l.ep.codec.Load()
		var payload []byte
		switch cs.kind {
		case kindPCMU:
			if !haveUlaw {
				EncodeUlaw(m.ulaw[:], m.pcm[:])
				haveUlaw = true
			}
			payload = m.ulaw[:]
		case kindPCMA:
			if !haveAlaw {
				EncodeAlaw(m.alaw[:], m.pcm[:])
				haveAlaw = true
			}
			payload = m.alaw[:]
		default:
			continue
		}
		l.ep.writeGenerated(cs.codec.PayloadType, payload, FrameSamples, l.first)
		l.first = false
	}
	clear(m.listeners[len(keep):])
	m.listeners = keep
}
