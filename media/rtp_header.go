package media

import (
	"encoding/binary"
	"errors"
)

// rtpHeaderLen is the fixed RTP header, all the relay ever writes: it
// drops CSRCs, header extensions and padding of what it forwards.
const rtpHeaderLen = 12

// maxDatagram bounds what an endpoint reads and writes; RTP audio packets
// are far smaller.
const maxDatagram = 2048

// Parse failures are sentinels, so hostile input costs no allocation.
var (
	errRTPShort      = errors.New("media: rtp packet shorter than its header")
	errRTPVersion    = errors.New("media: not rtp version 2")
	errRTPExtension  = errors.New("media: rtp header extension overruns the packet")
	errRTPPadding    = errors.New("media: rtp padding overruns the packet")
	errRTPIsRTCP     = errors.New("media: rtcp packet on the rtp path")
	errPayloadTooBig = errors.New("media: payload too large for one packet")
)

// rtpView is what the per-packet path needs of an RTP header, read in
// place from the datagram without allocating.
type rtpView struct {
	marker   bool
	pt       uint8
	seq      uint16
	ts       uint32
	ssrc     uint32
	off, end int // payload bounds in the datagram: CSRCs, extension and padding excluded
}

// isRTCP tells an RTCP packet multiplexed on the RTP port (RFC 5761 §4:
// the second byte of RTCP falls in 192..223).
func isRTCP(b []byte) bool {
	return len(b) >= 2 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// parseRTP reads an RTP header (RFC 3550 §5.1).
func parseRTP(b []byte) (rtpView, error) {
	var h rtpView
	if len(b) < rtpHeaderLen {
		return h, errRTPShort
	}
	if b[0]>>6 != 2 {
		return h, errRTPVersion
	}
	if isRTCP(b) {
		return h, errRTPIsRTCP
	}
	off := rtpHeaderLen + 4*int(b[0]&0x0f)
	if len(b) < off {
		return h, errRTPShort
	}
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return h, errRTPExtension
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if len(b) < off {
			return h, errRTPExtension
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		pad := int(b[end-1])
		if pad == 0 || end-pad < off {
			return h, errRTPPadding
		}
		end -= pad
	}
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	h.off, h.end = off, end
	return h, nil
}

// putHeader writes a fixed 12-byte RTP header into b.
func putHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	_ = b[rtpHeaderLen-1]
	b[0] = 0x80
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}
