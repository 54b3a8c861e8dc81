package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// Every encoding, rate and channel layout Decode reads, each carrying a
// 1 kHz tone at half of full scale on every channel: what comes out must be
// 8 kHz audio of the same length holding that tone at that level.
func TestDecodeFormats(t *testing.T) {
	cases := []spec{
		{tag: tagPCM, bits: 16, rate: 8000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 8000, channels: 2},
		{tag: tagPCM, bits: 16, rate: 16000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 44100, channels: 2},
		{tag: tagPCM, bits: 16, rate: 48000, channels: 2},
		{tag: tagPCM, bits: 16, rate: 48000, channels: 8},
		{tag: tagPCM, bits: 16, rate: 4000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 11025, channels: 1},
		{tag: tagPCM, bits: 16, rate: 22050, channels: 3},
		{tag: tagPCM, bits: 16, rate: 32000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 96000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 192000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 12345, channels: 1}, // no common factor worth a cache
		{tag: tagPCM, bits: 8, rate: 8000, channels: 1},
		{tag: tagPCM, bits: 8, rate: 22050, channels: 2},
		{tag: tagPCM, bits: 24, rate: 48000, channels: 2},
		{tag: tagPCM, bits: 32, rate: 16000, channels: 1},
		{tag: tagFloat, bits: 32, rate: 44100, channels: 1},
		{tag: tagULaw, bits: 8, rate: 8000, channels: 1},
		{tag: tagULaw, bits: 8, rate: 8000, channels: 2},
		{tag: tagALaw, bits: 8, rate: 8000, channels: 1},
		{tag: tagALaw, bits: 8, rate: 16000, channels: 1},
		{tag: tagPCM, bits: 16, rate: 48000, channels: 2, extensible: true},
		{tag: tagPCM, bits: 24, rate: 96000, channels: 6, extensible: true},
		{tag: tagULaw, bits: 8, rate: 8000, channels: 1, extensible: true},
		{tag: tagALaw, bits: 8, rate: 8000, channels: 1, extensible: true},
		{tag: tagPCM, bits: 16, rate: 8000, channels: 1, extraChunks: true},
		{tag: tagPCM, bits: 16, rate: 44100, channels: 2, extraChunks: true, extensible: true},
	}
	for _, sp := range cases {
		name := fmt.Sprintf("tag%d/%dbit/%dHz/%dch/ext=%v/extra=%v", sp.tag, sp.bits, sp.rate, sp.channels, sp.extensible, sp.extraChunks)
		t.Run(name, func(t *testing.T) {
			const seconds = 0.5
			frames := int(seconds * float64(sp.rate))
			out := mustDecode(t, makeWAV(sp, frames, sine(1000, 0.5)))
			want := int(math.Ceil(float64(frames) * SampleRate / float64(sp.rate)))
			if len(out) != want {
				t.Fatalf("%d samples, want %d", len(out), want)
			}
			m := middle(out)
			got := level(m, 1000)
			if math.Abs(db(got, 16384)) > 0.5 {
				t.Errorf("1 kHz at %.0f, want about 16384 (%.2f dB off)", got, db(got, 16384))
			}
			// What is not the tone: quantisation noise (8-bit, G.711) and
			// the filter's ripple; all far below it.
			rest := math.Sqrt(max(0, rms(m)*rms(m)-got*got/2))
			if floor := db(rest, got/math.Sqrt2); floor > -30 {
				t.Errorf("noise and distortion at %.1f dB of the tone", floor)
			}
		})
	}
}

// Channels are averaged: two tones on two channels come out at half their
// level each, and opposite channels cancel.
func TestDecodeDownmix(t *testing.T) {
	sp := spec{tag: tagPCM, bits: 16, rate: 8000, channels: 2}
	two := makeWAV(sp, 8000, func(c int, t float64) float64 {
		if c == 0 {
			return 0.8 * math.Sin(2*math.Pi*440*t)
		}
		return 0.8 * math.Sin(2*math.Pi*1300*t)
	})
	out := mustDecode(t, two)
	for _, f := range []float64{440, 1300} {
		if got := level(out, f); math.Abs(db(got, 0.4*32767)) > 0.2 {
			t.Errorf("%v Hz at %.0f, want about %.0f", f, got, 0.4*32767)
		}
	}
	opposite := makeWAV(sp, 8000, func(c int, t float64) float64 {
		return float64(1-2*c) * 0.8 * math.Sin(2*math.Pi*440*t)
	})
	if r := rms(mustDecode(t, opposite)); r > 1 {
		t.Errorf("opposite channels left rms %.1f, want silence", r)
	}
}

// The resampler's low-pass keeps the telephone band and removes what would
// fold back into it: a 3.4 kHz tone passes within 1 dB, and tones from
// 4.5 kHz up lose at least 60 dB (30 dB is what a telephone needs; the
// kernel's stopband is near 80 dB, below 16-bit rounding for these levels).
func TestResampleFrequencyResponse(t *testing.T) {
	cases := []struct {
		rate   int
		freq   float64
		passes bool
		minDB  float64 // attenuation wanted for a tone that must not pass
	}{
		{48000, 300, true, 0},
		{48000, 1000, true, 0},
		{48000, 3400, true, 0},
		{44100, 3400, true, 0},
		{16000, 3400, true, 0},
		{11025, 3400, true, 0},
		{12345, 3400, true, 0},
		{48000, 6000, false, 60},
		{48000, 4500, false, 60},
		{48000, 5000, false, 60},
		{48000, 12000, false, 60},
		{48000, 20000, false, 60},
		{44100, 6000, false, 60},
		{44100, 15000, false, 60},
		{16000, 6000, false, 60},
		{16000, 4600, false, 60},
		{96000, 7900, false, 60},
		{192000, 40000, false, 60},
		{12345, 5000, false, 60},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dHz/%vHz", c.rate, c.freq), func(t *testing.T) {
			sp := spec{tag: tagPCM, bits: 24, rate: c.rate, channels: 1}
			out := middle(mustDecode(t, makeWAV(sp, c.rate, sine(c.freq, 0.5))))
			in := 0.5 * 8388607 / 256 / math.Sqrt2 // rms of the input tone
			gain := db(rms(out), in)
			if c.passes {
				if math.Abs(gain) > 1 {
					t.Errorf("%v Hz passes at %.2f dB, want within 1 dB", c.freq, gain)
				}
				if l := level(out, c.freq); math.Abs(db(l, 16384)) > 1 {
					t.Errorf("%v Hz measured at %.0f", c.freq, l)
				}
			} else if gain > -c.minDB {
				t.Errorf("%v Hz attenuated by %.1f dB, want at least %v", c.freq, -gain, c.minDB)
			}
			t.Logf("gain %.2f dB", gain)
		})
	}
}

// Decode reads what Writer writes, sample for sample in mono and as the
// rounded average of both channels in stereo.
func TestWriterRoundTrip(t *testing.T) {
	for _, channels := range []int{1, 2} {
		t.Run(fmt.Sprintf("%dch", channels), func(t *testing.T) {
			var f memFile
			w, err := NewWriter(&f, channels)
			if err != nil {
				t.Fatal(err)
			}
			var all []int16
			frame := make([]int16, 160*channels)
			for i := range 500 { // 10 s, several buffer flushes
				for j := range frame {
					frame[j] = int16(((i*len(frame) + j) * 7919) % 65536)
				}
				if err := w.Write(frame); err != nil {
					t.Fatal(err)
				}
				all = append(all, frame...)
				if i%50 == 0 {
					if err := w.Sync(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Samples() != 500*160 {
				t.Errorf("Samples %d, want %d", w.Samples(), 500*160)
			}
			if w.Bytes() != int64(len(f.b)) || w.Bytes() != 44+int64(2*len(all)) {
				t.Errorf("Bytes %d, file %d, want %d", w.Bytes(), len(f.b), 44+2*len(all))
			}
			if got := binary.LittleEndian.Uint32(f.b[40:]); got != uint32(2*len(all)) {
				t.Errorf("data size %d in header, want %d", got, 2*len(all))
			}
			if got := binary.LittleEndian.Uint32(f.b[4:]); got != uint32(len(f.b)-8) {
				t.Errorf("RIFF size %d in header, want %d", got, len(f.b)-8)
			}
			out := mustDecode(t, f.b)
			if len(out) != len(all)/channels {
				t.Fatalf("%d samples back, want %d", len(out), len(all)/channels)
			}
			for i, v := range out {
				var want int16
				if channels == 1 {
					want = all[i]
				} else {
					want = clamp16((float32(all[2*i]) + float32(all[2*i+1])) / 2)
				}
				if v != want {
					t.Fatalf("sample %d is %d, want %d", i, v, want)
				}
			}
		})
	}
}

// A file whose writer was killed opens: cut anywhere in the audio after a
// Sync, or before the first Sync, it gives at least what was synced.
func TestDecodeTruncated(t *testing.T) {
	var f memFile
	w, _ := NewWriter(&f, 2)
	tone := make([]int16, 2*8000)
	for i := range 8000 {
		v := int16(10000 * math.Sin(2*math.Pi*1000*float64(i)/SampleRate))
		tone[2*i], tone[2*i+1] = v, v
	}
	w.Write(tone)
	w.Write(tone)                           // more than the buffer holds: part of it reaches the file
	unsynced := append([]byte(nil), f.b...) // the header says 0: never synced
	w.Sync()
	synced := w.Samples()
	w.Write(tone)
	w.Write(tone)
	if len(f.b) <= int(w.Bytes())-writeBuffer {
		t.Fatalf("file %d bytes, writer %d: nothing flushed", len(f.b), w.Bytes())
	}
	crashed := f.b // the header still says one second

	if len(unsynced) <= headerSize {
		t.Fatalf("nothing reached the file before the first Sync")
	}
	got := mustDecode(t, unsynced)
	if want := (len(unsynced) - headerSize) / 4; len(got) != want {
		t.Errorf("never synced: %d samples, want %d", len(got), want)
	}

	for _, cut := range []int{0, 1, 3, 1000, 30001} {
		b := crashed[:len(crashed)-cut]
		got := mustDecode(t, b)
		if int64(len(got)) < synced {
			t.Errorf("cut %d bytes: %d samples, want at least the %d synced", cut, len(got), synced)
		}
		if want := (len(b) - headerSize) / 4; len(got) != want && int64(len(got)) != synced {
			t.Errorf("cut %d bytes: %d samples, want %d (what is there)", cut, len(got), want)
		}
		if l := level(got[:8000], 1000); l < 9000 {
			t.Errorf("cut %d bytes: tone at %.0f", cut, l)
		}
	}

	ffff := append([]byte(nil), crashed...)
	binary.LittleEndian.PutUint32(ffff[40:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(ffff[4:], 0xFFFFFFFF)
	if got := mustDecode(t, ffff); len(got) != (len(ffff)-headerSize)/4 {
		t.Errorf("0xFFFFFFFF size: %d samples, want %d", len(got), (len(ffff)-headerSize)/4)
	}
}

// A data chunk that truly is empty, followed by another chunk, is empty.
func TestDecodeEmptyData(t *testing.T) {
	sp := spec{tag: tagPCM, bits: 16, rate: 8000, channels: 1}
	b := makeWAV(sp, 0, sine(1000, 0.5))
	b = appendChunk(b, "LIST", []byte("INFO"))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	if got := mustDecode(t, b); len(got) != 0 {
		t.Errorf("%d samples from an empty data chunk", len(got))
	}
	if got := mustDecode(t, makeWAV(spec{tag: tagPCM, bits: 16, rate: 44100, channels: 2}, 0, sine(1, 1))); len(got) != 0 {
		t.Errorf("%d samples from an empty 44.1 kHz file", len(got))
	}
}

// Malformed and unsupported files are errors wrapping ErrFormat that say
// what is wrong.
func TestDecodeRejects(t *testing.T) {
	good := makeWAV(spec{tag: tagPCM, bits: 16, rate: 8000, channels: 1}, 100, sine(1000, 0.5))
	ext := makeWAV(spec{tag: tagPCM, bits: 16, rate: 8000, channels: 1, extensible: true}, 100, sine(1000, 0.5))
	patch := func(b []byte, off int, v ...byte) []byte {
		b = append([]byte(nil), b...)
		copy(b[off:], v)
		return b
	}
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"not RIFF", patch(good, 0, 'R', 'I', 'F', 'X'), "no RIFF/WAVE"},
		{"not WAVE", patch(good, 8, 'A', 'V', 'I', ' '), "no RIFF/WAVE"},
		{"header only", good[:12], "no fmt chunk"},
		{"no data chunk", good[:36], "no data chunk"},
		{"stray bytes", good[:40], "stray bytes"},
		{"fmt cut", good[:30], "fmt chunk: 16 bytes declared"},
		{"fmt too small", patch(good, 16, u32(14)...), "want at least 16"},
		{"MP3", patch(good, 20, u16(0x55)...), "format tag 0x0055"},
		{"12-bit PCM", patch(good, 34, u16(12)...), "12-bit PCM"},
		{"16-bit µ-law", patch(patch(good, 20, u16(7)...), 34, u16(16)...), "16-bit G.711"},
		{"64-bit float", patch(patch(good, 20, u16(3)...), 34, u16(64)...), "64-bit float"},
		{"no channels", patch(good, 22, u16(0)...), "0 channels"},
		{"9 channels", patch(patch(good, 22, u16(9)...), 32, u16(18)...), "9 channels"},
		{"rate 0", patch(good, 24, u32(0)...), "sample rate 0"},
		{"rate too high", patch(good, 24, u32(384000)...), "sample rate 384000"},
		{"block align", patch(good, 32, u16(4)...), "block align 4"},
		{"extensible cut", patch(ext, 36, u16(0)...), "without its 22-byte extension"},
		{"extensible GUID", patch(ext, 50, 0xFF), "subformat GUID"},
		{"extensible MP3", patch(ext, 44, u16(0x55)...), "format tag 0x0055"},
		{"two fmt", append(patch(good[:36], 4, u32(60)...), good[12:36]...), "fmt chunk: repeated"},
		{"chunk too big", append(patch(good[:36], 4, u32(100)...), "LIST\xff\x00\x00\x00abc"...), `"LIST" chunk: 255 bytes declared`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Decode(c.data)
			if err == nil {
				t.Fatalf("decoded %d samples, want an error", len(out))
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "wav: ") {
				t.Errorf("error %q, want one saying %q", err, c.want)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(&memFile{}, 3); err == nil {
		t.Error("3 channels accepted")
	}
	w, _ := NewWriter(&memFile{}, 2)
	if err := w.Write([]int16{1, 2, 3}); err == nil {
		t.Error("half a stereo frame accepted")
	}
	fail := &failFile{after: 44}
	w, err := NewWriter(fail, 1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]int16, 100))
	if err := w.Sync(); err == nil {
		t.Fatal("Sync on a failing file succeeded")
	}
	if err := w.Write(make([]int16, 1)); err == nil {
		t.Error("Write after a failure succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failure succeeded")
	}
	if _, err := NewWriter(&failFile{}, 1); err == nil {
		t.Error("NewWriter on a failing file succeeded")
	}
}

// failFile fails every write once after bytes have been written.
type failFile struct {
	memFile
	after int
}

func (f *failFile) Write(p []byte) (int, error) {
	if len(f.b)+len(p) > f.after {
		return 0, errors.New("disk full")
	}
	return f.memFile.Write(p)
}

// Writing a 20 ms frame does not allocate.
func TestWriterWriteDoesNotAllocate(t *testing.T) {
	w, _ := NewWriter(&memFile{b: make([]byte, 0, 1<<22)}, 2)
	frame := make([]int16, 320)
	if n := testing.AllocsPerRun(1000, func() { w.Write(frame) }); n != 0 {
		t.Errorf("%v allocations per Write", n)
	}
}
