package sip

import "strings"

// This file is the PBX's side of RFC 3264 offer/answer, decided in one
// place: AnswerOffer says how to answer an offer, OfferCodecs what to offer
// a callee, and AnsweredCodec what a callee's answer settled on. Codecs are
// named as in config (PCMU, PCMA), compared without case.

// Answer is the PBX's answer to one offer, everything BuildSDP needs beyond
// the session's own address and version.
type Answer struct {
	// Codec is the one audio format of the answer, with the payload type
	// and clock rate the offer gave it, so both sides send the same.
	Codec SDPCodec
	// DTMF is the offer's telephone-event payload type, answered with the
	// same number; 0 when the offer has none, and DTMF goes in-band.
	DTMF uint8
	// Direction mirrors the offer's (AnswerDirection).
	Direction string
	// Streams are the offer's m-lines: the answer carries as many, with all
	// but the anchored audio stream refused.
	Streams []SDPStream
}

// AnswerOffer decides the answer to offer. The codec is prefer when the
// offer has it and the PBX supports it (typically the codec of the other
// leg of a bridge: then the relay needs no transcoding); else the first
// codec of the offer, in the offer's order, that is in supported. With no
// codec in common it returns ErrSDPNoCommonCodec, and the offer deserves a
// 488.
func AnswerOffer(offer SessionDesc, supported []string, prefer string) (Answer, error) {
	a := Answer{DTMF: offer.DTMF, Direction: AnswerDirection(offer.Direction), Streams: offer.Streams}
	if prefer != "" && containsName(supported, prefer) {
		for _, c := range offer.Codecs {
			if strings.EqualFold(c.Name, prefer) {
				a.Codec = c
				return a, nil
			}
		}
	}
	for _, c := range offer.Codecs {
		if containsName(supported, c.Name) {
			a.Codec = c
			return a, nil
		}
	}
	return Answer{}, ErrSDPNoCommonCodec
}

// Options completes base, which holds the session's id, version, address
// and name, with the answer's codec, DTMF, direction and streams.
func (a Answer) Options(base SDPOptions) SDPOptions {
	base.Codecs = []SDPCodec{a.Codec}
	base.DTMF = a.DTMF
	base.Direction = a.Direction
	base.Streams = a.Streams
	return base
}

// OfferCodecs lists the codecs of the PBX's offer to a callee on behalf of
// a caller: first those the caller offered, in the caller's order, so that
// the callee can pick one the caller also sends and the two legs relay
// without transcoding; then the rest of supported, in its order. Only codecs
// with a static payload type (RFC 3551) can be offered, as the PBX has no
// rtpmap of its own for a dynamic one; other names are left out. An empty
// caller offer (a call the PBX originates) gives supported in order.
func OfferCodecs(callerOffer SessionDesc, supported []string) []SDPCodec {
	out := make([]SDPCodec, 0, len(supported))
	add := func(name string) {
		if !containsName(supported, name) {
			return
		}
		for _, c := range out {
			if strings.EqualFold(c.Name, name) {
				return
			}
		}
		if c, ok := staticCodec(name); ok {
			out = append(out, c)
		}
	}
	for _, c := range callerOffer.Codecs {
		add(c.Name)
	}
	for _, s := range supported {
		add(s)
	}
	return out
}

// AnsweredCodec is the codec a callee's answer settles on: the first of the
// answer's codecs that the PBX offered, with the answer's payload type.
// RFC 3264 lets an answer hold only offered formats, so this is normally
// its first; a far end that answers with something else gets
// ErrSDPNoCommonCodec, and the call is refused rather than sent audio the
// PBX never agreed to.
func AnsweredCodec(answer SessionDesc, offered []SDPCodec) (SDPCodec, error) {
	for _, c := range answer.Codecs {
		for _, o := range offered {
			if strings.EqualFold(c.Name, o.Name) {
				return c, nil
			}
		}
	}
	return SDPCodec{}, ErrSDPNoCommonCodec
}

// staticCodec is the static payload type of an encoding name: at 8000 Hz
// when it has one there (DVI4 has four rates), else the lowest.
func staticCodec(name string) (SDPCodec, bool) {
	var found SDPCodec
	ok := false
	for pt := uint8(0); pt < 35; pt++ {
		c, known := sdpStatic[pt]
		if !known || !strings.EqualFold(c.Name, name) {
			continue
		}
		if c.ClockRate == 8000 {
			return c, true
		}
		if !ok {
			found, ok = c, true
		}
	}
	return found, ok
}

func containsName(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
