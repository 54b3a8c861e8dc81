package dialog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sounds"
)

// ErrTransfer is returned when a transfer cannot start: no such target,
// a target the transferor may not reach, or one already in progress.
var ErrTransfer = errors.New("dialog: transfer refused")

// consultation is an attended transfer in progress: the held party hears
// music while the transferor talks to the target.
type consultation struct {
	transferor *Leg
	held       *Leg
	target     *Leg
	done       chan struct{}
}

func (c *Call) consultation() *consultation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.consult
}

// beginTransfer claims the call for one transfer at a time: not while
// another is dialing, nor during a consultation.
func (c *Call) beginTransfer() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.transferring || c.consult != nil {
		return false
	}
	c.transferring = true
	return true
}

func (c *Call) endTransfer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.transferring = false
}

// otherTalker is the party facing l in an answered two-party call.
func (c *Call) otherTalker(l *Leg) *Leg {
	legs := c.talkers()
	switch {
	case len(legs) != 2:
		return nil
	case legs[0] == l:
		return legs[1]
	case legs[1] == l:
		return legs[0]
	}
	return nil
}

// routeTransfer finds where a transfer's number goes, with the toll-fraud
// rule: only a user's leg may transfer to a trunk.
func (e *Engine) routeTransfer(transferor *Leg, number string) (Route, error) {
	route, ok := e.plan.Route(number)
	switch {
	case !ok:
		return route, fmt.Errorf("transfer to %s: %w: no route", number, ErrTransfer)
	case route.Kind != "extension" && route.Kind != "trunk":
		return route, fmt.Errorf("transfer to %s: %w: target %s cannot be dialled", number, ErrTransfer, route.Kind)
	case route.Kind == "trunk" && transferor.user == "":
		return route, fmt.Errorf("transfer to %s: %w: only users may transfer to a trunk", number, ErrTransfer)
	}
	return route, nil
}

// dialTarget rings a transfer's target on behalf of the call.
func (c *Call) dialTransfer(route Route) (*Leg, Cause) {
	ctx, cancel := context.WithTimeout(context.Background(), c.e.cfg.Calls.RingTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return c.e.dial(ctx, c, route)
}

// blindTransfer sends the party facing transferor to number. That party
// hears music while the target rings; when the target answers, the two
// are bridged and the transferor leaves the call. When the target fails,
// the party returns to the transferor, who hears that the transfer failed.
// progress, when set (a REFER), is told the target's progress as SIP
// status codes.
func (c *Call) blindTransfer(transferor *Leg, number string, progress func(code int, reason string)) error {
	report := func(code int, reason string) {
		if progress != nil {
			progress(code, reason)
		}
	}
	transferee := c.otherTalker(transferor)
	if transferee == nil || !c.beginTransfer() {
		report(503, "Service Unavailable")
		return fmt.Errorf("transfer call %s: %w: not a two-party call, or a transfer is under way", c.ID, ErrTransfer)
	}
	defer c.endTransfer()
	route, err := c.e.routeTransfer(transferor, number)
	if err != nil {
		report(403, "Forbidden")
		return err
	}
	c.log.Info("blind transfer", "transferor", transferor.ID, "transferee", transferee.ID, "target", number)
	c.publishTransfer(EventTransferStarted, transferor, number, "")
	c.hold(transferee, transferee.musicClass)
	target, cause := c.dialTransfer(route)
	c.unhold(transferee)
	if target == nil {
		code, reason := cause.SIP()
		report(code, reason)
		c.log.Info("transfer failed", "target", number, "cause", cause.String())
		c.publishTransfer(EventTransferFailed, transferor, number, cause.String())
		if progress == nil {
			c.playInto(transferor, false, sounds.TransferFailed)
		}
		return fmt.Errorf("transfer call %s to %s: %s", c.ID, number, cause)
	}
	if !c.replace(transferor, target) {
		target.bye()
		target.ep.Close()
		report(487, "Request Terminated")
		return fmt.Errorf("transfer call %s: %w: the call ended", c.ID, ErrTransfer)
	}
	report(200, "OK")
	c.publishTransfer(EventTransferDone, transferor, number, "")
	c.release(transferor, progress != nil)
	return nil
}

// replace puts new in old's place in the call and reconnects the media.
func (c *Call) replace(old, new *Leg) bool {
	c.mu.Lock()
	switch {
	case c.ended:
		c.mu.Unlock()
		return false
	case c.a == old:
		c.a = new
	case c.b == old:
		c.b = new
	default:
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()
	new.cur.Store(c)
	old.mu.Lock()
	old.detached = true
	old.mu.Unlock()
	c.mediaMu.Lock()
	delete(c.m.heldBy, old)
	delete(c.m.apiHold, old)
	c.remixLocked()
	c.mediaMu.Unlock()
	c.watchMedia()
	return true
}

// release ends a leg that left the call. A phone that asked for the
// transfer by REFER hangs up by itself once told it succeeded; it gets a
// BYE only if it has not within two seconds.
func (c *Call) release(l *Leg, waitForBye bool) {
	l.stopSessionTimer()
	l.ep.Close()
	if waitForBye {
		select {
		case <-l.gone:
			return
		case <-time.After(2 * time.Second):
		}
	}
	l.mu.Lock()
	byed := l.byeSent
	l.byeSent = true
	l.mu.Unlock()
	if !byed {
		l.bye()
	}
	c.e.unindexLeg(l)
}

func (c *Call) publishTransfer(kind EventKind, l *Leg, target, cause string) {
	c.e.events.publish(Event{Kind: kind, CallID: c.ID, LegID: l.ID, From: c.From, To: c.To, Detail: target, Cause: cause})
}

// hold plays l the music of a class instead of the other party.
func (c *Call) hold(l *Leg, class string) {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	if c.m.apiHold == nil {
		c.m.apiHold = map[*Leg]string{}
	}
	c.m.apiHold[l] = class
	c.remixLocked()
}

func (c *Call) unhold(l *Leg) {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	delete(c.m.apiHold, l)
	c.remixLocked()
}

// startConsultation begins an attended transfer: the party facing
// transferor hears music while the PBX rings number; when it answers, the
// transferor talks to it. Then the transferor hangs up to complete the
// transfer, or keys the code again (or the target hangs up) to return.
func (c *Call) startConsultation(transferor *Leg, number string) (*consultation, error) {
	held := c.otherTalker(transferor)
	if held == nil || !c.beginTransfer() {
		return nil, fmt.Errorf("attended transfer in call %s: %w: not a two-party call, or a transfer is under way", c.ID, ErrTransfer)
	}
	defer c.endTransfer()
	route, err := c.e.routeTransfer(transferor, number)
	if err != nil {
		return nil, err
	}
	c.log.Info("attended transfer", "transferor", transferor.ID, "held", held.ID, "target", number)
	c.publishTransfer(EventTransferStarted, transferor, number, "")
	c.hold(held, held.musicClass)
	target, cause := c.dialTransfer(route)
	if target == nil {
		c.unhold(held)
		c.publishTransfer(EventTransferFailed, transferor, number, cause.String())
		c.playInto(transferor, false, sounds.TransferFailed)
		return nil, fmt.Errorf("attended transfer in call %s to %s: %s", c.ID, number, cause)
	}
	cs := &consultation{transferor: transferor, held: held, target: target, done: make(chan struct{})}
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		target.bye()
		target.ep.Close()
		return nil, fmt.Errorf("attended transfer in call %s: %w: the call ended", c.ID, ErrTransfer)
	}
	c.consult = cs
	c.mu.Unlock()
	c.mediaMu.Lock()
	delete(c.m.apiHold, held) // the consultation plays the music now
	c.remixLocked()
	c.mediaMu.Unlock()
	target.ep.SetTimeout(c.e.cfg.Media.RTPTimeout, func() { c.cancelConsultation(cs, "target media timeout") })
	return cs, nil
}

// completeConsultation bridges the held party with the target and lets
// the transferor go.
func (c *Call) completeConsultation(cs *consultation, byeTransferor bool) bool {
	if !c.endConsultation(cs) {
		return false
	}
	if !c.replace(cs.transferor, cs.target) {
		return false
	}
	c.log.Info("attended transfer completed", "held", cs.held.ID, "target", cs.target.ID)
	c.publishTransfer(EventTransferDone, cs.transferor, cs.target.peer, "")
	if byeTransferor {
		c.release(cs.transferor, false)
	}
	return true
}

// cancelConsultation hangs up the target and reconnects the transferor
// with the held party.
func (c *Call) cancelConsultation(cs *consultation, why string) bool {
	if !c.endConsultation(cs) {
		return false
	}
	cs.target.mu.Lock()
	cs.target.detached = true
	cs.target.mu.Unlock()
	c.remix()
	cs.target.bye()
	cs.target.ep.Close()
	c.log.Info("attended transfer cancelled", "why", why)
	c.publishTransfer(EventTransferFailed, cs.transferor, cs.target.peer, why)
	return true
}

// endConsultation makes cs no longer the call's consultation; false when
// it was not (already completed or cancelled).
func (c *Call) endConsultation(cs *consultation) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.consult != cs {
		return false
	}
	c.consult = nil
	close(cs.done)
	return true
}

// legGone is told that a leg's far end hung up; it reports whether the
// call goes on without it (a consultation ends, a detached leg leaves).
func (c *Call) legGone(l *Leg) bool {
	l.mu.Lock()
	detached := l.detached
	l.mu.Unlock()
	if detached {
		return true
	}
	cs := c.consultation()
	switch {
	case cs == nil:
		return false
	case l == cs.target:
		l.mu.Lock()
		l.byeSent = true
		l.mu.Unlock()
		return c.cancelConsultation(cs, "target hung up")
	case l == cs.transferor:
		cs.transferor.mu.Lock()
		cs.transferor.byeSent = true
		cs.transferor.mu.Unlock()
		return c.completeConsultation(cs, false)
	}
	return false
}

// Transfer is the engine API's blind transfer: the leg legID is sent to
// target, and the party it was talking to leaves the call once target
// answers. It returns when the transfer has succeeded or failed.
func (e *Engine) Transfer(legID, target string) error {
	l := e.legByID(legID)
	if l == nil {
		return fmt.Errorf("transfer %s: %w", legID, ErrNoLeg)
	}
	c := l.call()
	transferor := c.otherTalker(l)
	if transferor == nil {
		return fmt.Errorf("transfer %s: %w: not talking to anyone", legID, ErrTransfer)
	}
	return c.blindTransfer(transferor, target, nil)
}

// Consultation is an attended transfer started through the engine API.
type Consultation struct {
	c  *Call
	cs *consultation
}

// AttendedTransfer holds leg legID with music while the PBX dials target
// and connects it to the party legID was talking to; Complete then joins
// legID with the target, Cancel returns to the call as it was.
func (e *Engine) AttendedTransfer(legID, target string) (*Consultation, error) {
	l := e.legByID(legID)
	if l == nil {
		return nil, fmt.Errorf("attended transfer %s: %w", legID, ErrNoLeg)
	}
	c := l.call()
	transferor := c.otherTalker(l)
	if transferor == nil {
		return nil, fmt.Errorf("attended transfer %s: %w: not talking to anyone", legID, ErrTransfer)
	}
	cs, err := c.startConsultation(transferor, target)
	if err != nil {
		return nil, err
	}
	return &Consultation{c: c, cs: cs}, nil
}

// Complete joins the held leg with the target; the transferor is hung up.
func (x *Consultation) Complete() error {
	if !x.c.completeConsultation(x.cs, true) {
		return fmt.Errorf("complete transfer in call %s: %w: it is over", x.c.ID, ErrTransfer)
	}
	return nil
}

// Cancel hangs up the target and reconnects the transferor with the held leg.
func (x *Consultation) Cancel() error {
	if !x.c.cancelConsultation(x.cs, "cancelled") {
		return fmt.Errorf("cancel transfer in call %s: %w: it is over", x.c.ID, ErrTransfer)
	}
	return nil
}

// Done is closed when the consultation is completed or cancelled.
func (x *Consultation) Done() <-chan struct{} { return x.cs.done }

// onRefer takes a phone's transfer button: REFER with a plain target is a
// blind transfer of the other party; REFER whose target carries Replaces
// completes an attended transfer the phone set up with two calls. The
// phone learns how it went from NOTIFY with a sipfrag body.
func (e *Engine) onRefer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := l.readRequest(req, tx); err != nil {
		respond(tx, req, 500, "Server Internal Error")
		return
	}
	h := req.GetHeader("Refer-To")
	if h == nil {
		respond(tx, req, 400, "Bad Request")
		return
	}
	ref, err := parseReferTo(h.Value())
	if err != nil {
		respond(tx, req, 400, "Bad Request")
		return
	}
	c := l.call()
	if ref.replaces == nil && c.otherTalker(l) == nil {
		respond(tx, req, 603, "Decline")
		return
	}
	respond(tx, req, 202, "Accepted")
	notify := func(code int, reason string) { l.notifyRefer(code, reason) }
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		notify(100, "Trying")
		if ref.replaces != nil {
			e.referReplaces(l, ref, notify)
			return
		}
		if err := c.blindTransfer(l, ref.user, notify); err != nil {
			c.log.Info("refer", "leg", l.ID, "error", err)
		}
	}()
}

// referReplaces completes an attended transfer made by a phone: it talks
// to the held party through leg l (call 1) and to the target through
// another dialog with the PBX (call 2), which Replaces names. The held
// party and the target are joined in call 1; the phone's two legs go.
func (e *Engine) referReplaces(l *Leg, ref referTo, notify func(int, string)) {
	c1 := l.call()
	x2 := e.legBySIPCallID(ref.replaces.callID)
	if x2 == nil || x2 == l || !x2.matchesTags(ref.replaces) {
		notify(481, "Call/Transaction Does Not Exist")
		return
	}
	if x2.user == "" || x2.user != l.user {
		// A phone may join its own calls only, never take over another's.
		notify(403, "Forbidden")
		return
	}
	c2 := x2.call()
	target := c2.otherTalker(x2)
	if target == nil || c1.otherTalker(l) == nil {
		notify(481, "Call/Transaction Does Not Exist")
		return
	}
	// Take the target out of call 2, which then ends with the phone's leg.
	if !c2.detach(target) {
		notify(481, "Call/Transaction Does Not Exist")
		return
	}
	c2.hangup(nil, CauseNormal)
	if !c1.replace(l, target) {
		target.bye()
		target.ep.Close()
		notify(487, "Request Terminated")
		return
	}
	c1.log.Info("attended transfer by refer", "target", target.ID)
	c1.publishTransfer(EventTransferDone, l, target.peer, "")
	notify(200, "OK")
	c1.release(l, true)
}

// matchesTags checks the tags a Replaces names against the leg's dialog,
// in either order (phones disagree on whose view they are written from).
func (l *Leg) matchesTags(r *replaces) bool {
	var local, remote string
	switch {
	case l.srv != nil && l.srv.InviteResponse != nil:
		local, _ = l.srv.InviteResponse.To().Params.Get("tag")
		remote, _ = l.srv.InviteRequest.From().Params.Get("tag")
	case l.cli != nil && l.cli.InviteResponse != nil:
		local, _ = l.cli.InviteRequest.From().Params.Get("tag")
		remote, _ = l.cli.InviteResponse.To().Params.Get("tag")
	default:
		return false
	}
	return r.toTag == local && r.fromTag == remote || r.toTag == remote && r.fromTag == local
}

// detach takes a leg out of a call without ending it, so that the call
// can end while the leg lives on elsewhere.
func (c *Call) detach(l *Leg) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ended:
		return false
	case c.b == l:
		c.b = nil
	case c.a == l:
		c.a = c.b // the call must keep a leg to end
		c.b = nil
	default:
		return false
	}
	return true
}

// notifyRefer tells a REFER's sender how the transfer goes (RFC 3515).
func (l *Leg) notifyRefer(code int, reason string) {
	state := "active;expires=60"
	if code >= 200 {
		state = "terminated;reason=noresource"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hdrs := []sipmsg.Header{sipmsg.NewHeader("Event", "refer"), sipmsg.NewHeader("Subscription-State", state)}
	body := fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)
	if _, err := l.request(ctx, sipmsg.NOTIFY, hdrs, "message/sipfrag;version=2.0", []byte(body)); err != nil {
		l.call().log.Debug("refer notify", "leg", l.ID, "code", code, "error", err)
	}
}

// referTo is what a Refer-To header asks for.
type referTo struct {
	user     string // the number to transfer to
	replaces *replaces
}

// replaces names a dialog (RFC 3891) by its Call-ID and tags.
type replaces struct {
	callID, toTag, fromTag string
}

// parseReferTo reads a Refer-To value: an optional display name, a SIP
// URI in angle brackets (or bare), and in the URI's headers an optional
// Replaces.
func parseReferTo(v string) (referTo, error) {
	var r referTo
	v = strings.TrimSpace(v)
	if len(v) > 2048 {
		return r, errors.New("refer-to too long")
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return r, errors.New("refer-to: no closing >")
		}
		v = v[i+1 : i+j]
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	uri, headers, _ := strings.Cut(v, "?")
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !strings.EqualFold(scheme, "sip") && !strings.EqualFold(scheme, "sips") {
		return r, fmt.Errorf("refer-to %q: not a SIP URI", uri)
	}
	user, _, ok := strings.Cut(rest, "@")
	if !ok || user == "" {
		return r, fmt.Errorf("refer-to %q: no user part", uri)
	}
	user, _, _ = strings.Cut(user, ";")
	user, _, _ = strings.Cut(user, ":") // a password, which no one should send
	u, err := url.PathUnescape(user)
	if err != nil || u == "" {
		return r, fmt.Errorf("refer-to %q: bad user part", uri)
	}
	r.user = u
	for _, kv := range strings.Split(headers, "&") {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(name, "Replaces") {
			continue
		}
		value, err := url.QueryUnescape(value)
		if err != nil {
			return r, fmt.Errorf("refer-to: Replaces: %w", err)
		}
		parts := strings.Split(value, ";")
		rp := &replaces{callID: strings.TrimSpace(parts[0])}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			switch strings.ToLower(k) {
			case "to-tag":
				rp.toTag = v
			case "from-tag":
				rp.fromTag = v
			}
		}
		if rp.callID == "" {
			return r, errors.New("refer-to: Replaces without a Call-ID")
		}
		r.replaces = rp
	}
	return r, nil
}
