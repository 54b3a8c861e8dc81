package sip

import (
	"strings"
	"testing"
	"time"
)

func TestParseInfoDTMF(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name       string
		ct, body   string
		key        rune
		dur        time.Duration
		isDTMF, ok bool
	}{
		{"relay", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * ms, true, true},
		{"relay, odd case and blanks", "Application/DTMF-Relay; charset=x", "signal= #\nduration=250", '#', 250 * ms, true, true},
		{"event number 11", "application/dtmf-relay", "Signal=11\r\n", '#', 100 * ms, true, true},
		{"event number 10, negative duration", "application/dtmf-relay", "Signal=10\r\nDuration=-5", '*', 100 * ms, true, true},
		{"event number 12", "application/dtmf-relay", "Signal=12", 'A', 100 * ms, true, true},
		{"event number 15", "application/dtmf-relay", "Signal=15", 'D', 100 * ms, true, true},
		{"duration of 10 s", "application/dtmf-relay", "Signal=1\nDuration=10000", '1', 10 * time.Second, true, true},
		{"duration over 10 s", "application/dtmf-relay", "Signal=1\nDuration=10001", '1', 100 * ms, true, true},
		{"duration that overflows", "application/dtmf-relay", "Signal=1\nDuration=9223372036855", '1', 100 * ms, true, true},
		{"last signal wins", "application/dtmf-relay", "Signal=1\nSignal=2", '2', 100 * ms, true, true},
		{"dtmf", "application/dtmf", "7", '7', 100 * ms, true, true},
		{"dtmf, lower case letter", "application/dtmf", "a", 'A', 100 * ms, true, true},
		{"dtmf written as relay", "application/dtmf", "Signal=9\r\nDuration=200", '9', 200 * ms, true, true},
		{"signal not a key", "application/dtmf-relay", "Signal=x", 0, 0, true, false},
		{"event number 16", "application/dtmf-relay", "Signal=16", 0, 0, true, false},
		{"event number with a leading zero", "application/dtmf-relay", "Signal=011", 0, 0, true, false},
		{"no signal", "application/dtmf-relay", "Duration=100", 0, 0, true, false},
		{"dtmf, event number", "application/dtmf", "12", 'A', 100 * ms, true, true},
		{"two keys", "application/dtmf", "19", 0, 0, true, false},
		{"letter past D", "application/dtmf", "e", 0, 0, true, false},
		{"empty", "application/dtmf", "", 0, 0, true, false},
		{"too large", "application/dtmf-relay", "Signal=1\n" + strings.Repeat(" ", infoDTMFMaxBody), 0, 0, true, false},
		{"other type", "application/media_control+xml", "<x/>", 0, 0, false, false},
		{"no type", "", "Signal=5", 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, dur, isDTMF, ok := ParseInfoDTMF(tt.ct, []byte(tt.body))
			if key != tt.key || dur != tt.dur || isDTMF != tt.isDTMF || ok != tt.ok {
				t.Errorf("ParseInfoDTMF(%q, %q) = %q %v %v %v, want %q %v %v %v",
					tt.ct, tt.body, key, dur, isDTMF, ok, tt.key, tt.dur, tt.isDTMF, tt.ok)
			}
		})
	}
}

// FuzzInfoDTMF feeds INFO bodies from the wire to the DTMF parser: it never
// panics, and a key it accepts is a DTMF key held a sane time.
func FuzzInfoDTMF(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay", []byte("Signal=\r\n=\r\nDuration=99999999999999999999"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		key, dur, isDTMF, ok := ParseInfoDTMF(ct, body)
		if ok && (!isDTMF || dur <= 0 || dur > 10*time.Second || !strings.ContainsRune("0123456789*#ABCD", key)) {
			t.Fatalf("accepted %q %v", key, dur)
		}
		if !ok && (key != 0 || dur != 0) {
			t.Fatalf("refused, yet returned %q %v", key, dur)
		}
	})
}
