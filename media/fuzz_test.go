package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzRTPInput feeds arbitrary datagrams to the per-packet path, with no
// socket: header parsing, receive statistics, the relay's rewrite and
// transcoding, the handler's header, and telephone-event parsing. Nothing
// may panic; what parses stays inside the packet; what is forwarded
// parses back as this stream's packet with the payload mapped as it must
// be. Seeds are in testdata/fuzz/FuzzRTPInput.
func FuzzRTPInput(f *testing.F) {
	from, to := newCodecState(PCMU, 101), newCodecState(PCMA, 96)
	var rx rxStats
	delivered := &Endpoint{}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt := bytes.Clone(data)
		h, err := parseRTP(pkt)
		if err != nil {
			return
		}
		if h.off < rtpHeaderLen || h.off > h.end || h.end > len(pkt) {
			t.Fatalf("payload %d..%d outside a %d-byte packet", h.off, h.end, len(pkt))
		}
		payload := bytes.Clone(pkt[h.off:h.end])
		rx.update(&h, len(pkt), h.pt == 0, 8000, uint32(len(pkt)))

		delivered.deliver(func(hdr *rtp.Header, p []byte) {
			if hdr.SequenceNumber != h.seq || hdr.SSRC != h.ssrc || !bytes.Equal(p, payload) {
				t.Fatalf("handler got seq %d ssrc %d, want %d %d", hdr.SequenceNumber, hdr.SSRC, h.seq, h.ssrc)
			}
		}, bytes.Clone(pkt), &h)

		if h.pt == from.dtmfPT {
			if ev, err := ParseTelephoneEvent(payload); err == nil {
				var b [TelephoneEventLen]byte
				ev.MarshalTo(b[:])
				if b[0] != payload[0] || b[1] != payload[1]&^0x40 || b[2] != payload[2] || b[3] != payload[3] {
					t.Fatalf("event % x marshals back as % x", payload[:4], b)
				}
			}
		}

		var o outStream
		o.init(0x1234, 100, 5000)
		wire, ok := o.forward(pkt, &h, sourceKey{ep: 1, ssrc: h.ssrc}, from, to, time.Unix(0, 0))
		if want := h.pt == 0 || h.pt == 101; ok != want {
			t.Fatalf("payload type %d forwarded %v, want %v", h.pt, ok, want)
		}
		if !ok {
			return
		}
		out, err := parseRTP(wire)
		if err != nil || out.ssrc != 0x1234 || out.seq != 100 || out.ts != 5000 || !out.marker {
			t.Fatalf("forwarded %+v, %v", out, err)
		}
		got := wire[out.off:out.end]
		if len(got) != len(payload) {
			t.Fatalf("payload of %d bytes became %d", len(payload), len(got))
		}
		switch h.pt {
		case 0:
			for i := range got {
				if out.pt != 8 || got[i] != ulawToAlaw[payload[i]] {
					t.Fatalf("audio went out as pt %d, byte %d = %#x", out.pt, i, got[i])
				}
			}
		case 101:
			if out.pt != 96 || !bytes.Equal(got, payload) {
				t.Fatalf("event went out as pt %d", out.pt)
			}
		}
	})
}

// FuzzRTCPInput feeds arbitrary datagrams to the RTCP path: parsing and
// what an endpoint keeps of a report. Seeds are in
// testdata/fuzz/FuzzRTCPInput.
func FuzzRTCPInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseRTCP(data, 0x1234)
		if err != nil {
			return
		}
		if info.hasReport && info.report.SSRC != 0x1234 {
			t.Fatalf("kept a report about ssrc %d", info.report.SSRC)
		}
		var s rxStats
		now := time.Unix(1_800_000_000, 0)
		s.remote(info, 8000, now)
		s.report(now)
		var st Stats
		s.snapshot(&st)
		if st.RemoteJitter < 0 || st.RoundTrip < 0 {
			t.Fatalf("negative remote figures %+v", st)
		}
	})
}
