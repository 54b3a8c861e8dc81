package dialog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"pbx/sounds"
)

// ErrTransfer is returned when a transfer cannot start: no such target,
// a target the transferor may not reach, or one already in progress.
var ErrTransfer = errors.New("dialog: transfer refused")

// Transfers are legs plus bridges. Blind: the transferee hears music while
// the target rings; when it answers it takes the transferor's place in
// the bridge, and the transferor is hung up. Attended: the transferee
// hears music in its bridge (kept up meanwhile) while the transferor talks
// to the target in a consultation bridge; complete puts the target in the
// transferor's place, cancel hangs the target up and restores the bridge
// (consult.go). A program may also transfer a lone leg, answered in no
// bridge (transfer_solo.go): it hears music while its target rings, then
// is bridged with it. A target that takes the call itself (an application:
// music, play, conference, park, a program's context, a queue) has no one
// to consult: the transferee is redirected to it.

// routeTransfer finds where a transfer's number goes, with the toll-fraud
// rule: only a user's leg may transfer to a trunk, or to a SIP URI that
// is not this PBX's. A URI that names this PBX (sip:1001@local) is the
// number in its user part. A number whose target takes the call itself
// (an application: music, play, conference, a queue, a program's context)
// comes back as app, with no INVITE to send: the transferee is redirected
// to it.
func (e *Engine) routeTransfer(transferor *Leg, number string) (groups [][]dialTarget, app *Route, err error) {
	transferor.mu.Lock()
	user := transferor.user
	transferor.mu.Unlock()
	if isSIPURI(number) {
		local, t, err := e.self().sipTarget(number)
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("transfer to %s: %w: %v", number, ErrTransfer, err)
		case local == "" && user == "":
			return nil, nil, fmt.Errorf("transfer to %s: %w: only users may transfer out of the PBX", number, ErrTransfer)
		case local == "":
			return [][]dialTarget{{t}}, nil, nil
		}
		number = local
	}
	route, ok := e.plan.Route(number)
	if !ok {
		return nil, nil, fmt.Errorf("transfer to %s: %w: no route", number, ErrTransfer)
	}
	if _, toTrunk := route.Parsed.(TrunkTarget); toTrunk && user == "" {
		return nil, nil, fmt.Errorf("transfer to %s: %w: only users may transfer to a trunk", number, ErrTransfer)
	}
	if k, _ := LookupTarget(route.Kind); !k.Dials && k.Handle != nil {
		return nil, &route, nil
	}
	groups, err = e.routeGroups(route)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer to %s: %w: %v", number, ErrTransfer, err)
	}
	return groups, nil, nil
}

// identity is the number a leg's party is known by.
func (l *Leg) identity() string {
	if l.dir == Inbound {
		return l.from
	}
	return l.to
}

// claimTransfer marks a bridge as transferring: one transfer at a time.
func (b *Bridge) claimTransfer() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.transferring {
		return false
	}
	b.transferring = true
	return true
}

func (b *Bridge) releaseTransfer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.transferring = false
}

func (b *Bridge) setPersistent(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.persistent = on
}

// dialFor rings a transfer target on behalf of the transferee's call. The
// target's leg belongs to the transferee's owner, who will command it.
func (e *Engine) dialFor(transferee *Leg, number string, groups [][]dialTarget) (*Leg, error) {
	target, err := e.outboundLeg(transferee.call, transferee.identity(), number, transferee.context, transferee.getOwner())
	if err != nil {
		return nil, err
	}
	o := dialOptions{fromUser: transferee.identity()}
	if !e.dial(transferee.ctx, target, groups, o) {
		return target, fmt.Errorf("transfer to %s: %s", number, target.endCause())
	}
	return target, nil
}

// blindTransfer sends the party facing transferor to number. progress,
// when set (a REFER), is told the target's progress as SIP status codes.
func (e *Engine) blindTransfer(transferor *Leg, number string, progress func(code int, reason string)) error {
	report := func(code int, reason string) {
		if progress != nil {
			progress(code, reason)
		}
	}
	b := transferor.currentBridge()
	var transferee *Leg
	if b != nil {
		transferee = b.other(transferor)
	}
	if transferee == nil || !b.claimTransfer() {
		report(503, "Service Unavailable")
		return fmt.Errorf("transfer from %s: %w: not a two-party call, or a transfer is under way", transferor.id, ErrTransfer)
	}
	defer b.releaseTransfer()
	groups, app, err := e.routeTransfer(transferor, number)
	if err != nil {
		report(403, "Forbidden")
		return err
	}
	transferor.log.Info("blind transfer", "transferee", transferee.id, "target", number)
	transferor.publish(Event{Kind: EventTransferStarted, OtherLegID: transferee.id, Detail: number})
	if app != nil {
		// An application takes the transferee itself; the transferor goes.
		if err := e.redirect(context.Background(), transferee, *app, number); err != nil {
			report(487, "Request Terminated")
			transferor.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: CauseNormal.String()})
			return fmt.Errorf("transfer from %s: %w: %v", transferor.id, ErrTransfer, err)
		}
		report(200, "OK")
		transferor.publish(Event{Kind: EventTransferDone, OtherLegID: transferee.id, Detail: number})
		e.release(transferor, progress != nil)
		return nil
	}
	transferee.ops.do(context.Background(), func() error { transferee.setHold(transferee.musicClass); return nil })
	target, err := e.dialFor(transferee, number, groups)
	transferee.ops.do(context.Background(), func() error { transferee.setHold(""); return nil })
	if err != nil {
		cause := CauseCongestion
		if target != nil {
			cause = target.endCause()
		}
		code, reason := cause.SIP()
		report(code, reason)
		transferor.log.Info("transfer failed", "target", number, "cause", cause.String())
		transferor.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: cause.String()})
		if progress == nil {
			e.playPrompts(transferor, sounds.TransferFailed)
		}
		return err
	}
	if err := b.join(target); err != nil {
		target.ops.post(func() { target.end(CauseNormal, byLocal, 0) })
		report(487, "Request Terminated")
		return fmt.Errorf("transfer from %s: %w: the call ended", transferor.id, ErrTransfer)
	}
	b.leave(transferor, false)
	e.watchFeatures(target)
	report(200, "OK")
	transferor.publish(Event{Kind: EventTransferDone, OtherLegID: target.id, Detail: number})
	e.release(transferor, progress != nil)
	return nil
}

// release ends a leg that left its call by a transfer. A phone that asked
// for the transfer by REFER hangs up by itself once told it succeeded; it
// gets a BYE only if it has not within two seconds.
func (e *Engine) release(l *Leg, waitForBye bool) {
	if waitForBye {
		t := e.clock.AfterFunc(2*time.Second, func() { l.ops.post(func() { l.end(CauseNormal, byLocal, 0) }) })
		<-l.ctx.Done()
		t.Stop()
		return
	}
	l.ops.do(context.Background(), func() error { l.end(CauseNormal, byLocal, 0); return nil })
}
