package dialog

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// transferor's place, cancel hangs the target up and restores the bridge.

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

// consultation is an attended transfer in progress.
type consultation struct {
	e          *Engine
	transferor *Leg
	held       *Leg
	target     *Leg
	number     string  // the target as the transferor named it
	orig       *Bridge // the held party's bridge, kept up meanwhile
	consult    *Bridge // transferor and target
	once       sync.Once
	done       chan struct{}

	mu       sync.Mutex
	answered bool // the target answered (set after its leg.answered)
	pending  bool // the transferor hung up while the target rang: complete on answer
}

// consultationOf finds the consultation a leg takes part in.
func (e *Engine) consultationOf(l *Leg) *consultation {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.consults {
		if x.transferor == l || x.target == l || x.held == l {
			return x
		}
	}
	return nil
}

// consult begins an attended transfer: the party facing transferor hears
// music while the PBX rings number, and the transferor waits for the
// target in a consultation bridge (hearing its early media, if any). It
// returns as soon as the target's leg exists; the dialling goes on, on a
// goroutine the engine owns. When the target answers, the transferor
// talks to it. Then the transferor hangs up (or complete) to join the
// held party with the target, or keys the code again (or cancel, or the
// target hangs up) to return. A target that does not answer returns the
// transferor to the held party, with transfer.failed and a prompt.
func (e *Engine) consult(transferor *Leg, number string) (*consultation, error) {
	b := transferor.currentBridge()
	var held *Leg
	if b != nil {
		held = b.other(transferor)
	}
	if held == nil || !b.claimTransfer() {
		return nil, fmt.Errorf("attended transfer from %s: %w: not a two-party call, or a transfer is under way", transferor.id, ErrTransfer)
	}
	groups, app, err := e.routeTransfer(transferor, number)
	if err == nil && app != nil {
		err = fmt.Errorf("attended transfer to %s: %w: target %s takes the call itself, so there is no one to consult: transfer blind", number, ErrTransfer, app.Kind)
	}
	if err != nil {
		b.releaseTransfer()
		return nil, err
	}
	transferor.log.Info("attended transfer", "held", held.id, "target", number)
	transferor.publish(Event{Kind: EventTransferStarted, OtherLegID: held.id, Detail: number})
	b.setPersistent(true)
	held.ops.do(context.Background(), func() error { held.setHold(held.musicClass); return nil })
	target, err := e.outboundLeg(held.call, held.identity(), number, held.context, held.getOwner())
	if err != nil {
		held.ops.do(context.Background(), func() error { held.setHold(""); return nil })
		b.setPersistent(false)
		b.releaseTransfer()
		transferor.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: CauseCongestion.String()})
		e.playPrompts(transferor, sounds.TransferFailed)
		return nil, fmt.Errorf("attended transfer to %s: %w", number, err)
	}
	x := &consultation{e: e, transferor: transferor, held: held, target: target, number: number, orig: b, done: make(chan struct{})}
	x.consult = e.newBridge(false, false)
	e.mu.Lock()
	e.consults[target.id] = x
	e.mu.Unlock()
	if err := x.consult.join(transferor); err != nil {
		x.cancel("transferor gone")
		return nil, fmt.Errorf("attended transfer from %s: %w: the call ended", transferor.id, ErrTransfer)
	}
	x.consult.join(target)
	// The target hanging up (or failing) returns the call; the transferor
	// hanging up completes the transfer, at once or when the target answers.
	target.onEnd(func() { e.goOwned(x.targetEnded) })
	transferor.onEnd(func() { e.goOwned(x.transferorEnded) })
	held.onEnd(func() { e.goOwned(func() { x.cancel("held party hung up") }) })
	e.goOwned(func() {
		if e.dial(held.ctx, target, groups, dialOptions{fromUser: held.identity()}) {
			x.targetAnswered()
		}
	})
	return x, nil
}

// isAnswered reports whether the target has answered.
func (x *consultation) isAnswered() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.answered || x.target.wasAnswered()
}

// targetAnswered completes the transfer if the transferor hung up while
// the target rang.
func (x *consultation) targetAnswered() {
	x.mu.Lock()
	x.answered = true
	pending := x.pending
	x.mu.Unlock()
	if pending {
		x.complete()
	}
}

// transferorEnded completes the transfer, or marks it to complete when the
// target answers.
func (x *consultation) transferorEnded() {
	x.mu.Lock()
	if !x.answered {
		x.pending = true
		x.mu.Unlock()
		return
	}
	x.mu.Unlock()
	x.complete()
}

// targetEnded returns the call when the target hangs up, or when it never
// answered (busy, declined, no answer): then the transfer failed.
func (x *consultation) targetEnded() {
	if x.target.wasAnswered() {
		x.cancel("target hung up")
		return
	}
	x.fail(x.target.endCause())
}

// finish makes x no longer in progress; false when it already was not.
func (x *consultation) finish() bool {
	ok := false
	x.once.Do(func() {
		ok = true
		x.e.mu.Lock()
		delete(x.e.consults, x.target.id)
		x.e.mu.Unlock()
		x.orig.releaseTransfer()
		close(x.done)
	})
	return ok
}

// complete joins the held party with the target; the transferor goes.
func (x *consultation) complete() bool {
	if !x.finish() {
		return false
	}
	if x.held.ended() || x.target.ended() {
		x.orig.setPersistent(false)
		x.restore()
		return false
	}
	x.orig.join(x.target)
	x.held.ops.do(context.Background(), func() error { x.held.setHold(""); return nil })
	x.orig.setPersistent(false)
	x.transferor.log.Info("attended transfer completed", "held", x.held.id, "target", x.target.id)
	x.transferor.publish(Event{Kind: EventTransferDone, OtherLegID: x.target.id, Detail: x.target.to})
	x.e.watchFeatures(x.target)
	x.e.release(x.transferor, false)
	return true
}

// cancel hangs up the target and reconnects the transferor with the held
// party.
func (x *consultation) cancel(why string) bool {
	if !x.finish() {
		return false
	}
	x.target.ops.do(context.Background(), func() error { x.target.end(CauseNormal, byLocal, 0); return nil })
	x.restore()
	x.transferor.log.Info("attended transfer cancelled", "why", why)
	x.transferor.publish(Event{Kind: EventTransferFailed, Detail: x.target.to, Cause: why})
	return true
}

// fail returns the transferor to the held party after the target did not
// answer, and tells it with a prompt.
func (x *consultation) fail(cause Cause) {
	if !x.finish() {
		return
	}
	x.restore()
	x.transferor.log.Info("attended transfer failed", "target", x.number, "cause", cause.String())
	x.transferor.publish(Event{Kind: EventTransferFailed, Detail: x.number, Cause: cause.String()})
	if !x.transferor.ended() {
		x.e.playPrompts(x.transferor, sounds.TransferFailed)
	}
}

// restore puts the transferor back with the held party, or ends what is
// left when one of them is gone.
func (x *consultation) restore() {
	x.orig.setPersistent(false)
	if x.transferor.ended() || x.held.ended() {
		for _, l := range []*Leg{x.transferor, x.held} {
			l.ops.do(context.Background(), func() error { l.end(CauseNormal, byLocal, 0); return nil })
		}
		x.orig.dissolve()
		x.consult.dissolve()
		return
	}
	x.orig.join(x.transferor)
	x.held.ops.do(context.Background(), func() error { x.held.setHold(""); return nil })
	x.consult.dissolve()
}

// Transfer is the engine API's blind transfer: leg legID is sent to
// target (a dial-plan number or a SIP URI), and the party it was talking
// to is hung up once target answers. A number whose target takes the call
// itself (music, play, conference, a queue, a program's context) gets leg
// legID at once, as Redirect would. It returns when the transfer has
// succeeded or failed.
func (e *Engine) Transfer(ctx context.Context, legID, target string) error {
	l, err := e.liveLeg("transfer", legID)
	if err != nil {
		return err
	}
	b := l.currentBridge()
	if b == nil || b.other(l) == nil {
		return fmt.Errorf("transfer %s: %w: not talking to anyone", legID, ErrInvalidState)
	}
	return e.blindTransfer(b.other(l), target, nil)
}

// Consultation is an attended transfer started through the engine API.
type Consultation struct {
	ID string // the consultation leg: the target's
	x  *consultation
}

// AttendedTransfer holds leg legID with music while the PBX dials target
// (a dial-plan number, or a SIP URI) and connects it to the party legID
// was talking to; a target that takes the call itself (an application)
// cannot be consulted (ErrTransfer: transfer blind instead). It returns
// as soon as the target's leg exists, while it
// rings; that leg (Consultation.ID) belongs to legID's owner. If the
// target does not answer, transfer.failed says so and the call is as it
// was. Once it has answered, Complete joins legID with the target, and
// Cancel returns to the call as it was.
func (e *Engine) AttendedTransfer(ctx context.Context, legID, target string) (*Consultation, error) {
	l, err := e.liveLeg("attended transfer", legID)
	if err != nil {
		return nil, err
	}
	b := l.currentBridge()
	if b == nil || b.other(l) == nil {
		return nil, fmt.Errorf("attended transfer %s: %w: not talking to anyone", legID, ErrInvalidState)
	}
	x, err := e.consult(b.other(l), target)
	if err != nil {
		return nil, err
	}
	return &Consultation{ID: x.target.id, x: x}, nil
}

// CompleteTransfer completes the attended transfer whose consultation leg
// is consultationID. It fails with ErrInvalidState while the target still
// rings, ErrNotFound when there is no such transfer in progress.
func (e *Engine) CompleteTransfer(ctx context.Context, consultationID string) error {
	e.mu.Lock()
	x := e.consults[consultationID]
	e.mu.Unlock()
	if x == nil {
		return fmt.Errorf("complete transfer %s: %w", consultationID, ErrNotFound)
	}
	return x.completeByAPI()
}

// CancelTransfer cancels the attended transfer whose consultation leg is
// consultationID, ringing or answered, restoring the bridge.
func (e *Engine) CancelTransfer(ctx context.Context, consultationID string) error {
	e.mu.Lock()
	x := e.consults[consultationID]
	e.mu.Unlock()
	if x == nil || !x.cancel("cancelled") {
		return fmt.Errorf("cancel transfer %s: %w", consultationID, ErrNotFound)
	}
	return nil
}

// completeByAPI is complete, refused while the target rings.
func (x *consultation) completeByAPI() error {
	if !x.isAnswered() {
		return fmt.Errorf("complete transfer %s: %w: the target has not answered", x.target.id, ErrInvalidState)
	}
	if !x.complete() {
		return fmt.Errorf("complete transfer %s: %w: it is over", x.target.id, ErrNotFound)
	}
	return nil
}

// Complete joins the held leg with the target; the transferor is hung up.
// It fails with ErrInvalidState while the target rings.
func (c *Consultation) Complete() error { return c.x.completeByAPI() }

// Cancel hangs up the target and reconnects the transferor with the held leg.
func (c *Consultation) Cancel() error {
	if !c.x.cancel("cancelled") {
		return fmt.Errorf("cancel transfer %s: %w: it is over", c.ID, ErrTransfer)
	}
	return nil
}

// Done is closed when the consultation is completed, cancelled or failed.
func (c *Consultation) Done() <-chan struct{} { return c.x.done }
