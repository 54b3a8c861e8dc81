package dialog

import (
	"context"
	"strings"
)

// The dial plan's own calls: a caller's leg reaches an extension or a
// trunk. The engine dials one outbound leg for it (ringing every contact
// of an extension, or the trunks in turn); its ringing and early media
// are passed to the caller; when it answers, the two legs are bridged and
// the caller answered. The bridge is a dial-plan call: when either party
// hangs up, the other is hung up too. The feature codes listen to both.

func handleExtension(ctx context.Context, e *Engine, a *Leg, r Route) {
	t, _ := r.Parsed.(ExtensionTarget)
	exts := t.numbers(r.Number)
	targets, cause := e.ringGroup(exts)
	if targets == nil {
		a.ops.do(context.Background(), func() error { a.end(cause, byLocal, 0); return nil })
		return
	}
	e.connect(ctx, a, [][]dialTarget{targets}, strings.Join(exts, ","))
}

func handleTrunk(ctx context.Context, e *Engine, a *Leg, r Route) {
	t, _ := r.Parsed.(TrunkTarget)
	groups := e.trunkTargets(t.Trunks, r.Number)
	if len(groups) == 0 {
		a.ops.do(context.Background(), func() error { a.end(CauseCongestion, byLocal, 0); return nil })
		return
	}
	e.connect(ctx, a, groups, r.Number)
}

// connect dials groups for the caller's leg a and bridges the two. a may
// be answered already (an outbound leg, or one a program redirected).
func (e *Engine) connect(ctx context.Context, a *Leg, groups [][]dialTarget, to string) {
	b, err := e.outboundLeg(a.call, a.identity(), to, a.context, "")
	if err != nil {
		a.ops.do(context.Background(), func() error { a.end(CauseCongestion, byLocal, 0); return nil })
		return
	}
	br := e.newBridge(false, true)
	join := func() {
		if err := br.join(a); err == nil {
			br.join(b)
		}
	}
	o := e.callerDialOptions(a)
	o.onRinging = func() {
		a.ops.post(func() {
			if a.ring() == nil {
				e.events.publish(Event{Kind: EventCallRinging, CallID: a.call.ID, LegID: b.id, OtherLegID: a.id, From: a.from, To: a.to})
			}
		})
	}
	o.onEarly = func() {
		codec := b.currentCodec().Name
		a.ops.post(func() {
			if err := a.earlyMedia(codec); err != nil {
				a.log.Debug("early media", "error", err)
				return
			}
			join()
		})
	}
	if !e.dial(ctx, b, groups, o) {
		br.dissolve()
		cause := b.endCause()
		a.ops.do(context.Background(), func() error {
			if cause == CauseCancelled {
				cause = CauseNoAnswer
			}
			a.end(cause, byLocal, 0)
			return nil
		})
		return
	}
	join()
	err = a.ops.do(context.Background(), a.answer)
	if err != nil {
		b.ops.post(func() { b.end(CauseCancelled, byLocal, 0) })
		return
	}
	e.watchFeatures(a)
	e.watchFeatures(b)
}

// callerDialOptions are the INVITE settings for a leg dialled on a
// caller's behalf: its number and name, its offer's codecs first, and one
// hop less, so calls looping through trunks die out.
func (e *Engine) callerDialOptions(a *Leg) dialOptions {
	o := dialOptions{fromUser: a.identity(), callerOffer: a.remoteOffer()}
	if srv := a.srv; srv != nil {
		req := srv.InviteRequest
		if f := req.From(); f != nil {
			o.fromName = f.DisplayName
		}
		if mf := req.MaxForwards(); mf != nil {
			o.maxForwards = int(mf.Val()) - 1
		}
	}
	return o
}
