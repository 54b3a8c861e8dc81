package media

import "strings"

// Codec is a negotiated audio codec.
type Codec struct {
	Name        string
	PayloadType uint8
	ClockRate   int
}

// The codecs the PBX speaks.
var (
	PCMU = Codec{"PCMU", 0, 8000}
	PCMA = Codec{"PCMA", 8, 8000}
)

// CodecByName finds a codec by its SDP name, in any case.
func CodecByName(name string) (Codec, bool) {
	switch strings.ToUpper(name) {
	case "PCMU":
		return PCMU, true
	case "PCMA":
		return PCMA, true
	}
	return Codec{}, false
}
