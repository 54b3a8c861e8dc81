package dialog

import (
	"context"
	"fmt"
)

// A program may transfer a leg that talks to no one: answered and parked,
// or hearing a prompt (a caller who just keyed a choice). There is no
// transferor, so the leg's own events say how it went, and the toll-fraud
// rule looks at the leg itself. The leg hears its hold music while its
// target rings, and is then bridged with it as by Engine.Bridge: when one
// of them later hangs up, the other is parked.

// claimSolo marks a lone leg as transferring, one transfer at a time per
// leg as a bridge's transferring flag is for a call; false when it
// already is. releaseSolo clears the mark.
func claimSolo(l *Leg) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.soloTransfer {
		return false
	}
	l.soloTransfer = true
	return true
}

func releaseSolo(l *Leg) {
	l.mu.Lock()
	l.soloTransfer = false
	l.mu.Unlock()
}

// startSolo checks that l can be transferred alone and claims it: it must
// be answered (it will hear music).
func startSolo(op string, l *Leg) error {
	if st := l.getState(); st < StateAnswered || st == StateEnded {
		return fmt.Errorf("%s %s: %w: not answered", op, l.id, ErrInvalidState)
	}
	if !claimSolo(l) {
		return fmt.Errorf("%s %s: %w: a transfer is under way", op, l.id, ErrTransfer)
	}
	return nil
}

// holdSolo stops what is played to a lone leg and gives it its hold
// music; unhold takes it off hold.
func (e *Engine) holdSolo(l *Leg) {
	e.stopPlays(context.Background(), l)
	l.ops.do(context.Background(), func() error { l.setHold(l.musicClass); return nil })
}

func unhold(l *Leg) {
	l.ops.do(context.Background(), func() error { l.setHold(""); return nil })
}

// blindSolo dials number for lone leg l, which hears its hold music
// meanwhile, and bridges them when it answers. An application gets l at
// once, as Redirect would. It returns when the transfer has succeeded or
// failed.
func (e *Engine) blindSolo(l *Leg, number string) error {
	if err := startSolo("transfer", l); err != nil {
		return err
	}
	defer releaseSolo(l)
	groups, app, err := e.routeTransfer(l, number)
	if err != nil {
		return err
	}
	l.log.Info("blind transfer", "target", number)
	l.publish(Event{Kind: EventTransferStarted, Detail: number})
	if app != nil {
		if err := e.redirect(context.Background(), l, *app, number); err != nil {
			l.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: CauseNormal.String()})
			return fmt.Errorf("transfer %s: %w: %v", l.id, ErrTransfer, err)
		}
		l.publish(Event{Kind: EventTransferDone, Detail: number})
		return nil
	}
	e.holdSolo(l)
	target, err := e.dialFor(l, number, groups)
	if err != nil {
		unhold(l)
		cause := CauseCongestion
		if target != nil {
			cause = target.endCause()
		}
		l.log.Info("transfer failed", "target", number, "cause", cause.String())
		l.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: cause.String()})
		return err
	}
	br := e.newBridge(false, false)
	if br.join(l) != nil || br.join(target) != nil {
		br.dissolve()
		target.ops.do(context.Background(), func() error { target.end(CauseNormal, byLocal, 0); return nil })
		l.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: "the call ended"})
		return fmt.Errorf("transfer %s: %w: the call ended", l.id, ErrTransfer)
	}
	unhold(l)
	l.publish(Event{Kind: EventTransferDone, OtherLegID: target.id, Detail: number})
	return nil
}

// consultSolo begins an attended transfer of lone leg held: it hears its
// hold music while the PBX rings number (or, for an application, until
// complete redirects it there). It returns as soon as the target's leg
// exists. The target, answered, waits parked for complete.
func (e *Engine) consultSolo(held *Leg, number string) (*consultation, error) {
	if err := startSolo("attended transfer", held); err != nil {
		return nil, err
	}
	groups, app, err := e.routeTransfer(held, number)
	if err != nil {
		releaseSolo(held)
		return nil, err
	}
	held.log.Info("attended transfer", "target", number)
	held.publish(Event{Kind: EventTransferStarted, Detail: number})
	e.holdSolo(held)
	x := &consultation{e: e, held: held, app: app, number: number, done: make(chan struct{})}
	if app != nil {
		x.id, x.answered = e.newID(), true
		x.register()
		held.onEnd(func() { e.goOwned(func() { x.cancel("held party hung up") }) })
		return x, nil
	}
	target, err := e.outboundLeg(held.call, held.identity(), number, held.context, held.getOwner())
	if err != nil {
		unhold(held)
		releaseSolo(held)
		held.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: CauseCongestion.String()})
		return nil, fmt.Errorf("attended transfer to %s: %w", number, err)
	}
	x.id, x.target = target.id, target
	x.register()
	target.onEnd(func() { e.goOwned(x.targetEnded) })
	held.onEnd(func() { e.goOwned(func() { x.cancel("held party hung up") }) })
	e.goOwned(func() {
		if e.dial(held.ctx, target, groups, dialOptions{fromUser: held.identity()}) {
			x.targetAnswered()
		}
	})
	return x, nil
}
