package sip

import (
	"strings"
	"testing"
)

func TestParseReferTo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ReferTo
		wantErr bool
	}{
		{name: "blind", in: "<sip:1003@pbx.example>", want: ReferTo{User: "1003", Host: "pbx.example"}},
		{name: "display name and params", in: `"Carol" <sip:1003@10.0.0.1:5060;transport=udp>`, want: ReferTo{User: "1003", Host: "10.0.0.1"}},
		{name: "bare URI with header params", in: "sip:1003@pbx;user=phone", want: ReferTo{User: "1003", Host: "pbx"}},
		{name: "escaped plus, sips", in: "<sips:%2B3215551003@pbx>", want: ReferTo{User: "+3215551003", Host: "pbx"}},
		{name: "scheme in capitals", in: "<SIP:1003@PBX>", want: ReferTo{User: "1003", Host: "PBX"}},
		{name: "unquoted display name", in: "Carol <sip:1003@pbx>", want: ReferTo{User: "1003", Host: "pbx"}},
		{name: "quoted display name holding <", in: `"a <b> \"c\"" <sip:1003@pbx>`, want: ReferTo{User: "1003", Host: "pbx"}},
		{name: "password dropped", in: "<sip:1003:secret@pbx>", want: ReferTo{User: "1003", Host: "pbx"}},
		{name: "subscriber params dropped", in: "<sip:+3215551003;phone-context=example.com@pbx>", want: ReferTo{User: "+3215551003", Host: "pbx"}},
		{name: "IPv6 host", in: "<sip:1003@[2001:db8::1]:5060>", want: ReferTo{User: "1003", Host: "2001:db8::1"}},
		{name: "blanks inside brackets", in: "< sip:1003@pbx >", want: ReferTo{User: "1003", Host: "pbx"}},
		{
			name: "replaces",
			in:   "<sip:1003@pbx?Replaces=abc%40host%3Bto-tag%3D11%3Bfrom-tag%3D22>",
			want: ReferTo{User: "1003", Host: "pbx", Replaces: &Replaces{CallID: "abc@host", ToTag: "11", FromTag: "22"}},
		},
		{
			name: "replaces among other headers, lower case escapes",
			in:   "<sip:1003@pbx?Subject=x&replaces=c1%3bfrom-tag%3dF>",
			want: ReferTo{User: "1003", Host: "pbx", Replaces: &Replaces{CallID: "c1", FromTag: "F"}},
		},
		{
			name: "replaces left unescaped, early-only",
			in:   "<sip:1003@pbx?Replaces=c1@h;to-tag=a;from-tag=b;early-only>",
			want: ReferTo{User: "1003", Host: "pbx", Replaces: &Replaces{CallID: "c1@h", ToTag: "a", FromTag: "b", EarlyOnly: true}},
		},
		{
			name: "plus in a Call-ID stays a plus",
			in:   "<sip:1003@pbx?Replaces=a+b%3Bto-tag%3D1%3Bfrom-tag%3D2>",
			want: ReferTo{User: "1003", Host: "pbx", Replaces: &Replaces{CallID: "a+b", ToTag: "1", FromTag: "2"}},
		},
		{name: "tel URI", in: "<tel:1003>", wantErr: true},
		{name: "no user", in: "<sip:pbx.example>", wantErr: true},
		{name: "empty user", in: "<sip:@pbx>", wantErr: true},
		{name: "no host", in: "<sip:1003@>", wantErr: true},
		{name: "bad host", in: "<sip:1003@pb x>", wantErr: true},
		{name: "bad IPv6 host", in: "<sip:1003@[zz]>", wantErr: true},
		{name: "unclosed", in: "<sip:1003@pbx", wantErr: true},
		{name: "unclosed quote", in: `"Carol <sip:1003@pbx>`, wantErr: true},
		{name: "quoted name, bare URI", in: `"Carol" sip:1003@pbx`, wantErr: true},
		{name: "replaces without Call-ID", in: "<sip:1003@pbx?Replaces=%3Bto-tag%3D1>", wantErr: true},
		{name: "replaces twice", in: "<sip:1003@pbx?Replaces=a&Replaces=b>", wantErr: true},
		{name: "bad escape in replaces", in: "<sip:1003@pbx?Replaces=a%zz>", wantErr: true},
		{name: "bad escape in user", in: "<sip:10%zz@pbx>", wantErr: true},
		{name: "CRLF in user", in: "<sip:10%0d%0aX:y@pbx>", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "too long", in: "<sip:" + strings.Repeat("1", referToMax) + "@pbx>", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseReferTo(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseReferTo(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r.User != tt.want.User || r.Host != tt.want.Host {
				t.Errorf("ParseReferTo(%q) = %q@%q, want %q@%q", tt.in, r.User, r.Host, tt.want.User, tt.want.Host)
			}
			switch {
			case (r.Replaces == nil) != (tt.want.Replaces == nil):
				t.Errorf("ParseReferTo(%q) Replaces %+v, want %+v", tt.in, r.Replaces, tt.want.Replaces)
			case r.Replaces != nil && *r.Replaces != *tt.want.Replaces:
				t.Errorf("ParseReferTo(%q) Replaces %+v, want %+v", tt.in, *r.Replaces, *tt.want.Replaces)
			}
		})
	}
}

func TestParseReplaces(t *testing.T) {
	tests := []struct {
		in      string
		want    Replaces
		wantErr bool
	}{
		{in: "425928@bobster.example.org;to-tag=7743;from-tag=6472", want: Replaces{CallID: "425928@bobster.example.org", ToTag: "7743", FromTag: "6472"}},
		{in: " c1 ; FROM-TAG = f ; To-Tag=t ; Early-Only ; x=y", want: Replaces{CallID: "c1", ToTag: "t", FromTag: "f", EarlyOnly: true}},
		{in: "c1", want: Replaces{CallID: "c1"}},
		{in: "", wantErr: true},
		{in: ";to-tag=1", wantErr: true},
		{in: "a b;to-tag=1", wantErr: true},
		{in: "c1;to-tag=a\x00", wantErr: true},
		{in: strings.Repeat("c", referToMax+1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseReplaces(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseReplaces(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseReplaces(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// FuzzReferTo feeds Refer-To values from the wire to their parser: it never
// panics, and what it accepts names a user and a host, free of control
// characters, and a Replaces with a Call-ID.
func FuzzReferTo(f *testing.F) {
	f.Add("<sip:1003@pbx?Replaces=abc%40host%3Bto-tag%3D11%3Bfrom-tag%3D22>")
	f.Add(`"x" <sips:%41@h>`)
	f.Add("sip:@")
	f.Fuzz(func(t *testing.T, v string) {
		r, err := ParseReferTo(v)
		if err != nil {
			return
		}
		if r.User == "" || r.Host == "" || hasControl(r.User) || hasControl(r.Host) {
			t.Fatalf("accepted %q as %+v", v, r)
		}
		if rp := r.Replaces; rp != nil && (rp.CallID == "" || hasControl(rp.CallID+rp.ToTag+rp.FromTag)) {
			t.Fatalf("accepted %q with Replaces %+v", v, *rp)
		}
	})
}

// FuzzReplaces feeds INVITE Replaces values to their parser.
func FuzzReplaces(f *testing.F) {
	f.Add("425928@bobster.example.org;to-tag=7743;from-tag=6472")
	f.Add("c1;early-only;to-tag")
	f.Add(";;=")
	f.Fuzz(func(t *testing.T, v string) {
		rp, err := ParseReplaces(v)
		if err == nil && (rp.CallID == "" || hasControl(rp.CallID+rp.ToTag+rp.FromTag)) {
			t.Fatalf("accepted %q as %+v", v, rp)
		}
	})
}
