package sounds

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
)

const sampleRate = 8000

// prompts lists every spoken prompt constant.
var prompts = []string{
	Welcome, PleaseHold, YouAreCallerNumber, EstimatedWait, Minutes, Minute,
	LessThanOneMinute, AgentLogin, EnterPassword, LoggedIn, LoggedOut, Paused,
	Unpaused, Invalid, Goodbye, ConferenceEnterPIN, ConferenceJoined,
	ConferenceOnlyOne, Muted, Unmuted, RecordingStarted, RecordingStopped,
	Transfer, TransferFailed, EchoTest, NoAnswer, Busy, AllAgentsBusy,
	ThankYouForWaiting, YourCallWillBeAnswered,
	QueueCallbackOffer, QueueCallbackConfirmed, QueueCallbackIntro, QueueClosed, AgentNotLoggedIn,
	DigitHundred, DigitThousand, DigitMillion, DigitStar, DigitPound,
}

var music = []string{MusicDefault, MusicCalm}

// digitNames lists digits/0..19 and digits/20..90 by tens.
func digitNames() []string {
	var names []string
	for n := 0; n < 20; n++ {
		names = append(names, "digits/"+strconv.Itoa(n))
	}
	for n := 20; n <= 90; n += 10 {
		names = append(names, "digits/"+strconv.Itoa(n))
	}
	return names
}

// allNames is every sound the package promises.
func allNames() []string {
	names := slices.Concat(prompts, []string{Beep}, music, digitNames())
	sort.Strings(names)
	return names
}

// wav is a decoded 8 kHz mono 16-bit file.
type wav struct {
	samples []float64 // scaled to [-1, 1)
}

func (w wav) seconds() float64 { return float64(len(w.samples)) / sampleRate }

// parseWAV checks the plain 44-byte PCM header and decodes the samples.
func parseWAV(t *testing.T, name string, b []byte) wav {
	t.Helper()
	if len(b) < 44 {
		t.Fatalf("%s: %d bytes, shorter than a WAV header", name, len(b))
	}
	le := binary.LittleEndian
	checks := []struct {
		what      string
		got, want any
	}{
		{"RIFF tag", string(b[0:4]), "RIFF"},
		{"RIFF size", le.Uint32(b[4:8]), uint32(len(b) - 8)},
		{"WAVE tag", string(b[8:12]), "WAVE"},
		{"fmt tag", string(b[12:16]), "fmt "},
		{"fmt size", le.Uint32(b[16:20]), uint32(16)},
		{"format", le.Uint16(b[20:22]), uint16(1)},
		{"channels", le.Uint16(b[22:24]), uint16(1)},
		{"sample rate", le.Uint32(b[24:28]), uint32(sampleRate)},
		{"byte rate", le.Uint32(b[28:32]), uint32(sampleRate * 2)},
		{"block align", le.Uint16(b[32:34]), uint16(2)},
		{"bits per sample", le.Uint16(b[34:36]), uint16(16)},
		{"data tag", string(b[36:40]), "data"},
		{"data size", le.Uint32(b[40:44]), uint32(len(b) - 44)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %s = %v, want %v", name, c.what, c.got, c.want)
		}
	}
	data := b[44:]
	if len(data)%2 != 0 {
		t.Errorf("%s: odd data size %d", name, len(data))
	}
	w := wav{samples: make([]float64, len(data)/2)}
	for i := range w.samples {
		w.samples[i] = float64(int16(le.Uint16(data[2*i:]))) / 32768
	}
	return w
}

func load(t *testing.T, name string) wav {
	t.Helper()
	b, err := Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	return parseWAV(t, name, b)
}

func rms(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(x)))
}

func peak(x []float64) float64 {
	var p float64
	for _, v := range x {
		p = max(p, math.Abs(v))
	}
	return p
}

func dB(v float64) float64 { return 20 * math.Log10(max(v, 1e-12)) }

// goertzelShare returns the fraction of the energy of x that lies at freq:
// 1 for a pure tone at freq, near 0 for a tone elsewhere.
func goertzelShare(x []float64, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/sampleRate)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2 // |X(freq)|^2
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	return 2 * power / (float64(len(x)) * energy)
}

func TestFilesAndFormat(t *testing.T) {
	for _, name := range allNames() {
		t.Run(name, func(t *testing.T) {
			w := load(t, name)
			if len(w.samples) == 0 {
				t.Fatal("no samples")
			}
		})
	}
}

func TestNames(t *testing.T) {
	got := Names()
	if want := allNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v\nwant %v", got, want)
	}
	if !sort.StringsAreSorted(got) {
		t.Error("Names() is not sorted")
	}
}

func TestOpenUnknown(t *testing.T) {
	for _, name := range []string{"", "nope", "welcome.wav", "digits/21", "../sounds", "/welcome", "music"} {
		b, err := Open(name)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %d bytes, %v; want fs.ErrNotExist", name, len(b), err)
		}
	}
}

func TestPrompts(t *testing.T) {
	for _, name := range slices.Concat(prompts, digitNames(), []string{Beep}) {
		t.Run(name, func(t *testing.T) {
			w := load(t, name)
			if s := w.seconds(); s > 8 || s < 0.1 {
				t.Errorf("length %.2f s, want 0.1-8 s", s)
			}
			if r := dB(rms(w.samples)); r < -35 {
				t.Errorf("RMS %.1f dBFS: too quiet", r)
			}
			if p := dB(peak(w.samples)); p < -4 || p > -2 {
				t.Errorf("peak %.1f dBFS, want about -3", p)
			}
			// Leading and trailing silence is trimmed to about 50 ms.
			const edge = sampleRate * 120 / 1000
			if len(w.samples) > 2*edge && name != Beep {
				if r := dB(rms(w.samples[:edge])); r < -60 {
					t.Errorf("first 120 ms silent (%.1f dBFS): untrimmed", r)
				}
				if r := dB(rms(w.samples[len(w.samples)-edge:])); r < -60 {
					t.Errorf("last 120 ms silent (%.1f dBFS): untrimmed", r)
				}
			}
		})
	}
}

func TestBeepIs1kHz(t *testing.T) {
	w := load(t, Beep)
	if s := w.seconds(); math.Abs(s-0.25) > 0.01 {
		t.Errorf("beep lasts %.3f s, want 0.25", s)
	}
	if share := goertzelShare(w.samples, 1000); share < 0.9 {
		t.Errorf("1 kHz holds %.3f of the energy, want > 0.9", share)
	}
	for _, f := range []float64{300, 500, 800, 1200, 2000, 3000} {
		if share := goertzelShare(w.samples, f); share > 0.02 {
			t.Errorf("%v Hz holds %.3f of the energy, want < 0.02", f, share)
		}
	}
}

func TestMusic(t *testing.T) {
	const (
		window  = sampleRate * 20 / 1000 // 20 ms
		quietDB = -50.0
		maxGap  = 60.0 // ms
	)
	// Reference loudness: the median RMS of the spoken prompts.
	var speech []float64
	for _, name := range prompts {
		speech = append(speech, dB(rms(load(t, name).samples)))
	}
	sort.Float64s(speech)
	speechRMS := speech[len(speech)/2]

	tests := []struct {
		name       string
		minSeconds float64
	}{
		{MusicDefault, 60},
		{MusicCalm, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := load(t, tt.name)
			x := w.samples
			if s := w.seconds(); s < tt.minSeconds {
				t.Errorf("length %.2f s, want >= %v s", s, tt.minSeconds)
			}
			if p := dB(peak(x)); p > -5 || p < -12 {
				t.Errorf("peak %.1f dBFS, want about -6 to -9", p)
			}
			if r := dB(rms(x)); r > speechRMS+1 {
				t.Errorf("RMS %.1f dBFS is louder than speech (%.1f dBFS)", r, speechRMS)
			}

			// Silent gaps, measured around the loop: the windows are
			// taken circularly so a gap across the seam counts too.
			n := len(x) / window
			quiet := make([]bool, n)
			for i := range n {
				quiet[i] = dB(rms(x[i*window:(i+1)*window])) < quietDB
			}
			run, longest := 0, 0
			for i := range 2 * n {
				if quiet[i%n] {
					run++
					longest = max(longest, run)
				} else {
					run = 0
				}
			}
			if gap := float64(min(longest, n)) * 20; gap > maxGap {
				t.Errorf("silent gap of %.0f ms (limit %.0f ms)", gap, maxGap)
			}

			// The seam: the jump from the last sample to the first must
			// be no larger than the steps inside the music.
			steps := make([]float64, len(x)-1)
			for i := range steps {
				steps[i] = math.Abs(x[i+1] - x[i])
			}
			sort.Float64s(steps)
			p999 := steps[len(steps)*999/1000]
			if jump := math.Abs(x[0] - x[len(x)-1]); jump > p999 {
				t.Errorf("loop seam jumps %.5f, more than the 99.9th percentile step %.5f", jump, p999)
			}
			before := dB(rms(x[len(x)-window:]))
			after := dB(rms(x[:window]))
			if math.Abs(before-after) >= 6 && (before > quietDB || after > quietDB) {
				t.Errorf("loudness changes across the seam: %.1f dBFS before, %.1f after", before, after)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		n    int
		want []string
	}{
		{-1, nil},
		{0, []string{"digits/0"}},
		{3, []string{"digits/3"}},
		{10, []string{"digits/10"}},
		{15, []string{"digits/15"}},
		{19, []string{"digits/19"}},
		{20, []string{"digits/20"}},
		{42, []string{"digits/40", "digits/2"}},
		{99, []string{"digits/90", "digits/9"}},
		{100, []string{"digits/1", "digits/hundred"}},
		{101, []string{"digits/1", "digits/hundred", "digits/1"}},
		{110, []string{"digits/1", "digits/hundred", "digits/10"}},
		{123, []string{"digits/1", "digits/hundred", "digits/20", "digits/3"}},
		{999, []string{"digits/9", "digits/hundred", "digits/90", "digits/9"}},
		{1000, []string{"digits/1", "digits/thousand"}},
		{2005, []string{"digits/2", "digits/thousand", "digits/5"}},
		{10_000, []string{"digits/10", "digits/thousand"}},
		{21_050, []string{"digits/20", "digits/1", "digits/thousand", "digits/50"}},
		{100_001, []string{"digits/1", "digits/hundred", "digits/thousand", "digits/1"}},
		{1_000_000, []string{"digits/1", "digits/million"}},
		{3_000_017, []string{"digits/3", "digits/million", "digits/17"}},
		{7_040_300, []string{"digits/7", "digits/million", "digits/40", "digits/thousand", "digits/3", "digits/hundred"}},
		{999_999_999, []string{
			"digits/9", "digits/hundred", "digits/90", "digits/9", "digits/million",
			"digits/9", "digits/hundred", "digits/90", "digits/9", "digits/thousand",
			"digits/9", "digits/hundred", "digits/90", "digits/9",
		}},
		{1_200_000_000, []string{"digits/1", "digits/thousand", "digits/2", "digits/hundred", "digits/million"}},
	}
	for _, tt := range tests {
		got := Number(tt.n)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Number(%d) = %v, want %v", tt.n, got, tt.want)
		}
		checkExist(t, got)
	}
	// Every number up to a few thousand speaks with existing files only.
	for n := 0; n <= 3000; n++ {
		checkExist(t, Number(n))
	}
}

func TestDigits(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"abc", nil},
		{"0", []string{"digits/0"}},
		{"1234#", []string{"digits/1", "digits/2", "digits/3", "digits/4", "digits/pound"}},
		{"*98", []string{"digits/star", "digits/9", "digits/8"}},
		{"+1 (555) 0199", []string{"digits/1", "digits/5", "digits/5", "digits/5", "digits/0", "digits/1", "digits/9", "digits/9"}},
		{"56789", []string{"digits/5", "digits/6", "digits/7", "digits/8", "digits/9"}},
	}
	for _, tt := range tests {
		got := Digits(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Digits(%q) = %v, want %v", tt.in, got, tt.want)
		}
		checkExist(t, got)
	}
}

func TestDigit(t *testing.T) {
	for _, n := range []int{-1, 21, 95, 100} {
		if got := Digit(n); got != "" {
			t.Errorf("Digit(%d) = %q, want \"\"", n, got)
		}
	}
	for _, name := range digitNames() {
		n, _ := strconv.Atoi(name[len(DigitsPrefix):])
		if got := Digit(n); got != name {
			t.Errorf("Digit(%d) = %q, want %q", n, got, name)
		}
	}
}

func checkExist(t *testing.T, names []string) {
	t.Helper()
	for _, name := range names {
		if _, err := fs.Stat(FS, name+Ext); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
