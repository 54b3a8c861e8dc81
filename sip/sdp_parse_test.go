package sip

import (
	"net/netip"
	"strings"
	"testing"
)

func sdpBody(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		addr   string
		codecs []string
		dtmf   uint8
		dir    string
	}{
		{"sipp default", sdpBody("v=0", "o=user1 53655765 2353687637 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 6000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"),
			"127.0.0.1:6000", []string{"PCMU"}, 0, "sendrecv"},
		{"phone with dynamic event", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=call", "c=IN IP4 10.0.0.5", "t=0 0", "m=audio 40000 RTP/AVP 8 0 18 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15", "a=ptime:20", "a=sendrecv"),
			"10.0.0.5:40000", []string{"PCMA", "PCMU", "G729"}, 96, "sendrecv"},
		{"media-level connection wins", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=-", "c=IN IP4 10.0.0.5", "t=0 0", "m=audio 4000 RTP/AVP 0 101", "c=IN IP4 192.0.2.7", "a=rtpmap:101 telephone-event/8000"),
			"192.0.2.7:4000", []string{"PCMU"}, 101, "sendrecv"},
		{"hold sendonly", sdpBody("v=0", "o=- 1 2 IN IP4 10.0.0.5", "s=-", "c=IN IP4 10.0.0.5", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=sendonly"),
			"10.0.0.5:4000", []string{"PCMU"}, 0, "sendonly"},
		{"hold session-level inactive", sdpBody("v=0", "o=- 1 2 IN IP4 10.0.0.5", "s=-", "c=IN IP4 10.0.0.5", "t=0 0", "a=inactive", "m=audio 4000 RTP/AVP 0"),
			"10.0.0.5:4000", []string{"PCMU"}, 0, "inactive"},
		{"old-style hold", sdpBody("v=0", "o=- 1 2 IN IP4 0.0.0.0", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			"0.0.0.0:4000", []string{"PCMU"}, 0, "sendonly"},
		{"ipv6", sdpBody("v=0", "o=- 1 1 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0", "m=audio 5004 RTP/AVP 8"),
			"[::1]:5004", []string{"PCMA"}, 0, "sendrecv"},
		{"video first", sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=-", "c=IN IP4 10.0.0.5", "t=0 0", "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 5002 RTP/AVP 0"),
			"10.0.0.5:5002", []string{"PCMU"}, 0, "sendrecv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseSDP(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if d.Addr != netip.MustParseAddrPort(tt.addr) || d.DTMF != tt.dtmf || d.Direction != tt.dir || len(d.Codecs) != len(tt.codecs) {
				t.Fatalf("got %+v", d)
			}
			for i, c := range tt.codecs {
				if d.Codecs[i].Name != c {
					t.Fatalf("codecs %+v, want %v", d.Codecs, tt.codecs)
				}
			}
		})
	}
}

func TestParseSDPRefusesGarbage(t *testing.T) {
	for _, body := range []string{"", "hello", "v=0\r\n", "v=0\r\nm=audio x RTP/AVP 0\r\n", "v=0\r\nc=IN IP4 nope\r\nm=audio 1 RTP/AVP 0\r\n",
		"v=0\r\nm=audio 4000 RTP/AVP 0\r\n" /* no connection */, "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 300\r\n"} {
		if _, err := ParseSDP([]byte(body)); err == nil {
			t.Errorf("%q parsed", body)
		}
	}
}

func TestNegotiateAndAnswerDirection(t *testing.T) {
	offer := SessionDesc{Codecs: []SDPCodec{{"G729", 18, 8000}, {"PCMA", 8, 8000}, {"PCMU", 0, 8000}}, DTMF: 101}
	c, dtmf, err := Negotiate(offer, []string{"PCMU", "PCMA"})
	if err != nil || c.Name != "PCMA" || dtmf != 101 {
		t.Fatalf("negotiated %+v %d %v: the offerer's order wins", c, dtmf, err)
	}
	if _, _, err := Negotiate(SessionDesc{Codecs: []SDPCodec{{"G729", 18, 8000}}}, []string{"PCMU"}); err == nil {
		t.Fatal("no common codec, no error")
	}
	for in, want := range map[string]string{"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"} {
		if got := AnswerDirection(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestBuildSDPRoundTrip(t *testing.T) {
	o := SDPOptions{SessionID: 7, Version: 3, Addr: netip.MustParseAddrPort("192.0.2.1:20000"),
		Codecs: []SDPCodec{{"PCMU", 0, 8000}, {"PCMA", 8, 8000}}, DTMF: 101, Direction: "sendonly"}
	d, err := ParseSDP(BuildSDP(o))
	if err != nil {
		t.Fatal(err)
	}
	if d.Addr != o.Addr || len(d.Codecs) != 2 || d.DTMF != 101 || d.Direction != "sendonly" || d.Ptime != 20 {
		t.Fatalf("round trip: %+v", d)
	}
}

// FuzzSDP: ParseSDP never panics, and what it accepts survives a rebuild.
func FuzzSDP(f *testing.F) {
	f.Add(sdpBody("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=-", "c=IN IP4 10.0.0.5", "t=0 0", "m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000"))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 0\r\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseSDP(body)
		if err != nil {
			return
		}
		again, err := ParseSDP(BuildSDP(SDPOptions{Addr: d.Addr, Codecs: d.Codecs, DTMF: d.DTMF, Direction: d.Direction}))
		if err != nil {
			t.Fatalf("rebuilt SDP does not parse: %v", err)
		}
		if again.Addr.Port() != d.Addr.Port() || len(again.Codecs) != len(d.Codecs) {
			t.Fatalf("rebuild changed %+v into %+v", d, again)
		}
	})
}
