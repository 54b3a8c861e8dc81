package media

import "github.com/zaf/g711"

// The G.711 helpers convert whole frames into buffers the caller owns, so
// players, recorders and the mixer encode and decode without allocating.
// zaf/g711's slice functions allocate their result; its per-sample
// functions do not, and are what these loops call.

// DecodeUlaw decodes the µ-law bytes of src into 16-bit PCM in dst.
// dst must hold at least len(src) samples.
func DecodeUlaw(dst []int16, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = g711.DecodeUlawFrame(b)
	}
}

// EncodeUlaw encodes the 16-bit PCM of src into µ-law bytes in dst.
// dst must hold at least len(src) bytes.
func EncodeUlaw(dst []byte, src []int16) {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = g711.EncodeUlawFrame(s)
	}
}

// DecodeAlaw decodes the A-law bytes of src into 16-bit PCM in dst.
// dst must hold at least len(src) samples.
func DecodeAlaw(dst []int16, src []byte) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = g711.DecodeAlawFrame(b)
	}
}

// EncodeAlaw encodes the 16-bit PCM of src into A-law bytes in dst.
// dst must hold at least len(src) bytes.
func EncodeAlaw(dst []byte, src []int16) {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = g711.EncodeAlawFrame(s)
	}
}

// encodeFor encodes pcm in the codec of cs into dst and returns the bytes
// written; ok is false for a codec the PBX cannot generate.
func encodeFor(cs *codecState, dst []byte, pcm []int16) (n int, ok bool) {
	switch cs.kind {
	case kindPCMU:
		EncodeUlaw(dst, pcm)
	case kindPCMA:
		EncodeAlaw(dst, pcm)
	default:
		return 0, false
	}
	return len(pcm), true
}

// decodeFor decodes payload in the codec of cs into dst and returns the
// samples written; ok is false for a codec the PBX cannot decode.
func decodeFor(cs *codecState, dst []int16, payload []byte) (n int, ok bool) {
	n = min(len(payload), len(dst))
	switch cs.kind {
	case kindPCMU:
		DecodeUlaw(dst, payload[:n])
	case kindPCMA:
		DecodeAlaw(dst, payload[:n])
	default:
		return 0, false
	}
	return n, true
}
