package dialog

import (
	"context"
	"fmt"
	"strconv"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// onAck confirms the caller's dialog; ACKs for re-INVITE answers need no work.
func (e *Engine) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil || l.srv == nil {
		return
	}
	if err := l.srv.ReadAck(req, tx); err != nil {
		l.call().log.Debug("ack", "leg", l.ID, "error", err)
	}
}

// onBye ends the call from whichever side sent the BYE.
func (e *Engine) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	var err error
	if l.srv != nil {
		err = l.srv.ReadBye(req, tx)
	} else {
		err = l.cli.ReadBye(req, tx)
	}
	if err != nil { // answer anyway: the far end is gone either way
		l.call().log.Debug("bye", "leg", l.ID, "error", err)
		respond(tx, req, 200, "OK")
	}
	l.mu.Lock()
	l.byeSent = true
	select {
	case <-l.gone:
	default:
		close(l.gone)
	}
	l.mu.Unlock()
	if c := l.call(); c.legGone(l) {
		// A transferred leg, or one side of a consultation: the call goes on.
		l.stopSessionTimer()
		l.ep.Close()
		e.unindexLeg(l)
		return
	}
	l.call().hangup(l, CauseNormal)
}

// onInDialog answers INFO and NOTIFY inside a dialog.
func (e *Engine) onInDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if e.legFor(req) == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	respond(tx, req, 200, "OK")
}

// onOptions answers keep-alives and capability queries, in or out of a dialog.
func (e *Engine) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" && e.legFor(req) == nil {
			respond(tx, req, 481, "Call/Transaction Does Not Exist")
			return
		}
	}
	respond(tx, req, 200, "OK",
		sipmsg.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY, REGISTER"),
		sipmsg.NewHeader("Accept", "application/sdp"))
}

// onUpdate refreshes a session (RFC 4028) without changing media.
func (e *Engine) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	e.sessionTimerHeaders(l, req, res)
	tx.Respond(res)
	e.startSessionTimer(l, req)
}

// onReinvite applies a new offer from one far end (hold, unhold, codec
// change, session refresh) and answers it. A hold is the PBX's to handle:
// the other party hears the hold music of its class until the phone takes
// the call back.
func (e *Engine) onReinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := l.readRequest(req, tx); err != nil {
		respond(tx, req, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	call := l.call()
	if len(req.Body()) == 0 {
		// An offerless re-INVITE (a session refresh): offer what is in use.
		res := sipmsg.NewSDPResponseFromRequest(req, l.sdp([]sip.SDPCodec{l.currentCodec()}, l.remoteDTMF(), "sendrecv", nil))
		e.addContact(res, req)
		e.sessionTimerHeaders(l, req, res)
		tx.Respond(res)
		e.startSessionTimer(l, req)
		return
	}
	offer, err := sip.ParseSDP(req.Body())
	if err != nil {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	codec, err := codecFor(offer, l.currentCodec().Name, e.codecs)
	if err != nil {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	wasHeld := call.isHeldBy(l)
	l.applyRemote(offer, codec)
	held := offer.Direction == "sendonly" || offer.Direction == "inactive"
	res := sipmsg.NewSDPResponseFromRequest(req, l.answerSDP(codec))
	e.addContact(res, req)
	e.sessionTimerHeaders(l, req, res)
	if err := tx.Respond(res); err != nil {
		call.log.Debug("re-invite answer", "error", err)
	}
	e.startSessionTimer(l, req)
	call.setHeld(l, held)
	if held != wasHeld {
		kind := EventLegResumed
		if held {
			kind = EventLegHeld
		}
		call.publish(kind, l, "")
	}
	call.log.Info("re-invite", "leg", l.ID, "direction", offer.Direction, "codec", codec.Name)
}

// addContact puts the PBX's Contact on a 2xx to an in-dialog INVITE.
func (e *Engine) addContact(res *sipmsg.Response, req *sipmsg.Request) {
	c := e.stack.Contact(req.Transport())
	res.AppendHeader(&c)
}

// readRequest checks an in-dialog request's CSeq against the leg's dialog.
func (l *Leg) readRequest(req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	if l.srv != nil {
		return l.srv.ReadRequest(req, tx)
	}
	return l.cli.ReadRequest(req, tx)
}

func (l *Leg) remoteDTMF() uint8 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dtmf
}

// request sends a request inside the leg's dialog (a NOTIFY about a
// transfer) and waits for its final response.
func (l *Leg) request(ctx context.Context, method sipmsg.RequestMethod, hdrs []sipmsg.Header, contentType string, body []byte) (*sipmsg.Response, error) {
	var target sipmsg.Uri
	switch {
	case l.cli != nil && l.cli.InviteResponse != nil && l.cli.InviteResponse.Contact() != nil:
		target = l.cli.InviteResponse.Contact().Address
	case l.srv != nil && l.srv.InviteRequest.Contact() != nil:
		target = l.srv.InviteRequest.Contact().Address
	default:
		return nil, fmt.Errorf("%s to leg %s: no contact to send to", method, l.ID)
	}
	req := sipmsg.NewRequest(method, target)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	if contentType != "" {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", contentType))
		req.SetBody(body)
	}
	if l.cli != nil {
		return l.cli.Do(ctx, req)
	}
	return l.srv.Do(ctx, req)
}

// sessionTimerHeaders answers an RFC 4028 request: when the far end asks for
// a session timer, the PBX accepts its interval (raised to Min-SE) and lets
// the far end refresh.
func (e *Engine) sessionTimerHeaders(l *Leg, req *sipmsg.Request, res *sipmsg.Response) {
	se := req.GetHeader("Session-Expires")
	if se == nil {
		return
	}
	secs := parseDeltaSeconds(se.Value())
	if min := int(e.cfg.Calls.MinSE / time.Second); secs < min {
		secs = min
	}
	res.AppendHeader(sipmsg.NewHeader("Session-Expires", strconv.Itoa(secs)+";refresher=uac"))
	res.AppendHeader(sipmsg.NewHeader("Require", "timer"))
}

// startSessionTimer ends the call if the far end does not refresh its
// session within the interval it asked for.
func (e *Engine) startSessionTimer(l *Leg, req *sipmsg.Request) {
	se := req.GetHeader("Session-Expires")
	if se == nil {
		return
	}
	secs := parseDeltaSeconds(se.Value())
	if min := int(e.cfg.Calls.MinSE / time.Second); secs < min {
		secs = min
	}
	d := time.Duration(secs) * time.Second
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessTimer != nil {
		l.sessTimer.Stop()
	}
	l.sessTimer = time.AfterFunc(d, func() { l.call().hangup(nil, CauseSessionTimer) })
}

func (l *Leg) stopSessionTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessTimer != nil {
		l.sessTimer.Stop()
	}
}

func parseDeltaSeconds(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
		if n > 1<<20 {
			break
		}
	}
	return n
}
