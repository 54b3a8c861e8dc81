package media

import (
	"math"
	"time"
)

const (
	// MinSendDuration is the shortest press put on the wire: ITU-T Q.24
	// receivers may ignore tones under 40 ms, and RFC 4733 receivers that
	// play tones out need a few packets; 60 ms is three 20 ms packets.
	MinSendDuration = 60 * time.Millisecond
	// MaxSendDuration is the longest: at 8 kHz the 16-bit duration field
	// holds 8.19 s, and longer events would need RFC 4733's segmenting.
	MaxSendDuration = 8 * time.Second

	// eventEndRepeats is how often the end packet is sent: RFC 4733
	// §2.5.1.4 asks for three, as the end is what matters most.
	eventEndRepeats = 3
	// eventTick is the interval between the packets of an event.
	eventTick = 20 * time.Millisecond
)

// EventSender makes the telephone-event payloads for one key press, one per 20 ms tick:
// the first with the marker bit, growing durations, then the end packet three times, all under one timestamp.
//
// The caller sends every payload with the RTP timestamp of the tick the
// press began on. EventSender is a value: keep one per stream and Reset it
// for each press, so sending allocates nothing.
type EventSender struct {
	ev    TelephoneEvent
	hold  time.Duration // the press's duration, clamped
	total uint32        // duration in timestamp units; 0 until the first Next
	sent  uint32        // packets returned so far
	ends  int           // end packets returned so far
	valid bool
}

// NewEventSender returns a sender for press d at volume (the RFC 4733
// power level, in -dBm0; 10 is usual). The duration is clamped to
// MinSendDuration..MaxSendDuration. If d.Key is not a DTMF key the sender
// is done at once: Next writes nothing.
func NewEventSender(d Digit, volume uint8) EventSender {
	var s EventSender
	s.Reset(d, volume)
	return s
}

// Reset starts s over for press d at volume, as NewEventSender does. It
// reports whether d.Key is a DTMF key.
func (s *EventSender) Reset(d Digit, volume uint8) bool {
	code, ok := eventCode(d.Key)
	*s = EventSender{
		ev:    TelephoneEvent{Event: code, Volume: min(volume, 63)},
		hold:  min(max(d.Duration, MinSendDuration), MaxSendDuration),
		valid: ok,
	}
	return ok
}

// Done reports whether every payload of the press has been returned.
func (s *EventSender) Done() bool { return !s.valid || s.ends >= eventEndRepeats }

// Next writes the next payload into buf (≥ 4 bytes) and reports it; done is true after the third end packet has been returned.
// samplesPerTick is 160 at 8 kHz: the timestamp units in 20 ms, which
// also fixes the clock rate for the duration. It is read on the first call
// only. Once done, or if buf is too short or samplesPerTick 0, Next
// writes nothing (n is 0).
func (s *EventSender) Next(buf []byte, samplesPerTick uint32) (n int, marker bool, done bool) {
	if s.Done() || len(buf) < TelephoneEventLen || samplesPerTick == 0 {
		return 0, false, s.Done()
	}
	if s.sent == 0 {
		units := uint64(s.hold) * uint64(samplesPerTick) / uint64(eventTick)
		s.total = uint32(min(units, math.MaxUint16))
	}
	dur := min(uint64(s.sent+1)*uint64(samplesPerTick), uint64(s.total))
	ev := s.ev
	ev.Duration = uint16(dur)
	ev.End = dur >= uint64(s.total)
	if ev.End {
		s.ends++
	}
	marker = s.sent == 0
	s.sent++
	n, _ = ev.MarshalTo(buf)
	return n, marker, s.Done()
}

// DTMFLevelDB is the level of each of the two tones DTMFTone makes, in
// dBFS (relative to a full-scale sine): -10 dBFS is about -7 dBm0 in
// G.711, in the middle of the levels telephone sets and PBXs send
// (roughly -4 to -11 dBm0 per tone), well above any detector's floor,
// and the pair peaks at 2/3 of full scale, so nothing clips.
const DTMFLevelDB = -10

// dtmfAmplitude is the peak amplitude of one tone at DTMFLevelDB.
var dtmfAmplitude = 32767 * math.Pow(10, DTMFLevelDB/20.0)

// DTMFTone generates the dual tone of a key as 8 kHz PCM, continuing
// phase across calls, each tone at DTMFLevelDB. It is a value: Reset it
// for each key, so playing tones allocates nothing. Its zero value is
// silent.
type DTMFTone struct {
	rowStep, colStep float64 // phase advance per sample, radians
	rowPhase         float64
	colPhase         float64
	on               bool
}

// NewDTMFTone returns the tone of key. ok is false (and the tone silent)
// if key is not a DTMF key.
func NewDTMFTone(key rune) (t DTMFTone, ok bool) {
	ok = t.Reset(key)
	return t, ok
}

// Reset switches t to key, starting at phase zero. It reports whether key
// is a DTMF key; if not, t is silent.
func (t *DTMFTone) Reset(key rune) bool {
	*t = DTMFTone{}
	for r, keys := range dtmfKeys {
		for c, k := range keys {
			if k == key {
				t.rowStep = 2 * math.Pi * dtmfRows[r] / ToneSampleRate
				t.colStep = 2 * math.Pi * dtmfCols[c] / ToneSampleRate
				t.on = true
				return true
			}
		}
	}
	return false
}

// Read fills frame (usually 160 samples, 20 ms) with the next samples.
func (t *DTMFTone) Read(frame []int16) {
	if !t.on {
		clear(frame)
		return
	}
	for i := range frame {
		v := dtmfAmplitude * (math.Sin(t.rowPhase) + math.Sin(t.colPhase))
		frame[i] = int16(math.Round(v))
		t.rowPhase += t.rowStep
		if t.rowPhase >= 2*math.Pi {
			t.rowPhase -= 2 * math.Pi
		}
		t.colPhase += t.colStep
		if t.colPhase >= 2*math.Pi {
			t.colPhase -= 2 * math.Pi
		}
	}
}
