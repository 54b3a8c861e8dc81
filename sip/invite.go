package sip

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	sipmsg "github.com/emiago/sipgo/sip"
)

// This file builds the INVITE that starts an outbound call (to a phone's
// contact or through a trunk) and checks the extra headers a control plane
// may add to it. Via, Call-ID, CSeq and Contact are left for sipgo's client
// to fill in when the request is sent.

// AllowMethods is the Allow header value of the PBX as a user agent: the
// methods it takes inside a dialog.
const AllowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY, REFER, MESSAGE"

// DefaultMaxForwards is the Max-Forwards of a request that starts a call
// (RFC 3261 §8.1.1.6), and the most an outbound INVITE carries.
const DefaultMaxForwards = 70

// Bounds on an extra header: generous for any real use, small enough that
// a program cannot make the PBX send a request too large for UDP.
const (
	extraNameMax  = 128
	extraValueMax = 2048
)

// ErrExtraHeader is wrapped by the errors of ValidExtraHeader.
var ErrExtraHeader = errors.New("sip: extra header refused")

// InviteOptions describe an outbound INVITE.
type InviteOptions struct {
	// Target is the Request-URI: a registered contact, or the number at a
	// trunk's host.
	Target sipmsg.Uri
	// Destination is the host:port the request is sent to, and Transport
	// its transport ("udp", "tcp", "tls", "ws", "wss"); empty leaves them
	// to sipgo, which resolves the Target.
	Destination, Transport string
	// FromUser, FromName and FromHost make the From header (which gets a
	// fresh tag): the caller's number, display name and the PBX's host.
	FromUser, FromName, FromHost string
	// ToUser and ToHost make the To header; ToHost defaults to the
	// Target's host.
	ToUser, ToHost string
	// MaxForwards is what is left of the caller's hops, so that a call
	// looping through trunks dies out: 0 or less means DefaultMaxForwards,
	// and more than DefaultMaxForwards is cut down to it.
	MaxForwards int
	// UserAgent goes in User-Agent; empty leaves the header out, as does
	// a User-Agent among Headers, which then wins.
	UserAgent string
	// Headers are extra headers a program asked for, appended in order.
	// Any that ValidExtraHeader refuses is left out: it cannot replace the
	// headers that make the dialog, nor split a header with CR or LF.
	Headers []sipmsg.Header
	// SDP is the offer; with it comes Content-Type: application/sdp.
	// Empty sends an INVITE without offer.
	SDP []byte
}

// NewInvite builds an out-of-dialog INVITE: Request-URI, From with a tag,
// To, Max-Forwards, Content-Type (with an offer), Allow, Supported: timer,
// User-Agent, the extra headers and the body. The user parts are %-escaped
// where RFC 3261 wants it (an escape already there is kept) and the display
// name is quoted with any bare '"' or '\' escaped and control characters
// dropped, so that nothing a caller or a program supplies can break the
// request's framing.
func NewInvite(o InviteOptions) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.INVITE, o.Target)
	if o.Destination != "" {
		req.SetDestination(o.Destination)
	}
	if o.Transport != "" {
		req.SetTransport(o.Transport)
	}
	from := &sipmsg.FromHeader{
		DisplayName: quoteDisplayName(o.FromName),
		Address:     sipmsg.Uri{Scheme: "sip", User: escapeUser(o.FromUser), Host: o.FromHost},
		Params:      sipmsg.NewParams(),
	}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	toHost := o.ToHost
	if toHost == "" {
		toHost = o.Target.Host
	}
	req.AppendHeader(&sipmsg.ToHeader{
		Address: sipmsg.Uri{Scheme: "sip", User: escapeUser(o.ToUser), Host: toHost},
		Params:  sipmsg.NewParams(),
	})
	hops := o.MaxForwards
	if hops <= 0 || hops > DefaultMaxForwards {
		hops = DefaultMaxForwards
	}
	mf := sipmsg.MaxForwardsHeader(hops)
	req.AppendHeader(&mf)
	if len(o.SDP) > 0 {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	}
	req.AppendHeader(sipmsg.NewHeader("Allow", AllowMethods))
	req.AppendHeader(sipmsg.NewHeader("Supported", "timer"))
	ua := o.UserAgent
	var extra []sipmsg.Header
	for _, h := range o.Headers {
		if h == nil || ValidExtraHeader(h.Name(), h.Value()) != nil {
			continue
		}
		if strings.EqualFold(h.Name(), "User-Agent") {
			ua = ""
		}
		extra = append(extra, sipmsg.NewHeader(h.Name(), h.Value()))
	}
	if ua = stripControl(ua); ua != "" {
		req.AppendHeader(sipmsg.NewHeader("User-Agent", ua))
	}
	for _, h := range extra {
		req.AppendHeader(h)
	}
	if len(o.SDP) > 0 {
		req.SetBody(o.SDP)
	}
	return req
}

// reservedHeaders are the headers, long and compact names in lower case,
// that make a request's dialog, transaction or framing. The PBX writes them
// itself; a program may not.
var reservedHeaders = map[string]bool{
	"via": true, "v": true,
	"from": true, "f": true,
	"to": true, "t": true,
	"call-id": true, "i": true,
	"cseq":    true,
	"contact": true, "m": true,
	"max-forwards":   true,
	"content-length": true, "l": true,
	"content-type": true, "c": true,
}

// ValidExtraHeader checks a header a control plane asks to add to a request:
// the name must be an RFC 3261 token of at most 128 bytes and not one of the
// headers the PBX owns (Via, From, To, Call-ID, CSeq, Contact, Max-Forwards,
// Content-Length, Content-Type, or their compact forms); the value must be
// UTF-8 of at most 2048 bytes with no control character but tab, so it
// cannot end the header and start another. The error wraps ErrExtraHeader.
func ValidExtraHeader(name, value string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrExtraHeader)
	case len(name) > extraNameMax:
		return fmt.Errorf("%w: name of %d bytes is too long", ErrExtraHeader, len(name))
	case !isToken(name):
		return fmt.Errorf("%w: name %q is not a token", ErrExtraHeader, name)
	case reservedHeaders[strings.ToLower(name)]:
		return fmt.Errorf("%w: %s is set by the PBX", ErrExtraHeader, name)
	case len(value) > extraValueMax:
		return fmt.Errorf("%w: %s: value of %d bytes is too long", ErrExtraHeader, name, len(value))
	case !utf8.ValidString(value):
		return fmt.Errorf("%w: %s: value is not UTF-8", ErrExtraHeader, name)
	case strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }):
		return fmt.Errorf("%w: %s: control character in the value", ErrExtraHeader, name)
	}
	return nil
}

// isToken reports whether s is a non-empty RFC 3261 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.!%*_+`'~", c) >= 0) {
			return false
		}
	}
	return true
}

// escapeUser writes s as the user part of a SIP URI: the characters RFC
// 3261 allows there stay, a well-formed %XX escape stays, anything else
// becomes %XX. A number from a Refer-To, a trunk's caller id or a program
// thus goes in as it is, and an '@', '>' or line break cannot break out.
func escapeUser(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteString(s[i : i+3])
			i += 2
		case userByte(c):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// userByte reports whether c may appear unescaped in a SIP URI's user
// part: unreserved characters and the user-unreserved ones.
func userByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// quoteDisplayName makes s safe between the quotes sipgo writes around a
// display name: control characters go, a backslash pair (as sipgo keeps it
// from a parsed header) stays, and a lone '"' or '\' is escaped.
func quoteDisplayName(s string) string {
	s = stripControl(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripControl drops ASCII control characters but tab, and anything that is
// not UTF-8, from a value written into a header.
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}
