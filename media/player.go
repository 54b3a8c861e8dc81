package media

import "sync"

// Source yields audio one 20 ms frame at a time: a player, a hold-music
// stream, a tone. ReadFrame fills frame (FrameSamples of 8 kHz 16-bit PCM)
// and reports false once the source has nothing more; frame is then left
// as it was.
type Source interface {
	ReadFrame(frame []int16) bool
}

// Player is a Source over clips of 8 kHz PCM played one after another: a
// single prompt, or a playlist such as "you are caller number" + "three".
// Looping starts the first clip again after the last. A clip whose length
// is not a whole number of frames runs into the next one, so a playlist
// has no gaps between its prompts; the very last frame is padded with
// silence.
type Player struct {
	mu    sync.Mutex
	clips [][]int16
	loop  bool
	clip  int // index into clips
	pos   int // next sample in clips[clip]
}

// NewPlayer plays clips in order, once or looped. The clips are shared,
// not copied: decoded prompts are read by many players at once. A loop of
// clips that are all empty plays nothing rather than spinning.
func NewPlayer(loop bool, clips ...[]int16) *Player {
	total := 0
	for _, c := range clips {
		total += len(c)
	}
	return &Player{clips: clips, loop: loop && total > 0}
}

// ReadFrame implements Source.
func (p *Player) ReadFrame(frame []int16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for n < len(frame) {
		if p.clip == len(p.clips) {
			if !p.loop {
				break
			}
			p.clip = 0
		}
		c := p.clips[p.clip]
		k := copy(frame[n:], c[p.pos:])
		n, p.pos = n+k, p.pos+k
		if p.pos == len(c) {
			p.clip, p.pos = p.clip+1, 0
		}
	}
	if n == 0 {
		return false
	}
	clear(frame[n:])
	return true
}

// Position is the clip playing and the sample reached in it.
func (p *Player) Position() (clip, sample int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clip, p.pos
}
