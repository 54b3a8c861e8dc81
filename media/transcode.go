package media

import (
	"strings"

	"github.com/zaf/g711"
)

// µ-law and A-law are both one byte per sample, so converting a payload
// from one to the other is one table lookup per byte, done in place in the
// packet buffer: no PCM in between and no allocation.
var ulawToAlaw, alawToUlaw [256]byte

func init() {
	for i := range 256 {
		ulawToAlaw[i] = g711.Ulaw2AlawFrame(uint8(i))
		alawToUlaw[i] = g711.Alaw2UlawFrame(uint8(i))
	}
}

// transcoder says how audio goes from one negotiation to the other: as it
// is (nil table), through a byte map, or not at all (ok false).
func transcoder(from, to *codecState) (table *[256]byte, ok bool) {
	switch {
	case from.kind == kindPCMU && to.kind == kindPCMA:
		return &ulawToAlaw, true
	case from.kind == kindPCMA && to.kind == kindPCMU:
		return &alawToUlaw, true
	case from.kind != kindOther || to.kind != kindOther:
		return nil, from.kind == to.kind
	}
	return nil, strings.EqualFold(from.codec.Name, to.codec.Name) && from.clock == to.clock
}

// transcodeInPlace maps every byte of p through table.
func transcodeInPlace(p []byte, table *[256]byte) {
	for i, b := range p {
		p[i] = table[b]
	}
}
