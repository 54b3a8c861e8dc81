package wav

import (
	"math"
	"testing"
)

// Decoding 10 s of 48 kHz stereo 16-bit, as an uploaded prompt might be.
func BenchmarkDecode48kStereo(b *testing.B) {
	data := makeWAV(spec{tag: tagPCM, bits: 16, rate: 48000, channels: 2}, 10*48000, sine(1000, 0.5))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// Writing one 20 ms stereo frame, as a recorder does 50 times a second per
// call: no allocation.
func BenchmarkWriterWrite(b *testing.B) {
	var f discardSeeker
	w, err := NewWriter(&f, 2)
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]int16, 2*160)
	for i := range frame {
		frame[i] = int16(8000 * math.Sin(float64(i)))
	}
	b.SetBytes(int64(2 * len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(frame); err != nil {
			b.Fatal(err)
		}
		if w.Bytes() > 1<<30 { // stay far from the 4 GiB limit
			w, _ = NewWriter(&f, 2)
		}
	}
}

// discardSeeker is a file that keeps nothing.
type discardSeeker struct{ pos, end int64 }

func (d *discardSeeker) Write(p []byte) (int, error) {
	d.pos += int64(len(p))
	d.end = max(d.end, d.pos)
	return len(p), nil
}

func (d *discardSeeker) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 1:
		off += d.pos
	case 2:
		off += d.end
	}
	d.pos = off
	return off, nil
}
