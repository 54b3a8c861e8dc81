package queue

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"pbx/dialog"
)

// phase is where a caller is.
type phase int

const (
	phaseWaiting    phase = iota // in line, hearing the wait room, maybe ringing agents
	phaseConnecting              // an agent took the call: the bridge is being made
	phaseTalking                 // bridged with the agent
	phaseGone                    // out of the queue
)

// caller is one caller in a queue: waiting, being connected or talking.
// A caller who asked to be called back stays in line as a virtual entry
// (leg "", cb set) until the call back is answered.
type caller struct {
	leg, callID string
	from, to    string // the caller's number, and the number they dialled
	q           *queue
	prio        int
	joined      time.Time // kept across a requeue and a call back
	seq         uint64
	pos         int // 1 is next
	origPos     int
	maxWait     time.Duration
	held        bool // kept out of dispatch
	ph          phase
	room        *waitRoom
	track       callerTrack
	lim         limits
	offers      map[string]*offer // ringing, by agent id
	offeredTo   []string
	maxT, ruleT dialog.Timer
	progT       dialog.Timer
	cb          *callback // a virtual entry: the caller is called back
	calledBack  bool      // this leg is a call back
	conn        *conn
}

func (cl *caller) virtual() bool { return cl.cb != nil }

// dispatchable says whether the caller may be offered to an agent now.
func (cl *caller) dispatchable() bool {
	return cl.ph == phaseWaiting && !cl.held && (cl.cb == nil || cl.cb.ready())
}

func (cl *caller) stopTimers() {
	for _, tm := range []*dialog.Timer{&cl.maxT, &cl.ruleT, &cl.progT} {
		if *tm != nil {
			(*tm).Stop()
			*tm = nil
		}
	}
}

// callerInfo is the waitInfo of a caller's wait room: its place and
// estimated wait, read under the Center's lock from the room's goroutine.
type callerInfo struct {
	c  *Center
	cl *caller
}

func (i callerInfo) position() int {
	i.c.mu.Lock()
	defer i.c.mu.Unlock()
	if i.cl.ph != phaseWaiting {
		return 0
	}
	return i.cl.pos
}

func (i callerInfo) estimatedWait() time.Duration {
	i.c.mu.Lock()
	defer i.c.mu.Unlock()
	q := i.cl.q
	if q.holdAvg == 0 || i.cl.ph != phaseWaiting {
		return 0
	}
	agents := 0
	for _, m := range q.members {
		if m.a.loggedIn && !m.a.paused {
			agents++
		}
	}
	return q.holdAvg * time.Duration(i.cl.pos) / time.Duration(max(agents, 1))
}

// Enqueue puts a leg (answered, or an inbound leg, which it answers) in a
// queue. A leg refused because the queue is full or empty of agents gets
// ErrFull or ErrEmpty and is left where it was: the dial-plan target sends
// it to the queue's fallback.
func (c *Center) Enqueue(ctx context.Context, legID, queueName string, o EnqueueOptions) (CallerStatus, error) {
	info, ok := c.e.Leg(legID)
	if !ok {
		return CallerStatus{}, fmt.Errorf("enqueue %s: %w", legID, dialog.ErrNotFound)
	}
	if info.State < dialog.StateAnswered {
		if info.Direction != dialog.Inbound {
			return CallerStatus{}, fmt.Errorf("enqueue %s: %w: an outbound leg that has not answered", legID, dialog.ErrInvalidState)
		}
		if err := c.e.Answer(ctx, legID); err != nil {
			return CallerStatus{}, fmt.Errorf("enqueue %s: %w", legID, err)
		}
	}
	var st CallerStatus
	var err error
	c.do(func(t *txn) {
		cl := &caller{leg: legID, callID: info.CallID, from: info.From, to: info.To, prio: o.Priority, joined: t.now}
		if info.Direction == dialog.Outbound {
			cl.from = info.To
		}
		if err = t.join(cl, queueName, o.MaxWait); err == nil {
			st = cl.status(t.now)
		}
	})
	return st, err
}

// join puts a new caller (or a requeued one, joined kept) in line.
func (t *txn) join(cl *caller, queueName string, maxWait time.Duration) error {
	c := t.c
	q := c.queues[queueName]
	switch {
	case c.closed:
		return ErrClosed
	case q == nil:
		return fmt.Errorf("enqueue %s in %s: %w", cl.leg, queueName, ErrUnknownQueue)
	case cl.leg != "" && c.callers[cl.leg] != nil:
		return fmt.Errorf("enqueue %s in %s: %w", cl.leg, queueName, ErrWaiting)
	case q.cfg.MaxCallers > 0 && len(q.waiting) >= q.cfg.MaxCallers:
		return fmt.Errorf("enqueue %s in %s: %w", cl.leg, queueName, ErrFull)
	}
	cl.lim = limitsAt(q.cfg, t.now.Sub(cl.joined))
	if len(q.cfg.JoinEmpty) > 0 && q.empty(q.cfg.JoinEmpty, cl.lim) {
		return fmt.Errorf("enqueue %s in %s: %w", cl.leg, queueName, ErrEmpty)
	}
	c.seq++
	cl.seq = c.seq
	cl.ph = phaseWaiting
	cl.offers = map[string]*offer{}
	cl.track = callerTrack{}
	if maxWait <= 0 {
		maxWait = q.cfg.MaxWait
	}
	cl.maxWait = maxWait
	t.insert(q, cl)
	cl.origPos = cl.pos
	t.markEmpty(q)
	c.callers[cl.leg] = cl
	c.legs[cl.leg] = legRef{kind: legCaller, cl: cl}
	t.armTimers(cl)
	detail := ""
	if cl.calledBack {
		detail = "callback"
	}
	t.publish(dialog.Event{Kind: EventJoined, LegID: cl.leg, CallID: cl.callID, Queue: q.name, Position: cl.pos, Detail: detail})
	c.ql.write(cl.callID, q.name, "", qlogEnterQueue, "", cl.from, itoa(cl.pos))
	name := q.name
	t.later(func() { c.stats.offered(name) })
	c.log.Info("caller joined", "leg", cl.leg, "queue", q.name, "position", cl.pos, "priority", cl.prio)
	// Offered at once if an agent is free; else (or while dynamic agents
	// ring) the wait room plays.
	t.dispatchCaller(cl)
	t.settle()
	if cl.ph == phaseWaiting {
		t.startRoom(cl)
	}
	return nil
}

// armTimers starts a waiting caller's max-wait timer and the timer of its
// queue's next rule.
func (t *txn) armTimers(cl *caller) {
	c := t.c
	waited := t.now.Sub(cl.joined)
	if cl.maxWait > 0 && cl.maxT == nil {
		d := max(cl.maxWait-waited, 0)
		var tm dialog.Timer
		tm = c.clock.AfterFunc(d, func() {
			c.do(func(t *txn) {
				if cl.maxT != tm || cl.ph != phaseWaiting {
					return
				}
				cl.maxT = nil
				t.leave(cl, LeftTimeout, "")
			})
		})
		cl.maxT = tm
	}
	t.armRule(cl)
}

// armRule re-dispatches a caller when its queue's rules next widen what
// it may reach.
func (t *txn) armRule(cl *caller) {
	c := t.c
	next := nextChange(cl.q.cfg, t.now.Sub(cl.joined))
	if next == 0 {
		return
	}
	var tm dialog.Timer
	tm = c.clock.AfterFunc(max(next-t.now.Sub(cl.joined), 0), func() {
		c.do(func(t *txn) {
			if cl.ruleT != tm || cl.ph != phaseWaiting {
				return
			}
			cl.ruleT = nil
			cl.lim = limitsAt(cl.q.cfg, t.now.Sub(cl.joined))
			t.armRule(cl)
			t.callers = append(t.callers, cl)
			t.markEmpty(cl.q)
		})
	})
	cl.ruleT = tm
}

// startRoom starts a waiting caller's wait room. It starts goroutines
// and returns: no engine call is made under the lock.
func (t *txn) startRoom(cl *caller) {
	c := t.c
	if cl.room != nil || cl.leg == "" || c.e == nil {
		return
	}
	hooks := waitHooks{
		exit: func(key, target string) {
			c.do(func(t *txn) {
				if cl.ph == phaseWaiting && c.callers[cl.leg] == cl {
					cl.room = nil // it let go already
					t.leave(cl, LeftExitKey, key, target)
				}
			})
		},
		callback: func() {
			c.do(func(t *txn) {
				if cl.ph == phaseWaiting && c.callers[cl.leg] == cl {
					cl.room = nil
					t.becomeVirtual(cl)
				}
			})
		},
	}
	cl.room = startWaitRoom(c.ctx, c.e, cl.leg, cl.q.cfg, callerInfo{c, cl}, hooks, c.clock, c.log)
}

// stopRoom stops a caller's wait room on an act; then runs next.
func (t *txn) stopRoom(cl *caller, next func(ctx context.Context)) {
	room := cl.room
	cl.room = nil
	t.act(func(ctx context.Context) {
		if room != nil {
			room.stop()
		}
		if next != nil {
			next(ctx)
		}
	})
}

// leave takes a waiting caller out of its queue for cause: the exit key
// pressed and its target, a timeout or an empty queue (to the fallback),
// an abandon (the leg is gone), a dequeue (the leg stays, parked).
func (t *txn) leave(cl *caller, cause string, args ...string) {
	c := t.c
	q := cl.q
	wait := t.now.Sub(cl.joined)
	pos := t.unline(cl)
	cl.ph = phaseGone
	cl.stopTimers()
	for _, leg := range t.withdrawOffers(cl) {
		t.hangup(leg, dialog.CauseCancelled)
	}
	delete(c.callers, cl.leg)
	delete(c.legs, cl.leg)
	if cl.virtual() {
		cl.cb.stop()
		t.release(cl.cb)
	}
	name := q.name
	if cl.leg != "" {
		t.publish(dialog.Event{Kind: EventLeft, LegID: cl.leg, CallID: cl.callID, Queue: name, Position: pos, Wait: wait, Cause: cause})
	}
	c.log.Info("caller left", "leg", cl.leg, "queue", name, "cause", cause, "waited", wait.Round(time.Millisecond))
	p, op, w := itoa(pos), itoa(cl.origPos), qlogSeconds(wait)
	var next func(ctx context.Context)
	leg := cl.leg
	switch cause {
	case LeftAbandoned:
		c.ql.write(cl.callID, name, "", qlogAbandon, p, op, w)
		t.later(func() { c.stats.abandoned(name, wait) })
	case LeftTimeout:
		c.ql.write(cl.callID, name, "", qlogExitTimeout, p, op, w)
		t.later(func() { c.stats.timedOut(name, wait) })
		next = c.toFallback(leg, q.cfg.Fallback)
	case LeftEmpty:
		c.ql.write(cl.callID, name, "", qlogExitEmpty, p, op, w)
		next = c.toFallback(leg, q.cfg.Fallback)
	case LeftExitKey:
		key, target := args[0], args[1]
		c.ql.write(cl.callID, name, "", qlogExitKey, key, p, op, w)
		next = c.toFallback(leg, target)
	case LeftDequeued:
		c.ql.write(cl.callID, name, "", qlogWithdraw, p, op, w, "dequeued")
	case LeftTransferred:
		info := ""
		if len(args) > 0 {
			info = args[0]
		}
		c.ql.write(cl.callID, name, "", qlogWithdraw, p, op, w, info)
	case LeftCallback:
		// the place is kept: logged when the call back is done
	}
	if cause == LeftAbandoned {
		t.stopRoom(cl, nil)
	} else if cl.room != nil || next != nil {
		t.stopRoom(cl, next)
	}
	t.markEmpty(q)
}

// markEmpty asks for a leave_empty check of q.
func (t *txn) markEmpty(q *queue) {
	if len(q.cfg.LeaveEmpty) > 0 && len(q.waiting) > 0 {
		t.empties = append(t.empties, q)
	}
}

// toFallback is an act sending a leg to a dial-plan target, or hanging it
// up with none (or when the target refuses it).
func (c *Center) toFallback(leg, target string) func(ctx context.Context) {
	return func(ctx context.Context) {
		if target != "" {
			err := c.e.Redirect(ctx, leg, target)
			if err == nil {
				return
			}
			c.log.Warn("queue fallback", "leg", leg, "target", target, "error", err)
		}
		c.e.Hangup(ctx, leg, dialog.CauseNormal)
	}
}

// hangup is an act hanging up a leg.
func (t *txn) hangup(leg string, cause dialog.Cause) {
	if leg == "" {
		return
	}
	t.act(func(ctx context.Context) { t.c.e.Hangup(ctx, leg, cause) })
}

// callerEvent handles what happens to a caller's leg.
func (t *txn) callerEvent(cl *caller, ev dialog.Event) {
	switch ev.Kind {
	case dialog.EventLegEnded:
		switch cl.ph {
		case phaseWaiting:
			t.leave(cl, LeftAbandoned)
		case phaseConnecting:
			cl.conn.callerGone = true
			delete(t.c.legs, cl.leg)
		case phaseTalking:
			t.endCall(cl.conn, endedByCaller, "")
		}
	}
}

// empty says whether every member of q is absent by one of conds (the
// member conditions of join_empty or leave_empty) for a caller with
// limits l.
func (q *queue) empty(conds []string, l limits) bool {
	for _, m := range q.members {
		if !m.absent(conds, l) {
			return false
		}
	}
	return true
}

// absent says whether a member counts as absent by one of conds.
func (m *member) absent(conds []string, l limits) bool {
	a := m.a
	for _, cond := range conds {
		var yes bool
		switch cond {
		case "paused":
			yes = a.loggedIn && a.paused
		case "penalty":
			yes = !l.admits(m.penalty, a.cfg.Skills)
		case "inuse":
			yes = len(a.calls) > 0
		case "ringing":
			yes = a.offer != nil
		case "unavailable":
			yes = !a.reachable() || a.unavailable
		case "invalid":
			yes = a.oneOff
		case "wrapup":
			yes = a.inWrap
		case "loggedout":
			yes = !a.loggedIn
		}
		if yes {
			return true
		}
	}
	return false
}

// leaveEmpty sends the callers of q for whom it is empty to its fallback.
func (t *txn) leaveEmpty(q *queue) {
	if len(q.cfg.LeaveEmpty) == 0 {
		return
	}
	for _, cl := range slices.Clone(q.waiting) {
		if cl.ph == phaseWaiting && q.empty(q.cfg.LeaveEmpty, cl.lim) {
			t.leave(cl, LeftEmpty)
		}
	}
}

// status is a caller's public view at time now.
func (cl *caller) status(now time.Time) CallerStatus {
	st := CallerStatus{
		LegID: cl.leg, CallID: cl.callID, Queue: cl.q.name, From: cl.from, Position: cl.pos,
		Priority: cl.prio, Joined: cl.joined, Wait: now.Sub(cl.joined), Held: cl.held, Callback: cl.virtual(),
	}
	if len(cl.offeredTo) > 0 {
		st.OfferedTo = slices.Clone(cl.offeredTo)
	}
	return st
}

// Dequeue takes a waiting caller out of line. With agentID "" the leg is
// left parked, for whoever asked; else it is connected to that agent (an
// agent id, offered at once whatever its queues, or, when no agent has
// that id, a number rung as a one-off member). A caller whose one-off or
// agent does not answer keeps their place.
func (c *Center) Dequeue(ctx context.Context, legID, agentID string) error {
	var err error
	c.do(func(t *txn) {
		cl := c.callers[legID]
		if cl == nil || cl.ph != phaseWaiting {
			err = fmt.Errorf("dequeue %s: %w", legID, ErrNotWaiting)
			return
		}
		if agentID == "" {
			t.leave(cl, LeftDequeued)
			return
		}
		a := c.agents[agentID]
		if a == nil {
			a = &agent{id: agentID, contact: agentID, oneOff: true, loggedIn: true, members: map[string]*member{}}
		}
		if a.offer != nil || (len(a.calls) > 0 && a.static) || !a.reachable() || !a.loggedIn {
			err = fmt.Errorf("dequeue %s to %s: %w", legID, agentID, ErrAgentBusy)
			return
		}
		if cl.offers[a.id] != nil {
			return
		}
		t.offer(cl, a, nil)
	})
	return err
}

// HoldCaller keeps a waiting caller's place but offers them to nobody
// until UnholdCaller.
func (c *Center) HoldCaller(legID string) error {
	return c.setHeld(legID, true)
}

// UnholdCaller makes a held caller offerable again.
func (c *Center) UnholdCaller(legID string) error {
	return c.setHeld(legID, false)
}

func (c *Center) setHeld(legID string, held bool) error {
	var err error
	c.do(func(t *txn) {
		cl := c.callers[legID]
		if cl == nil || cl.ph != phaseWaiting {
			err = fmt.Errorf("hold %s: %w", legID, ErrNotWaiting)
			return
		}
		if cl.held == held {
			return
		}
		cl.held = held
		kind := EventUnhold
		if held {
			kind = EventHold
			for _, leg := range t.withdrawOffers(cl) {
				t.hangup(leg, dialog.CauseCancelled)
			}
		} else {
			t.callers = append(t.callers, cl)
		}
		t.publish(dialog.Event{Kind: kind, LegID: cl.leg, CallID: cl.callID, Queue: cl.q.name, Position: cl.pos})
	})
	return err
}

// SetPriority changes a waiting caller's priority; their place moves.
func (c *Center) SetPriority(legID string, prio int) error {
	var err error
	c.do(func(t *txn) {
		cl := c.callers[legID]
		if cl == nil || cl.ph != phaseWaiting {
			err = fmt.Errorf("set priority of %s: %w", legID, ErrNotWaiting)
			return
		}
		if cl.prio == prio {
			return
		}
		q := cl.q
		i := q.index(cl)
		q.waiting = slices.Delete(q.waiting, i, i+1)
		cl.prio = prio
		j, _ := slices.BinarySearchFunc(q.waiting, cl, func(x, y *caller) int {
			if before(x, y) {
				return -1
			}
			return 1
		})
		q.waiting = slices.Insert(q.waiting, j, cl)
		t.publish(dialog.Event{Kind: EventPriorityChanged, LegID: cl.leg, CallID: cl.callID, Queue: q.name, Position: j + 1, Detail: strconv.Itoa(prio)})
		cl.pos = 0 // renumbered below, with an event
		t.renumber(q, min(i, j), nil)
		t.callers = append(t.callers, cl)
	})
	return err
}

// Requeue moves a waiting caller to another queue, keeping the time they
// joined, so their wait counts there too.
func (c *Center) Requeue(ctx context.Context, legID, queueName string, o EnqueueOptions) (CallerStatus, error) {
	var room *waitRoom
	var err error
	c.do(func(t *txn) {
		cl := c.callers[legID]
		switch {
		case cl == nil || cl.ph != phaseWaiting:
			err = fmt.Errorf("requeue %s: %w", legID, ErrNotWaiting)
		case c.queues[queueName] == nil:
			err = fmt.Errorf("requeue %s to %s: %w", legID, queueName, ErrUnknownQueue)
		default:
			room = cl.room
			cl.room = nil
		}
	})
	if err != nil {
		return CallerStatus{}, err
	}
	if room != nil {
		room.stop()
	}
	var st CallerStatus
	c.do(func(t *txn) {
		cl := c.callers[legID]
		if cl == nil || cl.ph != phaseWaiting {
			err = fmt.Errorf("requeue %s: %w", legID, ErrNotWaiting)
			return
		}
		from := cl.q.name
		joined := cl.joined
		t.leave(cl, LeftTransferred, "requeue:"+queueName)
		nc := &caller{leg: cl.leg, callID: cl.callID, from: cl.from, to: cl.to, prio: o.Priority, joined: joined}
		if o.Priority == 0 {
			nc.prio = cl.prio
		}
		if err = t.join(nc, queueName, o.MaxWait); err != nil {
			c.log.Warn("requeue refused: the caller goes back", "leg", legID, "from", from, "to", queueName, "error", err)
			back := &caller{leg: cl.leg, callID: cl.callID, from: cl.from, to: cl.to, prio: cl.prio, joined: joined}
			if e2 := t.join(back, from, cl.maxWait); e2 != nil {
				t.hangup(cl.leg, dialog.CauseNormal)
			}
			return
		}
		st = nc.status(t.now)
	})
	return st, err
}

// fallbackOf is a queue's fallback target, for the dial-plan handler.
func (c *Center) fallbackOf(queueName string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.queues[queueName]; q != nil {
		return q.cfg.Fallback
	}
	return ""
}
