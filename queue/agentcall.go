package queue

import (
	"context"
	"errors"
	"fmt"

	"pbx/dialog"
	"pbx/sounds"
)

// The agent's current call, driven by API: what an agent console (ECCP)
// does for an agent whose phone it does not control. Each acts on the
// agent's latest call that is talking (a call still being connected is
// not one yet), and keeps the queue's books as the agent's phone would:
// the call ends for the agent, who wraps up, and the queue log tells how.
// A static agent's open line is never hung up by these: it goes back to
// its music, logged in.

// consultCall is an attended transfer by API: the caller holds with the
// queue's music in the call's bridge while the agent talks there to the
// one consulted, whose leg the Center placed.
type consultCall struct {
	number   string
	leg      string // the one consulted; "" until placed
	wasHeld  bool   // the call was on hold before: it stays held if the consultation fails
	answered bool
	pending  bool // complete as soon as the one consulted answers
	done     bool // completed, or dropped with the call
}

// agentCall finds an agent and its current call for op; under the lock.
// An agent who logged out during a call may still act on it.
func (c *Center) agentCall(op, agentID string) (*agent, *conn, error) {
	a := c.agents[agentID]
	if a == nil {
		return nil, nil, fmt.Errorf("%s %s: %w", op, agentID, ErrUnknownAgent)
	}
	for i := len(a.calls) - 1; i >= 0; i-- {
		if k := a.calls[i]; !k.ended && k.cl.ph == phaseTalking {
			return a, k, nil
		}
	}
	if !a.loggedIn {
		return nil, nil, fmt.Errorf("%s %s: %w", op, agentID, ErrLoggedOut)
	}
	return nil, nil, fmt.Errorf("%s %s: %w", op, agentID, ErrNoCall)
}

// errTransferring refuses what cannot be done while a transfer of the
// call is under way.
func errTransferring(op, agentID string) error {
	return fmt.Errorf("%s %s: %w: a transfer of the call is under way", op, agentID, dialog.ErrInvalidState)
}

// command runs an engine command of an API call; a Center with no
// engine (unit tests) has none to run.
func (c *Center) command(ctx context.Context, f func(ctx context.Context) error) error {
	if c.e == nil || f == nil {
		return nil
	}
	return f(ctx)
}

// HoldCall puts the agent's current call on hold, or takes it off, as the
// agent's phone holding it does: on hold the caller hears the queue's
// music and the agent is on-hold (EventAgentStateChanged). Holding a call
// on hold, or resuming one that is not, changes nothing. It returns once
// the caller hears the music (or the agent again). Errors wrap
// ErrUnknownAgent, ErrLoggedOut or ErrNoCall, and dialog.ErrInvalidState
// during an attended transfer.
func (c *Center) HoldCall(ctx context.Context, agentID string, held bool) error {
	const op = "hold the call of"
	var cmd func(ctx context.Context) error
	var err error
	c.do(func(t *txn) {
		a, k, e := c.agentCall(op, agentID)
		switch {
		case e != nil:
			err = e
		case k.consult != nil || k.transfer != transferNone:
			err = errTransferring(op, agentID)
		default:
			cmd = t.holdCall(a, k, held)
		}
	})
	if err != nil {
		return err
	}
	if err := c.command(ctx, cmd); err != nil {
		return fmt.Errorf("%s %s: %w", op, agentID, err)
	}
	return nil
}

// HangupCall ends the agent's current call: the caller is hung up, the
// agent's part ends (COMPLETEAGENT in the queue log) and the agent wraps
// up. A dynamic member's call is hung up; a static agent's open line goes
// back to its music, logged in. During an attended transfer (TransferCall)
// it completes the transfer instead: the caller talks to the one
// consulted, at once or, while they still ring, when they answer. Errors
// wrap ErrUnknownAgent, ErrLoggedOut or ErrNoCall, and
// dialog.ErrInvalidState while a blind transfer hands the caller on.
func (c *Center) HangupCall(ctx context.Context, agentID string) error {
	var err error
	c.do(func(t *txn) {
		_, k, e := c.agentCall("hang up the call of", agentID)
		switch {
		case e != nil:
			err = e
		case k.consult != nil:
			t.completeConsult(k)
		case k.transfer != transferNone:
			err = errTransferring("hang up the call of", agentID)
		default:
			t.endCall(k, endedByAgent, "")
			if !k.viaLine {
				t.hangup(k.agentLeg, dialog.CauseNormal)
			}
		}
	})
	return err
}

// TransferCall transfers the agent's current call to number.
//
// Blind: the caller goes where the dial plan routes number, as if they had
// dialled it (an extension rings, an application such as another queue
// takes the call), with the engine's rules for a redirect: only a user's
// call may reach a trunk. The agent is free at once (BLINDTRANSFER in
// the queue log, then wrap-up): a dynamic member's call is hung up, a
// static agent's line goes back to its music, logged in.
//
// Attended: the caller holds with the queue's music while the PBX rings
// number (an extension, or a number the dial plan routes to one or to a
// trunk; not an application) with the caller's number, and the agent
// talks to whoever answers, in the call. It returns while number rings.
// HangupCall, or the agent's phone hanging up (a static agent's line:
// then logged out), completes the transfer (ATTENDEDTRANSFER): the caller
// talks to the one consulted, and the agent's part ends as for a blind
// transfer. If number does not answer, or hangs up first, the agent is
// back with the caller (on hold still, if the call was held before).
//
// Errors wrap ErrUnknownAgent, ErrLoggedOut or ErrNoCall;
// dialog.ErrInvalidState while a transfer is under way; dialog.ErrBadTarget
// for a number the caller may not be sent to.
func (c *Center) TransferCall(ctx context.Context, agentID, number string, attended bool) error {
	if number == "" {
		return fmt.Errorf("transfer the call of %s: %w: no number", agentID, dialog.ErrBadTarget)
	}
	if attended {
		return c.consultTransfer(ctx, agentID, number)
	}
	return c.blindTransfer(ctx, agentID, number)
}

// blindTransfer hands the agent's caller to the dial plan. The caller is
// let go of first, since the number may be a queue that takes them as a
// new caller; taken back if the engine refuses.
func (c *Center) blindTransfer(ctx context.Context, agentID, number string) error {
	const op = "transfer the call of"
	var k *conn
	var err error
	c.do(func(t *txn) {
		var e error
		if _, k, e = c.agentCall(op, agentID); e != nil {
			err = e
			return
		}
		if k.consult != nil || k.transfer != transferNone {
			err = errTransferring(op, agentID)
			return
		}
		k.transfer = transferRedirect
		delete(c.callers, k.callerLeg)
		delete(c.legs, k.callerLeg)
	})
	if err != nil {
		return err
	}
	rerr := c.e.RedirectNumber(ctx, k.callerLeg, number)
	c.do(func(t *txn) {
		k.transfer = transferNone
		if k.ended {
			return
		}
		if rerr != nil {
			// The caller stays with the agent (or, gone meanwhile, is
			// found so by the reconcile below).
			c.callers[k.callerLeg] = k.cl
			c.legs[k.callerLeg] = legRef{kind: legCaller, cl: k.cl}
			if k.agentEnded {
				delete(c.legs, k.agentLeg)
				t.endCall(k, endedByAgent, "")
			}
			return
		}
		c.log.Info("agent transferred a call by API", "agent", agentID, "leg", k.callerLeg, "to", number)
		t.endCall(k, endedByBlindTransfer, number)
		if !k.viaLine && !k.agentEnded {
			t.hangup(k.agentLeg, dialog.CauseNormal)
		}
	})
	if rerr != nil {
		c.reconcileLeg(k.callerLeg)
		return fmt.Errorf("%s %s to %s: %w", op, agentID, number, rerr)
	}
	return nil
}

// consultTransfer starts an attended transfer by API: the caller is held,
// the one consulted is called and put in the call's bridge, where the
// agent hears them ring (early media) and talks to them.
func (c *Center) consultTransfer(ctx context.Context, agentID, number string) error {
	const op = "transfer the call of"
	var k *conn
	var x *consultCall
	var req dialog.OriginateRequest
	var class string
	var err error
	c.do(func(t *txn) {
		var a *agent
		var e error
		if a, k, e = c.agentCall(op, agentID); e != nil {
			err = e
			return
		}
		if k.consult != nil || k.transfer != transferNone {
			err = errTransferring(op, agentID)
			return
		}
		x = &consultCall{number: number, wasHeld: a.held}
		k.consult = x
		class = musicClass(k.q.cfg)
		req = dialog.OriginateRequest{To: number, CallerID: k.cl.from, Context: "queue:" + k.q.name}
	})
	if err != nil {
		return err
	}
	undo := func() {
		c.do(func(t *txn) {
			if k.consult == x && !x.done {
				k.consult, x.done = nil, true
				t.act(c.unholdUnless(k.callerLeg, x.wasHeld))
			}
		})
	}
	if err := c.e.Hold(ctx, k.callerLeg, class); err != nil {
		undo()
		return fmt.Errorf("%s %s to %s: %w", op, agentID, number, err)
	}
	info, err := c.e.Originate(ctx, req)
	if err != nil {
		undo()
		return fmt.Errorf("%s %s to %s: %w", op, agentID, number, err)
	}
	gone := false
	c.do(func(t *txn) {
		if k.consult != x || x.done {
			gone = true
			return
		}
		x.leg = info.ID
		c.legs[info.ID] = legRef{kind: legConsult, k: k}
		c.log.Info("agent consults by API", "agent", agentID, "leg", k.callerLeg, "to", number, "consulted", info.ID)
	})
	if gone {
		c.e.Hangup(c.ctx, info.ID, dialog.CauseCancelled)
		return fmt.Errorf("%s %s to %s: %w: the call ended", op, agentID, number, ErrNoCall)
	}
	if err := c.e.AddToBridge(ctx, k.bridge, info.ID); err != nil {
		// The call's bridge is gone: so is the call, or it will be.
		c.e.Hangup(c.ctx, info.ID, dialog.CauseNormal)
		return fmt.Errorf("%s %s to %s: %w", op, agentID, number, err)
	}
	// Events of the leg may have gone by before it was tracked.
	c.reconcileLeg(info.ID)
	return nil
}

// unholdUnless is a command taking the caller off hold, or nothing when
// the call was on hold before (it stays so).
func (c *Center) unholdUnless(callerLeg string, wasHeld bool) func(ctx context.Context) {
	return func(ctx context.Context) {
		if !wasHeld {
			c.e.Unhold(ctx, callerLeg)
		}
	}
}

// consultEvent follows the one consulted in an attended transfer by API.
func (t *txn) consultEvent(k *conn, ev dialog.Event) {
	x := k.consult
	if x == nil || x.done || x.leg != ev.LegID {
		if ev.Kind == dialog.EventLegEnded {
			delete(t.c.legs, ev.LegID)
		}
		return
	}
	switch ev.Kind {
	case dialog.EventLegAnswered:
		if x.answered {
			return
		}
		x.answered = true
		if x.pending {
			t.completeConsult(k)
		}
	case dialog.EventLegEnded:
		delete(t.c.legs, ev.LegID)
		t.consultFailed(k, x)
	}
}

// consultFailed returns the call to the agent when the one consulted did
// not answer, or hung up: the caller hears the agent again (unless the
// call was on hold before), and the agent a prompt if they were never
// reached. An agent who hung up meanwhile ends the call.
func (t *txn) consultFailed(k *conn, x *consultCall) {
	c := t.c
	x.done = true
	k.consult = nil
	c.log.Info("attended transfer by API failed", "leg", k.callerLeg, "to", x.number, "answered", x.answered)
	if k.agentEnded {
		delete(c.legs, k.agentLeg)
		t.endCall(k, endedByAgent, "")
		return
	}
	t.act(c.unholdUnless(k.callerLeg, x.wasHeld))
	if !x.answered {
		agentLeg := k.agentLeg
		t.act(func(ctx context.Context) {
			c.e.PlayPrompts(ctx, agentLeg, []string{sounds.TransferFailed}, dialog.PlayOptions{})
		})
	}
}

// completeConsult completes an attended transfer by API: the caller talks
// to the one consulted, in the call's bridge, and the agent leaves it (a
// dynamic member is hung up, a static agent's line goes back to its
// music). While the one consulted rings, it completes when they answer.
func (t *txn) completeConsult(k *conn) {
	c := t.c
	x := k.consult
	if x == nil || x.done {
		return
	}
	if !x.answered {
		x.pending = true
		return
	}
	x.done = true
	callerLeg, agentLeg, peer := k.callerLeg, k.agentLeg, x.leg
	viaLine, agentEnded := k.viaLine, k.agentEnded
	c.log.Info("attended transfer by API completed", "leg", callerLeg, "to", x.number, "consulted", peer)
	t.endCall(k, endedByAttendedTransfer, peer)
	// The bridge is the caller's and the one consulted's now; it parks
	// the one who stays when the other hangs up: pair them, as after a
	// transfer by the agent's phone.
	c.legs[callerLeg] = legRef{kind: legPair, peer: peer}
	c.legs[peer] = legRef{kind: legPair, peer: callerLeg}
	t.act(func(ctx context.Context) {
		switch {
		case viaLine:
			if err := c.e.Unbridge(ctx, agentLeg); err != nil && !errors.Is(err, dialog.ErrNotFound) {
				c.log.Info("attended transfer: the agent's line left the call", "leg", agentLeg, "error", err)
			}
		case !agentEnded:
			c.e.Hangup(ctx, agentLeg, dialog.CauseNormal)
		}
		c.e.Unhold(ctx, callerLeg)
		c.reconcileLeg(callerLeg)
		c.reconcileLeg(peer)
	})
}

// MuteRecording pauses (muted) or resumes the recording of the agent's
// current call: while paused the recording is silence, so its timeline
// stays true (a card number said on the call is not kept). Errors wrap
// ErrUnknownAgent, ErrLoggedOut, ErrNoCall, or ErrNoRecording when the
// call is not recorded.
func (c *Center) MuteRecording(ctx context.Context, agentID string, muted bool) error {
	const op = "mute the recording of"
	var leg string
	var err error
	c.do(func(t *txn) {
		var k *conn
		if _, k, err = c.agentCall(op, agentID); err == nil {
			leg = k.callerLeg
		}
	})
	if err != nil {
		return err
	}
	id, ok := c.e.RecordingOf(leg)
	if !ok {
		return fmt.Errorf("%s %s: %w", op, agentID, ErrNoRecording)
	}
	if muted {
		err = c.e.PauseRecording(ctx, id)
	} else {
		err = c.e.ResumeRecording(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, agentID, err)
	}
	return nil
}
