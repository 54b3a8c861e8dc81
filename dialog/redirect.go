package dialog

import (
	"context"
	"fmt"
)

// Redirect sends a live leg to a dial-plan target ("extension:1001",
// "play:goodbye", "music:default", "park", "conference:8001", "trunk:x",
// or any registered kind), parsed as the dial plan's targets are, and
// handled as if the leg's caller had dialled it: on a goroutine the engine
// owns, with the number the leg was placed to as the dialled number. It is
// how a program gives up a call it no longer wants (a control plane's
// fallback for calls nobody claims), and how a queue sends one on.
//
// The leg may be an inbound leg still ringing, or any answered leg,
// inbound or outbound (an answered leg stays answered). It first leaves
// its bridge, whose other parties are parked, stops hearing hold music by
// Hold and every prompt played to it. Trunks obey the toll-fraud rule of
// transfers: only a user's leg may reach one. Errors wrap ErrBadTarget
// (the target does not parse, or may not be reached), ErrNotFound or
// ErrInvalidState (an outbound leg still ringing).
func (e *Engine) Redirect(ctx context.Context, legID, target string) error {
	l, err := e.liveLeg("redirect", legID)
	if err != nil {
		return err
	}
	route, err := ParseTarget(target, e.env)
	if err != nil {
		return fmt.Errorf("redirect %s: %w: %v", legID, ErrBadTarget, err)
	}
	if err := mayReach(l, route, target); err != nil {
		return err
	}
	route.Rule = "redirect"
	return e.redirect(ctx, l, route, target)
}

// RedirectNumber sends a live leg where the dial plan routes number, as
// if its caller had dialled it, with Redirect's rules: an extension rings,
// an application takes the call, and only a user's leg may reach a trunk.
// A number no rule matches is ErrBadTarget.
func (e *Engine) RedirectNumber(ctx context.Context, legID, number string) error {
	l, err := e.liveLeg("redirect", legID)
	if err != nil {
		return err
	}
	route, ok := e.plan.Route(number)
	if !ok {
		return fmt.Errorf("redirect %s to %s: %w: no dial-plan rule", legID, number, ErrBadTarget)
	}
	if err := mayReach(l, route, number); err != nil {
		return err
	}
	return e.redirect(ctx, l, route, number)
}

// mayReach applies the toll-fraud rule of transfers to a redirect of l to
// route (what names it): only a user's leg may reach a trunk.
func mayReach(l *Leg, route Route, what string) error {
	l.mu.Lock()
	user := l.user
	l.mu.Unlock()
	if _, toTrunk := route.Parsed.(TrunkTarget); toTrunk && user == "" {
		return fmt.Errorf("redirect %s to %s: %w: only users may reach a trunk", l.id, what, ErrBadTarget)
	}
	return nil
}

// redirect hands l to a parsed target's handler, as Redirect says; what
// names the target in logs. Number "" means the number l was placed to.
func (e *Engine) redirect(ctx context.Context, l *Leg, route Route, what string) error {
	kind, _ := LookupTarget(route.Kind)
	if kind.Handle == nil {
		return fmt.Errorf("redirect %s to %s: %w: nobody serves target kind %q", l.id, what, ErrBadTarget, route.Kind)
	}
	if route.Number == "" {
		route.Number = l.to
	}
	err := l.ops.do(ctx, func() error {
		switch st := l.getState(); {
		case st == StateEnded:
			return fmt.Errorf("redirect %s: %w", l.id, ErrNotFound)
		case l.dir == Outbound && st < StateAnswered:
			return fmt.Errorf("redirect %s: %w: an outbound leg that has not answered", l.id, ErrInvalidState)
		}
		if b := l.currentBridge(); b != nil {
			b.leave(l, false)
		}
		l.setHold("")
		return nil
	})
	if err != nil {
		return err
	}
	e.stopPlays(ctx, l)
	l.log.Info("redirected", "target", what, "kind", route.Kind)
	e.goOwned(func() { kind.Handle(l.ctx, e, l, route) })
	return nil
}
