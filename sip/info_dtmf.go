package sip

import (
	"strconv"
	"strings"
	"time"
)

// This file reads a key press sent in a SIP INFO body, the way phones that
// neither send RFC 4733 events nor in-band tones report DTMF. Two content
// types are in use:
//
//	application/dtmf-relay    "Signal=5\r\nDuration=160\r\n" (milliseconds)
//	application/dtmf          "5"
//
// sip does not import media, so the key comes back as a rune and the caller
// makes its own digit of it.

const (
	// infoDTMFMaxBody bounds the body read: a real one is a few dozen bytes.
	infoDTMFMaxBody = 1024
	// InfoDTMFDuration is the length of a press whose body gives none, or
	// gives one that is not a whole number of milliseconds in (0, 10 s].
	InfoDTMFDuration = 100 * time.Millisecond
	infoDTMFMaxDur   = 10 * time.Second
)

// ParseInfoDTMF reads a key press from an INFO request. isDTMF says whether
// the content type (parameters and case ignored) is one of the two DTMF
// types, so that any other INFO can be acknowledged and ignored; ok says
// whether the body holds exactly one valid key: 0-9, *, #, A-D (a lower
// case letter is taken as upper case), or the RFC 4733 event numbers 10-15
// for * # A B C D. A DTMF INFO that is not ok deserves a 400.
//
// In application/dtmf-relay, field names are compared without case, lines
// may end in CRLF or LF alone, and the last Signal wins. An application/dtmf
// body that holds '=' is read as dtmf-relay, as some phones send it so.
// duration is InfoDTMFDuration unless the body gives a sane one, and is 0
// when ok is false.
func ParseInfoDTMF(contentType string, body []byte) (key rune, duration time.Duration, isDTMF, ok bool) {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct != "application/dtmf-relay" && ct != "application/dtmf" {
		return 0, 0, false, false
	}
	if len(body) > infoDTMFMaxBody {
		return 0, 0, true, false
	}
	text := strings.TrimSpace(string(body))
	if ct == "application/dtmf" && !strings.Contains(text, "=") {
		key, ok = infoKey(text)
		if !ok {
			return 0, 0, true, false
		}
		return key, InfoDTMFDuration, true, true
	}
	var signal string
	duration = InfoDTMFDuration
	for _, line := range strings.Split(text, "\n") {
		name, value, found := strings.Cut(line, "=")
		if !found {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "signal":
			signal = value
		case "duration":
			if ms, err := strconv.Atoi(value); err == nil && ms > 0 && ms <= int(infoDTMFMaxDur/time.Millisecond) {
				duration = time.Duration(ms) * time.Millisecond
			}
		}
	}
	key, ok = infoKey(signal)
	if !ok {
		return 0, 0, true, false
	}
	return key, duration, true, true
}

// infoKey reads one key, written as itself or as its RFC 4733 event number
// from 10 up (0-9 are the same either way).
func infoKey(s string) (rune, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 10 && n <= 15 && len(s) == 2 {
		return rune("*#ABCD"[n-10]), true
	}
	if len(s) != 1 {
		return 0, false
	}
	c := s[0]
	if c >= 'a' && c <= 'd' {
		c -= 'a' - 'A'
	}
	if c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D' {
		return rune(c), true
	}
	return 0, false
}
