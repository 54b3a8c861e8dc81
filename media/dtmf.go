package media

import "time"

// Digit is one DTMF key press as the PBX saw or will send it. The same
// type describes a press whichever way it travelled (RFC 4733 events or
// in-band tones), so what is built on top need not care.
type Digit struct {
	Key      rune          // '0'-'9', '*', '#', 'A'-'D'
	Duration time.Duration // how long it was held (0 at begin)
}

// ValidKey reports whether r is one of the sixteen DTMF keys: '0'-'9',
// '*', '#' and 'A'-'D' (upper case, as RFC 4733 and the keypad name them).
func ValidKey(r rune) bool {
	_, ok := eventCode(r)
	return ok
}

// eventCode is the RFC 4733 event code of a DTMF key, the inverse of
// TelephoneEvent.Digit. ok is false for anything that is not a key.
func eventCode(key rune) (code uint8, ok bool) {
	switch {
	case key >= '0' && key <= '9':
		return uint8(key - '0'), true
	case key == '*':
		return 10, true
	case key == '#':
		return 11, true
	case key >= 'A' && key <= 'D':
		return uint8(12 + key - 'A'), true
	}
	return 0, false
}

// EventResult is what a DTMF receiver or detector reports for one input
// (a packet, a tick or a frame of audio). Most results are empty. When
// something happened the parts are, in this order:
//
//   - PrevEnd: an earlier press, Prev, ended because a new one began
//     (its own end was lost or not yet seen). Only set together with Begin.
//   - Begin: the press Digit began (Digit.Duration is 0 unless End is
//     also set).
//   - End: the press Digit ended after being held Digit.Duration.
//
// Begin and End together mean a whole press seen at once, as when its
// first packets were lost. End alone ends the press begun earlier. A
// value type with flags, not pointers, so reporting allocates nothing.
type EventResult struct {
	Begin, End bool
	Digit      Digit

	PrevEnd bool
	Prev    Digit
}

// Empty reports whether nothing happened.
func (r EventResult) Empty() bool { return !r.Begin && !r.End && !r.PrevEnd }

// addEnd records the end of a press in r, returning false if r has no
// room left for it (it already holds an end that is not the end of the
// press it begins).
func (r *EventResult) addEnd(d Digit) bool {
	switch {
	case !r.Begin && !r.End && !r.PrevEnd:
		r.End, r.Digit = true, d
		return true
	case r.Begin && !r.End && r.Digit.Key == d.Key:
		r.End, r.Digit.Duration = true, d.Duration
		return true
	}
	return false
}

// addBegin records the beginning of a press in r, moving an end already
// there to Prev. It returns false if r has no room left for it.
func (r *EventResult) addBegin(key rune) bool {
	switch {
	case r.Begin:
		return false
	case r.End:
		if r.PrevEnd {
			return false
		}
		r.PrevEnd, r.Prev, r.End = true, r.Digit, false
	}
	r.Begin, r.Digit = true, Digit{Key: key}
	return true
}
