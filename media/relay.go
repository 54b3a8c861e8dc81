package media

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// Bridge joins two endpoints: what one receives, the other sends. When
// their codecs match, payloads are copied as they are (the relay fast path);
// PCMU and PCMA are transcoded byte by byte. Telephone-events cross with
// their payload type mapped, and are dropped toward a far end that
// negotiated none.
func Bridge(a, b *Endpoint) error {
	a.peer.Store(b)
	b.peer.Store(a)
	return nil
}

// Unbridge stops the relay between a and b; each goes back to its handler.
func Unbridge(a, b *Endpoint) {
	a.peer.CompareAndSwap(b, nil)
	b.peer.CompareAndSwap(a, nil)
}

// header is the part of an RTP header the relay needs.
type header struct {
	marker   bool
	pt       uint8
	seq      uint16
	ts       uint32
	ssrc     uint32
	off, end int // payload bounds
}

// parseHeader reads an RTP header without allocating. RTCP multiplexed on
// the RTP port and malformed packets are refused.
func parseHeader(b []byte) (header, bool) {
	var h header
	if len(b) < 12 || b[0]>>6 != 2 {
		return h, false
	}
	if b[1] >= 200 && b[1] <= 206 { // RTCP (RFC 5761)
		return h, false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if len(b) < off {
		return h, false
	}
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return h, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if len(b) < off {
			return h, false
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		pad := int(b[end-1])
		if pad == 0 || off+pad > end {
			return h, false
		}
		end -= pad
	}
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	h.off, h.end = off, end
	return h, true
}

var endpointIDs atomic.Uint32

// outStream is what an endpoint sends: one SSRC, and sequence numbers and
// timestamps that stay continuous whatever feeds them. Each source (a far
// end's SSRC through a bridge, or local writes) gets its own offsets; when
// the source changes, the new one continues where the last left off, the
// timestamp advanced by the wall time elapsed.
type outStream struct {
	mu       sync.Mutex
	ssrc     uint32
	id       uint32 // this endpoint's id, to tell sources apart
	seq      uint16 // last sequence number sent
	ts       uint32 // last timestamp sent
	lastAt   time.Time
	started  bool
	src      uint64
	seqOff   uint16
	tsOff    uint32
	localSeq uint16
	localTs  uint32
	packets  uint32
	octets   uint32
	buf      [1500]byte
}

func (o *outStream) init(ssrc uint32) {
	o.ssrc = ssrc
	o.id = endpointIDs.Add(1)
	o.seq = uint16(ssrc >> 7)
	o.ts = ssrc * 7
}

// rewrite maps an incoming sequence number and timestamp of source src to
// the outgoing stream. switched reports a change of source.
func (o *outStream) rewrite(src uint64, seq uint16, ts uint32, now time.Time) (uint16, uint32, bool) {
	switched := false
	if !o.started || src != o.src {
		adv := uint32(160)
		if o.started {
			if frames := uint32((now.Sub(o.lastAt) + 10*time.Millisecond) / (20 * time.Millisecond)); frames > 1 {
				adv = frames * 160
			}
		}
		o.seqOff = o.seq + 1 - seq
		o.tsOff = o.ts + adv - ts
		o.src, o.started, switched = src, true, true
	}
	outSeq, outTs := seq+o.seqOff, ts+o.tsOff
	if int16(outSeq-o.seq) > 0 || switched {
		o.seq, o.ts = outSeq, outTs
	}
	o.lastAt = now
	o.packets++
	return outSeq, outTs, switched
}

func (o *outStream) header(pt uint8, marker bool, seq uint16, ts uint32) {
	o.buf[0] = 0x80
	o.buf[1] = pt & 0x7f
	if marker {
		o.buf[1] |= 0x80
	}
	binary.BigEndian.PutUint16(o.buf[2:], seq)
	binary.BigEndian.PutUint32(o.buf[4:], ts)
	binary.BigEndian.PutUint32(o.buf[8:], o.ssrc)
}

// local builds a locally generated packet into buf and returns its length,
// with mu held: the caller sends buf and unlocks.
func (o *outStream) local(pt uint8, payload []byte, samples uint32, marker bool) int {
	o.mu.Lock()
	seq, ts, switched := o.rewrite(0, o.localSeq, o.localTs, time.Now())
	o.localSeq++
	o.localTs += samples
	o.header(pt, marker || switched, seq, ts)
	n := copy(o.buf[12:], payload)
	o.octets += uint32(n)
	return 12 + n
}

// forward sends a packet received by from out of ep, rewritten.
func (ep *Endpoint) forward(pkt []byte, h header, from *Endpoint, fromPT, fromDTMF uint8) {
	dst, ok := ep.destination()
	if !ok {
		return
	}
	codec, dtmf := ep.codecs()
	var outPT uint8
	switch {
	case h.pt == fromPT:
		outPT = codec.PayloadType
	case fromDTMF != 0 && h.pt == fromDTMF:
		if dtmf == 0 {
			return
		}
		outPT = dtmf
	default:
		return // comfort noise and unknown payloads do not cross
	}
	payload := pkt[h.off:h.end]
	o := &ep.out
	o.mu.Lock()
	seq, ts, switched := o.rewrite(uint64(from.out.id)<<32|uint64(h.ssrc), h.seq, h.ts, time.Now())
	o.header(outPT, h.marker || (switched && outPT == codec.PayloadType), seq, ts)
	n := len(payload)
	if n > len(o.buf)-12 {
		n = len(o.buf) - 12
	}
	if outPT == codec.PayloadType && fromPT != outPT {
		transcode(o.buf[12:12+n], payload[:n], fromPT, outPT)
	} else {
		copy(o.buf[12:], payload[:n])
	}
	o.octets += uint32(n)
	ep.send(o.buf[:12+n], dst)
	o.mu.Unlock()
}
