package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// This file reads the Refer-To header of a REFER (RFC 3515) and the Replaces
// value (RFC 3891) that an attended transfer carries inside it. A phone's
// transfer button sends one of two shapes:
//
//	Refer-To: <sip:1003@pbx.example>                     blind transfer
//	Refer-To: <sip:1003@pbx?Replaces=id%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>
//	                                                     attended transfer

// referToMax bounds the Refer-To value the PBX reads; real ones are far
// shorter, and a longer one is an attack or garbage.
const referToMax = 2048

// ReferTo is what a Refer-To header asks for: the target to send the other
// party to and, when the phone joins two of its own calls, the dialog the
// new call replaces.
type ReferTo struct {
	// User is the target URI's user part, %-escapes decoded and any
	// password or telephone-subscriber parameters dropped: the number the
	// dial plan routes. It is never empty and holds no control character.
	User string
	// Host is the target URI's host, without port, and for an IPv6
	// address without brackets. It is never empty.
	Host string
	// Replaces, when not nil, names the dialog an attended transfer
	// replaces.
	Replaces *Replaces
}

// Replaces names a dialog by its Call-ID and tags (RFC 3891). Phones write
// the tags from their own view of the dialog, which need not be the PBX's,
// so a matcher should accept them either way round.
type Replaces struct {
	CallID  string // never empty
	ToTag   string
	FromTag string
	// EarlyOnly asks that only a dialog not yet answered be replaced.
	EarlyOnly bool
}

// ParseReferTo reads a Refer-To value: an optional display name (quoted or
// not), a SIP or SIPS URI in angle brackets or bare, and among the URI's
// headers an optional Replaces. It never panics. Header names and the
// scheme are compared without case; a '+' in the Replaces value stays a
// '+' (Call-IDs may hold one), unlike in a web form.
func ParseReferTo(v string) (ReferTo, error) {
	var r ReferTo
	v = strings.TrimSpace(v)
	if v == "" {
		return r, errors.New("refer-to: empty")
	}
	if len(v) > referToMax {
		return r, fmt.Errorf("refer-to: %d bytes is too long", len(v))
	}
	uri, err := referToURI(v)
	if err != nil {
		return r, err
	}
	uri, headers, _ := strings.Cut(uri, "?")
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") {
		return r, fmt.Errorf("refer-to %.60q: not a SIP URI", uri)
	}
	userinfo, hostport, ok := strings.Cut(rest, "@")
	if !ok {
		return r, fmt.Errorf("refer-to %.60q: no user part", uri)
	}
	if r.User, err = referToUser(userinfo); err != nil {
		return r, fmt.Errorf("refer-to %.60q: %w", uri, err)
	}
	if r.Host, err = referToHost(hostport); err != nil {
		return r, fmt.Errorf("refer-to %.60q: %w", uri, err)
	}
	if headers == "" {
		return r, nil
	}
	for _, kv := range strings.Split(headers, "&") {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "Replaces") {
			continue
		}
		if r.Replaces != nil {
			return r, errors.New("refer-to: Replaces given twice")
		}
		value, err := url.PathUnescape(value)
		if err != nil {
			return r, fmt.Errorf("refer-to: Replaces: %w", err)
		}
		rp, err := ParseReplaces(value)
		if err != nil {
			return r, fmt.Errorf("refer-to: %w", err)
		}
		r.Replaces = &rp
	}
	return r, nil
}

// referToURI takes the URI out of a name-addr or addr-spec. A quoted
// display name is skipped as a whole, so a '<' inside it is not taken for
// the URI's start. A bare URI ends at the first ';', where the header's own
// parameters begin.
func referToURI(v string) (string, error) {
	rest := v
	quoted := false
	if strings.HasPrefix(v, `"`) {
		end := quotedStringEnd(v)
		if end < 0 {
			return "", errors.New("refer-to: display name without its closing quote")
		}
		rest, quoted = v[end:], true
	}
	i := strings.IndexByte(rest, '<')
	if i < 0 {
		if quoted {
			return "", errors.New("refer-to: display name without a URI in <>")
		}
		uri, _, _ := strings.Cut(rest, ";")
		return strings.TrimSpace(uri), nil
	}
	j := strings.IndexByte(rest[i:], '>')
	if j < 0 {
		return "", errors.New("refer-to: no closing >")
	}
	return strings.TrimSpace(rest[i+1 : i+j]), nil
}

// quotedStringEnd returns the index just past the closing quote of the
// quoted string s starts with, honouring backslash escapes, or -1.
func quotedStringEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// referToUser decodes a URI's userinfo into the number it names.
func referToUser(userinfo string) (string, error) {
	user, _, _ := strings.Cut(userinfo, ";") // telephone-subscriber parameters
	user, _, _ = strings.Cut(user, ":")      // a password, which no one should send
	u, err := url.PathUnescape(user)
	switch {
	case err != nil:
		return "", fmt.Errorf("bad user part: %w", err)
	case u == "":
		return "", errors.New("no user part")
	case hasControl(u):
		return "", errors.New("control character in the user part")
	}
	return u, nil
}

// referToHost reads the host of a hostport followed by URI parameters.
func referToHost(hostport string) (string, error) {
	hostport, _, _ = strings.Cut(hostport, ";")
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", errors.New("IPv6 host without its closing ]")
		}
		a, err := netip.ParseAddr(hostport[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("bad IPv6 host %.60q", hostport[:end+1])
		}
		return a.String(), nil
	}
	host, _, _ := strings.Cut(hostport, ":")
	if !isHostname(host) {
		return "", fmt.Errorf("bad host %.60q", host)
	}
	return host, nil
}

// isHostname reports whether s is usable as a host name or IPv4 address:
// letters, digits, '-', '.' and (as some networks use it) '_'.
func isHostname(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds an ASCII control character (DEL
// included): such a byte in a number or a tag is never legitimate, and CR or
// LF could split a header the value is later written into.
func hasControl(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// ParseReplaces reads a Replaces value (RFC 3891): a Call-ID followed by
// to-tag, from-tag and early-only parameters in any order, names compared
// without case. Unknown parameters are ignored. It is the value of an
// INVITE's Replaces header, or the unescaped Replaces of a Refer-To URI.
func ParseReplaces(v string) (Replaces, error) {
	var rp Replaces
	if len(v) > referToMax {
		return rp, fmt.Errorf("replaces: %d bytes is too long", len(v))
	}
	parts := strings.Split(v, ";")
	rp.CallID = strings.TrimSpace(parts[0])
	if rp.CallID == "" {
		return rp, errors.New("replaces: no Call-ID")
	}
	if strings.ContainsAny(rp.CallID, " \t") || hasControl(rp.CallID) {
		return rp, fmt.Errorf("replaces: bad Call-ID %.60q", rp.CallID)
	}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			rp.ToTag = val
		case "from-tag":
			rp.FromTag = val
		case "early-only":
			rp.EarlyOnly = true
		default:
			continue
		}
		if hasControl(val) {
			return rp, errors.New("replaces: control character in a tag")
		}
	}
	return rp, nil
}
