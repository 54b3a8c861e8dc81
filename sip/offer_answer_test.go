package sip

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

var (
	oaPCMU = SDPCodec{"PCMU", 0, 8000}
	oaPCMA = SDPCodec{"PCMA", 8, 8000}
	oaG729 = SDPCodec{"G729", 18, 8000}
	oaOpus = SDPCodec{"OPUS", 96, 48000}
	oaG722 = SDPCodec{"G722", 9, 8000}
)

func TestAnswerOffer(t *testing.T) {
	audio := []SDPStream{{Media: "audio", Proto: "RTP/AVP", Formats: "0 8 101", Anchored: true}}
	offer := func(dir string, codecs ...SDPCodec) SessionDesc {
		return SessionDesc{Codecs: codecs, DTMF: 101, Direction: dir, Streams: audio}
	}
	both := []string{"PCMU", "PCMA"}
	tests := []struct {
		name      string
		offer     SessionDesc
		supported []string
		prefer    string
		want      Answer
		wantErr   error
	}{
		{name: "first of the offer", offer: offer("sendrecv", oaPCMU, oaPCMA), supported: both,
			want: Answer{Codec: oaPCMU, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "offer's order beats the PBX's", offer: offer("sendrecv", oaPCMA, oaPCMU), supported: both,
			want: Answer{Codec: oaPCMA, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "prefer the other leg's codec", offer: offer("sendrecv", oaPCMU, oaPCMA), supported: both, prefer: "PCMA",
			want: Answer{Codec: oaPCMA, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "prefer without case", offer: offer("sendrecv", oaPCMU, oaPCMA), supported: []string{"pcmu", "pcma"}, prefer: "pcma",
			want: Answer{Codec: oaPCMA, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "preferred codec not offered", offer: offer("sendrecv", oaG729, oaPCMU), supported: both, prefer: "PCMA",
			want: Answer{Codec: oaPCMU, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "preferred codec not supported", offer: offer("sendrecv", oaG729, oaPCMU), supported: both, prefer: "G729",
			want: Answer{Codec: oaPCMU, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "unsupported codecs skipped", offer: offer("sendrecv", oaOpus, oaG729, oaPCMA), supported: both,
			want: Answer{Codec: oaPCMA, DTMF: 101, Direction: "sendrecv", Streams: audio}},
		{name: "hold", offer: offer("sendonly", oaPCMU), supported: both,
			want: Answer{Codec: oaPCMU, DTMF: 101, Direction: "recvonly", Streams: audio}},
		{name: "receive only", offer: offer("recvonly", oaPCMU), supported: both,
			want: Answer{Codec: oaPCMU, DTMF: 101, Direction: "sendonly", Streams: audio}},
		{name: "inactive", offer: offer("inactive", oaPCMU), supported: both,
			want: Answer{Codec: oaPCMU, DTMF: 101, Direction: "inactive", Streams: audio}},
		{name: "no DTMF offered", offer: SessionDesc{Codecs: []SDPCodec{oaPCMU}, Direction: "sendrecv"}, supported: both,
			want: Answer{Codec: oaPCMU, Direction: "sendrecv"}},
		{name: "nothing in common", offer: offer("sendrecv", oaG729, oaOpus), supported: both, prefer: "G729", wantErr: ErrSDPNoCommonCodec},
		{name: "no codecs at all", offer: offer("sendrecv"), supported: both, wantErr: ErrSDPNoCommonCodec},
		{name: "nothing supported", offer: offer("sendrecv", oaPCMU), wantErr: ErrSDPNoCommonCodec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AnswerOffer(tt.offer, tt.supported, tt.prefer)
			if !errors.Is(err, tt.wantErr) || err != nil && tt.wantErr == nil {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestAnswerOfferBuilds answers real offers and reads the answer back: one
// codec, the offer's DTMF type, the mirrored direction, and every m-line of
// the offer with only the anchored audio open.
func TestAnswerOfferBuilds(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		codec     SDPCodec
		dtmf      uint8
		direction string
		streams   int
	}{
		{"SIPp", sdpTestSIPpUAC, oaPCMU, 0, "sendrecv", 1},
		{"SIPp with DTMF", sdpTestSIPpPcap, oaPCMA, 101, "sendrecv", 1},
		{"Linphone with video", sdpTestLinphone, oaPCMU, 100, "sendrecv", 2},
		{"Yealink", sdpTestYealink, oaPCMU, 101, "sendrecv", 1},
		{"put on hold", sdpTestSIPpPcap + "a=sendonly\r\n", oaPCMA, 101, "recvonly", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer, err := ParseSDP([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			a, err := AnswerOffer(offer, []string{"PCMU", "PCMA"}, "")
			if err != nil {
				t.Fatal(err)
			}
			if a.Codec != tt.codec || a.DTMF != tt.dtmf || a.Direction != tt.direction {
				t.Fatalf("answer %+v, want %v dtmf %d %s", a, tt.codec, tt.dtmf, tt.direction)
			}
			addr := netip.MustParseAddrPort("192.0.2.1:20000")
			body := BuildSDP(a.Options(SDPOptions{SessionID: 7, Version: 1, Addr: addr, UserAgent: "pbx"}))
			back, err := ParseSDP(body)
			if err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, body)
			}
			if !reflect.DeepEqual(back.Codecs, []SDPCodec{tt.codec}) || back.DTMF != tt.dtmf || back.Direction != tt.direction || back.Addr != addr {
				t.Errorf("answer reads as %+v\n%s", back, body)
			}
			if len(back.Streams) != tt.streams || len(offer.Streams) != tt.streams {
				t.Errorf("answer has %d m-lines, offer %d, want %d\n%s", len(back.Streams), len(offer.Streams), tt.streams, body)
			}
		})
	}
}

func TestAnswerOptionsKeepsBase(t *testing.T) {
	a := Answer{Codec: oaPCMA, DTMF: 101, Direction: "recvonly", Streams: []SDPStream{{Media: "audio", Anchored: true}}}
	base := SDPOptions{SessionID: 1, Version: 2, Addr: netip.MustParseAddrPort("192.0.2.1:4000"), UserAgent: "pbx",
		Codecs: []SDPCodec{oaPCMU}, Direction: "inactive"}
	want := SDPOptions{SessionID: 1, Version: 2, Addr: base.Addr, UserAgent: "pbx",
		Codecs: []SDPCodec{oaPCMA}, DTMF: 101, Direction: "recvonly", Streams: a.Streams}
	if got := a.Options(base); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestOfferCodecs(t *testing.T) {
	tests := []struct {
		name      string
		caller    []SDPCodec
		supported []string
		want      []SDPCodec
	}{
		{name: "no caller offer", supported: []string{"PCMU", "PCMA"}, want: []SDPCodec{oaPCMU, oaPCMA}},
		{name: "caller's order first", caller: []SDPCodec{oaPCMA, oaPCMU}, supported: []string{"PCMU", "PCMA"}, want: []SDPCodec{oaPCMA, oaPCMU}},
		{name: "caller's codecs, then the rest", caller: []SDPCodec{oaG729, oaPCMA}, supported: []string{"PCMU", "PCMA"}, want: []SDPCodec{oaPCMA, oaPCMU}},
		{name: "unsupported caller codecs left out", caller: []SDPCodec{oaOpus, oaG729}, supported: []string{"PCMA"}, want: []SDPCodec{oaPCMA}},
		{name: "dynamic types cannot be offered", caller: []SDPCodec{oaOpus}, supported: []string{"OPUS", "PCMU"}, want: []SDPCodec{oaPCMU}},
		{name: "names without case, once each", caller: []SDPCodec{{"pcmu", 0, 8000}}, supported: []string{"pcmu", "PCMU", "G722"}, want: []SDPCodec{oaPCMU, oaG722}},
		{name: "the 8000 Hz DVI4", supported: []string{"DVI4"}, want: []SDPCodec{{"DVI4", 5, 8000}}},
		{name: "a codec with no 8000 Hz type", supported: []string{"L16"}, want: []SDPCodec{{"L16", 10, 44100}}},
		{name: "unknown name", supported: []string{"SILK"}, want: []SDPCodec{}},
		{name: "nothing supported", caller: []SDPCodec{oaPCMU}, want: []SDPCodec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OfferCodecs(SessionDesc{Codecs: tt.caller}, tt.supported)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAnsweredCodec(t *testing.T) {
	offered := []SDPCodec{oaPCMU, oaPCMA}
	tests := []struct {
		name    string
		answer  []SDPCodec
		want    SDPCodec
		wantErr bool
	}{
		{name: "one codec", answer: []SDPCodec{oaPCMA}, want: oaPCMA},
		{name: "first of several", answer: []SDPCodec{oaPCMA, oaPCMU}, want: oaPCMA},
		{name: "first that was offered", answer: []SDPCodec{oaG729, oaPCMU}, want: oaPCMU},
		{name: "the answer's payload type", answer: []SDPCodec{{"pcmu", 0, 8000}}, want: SDPCodec{"pcmu", 0, 8000}},
		{name: "nothing offered", answer: []SDPCodec{oaG729}, wantErr: true},
		{name: "no codecs", wantErr: true},
	}
	for _, tt := range tests {
		got, err := AnsweredCodec(SessionDesc{Codecs: tt.answer}, offered)
		if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrSDPNoCommonCodec) {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
