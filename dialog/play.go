package dialog

import (
	"context"
	"fmt"
	"sync"

	"pbx/media"
)

// PlayOptions say how prompts are played to a leg.
type PlayOptions struct {
	Loop      bool // start again at the end, until stopped (prompts and URLs)
	Interrupt bool // a key press stops the playback
}

// Playback is audio being played to a leg.
type Playback struct {
	ID     string
	leg    string // the leg that hears it
	once   sync.Once
	stopFn func()
	done   chan struct{}
	mu     sync.Mutex
	reason string
}

// Stop ends the playback early and waits until it has.
func (p *Playback) Stop() { p.end("stopped"); <-p.done }

// Done is closed when the playback has ended.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Reason says why it ended: finished, stopped, interrupted or hangup.
func (p *Playback) Reason() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

func (p *Playback) end(reason string) {
	p.mu.Lock()
	if p.reason == "" {
		p.reason = reason
	}
	p.mu.Unlock()
	p.once.Do(p.stopFn)
}

// Play plays a source to a leg. A leg in a bridge hears it mixed over the
// others (and only that leg hears it); a parked leg hears it alone, its
// music paused meanwhile. play.started and play.finished report it.
func (e *Engine) Play(ctx context.Context, legID string, src media.Source, o PlayOptions) (*Playback, error) {
	l, err := e.liveLeg("play", legID)
	if err != nil {
		return nil, err
	}
	pb := &Playback{ID: e.newID(), leg: l.id, done: make(chan struct{})}
	finished := func(reason string) {
		pb.mu.Lock()
		if pb.reason == "" {
			pb.reason = reason
		}
		r := pb.reason
		pb.mu.Unlock()
		l.publish(Event{Kind: EventPlayFinished, Detail: pb.ID, Cause: r})
		e.mu.Lock()
		delete(e.playbacks, pb.ID)
		close(pb.done)
		e.mu.Unlock()
	}
	if b := l.currentBridge(); b != nil {
		stop, err := b.addSource(src, l, func() { finished("finished") })
		if err != nil {
			return nil, fmt.Errorf("play to %s: %w", legID, err)
		}
		pb.stopFn = stop
	} else {
		l.mu.Lock()
		l.playing++
		l.mu.Unlock()
		l.reconcileSolo()
		mp := e.media.Play(l.ep, src, func(bool) {
			l.mu.Lock()
			l.playing--
			l.mu.Unlock()
			l.reconcileSolo()
			finished("finished")
		})
		pb.stopFn = func() { mp.Stop() }
	}
	e.mu.Lock()
	select {
	case <-pb.done: // it ended already
	default:
		e.playbacks[pb.ID] = pb
	}
	e.mu.Unlock()
	l.publish(Event{Kind: EventPlayStarted, Detail: pb.ID})
	if o.Interrupt {
		cancelKeys := l.keys.subscribe(func(media.Digit) { e.goOwned(func() { pb.end("interrupted") }) })
		e.goOwned(func() {
			<-pb.done
			cancelKeys()
		})
	}
	l.onEnd(func() { e.goOwned(func() { pb.end("hangup") }) })
	return pb, nil
}

// PlayPrompts plays prompts by name ("welcome", "digits/3", ...) one after
// another.
func (e *Engine) PlayPrompts(ctx context.Context, legID string, names []string, o PlayOptions) (*Playback, error) {
	p, err := e.player(o.Loop, names...)
	if err != nil {
		return nil, fmt.Errorf("play to %s: %w: %v", legID, ErrBadTarget, err)
	}
	return e.Play(ctx, legID, p, o)
}

// StopPlay stops a playback by its id, as play.started reported it.
func (e *Engine) StopPlay(ctx context.Context, id string) error {
	e.mu.Lock()
	pb := e.playbacks[id]
	e.mu.Unlock()
	if pb == nil {
		return fmt.Errorf("stop playback %s: %w", id, ErrNotFound)
	}
	pb.end("stopped")
	select {
	case <-pb.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PlayMusic plays a hold-music class to a leg as Play plays a prompt: in
// a bridge only that leg hears it, mixed over the others; parked, it hears
// it alone. Music has no end, so it plays until stopped (StopPlay,
// StopPlays, a key when o.Interrupt) or the leg ends; o.Loop changes
// nothing. An unknown class is ErrBadTarget. Unlike Hold, the leg still
// hears its bridge, and play.started and play.finished report it.
func (e *Engine) PlayMusic(ctx context.Context, legID, class string, o PlayOptions) (*Playback, error) {
	pcm, ok := e.musicPCM[class]
	if !ok {
		return nil, fmt.Errorf("play music to %s: %w: no hold-music class %q", legID, ErrBadTarget, class)
	}
	return e.Play(ctx, legID, media.NewPlayer(true, pcm), o)
}

// StopPlays stops every playback a leg hears (prompts, URLs, music) and
// says how many it stopped; 0 is no error.
func (e *Engine) StopPlays(ctx context.Context, legID string) (int, error) {
	l, err := e.liveLeg("stop playbacks", legID)
	if err != nil {
		return 0, err
	}
	return e.stopPlays(ctx, l), nil
}

// stopPlays stops the playbacks of l and waits for their end, or for ctx.
func (e *Engine) stopPlays(ctx context.Context, l *Leg) int {
	e.mu.Lock()
	var pbs []*Playback
	for _, pb := range e.playbacks {
		if pb.leg == l.id {
			pbs = append(pbs, pb)
		}
	}
	e.mu.Unlock()
	for _, pb := range pbs {
		pb.end("stopped")
	}
	for _, pb := range pbs {
		select {
		case <-pb.done:
		case <-ctx.Done():
			return len(pbs)
		}
	}
	return len(pbs)
}

// playPrompts plays prompts to a leg and does not wait.
func (e *Engine) playPrompts(l *Leg, names ...string) {
	if _, err := e.PlayPrompts(context.Background(), l.id, names, PlayOptions{}); err != nil {
		l.log.Debug("prompt", "error", err)
	}
}

// playAndWait plays prompts to a leg and waits for their end; false when
// the leg ended first.
func (e *Engine) playAndWait(l *Leg, o PlayOptions, names ...string) bool {
	pb, err := e.PlayPrompts(context.Background(), l.id, names, o)
	if err != nil {
		l.log.Warn("prompt", "error", err)
		return !l.ended()
	}
	select {
	case <-pb.Done():
		return !l.ended()
	case <-l.ctx.Done():
		pb.Stop()
		return false
	}
}

// addSource mixes src into the bridge, heard by only (or every leg when
// only is nil). onEnd runs once when it ends, however it ends. The
// returned stop ends it early.
func (b *Bridge) addSource(src media.Source, only *Leg, onEnd func()) (stop func(), err error) {
	var mem *media.Member
	var once sync.Once
	finish := func() {
		once.Do(func() {
			b.mu.Lock()
			if _, ok := b.sources[mem]; ok {
				delete(b.sources, mem)
				if b.mixer != nil {
					b.mixer.Remove(mem)
				}
				b.reconcile()
			}
			b.mu.Unlock()
			if onEnd != nil {
				onEnd()
			}
		})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return nil, fmt.Errorf("bridge %s: %w", b.id, ErrNotFound)
	}
	b.ensureMixer()
	mem = b.mixer.AddSource(src, finish)
	if b.sources == nil {
		b.sources = map[*media.Member]*bridgeSource{}
	}
	bs := &bridgeSource{finish: finish}
	if only != nil {
		bs.hearers = map[*Leg]bool{only: true}
	}
	b.sources[mem] = bs
	b.reconcile()
	return finish, nil
}
