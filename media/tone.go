package media

import "math"

// ToneGenerator makes a continuous sine tone at 8 kHz, frame after frame,
// with no phase jump between frames.
type ToneGenerator struct {
	step, phase float64
	amp         float64
}

// NewToneGenerator makes a tone of freq Hz and the given peak amplitude.
func NewToneGenerator(freq float64, amplitude int16) *ToneGenerator {
	return &ToneGenerator{step: 2 * math.Pi * freq / 8000, amp: float64(amplitude)}
}

// Read fills frame with the next samples of the tone.
func (g *ToneGenerator) Read(frame []int16) {
	for i := range frame {
		frame[i] = int16(g.amp * math.Sin(g.phase))
		g.phase += g.step
		if g.phase > 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}
