package wav

import (
	"math"
	"sync"
)

// The resampler is a windowed-sinc low-pass evaluated at each output
// instant. The kernel is described in units of the lower of the two rates'
// sample periods, so one table serves every ratio: its cutoff sits at
// cutoff times the lower rate (3.68 kHz when going down to 8 kHz, so
// 3.4 kHz passes and what would fold back from above 4 kHz is gone), and a
// Kaiser window (β = 8, about 80 dB of stopband) limits it to halfWidth
// periods either side.
const (
	halfWidth  = 32      // kernel half-width, in periods of the lower rate
	cutoff     = 0.46    // -6 dB point, as a fraction of the lower rate
	kaiserBeta = 8.0     // stopband around -80 dB
	tableSteps = 512     // table entries per period, linearly interpolated
	maxCached  = 1 << 20 // coefficients worth keeping per resample call
)

// kernelTable holds the kernel at tableSteps points per period from 0 to
// halfWidth (it is symmetric), plus one zero so interpolation needs no
// bounds test.
var kernelTable = sync.OnceValue(func() []float32 {
	n := halfWidth*tableSteps + 1
	t := make([]float32, n+1)
	i0b := besselI0(kaiserBeta)
	for i := range n {
		u := float64(i) / tableSteps
		x := 2 * cutoff * u
		s := 2 * cutoff
		if x != 0 {
			s = math.Sin(math.Pi*x) / (math.Pi * u)
		}
		r := u / halfWidth
		w := besselI0(kaiserBeta*math.Sqrt(1-r*r)) / i0b
		t[i] = float32(s * w)
	}
	return t
})

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2 / float64(k)) * (x / 2 / float64(k))
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

// kernelAt is the kernel at u periods from its centre; 0 beyond halfWidth.
func kernelAt(table []float32, u float64) float32 {
	u = math.Abs(u) * tableSteps
	i := int(u)
	if i >= halfWidth*tableSteps {
		return 0
	}
	frac := float32(u - float64(i))
	return table[i] + (table[i+1]-table[i])*frac
}

// resample converts x, sampled at rate, to SampleRate. Output sample n
// sits at input instant n·rate/SampleRate; its value is the kernel-weighted
// sum of the input samples within halfWidth periods (of the lower rate),
// samples outside x counting as zero. The coefficients depend only on the
// instant's fractional part, of which there are SampleRate/gcd distinct
// values; they are computed once each when that is cheap, else per sample.
// Memory use is bounded by a small multiple of len(x).
func resample(x []float32, rate int) []int16 {
	nOut := (int64(len(x))*SampleRate + int64(rate) - 1) / int64(rate)
	out := make([]int16, nOut)
	if nOut == 0 {
		return out
	}
	table := kernelTable()
	// scale is input samples per period of the lower rate; gain keeps DC
	// at unity when the kernel is sampled more finely than its unit.
	scale := max(1, float64(rate)/SampleRate)
	gain := float32(1 / scale)
	reach := int(math.Ceil(halfWidth * scale)) // input samples either side
	taps := 2 * reach

	g := gcd(rate, SampleRate)
	phases := SampleRate / g
	var cache [][]float32
	// Cache only when the cache is small next to the signal itself, so a
	// tiny (or hostile) file cannot make Decode allocate much.
	if cost := phases * taps; cost <= maxCached && cost <= 8*len(x) {
		cache = make([][]float32, phases)
	}
	scratch := make([]float32, taps)
	coeffs := func(rem int64) []float32 {
		var c []float32
		if cache != nil {
			if c = cache[rem/int64(g)]; c != nil {
				return c
			}
			c = make([]float32, taps)
			cache[rem/int64(g)] = c
		} else {
			c = scratch
		}
		frac := float64(rem) / SampleRate
		// Tap j weighs input sample k0-reach+1+j, at distance
		// frac+reach-1-j input samples from the instant.
		for j := range taps {
			c[j] = kernelAt(table, (frac+float64(reach-1-j))/scale) * gain
		}
		return c
	}

	for n := range nOut {
		num := n * int64(rate)
		k0 := num / SampleRate
		c := coeffs(num % SampleRate)
		first := k0 - int64(reach) + 1
		lo, hi := int64(0), int64(taps)
		if first < 0 {
			lo = -first
		}
		if over := first + int64(taps) - int64(len(x)); over > 0 {
			hi -= over
		}
		var acc float32
		if lo < hi {
			xs := x[first+lo : first+hi]
			cs := c[lo:hi]
			for j, v := range xs {
				acc += v * cs[j]
			}
		}
		out[n] = clamp16(acc)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
