package media

import (
	"encoding/binary"
	"errors"
)

// TelephoneEvent is the payload of one RFC 4733 telephone-event packet:
// a DTMF digit (or other event) in progress or ended. It is a plain wire
// type so the relay, DTMF readers and tests share one parser.
type TelephoneEvent struct {
	Event    uint8  // 0-9 digits, 10 '*', 11 '#', 12-15 'A'-'D', others per RFC 4733 §3
	End      bool   // the last packets of the event carry E
	Volume   uint8  // power level in -dBm0, 0..63
	Duration uint16 // in timestamp units since the event began
}

// TelephoneEventLen is the size of one event payload.
const TelephoneEventLen = 4

var errEventShort = errors.New("media: telephone-event payload shorter than 4 bytes")

// ParseTelephoneEvent reads the first event of a telephone-event payload.
// It does not allocate.
func ParseTelephoneEvent(b []byte) (TelephoneEvent, error) {
	if len(b) < TelephoneEventLen {
		return TelephoneEvent{}, errEventShort
	}
	return TelephoneEvent{
		Event:    b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(b[2:]),
	}, nil
}

// MarshalTo writes the event into b, which must hold TelephoneEventLen
// bytes, and returns the length written.
func (ev TelephoneEvent) MarshalTo(b []byte) (int, error) {
	if len(b) < TelephoneEventLen {
		return 0, errEventShort
	}
	b[0] = ev.Event
	b[1] = ev.Volume & 0x3f
	if ev.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], ev.Duration)
	return TelephoneEventLen, nil
}

// Digit is the DTMF key of the event: '0'-'9', '*', '#', 'A'-'D'. ok is
// false for events that are not DTMF keys.
func (ev TelephoneEvent) Digit() (digit rune, ok bool) {
	switch {
	case ev.Event <= 9:
		return rune('0' + ev.Event), true
	case ev.Event == 10:
		return '*', true
	case ev.Event == 11:
		return '#', true
	case ev.Event <= 15:
		return rune('A' + ev.Event - 12), true
	}
	return 0, false
}
