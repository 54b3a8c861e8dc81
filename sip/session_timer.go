package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// This file negotiates RFC 4028 session timers. A far end that asks for one
// (Session-Expires in an INVITE, re-INVITE or UPDATE) promises that one side
// of the dialog, the refresher, repeats the request every half interval;
// when refreshes stop, the other side ends the call, so a dead phone or a
// lost BYE does not leave a call up for ever. Everything here is pure: the
// caller passes the time and arms its own timers.

// Refresher names the side that refreshes a session, in the words of the
// refresher parameter: the UAC or the UAS of the refreshing transaction.
type Refresher string

// The two refreshers.
const (
	RefresherUAC Refresher = "uac"
	RefresherUAS Refresher = "uas"
)

// MinSessionInterval is the smallest session interval RFC 4028 allows
// anyone to configure (its §4): 90 seconds.
const MinSessionInterval = 90 * time.Second

// sessionMaxDelta bounds a delta-seconds value: 2^32-1 seconds (136 years)
// is more than any session needs, and keeps every interval a valid Duration.
const sessionMaxDelta = 1<<32 - 1

// SessionTimerPolicy is what the PBX accepts and asks for.
type SessionTimerPolicy struct {
	// MinSE is the smallest interval accepted. A request asking for less
	// gets a 422 (or, from a far end that cannot understand a 422, the
	// interval raised to MinSE). 0 means MinSessionInterval, the RFC's
	// floor; a smaller explicit value is honoured, for test rigs.
	MinSE time.Duration
	// Expires, when set, is the interval the PBX wants: it is granted to a
	// far end that supports session timers but asked for none, and a longer
	// interval asked for is cut down to it (never below MinSE, nor below
	// the request's own Min-SE). 0 accepts whatever the far end asks and
	// imposes nothing.
	Expires time.Duration
}

// SessionTimer is the session timer of a dialog as a 2xx sets it.
type SessionTimer struct {
	// Interval is the session interval, in whole seconds; 0 means the
	// dialog has no session timer (and any timer running for it stops).
	Interval time.Duration
	// Refresher is the refresher parameter written in Session-Expires.
	Refresher Refresher
	// LocalRefresh is true when the PBX is the refresher and must send a
	// re-INVITE or UPDATE by RefreshAt; false when the far end refreshes
	// and the PBX ends the call at Deadline if no refresh came.
	LocalRefresh bool
	// Require is true when the far end supports session timers, so the
	// 2xx carries Require: timer.
	Require bool
	// Start is when the session was set up or last refreshed: the time
	// passed to the negotiation.
	Start time.Time
}

// Active reports whether the dialog has a session timer.
func (st SessionTimer) Active() bool { return st.Interval > 0 }

// Headers are the header fields that go on the 2xx answering the request
// negotiated: Session-Expires with the refresher and, when the far end
// supports the extension, Require: timer. None when the timer is off.
func (st SessionTimer) Headers() []sipmsg.Header {
	if !st.Active() {
		return nil
	}
	hs := []sipmsg.Header{sipmsg.NewHeader("Session-Expires",
		strconv.FormatInt(int64(st.Interval/time.Second), 10)+";refresher="+string(st.Refresher))}
	if st.Require {
		hs = append(hs, sipmsg.NewHeader("Require", "timer"))
	}
	return hs
}

// Deadline is the time by which the far end's refresh must have arrived:
// when it has not, the PBX sends BYE. RFC 4028 §10 sets it before the
// session expires by a third of the interval, at most 32 seconds, so that
// the BYE itself can still get through. The zero time when inactive.
func (st SessionTimer) Deadline() time.Time {
	if !st.Active() {
		return time.Time{}
	}
	return st.Start.Add(st.Interval - min(32*time.Second, st.Interval/3))
}

// RefreshAt is when the refresher should send its refresh: half way
// through the interval (RFC 4028 §7.4). The zero time when inactive.
func (st SessionTimer) RefreshAt() time.Time {
	if !st.Active() {
		return time.Time{}
	}
	return st.Start.Add(st.Interval / 2)
}

// NegotiateSessionTimer answers the session-timer part of an INVITE,
// re-INVITE or UPDATE the PBX receives as UAS (RFC 4028 §9), at time now.
// It returns either the timer the 2xx sets, whose Headers go on the 2xx,
// or a response to send instead:
//
//   - 400 when Session-Expires or Min-SE is malformed;
//   - 422 Session Interval Too Small with the PBX's Min-SE, when the far
//     end supports session timers and asks for less than the policy's
//     MinSE. A far end that does not support them would not understand a
//     422, so its interval is raised to MinSE instead.
//
// Without Session-Expires there is no timer, unless the policy sets Expires
// and the far end supports timers. The refresher is the one the request
// names; else the far end when it supports timers (it then refreshes, and
// the PBX only watches); else the PBX, the only side that can.
func NegotiateSessionTimer(req *sipmsg.Request, p SessionTimerPolicy, now time.Time) (SessionTimer, *sipmsg.Response) {
	st := SessionTimer{Start: now}
	supported := SupportsTimer(req)
	floor := MinSessionInterval
	if p.MinSE > 0 {
		floor = ceilSecond(p.MinSE) // an operator's explicit floor, even below the RFC's (test rigs)
	}

	var reqMin time.Duration
	if h := firstHeader(req, "Min-SE", ""); h != nil {
		d, err := ParseMinSE(h.Value())
		if err != nil {
			return st, badRequest(req, "Bad Min-SE")
		}
		reqMin = d
	}

	h := firstHeader(req, "Session-Expires", "x")
	if h == nil {
		if p.Expires <= 0 || !supported {
			return st, nil
		}
		st.Interval = max(ceilSecond(p.Expires), floor, reqMin)
		st.Refresher, st.Require = RefresherUAC, true
		return st, nil
	}
	interval, refresher, err := ParseSessionExpires(h.Value())
	if err != nil {
		return st, badRequest(req, "Bad Session-Expires")
	}
	if interval < floor {
		if supported {
			res := sipmsg.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
			res.AppendHeader(sipmsg.NewHeader("Min-SE", strconv.FormatInt(int64(floor/time.Second), 10)))
			return st, res
		}
		interval = floor
	}
	if p.Expires > 0 && interval > p.Expires {
		interval = max(ceilSecond(p.Expires), floor)
	}
	interval = max(interval, reqMin)

	st.Interval = interval
	st.Require = supported
	switch {
	case !supported:
		st.Refresher = RefresherUAS
	case refresher != "":
		st.Refresher = refresher
	default:
		st.Refresher = RefresherUAC
	}
	st.LocalRefresh = st.Refresher == RefresherUAS
	return st, nil
}

// SessionTimerFromResponse reads the session timer a 2xx sets on a request
// the PBX sent as UAC, at time now: none without Session-Expires; the PBX
// refreshes when the refresher is uac or, as the UAS left it out, unnamed.
// A malformed Session-Expires is an error; the session then has no timer.
func SessionTimerFromResponse(res *sipmsg.Response, now time.Time) (SessionTimer, error) {
	st := SessionTimer{Start: now}
	h := firstHeader(res, "Session-Expires", "x")
	if h == nil {
		return st, nil
	}
	interval, refresher, err := ParseSessionExpires(h.Value())
	if err != nil {
		return st, err
	}
	if interval == 0 {
		return st, errors.New("session-expires: interval of 0")
	}
	if refresher == "" {
		refresher = RefresherUAC
	}
	st.Interval, st.Refresher = interval, refresher
	st.LocalRefresh = refresher == RefresherUAC
	return st, nil
}

// ParseSessionExpires reads a Session-Expires value (RFC 4028 §4):
// delta-seconds, then parameters of which only refresher=uac|uas counts
// (value compared without case; "" when absent). Blanks around the tokens
// are allowed; anything else malformed is an error.
func ParseSessionExpires(v string) (interval time.Duration, refresher Refresher, err error) {
	delta, params, _ := strings.Cut(v, ";")
	interval, err = parseDeltaSeconds(delta)
	if err != nil {
		return 0, "", fmt.Errorf("session-expires: %w", err)
	}
	for _, p := range strings.Split(params, ";") {
		if params == "" {
			break
		}
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "refresher") {
			continue
		}
		switch r := Refresher(strings.ToLower(strings.TrimSpace(value))); r {
		case RefresherUAC, RefresherUAS:
			refresher = r
		default:
			return 0, "", fmt.Errorf("session-expires: refresher %.20q is neither uac nor uas", value)
		}
	}
	return interval, refresher, nil
}

// ParseMinSE reads a Min-SE value (RFC 4028 §5): delta-seconds, then
// parameters, which are ignored.
func ParseMinSE(v string) (time.Duration, error) {
	delta, _, _ := strings.Cut(v, ";")
	d, err := parseDeltaSeconds(delta)
	if err != nil {
		return 0, fmt.Errorf("min-se: %w", err)
	}
	return d, nil
}

// parseDeltaSeconds reads 1*DIGIT, blanks around it allowed, up to
// sessionMaxDelta.
func parseDeltaSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("no delta-seconds")
	}
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("delta-seconds %.20q is not a number", s)
		}
		n = n*10 + int64(c-'0')
		if n > sessionMaxDelta {
			return 0, fmt.Errorf("delta-seconds %.20q is too large", s)
		}
	}
	return time.Duration(n) * time.Second, nil
}

// SupportsTimer reports whether a message's sender supports session timers:
// "timer" among the option tags of its Supported (or compact k) or Require
// headers, in any case.
func SupportsTimer(m sipmsg.Message) bool {
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range m.GetHeaders(name) {
			for _, tag := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tag), "timer") {
					return true
				}
			}
		}
	}
	return false
}

// firstHeader is a message's first header of a name, or of its compact
// form when compact is not "".
func firstHeader(m sipmsg.Message, name, compact string) sipmsg.Header {
	if hs := m.GetHeaders(name); len(hs) > 0 {
		return hs[0]
	}
	if hs := m.GetHeaders(compact); compact != "" && len(hs) > 0 {
		return hs[0]
	}
	return nil
}

// ceilSecond rounds d up to whole seconds, as headers carry them.
func ceilSecond(d time.Duration) time.Duration {
	if t := d.Truncate(time.Second); t < d {
		return t + time.Second
	}
	return d
}

func badRequest(req *sipmsg.Request, reason string) *sipmsg.Response {
	return sipmsg.NewResponseFromRequest(req, 400, reason, nil)
}
