package sip

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdpTestLines joins SDP lines with CRLF, as phones send them.
func sdpTestLines(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// Bodies as common phones and tools send them (addresses changed to
// documentation ranges where they were private).
var (
	sdpTestSIPpUAC = sdpTestLines(
		"v=0",
		"o=user1 53655765 2353687637 IN IP4 127.0.0.1",
		"s=-",
		"c=IN IP4 127.0.0.1",
		"t=0 0",
		"m=audio 6000 RTP/AVP 0",
		"a=rtpmap:0 PCMU/8000")
	sdpTestSIPpPcap = sdpTestLines(
		"v=0",
		"o=user1 53655765 2353687637 IN IP4 127.0.0.1",
		"s=-",
		"c=IN IP4 127.0.0.1",
		"t=0 0",
		"m=audio 6002 RTP/AVP 8 101",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-11,16")
	sdpTestLinphone = sdpTestLines(
		"v=0",
		"o=alice 3156 2393 IN IP4 192.0.2.20",
		"s=Talk",
		"c=IN IP4 192.0.2.20",
		"t=0 0",
		"a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
		"a=record:off",
		"m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100",
		"a=rtpmap:96 opus/48000/2",
		"a=fmtp:96 useinbandfec=1",
		"a=rtpmap:97 speex/16000",
		"a=fmtp:97 vbr=on",
		"a=rtpmap:98 speex/8000",
		"a=fmtp:98 vbr=on",
		"a=fmtp:18 annexb=yes",
		"a=rtpmap:101 telephone-event/48000",
		"a=rtpmap:99 telephone-event/16000",
		"a=rtpmap:100 telephone-event/8000",
		"a=rtcp:7079",
		"a=rtcp-fb:* trr-int 1000",
		"a=rtcp-fb:* ccm tmmbr",
		"m=video 9078 RTP/AVP 96",
		"a=rtpmap:96 VP8/90000",
		"a=rtcp-fb:* nack pli")
	sdpTestZoiper = strings.Join([]string{
		"v=0",
		"o=Z 0 2 IN IP4 198.51.100.50",
		"s=Z",
		"c=IN IP4 198.51.100.50",
		"t=0 0",
		"m=audio 52014 RTP/AVP 106 9 98 101 0 8 3",
		"a=rtpmap:106 opus/48000/2",
		"a=fmtp:106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1",
		"a=rtpmap:98 telephone-event/48000",
		"a=fmtp:98 0-16",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=sendrecv",
		"a=rtcp-mux",
	}, "\n") + "\n" // LF only
	sdpTestYealink = sdpTestLines(
		"v=0",
		"o=- 20010 20010 IN IP4 203.0.113.20",
		"s=SDP data",
		"c=IN IP4 203.0.113.20",
		"t=0 0",
		"m=audio 11796 RTP/AVP 0 8 18 9 101",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:18 G729/8000",
		"a=fmtp:18 annexb=no",
		"a=rtpmap:9 G722/8000",
		"a=fmtp:101 0-15",
		"a=rtpmap:101 telephone-event/8000",
		"a=ptime:20",
		"a=sendrecv")
)

func TestSDPParse(t *testing.T) {
	pcmu, pcma, g729, g722 := SDPCodec{"PCMU", 0, 8000}, SDPCodec{"PCMA", 8, 8000}, SDPCodec{"G729", 18, 8000}, SDPCodec{"G722", 9, 8000}
	tests := []struct {
		name string
		body string
		want SessionDesc
	}{
		{"SIPp uac", sdpTestSIPpUAC,
			SessionDesc{netip.MustParseAddrPort("127.0.0.1:6000"), []SDPCodec{pcmu}, 0, "sendrecv", 0, nil}},
		{"SIPp uac_pcap", sdpTestSIPpPcap,
			SessionDesc{netip.MustParseAddrPort("127.0.0.1:6002"), []SDPCodec{pcma}, 101, "sendrecv", 0, nil}},
		{"Linphone: opus first, telephone-event at three rates, video after", sdpTestLinphone,
			SessionDesc{netip.MustParseAddrPort("192.0.2.20:7078"),
				[]SDPCodec{{"OPUS", 96, 48000}, {"SPEEX", 97, 16000}, {"SPEEX", 98, 8000}, pcmu, pcma, g729}, 100, "sendrecv", 0, nil}},
		{"Zoiper: LF line ends, telephone-event 48k and 8k", sdpTestZoiper,
			SessionDesc{netip.MustParseAddrPort("198.51.100.50:52014"),
				[]SDPCodec{{"OPUS", 106, 48000}, g722, pcmu, pcma, {"GSM", 3, 8000}}, 101, "sendrecv", 0, nil}},
		{"Yealink", sdpTestYealink,
			SessionDesc{netip.MustParseAddrPort("203.0.113.20:11796"), []SDPCodec{pcmu, pcma, g729, g722}, 101, "sendrecv", 20, nil}},
		{"Yealink hold: sendonly", strings.Replace(sdpTestYealink, "a=sendrecv", "a=sendonly", 1),
			SessionDesc{netip.MustParseAddrPort("203.0.113.20:11796"), []SDPCodec{pcmu, pcma, g729, g722}, 101, "sendonly", 20, nil}},
		{"hold: inactive at media level beats session level", sdpTestLines(
			"v=0", "o=- 1 2 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0", "a=sendonly",
			"m=audio 4000 RTP/AVP 0", "a=inactive"),
			SessionDesc{netip.MustParseAddrPort("192.0.2.5:4000"), []SDPCodec{pcmu}, 0, "inactive", 0, nil}},
		{"hold: session-level direction", sdpTestLines(
			"v=0", "o=- 1 2 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0", "a=recvonly",
			"m=audio 4000 RTP/AVP 8"),
			SessionDesc{netip.MustParseAddrPort("192.0.2.5:4000"), []SDPCodec{pcma}, 0, "recvonly", 0, nil}},
		{"hold: c=0.0.0.0 reads as sendonly", sdpTestLines(
			"v=0", "o=- 1 2 IN IP4 192.0.2.5", "s=-", "c=IN IP4 0.0.0.0", "t=0 0",
			"m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000"),
			SessionDesc{netip.MustParseAddrPort("0.0.0.0:4000"), []SDPCodec{pcmu}, 101, "sendonly", 0, nil}},
		{"hold: c=0.0.0.0 with recvonly reads as inactive", sdpTestLines(
			"v=0", "o=- 1 2 IN IP4 192.0.2.5", "s=-", "c=IN IP4 0.0.0.0", "t=0 0",
			"m=audio 4000 RTP/AVP 0", "a=recvonly"),
			SessionDesc{netip.MustParseAddrPort("0.0.0.0:4000"), []SDPCodec{pcmu}, 0, "inactive", 0, nil}},
		{"dynamic telephone-event 96", sdpTestLines(
			"v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0",
			"m=audio 4000 RTP/AVP 8 0 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"),
			SessionDesc{netip.MustParseAddrPort("192.0.2.5:4000"), []SDPCodec{pcma, pcmu}, 96, "sendrecv", 0, nil}},
		{"media-level c= wins", sdpTestLines(
			"v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0",
			"m=audio 4000 RTP/AVP 0", "c=IN IP4 198.51.100.7"),
			SessionDesc{netip.MustParseAddrPort("198.51.100.7:4000"), []SDPCodec{pcmu}, 0, "sendrecv", 0, nil}},
		{"IPv6", sdpTestLines(
			"v=0", "o=- 1 1 IN IP6 2001:db8::10", "s=-", "c=IN IP6 2001:db8::10", "t=0 0",
			"m=audio 5004 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:30"),
			SessionDesc{netip.MustParseAddrPort("[2001:db8::10]:5004"), []SDPCodec{pcma}, 101, "sendrecv", 30, nil}},
		{"refused stream: port 0", sdpTestLines(
			"v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0", "m=audio 0 RTP/AVP 0"),
			SessionDesc{netip.MustParseAddrPort("192.0.2.5:0"), []SDPCodec{pcmu}, 0, "sendrecv", 0, nil}},
		{"SRTP stream skipped for the plain one", sdpTestLines(
			"v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0",
			"m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
			"m=audio 4002 RTP/AVP 8"),
			SessionDesc{netip.MustParseAddrPort("192.0.2.5:4002"), []SDPCodec{pcma}, 0, "sendrecv", 0, nil}},
		{"lines out of order, trailing blanks, multicast TTL", sdpTestLines(
			"v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "t=0 0", "c=IN IP4 233.252.0.1/127",
			"m=audio 4000 RTP/AVP 0", "a=sendonly  ", "b=AS:64"),
			SessionDesc{netip.MustParseAddrPort("233.252.0.1:4000"), []SDPCodec{pcmu}, 0, "sendonly", 0, nil}},
		{"dynamic type without rtpmap is left out", sdpTestLines(
			"v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0",
			"m=audio 4000 RTP/AVP 97 0 0", "a=rtpmap:0 pcmu/8000"),
			SessionDesc{netip.MustParseAddrPort("192.0.2.5:4000"), []SDPCodec{pcmu}, 0, "sendrecv", 0, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDP([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got.Streams = nil // TestSDPAnswerMirrorsStreams covers them
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSDPParseRefuses(t *testing.T) {
	session := sdpTestLines("v=0", "o=- 1 1 IN IP4 192.0.2.5", "s=-", "c=IN IP4 192.0.2.5", "t=0 0")
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"blank lines", "\r\n\r\n"},
		{"not SDP", "hello world"},
		{"binary", "\x00\x01\x02v=0"},
		{"version only", "v=0\r\n"},
		{"no origin", "v=0\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"},
		{"no time", "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nm=audio 4000 RTP/AVP 0\r\n"},
		{"no media", session},
		{"video only", session + "m=video 4000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"},
		{"SRTP only", session + "m=audio 4000 RTP/SAVP 0\r\n"},
		{"no connection", "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"},
		{"hostname connection", strings.Replace(session, "c=IN IP4 192.0.2.5", "c=IN IP4 media.example.com", 1) + "m=audio 4000 RTP/AVP 0\r\n"},
		{"IP4 with an IPv6 address", strings.Replace(session, "c=IN IP4 192.0.2.5", "c=IN IP4 2001:db8::1", 1) + "m=audio 4000 RTP/AVP 0\r\n"},
		{"port out of range", session + "m=audio 70000 RTP/AVP 0\r\n"},
		{"port not a number", session + "m=audio x RTP/AVP 0\r\n"},
		{"payload type 300", session + "m=audio 4000 RTP/AVP 300\r\n"},
		{"payload type 200", session + "m=audio 4000 RTP/AVP 200\r\n"},
		{"payload type not a number", session + "m=audio 4000 RTP/AVP PCMU\r\n"},
		{"rtpmap without encoding", session + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96\r\n"},
		{"rtpmap without rate", session + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 telephone-event\r\n"},
		{"rtpmap bad rate", session + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/fast\r\n"},
		{"carriage return inside a line", session + "m=audio 4000 RTP/AVP 0\ra=sendonly\r\n"},
		{"two origins", strings.Replace(session, "s=-", "o=- 2 2 IN IP4 192.0.2.6\r\ns=-", 1) + "m=audio 4000 RTP/AVP 0\r\n"},
		{"too large", session + "m=audio 4000 RTP/AVP 0\r\n" + strings.Repeat("a=x-padding:0123456789\r\n", 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d, err := ParseSDP([]byte(tt.body)); err == nil {
				t.Fatalf("parsed into %+v", d)
			}
		})
	}
	if _, err := ParseSDP([]byte(session + "m=video 4000 RTP/AVP 96\r\n")); !errors.Is(err, ErrSDPNoAudio) {
		t.Fatalf("video only: %v, want ErrSDPNoAudio", err)
	}
}

func TestSDPAnswerDirection(t *testing.T) {
	for offer, want := range map[string]string{
		"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "": "sendrecv", "bogus": "sendrecv",
	} {
		if got := AnswerDirection(offer); got != want {
			t.Errorf("AnswerDirection(%q) = %q, want %q", offer, got, want)
		}
	}
}

func TestSDPBuild(t *testing.T) {
	got := BuildSDP(SDPOptions{
		SessionID: 42, Version: 7, Addr: netip.MustParseAddrPort("192.0.2.1:20000"),
		Codecs: []SDPCodec{{"PCMU", 0, 8000}, {"PCMA", 8, 8000}}, DTMF: 101, Direction: "sendonly", UserAgent: "pbx",
	})
	want := sdpTestLines(
		"v=0",
		"o=pbx 42 7 IN IP4 192.0.2.1",
		"s=pbx",
		"c=IN IP4 192.0.2.1",
		"t=0 0",
		"m=audio 20000 RTP/AVP 0 8 101",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-16",
		"a=ptime:20",
		"a=sendonly")
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	// No telephone-event, IPv6, odd user agent, default direction.
	got = BuildSDP(SDPOptions{SessionID: 1, Version: 2, Addr: netip.MustParseAddrPort("[2001:db8::1]:30000"),
		Codecs: []SDPCodec{{"PCMA", 8, 0}}, UserAgent: "my pbx\r\n1.0"})
	for _, line := range []string{"o=my-pbx--1.0 1 2 IN IP6 2001:db8::1\r\n", "c=IN IP6 2001:db8::1\r\n",
		"m=audio 30000 RTP/AVP 8\r\n", "a=rtpmap:8 PCMA/8000\r\n", "a=sendrecv\r\n"} {
		if !bytes.Contains(got, []byte(line)) {
			t.Errorf("missing %q in\n%s", line, got)
		}
	}
	if bytes.Contains(got, []byte("telephone-event")) {
		t.Errorf("telephone-event without DTMF:\n%s", got)
	}

	// An IPv4-mapped address is written as IPv4; no address as 0.0.0.0.
	if got := BuildSDP(SDPOptions{Addr: netip.MustParseAddrPort("[::ffff:192.0.2.9]:4000")}); !bytes.Contains(got, []byte("c=IN IP4 192.0.2.9\r\n")) {
		t.Errorf("mapped address:\n%s", got)
	}
	if got := BuildSDP(SDPOptions{}); !bytes.Contains(got, []byte("c=IN IP4 0.0.0.0\r\n")) || !bytes.Contains(got, []byte("o=- 0 0 IN IP4 0.0.0.0\r\n")) {
		t.Errorf("zero options:\n%s", got)
	}
}

func TestSDPBuildParseRoundTrip(t *testing.T) {
	tests := []SDPOptions{
		{SessionID: 7, Version: 3, Addr: netip.MustParseAddrPort("192.0.2.1:20000"),
			Codecs: []SDPCodec{{"PCMU", 0, 8000}, {"PCMA", 8, 8000}}, DTMF: 101, Direction: "sendrecv", UserAgent: "pbx"},
		{SessionID: 7, Version: 4, Addr: netip.MustParseAddrPort("192.0.2.1:20000"),
			Codecs: []SDPCodec{{"PCMA", 8, 8000}}, DTMF: 96, Direction: "sendonly"},
		{Addr: netip.MustParseAddrPort("[2001:db8::1]:30000"), Codecs: []SDPCodec{{"PCMU", 0, 8000}}, Direction: "inactive"},
		{Addr: netip.MustParseAddrPort("192.0.2.1:20000"), Codecs: []SDPCodec{{"G722", 9, 8000}, {"OPUS", 111, 48000}}, Direction: "recvonly"},
		{Addr: netip.MustParseAddrPort("192.0.2.1:0"), Codecs: []SDPCodec{{"PCMU", 0, 8000}}, Direction: "sendrecv"},
	}
	for _, o := range tests {
		d, err := ParseSDP(BuildSDP(o))
		if err != nil {
			t.Fatalf("%+v: %v\n%s", o, err, BuildSDP(o))
		}
		want := SessionDesc{Addr: o.Addr, Codecs: o.Codecs, DTMF: o.DTMF, Direction: o.Direction, Ptime: 20}
		d.Streams = nil
		if !reflect.DeepEqual(d, want) {
			t.Errorf("got  %+v\nwant %+v", d, want)
		}
	}
}

// FuzzSDP: ParseSDP never panics, and whatever it accepts, written
// again by BuildSDP, parses back to the same description. Its seeds are the
// bodies under testdata/fuzz/FuzzSDP.
func FuzzSDP(f *testing.F) {
	for _, body := range []string{sdpTestSIPpUAC, sdpTestSIPpPcap, sdpTestLinphone, sdpTestZoiper, sdpTestYealink} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseSDP(body)
		if err != nil {
			return
		}
		if d.Direction != "sendrecv" && d.Direction != "sendonly" && d.Direction != "recvonly" && d.Direction != "inactive" {
			t.Fatalf("direction %q", d.Direction)
		}
		out := BuildSDP(SDPOptions{SessionID: 1, Version: 2, Addr: d.Addr, Codecs: d.Codecs, DTMF: d.DTMF, Direction: d.Direction, UserAgent: "fuzz"})
		again, err := ParseSDP(out)
		if err != nil {
			t.Fatalf("rebuilt SDP does not parse: %v\n%s", err, out)
		}
		again.Ptime = d.Ptime
		again.Streams = d.Streams // a rebuilt offer has one stream
		if len(d.Codecs) == 0 {
			again.Codecs = d.Codecs // nil and empty alike
		}
		if !reflect.DeepEqual(again, d) {
			t.Fatalf("rebuild changed\n%+v\ninto\n%+v\n%s", d, again, out)
		}
	})
}

// An answer to an audio and video offer keeps both m-lines, in order, with
// the video refused (RFC 3264 §6).
func TestSDPAnswerMirrorsStreams(t *testing.T) {
	offer, err := ParseSDP([]byte(sdpTestLinphone))
	if err != nil {
		t.Fatal(err)
	}
	if len(offer.Streams) != 2 || !offer.Streams[0].Anchored || offer.Streams[1].Media != "video" {
		t.Fatalf("streams: %+v", offer.Streams)
	}
	answer := string(BuildSDP(SDPOptions{Addr: netip.MustParseAddrPort("192.0.2.1:20000"), Codecs: []SDPCodec{{"PCMU", 0, 8000}}, Streams: offer.Streams}))
	audio, video := strings.Index(answer, "m=audio 20000 "), strings.Index(answer, "m=video 0 RTP/AVP ")
	if audio < 0 || video < audio || strings.Count(answer, "m=") != 2 {
		t.Fatalf("answer:\n%s", answer)
	}
	back, err := ParseSDP([]byte(answer))
	if err != nil || back.Addr.Port() != 20000 {
		t.Fatalf("answer does not parse back: %v %+v", err, back)
	}
	// Video first: the refused line comes first in the answer too.
	videoFirst := SDPOptions{Addr: netip.MustParseAddrPort("192.0.2.1:20000"), Codecs: []SDPCodec{{"PCMU", 0, 8000}},
		Streams: []SDPStream{{Media: "video", Proto: "RTP/AVP", Formats: "96"}, {Media: "audio", Proto: "RTP/AVP", Formats: "0", Anchored: true}}}
	if a := string(BuildSDP(videoFirst)); strings.Index(a, "m=video 0") > strings.Index(a, "m=audio") || strings.Count(a, "m=") != 2 {
		t.Fatalf("video-first answer:\n%s", a)
	}
}

// BenchmarkParseSDP is the SDP read on every INVITE and re-INVITE.
func BenchmarkParseSDP(b *testing.B) {
	body := []byte(sdpTestYealink)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSDP(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildSDP is the PBX's own offer or answer.
func BenchmarkBuildSDP(b *testing.B) {
	o := SDPOptions{SessionID: 1, Version: 2, Addr: netip.MustParseAddrPort("192.0.2.1:20000"),
		Codecs: []SDPCodec{{"PCMU", 0, 8000}, {"PCMA", 8, 8000}}, DTMF: 101, Direction: "sendrecv"}
	b.ReportAllocs()
	for b.Loop() {
		BuildSDP(o)
	}
}
