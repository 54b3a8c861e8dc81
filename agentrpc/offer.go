package agentrpc

import (
	"context"
	"fmt"
	"time"

	"pbx/config"
	"pbx/dialog"
)

func init() {
	dialog.RegisterTarget(dialog.TargetKind{Name: "agentrpc", Parse: parseTarget, Handle: handleOffer})
}

// parseTarget checks agentrpc:NAME: NAME must be an agent endpoint of the
// configuration.
func parseTarget(args []string, env dialog.TargetEnv) (any, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("want agentrpc:ENDPOINT")
	}
	name := args[0]
	if env.Config != nil {
		ep, ok := env.Config.Endpoints[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("no endpoint %q in endpoints", name)
		case !ep.IsAgent():
			return nil, fmt.Errorf("endpoint %q is not served by bots: want match type agent or flow", name)
		}
	}
	return name, nil
}

// inviteData is what a bot learns of a new call.
type inviteData struct {
	CallID string `json:"callID"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// handleOffer offers a new call to the bots of an endpoint, one at a
// time, until one accepts it with 200; the first accepting bot then
// controls it until the call ends, the bot hangs up or redirects it, or
// the bot goes away. A call no bot takes goes to the endpoint's fallback.
// It runs on the leg's goroutine, which the engine owns; ctx ends with
// the leg.
func handleOffer(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	info := l.Info()
	s := serverOf(e)
	if s == nil {
		e.Reject(ctx, info.ID, 480)
		return
	}
	name, _ := r.Parsed.(string)
	ep := s.endpoints[name]
	data := inviteData{CallID: info.SIPCallID, From: info.From, To: info.To}
	tried := map[*conn]bool{}
	for {
		c := s.pick(name, tried)
		if c == nil {
			break
		}
		tried[c] = true
		cl := newCall(c, info, ep)
		s.mx.inviteDelay.Observe(time.Since(info.Created).Seconds())
		res, ok := c.request(ctx, cl.did, "invite", data, s.cfg.InviteTimeout)
		if ok && res.Code == codeOK {
			s.mx.calls.WithLabelValues("accepted").Inc()
			cl.log.Info("bot took the call")
			cl.run(ctx)
			return
		}
		cl.finish(false) // requests the bot sent meanwhile get 487
		if ctx.Err() != nil || s.ctx.Err() != nil {
			return // the caller hung up, or the PBX is stopping
		}
		s.mx.calls.WithLabelValues("rejected").Inc()
		cl.log.Info("bot refused the call", "code", res.Code, "reason", res.Reason, "answered", ok)
	}
	s.fallback(info.ID, ep, "no bot took the call")
}

// fallback sends a call no bot controls to the endpoint's fallback; with
// none, or when that fails, it is refused (480) while it rings, else hung
// up. No call is left in dead air.
func (s *Server) fallback(legID string, ep config.Endpoint, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mx.calls.WithLabelValues("fallback").Inc()
	if ep.Fallback != "" {
		err := s.e.Redirect(ctx, legID, ep.Fallback)
		if err == nil {
			s.log.Info("call to fallback", "leg", legID, "why", why, "target", ep.Fallback)
			return
		}
		s.log.Warn("fallback failed", "leg", legID, "target", ep.Fallback, "error", err)
	}
	if s.e.Refuse(ctx, legID) == nil {
		s.log.Info("call refused: no fallback", "leg", legID, "why", why)
	}
}
