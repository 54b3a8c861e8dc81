package media

import "math"

// Goertzel returns the power of one frequency in samples, normalised by
// the number of samples so that windows of any length compare.
func Goertzel(samples []int16, freq float64, sampleRate int) float64 {
	if len(samples) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(sampleRate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(samples))
	return p / (n * n)
}

// DetectTones tells which of freqs are present in 8 kHz samples. A tone is
// present when it carries a fair share of the signal's total energy and the
// signal is not silence, so tones mixed together are each found, and
// neighbours of a tone are not.
func DetectTones(samples []int16, freqs []float64) map[float64]bool {
	out := make(map[float64]bool, len(freqs))
	if len(samples) == 0 {
		return out
	}
	var energy float64
	for _, x := range samples {
		energy += float64(x) * float64(x)
	}
	energy /= float64(len(samples)) // mean square
	if energy < 100*100 {           // silence or comfort noise
		return out
	}
	for _, f := range freqs {
		// A pure sine of mean square E gives a Goertzel power of E/2.
		out[f] = Goertzel(samples, f, 8000) > 0.1*energy/2
	}
	return out
}
