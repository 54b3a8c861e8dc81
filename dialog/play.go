package dialog

import (
	"errors"
	"fmt"
	"sync"

	"pbx/media"
)

// ErrNoLeg is returned for a leg id the engine does not know.
var ErrNoLeg = errors.New("dialog: no such leg")

// ErrNoCall is returned for a call id the engine does not know, or a call
// not answered yet where an answered one is needed.
var ErrNoCall = errors.New("dialog: no such answered call")

// PlayOptions say how prompts are played to a leg.
type PlayOptions struct {
	Loop      bool // start again at the end, until stopped
	Interrupt bool // a key press stops the playback
}

// Playback is a prompt being played to a leg.
type Playback struct {
	stop func()
	done <-chan struct{}
}

// Stop ends the playback early.
func (p *Playback) Stop() { p.stop() }

// Done is closed when the playback has ended.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Play plays prompts (by name: "welcome", "digits/3", ...) to a leg, one
// after another. A leg talking in a call hears them mixed over the other
// party; a leg on its own (an application) hears them alone.
func (e *Engine) Play(legID string, names []string, o PlayOptions) (*Playback, error) {
	l := e.legByID(legID)
	if l == nil {
		return nil, fmt.Errorf("play to %s: %w", legID, ErrNoLeg)
	}
	var pb *Playback
	var err error
	c := l.call()
	talking := false
	for _, x := range c.talkers() {
		talking = talking || x == l
	}
	if talking {
		pb, err = c.playInto(l, o.Loop, names...)
	} else {
		pb, err = e.playAlone(l, o.Loop, names...)
	}
	if err != nil {
		return nil, err
	}
	if o.Interrupt {
		l.mu.Lock()
		l.interrupt = pb.stop
		l.mu.Unlock()
	}
	return pb, nil
}

// playAlone plays prompts straight to a leg that is in no bridge.
func (e *Engine) playAlone(l *Leg, loop bool, names ...string) (*Playback, error) {
	p, err := e.player(loop, names...)
	if err != nil {
		return nil, fmt.Errorf("play to %s: %w", l.ID, err)
	}
	mp := e.media.Play(l.ep, p, nil)
	return &Playback{stop: mp.Stop, done: mp.Done()}, nil
}

// playInto mixes prompts into the call, heard by l only, or by every
// party when l is nil.
func (c *Call) playInto(l *Leg, loop bool, names ...string) (*Playback, error) {
	p, err := c.e.player(loop, names...)
	if err != nil {
		return nil, fmt.Errorf("play into call %s: %w", c.ID, err)
	}
	done := make(chan struct{})
	var mem *media.Member
	var once sync.Once
	finish := func() {
		once.Do(func() {
			c.mediaMu.Lock()
			if _, ok := c.m.sources[mem]; ok {
				delete(c.m.sources, mem)
				if c.m.mixer != nil {
					c.m.mixer.Remove(mem)
				}
				c.remixLocked()
			}
			c.mediaMu.Unlock()
			close(done)
		})
	}
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	if c.isEnded() {
		return nil, fmt.Errorf("play into call %s: %w", c.ID, ErrNoCall)
	}
	c.ensureMixer()
	mem = c.m.mixer.AddSource(p, finish)
	if c.m.sources == nil {
		c.m.sources = map[*media.Member]*source{}
	}
	c.m.sources[mem] = &source{leg: l, finish: finish}
	c.remixLocked()
	return &Playback{stop: finish, done: done}, nil
}

// source is a prompt mixed into a call.
type source struct {
	leg    *Leg   // who hears it; nil for every party
	finish func() // ends it and reports it done
}
