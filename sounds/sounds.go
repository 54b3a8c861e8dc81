// Package sounds holds the PBX's built-in voice prompts and hold music.
//
// Every file is generated from scratch by generate.sh (speech synthesized
// with espeak-ng, music and tones synthesized with sox) and is dedicated to
// the public domain under CC0 1.0 Universal; see LICENSE and README.md.
//
// All files are 8 kHz, mono, signed 16-bit little-endian PCM WAV with a
// plain 44-byte header. A prompt is named by its path without the ".wav"
// extension, for example "welcome", "digits/7" or "music/default". The
// constants below spell every name so callers never write them by hand, and
// FS is exported so the PBX can layer an operator's prompt directory over
// the built-in set.
package sounds

import (
	"embed"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// FS holds every built-in sound as "<name>.wav".
//
//go:embed *.wav digits/*.wav music/*.wav
var FS embed.FS

// Ext is the file extension of every sound in FS.
const Ext = ".wav"

// Spoken prompts.
const (
	Welcome                = "welcome"
	PleaseHold             = "please-hold"
	YouAreCallerNumber     = "you-are-caller-number"
	EstimatedWait          = "estimated-wait"
	Minutes                = "minutes"
	Minute                 = "minute"
	LessThanOneMinute      = "less-than-one-minute"
	AgentLogin             = "agent-login"
	EnterPassword          = "enter-password"
	LoggedIn               = "logged-in"
	LoggedOut              = "logged-out"
	Paused                 = "paused"
	Unpaused               = "unpaused"
	Invalid                = "invalid"
	Goodbye                = "goodbye"
	ConferenceEnterPIN     = "conference-enter-pin"
	ConferenceJoined       = "conference-joined"
	ConferenceOnlyOne      = "conference-only-one"
	Muted                  = "muted"
	Unmuted                = "unmuted"
	RecordingStarted       = "recording-started"
	RecordingStopped       = "recording-stopped"
	Transfer               = "transfer"
	TransferFailed         = "transfer-failed"
	EchoTest               = "echo-test"
	NoAnswer               = "no-answer"
	Busy                   = "busy"
	AllAgentsBusy          = "all-agents-busy"
	ThankYouForWaiting     = "thank-you-for-waiting"
	YourCallWillBeAnswered = "your-call-will-be-answered"
	// Contact center. QueueCallbackOffer says "press 1": a queue whose
	// callback key is another key needs its own recording of it.
	QueueCallbackOffer     = "queue-callback-offer"
	QueueCallbackConfirmed = "queue-callback-confirmed"
	QueueCallbackIntro     = "queue-callback-intro"
	QueueClosed            = "queue-closed"
	AgentNotLoggedIn       = "agent-not-logged-in"
)

// Beep is a 250 ms 1 kHz tone.
const Beep = "beep"

// Number words and keypad symbols. The numbers 0-19 and the tens 20-90 are
// "digits/<n>"; use Number, Digits or Digit to build those names.
const (
	DigitsPrefix  = "digits/"
	DigitHundred  = "digits/hundred"
	DigitThousand = "digits/thousand"
	DigitMillion  = "digits/million"
	DigitStar     = "digits/star"
	DigitPound    = "digits/pound"
)

// Hold music. Both pieces loop without a click when played end to end.
const (
	// MusicPrefix is the directory of the music-on-hold classes.
	MusicPrefix = "music/"
	// MusicDefault is 64 s of calm chords, bass and plucked arpeggios.
	MusicDefault = "music/default"
	// MusicCalm is 30 s of slow pads and bells.
	MusicCalm = "music/calm"
)

// Open returns the WAV bytes of the named sound, for example Open(Welcome)
// or Open("digits/7"). An unknown name yields an error that wraps
// fs.ErrNotExist.
func Open(name string) ([]byte, error) {
	b, err := FS.ReadFile(name + Ext)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return b, nil
}

// Digit returns the name that speaks one number word: 0-19, or a multiple
// of ten from 20 to 90. It returns "" for any other n.
func Digit(n int) string {
	if n < 0 || n > 90 || (n >= 20 && n%10 != 0) {
		return ""
	}
	return DigitsPrefix + strconv.Itoa(n)
}

// Number returns the prompt names that speak the non-negative integer n in
// (American) English, without "and": 42 is "forty two", 123 is "one
// hundred twenty three", 2005 is "two thousand five". Numbers of a billion
// or more are spoken as a count of millions ("one thousand two hundred
// million" for 1,200,000,000). A negative n yields nil.
func Number(n int) []string {
	if n < 0 {
		return nil
	}
	if n == 0 {
		return []string{Digit(0)}
	}
	return appendNumber(nil, n)
}

// appendNumber appends the names for n > 0.
func appendNumber(out []string, n int) []string {
	if m := n / 1_000_000; m > 0 {
		out = appendNumber(out, m)
		out = append(out, DigitMillion)
		n %= 1_000_000
	}
	if t := n / 1000; t > 0 {
		out = appendBelowThousand(out, t)
		out = append(out, DigitThousand)
		n %= 1000
	}
	return appendBelowThousand(out, n)
}

// appendBelowThousand appends the names for 0 < n < 1000; n == 0 adds
// nothing.
func appendBelowThousand(out []string, n int) []string {
	if h := n / 100; h > 0 {
		out = append(out, Digit(h), DigitHundred)
		n %= 100
	}
	switch {
	case n == 0:
	case n < 20:
		out = append(out, Digit(n))
	default:
		out = append(out, Digit(n/10*10))
		if n%10 != 0 {
			out = append(out, Digit(n%10))
		}
	}
	return out
}

// Digits returns the prompt names that read s character by character:
// '0'-'9' as the digit, '*' as "star" and '#' as "pound". Any other
// character is skipped. It returns nil if s has nothing to say.
func Digits(s string) []string {
	var out []string
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			out = append(out, Digit(int(c-'0')))
		case c == '*':
			out = append(out, DigitStar)
		case c == '#':
			out = append(out, DigitPound)
		}
	}
	return out
}

// Names returns the name of every embedded sound, sorted, for validating
// prompt names in an operator's configuration.
func Names() []string {
	var names []string
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, Ext) {
			names = append(names, strings.TrimSuffix(p, Ext))
		}
		return nil
	})
	if err != nil {
		// Walking an embed.FS cannot fail.
		panic("sounds: " + err.Error())
	}
	sort.Strings(names)
	return names
}
