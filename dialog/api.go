package dialog

import (
	"context"
	"fmt"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
)

// The engine API: what every control plane drives. Each method takes a
// context (for cancellation and deadlines), applies a leg's command in
// order with the rest of that leg's work, and returns errors that wrap
// ErrNotFound, ErrInvalidState, ErrBusy or ErrBadTarget.

// OriginateRequest says where to place a new outbound leg.
type OriginateRequest struct {
	// To is a SIP URI (sip:user@host[:port]), an extension, or a number
	// the dial plan routes to an extension or a trunk. A URI naming this
	// PBX (sip:1001@local, @localhost, @the node, @the realm, @its SIP
	// address) is the number in its user part.
	To string
	// Trunk, when set, sends To through this trunk.
	Trunk      string
	CallerID   string        // the From user; "" means the node name
	CallerName string        // the From display name
	Timeout    time.Duration // ring timeout; 0 means calls.ring_timeout
	Headers    map[string]string
	Music      string // what the answered leg hears while parked; "" is silence
	Owner      string // the control-plane session that commands the leg
	Context    string // the originator's context, reported in events
}

// Originate places a new outbound leg and returns at once, while it
// rings: the leg can be cancelled by id with Hangup. Its progress comes
// as events (leg.ringing, leg.early, leg.answered or leg.ended). Once
// answered it waits parked until it is bridged or told what to do.
func (e *Engine) Originate(ctx context.Context, r OriginateRequest) (LegInfo, error) {
	if e.draining.Load() {
		return LegInfo{}, fmt.Errorf("originate to %s: %w: draining", r.To, ErrBusy)
	}
	groups, err := e.destination(r)
	if err != nil {
		return LegInfo{}, err
	}
	o := dialOptions{fromUser: r.CallerID, fromName: r.CallerName, timeout: r.Timeout}
	if o.fromUser == "" {
		o.fromUser = e.opts.Node
	}
	for name, value := range r.Headers {
		if err := sip.ValidExtraHeader(name, value); err != nil {
			return LegInfo{}, fmt.Errorf("originate to %s: %w: %v", r.To, ErrBadTarget, err)
		}
		o.headers = append(o.headers, sipmsg.NewHeader(name, value))
	}
	if !e.admit.trySetup() {
		e.metrics.Refused.Add(1)
		return LegInfo{}, fmt.Errorf("originate to %s: %w", r.To, ErrBusy)
	}
	call := e.newCall(o.fromUser, r.To)
	l, err := e.outboundLeg(call, o.fromUser, r.To, r.Context, r.Owner)
	if err != nil {
		e.admit.doneSetup()
		call.mu.Lock()
		call.finished = true
		call.mu.Unlock()
		call.finish()
		return LegInfo{}, fmt.Errorf("originate to %s: %w", r.To, err)
	}
	l.mu.Lock()
	l.park = r.Music
	l.mu.Unlock()
	e.goOwned(func() {
		defer e.admit.doneSetup()
		e.dial(l.ctx, l, groups, o)
	})
	return l.Info(), nil
}

// destination resolves an originate's target into groups of INVITEs. A
// SIP URI that names this PBX (sip:1001@local) is the number in its user
// part.
func (e *Engine) destination(r OriginateRequest) ([][]dialTarget, error) {
	to := strings.TrimSpace(r.To)
	switch {
	case to == "":
		return nil, fmt.Errorf("originate: %w: no destination", ErrBadTarget)
	case r.Trunk != "":
		if e.trunks.byName[r.Trunk] == nil {
			return nil, fmt.Errorf("originate to %s: %w: no trunk %q", to, ErrBadTarget, r.Trunk)
		}
		return e.trunkTargets([]string{r.Trunk}, to), nil
	case isSIPURI(to):
		number, t, err := e.self().sipTarget(to)
		if err != nil {
			return nil, fmt.Errorf("originate to %s: %w", to, err)
		}
		if number == "" {
			return [][]dialTarget{{t}}, nil
		}
		to = number
	}
	if _, ok := e.users(to); ok {
		targets, cause := e.extensionTargets(to)
		if targets == nil {
			return nil, fmt.Errorf("originate to %s: %w: %s", to, ErrBadTarget, cause)
		}
		return [][]dialTarget{targets}, nil
	}
	route, ok := e.plan.Route(to)
	if !ok {
		return nil, fmt.Errorf("originate to %s: %w: no dial-plan rule", to, ErrBadTarget)
	}
	groups, err := e.routeGroups(route)
	if err != nil {
		return nil, fmt.Errorf("originate to %s: %w", to, err)
	}
	return groups, nil
}

// routeGroups turns a dial-plan route that dials (an extension, trunks)
// into the INVITEs to send: one group per trunk, tried in turn; an
// extension's contacts in one group, rung at once.
func (e *Engine) routeGroups(route Route) ([][]dialTarget, error) {
	switch t := route.Parsed.(type) {
	case ExtensionTarget:
		targets, cause := e.ringGroup(t.numbers(route.Number))
		if targets == nil {
			return nil, fmt.Errorf("%w: %s", ErrBadTarget, cause)
		}
		return [][]dialTarget{targets}, nil
	case TrunkTarget:
		return e.trunkTargets(t.Trunks, route.Number), nil
	}
	return nil, fmt.Errorf("%w: target %s cannot be dialled", ErrBadTarget, route.Kind)
}

// outboundLeg makes and registers a leg the PBX will dial. owner is set
// before leg.created is published, so that event reaches the owner too.
func (e *Engine) outboundLeg(call *Call, from, to, ctxName, owner string) (*Leg, error) {
	if !e.admit.tryLeg() {
		e.metrics.Refused.Add(1)
		return nil, fmt.Errorf("new leg to %s: %w", to, ErrBusy)
	}
	ep, err := e.media.NewEndpoint()
	if err != nil {
		e.admit.doneLeg()
		return nil, fmt.Errorf("new leg to %s: %w: %v", to, ErrBusy, err)
	}
	l := e.newLeg(Outbound, call, ep, from, to, ctxName)
	l.owner = owner
	call.addLeg(l)
	e.register(l)
	l.publish(Event{Kind: EventLegCreated, Direction: string(Outbound), Context: ctxName, From: from, To: to})
	return l, nil
}

// Answer answers a ringing inbound leg with the PBX's media. An answered
// leg in no bridge is parked.
func (e *Engine) Answer(ctx context.Context, legID string) error {
	l, err := e.liveLeg("answer", legID)
	if err != nil {
		return err
	}
	return l.ops.do(ctx, l.answer)
}

// Ring sends 180 Ringing on a ringing inbound leg.
func (e *Engine) Ring(ctx context.Context, legID string) error {
	l, err := e.liveLeg("ring", legID)
	if err != nil {
		return err
	}
	return l.ops.do(ctx, l.ring)
}

// Reject refuses a ringing inbound leg with a SIP status: 486 busy, 603
// decline, 480 unavailable, or another 4xx-6xx.
func (e *Engine) Reject(ctx context.Context, legID string, code int) error {
	if code < 400 || code > 699 {
		return fmt.Errorf("reject %s: %w: status %d is not a failure", legID, ErrInvalidState, code)
	}
	l, err := e.liveLeg("reject", legID)
	if err != nil {
		return err
	}
	return l.ops.do(ctx, func() error {
		if l.dir != Inbound || l.getState() >= StateAnswered {
			return fmt.Errorf("reject %s: %w: not a ringing inbound leg", legID, ErrInvalidState)
		}
		l.end(causeFromSIP(code), byLocal, code)
		return nil
	})
}

// Refuse ends a leg nobody can serve (no program, no bot, no fallback):
// 480 to a caller still ringing, as Reject does; a leg already answered,
// or one the PBX placed, is hung up as unavailable.
func (e *Engine) Refuse(ctx context.Context, legID string) error {
	info, ok := e.Leg(legID)
	if !ok {
		return fmt.Errorf("refuse %s: %w", legID, ErrNotFound)
	}
	if info.Direction == Inbound && info.State < StateAnswered {
		return e.Reject(ctx, legID, 480)
	}
	return e.Hangup(ctx, legID, CauseUnavailable)
}

// Hangup ends a leg for cause: BYE once answered, the cause's SIP status
// to a ringing caller, CANCEL to a leg still ringing out.
func (e *Engine) Hangup(ctx context.Context, legID string, cause Cause) error {
	l, err := e.liveLeg("hangup", legID)
	if err != nil {
		return err
	}
	return l.ops.do(ctx, func() error { l.end(cause, byLocal, 0); return nil })
}

// Bridge joins two legs in a new bridge, taking each out of the bridge
// it was in. When either leaves, the other is parked, not hung up.
func (e *Engine) Bridge(ctx context.Context, a, b string) (BridgeInfo, error) {
	if a == b {
		return BridgeInfo{}, fmt.Errorf("bridge %s with itself: %w", a, ErrInvalidState)
	}
	la, err := e.liveLeg("bridge", a)
	if err != nil {
		return BridgeInfo{}, err
	}
	lb, err := e.liveLeg("bridge", b)
	if err != nil {
		return BridgeInfo{}, err
	}
	br := e.newBridge(false, false)
	if err := br.join(la); err != nil {
		br.dissolve()
		return BridgeInfo{}, err
	}
	if err := br.join(lb); err != nil {
		br.dissolve()
		return BridgeInfo{}, err
	}
	return br.Info(), nil
}

// Unbridge takes a leg out of its bridge; it stays up, parked. A bridge
// left with one party dissolves, and that party is parked too.
func (e *Engine) Unbridge(ctx context.Context, legID string) error {
	l, err := e.liveLeg("unbridge", legID)
	if err != nil {
		return err
	}
	b := l.currentBridge()
	if b == nil {
		return fmt.Errorf("unbridge %s: %w: in no bridge", legID, ErrInvalidState)
	}
	b.leave(l, false)
	return nil
}

// AddToBridge adds a leg to an existing bridge (a third party, a
// conference), taking it out of the bridge it was in.
func (e *Engine) AddToBridge(ctx context.Context, bridgeID, legID string) error {
	l, err := e.liveLeg("add to bridge", legID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	b := e.bridges[bridgeID]
	e.mu.Unlock()
	if b == nil {
		return fmt.Errorf("add %s to bridge %s: %w", legID, bridgeID, ErrNotFound)
	}
	return b.join(l)
}

// Hold makes a leg hear the music of a class (its own when class is "")
// instead of its bridge, until Unhold. A parked leg hears it too.
func (e *Engine) Hold(ctx context.Context, legID, class string) error {
	l, err := e.liveLeg("hold", legID)
	if err != nil {
		return err
	}
	if class == "" {
		class = l.musicClass
	}
	if _, ok := e.musics[class]; !ok {
		return fmt.Errorf("hold %s: %w: no hold-music class %q", legID, ErrBadTarget, class)
	}
	return l.ops.do(ctx, func() error { l.setHold(class); return nil })
}

// Unhold returns a leg held by Hold to its bridge.
func (e *Engine) Unhold(ctx context.Context, legID string) error {
	l, err := e.liveLeg("unhold", legID)
	if err != nil {
		return err
	}
	return l.ops.do(ctx, func() error { l.setHold(""); return nil })
}

// Park sets what a leg hears while it is in no bridge: a music class, or
// silence with "".
func (e *Engine) Park(ctx context.Context, legID, class string) error {
	l, err := e.liveLeg("park", legID)
	if err != nil {
		return err
	}
	if _, ok := e.musics[class]; class != "" && !ok {
		return fmt.Errorf("park %s: %w: no hold-music class %q", legID, ErrBadTarget, class)
	}
	return l.ops.do(ctx, func() error {
		l.mu.Lock()
		l.park = class
		l.mu.Unlock()
		l.reconcileSolo()
		return nil
	})
}

// SetOwner records the control-plane session that commands a leg; ""
// releases it. It sets unconditionally: Claim is the compare-and-set.
func (e *Engine) SetOwner(legID, owner string) error {
	l, err := e.liveLeg("own", legID)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owner = owner
	return nil
}

// Claim makes owner the leg's owner if it has none, or already is: two
// sessions offered one call race for it, and exactly one wins. The loser
// gets an error wrapping ErrOwned; a leg that has ended, ErrNotFound.
func (e *Engine) Claim(legID, owner string) error {
	l, err := e.liveLeg("claim", legID)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.state == StateEnded:
		return fmt.Errorf("claim %s: %w", legID, ErrNotFound)
	case l.owner != "" && l.owner != owner:
		return fmt.Errorf("claim %s for %s: %w", legID, owner, ErrOwned)
	}
	l.owner = owner
	return nil
}

// setHold holds (class != "") or resumes the leg by the API. It runs on
// the leg's queue.
func (l *Leg) setHold(class string) {
	l.mu.Lock()
	was := l.hold
	l.hold = class
	l.mu.Unlock()
	if was == class {
		return
	}
	l.applyHoldState()
	if b := l.currentBridge(); b != nil {
		b.update()
	}
	l.reconcileSolo()
	if class != "" {
		l.publish(Event{Kind: EventLegHeld, Detail: class})
	} else {
		l.publish(Event{Kind: EventLegResumed})
	}
}

// applyHoldState moves an answered leg between answered and held, as its
// phone or the API holds it.
func (l *Leg) applyHoldState() {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.state == StateAnswered && (l.hold != "" || l.phoneHeld):
		l.state = StateHeld
	case l.state == StateHeld && l.hold == "" && !l.phoneHeld:
		l.state = StateAnswered
	}
}
