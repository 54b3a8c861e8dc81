package media

import "github.com/zaf/g711"

// G.711 tables, built once: decoding is a lookup, and PCMU<->PCMA
// transcoding is one lookup per byte with no PCM in between.
var (
	ulawToPCM  [256]int16
	alawToPCM  [256]int16
	ulawToAlaw [256]byte
	alawToUlaw [256]byte
)

func init() {
	for i := 0; i < 256; i++ {
		ulawToPCM[i] = g711.DecodeUlawFrame(byte(i))
		alawToPCM[i] = g711.DecodeAlawFrame(byte(i))
	}
	for i := 0; i < 256; i++ {
		ulawToAlaw[i] = g711.EncodeAlawFrame(ulawToPCM[i])
		alawToUlaw[i] = g711.EncodeUlawFrame(alawToPCM[i])
	}
}

// DecodeUlaw decodes µ-law bytes into dst, which must be as long as src.
func DecodeUlaw(dst []int16, src []byte) {
	for i, b := range src {
		dst[i] = ulawToPCM[b]
	}
}

// DecodeAlaw decodes A-law bytes into dst, which must be as long as src.
func DecodeAlaw(dst []int16, src []byte) {
	for i, b := range src {
		dst[i] = alawToPCM[b]
	}
}

// EncodeUlaw encodes PCM into µ-law; dst must be as long as src.
func EncodeUlaw(dst []byte, src []int16) {
	for i, s := range src {
		dst[i] = g711.EncodeUlawFrame(s)
	}
}

// EncodeAlaw encodes PCM into A-law; dst must be as long as src.
func EncodeAlaw(dst []byte, src []int16) {
	for i, s := range src {
		dst[i] = g711.EncodeAlawFrame(s)
	}
}

// transcode converts a G.711 payload between laws in place into dst.
func transcode(dst, src []byte, from, to uint8) {
	switch {
	case from == 0 && to == 8:
		for i, b := range src {
			dst[i] = ulawToAlaw[b]
		}
	case from == 8 && to == 0:
		for i, b := range src {
			dst[i] = alawToUlaw[b]
		}
	default:
		copy(dst, src)
	}
}
