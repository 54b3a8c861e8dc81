package media

import "strings"

// Codec is a negotiated audio codec: the encoding name and clock rate of an
// SDP rtpmap, and the payload type the far end agreed to use for it.
type Codec struct {
	Name        string
	PayloadType uint8
	ClockRate   int
}

var (
	// PCMU is G.711 µ-law on its static payload type 0.
	PCMU = Codec{"PCMU", 0, 8000}
	// PCMA is G.711 A-law on its static payload type 8.
	PCMA = Codec{"PCMA", 8, 8000}
)

// CodecByName finds one of the codecs the PBX speaks by its SDP encoding
// name, in any case, so SDP handlers need no table of their own.
func CodecByName(name string) (Codec, bool) {
	switch {
	case strings.EqualFold(name, PCMU.Name):
		return PCMU, true
	case strings.EqualFold(name, PCMA.Name):
		return PCMA, true
	}
	return Codec{}, false
}

// codecKind tells apart the codecs the relay can convert between.
type codecKind uint8

const (
	kindOther codecKind = iota
	kindPCMU
	kindPCMA
)

func kindOf(c Codec) codecKind {
	switch {
	case strings.EqualFold(c.Name, PCMU.Name):
		return kindPCMU
	case strings.EqualFold(c.Name, PCMA.Name):
		return kindPCMA
	}
	return kindOther
}

// codecState is one endpoint's negotiation. It is replaced whole on every
// SetCodec, so the reader goroutine reads it with a single atomic load.
type codecState struct {
	codec  Codec
	dtmfPT uint8     // telephone-event payload type, 0 when none
	kind   codecKind // what the relay can do with it
	clock  uint32    // samples per second, 8000 when the codec leaves it unset
	frame  uint32    // samples in 20 ms, the step timestamps are rounded to
}

func newCodecState(c Codec, dtmfPT uint8) *codecState {
	clock := uint32(8000)
	if c.ClockRate > 0 {
		clock = uint32(c.ClockRate)
	}
	frame := clock / 50
	if frame == 0 {
		frame = 1
	}
	return &codecState{codec: c, dtmfPT: dtmfPT, kind: kindOf(c), clock: clock, frame: frame}
}
