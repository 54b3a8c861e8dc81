package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A bridge relays both ways, payload untouched, each side under its own
// SSRC.
func TestRelayForwardsBothWays(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 101, PCMU, 101)
	tests := []struct {
		name     string
		from, to *farEnd
		in, out  *Endpoint
		ssrc     uint32
	}{
		{"a to b", phoneA, phoneB, a, b, 1111},
		{"b to a", phoneB, phoneA, b, a, 2222},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte{0x5a}, 160)
			tt.from.send(tt.in, rtpPacket(0, tt.ssrc, 10, 1600, payload))
			got := tt.to.recv()
			if got.SSRC != tt.out.SSRC() || got.PayloadType != 0 || !bytes.Equal(got.Payload, payload) {
				t.Fatalf("got ssrc %d pt %d payload % x..., want ssrc %d pt 0 and the payload sent",
					got.SSRC, got.PayloadType, got.Payload[:4], tt.out.SSRC())
			}
		})
	}
}

// The far end sees one continuous stream from b whatever feeds it: the
// SSRC never changes, sequence numbers continue +1 across a switch,
// timestamps continue by the wall time elapsed in whole frames, and the
// first packet after a switch carries the marker. Within one source, its
// own gaps show through.
func TestRelayRewriteKeepsStreamContinuous(t *testing.T) {
	clock := newFakeClock()
	e := newTestEngine(t, Config{Now: clock.Now})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 101, PCMU, 101)
	c := newTestEndpoint(t, e, PCMU, 101)
	phoneC := newFarEnd(t)
	c.SetRemote(phoneC.addr())
	payload := make([]byte, 160)

	first := func() rtp.Packet { phoneA.send(a, rtpPacket(0, 111, 1000, 5000, payload)); return phoneB.recv() }()
	if first.SSRC != b.SSRC() || !first.Marker {
		t.Fatalf("first packet: ssrc %d marker %v, want ssrc %d with marker", first.SSRC, first.Marker, b.SSRC())
	}
	s0, t0 := first.SequenceNumber, first.Timestamp

	steps := []struct {
		name    string
		advance time.Duration
		send    func()
		seq     uint16 // after s0
		ts      uint32 // after t0
		marker  bool
	}{
		{"same source continues", 20 * time.Millisecond,
			func() { phoneA.send(a, rtpPacket(0, 111, 1001, 5160, payload)) }, 1, 160, false},
		{"the source's own loss shows through", 20 * time.Millisecond,
			func() { phoneA.send(a, rtpPacket(0, 111, 1003, 5480, payload)) }, 3, 480, false},
		{"new incoming SSRC", 20 * time.Millisecond,
			func() { phoneA.send(a, rtpPacket(0, 222, 7, 90000, payload)) }, 4, 640, true},
		{"new SSRC continues", 20 * time.Millisecond,
			func() { phoneA.send(a, rtpPacket(0, 222, 8, 90160, payload)) }, 5, 800, false},
		{"local write after 60 ms", 60 * time.Millisecond,
			func() { mustWrite(t, b, payload) }, 6, 1280, true},
		{"local write continues by samples", 20 * time.Millisecond,
			func() { mustWrite(t, b, payload) }, 7, 1440, false},
		{"bridge re-made to another endpoint, 1 s later", time.Second,
			func() {
				if err := Bridge(c, b); err != nil {
					t.Fatal(err)
				}
				phoneC.send(c, rtpPacket(0, 222, 9, 90320, payload))
			}, 8, 9440, true},
		{"rounded to a frame: 33 ms is 2 frames", 33 * time.Millisecond,
			func() { mustWrite(t, b, payload) }, 9, 9760, true},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		st.send()
		got := phoneB.recv()
		if got.SSRC != b.SSRC() || got.SequenceNumber != s0+st.seq || got.Timestamp != t0+st.ts || got.Marker != st.marker {
			t.Fatalf("%s: got ssrc %d seq s0+%d ts t0+%d marker %v; want ssrc %d seq s0+%d ts t0+%d marker %v",
				st.name, got.SSRC, got.SequenceNumber-s0, got.Timestamp-t0, got.Marker,
				b.SSRC(), st.seq, st.ts, st.marker)
		}
	}
}

func mustWrite(t *testing.T, ep *Endpoint, payload []byte) {
	t.Helper()
	if err := ep.WritePayload(0, payload, 160, false); err != nil {
		t.Fatal(err)
	}
}

// PCMU and PCMA are transcoded per packet: a tone sent in one law is the
// same tone decoded from the other.
func TestRelayTranscodes(t *testing.T) {
	tests := []struct {
		name     string
		from, to Codec
		freq     float64
	}{
		{"PCMU to PCMA", PCMU, PCMA, 440},
		{"PCMA to PCMU", PCMA, PCMU, 800},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, Config{})
			a, _, phoneA, phoneB := bridged(t, e, tt.from, 0, tt.to, 0)
			var heard []int16
			for i, frame := range toneFrames(tt.from, tt.freq, 10) {
				phoneA.send(a, rtpPacket(tt.from.PayloadType, 7, uint16(i), uint32(i*160), frame))
				got := phoneB.recv()
				if got.PayloadType != tt.to.PayloadType {
					t.Fatalf("payload type %d, want %d", got.PayloadType, tt.to.PayloadType)
				}
				heard = append(heard, decode(tt.to, got.Payload)...)
			}
			want := map[float64]bool{440: tt.freq == 440, 800: tt.freq == 800, 1300: false}
			if got := DetectTones(heard, []float64{440, 800, 1300}); !equalTones(got, want) {
				t.Fatalf("heard %v, want %v", got, want)
			}
		})
	}
}

// A re-INVITE that changes one side's codec mid-call switches the relay to
// transcoding with the next packet, the stream staying continuous.
func TestRelayFollowsCodecChange(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 0, PCMU, 0)
	frames := toneFrames(PCMU, 440, 12)
	phoneA.send(a, rtpPacket(0, 7, 0, 0, frames[0]))
	before := phoneB.recv()
	b.SetCodec(PCMA, 0)
	var heard []int16
	for i := 1; i < len(frames); i++ {
		phoneA.send(a, rtpPacket(0, 7, uint16(i), uint32(i*160), frames[i]))
		got := phoneB.recv()
		if got.PayloadType != 8 || got.SequenceNumber != before.SequenceNumber+uint16(i) || got.SSRC != before.SSRC {
			t.Fatalf("packet %d: pt %d seq +%d ssrc %d", i, got.PayloadType, got.SequenceNumber-before.SequenceNumber, got.SSRC)
		}
		heard = append(heard, decode(PCMA, got.Payload)...)
	}
	if got := DetectTones(heard, []float64{440, 800}); !got[440] || got[800] {
		t.Fatalf("after the codec change heard %v", got)
	}
}

func equalTones(a, b map[float64]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Telephone-events cross with their payload type mapped to the other
// side's, and are dropped toward a side that negotiated none.
func TestRelayMapsTelephoneEvents(t *testing.T) {
	tests := []struct {
		name         string
		dtmfA, dtmfB uint8
		sentPT       uint8
		wantPT       uint8 // 0: dropped
	}{
		{"mapped to the other side's type", 101, 96, 101, 96},
		{"same type both sides", 101, 101, 101, 101},
		{"dropped toward a side without events", 101, 0, 101, 0},
		{"unnegotiated type is dropped", 0, 96, 101, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, Config{})
			a, _, phoneA, phoneB := bridged(t, e, PCMU, tt.dtmfA, PCMA, tt.dtmfB)
			event := []byte{5, 0x8a, 0x03, 0x20} // '5', end, -10 dBm0, 800 units
			phoneA.send(a, rtpPacket(tt.sentPT, 9, 1, 160, event))
			phoneA.send(a, rtpPacket(0, 9, 2, 320, make([]byte, 160))) // audio behind it
			got := phoneB.recv()
			if tt.wantPT == 0 {
				if got.PayloadType != PCMA.PayloadType {
					t.Fatalf("event was not dropped: got pt %d", got.PayloadType)
				}
				return
			}
			if got.PayloadType != tt.wantPT || !bytes.Equal(got.Payload, event) {
				t.Fatalf("got pt %d payload % x, want pt %d payload % x", got.PayloadType, got.Payload, tt.wantPT, event)
			}
			ev, err := ParseTelephoneEvent(got.Payload)
			if d, _ := ev.Digit(); err != nil || d != '5' || !ev.End {
				t.Fatalf("event %+v, %v", ev, err)
			}
			if next := phoneB.recv(); next.PayloadType != PCMA.PayloadType || next.SequenceNumber != got.SequenceNumber+1 {
				t.Fatalf("audio after the event: pt %d seq +%d", next.PayloadType, next.SequenceNumber-got.SequenceNumber)
			}
		})
	}
}

// An endpoint's handler gets packets while it is not bridged, and again
// once unbridged.
func TestHandlerOnlyWhenNotBridged(t *testing.T) {
	e := newTestEngine(t, Config{})
	a, b, phoneA, phoneB := bridged(t, e, PCMU, 0, PCMU, 0)
	type seen struct {
		hdr     rtp.Header
		payload []byte
	}
	got := make(chan seen, 4)
	a.SetHandler(func(hdr *rtp.Header, payload []byte) {
		got <- seen{hdr: *hdr, payload: bytes.Clone(payload)}
	})
	phoneA.send(a, rtpPacket(0, 5, 1, 160, []byte{1, 2, 3}))
	phoneB.recv()
	if len(got) != 0 {
		t.Fatal("handler called while bridged")
	}
	Unbridge(a, b)
	phoneA.send(a, rtpPacket(0, 5, 2, 320, []byte{4, 5, 6}))
	select {
	case s := <-got:
		if s.hdr.SequenceNumber != 2 || s.hdr.Timestamp != 320 || s.hdr.SSRC != 5 || !bytes.Equal(s.payload, []byte{4, 5, 6}) {
			t.Fatalf("handler got %+v % x", s.hdr, s.payload)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("handler not called after Unbridge")
	}
}

func TestBridgeRefusesWhatItCannotRelay(t *testing.T) {
	e := newTestEngine(t, Config{})
	a := newTestEndpoint(t, e, PCMU, 0)
	g722 := newTestEndpoint(t, e, Codec{"G722", 9, 8000}, 0)
	closed := newTestEndpoint(t, e, PCMU, 0)
	closed.Close()
	tests := []struct {
		name string
		x, y *Endpoint
	}{
		{"itself", a, a},
		{"nil", a, nil},
		{"codecs without a conversion", a, g722},
		{"closed endpoint", a, closed},
	}
	for _, tt := range tests {
		if err := Bridge(tt.x, tt.y); err == nil {
			t.Errorf("%s: Bridge succeeded", tt.name)
		}
	}
}

// advance rounds elapsed wall time to whole frames, at least one.
func TestAdvance(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		want    uint32
	}{
		{-time.Second, 160}, {0, 160}, {5 * time.Millisecond, 160}, {20 * time.Millisecond, 160},
		{29 * time.Millisecond, 160}, {30 * time.Millisecond, 320}, {3 * time.Second, 24000},
		{48 * time.Hour, uint32(48 * 3600 * 8000)},
	}
	for _, tt := range tests {
		if got := advance(tt.elapsed, 8000, 160); got != tt.want {
			t.Errorf("advance(%s) = %d, want %d", tt.elapsed, got, tt.want)
		}
	}
}

// A late packet of the current source keeps its place and does not move
// the stream back.
func TestOutStreamReordering(t *testing.T) {
	var o outStream
	o.init(1, 100, 1000)
	cs := newCodecState(PCMU, 0)
	now := time.Unix(1, 0)
	src := sourceKey{ep: 1, ssrc: 9}
	o.next(src, 10, 0, cs, now)
	o.next(src, 12, 320, cs, now)
	if seq, ts, sw := o.next(src, 11, 160, cs, now); seq != 101 || ts != 1160 || sw {
		t.Fatalf("late packet mapped to seq %d ts %d switched %v", seq, ts, sw)
	}
	if o.seq != 102 || o.ts != 1320 {
		t.Fatalf("stream moved back to seq %d ts %d", o.seq, o.ts)
	}
}
