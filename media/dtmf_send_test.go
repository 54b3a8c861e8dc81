package media

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// dtmfSent is one payload an EventSender returned, parsed.
type dtmfSent struct {
	marker bool
	ev     TelephoneEvent
}

// dtmfSendAll drains s, failing on anything malformed.
func dtmfSendAll(t testing.TB, s *EventSender, samplesPerTick uint32) []dtmfSent {
	t.Helper()
	var out []dtmfSent
	buf := make([]byte, 16)
	for range 1000 {
		n, marker, done := s.Next(buf, samplesPerTick)
		if n == 0 {
			if !done {
				t.Fatal("Next wrote nothing but is not done")
			}
			return out
		}
		ev, err := ParseTelephoneEvent(buf[:n])
		if err != nil || n != TelephoneEventLen {
			t.Fatalf("payload %x: %v", buf[:n], err)
		}
		out = append(out, dtmfSent{marker, ev})
		if done {
			if n2, _, done2 := s.Next(buf, samplesPerTick); n2 != 0 || !done2 {
				t.Fatalf("after done, Next gave %d bytes, done %v", n2, done2)
			}
			return out
		}
	}
	t.Fatal("sender never done")
	return nil
}

func TestEventSender(t *testing.T) {
	tests := []struct {
		name  string
		d     Digit
		spt   uint32
		durs  []uint16 // duration field of each packet; the last three are the ends
		event uint8
	}{
		{"60 ms", Digit{'5', 60 * time.Millisecond}, 160, []uint16{160, 320, 480, 480, 480}, 5},
		{"press shorter than 60 ms sent as 60 ms", Digit{'1', 10 * time.Millisecond}, 160, []uint16{160, 320, 480, 480, 480}, 1},
		{"zero duration", Digit{'#', 0}, 160, []uint16{160, 320, 480, 480, 480}, 11},
		{"100 ms", Digit{'*', 100 * time.Millisecond}, 160, []uint16{160, 320, 480, 640, 800, 800, 800}, 10},
		{"not a multiple of the tick", Digit{'D', 70 * time.Millisecond}, 160, []uint16{160, 320, 480, 560, 560, 560}, 15},
		{"16 kHz clock", Digit{'A', 60 * time.Millisecond}, 320, []uint16{320, 640, 960, 960, 960}, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewEventSender(tt.d, 10)
			pkts := dtmfSendAll(t, &s, tt.spt)
			var durs []uint16
			for i, p := range pkts {
				durs = append(durs, p.ev.Duration)
				if p.marker != (i == 0) {
					t.Errorf("packet %d: marker %v", i, p.marker)
				}
				if wantEnd := i >= len(tt.durs)-3; p.ev.End != wantEnd {
					t.Errorf("packet %d: end %v, want %v", i, p.ev.End, wantEnd)
				}
				if p.ev.Event != tt.event || p.ev.Volume != 10 {
					t.Errorf("packet %d: event %d volume %d", i, p.ev.Event, p.ev.Volume)
				}
			}
			if !slices.Equal(durs, tt.durs) {
				t.Errorf("durations %v, want %v", durs, tt.durs)
			}
		})
	}
}

func TestEventSenderLimits(t *testing.T) {
	tests := []struct {
		name    string
		d       Digit
		spt     uint32
		packets int
		total   uint16
	}{
		{"8 s", Digit{'0', 8 * time.Second}, 160, 399 + 3, 64000},
		{"20 s capped at 8 s", Digit{'0', 20 * time.Second}, 160, 399 + 3, 64000},
		{"8 s at 16 kHz capped at 65535 units", Digit{'0', 8 * time.Second}, 320, 204 + 3, 65535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewEventSender(tt.d, 10)
			pkts := dtmfSendAll(t, &s, tt.spt)
			if len(pkts) != tt.packets {
				t.Errorf("%d packets, want %d", len(pkts), tt.packets)
			}
			last := pkts[len(pkts)-1].ev
			if !last.End || last.Duration != tt.total {
				t.Errorf("last packet %+v, want end with duration %d", last, tt.total)
			}
			for i := 1; i < len(pkts); i++ {
				if pkts[i].ev.Duration < pkts[i-1].ev.Duration {
					t.Fatalf("duration went back at packet %d", i)
				}
			}
		})
	}
}

func TestEventSenderInvalidAndReset(t *testing.T) {
	tests := []struct {
		name   string
		key    rune
		volume uint8
		ok     bool
		wantV  uint8
	}{
		{"lower-case a is no key", 'a', 10, false, 0},
		{"space", ' ', 10, false, 0},
		{"zero", 0, 10, false, 0},
		{"volume capped at 63", 'B', 200, true, 63},
		{"volume 0", '9', 0, true, 0},
	}
	buf := make([]byte, 4)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s EventSender
			if ok := s.Reset(Digit{Key: tt.key}, tt.volume); ok != tt.ok {
				t.Fatalf("Reset = %v", ok)
			}
			if tt.ok == s.Done() {
				t.Fatalf("Done = %v", s.Done())
			}
			n, marker, done := s.Next(buf, 160)
			if !tt.ok {
				if n != 0 || marker || !done {
					t.Errorf("invalid key: Next = %d, %v, %v", n, marker, done)
				}
				return
			}
			if ev, _ := ParseTelephoneEvent(buf); n != 4 || !marker || done || ev.Volume != tt.wantV {
				t.Errorf("Next = %d, %v, %v, %+v", n, marker, done, ev)
			}
		})
	}
	s := NewEventSender(Digit{Key: '4'}, 10)
	if n, _, done := s.Next(buf[:3], 160); n != 0 || done {
		t.Errorf("short buffer: Next = %d, done %v", n, done)
	}
}

// TestEventSenderToReceiver sends presses through an EventReceiver, as
// the far end would see them, with ticks between packets.
func TestEventSenderToReceiver(t *testing.T) {
	tests := []struct {
		name string
		hold time.Duration
		want time.Duration
		drop func(i, n int) bool // packets lost, of n
	}{
		{"60 ms", 60 * time.Millisecond, 60 * time.Millisecond, nil},
		{"short press", 15 * time.Millisecond, 60 * time.Millisecond, nil},
		{"250 ms", 250 * time.Millisecond, 250 * time.Millisecond, nil},
		{"3 s", 3 * time.Second, 3 * time.Second, nil},
		{"first packets lost", 200 * time.Millisecond, 200 * time.Millisecond, func(i, n int) bool { return i < 4 }},
		{"two ends lost", 200 * time.Millisecond, 200 * time.Millisecond, func(i, n int) bool { return i >= n-2 }},
		{"every other packet lost", 200 * time.Millisecond, 200 * time.Millisecond, func(i, n int) bool { return i%2 == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r EventReceiver
			var s EventSender
			now := time.Unix(0, 0)
			ts := uint32(12345)
			buf := make([]byte, 4)
			for _, key := range dtmfKeyList {
				var l dtmfLog
				s.Reset(Digit{Key: key, Duration: tt.hold}, 10)
				var pkts [][]byte
				var marks []bool
				for !s.Done() {
					n, m, _ := s.Next(buf, 160)
					pkts = append(pkts, append([]byte(nil), buf[:n]...))
					marks = append(marks, m)
				}
				for i, p := range pkts {
					now = now.Add(20 * time.Millisecond)
					if tt.drop == nil || !tt.drop(i, len(pkts)) {
						ev, _ := ParseTelephoneEvent(p)
						l.add(r.Packet(0xabc, ts, marks[i], ev, 8000, now))
					}
					l.add(r.Tick(now))
				}
				for range 30 { // silence, with the receiver ticking
					now = now.Add(20 * time.Millisecond)
					l.add(r.Tick(now))
				}
				ts += uint32(len(pkts)+30) * 160
				if got, want := l.String(), dtmfPresses(string(key)); got != want {
					t.Fatalf("key %c: got %q, want %q", key, got, want)
				}
				if l.ends[0].Duration != tt.want {
					t.Errorf("key %c: duration %v, want %v", key, l.ends[0].Duration, tt.want)
				}
			}
		})
	}
}

func TestEventSenderDoesNotAllocate(t *testing.T) {
	var s EventSender
	buf := make([]byte, 4)
	allocs := testing.AllocsPerRun(100, func() {
		s.Reset(Digit{Key: '7', Duration: 100 * time.Millisecond}, 10)
		for !s.Done() {
			s.Next(buf, 160)
		}
	})
	if allocs != 0 {
		t.Errorf("sending a press allocates %v times", allocs)
	}
}

// TestDTMFToneToInband plays each key's tone, through G.711, to an
// InbandDetector, in 20 ms frames.
func TestDTMFToneToInband(t *testing.T) {
	tests := []struct {
		codec string
		hold  int // frames
	}{
		{"ulaw", 3},
		{"ulaw", 5},
		{"alaw", 3},
		{"linear", 10},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d ms", tt.codec, tt.hold*20), func(t *testing.T) {
			var pcm []int16
			for _, key := range dtmfKeyList {
				tone, ok := NewDTMFTone(key)
				if !ok {
					t.Fatalf("NewDTMFTone(%q) not ok", key)
				}
				frame := make([]int16, 160)
				for range tt.hold {
					tone.Read(frame)
					pcm = append(pcm, frame...)
				}
				pcm = append(pcm, make([]int16, dtmfMS(60))...)
			}
			if got, want := dtmfDetect(dtmfThroughCodec(t, tt.codec, pcm), 160).String(), dtmfPresses(dtmfKeyList); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestDTMFTone(t *testing.T) {
	tests := []struct {
		key rune
		ok  bool
	}{
		{'1', true}, {'D', true}, {'*', true}, {'#', true}, {'0', true},
		{'d', false}, {'E', false}, {'x', false}, {0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.key), func(t *testing.T) {
			whole, ok := NewDTMFTone(tt.key)
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			split := whole
			a := make([]int16, 480)
			whole.Read(a)
			var b []int16
			for _, n := range []int{1, 159, 160, 7, 153} {
				f := make([]int16, n)
				split.Read(f)
				b = append(b, f...)
			}
			// Split reads continue the phase: the same samples as one read.
			if !slices.Equal(a, b) {
				t.Fatal("reading in pieces differs from one read")
			}
			var peak int16
			var sum float64
			for _, v := range a {
				peak = max(peak, v, -v)
				sum += float64(v) * float64(v)
			}
			if !tt.ok {
				if peak != 0 {
					t.Errorf("invalid key not silent")
				}
				return
			}
			// Two tones at -10 dBFS: rms √2 × that of one, peak under 2×.
			rms := math.Sqrt(sum / float64(len(a)))
			wantRMS := dtmfDBFSAmp(DTMFLevelDB) // √2 · amp/√2
			if math.Abs(rms-wantRMS) > 0.05*wantRMS || float64(peak) > 2*dtmfDBFSAmp(DTMFLevelDB)+1 {
				t.Errorf("rms %.0f peak %d, want rms %.0f", rms, peak, wantRMS)
			}
			r, c := dtmfKeyFreqs(t, tt.key)
			if Goertzel(a, r, ToneSampleRate) < 0.4 || Goertzel(a, c, ToneSampleRate) < 0.4 {
				t.Errorf("tones not at %v and %v Hz", r, c)
			}
		})
	}
}

func TestDTMFToneDoesNotAllocate(t *testing.T) {
	var tone DTMFTone
	frame := make([]int16, 160)
	allocs := testing.AllocsPerRun(100, func() {
		tone.Reset('5')
		tone.Read(frame)
	})
	if allocs != 0 {
		t.Errorf("DTMFTone allocates %v times per frame", allocs)
	}
}

func TestValidKeyAndEventCode(t *testing.T) {
	for code := range 256 {
		ev := TelephoneEvent{Event: uint8(code)}
		key, ok := ev.Digit()
		if ok != (code < 16) {
			t.Fatalf("event %d: Digit ok = %v", code, ok)
		}
		if !ok {
			continue
		}
		if back, ok := eventCode(key); !ok || back != uint8(code) || !ValidKey(key) {
			t.Errorf("eventCode(%q) = %d, %v, want %d", key, back, ok, code)
		}
	}
	tests := []struct {
		r  rune
		ok bool
	}{
		{'0', true}, {'9', true}, {'*', true}, {'#', true}, {'A', true}, {'D', true},
		{'a', false}, {'E', false}, {'/', false}, {':', false}, {'+', false}, {-1, false}, {'٣', false},
	}
	for _, tt := range tests {
		if ValidKey(tt.r) != tt.ok {
			t.Errorf("ValidKey(%q) = %v", tt.r, !tt.ok)
		}
	}
}

func BenchmarkEventSender(b *testing.B) {
	var s EventSender
	buf := make([]byte, 4)
	b.ReportAllocs()
	for b.Loop() {
		if s.Done() {
			s.Reset(Digit{Key: '7', Duration: 100 * time.Millisecond}, 10)
		}
		s.Next(buf, 160)
	}
}

func BenchmarkDTMFTone(b *testing.B) {
	tone, _ := NewDTMFTone('5')
	frame := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		tone.Read(frame)
	}
}
