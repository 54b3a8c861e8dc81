package queue

import (
	"context"
	"time"

	"pbx/dialog"
)

// Callback in queue: a waiting caller presses the queue's callback key,
// hears the confirmation and hangs up; their place is kept as a virtual
// entry. When it is their turn (the head of the line, an agent free for
// them) the PBX calls them back and keeps that agent for them, unrung and
// offered to nobody else; only when they answer do they join again, in
// their old place, and is the agent rung for them. A call back that fails
// lets the agent go at once. A call back not answered is
// tried again after CallbackRetry, CallbackTries times in all.

// cbState is where a call back is.
type cbState int

const (
	cbReady   cbState = iota // waiting for their turn
	cbCalling                // the PBX rings them
	cbRetry                  // waiting before the next try
)

// callback is a virtual entry's call back.
type callback struct {
	number   string // the caller's number, rung
	callerID string // the number they had dialled, shown to them
	tries    int
	state    cbState
	leg      string
	timer    dialog.Timer
	agent    *agent // kept for the caller while the call back rings
}

func (b *callback) ready() bool { return b.state == cbReady }

func (b *callback) stop() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// release lets go of the agent kept for the caller.
func (t *txn) release(b *callback) {
	if a := b.agent; a != nil {
		b.agent = nil
		if a.earmark != nil {
			a.earmark = nil
			t.agents = append(t.agents, a)
		}
	}
}

// defaultCallbackTries is the tries of a queue that sets none.
const defaultCallbackTries = 3

// callbackRing is how long a call back rings the caller.
const callbackRing = 30 * time.Second

// becomeVirtual turns a waiting caller who pressed the callback key into
// a virtual entry in the same place; their leg is hung up.
func (t *txn) becomeVirtual(cl *caller) {
	c := t.c
	for _, leg := range t.withdrawOffers(cl) {
		t.hangup(leg, dialog.CauseCancelled)
	}
	if cl.maxT != nil {
		cl.maxT.Stop()
		cl.maxT = nil
	}
	leg := cl.leg
	delete(c.callers, leg)
	delete(c.legs, leg)
	t.publish(dialog.Event{Kind: EventLeft, LegID: leg, CallID: cl.callID, Queue: cl.q.name, Position: cl.pos, Wait: t.now.Sub(cl.joined), Cause: LeftCallback})
	c.log.Info("caller will be called back", "leg", leg, "queue", cl.q.name, "number", cl.from, "position", cl.pos)
	cl.leg = ""
	cl.cb = &callback{number: cl.from, callerID: cl.to}
	t.hangup(leg, dialog.CauseNormal)
	t.callers = append(t.callers, cl)
}

// callBack rings a virtual entry's caller, keeping agent a for them.
func (t *txn) callBack(cl *caller, a *agent) {
	c := t.c
	b := cl.cb
	b.state = cbCalling
	b.tries++
	if a != nil {
		a.earmark, b.agent = cl, a
	}
	q := cl.q
	req := dialog.OriginateRequest{To: b.number, CallerID: b.callerID, Timeout: callbackRing, Context: "queue:" + q.name}
	c.log.Info("calling a caller back", "queue", q.name, "number", b.number, "try", b.tries)
	t.act(func(ctx context.Context) {
		info, err := c.e.Originate(c.ctx, req)
		if err != nil {
			c.log.Info("call back not placed", "number", b.number, "error", err)
			c.do(func(t *txn) { t.callbackFailed(cl) })
			return
		}
		gone := false
		c.do(func(t *txn) {
			if cl.cb != b || cl.ph != phaseWaiting {
				gone = true
				return
			}
			b.leg = info.ID
			cl.callID = info.CallID
			c.legs[info.ID] = legRef{kind: legCallback, cl: cl}
		})
		if gone {
			c.e.Hangup(c.ctx, info.ID, dialog.CauseCancelled)
			return
		}
		c.reconcileLeg(info.ID)
	})
}

// callbackEvent follows a call back.
func (t *txn) callbackEvent(cl *caller, ev dialog.Event) {
	b := cl.cb
	if b == nil || b.leg != ev.LegID || b.state != cbCalling {
		return
	}
	switch ev.Kind {
	case dialog.EventLegAnswered:
		t.callbackAnswered(cl)
	case dialog.EventLegEnded:
		delete(t.c.legs, ev.LegID)
		t.callbackFailed(cl)
	}
}

// callbackAnswered makes the called-back caller a real caller again, in
// their place, and offers them to the next agent free for them.
func (t *txn) callbackAnswered(cl *caller) {
	c := t.c
	b := cl.cb
	t.release(b)
	cl.cb = nil
	cl.calledBack = true
	cl.leg = b.leg
	c.callers[cl.leg] = cl
	c.legs[cl.leg] = legRef{kind: legCaller, cl: cl}
	t.publish(dialog.Event{Kind: EventJoined, LegID: cl.leg, CallID: cl.callID, Queue: cl.q.name, Position: cl.pos, Detail: "callback"})
	c.log.Info("caller called back", "leg", cl.leg, "queue", cl.q.name, "position", cl.pos)
	t.armTimers(cl)
	t.dispatchCaller(cl)
	t.settle()
	if cl.ph == phaseWaiting {
		t.startRoom(cl)
	}
}

// callbackFailed tries again later, or gives up after the last try.
func (t *txn) callbackFailed(cl *caller) {
	c := t.c
	b := cl.cb
	if b == nil || cl.ph != phaseWaiting {
		return
	}
	q := cl.q
	tries := q.cfg.CallbackTries
	if tries <= 0 {
		tries = defaultCallbackTries
	}
	b.leg = ""
	t.release(b)
	if b.tries >= tries {
		c.log.Info("call back given up", "queue", q.name, "number", b.number, "tries", b.tries)
		t.leave(cl, LeftAbandoned)
		return
	}
	b.state = cbRetry
	var tm dialog.Timer
	tm = c.clock.AfterFunc(q.cfg.CallbackRetry, func() {
		c.do(func(t *txn) {
			if b.timer != tm || cl.cb != b {
				return
			}
			b.timer = nil
			b.state = cbReady
			t.callers = append(t.callers, cl)
			for _, m := range q.members {
				t.agents = append(t.agents, m.a)
			}
		})
	})
	b.timer = tm
}
