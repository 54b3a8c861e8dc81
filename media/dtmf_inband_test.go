package media

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// dtmfKeyList is every DTMF key, in keypad order.
const dtmfKeyList = "123A456B789C*0#D"

// dtmfKeyFreqs returns the row and column frequencies of key.
func dtmfKeyFreqs(t testing.TB, key rune) (row, col float64) {
	t.Helper()
	for r, keys := range dtmfKeys {
		for c, k := range keys {
			if k == key {
				return dtmfRows[r], dtmfCols[c]
			}
		}
	}
	t.Fatalf("no frequencies for %q", key)
	return 0, 0
}

// dtmfDBFSAmp is the peak amplitude of a sine at db dBFS.
func dtmfDBFSAmp(db float64) float64 { return 32767 * math.Pow(10, db/20) }

// dtmfSpan is a stretch of test signal: sines at freqs, at levels db (dBFS
// each; one level for all if shorter), for n samples. No freqs is silence.
type dtmfSpan struct {
	freqs []float64
	db    []float64
	n     int
}

// dtmfMS is n for a duration in milliseconds at 8 kHz.
func dtmfMS(d float64) int { return int(d * ToneSampleRate / 1000) }

// dtmfToneSpan is a span of freqs at one level.
func dtmfToneSpan(db float64, d float64, freqs ...float64) dtmfSpan {
	return dtmfSpan{freqs: freqs, db: []float64{db}, n: dtmfMS(d)}
}

// dtmfKeySpan is a span of key's two tones: row at rowDB, column at colDB,
// each frequency off by the relative error ferr.
func dtmfKeySpan(t testing.TB, key rune, rowDB, colDB, ferr, d float64) dtmfSpan {
	r, c := dtmfKeyFreqs(t, key)
	return dtmfSpan{freqs: []float64{r * (1 + ferr), c * (1 + ferr)}, db: []float64{rowDB, colDB}, n: dtmfMS(d)}
}

// dtmfSilence is d milliseconds of digital silence.
func dtmfSilence(d float64) dtmfSpan { return dtmfSpan{n: dtmfMS(d)} }

// dtmfSynth renders spans, each tone starting at phase zero, clipped to 16 bits.
func dtmfSynth(spans ...dtmfSpan) []int16 {
	var out []int16
	for _, s := range spans {
		for i := range s.n {
			var v float64
			for j, f := range s.freqs {
				db := s.db[min(j, len(s.db)-1)]
				v += dtmfDBFSAmp(db) * math.Sin(2*math.Pi*f*float64(i)/ToneSampleRate)
			}
			out = append(out, int16(max(-32768, min(32767, math.Round(v)))))
		}
	}
	return out
}

// dtmfThroughCodec returns pcm after a G.711 encode and decode ("ulaw",
// "alaw"), or unchanged ("linear").
func dtmfThroughCodec(t testing.TB, codec string, pcm []int16) []int16 {
	t.Helper()
	b := make([]byte, len(pcm))
	out := make([]int16, len(pcm))
	switch codec {
	case "linear":
		copy(out, pcm)
	case "ulaw":
		EncodeUlaw(b, pcm)
		DecodeUlaw(out, b)
	case "alaw":
		EncodeAlaw(b, pcm)
		DecodeAlaw(out, b)
	default:
		t.Fatalf("unknown codec %q", codec)
	}
	return out
}

// dtmfLog records what a receiver or detector reported: events as "+5"
// (begin) and "-5" (end), and the ended presses with their durations.
type dtmfLog struct {
	events []string
	ends   []Digit
}

func (l *dtmfLog) add(r EventResult) {
	if r.PrevEnd {
		l.events = append(l.events, "-"+string(r.Prev.Key))
		l.ends = append(l.ends, r.Prev)
	}
	if r.Begin {
		l.events = append(l.events, "+"+string(r.Digit.Key))
	}
	if r.End {
		l.events = append(l.events, "-"+string(r.Digit.Key))
		l.ends = append(l.ends, r.Digit)
	}
}

func (l *dtmfLog) String() string { return strings.Join(l.events, " ") }

// dtmfPresses is the log a run of whole presses of keys should give.
func dtmfPresses(keys string) string {
	var s []string
	for _, k := range keys {
		s = append(s, "+"+string(k), "-"+string(k))
	}
	return strings.Join(s, " ")
}

// dtmfDetect runs pcm through a new InbandDetector in frames of frame
// samples, then 200 ms of silence to let the last press end.
func dtmfDetect(pcm []int16, frame int) *dtmfLog {
	d := NewInbandDetector()
	var l dtmfLog
	pcm = append(slices.Clone(pcm), make([]int16, dtmfMS(200))...)
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		l.add(d.Frame(pcm[:n]))
		pcm = pcm[n:]
	}
	for range 4 {
		l.add(d.Frame(nil))
	}
	return &l
}

func TestInbandDetectsAllKeys(t *testing.T) {
	tests := []struct {
		name         string
		rowDB, colDB float64
		ferr         float64
		d            float64
	}{
		{"-3 dBFS", -3, -3, 0, 100},
		{"-10 dBFS", -10, -10, 0, 100},
		{"-20 dBFS", -20, -20, 0, 100},
		{"-25 dBFS", -25, -25, 0, 100},
		{"normal twist 6 dB", -10, -16, 0, 100},
		{"normal twist 6 dB at -25", -19, -25, 0, 100},
		{"reverse twist 4 dB", -14, -10, 0, 100},
		{"reverse twist 4 dB at -25", -25, -21, 0, 100},
		{"+1.5%", -10, -10, 0.015, 100},
		{"-1.5%", -10, -10, -0.015, 100},
		{"+1.5% at -25 with twist", -19, -25, 0.015, 100},
		{"-1.5% at -25 with twist", -19, -25, -0.015, 100},
		{"-1.5% at -3", -3, -3, -0.015, 100},
		{"50 ms", -10, -10, 0, 50},
		{"50 ms at -25 and +1.5%", -25, -25, 0.015, 50},
		{"50 ms at -25 and -1.5% with twist", -19, -25, -0.015, 50},
		{"2 s", -10, -10, 0, 2000},
	}
	for _, tt := range tests {
		for _, codec := range []string{"linear", "ulaw", "alaw"} {
			t.Run(tt.name+"/"+codec, func(t *testing.T) {
				for _, key := range dtmfKeyList {
					pcm := dtmfThroughCodec(t, codec, dtmfSynth(dtmfSilence(30), dtmfKeySpan(t, key, tt.rowDB, tt.colDB, tt.ferr, tt.d)))
					l := dtmfDetect(pcm, 160)
					if got, want := l.String(), dtmfPresses(string(key)); got != want {
						t.Errorf("key %c: got %q, want %q", key, got, want)
						continue
					}
					// Windows are 13 ms long and move by 6.6 ms: the
					// duration is right to within a window.
					want := time.Duration(tt.d * float64(time.Millisecond))
					if got := l.ends[0].Duration; got < want-15*time.Millisecond || got > want+15*time.Millisecond {
						t.Errorf("key %c: duration %v, want about %v", key, got, want)
					}
				}
			})
		}
	}
}

func TestInbandTiming(t *testing.T) {
	// Every alignment of the signal with the 53-sample hop.
	offsets := make([]float64, 0, 27)
	for o := 0; o < dtmfHop; o += 2 {
		offsets = append(offsets, float64(o)*1000/ToneSampleRate)
	}
	tests := []struct {
		name  string
		spans func(t testing.TB) []dtmfSpan
		want  string
	}{
		{"50 ms press", func(t testing.TB) []dtmfSpan {
			return []dtmfSpan{dtmfKeySpan(t, '5', -10, -10, 0, 50)}
		}, "+5 -5"},
		{"same key twice, 40 ms apart", func(t testing.TB) []dtmfSpan {
			return []dtmfSpan{dtmfKeySpan(t, '7', -10, -10, 0, 60), dtmfSilence(40), dtmfKeySpan(t, '7', -10, -10, 0, 60)}
		}, "+7 -7 +7 -7"},
		{"same key twice, 40 ms apart, loud", func(t testing.TB) []dtmfSpan {
			return []dtmfSpan{dtmfKeySpan(t, '#', -3, -3, 0, 50), dtmfSilence(40), dtmfKeySpan(t, '#', -3, -3, 0, 50)}
		}, "+# -# +# -#"},
		{"same key twice, 40 ms apart, quiet", func(t testing.TB) []dtmfSpan {
			return []dtmfSpan{dtmfKeySpan(t, 'D', -25, -25, 0.015, 50), dtmfSilence(40), dtmfKeySpan(t, 'D', -25, -25, 0.015, 50)}
		}, "+D -D +D -D"},
		{"two keys back to back", func(t testing.TB) []dtmfSpan {
			return []dtmfSpan{dtmfKeySpan(t, '1', -10, -10, 0, 80), dtmfKeySpan(t, '9', -10, -10, 0, 80)}
		}, "+1 -1 +9 -9"},
		{"dial string", func(t testing.TB) []dtmfSpan {
			var s []dtmfSpan
			for _, k := range "0123456789*#ABCD" {
				s = append(s, dtmfKeySpan(t, k, -12, -14, 0.01, 50), dtmfSilence(45))
			}
			return s
		}, dtmfPresses("0123456789*#ABCD")},
		{"30 ms blip is no press", func(t testing.TB) []dtmfSpan {
			return []dtmfSpan{dtmfKeySpan(t, '5', -10, -10, 0, 30)}
		}, ""},
	}
	for _, tt := range tests {
		for _, codec := range []string{"linear", "ulaw"} {
			t.Run(tt.name+"/"+codec, func(t *testing.T) {
				for _, off := range offsets {
					pcm := dtmfThroughCodec(t, codec, dtmfSynth(append([]dtmfSpan{dtmfSilence(off)}, tt.spans(t)...)...))
					if got := dtmfDetect(pcm, 160).String(); got != tt.want {
						t.Errorf("offset %.3f ms: got %q, want %q", off, got, tt.want)
					}
				}
			})
		}
	}
}

// dtmfTestTones are the frequencies other tests give parties.
var dtmfTestTones = []float64{300, 400, 440, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800}

// dtmfSawtooth is a harmonic-rich buzz at f0 Hz, like voiced speech or a
// reed instrument, with peak amplitude of db dBFS.
func dtmfSawtooth(f0, db, d float64) []int16 {
	out := make([]int16, dtmfMS(d))
	amp := dtmfDBFSAmp(db)
	for i := range out {
		ph := math.Mod(f0*float64(i)/ToneSampleRate, 1)
		out[i] = int16(amp * (2*ph - 1))
	}
	return out
}

// dtmfVowel is a buzz at a wavering pitch around f0 with the first three
// formants of /a/ (700, 1220, 2600 Hz) emphasised: a crude voice.
func dtmfVowel(f0, db, d float64) []int16 {
	out := make([]float64, dtmfMS(d))
	formants := []float64{700, 1220, 2600}
	var peak float64
	for i := range out {
		tsec := float64(i) / ToneSampleRate
		pitch := f0 * (1 + 0.03*math.Sin(2*math.Pi*5*tsec))
		var v float64
		for h := 1; float64(h)*pitch < 3800; h++ {
			f := float64(h) * pitch
			gain := 0.2
			for _, fm := range formants {
				gain += 1 / (1 + math.Pow((f-fm)/90, 2))
			}
			v += gain / float64(h) * math.Sin(2*math.Pi*f0*float64(h)*(tsec-0.03*math.Cos(2*math.Pi*5*tsec)/(2*math.Pi*5)))
		}
		out[i] = v
		peak = max(peak, math.Abs(v))
	}
	pcm := make([]int16, len(out))
	amp := dtmfDBFSAmp(db)
	for i, v := range out {
		pcm[i] = int16(v / peak * amp)
	}
	return pcm
}

// dtmfNoise is uniform white noise of rms db dBFS.
func dtmfNoise(seed uint64, db, d float64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, dtmfMS(d))
	// A uniform variable on ±a has rms a/√3; a sine's is peak/√2.
	a := dtmfDBFSAmp(db) / math.Sqrt2 * math.Sqrt(3)
	for i := range out {
		out[i] = int16((r.Float64()*2 - 1) * a)
	}
	return out
}

func TestInbandRejects(t *testing.T) {
	type signal struct {
		name string
		pcm  []int16
	}
	var signals []signal
	for _, f := range dtmfTestTones {
		for _, db := range []float64{-3, -20} {
			signals = append(signals, signal{fmt.Sprintf("%v Hz at %v dBFS", f, db), dtmfSynth(dtmfToneSpan(db, 1000, f))})
		}
	}
	for i, f1 := range dtmfTestTones {
		for _, f2 := range dtmfTestTones[i+1:] {
			if f1 == 700 && (f2 == 1200 || f2 == 1500) {
				continue // real DTMF within tolerance: TestInbandTestTonesNearKeys
			}
			signals = append(signals, signal{fmt.Sprintf("%v+%v Hz", f1, f2), dtmfSynth(dtmfToneSpan(-10, 500, f1, f2))})
		}
	}
	// A real key's pair drowned by a third tone of the same level.
	signals = append(signals,
		signal{"silence", make([]int16, dtmfMS(1000))},
		signal{"chord C-E-G", dtmfSynth(dtmfToneSpan(-10, 1000, 261.6, 329.6, 392))},
		signal{"chord 700+1200+1500", dtmfSynth(dtmfToneSpan(-10, 1000, 700, 1200, 1500))},
		signal{"chord 697+1209+1000", dtmfSynth(dtmfToneSpan(-10, 1000, 697, 1209, 1000))},
		signal{"chord 697+941+1209+1477", dtmfSynth(dtmfToneSpan(-10, 1000, 697, 941, 1209, 1477))},
		signal{"sawtooth 120 Hz", dtmfSawtooth(120, -6, 1000)},
		signal{"sawtooth 174.25 Hz (4th and 7th harmonics near 1)", dtmfSawtooth(174.25, -6, 1000)},
		signal{"sawtooth 232.3 Hz (3rd harmonic on 697)", dtmfSawtooth(697.0/3, -6, 1000)},
		signal{"vowel 120 Hz", dtmfVowel(120, -6, 1000)},
		signal{"vowel 210 Hz", dtmfVowel(210, -6, 1000)},
	)
	for i, db := range []float64{-3, -10, -20, -30, -40} {
		signals = append(signals, signal{fmt.Sprintf("noise %v dBFS", db), dtmfNoise(uint64(i), db, 2000)})
	}
	for _, s := range signals {
		for _, codec := range []string{"linear", "ulaw", "alaw"} {
			t.Run(s.name+"/"+codec, func(t *testing.T) {
				if got := dtmfDetect(dtmfThroughCodec(t, codec, s.pcm), 160).String(); got != "" {
					t.Errorf("got %q, want nothing", got)
				}
			})
		}
	}
}

// TestInbandTestTonesNearKeys documents the two pairs of test tones that
// are genuine DTMF: 700 and 1200 Hz are 0.4% and 0.7% from key 1's 697
// and 1209 Hz, 1500 Hz is 1.56% from 1477; Q.24 asks that ±1.5% be
// accepted, and no detector can tell 1.56% from 1.5% in 40 ms. Parties
// must not be given 700 Hz together with 1200 or 1500 Hz.
func TestInbandTestTonesNearKeys(t *testing.T) {
	tests := []struct {
		f1, f2 float64
		want   string
	}{
		{700, 1200, "+1 -1"},
		{700, 1500, "+3 -3"},
		{700, 1300, ""}, // 2.7% from 1336
		{700, 1600, ""}, // 2.0% from 1633
		{800, 1200, ""}, // 3.9% from 770
		{900, 1200, ""}, // 4.4% from 941
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v+%v", tt.f1, tt.f2), func(t *testing.T) {
			if got := dtmfDetect(dtmfSynth(dtmfToneSpan(-10, 500, tt.f1, tt.f2)), 160).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInbandFrequencyTolerance(t *testing.T) {
	tests := []struct {
		name string
		ferr float64
		want bool
	}{
		{"exact", 0, true},
		{"+1.5%", 0.015, true},
		{"-1.5%", -0.015, true},
		{"+2.5%", 0.025, false},
		{"-2.5%", -0.025, false},
		{"+3.5%", 0.035, false},
		{"-3.5%", -0.035, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, key := range dtmfKeyList {
				r, c := dtmfKeyFreqs(t, key)
				// Both tones off, and each alone off.
				for _, f := range [][2]float64{{r * (1 + tt.ferr), c * (1 + tt.ferr)}, {r * (1 + tt.ferr), c}, {r, c * (1 + tt.ferr)}} {
					want := ""
					if tt.want {
						want = dtmfPresses(string(key))
					}
					if got := dtmfDetect(dtmfSynth(dtmfToneSpan(-10, 200, f[0], f[1])), 160).String(); got != want {
						t.Errorf("key %c at %.1f+%.1f Hz: got %q, want %q", key, f[0], f[1], got, want)
					}
				}
			}
		})
	}
}

func TestInbandTwistLimits(t *testing.T) {
	tests := []struct {
		name         string
		rowDB, colDB float64
		want         bool
	}{
		{"normal 6 dB", -6, -12, true},
		{"normal 10 dB", -6, -16, false},
		{"reverse 4 dB", -10, -6, true},
		{"reverse 9 dB", -15, -6, false},
		{"row under -33 dBFS", -36, -30, false},
		{"column under -33 dBFS", -30, -36, false},
		{"both -36 dBFS", -36, -36, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, key := range dtmfKeyList {
				want := ""
				if tt.want {
					want = dtmfPresses(string(key))
				}
				if got := dtmfDetect(dtmfSynth(dtmfKeySpan(t, key, tt.rowDB, tt.colDB, 0, 200)), 160).String(); got != want {
					t.Errorf("key %c: got %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestInbandWithNoise(t *testing.T) {
	tests := []struct {
		name    string
		noiseDB float64
		ferr    float64
	}{
		{"20 dB SNR", -45, 0},
		{"20 dB SNR, +1.5%", -45, 0.015},
		{"20 dB SNR, -1.5%", -45, -0.015},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, key := range dtmfKeyList {
				// -25 dBFS tones, 6 dB twist, 50 ms: the hardest case.
				pcm := dtmfSynth(dtmfSilence(20), dtmfKeySpan(t, key, -19, -25, tt.ferr, 50), dtmfSilence(20))
				for j, v := range dtmfNoise(uint64(i), tt.noiseDB, 90) {
					pcm[j] += v
				}
				if got, want := dtmfDetect(dtmfThroughCodec(t, "ulaw", pcm), 160).String(), dtmfPresses(string(key)); got != want {
					t.Errorf("key %c: got %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestInbandFrameSizes(t *testing.T) {
	var spans []dtmfSpan
	for _, k := range "159#" {
		spans = append(spans, dtmfKeySpan(t, k, -10, -12, 0.005, 70), dtmfSilence(60))
	}
	pcm := dtmfThroughCodec(t, "ulaw", dtmfSynth(spans...))
	want := dtmfPresses("159#")
	for _, frame := range []int{1, 2, 7, 53, 80, 105, 106, 107, 160, 240, 333} {
		t.Run(fmt.Sprint(frame), func(t *testing.T) {
			if got := dtmfDetect(pcm, frame).String(); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestInbandLongFrameQueuesEvents(t *testing.T) {
	var spans []dtmfSpan
	for _, k := range "0123456789" {
		spans = append(spans, dtmfKeySpan(t, k, -10, -10, 0, 60), dtmfSilence(60))
	}
	pcm := append(dtmfSynth(spans...), make([]int16, dtmfMS(100))...)
	tests := []struct {
		name  string
		frame int
	}{
		{"whole signal at once", len(pcm)},
		{"100 ms frames", dtmfMS(100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewInbandDetector()
			var l dtmfLog
			for p := pcm; len(p) > 0; p = p[min(tt.frame, len(p)):] {
				l.add(d.Frame(p[:min(tt.frame, len(p))]))
			}
			for range 20 {
				l.add(d.Frame(nil))
			}
			// The queue holds 8 events: with all ten presses in one
			// call, the presses that do not fit are dropped whole.
			got := l.String()
			if tt.frame == len(pcm) {
				if got != dtmfPresses("0123") {
					t.Errorf("got %q, want %q", got, dtmfPresses("0123"))
				}
				return
			}
			if got != dtmfPresses("0123456789") {
				t.Errorf("got %q, want %q", got, dtmfPresses("0123456789"))
			}
		})
	}
}

func TestInbandReset(t *testing.T) {
	d := NewInbandDetector()
	var l dtmfLog
	key := dtmfSynth(dtmfKeySpan(t, '8', -10, -10, 0, 100))
	l.add(d.Frame(key))
	d.Reset()
	for range 20 {
		l.add(d.Frame(make([]int16, 160)))
	}
	l.add(d.Frame(key))
	for range 20 {
		l.add(d.Frame(make([]int16, 160)))
	}
	if got, want := l.String(), "+8 +8 -8"; got != want {
		t.Errorf("got %q, want %q: Reset drops the press in progress", got, want)
	}
	var zero InbandDetector
	var lz dtmfLog
	lz.add(zero.Frame(key))
	lz.add(zero.Frame(make([]int16, 800)))
	if got, want := lz.String(), "+8 -8"; got != want {
		t.Errorf("zero value: got %q, want %q", got, want)
	}
}

func TestInbandDoesNotAllocate(t *testing.T) {
	pcm := dtmfSynth(dtmfKeySpan(t, '5', -10, -10, 0, 100), dtmfSilence(100))
	d := NewInbandDetector()
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		d.Frame(pcm[i : i+160])
		i = (i + 160) % (len(pcm) - 160)
	})
	if allocs != 0 {
		t.Errorf("Frame allocates %v times per call", allocs)
	}
}

func BenchmarkInbandDetector(b *testing.B) {
	tests := []struct {
		name string
		pcm  []int16
	}{
		{"key", dtmfSynth(dtmfKeySpan(b, '5', -10, -10, 0, 1000))},
		{"speech-like", dtmfVowel(120, -6, 1000)},
		{"silence", make([]int16, dtmfMS(1000))},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			d := NewInbandDetector()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Frame(tt.pcm[i : i+160])
				i = (i + 160) % (len(tt.pcm) - 160)
			}
		})
	}
}
