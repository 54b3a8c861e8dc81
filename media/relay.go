package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// bridgeMu orders Bridge, Unbridge and Close so two endpoints are always
// paired both ways or not at all. The per-packet path never takes it: it
// reads the peer pointer atomically.
var bridgeMu sync.Mutex

// Bridge joins two endpoints: each packet received on a is sent out of b
// and each received on b out of a. Endpoints already bridged elsewhere are
// moved. Audio of one codec is relayed as it is; PCMU and PCMA are
// transcoded per packet; telephone-events cross with their payload type
// mapped to the other side's, and are dropped toward a side that
// negotiated none. Each side's outgoing stream stays continuous (see
// outStream). While bridged, the endpoints' handlers are not called.
func Bridge(a, b *Endpoint) error {
	if a == nil || b == nil {
		return errors.New("media: bridge: nil endpoint")
	}
	if a == b {
		return errors.New("media: bridge: an endpoint cannot be bridged to itself")
	}
	ca, cb := a.codec.Load(), b.codec.Load()
	if _, ok := transcoder(ca, cb); !ok {
		return fmt.Errorf("media: bridge %s with %s: no conversion between %s and %s",
			a.local, b.local, ca.codec.Name, cb.codec.Name)
	}
	bridgeMu.Lock()
	defer bridgeMu.Unlock()
	if a.isClosed() || b.isClosed() {
		return fmt.Errorf("media: bridge %s with %s: endpoint closed", a.local, b.local)
	}
	if a.peer.Load() == b && b.peer.Load() == a {
		return nil // already relaying: nothing was withheld
	}
	for _, x := range [2]*Endpoint{a, b} {
		if old := x.peer.Load(); old != nil && old != a && old != b {
			old.peer.CompareAndSwap(x, nil)
		}
	}
	// What each side sent while the two were apart never went out: its
	// next packet starts afresh, not after a gap.
	a.out.interrupt(sourceKey{ep: b.id}, true)
	b.out.interrupt(sourceKey{ep: a.id}, true)
	a.peer.Store(b)
	b.peer.Store(a)
	a.e.log.Debug("rtp bridged", "a", a.local, "b", b.local, "codec_a", ca.codec.Name, "codec_b", cb.codec.Name)
	return nil
}

// Unbridge stops relaying between a and b. Each goes back to its handler,
// or drops what it receives when it has none. Endpoints not bridged to
// each other are left alone.
func Unbridge(a, b *Endpoint) {
	if a == nil || b == nil {
		return
	}
	bridgeMu.Lock()
	defer bridgeMu.Unlock()
	a.peer.CompareAndSwap(b, nil)
	b.peer.CompareAndSwap(a, nil)
}

// unbridgeAll detaches ep from whatever it is bridged to.
func (ep *Endpoint) unbridgeAll() {
	bridgeMu.Lock()
	defer bridgeMu.Unlock()
	if p := ep.peer.Swap(nil); p != nil {
		p.peer.CompareAndSwap(ep, nil)
	}
}

// relay sends out of ep a packet its bridged peer received. pkt is the
// peer's read buffer; it is rewritten in place.
func (ep *Endpoint) relay(pkt []byte, h *rtpView, from uint64, fromCodec *codecState, now time.Time) {
	dst := ep.remote.Load()
	src := sourceKey{ep: from, ssrc: h.ssrc}
	if dst == nil || ep.dtmf.busy.Load() {
		ep.out.interrupt(src, false)
		return
	}
	wire, ok := ep.out.forward(pkt, h, src, fromCodec, ep.codec.Load(), now)
	if !ok {
		ep.out.interrupt(src, false)
		return
	}
	ep.countOut(len(wire))
	ep.wmu.Lock()
	err := ep.w.write(&ep.sock, wire, *dst)
	ep.wmu.Unlock()
	if err != nil {
		ep.uncountOut(len(wire))
		ep.out.unsend(wire)
	}
}

// sourceKey names what feeds an outgoing stream: an incoming SSRC on a
// given endpoint, or the zero key for WritePayload.
type sourceKey struct {
	ep   uint64
	ssrc uint32
}

var localSource = sourceKey{}

// outStream is the RTP stream an endpoint sends: one SSRC, with sequence
// numbers and timestamps that stay continuous whatever feeds it. A source
// keeps a fixed offset from its own numbering to the stream's, so the
// gaps and reordering it had before reaching the PBX show through. When
// the source changes (a new incoming SSRC, a bridge to another endpoint,
// local writes in between), or the same source resumes after the PBX
// withheld some of its packets (an unbridge, a dropped payload type, no
// address to send to), or a local writer starts a talkspurt after a
// pause, the stream restarts its mapping: the sequence number is the one
// after the last packet sent, as a phone's would be after hold (a skip
// there is counted as loss), the timestamp is the last one advanced by
// the wall time elapsed, rounded to whole 20 ms frames, and the packet
// carries the marker bit.
type outStream struct {
	ssrc uint32 // fixed at creation; read without mu

	mu       sync.Mutex
	started  bool
	withheld bool      // the source lost packets in the PBX: remap its next one
	seq      uint16    // highest sequence number sent
	ts       uint32    // timestamp of that packet
	at       time.Time // when it was sent
	src      sourceKey
	seqDelta uint16 // stream seq minus source seq
	tsDelta  uint32 // stream ts minus source ts

	localSeq uint16 // WritePayload's own numbering, mapped like any source
	localTs  uint32

	packets, octets uint32 // sender's counts for the next SR
	sentSinceReport bool
}

// init picks the random SSRC, first sequence number and timestamp RFC 3550
// asks for.
func (o *outStream) init(ssrc uint32, seq uint16, ts uint32) {
	o.ssrc = ssrc
	o.seq = seq - 1 // the first packet goes out with seq
	o.ts = ts
}

// interrupt says that packets of src (of any of its endpoint's SSRCs when
// anySSRC) were not sent, so when it is the current source its next
// packet must not carry the numbers they would have taken. Another
// source's packets leave the stream alone: a key press going out is not
// cut by the relayed audio it holds back.
func (o *outStream) interrupt(src sourceKey, anySSRC bool) {
	o.mu.Lock()
	if o.started && o.src.ep == src.ep && (anySSRC || o.src.ssrc == src.ssrc) {
		o.withheld = true
	}
	o.mu.Unlock()
}

// next maps a packet of source src, numbered seq and ts in its own
// stream, onto this stream; switched reports the first packet of a new
// mapping: a new source, or the current one after interrupt. Sequence
// numbers only ever continue from the last packet sent; only the
// timestamp measures time. mu must be held.
func (o *outStream) next(src sourceKey, seq uint16, ts uint32, cs *codecState, now time.Time) (outSeq uint16, outTs uint32, switched bool) {
	if !o.started || src != o.src || o.withheld {
		outSeq, outTs = o.seq+1, o.ts
		if o.started {
			outTs += advance(now.Sub(o.at), cs.clock, cs.frame)
		}
		o.started, o.withheld, o.src = true, false, src
		o.seqDelta, o.tsDelta = outSeq-seq, outTs-ts
		o.seq, o.ts, o.at = outSeq, outTs, now
		return outSeq, outTs, true
	}
	outSeq, outTs = seq+o.seqDelta, ts+o.tsDelta
	if int16(outSeq-o.seq) > 0 {
		o.seq, o.ts, o.at = outSeq, outTs, now
	}
	return outSeq, outTs, false
}

// advance is elapsed in samples of clock rounded to whole frames, at least
// one: a new source never repeats the last timestamp.
func advance(elapsed time.Duration, clock, frame uint32) uint32 {
	if elapsed <= 0 {
		return frame
	}
	samples := uint64(elapsed/time.Millisecond) * uint64(clock) / 1000
	frames := (samples + uint64(frame)/2) / uint64(frame)
	if frames == 0 {
		frames = 1
	}
	return uint32(frames * uint64(frame))
}

// unsend takes back pkt, a packet of this stream whose write failed, so
// the next packet reuses its sequence number rather than leave a gap the
// far end would count as loss. When a later packet has been numbered
// meanwhile, that one went out and the gap stays.
func (o *outStream) unsend(pkt []byte) {
	seq := binary.BigEndian.Uint16(pkt[2:])
	o.mu.Lock()
	if o.started && o.seq == seq {
		o.seq--
		o.withheld = true
		o.packets--
		o.octets -= uint32(len(pkt) - rtpHeaderLen)
	}
	o.mu.Unlock()
}

// count adds a sent packet to the next sender report. mu must be held.
func (o *outStream) count(payload int) {
	o.packets++
	o.octets += uint32(payload)
	o.sentSinceReport = true
}

// rtpTimeAt is the stream's timestamp at now, for a sender report.
func (o *outStream) rtpTimeAt(now time.Time, clock uint32) uint32 {
	if !o.started {
		return o.ts
	}
	return o.ts + arrivalUnits(now.Sub(o.at), clock)
}

// forward turns a packet received from a bridged peer into one of this
// stream, in place, and returns the bytes to send. Audio in from's codec
// goes out in to's codec, transcoded when they differ; telephone-events
// go out on to's event payload type; anything else (comfort noise,
// unnegotiated payloads, events toward a side without them) is dropped.
// It allocates nothing, and needs no socket, so it is fuzzed from bytes.
func (o *outStream) forward(pkt []byte, h *rtpView, src sourceKey, from, to *codecState, now time.Time) ([]byte, bool) {
	var pt uint8
	payload := pkt[h.off:h.end]
	switch {
	case h.pt == from.codec.PayloadType:
		table, ok := transcoder(from, to)
		if !ok {
			return nil, false
		}
		if table != nil {
			transcodeInPlace(payload, table)
		}
		pt = to.codec.PayloadType
	case from.dtmfPT != 0 && h.pt == from.dtmfPT:
		if to.dtmfPT == 0 {
			return nil, false
		}
		pt = to.dtmfPT
	default:
		return nil, false
	}
	o.mu.Lock()
	seq, ts, switched := o.next(src, h.seq, h.ts, to, now)
	o.count(len(payload))
	o.mu.Unlock()
	start := h.off - rtpHeaderLen
	putHeader(pkt[start:h.off], h.marker || switched, pt, seq, ts, o.ssrc)
	return pkt[start:h.end], true
}

// local builds a locally written packet into buf, which must hold the
// header and payload, and returns its length. samples is how far the
// local numbering advances after this packet. A marker starts a
// talkspurt: a writer that paused (a prompt after silence, music after a
// prompt) is placed at the time it resumes, like any new source.
func (o *outStream) local(buf []byte, pt uint8, payload []byte, samples uint32, marker bool, cs *codecState, now time.Time) int {
	o.mu.Lock()
	if marker && o.src == localSource {
		o.withheld = o.started
	}
	seq, ts, switched := o.next(localSource, o.localSeq, o.localTs, cs, now)
	o.localSeq++
	o.localTs += samples
	if samples > cs.frame {
		// A packet that stands for more than a frame (the end of a
		// telephone-event) moves the stream past all of it, so the next
		// source starts after the event, not inside it.
		o.ts += samples - cs.frame
	}
	o.count(len(payload))
	o.mu.Unlock()
	putHeader(buf, marker || switched, pt, seq, ts, o.ssrc)
	return rtpHeaderLen + copy(buf[rtpHeaderLen:], payload)
}
