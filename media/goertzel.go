package media

import "math"

// Goertzel measures how much of a signal's power lies at one frequency:
// it returns that power relative to the total power of samples, about 1
// for a pure tone at freq, about 1/n for each of n equal tones mixed, near
// 0 for a frequency that is absent, and 0 for digital silence. Being
// relative, it does not depend on the level or the length of the window;
// the window should span a few dozen periods (20 ms or more) to separate
// tones a few hundred hertz apart.
func Goertzel(samples []int16, freq float64, sampleRate int) float64 {
	total := power(samples)
	if total == 0 {
		return 0
	}
	return goertzelPower(samples, freq, sampleRate) / total
}

// power is the sum of squares of samples.
func power(samples []int16) float64 {
	var sum float64
	for _, x := range samples {
		sum += float64(x) * float64(x)
	}
	return sum
}

// goertzelPower is the signal's power at freq in the same scale as power:
// a pure tone at freq gives about the same number.
func goertzelPower(samples []int16, freq float64, sampleRate int) float64 {
	w := 2 * math.Pi * freq / float64(sampleRate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	// |X(w)|² of the window; a sine of amplitude A over N samples gives
	// (A·N/2)², while its sum of squares is A²·N/2.
	mag2 := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * mag2 / float64(len(samples))
}

// ToneDetector decides which tones are present in a window of samples.
// The zero value is not useful; DefaultToneDetector is.
type ToneDetector struct {
	SampleRate int
	// MinRMS is the level below which a window counts as silence, in
	// linear 16-bit units (100 is about -50 dBFS).
	MinRMS float64
	// MinShare is the share of the window's power a frequency must carry
	// to count as present.
	MinShare float64
}

// DefaultToneDetector suits the test tones: 8 kHz, quieter than -50 dBFS
// is silence, a tone must carry a tenth of the power. Three tones mixed
// at one level each carry a third; a tone's neighbours 300 Hz away get
// well under a hundredth.
var DefaultToneDetector = ToneDetector{SampleRate: ToneSampleRate, MinRMS: 100, MinShare: 0.1}

// Detect reports, for each of freqs, whether it is present in samples.
func (d ToneDetector) Detect(samples []int16, freqs []float64) map[float64]bool {
	found := make(map[float64]bool, len(freqs))
	for _, f := range freqs {
		found[f] = false
	}
	total := power(samples)
	if len(samples) == 0 || math.Sqrt(total/float64(len(samples))) < d.MinRMS {
		return found
	}
	for _, f := range freqs {
		found[f] = goertzelPower(samples, f, d.SampleRate)/total >= d.MinShare
	}
	return found
}

// DetectTones reports which of freqs are present in 8 kHz samples, with
// DefaultToneDetector.
func DetectTones(samples []int16, freqs []float64) map[float64]bool {
	return DefaultToneDetector.Detect(samples, freqs)
}
