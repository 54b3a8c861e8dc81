package dialog

import (
	"testing"
	"time"

	"pbx/media"
)

func TestParseInfoDTMF(t *testing.T) {
	tests := []struct {
		ct, body   string
		key        rune
		dur        time.Duration
		isDTMF, ok bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond, true, true},
		{"Application/DTMF-Relay; charset=x", "signal= #\nduration=250", '#', 250 * time.Millisecond, true, true},
		{"application/dtmf-relay", "Signal=11\r\n", '#', 100 * time.Millisecond, true, true},
		{"application/dtmf-relay", "Signal=10\r\nDuration=-5", '*', 100 * time.Millisecond, true, true},
		{"application/dtmf", "7", '7', 100 * time.Millisecond, true, true},
		{"application/dtmf", "a", 'A', 100 * time.Millisecond, true, true},
		{"application/dtmf-relay", "Signal=x", 0, 0, true, false},
		{"application/dtmf-relay", "Duration=100", 0, 0, true, false},
		{"application/dtmf", "12", 0, 0, true, false},
		{"application/media_control+xml", "<x/>", 0, 0, false, false},
		{"", "Signal=5", 0, 0, false, false},
	}
	for _, tt := range tests {
		d, isDTMF, ok := parseInfoDTMF(tt.ct, []byte(tt.body))
		if isDTMF != tt.isDTMF || ok != tt.ok || ok && (d.Key != tt.key || d.Duration != tt.dur) {
			t.Errorf("%q %q: %c %v %v %v, want %c %v %v %v", tt.ct, tt.body, d.Key, d.Duration, isDTMF, ok, tt.key, tt.dur, tt.isDTMF, tt.ok)
		}
	}
}

func TestParseReferTo(t *testing.T) {
	tests := []struct {
		in      string
		user    string
		callID  string
		toTag   string
		fromTag string
		wantErr bool
	}{
		{in: "<sip:1003@pbx.example>", user: "1003"},
		{in: `"Carol" <sip:1003@10.0.0.1:5060;transport=udp>`, user: "1003"},
		{in: "sip:1003@pbx;user=phone", user: "1003"},
		{in: "<sips:%2B3215551003@pbx>", user: "+3215551003"},
		{in: "<sip:1003@pbx?Replaces=abc%40host%3Bto-tag%3D11%3Bfrom-tag%3D22>", user: "1003", callID: "abc@host", toTag: "11", fromTag: "22"},
		{in: "<sip:1003@pbx?Subject=x&replaces=c1%3bfrom-tag%3dF>", user: "1003", callID: "c1", fromTag: "F"},
		{in: "<tel:1003>", wantErr: true},
		{in: "<sip:pbx.example>", wantErr: true},
		{in: "<sip:1003@pbx", wantErr: true},
		{in: "<sip:1003@pbx?Replaces=%3Bto-tag%3D1>", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		r, err := parseReferTo(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		var callID, toTag, fromTag string
		if r.replaces != nil {
			callID, toTag, fromTag = r.replaces.callID, r.replaces.toTag, r.replaces.fromTag
		}
		if r.user != tt.user || callID != tt.callID || toTag != tt.toTag || fromTag != tt.fromTag {
			t.Errorf("%q: %q %q %q %q, want %q %q %q %q", tt.in, r.user, callID, toTag, fromTag, tt.user, tt.callID, tt.toTag, tt.fromTag)
		}
	}
}

// FuzzInfoDTMF feeds INFO bodies from the wire to the DTMF parser: it
// never panics, and a key it accepts is a DTMF key held a sane time.
func FuzzInfoDTMF(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay", []byte("Signal=\r\n=\r\nDuration=99999999999999999999"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		d, _, ok := parseInfoDTMF(ct, body)
		if ok && (d.Duration <= 0 || d.Duration > 10*time.Second || !media.ValidKey(d.Key)) {
			t.Fatalf("accepted %+v", d)
		}
	})
}

// FuzzReferTo feeds Refer-To values to their parser.
func FuzzReferTo(f *testing.F) {
	f.Add("<sip:1003@pbx?Replaces=abc%40host%3Bto-tag%3D11%3Bfrom-tag%3D22>")
	f.Add(`"x" <sips:%41@h>`)
	f.Add("sip:@")
	f.Fuzz(func(t *testing.T, v string) {
		r, err := parseReferTo(v)
		if err == nil && (r.user == "" || r.replaces != nil && r.replaces.callID == "") {
			t.Fatalf("accepted %q as %+v", v, r)
		}
	})
}
