package media

import (
	"math"
	"math/rand/v2"
	"testing"
)

// mix sums tones of equal amplitude over n samples.
func mix(n int, amp int16, freqs ...float64) []int16 {
	out := make([]int16, n)
	for _, f := range freqs {
		tone := make([]int16, n)
		NewToneGenerator(f, amp).Read(tone)
		for i := range out {
			out[i] += tone[i]
		}
	}
	return out
}

func TestDetectTones(t *testing.T) {
	noise := make([]int16, 2400)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = int16(r.IntN(6001) - 3000)
	}
	throughPCMU := func(s []int16) []int16 {
		b := make([]byte, len(s))
		EncodeUlaw(b, s)
		return decode(PCMU, b)
	}
	tests := []struct {
		name    string
		samples []int16
		present []float64
	}{
		{"440 alone", mix(2400, 8000, 440), []float64{440}},
		{"800 alone", mix(2400, 8000, 800), []float64{800}},
		{"1300 alone", mix(2400, 8000, 1300), []float64{1300}},
		{"440 and 1300 mixed", mix(2400, 6000, 440, 1300), []float64{440, 1300}},
		{"all three mixed", mix(2400, 5000, 440, 800, 1300), []float64{440, 800, 1300}},
		{"one 20 ms frame", mix(160, 8000, 800), []float64{800}},
		{"440 through PCMU", throughPCMU(mix(2400, 8000, 440)), []float64{440}},
		{"silence", make([]int16, 2400), nil},
		{"a tone below the silence floor", mix(2400, 50, 440), nil},
		{"white noise", noise, nil},
		{"no samples", nil, nil},
	}
	freqs := []float64{440, 800, 1300}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectTones(tt.samples, freqs)
			want := map[float64]bool{440: false, 800: false, 1300: false}
			for _, f := range tt.present {
				want[f] = true
			}
			if !equalTones(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// Goertzel's relative power is about 1 for a pure tone at the frequency,
// splits among mixed tones, and is near 0 elsewhere, whatever the level.
func TestGoertzelRelativePower(t *testing.T) {
	tests := []struct {
		name     string
		samples  []int16
		freq     float64
		min, max float64
	}{
		{"pure tone", mix(1600, 8000, 440), 440, 0.95, 1.05},
		{"quiet pure tone", mix(1600, 300, 440), 440, 0.95, 1.05},
		{"one of two", mix(1600, 6000, 440, 1300), 1300, 0.4, 0.6},
		{"absent", mix(1600, 8000, 440), 800, 0, 0.01},
		{"silence", make([]int16, 1600), 440, 0, 0},
	}
	for _, tt := range tests {
		if got := Goertzel(tt.samples, tt.freq, 8000); got < tt.min || got > tt.max || math.IsNaN(got) {
			t.Errorf("%s: Goertzel = %.4f, want %.2f..%.2f", tt.name, got, tt.min, tt.max)
		}
	}
}

// The generator is continuous across frames: two 160-sample reads equal
// one 320-sample read.
func TestToneGeneratorIsContinuous(t *testing.T) {
	framed, whole := NewToneGenerator(1300, 8000), NewToneGenerator(1300, 8000)
	a := make([]int16, 320)
	framed.Read(a[:160])
	framed.Read(a[160:])
	b := make([]int16, 320)
	whole.Read(b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d: %d framed, %d whole", i, a[i], b[i])
		}
	}
	peak := int16(0)
	for _, s := range b {
		peak = max(peak, s)
	}
	if peak < 7900 || peak > 8000 {
		t.Fatalf("peak %d, want about 8000", peak)
	}
}
