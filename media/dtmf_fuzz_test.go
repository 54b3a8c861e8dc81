package media

import (
	"encoding/binary"
	"testing"
	"time"
)

// dtmfFuzzRecordLen is the size of one input record of FuzzTelephoneEvents:
//
//	0     flags: bits 0-1 SSRC (0-3), bit 2 marker, bit 3 a Tick instead
//	      of a packet, bits 4-5 clock (8000, 16000, 0, 48000)
//	1-4   RTP timestamp, big-endian
//	5-8   telephone-event payload
//	9     arrival after the previous record, in 5 ms units
//	10    Ticks to call after it, 20 ms apart (low two bits)
const dtmfFuzzRecordLen = 11

// dtmfPressChecker checks a stream of EventResults for well-formed presses:
// every End ends the press begun (by an earlier or the same result), no
// press begins while another is open, keys are DTMF keys and durations
// are within 0..10 s.
type dtmfPressChecker struct {
	t    *testing.T
	open rune // key of the press in progress, 0 for none
	n    int  // presses begun
}

func (c *dtmfPressChecker) end(d Digit, what string) {
	c.t.Helper()
	if c.open == 0 || d.Key != c.open {
		c.t.Fatalf("%s of %q while %q is open", what, d.Key, c.open)
	}
	if d.Duration < 0 || d.Duration > maxEventDuration {
		c.t.Fatalf("%s of %q with duration %v", what, d.Key, d.Duration)
	}
	c.open = 0
}

func (c *dtmfPressChecker) check(r EventResult) {
	c.t.Helper()
	if r.PrevEnd {
		if !r.Begin {
			c.t.Fatalf("PrevEnd without Begin: %+v", r)
		}
		c.end(r.Prev, "PrevEnd")
	}
	if r.Begin {
		if c.open != 0 {
			c.t.Fatalf("begin of %q while %q is open", r.Digit.Key, c.open)
		}
		if !ValidKey(r.Digit.Key) {
			c.t.Fatalf("begin of invalid key %q", r.Digit.Key)
		}
		if !r.End && r.Digit.Duration != 0 {
			c.t.Fatalf("begin with duration %v", r.Digit.Duration)
		}
		c.open = r.Digit.Key
		c.n++
	}
	if r.End {
		c.end(r.Digit, "End")
	}
	if !r.Begin && !r.End && !r.PrevEnd && r != (EventResult{}) {
		c.t.Fatalf("empty result with data: %+v", r)
	}
}

// FuzzTelephoneEvents feeds arbitrary input to an EventReceiver, read as
// records of packets and ticks (see dtmfFuzzRecordLen), and to an
// InbandDetector, read as µ-law audio and as 16-bit PCM in frames of
// varying size. Nothing may panic and every result must keep presses
// well-formed (dtmfPressChecker); after long enough silence every press must
// have ended. Seeds are in testdata/fuzz/FuzzTelephoneEvents.
func FuzzTelephoneEvents(f *testing.F) {
	clocks := [4]uint32{8000, 16000, 0, 48000}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r EventReceiver
		rc := dtmfPressChecker{t: t}
		now := time.Unix(1700000000, 0)
		for rec := data; len(rec) >= dtmfFuzzRecordLen; rec = rec[dtmfFuzzRecordLen:] {
			flags := rec[0]
			now = now.Add(time.Duration(rec[9]) * 5 * time.Millisecond)
			if flags&8 != 0 {
				rc.check(r.Tick(now))
			} else {
				ev, err := ParseTelephoneEvent(rec[5:9])
				if err != nil {
					t.Fatal(err)
				}
				ts := binary.BigEndian.Uint32(rec[1:5])
				rc.check(r.Packet(uint32(flags&3), ts, flags&4 != 0, ev, clocks[flags>>4&3], now))
			}
			for range rec[10] & 3 {
				now = now.Add(20 * time.Millisecond)
				rc.check(r.Tick(now))
			}
		}
		rc.check(r.Tick(now.Add(EventTimeout)))
		if rc.open != 0 {
			t.Fatalf("press %q still open after the timeout", rc.open)
		}

		// The same bytes as audio.
		frameLen := 160
		if len(data) > 0 {
			frameLen = 1 + int(data[0])
		}
		ulaw := make([]int16, len(data))
		DecodeUlaw(ulaw, data)
		pcm := make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		for _, audio := range [][]int16{ulaw, pcm} {
			d := NewInbandDetector()
			dc := dtmfPressChecker{t: t}
			for a := audio; len(a) > 0; a = a[min(frameLen, len(a)):] {
				dc.check(d.Frame(a[:min(frameLen, len(a))]))
			}
			// 100 ms of silence ends any press; queued events drain.
			for range 10 {
				dc.check(d.Frame(make([]int16, 80)))
			}
			if dc.open != 0 {
				t.Fatalf("in-band press %q still open after silence", dc.open)
			}
		}
	})
}
