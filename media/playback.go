package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// Playback is a Source being sent to one endpoint, a frame per clock tick,
// encoded in whatever codec the endpoint has negotiated at that moment.
type Playback struct {
	e    *Engine
	ep   *Endpoint
	src  Source
	done chan struct{}

	once   sync.Once
	ended  atomic.Bool
	onDone func(finished bool)

	first bool // clock goroutine only
	pcm   [FrameSamples]int16
	enc   [FrameSamples]byte
}

// Play sends src to ep until src ends or Stop is called; onDone (may be
// nil) is then called once, on a goroutine of its own, with whether the
// source played to its end. The endpoint should not be relaying at the
// same time: both would feed its one outgoing stream.
func (e *Engine) Play(ep *Endpoint, src Source, onDone func(finished bool)) *Playback {
	p := &Playback{e: e, ep: ep, src: src, done: make(chan struct{}), onDone: onDone, first: true}
	e.clock.add(p)
	return p
}

func (p *Playback) tick(time.Time) {
	if p.ended.Load() {
		return
	}
	if p.ep.isClosed() {
		p.end(false)
		return
	}
	if !p.src.ReadFrame(p.pcm[:]) {
		p.end(true)
		return
	}
	cs := p.ep.codec.Load()
	n, ok := encodeFor(cs, p.enc[:], p.pcm[:])
	if !ok {
		return
	}
	p.ep.writeGenerated(cs.codec.PayloadType, p.enc[:n], uint32(n), p.first)
	p.first = false
}

// end detaches the playback from the clock, in the background when called
// from the clock's own goroutine, and reports it once.
func (p *Playback) end(finished bool) {
	p.once.Do(func() {
		p.ended.Store(true)
		go func() {
			p.e.clock.remove(p)
			close(p.done)
			if p.onDone != nil {
				p.onDone(finished)
			}
		}()
	})
}

// Stop ends the playback; the frame being sent, if any, is the last.
func (p *Playback) Stop() {
	p.end(false)
	<-p.done
}

// Done is closed once the playback has ended and will send nothing more.
func (p *Playback) Done() <-chan struct{} { return p.done }
