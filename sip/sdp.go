package sip

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// This file holds the SDP offer/answer helpers of an anchoring B2BUA that
// carries audio only: ParseSDP reads what the far end offers or answers,
// Negotiate picks the codec of an answer, BuildSDP writes the PBX's own
// offers and answers, and AnswerDirection mirrors an offer's direction.

// SDPCodec names one payload format of an audio stream. The sip package does
// not import media, so it has its own small type: PCMU/0/8000, PCMA/8/8000,
// telephone-event/<dynamic>/8000.
type SDPCodec struct {
	Name        string // encoding name, upper case ("PCMU", "PCMA", "G722", "OPUS")
	PayloadType uint8
	ClockRate   int
}

// SessionDesc is what the B2BUA needs from an SDP body.
type SessionDesc struct {
	// Addr is the connection address (a media-level c= wins over the session
	// level) and the audio port. Port 0 means the stream is refused.
	Addr netip.AddrPort
	// Codecs are the audio formats in the sender's order, telephone-event
	// left out. Static payload types are known without an rtpmap; dynamic
	// ones only through theirs.
	Codecs []SDPCodec
	// DTMF is the payload type of telephone-event/8000, 0 if none.
	DTMF uint8
	// Direction is sendrecv, sendonly, recvonly or inactive: the media-level
	// attribute, else the session-level one, else sendrecv. A connection
	// address of 0.0.0.0 (or ::), the RFC 2543 way to put a call on hold,
	// takes away the receive half: sendrecv reads as sendonly and recvonly
	// as inactive.
	Direction string
	// Ptime is the a=ptime in milliseconds, 0 when absent.
	Ptime int
	// Streams are every m-line of the body in order. An answer must carry
	// as many m-lines as the offer (RFC 3264 §6): the PBX answers the
	// anchored audio stream and refuses the rest with port 0.
	Streams []SDPStream
}

// The SDP direction attributes (RFC 3264 §5.1).
const (
	SDPSendRecv = "sendrecv"
	SDPSendOnly = "sendonly"
	SDPRecvOnly = "recvonly"
	SDPInactive = "inactive"
)

var (
	// ErrSDPNoAudio: the body has no plain RTP (RTP/AVP or RTP/AVPF) audio
	// stream. An INVITE carrying it is answered 488.
	ErrSDPNoAudio = errors.New("sdp: no RTP/AVP audio stream")
	// ErrSDPNoCommonCodec: Negotiate found nothing the PBX can take in the
	// offer. The offer is answered 488.
	ErrSDPNoCommonCodec = errors.New("sdp: no codec in common")
)

// SDPStream is one m-line as offered: its media, protocol and formats.
type SDPStream struct {
	Media, Proto, Formats string
	Anchored              bool // the audio stream the PBX relays
}

// sdpMaxBody bounds the SDP the PBX reads. Real offers are well under 4 KiB.
const sdpMaxBody = 32 << 10

// sdpStatic are the RFC 3551 static audio payload types a far end may offer
// without an rtpmap.
var sdpStatic = map[uint8]SDPCodec{
	0:  {"PCMU", 0, 8000},
	3:  {"GSM", 3, 8000},
	4:  {"G723", 4, 8000},
	5:  {"DVI4", 5, 8000},
	6:  {"DVI4", 6, 16000},
	7:  {"LPC", 7, 8000},
	8:  {"PCMA", 8, 8000},
	9:  {"G722", 9, 8000},
	10: {"L16", 10, 44100},
	11: {"L16", 11, 44100},
	12: {"QCELP", 12, 8000},
	13: {"CN", 13, 8000},
	14: {"MPA", 14, 90000},
	15: {"G728", 15, 8000},
	16: {"DVI4", 16, 11025},
	17: {"DVI4", 17, 22050},
	18: {"G729", 18, 8000},
}

const sdpTelephoneEvent = "TELEPHONE-EVENT"

// ParseSDP reads the audio stream of an SDP body: the first RTP/AVP audio
// m-line that is not refused, else the first RTP/AVP audio m-line. It returns
// an error for a body that is not SDP, is malformed (bad connection address,
// port, payload type or rtpmap), or has no such stream. It never panics.
//
// The grammar is pion/sdp's, with allowances for what phones send: lines may
// end in LF alone and carry trailing blanks; lines in the wrong order within
// the session or a media section are put back in RFC 4566 order; lines of an
// unknown type (y=, x=) are dropped. Bodies over 32 KiB are refused.
func ParseSDP(body []byte) (SessionDesc, error) {
	var d SessionDesc
	text, err := sdpNormalize(body)
	if err != nil {
		return d, err
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(text); err != nil {
		return d, fmt.Errorf("sdp: %w", sdpTrimPrefix(err))
	}
	m, err := sdpAudio(&sd)
	if err != nil {
		return d, err
	}

	conn, ok, err := sdpConnAddr(m.ConnectionInformation)
	if err != nil {
		return d, err
	}
	if !ok {
		if conn, ok, err = sdpConnAddr(sd.ConnectionInformation); err != nil {
			return d, err
		}
	}
	if !ok {
		return d, errors.New("sdp: no connection address for the audio stream")
	}
	port := m.MediaName.Port.Value
	if port < 0 || port > math.MaxUint16 {
		return d, fmt.Errorf("sdp: bad audio port %d", port)
	}
	d.Addr = netip.AddrPortFrom(conn, uint16(port))

	if d.Codecs, d.DTMF, err = sdpCodecs(m); err != nil {
		return d, err
	}

	d.Direction = sdpDirection(m.Attributes)
	if d.Direction == "" {
		d.Direction = sdpDirection(sd.Attributes)
	}
	if d.Direction == "" {
		d.Direction = SDPSendRecv
	}
	if conn.IsUnspecified() {
		switch d.Direction {
		case SDPSendRecv:
			d.Direction = SDPSendOnly
		case SDPRecvOnly:
			d.Direction = SDPInactive
		}
	}

	d.Ptime = sdpPtime(m.Attributes)
	if d.Ptime == 0 {
		d.Ptime = sdpPtime(sd.Attributes)
	}
	for _, other := range sd.MediaDescriptions {
		if other == nil {
			continue
		}
		d.Streams = append(d.Streams, SDPStream{Media: sdpSafeName(other.MediaName.Media),
			Proto:   sdpSafeProto(strings.Join(other.MediaName.Protos, "/")),
			Formats: sdpSafeFormats(other.MediaName.Formats), Anchored: other == m})
	}
	return d, nil
}

// sdpTrimPrefix drops pion's own "sdp: " so errors do not stutter.
func sdpTrimPrefix(err error) error {
	msg := err.Error()
	if s, ok := strings.CutPrefix(msg, "sdp: "); ok {
		return errors.New(s)
	}
	return err
}

// sdpSessionOrder and sdpMediaOrder rank the line types of RFC 4566 §5 in the
// order they must appear. Types not listed are dropped.
var (
	sdpSessionOrder = map[byte]int{'v': 0, 'o': 1, 's': 2, 'i': 3, 'u': 4, 'e': 5, 'p': 6, 'c': 7, 'b': 8, 't': 9, 'r': 9, 'z': 10, 'k': 11, 'a': 12}
	sdpMediaOrder   = map[byte]int{'m': 0, 'i': 1, 'c': 2, 'b': 3, 'k': 4, 'a': 5}
)

// sdpNormalize checks that every line of body is "<letter>=<value>" without
// control characters, and rewrites the body with CRLF line ends and each
// section's lines in RFC order (a stable sort, so the order of a= lines and
// of t=/r= pairs is kept).
func sdpNormalize(body []byte) (string, error) {
	if len(body) == 0 {
		return "", errors.New("sdp: empty body")
	}
	if len(body) > sdpMaxBody {
		return "", fmt.Errorf("sdp: body of %d bytes is too large", len(body))
	}
	var sections [][]string
	var cur []string
	for n, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return "", fmt.Errorf("sdp: line %d is not <type>=<value>: %.40q", n+1, line)
		}
		for _, c := range []byte(line) {
			if c < ' ' && c != '\t' || c == 0x7f {
				return "", fmt.Errorf("sdp: line %d has a control character", n+1)
			}
		}
		if line[0] == 'm' || cur == nil {
			if cur != nil {
				sections = append(sections, cur)
			}
			cur = []string{}
		}
		cur = append(cur, line)
	}
	if cur == nil {
		return "", errors.New("sdp: empty body")
	}
	sections = append(sections, cur)

	var b strings.Builder
	b.Grow(len(body) + 64)
	for i, sec := range sections {
		order := sdpSessionOrder
		if i > 0 || sec[0][0] == 'm' {
			order = sdpMediaOrder
		}
		sec = slices.DeleteFunc(sec, func(l string) bool {
			_, known := order[l[0]]
			return !known
		})
		slices.SortStableFunc(sec, func(x, y string) int { return order[x[0]] - order[y[0]] })
		for _, l := range sec {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
	}
	return b.String(), nil
}

// sdpAudio picks the audio stream the B2BUA anchors: the first RTP/AVP (or
// RTP/AVPF) audio m-line with a port, else the first refused one.
func sdpAudio(sd *sdp.SessionDescription) (*sdp.MediaDescription, error) {
	var refused *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m == nil || m.MediaName.Media != "audio" {
			continue
		}
		proto := strings.Join(m.MediaName.Protos, "/")
		if proto != "RTP/AVP" && proto != "RTP/AVPF" {
			continue
		}
		if m.MediaName.Port.Value != 0 {
			return m, nil
		}
		if refused == nil {
			refused = m
		}
	}
	if refused != nil {
		return refused, nil
	}
	return nil, ErrSDPNoAudio
}

// sdpConnAddr reads a c= line; ok is false when there is none.
func sdpConnAddr(ci *sdp.ConnectionInformation) (netip.Addr, bool, error) {
	if ci == nil {
		return netip.Addr{}, false, nil
	}
	if ci.Address == nil || ci.Address.Address == "" {
		return netip.Addr{}, false, errors.New("sdp: connection line without an address")
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL and count
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false, fmt.Errorf("sdp: connection address %.60q is not an IP address", ci.Address.Address)
	}
	if (ci.AddressType == "IP4") != a.Is4() {
		return netip.Addr{}, false, fmt.Errorf("sdp: connection address %s is not %s", a, ci.AddressType)
	}
	return a.Unmap(), true, nil
}

// sdpCodecs lists the formats of an audio m-line, resolving each through its
// rtpmap or the static table. telephone-event is returned apart: the first
// at 8000 Hz is the DTMF type.
func sdpCodecs(m *sdp.MediaDescription) ([]SDPCodec, uint8, error) {
	rtpmap := map[uint8]SDPCodec{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		c, err := sdpParseRtpmap(a.Value)
		if err != nil {
			return nil, 0, err
		}
		if _, dup := rtpmap[c.PayloadType]; !dup {
			rtpmap[c.PayloadType] = c
		}
	}
	var codecs []SDPCodec
	var dtmf uint8
	seen := map[uint8]bool{}
	for _, f := range m.MediaName.Formats {
		pt, err := sdpPayloadType(f)
		if err != nil {
			return nil, 0, err
		}
		if seen[pt] {
			continue
		}
		seen[pt] = true
		c, ok := rtpmap[pt]
		if !ok {
			c, ok = sdpStatic[pt]
		}
		if !ok {
			continue // a dynamic type without rtpmap: unusable
		}
		if c.Name == sdpTelephoneEvent {
			if dtmf == 0 && c.ClockRate == 8000 {
				dtmf = pt
			}
			continue
		}
		codecs = append(codecs, c)
	}
	return codecs, dtmf, nil
}

func sdpPayloadType(s string) (uint8, error) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > 127 {
		return 0, fmt.Errorf("sdp: bad payload type %.20q", s)
	}
	return uint8(n), nil
}

// sdpParseRtpmap reads "<pt> <encoding>/<clock rate>[/<channels>]".
func sdpParseRtpmap(v string) (SDPCodec, error) {
	f := strings.Fields(v)
	if len(f) != 2 {
		return SDPCodec{}, fmt.Errorf("sdp: bad rtpmap %.60q", v)
	}
	pt, err := sdpPayloadType(f[0])
	if err != nil {
		return SDPCodec{}, err
	}
	parts := strings.Split(f[1], "/")
	if len(parts) < 2 || len(parts) > 3 || !sdpIsToken(parts[0]) {
		return SDPCodec{}, fmt.Errorf("sdp: bad rtpmap %.60q", v)
	}
	rate, err := strconv.Atoi(parts[1])
	if err != nil || rate <= 0 || rate > 1_000_000 {
		return SDPCodec{}, fmt.Errorf("sdp: bad clock rate in rtpmap %.60q", v)
	}
	return SDPCodec{Name: strings.ToUpper(parts[0]), PayloadType: pt, ClockRate: rate}, nil
}

// sdpIsToken reports whether s is a non-empty RFC 4566 token.
func sdpIsToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !sdpTokenByte(c) {
			return false
		}
	}
	return true
}

func sdpTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`{|}~", c) >= 0
}

func sdpDirection(attrs []sdp.Attribute) string {
	for _, a := range attrs {
		switch a.Key {
		case SDPSendRecv, SDPSendOnly, SDPRecvOnly, SDPInactive:
			return a.Key
		}
	}
	return ""
}

func sdpPtime(attrs []sdp.Attribute) int {
	for _, a := range attrs {
		if a.Key != "ptime" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64)
		if err != nil || f < 1 || f > 1000 {
			return 0
		}
		return int(math.Round(f))
	}
	return 0
}

// AnswerDirection is the direction an answer gives to an offer's:
// sendonly→recvonly, recvonly→sendonly, inactive→inactive, anything
// else→sendrecv.
func AnswerDirection(offer string) string {
	switch offer {
	case SDPSendOnly:
		return SDPRecvOnly
	case SDPRecvOnly:
		return SDPSendOnly
	case SDPInactive:
		return SDPInactive
	}
	return SDPSendRecv
}

// SDPOptions describe the PBX's own SDP, an offer or an answer.
type SDPOptions struct {
	// SessionID and Version go into o=. The version must grow with each new
	// offer or answer of the session (RFC 3264 §8); the caller keeps it.
	SessionID, Version uint64
	// Addr is the RTP address: c= and the m= port. An invalid address is
	// written as 0.0.0.0; port 0 refuses the stream.
	Addr netip.AddrPort
	// Codecs are written in this order, each with an rtpmap (clock rate 8000
	// when left 0).
	Codecs []SDPCodec
	// DTMF is the telephone-event payload type; 0 leaves it out.
	DTMF uint8
	// Direction is one of the SDP direction attributes; anything else is
	// written as sendrecv.
	Direction string
	// UserAgent names the session in o= and s=; "-" when empty.
	UserAgent string
	// Streams, in an answer, are the offer's m-lines: every one but the
	// anchored audio stream is written back refused (port 0).
	Streams []SDPStream
}

// BuildSDP writes an SDP body with one RTP/AVP audio stream: o= with the
// session id and version, c= IN IP4 or IP6, the codecs with their rtpmaps,
// telephone-event/8000 with fmtp 0-16 when DTMF is set, a=ptime:20 and the
// direction.
func BuildSDP(o SDPOptions) []byte {
	addr := o.Addr.Addr().Unmap().WithZone("")
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	ipv := "IP4"
	if addr.Is6() {
		ipv = "IP6"
	}
	name := sdpSafeName(o.UserAgent)
	dir := o.Direction
	switch dir {
	case SDPSendRecv, SDPSendOnly, SDPRecvOnly, SDPInactive:
	default:
		dir = SDPSendRecv
	}

	b := make([]byte, 0, 256+40*len(o.Codecs))
	b = fmt.Appendf(b, "v=0\r\no=%s %d %d IN %s %s\r\ns=%s\r\nc=IN %s %s\r\nt=0 0\r\n",
		name, o.SessionID, o.Version, ipv, addr, name, ipv, addr)
	anchored := false
	for _, st := range o.Streams {
		if st.Anchored {
			anchored = true
			break
		}
		b = fmt.Appendf(b, "m=%s 0 %s %s\r\n", st.Media, st.Proto, st.Formats)
	}
	b = fmt.Appendf(b, "m=audio %d RTP/AVP", o.Addr.Port())
	for _, c := range o.Codecs {
		b = fmt.Appendf(b, " %d", c.PayloadType)
	}
	if o.DTMF != 0 {
		b = fmt.Appendf(b, " %d", o.DTMF)
	}
	b = append(b, "\r\n"...)
	for _, c := range o.Codecs {
		rate := c.ClockRate
		if rate <= 0 {
			rate = 8000
		}
		b = fmt.Appendf(b, "a=rtpmap:%d %s/%d\r\n", c.PayloadType, sdpSafeName(c.Name), rate)
	}
	if o.DTMF != 0 {
		b = fmt.Appendf(b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", o.DTMF, o.DTMF)
	}
	b = fmt.Appendf(b, "a=ptime:20\r\na=%s\r\n", dir)
	after := false
	for _, st := range o.Streams {
		if after && anchored {
			b = fmt.Appendf(b, "m=%s 0 %s %s\r\n", st.Media, st.Proto, st.Formats)
		}
		after = after || st.Anchored
	}
	return b
}

// sdpSafeProto keeps a protocol such as RTP/SAVPF: tokens and slashes.
func sdpSafeProto(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = sdpSafeName(p)
	}
	return strings.Join(parts, "/")
}

// sdpSafeFormats keeps an m-line's format list as tokens; "0" if empty.
func sdpSafeFormats(fs []string) string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		if f = sdpSafeName(f); f != "-" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return "0"
	}
	return strings.Join(out, " ")
}

// sdpSafeName makes s usable as an SDP token (o= user name, s=, an rtpmap
// encoding name): every byte outside the token set becomes '-', and an
// empty name is "-".
func sdpSafeName(s string) string {
	if s == "" {
		return "-"
	}
	b := []byte(s)
	for i, c := range b {
		if !sdpTokenByte(c) {
			b[i] = '-'
		}
	}
	return string(b)
}
