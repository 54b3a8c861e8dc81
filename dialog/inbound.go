package dialog

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// caller is who placed a new call: an authenticated extension or a trunk.
type caller struct {
	user  string
	trunk *trunk
}

// mayUseTrunks is the toll-fraud rule: only an authenticated user, or a
// trunk whose configuration allows transit, may reach a trunk.
func (c caller) mayUseTrunks() bool {
	if c.trunk != nil {
		return c.trunk.cfg.AllowTransit
	}
	return c.user != ""
}

func sourceAddr(req *sipmsg.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// onInvite takes a new INVITE, or a re-INVITE inside a dialog.
func (e *Engine) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" {
			e.onReinvite(req, tx)
			return
		}
	}
	if e.draining.Load() {
		respond(tx, req, 503, "Service Unavailable", sipmsg.NewHeader("Retry-After", "30"))
		return
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() <= 1 {
		respond(tx, req, 483, "Too Many Hops") // a call looping through trunks
		return
	}
	if h := req.GetHeader("Require"); h != nil {
		for _, ext := range strings.Split(h.Value(), ",") {
			if ext = strings.TrimSpace(ext); ext != "" && ext != "timer" {
				respond(tx, req, 420, "Bad Extension", sipmsg.NewHeader("Unsupported", ext))
				return
			}
		}
	}
	who, ok := e.authorizeCaller(req, tx)
	if !ok {
		return
	}
	number := req.Recipient.User
	var route Route
	var found bool
	if who.trunk != nil {
		route, found = who.trunk.dids.Route(number)
	} else {
		route, found = e.plan.Route(number)
	}
	if !found {
		respond(tx, req, 404, "Not Found")
		return
	}
	if route.Kind == "trunk" && !who.mayUseTrunks() {
		e.log.Warn("call to a trunk refused", "from", req.Source(), "number", number)
		respond(tx, req, 403, "Forbidden")
		return
	}
	offer, err := sip.ParseSDP(req.Body())
	if err != nil {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	if _, _, err := sip.Negotiate(offer, e.codecs); err != nil {
		respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	dua, err := e.stack.DialogUA(req.Transport())
	if err != nil {
		respond(tx, req, 500, "Server Internal Error")
		return
	}
	ss, err := dua.ReadInvite(req, tx)
	if err != nil {
		respond(tx, req, 400, "Bad Request")
		return
	}
	ep, err := e.media.NewEndpoint()
	if err != nil {
		e.log.Error("no media endpoint for a new call", "error", err)
		respond(tx, req, 503, "Service Unavailable")
		return
	}
	call := &Call{ID: e.newID(), e: e, To: number, req: req, offer: offer, start: time.Now(), done: make(chan struct{})}
	call.From = who.user
	if who.trunk != nil {
		call.From = req.From().Address.User
		call.trunk = who.trunk.cfg.Name
	}
	call.log = e.log.With("call", call.ID, "from", call.From, "to", number)
	a := newLeg(e.newID(), call, ep)
	a.srv = ss
	a.peer = call.From
	a.user = who.user
	a.musicClass = e.musicClassOf(who)
	call.a = a
	e.addCall(call)
	e.indexLeg(a, ss.ID)
	e.metrics.CallsStarted.Add(1)
	ss.Respond(100, "Trying", nil)
	call.log.Info("call started", "leg", a.ID, "rule", route.Rule, "target", route.Kind)
	call.publish(EventCallStarted, a, "")
	if isApp(route.Kind) {
		e.runApp(call, route)
		return
	}
	e.runCall(call, route)
}

// authorizeCaller identifies a new call's source: a trunk by its address, or
// a user (or trunk) by digest credentials. It answers the INVITE itself when
// the caller is refused or must authenticate.
func (e *Engine) authorizeCaller(req *sipmsg.Request, tx sipmsg.ServerTransaction) (caller, bool) {
	src := sourceAddr(req)
	if t := e.trunks.bySource(src); t != nil {
		return caller{trunk: t}, true
	}
	lookup := func(user string) (string, bool) {
		if p, ok := e.users(user); ok {
			return p, true
		}
		if t := e.trunks.byUser(user); t != nil {
			return t.cfg.InboundPassword, true
		}
		return "", false
	}
	user, res, failed := e.digest.Authenticate(req, true, lookup)
	if res != nil {
		if failed {
			e.guard.Fail(src)
		}
		if err := tx.Respond(res); err != nil {
			e.log.Debug("challenge not sent", "error", err)
		}
		return caller{}, false
	}
	if _, isUser := e.users(user); !isUser {
		if t := e.trunks.byUser(user); t != nil {
			return caller{trunk: t}, true
		}
	}
	return caller{user: user}, true
}

// runCall dials the route and, when a callee answers, answers the caller and
// bridges them. It returns once the caller's INVITE has its final response.
func (e *Engine) runCall(call *Call, route Route) {
	a := call.a
	ringCtx, cancel := context.WithTimeout(a.srv.Context(), e.cfg.Calls.RingTimeout)
	defer cancel()
	call.mu.Lock()
	call.cancelDial = cancel
	call.mu.Unlock()

	b, cause := e.dial(ringCtx, call, route)
	if b == nil {
		e.failCall(call, ringCtx, cause)
		return
	}

	// Answer the caller with the codec the callee's leg uses when the caller
	// offered it: then the bridge relays without transcoding.
	// (The offer shares a codec with the PBX: onInvite checked.)
	codec, _ := codecFor(call.offer, b.currentCodec().Name, e.codecs)
	a.applyRemote(call.offer, codec)
	answer := a.answerSDP(codec)
	call.mu.Lock()
	call.b = b
	call.answer = time.Now()
	call.cancelDial = nil
	call.mu.Unlock()
	call.remix()

	res := sipmsg.NewSDPResponseFromRequest(a.srv.InviteRequest, answer)
	e.sessionTimerHeaders(a, a.srv.InviteRequest, res)
	if err := a.srv.WriteResponse(res); err != nil {
		// The caller vanished (CANCEL raced the answer, or no ACK).
		call.log.Info("caller did not take the answer", "error", err)
		call.hangup(a, CauseCancelled)
		return
	}
	call.log.Info("call answered", "callee", b.peer, "codec", codec.Name, "setup", sinceNow(call.start))
	call.publish(EventCallAnswered, b, "")
	call.watchMedia()
	e.startSessionTimer(a, a.srv.InviteRequest)
}

// failCall answers the caller with the failure that ended the dial.
func (e *Engine) failCall(call *Call, ringCtx context.Context, cause Cause) {
	a := call.a
	call.mu.Lock()
	if call.cause == CauseShutdown {
		cause = CauseShutdown
	}
	call.mu.Unlock()
	switch {
	case a.srv.Context().Err() != nil:
		cause = CauseCancelled // sipgo already answered 487
	case errors.Is(ringCtx.Err(), context.DeadlineExceeded):
		cause = CauseNoAnswer
	}
	if cause != CauseCancelled {
		code, reason := cause.SIP()
		if err := a.srv.Respond(code, reason, nil); err != nil {
			call.log.Debug("final response not sent", "error", err)
		}
	}
	call.mu.Lock()
	call.cause = cause
	call.hangupBy = "caller"
	if cause != CauseCancelled {
		call.hangupBy = "callee"
	}
	if cause == CauseShutdown {
		call.hangupBy = "system"
	}
	call.mu.Unlock()
	call.log.Info("call failed", "cause", cause.String())
	a.ep.Close()
	call.finish()
}

// answerSDP is the PBX's answer to the caller's offer.
func (l *Leg) answerSDP(codec sip.SDPCodec) []byte {
	l.mu.Lock()
	dir := sip.AnswerDirection(l.remote.Direction)
	dtmf := l.remote.DTMF
	streams := l.remote.Streams
	l.mu.Unlock()
	return l.sdp([]sip.SDPCodec{codec}, dtmf, dir, streams)
}
