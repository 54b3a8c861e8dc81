package dialog

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// LegHeaders returns the SIP headers of a leg's initial INVITE, in order,
// each as {name, value}: for an inbound leg as the far end sent them, for
// an outbound leg as the PBX sent them (the INVITE that was answered, or,
// while the leg rings, the first one sent). A control plane shows them as
// the call's variables (ECCP getchanvars) without reaching into SIP;
// credentials are not among them. ok is
// false when there is no such leg; a leg whose INVITE has not left yet
// has none.
func (e *Engine) LegHeaders(legID string) ([][2]string, bool) {
	l := e.leg(legID)
	if l == nil {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][2]string(nil), l.invite...), true
}

// headerPairs copies a request's headers, so that they can be read after
// the request is gone or changed (a retry with credentials). Headers that
// carry credentials are left out: a control plane never sees a digest
// response.
func headerPairs(req *sipmsg.Request) [][2]string {
	hs := req.Headers()
	out := make([][2]string, 0, len(hs))
	for _, h := range hs {
		if !credentials(h.Name()) {
			out = append(out, [2]string{h.Name(), h.Value()})
		}
	}
	return out
}

// credentials reports a header that carries credentials or a challenge.
func credentials(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate":
		return true
	}
	return false
}

// noteInvite keeps the headers of the leg's INVITE: the first one sent,
// unless final (the INVITE that was answered) replaces it.
func (l *Leg) noteInvite(hdrs [][2]string, final bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if final || l.invite == nil {
		l.invite = hdrs
	}
}
