package dialog

import (
	"context"
	"fmt"
	"sync"

	"pbx/sounds"
)

// consultation is an attended transfer in progress. It comes in three
// shapes, told apart by which legs it has:
//
//   - bridged: transferor and held talked in orig; the transferor talks to
//     the target in consult while held hears music in orig, kept up;
//   - lone: held was answered in no bridge (transferor, orig and consult
//     are nil); it hears music while the target rings, then waits for
//     complete, which bridges it with the target;
//   - application: the number takes the call itself (target and consult
//     are nil, app is set): held hears music until complete redirects it
//     there. transferor and orig are set when held was in a two-party call.
type consultation struct {
	e          *Engine
	id         string // the target's leg, or a fresh id when there is no target
	transferor *Leg
	held       *Leg
	target     *Leg
	app        *Route  // the application complete sends held to
	number     string  // the target as it was named
	orig       *Bridge // the held party's bridge, kept up meanwhile
	consult    *Bridge // transferor and target
	once       sync.Once
	done       chan struct{}

	mu       sync.Mutex
	answered bool // the target answered (set after its leg.answered); always, for an application
	pending  bool // the transferor hung up before the target answered: complete on answer
}

// reporter is the leg a consultation's transfer.* events are published
// on: the transferor, or the held leg itself when there is none.
func (x *consultation) reporter() *Leg {
	if x.transferor != nil {
		return x.transferor
	}
	return x.held
}

// register makes x findable by its id.
func (x *consultation) register() {
	x.e.mu.Lock()
	x.e.consults[x.id] = x
	x.e.mu.Unlock()
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

// consult begins an attended transfer from a phone's keys: the party
// facing transferor hears music while the PBX rings number, and the
// transferor waits for the target in a consultation bridge (hearing its
// early media, if any). It returns as soon as the target's leg exists; the
// dialling goes on, on a goroutine the engine owns. When the target
// answers, the transferor talks to it. Then the transferor hangs up (or
// complete) to join the held party with the target, or keys the code
// again (or cancel, or the target hangs up) to return. A target that does
// not answer returns the transferor to the held party, with
// transfer.failed and a prompt. An application cannot be consulted from
// a phone: there would be no one to talk to.
func (e *Engine) consult(transferor *Leg, number string) (*consultation, error) {
	return e.consultBridged(transferor, number, false)
}

// consultBridged is consult; with apps, a number that takes the call
// itself is accepted too: the held party hears music until complete
// redirects it there, or cancel returns it to the transferor.
func (e *Engine) consultBridged(transferor *Leg, number string, apps bool) (*consultation, error) {
	b := transferor.currentBridge()
	var held *Leg
	if b != nil {
		held = b.other(transferor)
	}
	if held == nil || !b.claimTransfer() {
		return nil, fmt.Errorf("attended transfer from %s: %w: not a two-party call, or a transfer is under way", transferor.id, ErrTransfer)
	}
	groups, app, err := e.routeTransfer(transferor, number)
	if err == nil && app != nil && !apps {
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
	if app != nil {
		x := &consultation{e: e, id: e.newID(), transferor: transferor, held: held, app: app, number: number, orig: b, done: make(chan struct{}), answered: true}
		x.register()
		// The transferor hanging up completes the transfer, as with a
		// target to talk to.
		transferor.onEnd(func() { e.goOwned(x.transferorEnded) })
		held.onEnd(func() { e.goOwned(func() { x.cancel("held party hung up") }) })
		return x, nil
	}
	target, err := e.outboundLeg(held.call, held.identity(), number, held.context, held.getOwner())
	if err != nil {
		held.ops.do(context.Background(), func() error { held.setHold(""); return nil })
		b.setPersistent(false)
		b.releaseTransfer()
		transferor.publish(Event{Kind: EventTransferFailed, Detail: number, Cause: CauseCongestion.String()})
		e.playPrompts(transferor, sounds.TransferFailed)
		return nil, fmt.Errorf("attended transfer to %s: %w", number, err)
	}
	x := &consultation{e: e, id: target.id, transferor: transferor, held: held, target: target, number: number, orig: b, done: make(chan struct{})}
	x.consult = e.newBridge(false, false)
	x.register()
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

// isAnswered reports whether the target has answered (an application
// always has).
func (x *consultation) isAnswered() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.answered || x.target != nil && x.target.wasAnswered()
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
		delete(x.e.consults, x.id)
		x.e.mu.Unlock()
		if x.orig != nil {
			x.orig.releaseTransfer()
		} else {
			releaseSolo(x.held)
		}
		close(x.done)
	})
	return ok
}

// complete joins the held party with the target (or sends it to the
// application); the transferor, if any, goes.
func (x *consultation) complete() bool {
	if !x.finish() {
		return false
	}
	switch {
	case x.app != nil:
		return x.completeApp()
	case x.orig == nil:
		return x.completeSolo()
	}
	if x.held.ended() || x.target.ended() {
		x.restore()
		return false
	}
	x.orig.join(x.target)
	x.held.ops.do(context.Background(), func() error { x.held.setHold(""); return nil })
	x.orig.setPersistent(false)
	x.transferor.log.Info("attended transfer completed", "held", x.held.id, "target", x.target.id)
	x.transferor.publish(Event{Kind: EventTransferDone, OtherLegID: x.target.id, Detail: x.number})
	x.e.watchFeatures(x.target)
	x.e.release(x.transferor, false)
	return true
}

// completeSolo bridges a lone held leg with the target that answered, as
// Engine.Bridge would: when one later hangs up the other is parked.
func (x *consultation) completeSolo() bool {
	br := x.e.newBridge(false, false)
	if x.held.ended() || x.target.ended() || br.join(x.held) != nil || br.join(x.target) != nil {
		br.dissolve()
		x.restore()
		x.target.ops.do(context.Background(), func() error { x.target.end(CauseNormal, byLocal, 0); return nil })
		x.held.publish(Event{Kind: EventTransferFailed, Detail: x.number, Cause: "the call ended"})
		return false
	}
	x.held.ops.do(context.Background(), func() error { x.held.setHold(""); return nil })
	x.held.log.Info("attended transfer completed", "target", x.target.id)
	x.held.publish(Event{Kind: EventTransferDone, OtherLegID: x.target.id, Detail: x.number})
	return true
}

// completeApp redirects the held leg into the application and hangs up
// the party it talked to, if any.
func (x *consultation) completeApp() bool {
	if x.orig != nil {
		x.orig.setPersistent(false)
	}
	rep := x.reporter()
	if err := x.e.redirect(context.Background(), x.held, *x.app, x.number); err != nil {
		x.restore()
		rep.log.Info("attended transfer failed", "target", x.number, "error", err)
		rep.publish(Event{Kind: EventTransferFailed, Detail: x.number, Cause: CauseNormal.String()})
		return false
	}
	rep.log.Info("attended transfer completed", "held", x.held.id, "target", x.number)
	rep.publish(Event{Kind: EventTransferDone, OtherLegID: x.held.id, Detail: x.number})
	if x.transferor != nil {
		x.e.release(x.transferor, false)
	}
	return true
}

// cancel hangs up the target and reconnects the transferor with the held
// party (a lone held leg is taken off hold).
func (x *consultation) cancel(why string) bool {
	if !x.finish() {
		return false
	}
	if x.target != nil {
		x.target.ops.do(context.Background(), func() error { x.target.end(CauseNormal, byLocal, 0); return nil })
	}
	x.restore()
	rep := x.reporter()
	rep.log.Info("attended transfer cancelled", "why", why)
	rep.publish(Event{Kind: EventTransferFailed, Detail: x.number, Cause: why})
	return true
}

// fail returns the transferor to the held party after the target did not
// answer, and tells it with a prompt; a lone held leg is taken off hold.
func (x *consultation) fail(cause Cause) {
	if !x.finish() {
		return
	}
	x.restore()
	rep := x.reporter()
	rep.log.Info("attended transfer failed", "target", x.number, "cause", cause.String())
	rep.publish(Event{Kind: EventTransferFailed, Detail: x.number, Cause: cause.String()})
	if x.transferor != nil && !x.transferor.ended() {
		x.e.playPrompts(x.transferor, sounds.TransferFailed)
	}
}

// restore puts the transferor back with the held party, or ends what is
// left when one of them is gone. A lone held leg is just taken off hold.
func (x *consultation) restore() {
	if x.orig == nil {
		x.held.ops.do(context.Background(), func() error { x.held.setHold(""); return nil })
		return
	}
	x.orig.setPersistent(false)
	if x.transferor.ended() || x.held.ended() {
		for _, l := range []*Leg{x.transferor, x.held} {
			l.ops.do(context.Background(), func() error { l.end(CauseNormal, byLocal, 0); return nil })
		}
		x.orig.dissolve()
		if x.consult != nil {
			x.consult.dissolve()
		}
		return
	}
	x.orig.join(x.transferor)
	x.held.ops.do(context.Background(), func() error { x.held.setHold(""); return nil })
	if x.consult != nil {
		x.consult.dissolve()
	}
}

// Transfer is the engine API's blind transfer: leg legID is sent to
// target (a dial-plan number or a SIP URI), and the party it was talking
// to is hung up once target answers. A lone leg (answered, in no bridge:
// parked, or hearing a prompt) hears its hold music while target rings
// and is then bridged with it as by Bridge; its prompts are stopped.
// A number whose target takes the call itself (music, play, conference,
// park, a queue, a program's context) gets leg legID at once, as Redirect
// would. transfer.started, then transfer.completed or transfer.failed,
// are published on the party legID talked to, or on legID itself when
// it was alone. It returns when the transfer has succeeded or failed.
func (e *Engine) Transfer(ctx context.Context, legID, target string) error {
	l, err := e.liveLeg("transfer", legID)
	if err != nil {
		return err
	}
	b := l.currentBridge()
	if b == nil {
		return e.blindSolo(l, target)
	}
	peer := b.other(l)
	if peer == nil {
		return fmt.Errorf("transfer %s: %w: alone in a bridge", legID, ErrInvalidState)
	}
	return e.blindTransfer(peer, target, nil)
}

// Consultation is an attended transfer started through the engine API.
type Consultation struct {
	// ID names the consultation: the target's leg, or, when the target
	// is an application and there is no leg to consult, a fresh id that
	// names no leg.
	ID string
	x  *consultation
}

// AttendedTransfer holds leg legID with music while the PBX dials target
// (a dial-plan number, or a SIP URI), and returns as soon as the target's
// leg exists, while it rings; that leg (Consultation.ID) belongs to
// legID's owner. What the target is connected to meanwhile, and what
// Complete does, depend on legID:
//
//   - legID talks to one party (the transferor): the transferor talks to
//     the target in a consultation bridge. Complete joins legID with the
//     target in the original bridge and hangs up the transferor; Cancel
//     hangs up the target and returns the transferor to legID.
//   - legID is alone (answered, in no bridge: parked, or hearing a prompt,
//     which is stopped): the target is parked when it answers. Complete
//     bridges legID with the target as Bridge does (when one later hangs
//     up the other is parked); Cancel hangs up the target.
//
// Either way, if the target does not answer, transfer.failed says so and
// legID is taken off hold, the call as it was; Complete is refused with
// ErrInvalidState while it rings.
//
// A target that takes the call itself (an application: music, play,
// conference, park, a program's context, a queue) has no one to consult.
// legID hears its hold music; Consultation.ID is then a fresh id that
// names no leg. Complete redirects legID into the application, as Redirect
// does, and hangs up the party legID talked to, if any (that party hanging
// up completes it too); Cancel takes legID off hold, back to its party.
//
// transfer.started, then transfer.completed or transfer.failed, are
// published on the party legID talked to, or on legID itself when it was
// alone. Errors wrap ErrNotFound, ErrInvalidState (legID not answered,
// or alone in a bridge) or ErrTransfer (no route, a target legID may not
// reach, a transfer already under way).
func (e *Engine) AttendedTransfer(ctx context.Context, legID, target string) (*Consultation, error) {
	l, err := e.liveLeg("attended transfer", legID)
	if err != nil {
		return nil, err
	}
	var x *consultation
	switch b := l.currentBridge(); {
	case b == nil:
		x, err = e.consultSolo(l, target)
	case b.other(l) == nil:
		return nil, fmt.Errorf("attended transfer %s: %w: alone in a bridge", legID, ErrInvalidState)
	default:
		x, err = e.consultBridged(b.other(l), target, true)
	}
	if err != nil {
		return nil, err
	}
	return &Consultation{ID: x.id, x: x}, nil
}

// CompleteTransfer completes the attended transfer named consultationID
// (Consultation.ID). It fails with ErrInvalidState while the target still
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

// CancelTransfer cancels the attended transfer named consultationID,
// ringing or answered, restoring the call as it was.
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
		return fmt.Errorf("complete transfer %s: %w: the target has not answered", x.id, ErrInvalidState)
	}
	if !x.complete() {
		return fmt.Errorf("complete transfer %s: %w: it is over", x.id, ErrNotFound)
	}
	return nil
}

// Complete is CompleteTransfer.
func (c *Consultation) Complete() error { return c.x.completeByAPI() }

// Cancel is CancelTransfer.
func (c *Consultation) Cancel() error {
	if !c.x.cancel("cancelled") {
		return fmt.Errorf("cancel transfer %s: %w: it is over", c.ID, ErrTransfer)
	}
	return nil
}

// Done is closed when the consultation is completed, cancelled or failed.
func (c *Consultation) Done() <-chan struct{} { return c.x.done }
