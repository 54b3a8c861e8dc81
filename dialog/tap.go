package dialog

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"pbx/media"
)

// A lone leg's incoming audio, which nobody hears while it is parked, can
// be taken by a program: echoed back to the caller, or captured for a
// speech engine. Both need the leg answered and in no bridge; the leg's
// keys still reach their subscribers meanwhile.

// Echo sends a lone leg its own audio back until ctx ends, the leg ends or
// it joins a bridge. It returns ctx's error, or ErrNotFound once the leg
// has ended.
func (e *Engine) Echo(ctx context.Context, legID string) error {
	l, err := e.liveLeg("echo", legID)
	if err != nil {
		return err
	}
	release, err := l.takeAudio("echo", true, func(h *rtp.Header, payload []byte) {
		if h.PayloadType == l.ep.Codec().PayloadType {
			_ = l.ep.WritePayload(h.PayloadType, payload, uint32(len(payload)), h.Marker)
		}
	})
	if err != nil {
		return err
	}
	defer release()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-l.ctx.Done():
		return fmt.Errorf("echo %s: %w: the leg ended", legID, ErrNotFound)
	}
}

// Capture records what a lone leg's far end says for d, as 8 kHz 16-bit
// PCM, and returns it: at most d of audio, less if ctx ends first (then
// with ctx's error) or the far end sends less. The leg still hears what
// it heard.
func (e *Engine) Capture(ctx context.Context, legID string, d time.Duration) ([]int16, error) {
	l, err := e.liveLeg("capture", legID)
	if err != nil {
		return nil, err
	}
	want := int(d / time.Millisecond * 8)
	var mu sync.Mutex
	pcm := make([]int16, 0, want)
	full := make(chan struct{})
	release, err := l.takeAudio("capture", false, func(h *rtp.Header, payload []byte) {
		codec := l.ep.Codec()
		if h.PayloadType != codec.PayloadType {
			return // telephone-event, comfort noise
		}
		mu.Lock()
		defer mu.Unlock()
		n := min(len(payload), want-len(pcm))
		if n <= 0 {
			return
		}
		start := len(pcm)
		pcm = pcm[:start+n]
		if codec == media.PCMA {
			media.DecodeAlaw(pcm[start:], payload[:n])
		} else {
			media.DecodeUlaw(pcm[start:], payload[:n])
		}
		if len(pcm) == want {
			close(full)
		}
	})
	if err != nil {
		return nil, err
	}
	expired := make(chan struct{})
	t := e.clock.AfterFunc(d, func() { close(expired) })
	select {
	case <-full:
	case <-expired:
	case <-ctx.Done():
		err = ctx.Err()
	case <-l.ctx.Done():
		err = fmt.Errorf("capture %s: %w: the leg ended", legID, ErrNotFound)
	}
	t.Stop()
	release()
	mu.Lock()
	defer mu.Unlock()
	return pcm, err
}

// takeAudio hands the packets of a lone answered leg to h, until release.
// When quiet (an echo), h owns what the leg hears too: its music or
// silence stops. A handler a relay left in place (the leg was bridged
// meanwhile) does nothing once released.
func (l *Leg) takeAudio(what string, quiet bool, h func(*rtp.Header, []byte)) (release func(), err error) {
	var released atomic.Bool
	handler := func(hdr *rtp.Header, payload []byte) {
		if !released.Load() {
			h(hdr, payload)
		}
	}
	err = l.ops.do(context.Background(), func() error {
		switch st := l.getState(); {
		case st == StateEnded:
			return fmt.Errorf("%s %s: %w", what, l.id, ErrNotFound)
		case st < StateAnswered:
			return fmt.Errorf("%s %s: %w: not answered", what, l.id, ErrInvalidState)
		case l.currentBridge() != nil:
			return fmt.Errorf("%s %s: %w: in a bridge", what, l.id, ErrInvalidState)
		}
		l.mu.Lock()
		if l.tapped {
			l.mu.Unlock()
			return fmt.Errorf("%s %s: %w: its audio is taken already", what, l.id, ErrBusy)
		}
		l.tapped = true
		if quiet {
			l.playing++
		}
		l.mu.Unlock()
		if quiet {
			l.reconcileSolo()
		}
		l.ep.SetHandler(handler)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() {
		released.Store(true)
		l.ops.do(context.Background(), func() error {
			l.mu.Lock()
			l.tapped = false
			if quiet {
				l.playing--
			}
			inBridge := l.bridge != nil
			l.mu.Unlock()
			if !inBridge {
				l.ep.SetHandler(nil)
			}
			if quiet {
				l.reconcileSolo()
			}
			return nil
		})
	}, nil
}
