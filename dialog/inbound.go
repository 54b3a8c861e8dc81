package dialog

import (
	"context"
	"net/netip"
	"strings"

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

// onInvite takes a new INVITE, or a re-INVITE inside a dialog. A new one
// becomes an inbound leg, registered at once, and goes to the handler of
// the dial-plan target its number reaches.
func (e *Engine) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" {
			e.onReinvite(req, tx)
			return
		}
	}
	if e.draining.Load() {
		respondStateless(tx, req, 503, "Service Unavailable", sipmsg.NewHeader("Retry-After", "30"))
		return
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() <= 1 {
		respondStateless(tx, req, 483, "Too Many Hops") // a call looping through trunks
		return
	}
	if h := req.GetHeader("Require"); h != nil {
		for _, ext := range strings.Split(h.Value(), ",") {
			if ext = strings.TrimSpace(ext); ext != "" && ext != "timer" {
				respondStateless(tx, req, 420, "Bad Extension", sipmsg.NewHeader("Unsupported", ext))
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
		respondStateless(tx, req, 404, "Not Found")
		return
	}
	kind, _ := LookupTarget(route.Kind)
	if route.Kind == "trunk" && !who.mayUseTrunks() {
		e.stack.PeerLogger().Warn("call to a trunk refused", "from", req.Source(), "number", number)
		respondStateless(tx, req, 403, "Forbidden")
		return
	}
	if kind.Handle == nil {
		e.log.Warn("no handler for target kind", "kind", route.Kind)
		respondStateless(tx, req, 404, "Not Found")
		return
	}
	offer, err := sip.ParseSDP(req.Body())
	if err != nil {
		respondStateless(tx, req, 488, "Not Acceptable Here")
		return
	}
	if _, err := sip.AnswerOffer(offer, e.opts.Codecs, ""); err != nil {
		respondStateless(tx, req, 488, "Not Acceptable Here")
		return
	}
	if _, refused := sip.NegotiateSessionTimer(req, e.timerPolicy(), e.clock.Now()); refused != nil {
		if err := sip.RespondStateless(tx, refused); err != nil {
			e.log.Debug("session timer refusal not sent", "error", err)
		}
		return
	}
	// Admission comes before any port or goroutine is taken.
	if !e.admit.trySetup() {
		e.refuse(tx, req)
		return
	}
	if !e.admit.tryLeg() {
		e.admit.doneSetup()
		e.refuse(tx, req)
		return
	}
	dua, err := e.stack.DialogUA(req.Transport())
	if err != nil {
		e.admit.doneLeg()
		e.admit.doneSetup()
		respondStateless(tx, req, 500, "Server Internal Error")
		return
	}
	ss, err := dua.ReadInvite(req, tx)
	if err != nil {
		e.admit.doneLeg()
		e.admit.doneSetup()
		respond(tx, req, 400, "Bad Request")
		return
	}
	ep, err := e.media.NewEndpoint()
	if err != nil {
		e.admit.doneLeg()
		e.admit.doneSetup()
		e.log.Error("no media endpoint for a new call", "error", err)
		e.refuse(tx, req)
		return
	}
	from := who.user
	if who.trunk != nil {
		from = req.From().Address.User
	}
	call := e.newCall(from, number)
	call.sipCallID = req.CallID().Value()
	if who.trunk != nil {
		call.setTrunk(who.trunk.cfg.Name)
	}
	l := e.newLeg(Inbound, call, ep, from, number, route.Rule)
	l.srv = ss
	l.peer, l.user, l.musicClass = from, who.user, e.musicClassOf(who)
	l.remote = offer
	l.invite = headerPairs(req)
	call.addLeg(l)
	e.register(l)
	e.indexDialog(l, ss.ID, call.sipCallID)
	ss.Respond(100, "Trying", nil)
	// A CANCEL ends the server session's context; the leg then ends, unless
	// it was answered first.
	context.AfterFunc(ss.Context(), func() {
		l.ops.post(func() {
			if st := l.getState(); st == StateRinging || st == StateEarly {
				l.end(CauseCancelled, byRemote, 487)
			}
		})
	})
	l.log.Info("call started", "from", from, "to", number, "rule", route.Rule, "target", route.Kind)
	l.publish(Event{Kind: EventLegCreated, Direction: string(Inbound), Context: route.Rule, From: from, To: number})
	e.events.publish(Event{Kind: EventCallStarted, CallID: call.ID, LegID: l.id, From: from, To: number, Context: route.Rule})
	e.goOwned(func() {
		defer e.admit.doneSetup()
		kind.Handle(l.ctx, e, l, route)
	})
	// sipgo ends the INVITE's server transaction when this handler
	// returns: it must not return before the final response.
	<-l.final
}

// refuse answers a new call the PBX cannot serve now: 503 with
// Retry-After, before anything is taken for it.
func (e *Engine) refuse(tx sipmsg.ServerTransaction, req *sipmsg.Request) {
	e.metrics.Refused.Add(1)
	if err := sip.RespondStateless(tx, overloaded(req)); err != nil {
		e.log.Debug("503 not sent", "error", err)
	}
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
		// Stateless: a challenge is not kept for 32 s, nor resent to a
		// forged source.
		if err := sip.RespondStateless(tx, res); err != nil {
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
