package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SDPCodec names one payload format of an audio stream.
type SDPCodec struct {
	Name        string
	PayloadType uint8
	ClockRate   int
}

// SessionDesc is what the B2BUA needs from an SDP body: where the audio
// goes, in which formats, and in which direction.
type SessionDesc struct {
	Addr      netip.AddrPort // connection address and audio port; port 0 means the stream is refused
	Codecs    []SDPCodec     // audio codecs in the offerer's order, telephone-event excluded
	DTMF      uint8          // telephone-event payload type, 0 if none
	Direction string         // sendrecv, sendonly, recvonly or inactive
	Ptime     int
}

var staticCodecs = map[uint8]SDPCodec{0: {"PCMU", 0, 8000}, 8: {"PCMA", 8, 8000}, 9: {"G722", 9, 8000}, 18: {"G729", 18, 8000}, 3: {"GSM", 3, 8000}}

// ParseSDP reads the first audio stream of an SDP body. It refuses bodies
// that are not SDP or have no audio stream; it never panics.
func ParseSDP(body []byte) (SessionDesc, error) {
	var d SessionDesc
	if len(body) == 0 {
		return d, errors.New("sdp: empty body")
	}
	var sessConn, mediaConn netip.Addr
	sessDir, mediaDir := "", ""
	inAudio, seenAudio, seenV := false, false, false
	var pts []uint8
	rtpmap := map[uint8]SDPCodec{}
	port := 0
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if len(line) < 2 || line[1] != '=' {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return d, fmt.Errorf("sdp: bad line %q", line)
		}
		key, val := line[0], line[2:]
		switch key {
		case 'v':
			seenV = true
		case 'm':
			if seenAudio {
				inAudio = false
				continue
			}
			f := strings.Fields(val)
			if len(f) < 3 || f[0] != "audio" {
				inAudio = false
				continue
			}
			p, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || p < 0 || p > 65535 {
				return d, fmt.Errorf("sdp: bad port in %q", line)
			}
			port = p
			for _, s := range f[3:] {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 || n > 127 {
					return d, fmt.Errorf("sdp: bad payload type %q", s)
				}
				pts = append(pts, uint8(n))
			}
			inAudio, seenAudio = true, true
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 || f[0] != "IN" {
				return d, fmt.Errorf("sdp: bad connection %q", line)
			}
			a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
			if err != nil {
				return d, fmt.Errorf("sdp: connection address %q: %w", f[2], err)
			}
			if inAudio {
				mediaConn = a
			} else if !seenAudio {
				sessConn = a
			}
		case 'a':
			name, arg, _ := strings.Cut(val, ":")
			switch name {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if inAudio {
					mediaDir = name
				} else if !seenAudio {
					sessDir = name
				}
			case "rtpmap":
				if !inAudio {
					continue
				}
				ptS, enc, ok := strings.Cut(arg, " ")
				n, err := strconv.Atoi(ptS)
				if !ok || err != nil || n < 0 || n > 127 {
					continue
				}
				parts := strings.Split(enc, "/")
				rate := 8000
				if len(parts) > 1 {
					if r, err := strconv.Atoi(parts[1]); err == nil {
						rate = r
					}
				}
				rtpmap[uint8(n)] = SDPCodec{Name: strings.ToUpper(parts[0]), PayloadType: uint8(n), ClockRate: rate}
			case "ptime":
				if inAudio {
					d.Ptime, _ = strconv.Atoi(strings.TrimSpace(arg))
				}
			}
		}
	}
	if !seenV {
		return d, errors.New("sdp: no v= line")
	}
	if !seenAudio {
		return d, errors.New("sdp: no audio stream")
	}
	conn := mediaConn
	if !conn.IsValid() {
		conn = sessConn
	}
	if !conn.IsValid() {
		return d, errors.New("sdp: no connection address")
	}
	d.Addr = netip.AddrPortFrom(conn, uint16(port))
	for _, pt := range pts {
		c, ok := rtpmap[pt]
		if !ok {
			c, ok = staticCodecs[pt]
		}
		if !ok {
			continue
		}
		if c.Name == "TELEPHONE-EVENT" {
			if d.DTMF == 0 {
				d.DTMF = pt
			}
			continue
		}
		d.Codecs = append(d.Codecs, c)
	}
	d.Direction = "sendrecv"
	if sessDir != "" {
		d.Direction = sessDir
	}
	if mediaDir != "" {
		d.Direction = mediaDir
	}
	if conn.IsUnspecified() && d.Direction == "sendrecv" {
		d.Direction = "sendonly" // RFC 2543 hold: c=0.0.0.0
	}
	return d, nil
}

// Negotiate picks the codec of an answer: the first of the offer's codecs
// that supported names, and the offer's telephone-event type.
func Negotiate(offer SessionDesc, supported []string) (SDPCodec, uint8, error) {
	for _, c := range offer.Codecs {
		for _, s := range supported {
			if strings.EqualFold(c.Name, s) {
				return c, offer.DTMF, nil
			}
		}
	}
	return SDPCodec{}, 0, errors.New("sdp: no codec in common")
}

// AnswerDirection is the direction an answer gives to an offer's.
func AnswerDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// SDPOptions describe the PBX's own SDP.
type SDPOptions struct {
	SessionID, Version uint64
	Addr               netip.AddrPort
	Codecs             []SDPCodec
	DTMF               uint8 // telephone-event payload type; 0 leaves it out
	Direction          string
	UserAgent          string
}

// BuildSDP writes an SDP offer or answer with one audio stream.
func BuildSDP(o SDPOptions) []byte {
	ipv := "IP4"
	if o.Addr.Addr().Is6() && !o.Addr.Addr().Is4In6() {
		ipv = "IP6"
	}
	addr := o.Addr.Addr().Unmap().String()
	name := o.UserAgent
	if name == "" {
		name = "pbx"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=%s %d %d IN %s %s\r\ns=%s\r\nc=IN %s %s\r\nt=0 0\r\n", name, o.SessionID, o.Version, ipv, addr, name, ipv, addr)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", o.Addr.Port())
	for _, c := range o.Codecs {
		fmt.Fprintf(&b, " %d", c.PayloadType)
	}
	if o.DTMF != 0 {
		fmt.Fprintf(&b, " %d", o.DTMF)
	}
	b.WriteString("\r\n")
	for _, c := range o.Codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", c.PayloadType, c.Name, c.ClockRate)
	}
	if o.DTMF != 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", o.DTMF, o.DTMF)
	}
	dir := o.Direction
	if dir == "" {
		dir = "sendrecv"
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return []byte(b.String())
}
