package dialog

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// In-dialog requests find their leg by dialog id and are applied on the
// leg's queue, in order with its commands and media events.

// onAck confirms the caller's dialog; ACKs for re-INVITE answers need no work.
func (e *Engine) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil || l.srv == nil {
		return
	}
	if err := l.srv.ReadAck(req, tx); err != nil {
		l.log.Debug("ack", "error", err)
	}
}

// onBye ends the leg whose far end sent it.
func (e *Engine) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	l.mu.Lock()
	srv, cli := l.srv, l.cli
	l.byeDone = true
	l.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.ReadBye(req, tx)
	} else if cli != nil {
		err = cli.ReadBye(req, tx)
	}
	if err != nil { // answer anyway: the far end is gone either way
		l.log.Debug("bye", "error", err)
		respond(tx, req, 200, "OK")
	}
	l.ops.post(func() { l.end(CauseNormal, byRemote, 0) })
}

// onInDialog answers NOTIFY and MESSAGE inside a dialog, and reports
// them as leg.notify and leg.message, in order with the leg's other
// events, so that the program commanding the leg sees them.
func (e *Engine) onInDialog(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	respond(tx, req, 200, "OK")
	ev := Event{Kind: EventLegMessage, Body: cutBody(req.Body(), MaxEventBody)}
	if h := req.ContentType(); h != nil {
		ev.ContentType = cutBody([]byte(h.Value()), 256)
	}
	if req.Method == sipmsg.NOTIFY {
		ev.Kind = EventLegNotify
		if h := req.GetHeader("Event"); h != nil {
			ev.Detail = cutBody([]byte(h.Value()), 256)
		}
	}
	l.ops.post(func() {
		if !l.ended() {
			l.publish(ev)
		}
	})
}

// cutBody makes text of at most max bytes from what a far end sent: cut
// at a character boundary, with invalid UTF-8 replaced, so that events
// encode as JSON and stay small.
func cutBody(b []byte, max int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) <= max {
		return s
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end]
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
		sipmsg.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY, MESSAGE, REFER, REGISTER"),
		sipmsg.NewHeader("Accept", "application/sdp"))
}

// onUpdate refreshes a session (RFC 4028) without changing media.
func (e *Engine) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	l.ops.do(context.Background(), func() error {
		st, refused := l.negotiateTimer(req)
		if refused != nil {
			tx.Respond(refused)
			return nil
		}
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		addHeaders(res, st.Headers())
		tx.Respond(res)
		l.armTimer(st)
		return nil
	})
}

// onReinvite applies a new offer from one far end (hold, unhold, codec
// change, session refresh) and answers it. A hold by the phone is the
// bridge's to handle: the other party hears the hold music of its class
// until the phone takes the call back.
func (e *Engine) onReinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l := e.legFor(req)
	if l == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	err := l.ops.do(context.Background(), func() error { l.reinvite(req, tx); return nil })
	if err != nil {
		respond(tx, req, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
	}
}

// reinvite runs on the leg's queue.
func (l *Leg) reinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	e := l.e
	if l.ended() {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if err := l.readRequest(req, tx); err != nil {
		respond(tx, req, 500, "Server Internal Error", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	st, refused := l.negotiateTimer(req)
	if refused != nil {
		tx.Respond(refused)
		return
	}
	if len(req.Body()) == 0 {
		// An offerless re-INVITE (a session refresh): offer what is in use.
		res := sipmsg.NewSDPResponseFromRequest(req, l.sdp([]sip.SDPCodec{l.currentCodec()}, l.remoteDTMF(), "sendrecv", nil))
		e.addContact(res, req)
		addHeaders(res, st.Headers())
		tx.Respond(res)
		l.armTimer(st)
		return
	}
	offer, err := sip.ParseSDP(req.Body())
	if err != nil {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	body, err := l.acceptOffer(offer, l.currentCodec().Name)
	if err != nil {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	held := offer.Direction == "sendonly" || offer.Direction == "inactive"
	res := sipmsg.NewSDPResponseFromRequest(req, body)
	e.addContact(res, req)
	addHeaders(res, st.Headers())
	if err := tx.Respond(res); err != nil {
		l.log.Debug("re-invite answer", "error", err)
	}
	l.armTimer(st)
	l.log.Info("re-invite", "direction", offer.Direction, "codec", l.currentCodec().Name)
	l.setPhoneHeld(held)
}

// setPhoneHeld records that the leg's phone put the call on hold, or took
// it back. Meanwhile the other party hears the music of its class, and
// the bridge's legs are exempt from the RTP timeout.
func (l *Leg) setPhoneHeld(held bool) {
	l.mu.Lock()
	was := l.phoneHeld
	l.phoneHeld = held
	l.mu.Unlock()
	if was == held {
		return
	}
	l.applyHoldState()
	b := l.currentBridge()
	if b != nil {
		b.update()
		anyHeld := b.anyPhoneHeld()
		for _, x := range b.parties() {
			x.watchMedia(!anyHeld)
		}
	} else {
		l.watchMedia(!held)
	}
	if held {
		l.publish(Event{Kind: EventLegHeld})
	} else {
		l.publish(Event{Kind: EventLegResumed})
	}
}

// addContact puts the PBX's Contact on a 2xx to an in-dialog INVITE.
func (e *Engine) addContact(res *sipmsg.Response, req *sipmsg.Request) {
	c := e.stack.Contact(req.Transport())
	res.AppendHeader(&c)
}

// readRequest checks an in-dialog request's CSeq against the leg's dialog.
func (l *Leg) readRequest(req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	l.mu.Lock()
	srv, cli := l.srv, l.cli
	l.mu.Unlock()
	switch {
	case srv != nil:
		return srv.ReadRequest(req, tx)
	case cli != nil:
		return cli.ReadRequest(req, tx)
	}
	return fmt.Errorf("leg %s: no dialog", l.id)
}

// request sends a request inside the leg's dialog (a NOTIFY about a
// transfer, a MESSAGE) and waits for its final response.
func (l *Leg) request(ctx context.Context, method sipmsg.RequestMethod, hdrs []sipmsg.Header, contentType string, body []byte) (*sipmsg.Response, error) {
	l.mu.Lock()
	srv, cli := l.srv, l.cli
	l.mu.Unlock()
	var target sipmsg.Uri
	switch {
	case cli != nil && cli.InviteResponse != nil && cli.InviteResponse.Contact() != nil:
		target = cli.InviteResponse.Contact().Address
	case srv != nil && srv.InviteRequest.Contact() != nil:
		target = srv.InviteRequest.Contact().Address
	default:
		return nil, fmt.Errorf("%s to leg %s: no contact to send to", method, l.id)
	}
	req := sipmsg.NewRequest(method, target)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	if contentType != "" {
		req.AppendHeader(sipmsg.NewHeader("Content-Type", contentType))
		req.SetBody(body)
	}
	if cli != nil {
		return cli.Do(ctx, req)
	}
	return srv.Do(ctx, req)
}

// SendRequest sends MESSAGE, NOTIFY, INFO or OPTIONS inside a leg's
// dialog and returns the far end's final status.
func (e *Engine) SendRequest(ctx context.Context, legID, method string, headers map[string]string, contentType string, body []byte) (int, error) {
	l, err := e.liveLeg("send "+method, legID)
	if err != nil {
		return 0, err
	}
	m := sipmsg.RequestMethod(method)
	switch m {
	case sipmsg.MESSAGE, sipmsg.NOTIFY, sipmsg.INFO, sipmsg.OPTIONS:
	default:
		return 0, fmt.Errorf("send %s to %s: %w: only MESSAGE, NOTIFY, INFO and OPTIONS", method, legID, ErrInvalidState)
	}
	if l.getState() < StateAnswered {
		return 0, fmt.Errorf("send %s to %s: %w: not answered", method, legID, ErrInvalidState)
	}
	var hdrs []sipmsg.Header
	for name, value := range headers {
		if err := sip.ValidExtraHeader(name, value); err != nil {
			return 0, fmt.Errorf("send %s to %s: %w: %v", method, legID, ErrBadTarget, err)
		}
		hdrs = append(hdrs, sipmsg.NewHeader(name, value))
	}
	res, err := l.request(ctx, m, hdrs, contentType, body)
	if err != nil {
		return 0, fmt.Errorf("send %s to %s: %w", method, legID, err)
	}
	return res.StatusCode, nil
}
