package rwi

import (
	"context"
	"errors"
	"fmt"

	"pbx/dialog"
)

// fallbackOwner holds an offered leg while it goes to the fallback, so
// that no session can claim it meanwhile.
const fallbackOwner = "rwi"

// offer is a call the dial plan gave to rwi:CONTEXT, until a session
// claims it or it goes to the fallback.
type offer struct {
	leg     string
	context string
	claimed chan struct{} // closed by the claim
}

func init() {
	dialog.RegisterTarget(dialog.TargetKind{
		Name: "rwi",
		Parse: func(args []string, _ dialog.TargetEnv) (any, error) {
			if len(args) != 1 || !contextRe.MatchString(args[0]) {
				return nil, fmt.Errorf("want rwi:CONTEXT, a context of letters, digits, '_', '.' and '-'")
			}
			return args[0], nil
		},
		Handle: handleOffer,
	})
}

// handleOffer offers a new call to every session subscribed to the
// route's context, as call.incoming, and waits for one to claim it
// (call.answer, call.ring, call.reject, session.attach_call or any
// command on it). A call nobody is subscribed for, or nobody claims
// within offer_timeout, goes to the fallback.
func handleOffer(ctx context.Context, e *dialog.Engine, l *dialog.Leg, r dialog.Route) {
	info := l.Info()
	s := serverOf(e)
	if s == nil {
		e.Reject(ctx, info.ID, 480)
		return
	}
	name, _ := r.Parsed.(string)
	o := &offer{leg: info.ID, context: name, claimed: make(chan struct{})}
	s.mu.Lock()
	subs := s.subscribersLocked(name)
	if len(subs) > 0 {
		s.offers[info.ID] = o
	}
	s.mu.Unlock()
	if len(subs) == 0 {
		s.log.Info("rwi offer: no session subscribed", "leg", info.ID, "context", name)
		s.takeForFallback(info.ID)
		return
	}
	data := map[string]string{"leg_id": info.ID, "from": info.From, "to": info.To, "direction": string(info.Direction), "context": name}
	for _, ss := range subs {
		ss.mu.Lock()
		ss.emitLocked("call.incoming", info.ID, name, info.Created, data)
		ss.mu.Unlock()
	}
	expired := make(chan struct{})
	t := s.clock.AfterFunc(s.cfg.OfferTimeout, func() { close(expired) })
	defer t.Stop()
	select {
	case <-o.claimed:
	case <-ctx.Done(): // the caller hung up
	case <-s.ctx.Done():
	case <-expired:
		s.log.Info("rwi offer: nobody claimed it", "leg", info.ID, "context", name, "after", s.cfg.OfferTimeout)
		s.takeForFallback(info.ID)
	}
}

// subscribersLocked are the sessions, connected or not, subscribed to a context.
func (s *Server) subscribersLocked(context string) []*session {
	var out []*session
	for _, ss := range s.sessions {
		ss.mu.Lock()
		if ss.contexts[context] {
			out = append(out, ss)
		}
		ss.mu.Unlock()
	}
	return out
}

// offeredTo reports whether a leg is an unclaimed offer to one of the
// session's contexts.
func (s *Server) offeredTo(ss *session, legID string) bool {
	s.mu.Lock()
	o := s.offers[legID]
	s.mu.Unlock()
	if o == nil {
		return false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.contexts[o.context]
}

// claim makes a leg the session's, within its limit of legs; the first
// claim of an offer wins and ends the offer.
func (s *Server) claim(ss *session, legID string) *Error {
	if n := len(ss.legs()); n >= s.cfg.MaxLegs {
		return fail(CodeRateLimited, "the session owns %d legs, its limit", n)
	}
	if err := s.e.Claim(legID, ss.tag); err != nil {
		if errors.Is(err, dialog.ErrOwned) {
			return fail(CodeAlreadyOwned, "call %q was claimed by another session", legID)
		}
		return engineError(err)
	}
	s.mu.Lock()
	o := s.offers[legID]
	delete(s.offers, legID)
	s.mu.Unlock()
	ss.mu.Lock()
	ss.owned[legID] = true
	ss.mu.Unlock()
	if o != nil {
		ss.mu.Lock()
		ss.offered[legID] = o.context
		ss.mu.Unlock()
		close(o.claimed)
		s.log.Info("rwi offer claimed", "leg", legID, "session", ss.id)
	}
	return nil
}

// takeForFallback sends an unclaimed offer to the fallback, unless a
// session claims it first.
func (s *Server) takeForFallback(legID string) {
	if err := s.e.Claim(legID, fallbackOwner); err != nil {
		return // claimed meanwhile, or gone
	}
	s.mu.Lock()
	delete(s.offers, legID)
	s.mu.Unlock()
	s.e.SetOwner(legID, "")
	s.fallback(legID)
}

// fallback sends a leg nobody controls to the configured target; with
// none, or when that fails, it is refused (480) if it still rings, else
// hung up. No call is left in dead air.
func (s *Server) fallback(legID string) {
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()
	if s.cfg.Fallback != "" {
		err := s.e.Redirect(ctx, legID, s.cfg.Fallback)
		if err == nil {
			return
		}
		s.log.Warn("rwi fallback failed", "leg", legID, "target", s.cfg.Fallback, "error", err)
	}
	s.e.Refuse(ctx, legID)
}
