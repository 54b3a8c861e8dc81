package media

import "math"

// ToneSampleRate is the rate of the tones and detectors here: narrowband
// telephony, as G.711 carries it.
const ToneSampleRate = 8000

// ToneGenerator makes a continuous sine tone, frame after frame, with no
// phase jump between frames, so a receiver hears one clean tone. Tests
// give each party its own frequency and detect who hears whom.
type ToneGenerator struct {
	step  float64 // phase advance per sample, radians
	phase float64
	amp   float64
}

// NewToneGenerator makes a tone of freq Hz at the given peak amplitude,
// sampled at ToneSampleRate.
func NewToneGenerator(freq float64, amplitude int16) *ToneGenerator {
	return &ToneGenerator{step: 2 * math.Pi * freq / ToneSampleRate, amp: float64(amplitude)}
}

// Read fills frame (usually 160 samples, 20 ms) with the next samples.
func (g *ToneGenerator) Read(frame []int16) {
	for i := range frame {
		frame[i] = int16(math.Round(g.amp * math.Sin(g.phase)))
		g.phase += g.step
		if g.phase >= 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}
