package media

import (
	"slices"
	"testing"
)

func ramp(from, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(from + i)
	}
	return s
}

func TestPlayer(t *testing.T) {
	tests := []struct {
		name   string
		loop   bool
		clips  [][]int16
		frames int   // frames read
		want   int   // frames that report audio
		firsts []int // first sample of each frame that reports audio
	}{
		{"one clip of two frames", false, [][]int16{ramp(0, 320)}, 4, 2, []int{0, 160}},
		{"partial last frame is padded", false, [][]int16{ramp(0, 200)}, 3, 2, []int{0, 160}},
		{"playlist runs clips together", false, [][]int16{ramp(0, 100), ramp(1000, 100)}, 3, 2, []int{0, 1060}},
		{"loop restarts", true, [][]int16{ramp(0, 160)}, 3, 3, []int{0, 0, 0}},
		{"loop across a seam", true, [][]int16{ramp(0, 240)}, 3, 3, []int{0, 160, 80}},
		{"empty loop ends", true, [][]int16{{}}, 2, 0, nil},
		{"no clips", false, nil, 1, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlayer(tt.loop, tt.clips...)
			var firsts []int
			frame := make([]int16, FrameSamples)
			for range tt.frames {
				if p.ReadFrame(frame) {
					firsts = append(firsts, int(frame[0]))
				}
			}
			if len(firsts) != tt.want || !slices.Equal(firsts, tt.firsts) {
				t.Fatalf("frames starting %v, want %v", firsts, tt.firsts)
			}
		})
	}
}

func TestPlayerPadsWithSilence(t *testing.T) {
	p := NewPlayer(false, ramp(1, 200))
	frame := make([]int16, FrameSamples)
	p.ReadFrame(frame)
	for i := range frame {
		frame[i] = 9
	}
	if !p.ReadFrame(frame) {
		t.Fatal("second frame missing")
	}
	if frame[39] != 200 || frame[40] != 0 || frame[159] != 0 {
		t.Fatalf("tail = %d %d %d, want 200 0 0", frame[39], frame[40], frame[159])
	}
}

func TestFIFO(t *testing.T) {
	var f pcmFIFO
	frame := make([]int16, FrameSamples)
	if f.read(frame) {
		t.Fatal("read from empty buffer")
	}
	f.write(ramp(0, 100))
	if f.read(frame) {
		t.Fatal("read a frame from 100 samples")
	}
	f.write(ramp(100, 100))
	if !f.read(frame) || frame[0] != 0 || frame[159] != 159 {
		t.Fatalf("frame %d..%d, want 0..159", frame[0], frame[159])
	}
	// A burst beyond the delay bound keeps only the newest audio.
	for i := range 10 {
		f.write(ramp(1000+i*160, 160))
	}
	if f.n > fifoMaxDelay+FrameSamples {
		t.Fatalf("%d samples buffered, bound is %d", f.n, fifoMaxDelay+FrameSamples)
	}
	var last int16
	for f.read(frame) {
		last = frame[159]
	}
	if last != 1000+10*160-1 {
		t.Fatalf("last sample %d, want the newest %d", last, 1000+10*160-1)
	}
	// Wrapping around the ring keeps order.
	for i := range 20 {
		f.write(ramp(i*50, 50))
		if f.n >= FrameSamples {
			f.read(frame)
			for j := 1; j < FrameSamples; j++ {
				if frame[j] != frame[j-1]+1 {
					t.Fatalf("order broken at %d: %d after %d", j, frame[j], frame[j-1])
				}
			}
		}
	}
}
