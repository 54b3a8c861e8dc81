package campaign

import (
	"math"
	"testing"
	"time"
)

// voice makes PCM: tone for each on span, silence for each off span,
// alternating, starting with sound.
func voice(spans ...time.Duration) []int16 {
	var pcm []int16
	for i, d := range spans {
		n := int(d.Seconds() * 8000)
		for j := range n {
			v := 0.0
			if i%2 == 0 {
				v = 6000 * math.Sin(2*math.Pi*440*float64(len(pcm)+j)/8000)
			}
			pcm = append(pcm, int16(v))
		}
	}
	return pcm
}

func TestIsMachine(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		pcm  []int16
		want bool
	}{
		{"hello, then waiting", voice(600*ms, 2400*ms), false},
		{"silence", voice(0, 3000*ms), false},
		{"hello after a breath", voice(0, 400*ms, 700*ms, 1900*ms), false},
		{"long greeting", voice(3000 * ms), true},
		{"greeting with short pauses", voice(700*ms, 200*ms, 800*ms, 250*ms, 900*ms, 150*ms), true},
		{"two words, a pause a person leaves", voice(500*ms, 900*ms, 1500*ms), false},
	}
	for _, tt := range tests {
		if got := isMachine(tt.pcm); got != tt.want {
			t.Errorf("%s: isMachine = %v, want %v", tt.name, got, tt.want)
		}
	}
}
