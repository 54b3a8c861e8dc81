package dialog

import (
	"context"
	"fmt"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

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
	ref, err := sip.ParseReferTo(h.Value())
	if err != nil {
		respond(tx, req, 400, "Bad Request")
		return
	}
	b := l.currentBridge()
	if ref.Replaces == nil && (b == nil || b.other(l) == nil) {
		respond(tx, req, 603, "Decline")
		return
	}
	respond(tx, req, 202, "Accepted")
	notify := func(code int, reason string) { l.notifyRefer(code, reason) }
	e.goOwned(func() {
		notify(100, "Trying")
		if ref.Replaces != nil {
			e.referReplaces(l, ref.Replaces, notify)
			return
		}
		if err := e.blindTransfer(l, ref.User, notify); err != nil {
			l.log.Info("refer", "error", err)
		}
	})
}

// referReplaces completes an attended transfer made by a phone: it talks
// to the held party through leg l (call 1) and to the target through
// another dialog with the PBX (call 2), which Replaces names. The held
// party and the target are joined in l's bridge; the phone's two legs go.
func (e *Engine) referReplaces(l *Leg, r *sip.Replaces, notify func(int, string)) {
	x2 := e.legBySIPCallID(r.CallID)
	if x2 == nil || x2 == l || !x2.matchesTags(r) {
		notify(481, "Call/Transaction Does Not Exist")
		return
	}
	if x2.user == "" || x2.user != l.user {
		// A phone may join its own calls only, never take over another's.
		notify(403, "Forbidden")
		return
	}
	b1, b2 := l.currentBridge(), x2.currentBridge()
	if b1 == nil || b2 == nil || b1.other(l) == nil || b2.other(x2) == nil {
		notify(481, "Call/Transaction Does Not Exist")
		return
	}
	target := b2.other(x2)
	if err := b1.join(target); err != nil {
		notify(487, "Request Terminated")
		return
	}
	b1.leave(l, false)
	x2.ops.do(context.Background(), func() error { x2.end(CauseNormal, byLocal, 0); return nil })
	e.watchFeatures(target)
	l.log.Info("attended transfer by refer", "target", target.id)
	l.publish(Event{Kind: EventTransferDone, OtherLegID: target.id, Detail: target.to})
	notify(200, "OK")
	e.release(l, true)
}

// matchesTags checks the tags a Replaces names against the leg's dialog,
// in either order (phones disagree on whose view they are written from).
func (l *Leg) matchesTags(r *sip.Replaces) bool {
	l.mu.Lock()
	srv, cli := l.srv, l.cli
	l.mu.Unlock()
	var local, remote string
	switch {
	case srv != nil && srv.InviteResponse != nil:
		local, _ = srv.InviteResponse.To().Params.Get("tag")
		remote, _ = srv.InviteRequest.From().Params.Get("tag")
	case cli != nil && cli.InviteResponse != nil:
		local, _ = cli.InviteRequest.From().Params.Get("tag")
		remote, _ = cli.InviteResponse.To().Params.Get("tag")
	default:
		return false
	}
	return r.ToTag == local && r.FromTag == remote || r.ToTag == remote && r.FromTag == local
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
		l.log.Debug("refer notify", "code", code, "error", err)
	}
}
