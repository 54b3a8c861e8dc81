package media

import (
	"testing"

	"github.com/pion/rtp"
)

func TestParseRTP(t *testing.T) {
	marshal := func(p rtp.Packet) []byte {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	full := rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, PayloadType: 8, SequenceNumber: 7, Timestamp: 9, SSRC: 11,
		CSRC: []uint32{1, 2}, Extension: true, ExtensionProfile: 0xbede}, Payload: []byte{1, 2, 3}}
	if err := full.SetExtension(1, []byte{0xaa}); err != nil {
		t.Fatal(err)
	}
	padded := rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, SSRC: 3}, Payload: []byte{4, 5}, PaddingSize: 2}
	tests := []struct {
		name    string
		wire    []byte
		want    rtpView
		wantErr error
	}{
		{"plain", marshal(rtpPacket(0, 1, 2, 3, []byte{9, 9})), rtpView{pt: 0, seq: 2, ts: 3, ssrc: 1, off: 12, end: 14}, nil},
		{"CSRCs and extension", marshal(full), rtpView{marker: true, pt: 8, seq: 7, ts: 9, ssrc: 11, off: 28, end: 31}, nil},
		{"padding", marshal(padded), rtpView{ssrc: 3, off: 12, end: 14}, nil},
		{"truncated header", []byte{0x80, 0, 0, 1}, rtpView{}, errRTPShort},
		{"truncated CSRC list", []byte{0x82, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, rtpView{}, errRTPShort},
		{"extension overrun", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9}, rtpView{}, errRTPExtension},
		{"padding overrun", []byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 9}, rtpView{}, errRTPPadding},
		{"version 1", []byte{0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, rtpView{}, errRTPVersion},
		{"shorter than a header", []byte{0x80, 201, 0, 1, 0, 0, 0, 1}, rtpView{}, errRTPShort},
		{"RTCP muxed", []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0}, rtpView{}, errRTPIsRTCP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRTP(tt.wire)
			if err != tt.wantErr || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPutHeaderRoundTrip(t *testing.T) {
	b := make([]byte, 12)
	putHeader(b, true, 101, 65535, 0xdeadbeef, 0xcafe)
	h, err := parseRTP(b)
	if err != nil || h != (rtpView{marker: true, pt: 101, seq: 65535, ts: 0xdeadbeef, ssrc: 0xcafe, off: 12, end: 12}) {
		t.Fatalf("got %+v, %v", h, err)
	}
}
