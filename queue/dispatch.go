package queue

import (
	"context"
	"errors"
	"slices"
	"time"

	"pbx/dialog"
	"pbx/recordings"
	"pbx/sounds"
)

// Dispatch is agent-centric. An agent who becomes free takes the best
// caller across all their queues (agentFree, pickFor): by priority, then
// queue weight, then the longest wait, among the callers whose limits
// admit the agent. A caller who joins, whose limits widen, or whose offer
// failed is offered to the free agents of its queue in the order of the
// queue's strategy (dispatchCaller); each of those agents is still given
// to the best caller for them, so an agent free for a better caller in
// another queue goes there. Several callers ring different agents at once
// (autofill). All of it runs under the Center's lock and costs, per
// decision, a walk of the agent's memberships and of the heads of their
// lines, or of one queue's members.

// offer is one caller offered to one agent.
type offer struct {
	cl        *caller
	a         *agent
	m         *member // the agent's membership of the caller's queue; nil for a direct offer
	leg       string  // the call to the agent ("" until placed); a static agent's line
	viaLine   bool
	start     time.Time
	done      bool // answered, failed or withdrawn
	withdrawn bool // cancelled by the queue: not a no-answer
	won       bool // the agent took the caller on this offer
}

// conn is a call between a caller and an agent, from the moment the
// agent took it.
type conn struct {
	cl         *caller
	a          *agent // nil once a supervisor took the call over
	q          *queue
	callerLeg  string
	agentLeg   string
	viaLine    bool // the agent's open line: kept when the call ends
	ring       time.Duration
	wait       time.Duration
	start      time.Time // talk starts (bridged)
	bridge     string
	callerGone bool // ended while being connected
	agentGone  bool
	transfer   transferState
	agentEnded bool         // the agent's leg ended while its transfer was under way
	consult    *consultCall // an attended transfer by API (TransferCall) in progress
	ended      bool
	pos        int // the caller's place in line when the agent took them
}

// transferState is how far the agent's transfer of a queue call has gone.
type transferState int

const (
	transferNone       transferState = iota
	transferStarted                  // the agent's phone started a transfer
	transferConsulting               // the agent talks to the target first: attended
	transferRedirect                 // TransferCall is handing the caller to the dial plan
)

// callEnd is what ended a queue call, as the queue log tells it.
type callEnd int

const (
	endedByCaller           callEnd = iota + 1 // the caller hung up
	endedByAgent                               // the agent's side ended
	endedByBlindTransfer                       // the agent handed the caller on
	endedByAttendedTransfer                    // ... after talking to the target
)

func (e callEnd) String() string {
	switch e {
	case endedByCaller:
		return "caller"
	case endedByAgent:
		return "agent"
	case endedByBlindTransfer:
		return "blind"
	case endedByAttendedTransfer:
		return "attended"
	}
	return "unknown"
}

// agentFree gives a free agent the best caller it may take, if any.
func (t *txn) agentFree(a *agent) {
	cl, m := t.c.pickFor(a)
	if cl == nil {
		return
	}
	if cl.virtual() {
		// Their turn: call them back; the agent is kept for them
		// (not rung) until they answer.
		t.callBack(cl, a)
		return
	}
	t.offer(cl, a, m)
}

// pickFor is the caller a free agent should take: across the agent's
// queues, the best by priority, weight and wait among the callers it may
// take; one nobody rings yet before one already ringing others (which a
// ringall or ring-progressively queue lets the agent join).
func (c *Center) pickFor(a *agent) (*caller, *member) {
	var best, busy *caller
	var bestM, busyM *member
	for _, m := range a.mlist {
		q := m.q
		if !a.freeFor(q) {
			continue
		}
		ringOne := q.strat.mode() == ringOne
		var qBusy *caller
		for _, cl := range q.waiting {
			if best != nil && !better(cl, best) {
				break // the line is in order: nobody further is better
			}
			if !cl.dispatchable() || cl.offers[a.id] != nil || !cl.lim.admits(m.penalty, a.cfg.Skills) {
				continue
			}
			if len(cl.offers) > 0 {
				if !ringOne && qBusy == nil {
					qBusy = cl
				}
				continue
			}
			best, bestM = cl, m
			break
		}
		if qBusy != nil && (busy == nil || better(qBusy, busy)) {
			busy, busyM = qBusy, m
		}
	}
	if best != nil {
		return best, bestM
	}
	return busy, busyM
}

// candidates are the free members of a caller's queue it may be offered
// to, as the strategy sees them. The slice is the Center's scratch.
func (c *Center) candidates(cl *caller) []candidate {
	q := cl.q
	out := c.cands[:0]
	for _, m := range q.members {
		a := m.a
		if !a.freeFor(q) || cl.offers[a.id] != nil || !cl.lim.admits(m.penalty, a.cfg.Skills) {
			continue
		}
		out = append(out, candidate{
			ID: a.id, Penalty: m.penalty, Order: m.order, LastCall: m.lastCall, IdleSince: a.idleSince,
			Calls: m.calls, Answered: a.answered, TalkTime: a.talk,
		})
	}
	c.cands = out
	return out
}

// dispatchCaller offers a caller to the free agents of its queue, as
// many at once as the strategy rings.
func (t *txn) dispatchCaller(cl *caller) {
	if !cl.dispatchable() {
		return
	}
	c := t.c
	q := cl.q
	mode := q.strat.mode()
	if mode != ringAll && len(cl.offers) > 0 {
		return // one at a time; ring-progressively adds on its timer
	}
	cands := c.candidates(cl)
	if len(cands) == 0 {
		return
	}
	order := q.strat.order(cands, &cl.track, c.rnd)
	tier := order[0].Penalty
	for _, cd := range order {
		if mode == ringAll && cd.Penalty != tier {
			break
		}
		m := q.byAgent[cd.ID]
		if m == nil || !m.a.freeFor(q) {
			continue
		}
		if cl.virtual() {
			// A caller to call back takes no agent: their turn has come.
			if best, _ := c.pickFor(m.a); best == cl {
				t.callBack(cl, m.a)
			} else if best != nil {
				t.agentFree(m.a)
			}
			return
		}
		best, _ := c.pickFor(m.a)
		switch {
		case best == cl:
			t.offer(cl, m.a, m)
		case best != nil:
			// Someone better waits for this agent elsewhere.
			t.agentFree(m.a)
			continue
		default:
			continue
		}
		if !cl.dispatchable() || mode != ringAll {
			break
		}
	}
	if mode == ringProgressive && len(cl.offers) > 0 {
		t.armProgressive(cl)
	}
}

// armProgressive rings one more agent for the caller every
// Queue.Progressively while the earlier ones keep ringing.
func (t *txn) armProgressive(cl *caller) {
	c := t.c
	d := cl.q.cfg.Progressively
	if d <= 0 || cl.progT != nil {
		return
	}
	var tm dialog.Timer
	tm = c.clock.AfterFunc(d, func() {
		c.do(func(t *txn) {
			if cl.progT != tm {
				return
			}
			cl.progT = nil
			if !cl.dispatchable() || len(cl.offers) == 0 {
				return
			}
			for _, cd := range c.orderFor(cl) {
				m := cl.q.byAgent[cd.ID]
				if m != nil && m.a.freeFor(cl.q) {
					if best, _ := c.pickFor(m.a); best == cl {
						t.offer(cl, m.a, m)
						break
					}
				}
			}
			t.armProgressive(cl)
		})
	})
	cl.progT = tm
}

// orderFor orders a caller's candidates by its queue's strategy.
func (c *Center) orderFor(cl *caller) []candidate {
	cands := c.candidates(cl)
	if len(cands) == 0 {
		return nil
	}
	return cl.q.strat.order(cands, &cl.track, c.rnd)
}

// offer rings an agent for a caller: a static agent on its open line is
// connected at once, after a beep; any other is called.
func (t *txn) offer(cl *caller, a *agent, m *member) {
	c := t.c
	o := &offer{cl: cl, a: a, m: m, start: t.now}
	cl.offers[a.id] = o
	a.offer = o
	if m != nil {
		cl.q.strat.offered(a.id, m.order, &cl.track)
	}
	cl.offeredTo = append(cl.offeredTo, a.id)
	t.publish(dialog.Event{Kind: EventAgentOffered, LegID: cl.leg, CallID: cl.callID, Queue: cl.q.name, Agent: a.id, Position: cl.pos})
	c.log.Info("caller offered", "leg", cl.leg, "queue", cl.q.name, "agent", a.id)
	t.refresh(a)
	if a.static && a.line != "" && len(a.calls) == 0 {
		o.viaLine, o.leg = true, a.line
		t.answered(o)
		return
	}
	to := a.contact
	if a.static {
		to = a.device
	}
	q := cl.q
	req := dialog.OriginateRequest{To: to, CallerID: cl.from, Timeout: q.cfg.RingTimeout, Context: "queue:" + q.name}
	t.act(func(ctx context.Context) { c.place(o, req) })
}

// place calls an agent for an offer and follows the call.
func (c *Center) place(o *offer, req dialog.OriginateRequest) {
	info, err := c.e.Originate(c.ctx, req)
	if err != nil {
		c.log.Info("agent not reachable", "agent", o.a.id, "to", req.To, "error", err)
		c.do(func(t *txn) {
			if !o.done {
				o.a.unavailable = errors.Is(err, dialog.ErrBadTarget) || errors.Is(err, dialog.ErrNotFound)
				t.noAnswer(o, dialog.CauseUnavailable.String())
			}
		})
		return
	}
	withdrawn := false
	c.do(func(t *txn) {
		o.leg = info.ID
		if o.done {
			withdrawn = true
			return
		}
		c.legs[info.ID] = legRef{kind: legOffer, o: o}
	})
	if withdrawn {
		c.e.Hangup(c.ctx, info.ID, dialog.CauseCancelled)
		return
	}
	// Events of the leg may have gone by before it was tracked.
	c.reconcileLeg(info.ID)
}

// withdrawOffers cancels every ring for a caller; it returns the calls to
// hang up.
func (t *txn) withdrawOffers(cl *caller) []string {
	var legs []string
	for id, o := range cl.offers {
		delete(cl.offers, id)
		o.done, o.withdrawn = true, true
		if o.a.offer == o {
			o.a.offer = nil
		}
		if !o.viaLine && o.leg != "" {
			delete(t.c.legs, o.leg)
			legs = append(legs, o.leg)
		}
		t.refresh(o.a)
	}
	if cl.progT != nil {
		cl.progT.Stop()
		cl.progT = nil
	}
	return legs
}

// offerEvent handles what happens to a call to an agent.
func (t *txn) offerEvent(o *offer, ev dialog.Event) {
	switch ev.Kind {
	case dialog.EventLegAnswered:
		t.answered(o)
	case dialog.EventLegEnded:
		if !o.done {
			t.noAnswer(o, ev.Cause)
			return
		}
		keep := false
		for _, k := range slices.Clone(o.a.calls) {
			if k.agentLeg == ev.LegID {
				t.agentLegEnded(k)
				// A transfer the agent completed by hanging up is
				// reported after the leg ended: keep following it.
				keep = keep || !k.ended && k.transfer != transferNone
			}
		}
		if !keep {
			delete(t.c.legs, ev.LegID)
		}
	case dialog.EventLegHeld, dialog.EventLegResumed:
		t.agentHold(o.a, ev.LegID, ev.Kind == dialog.EventLegHeld)
	case dialog.EventTransferStarted, dialog.EventTransferDone, dialog.EventTransferFailed, dialog.EventLegBridged:
		for _, k := range o.a.calls {
			if k.agentLeg == ev.LegID {
				t.transferEvent(k, ev)
			}
		}
	}
}

// noAnswer ends an offer the agent did not take: the agent is not
// offered again for Retry, and may be paused; the caller keeps their
// place and is offered to others.
func (t *txn) noAnswer(o *offer, cause string) {
	c := t.c
	o.done = true
	cl, a, q := o.cl, o.a, o.cl.q
	delete(cl.offers, a.id)
	delete(c.legs, o.leg)
	if a.offer == o {
		a.offer = nil
	}
	ring := t.now.Sub(o.start)
	if cause == "" {
		cause = dialog.CauseNoAnswer.String()
	}
	t.publish(dialog.Event{Kind: EventAgentNoAnswer, LegID: cl.leg, CallID: cl.callID, Queue: q.name, Agent: a.id, Cause: cause})
	c.ql.write(cl.callID, q.name, a.id, qlogRingNoAnswer, qlogMillis(ring))
	name := q.name
	if !a.oneOff {
		t.later(func() { c.stats.ringNoAnswer(name, a.id, ring) })
		a.missRow++
		c.log.Info("agent did not answer", "agent", a.id, "leg", cl.leg, "cause", cause, "in_a_row", a.missRow)
		t.startRetry(a, retryAfter(q.cfg.Retry, cause))
		if q.cfg.Autopause > 0 && a.missRow >= q.cfg.Autopause && !a.paused && a.loggedIn {
			brk := q.cfg.AutopauseAs
			if brk == "" {
				brk = "missed"
			}
			a.missRow = 0
			t.pause(a, brk, "autopause")
		}
	}
	t.refresh(a)
	if cl.dispatchable() {
		t.callers = append(t.callers, cl)
	}
}

// unreachableRetry is the least time an agent whose phone could not be
// reached at all (not registered, no route, no codec) waits before the
// next offer, whatever the queue's retry: with retry 0 the queue would
// otherwise call it again as fast as the PBX can go. FreeSWITCH waits 5 s
// on USER_NOT_REGISTERED for the same reason.
const unreachableRetry = 5 * time.Second

// retryAfter is how long an agent is not offered a caller after an offer
// ended with cause: the queue's retry, or unreachableRetry when the phone
// could not be reached. A busy or declining phone was reached.
func retryAfter(retry time.Duration, cause string) time.Duration {
	switch cause {
	case dialog.CauseUnavailable.String(), dialog.CauseNotFound.String(), dialog.CauseCongestion.String(),
		dialog.CauseForbidden.String(), dialog.CauseCodecMismatch.String():
		return max(retry, unreachableRetry)
	}
	return retry
}

// offerGone drops an offer whose call went away for a reason that is not
// the agent's no answer.
func (t *txn) offerGone(o *offer, why string) {
	if o.done {
		return
	}
	o.done = true
	delete(o.cl.offers, o.a.id)
	if o.a.offer == o {
		o.a.offer = nil
	}
	t.refresh(o.a)
	if o.cl.dispatchable() {
		t.callers = append(t.callers, o.cl)
	}
}

// answered is an agent taking a caller: the first answer wins; the other
// rings are withdrawn, and the caller is connected.
func (t *txn) answered(o *offer) {
	c := t.c
	cl, a := o.cl, o.a
	if o.won {
		// The same answer seen twice: once reconciled when the call was
		// placed, once from the bus.
		return
	}
	if o.done || cl.ph != phaseWaiting {
		if !o.viaLine && o.leg != "" && !o.withdrawn {
			// Answered too late: another agent took the caller.
			delete(c.legs, o.leg)
			t.hangup(o.leg, dialog.CauseNormal)
		}
		if !o.done {
			o.done = true
			if a.offer == o {
				a.offer = nil
			}
			t.refresh(a)
		}
		return
	}
	o.done, o.won = true, true
	delete(cl.offers, a.id)
	if a.offer == o {
		a.offer = nil
	}
	others := t.withdrawOffers(cl)
	for _, leg := range others {
		t.hangup(leg, dialog.CauseCancelled)
	}
	q := cl.q
	cl.ph = phaseConnecting
	cl.stopTimers()
	k := &conn{cl: cl, a: a, q: q, callerLeg: cl.leg, agentLeg: o.leg, viaLine: o.viaLine,
		ring: t.now.Sub(o.start), wait: t.now.Sub(cl.joined)}
	cl.conn = k
	a.calls = append(a.calls, k)
	a.missRow = 0
	a.unavailable = false
	if !o.viaLine {
		c.legs[o.leg] = legRef{kind: legOffer, o: o}
	}
	k.pos = t.unline(cl)
	t.refresh(a)
	c.log.Info("agent took the call", "agent", a.id, "leg", cl.leg, "agent_leg", o.leg, "queue", q.name)
	t.stopRoom(cl, func(ctx context.Context) { c.connect(ctx, k) })
}

// connect bridges a caller with the agent who took them: a static agent
// on its line hears a beep first. The outcome is settled under the lock.
func (c *Center) connect(ctx context.Context, k *conn) {
	if k.viaLine {
		if pb, perr := c.e.PlayPrompts(ctx, k.agentLeg, []string{sounds.Beep}, dialog.PlayOptions{}); perr == nil {
			select {
			case <-pb.Done():
			case <-ctx.Done():
			}
		}
	}
	br, err := c.e.Bridge(ctx, k.callerLeg, k.agentLeg)
	if err != nil {
		c.log.Info("queue call not connected", "leg", k.callerLeg, "agent_leg", k.agentLeg, "error", err)
		_, callerUp := c.e.Leg(k.callerLeg)
		c.do(func(t *txn) { t.connectFailed(k, callerUp) })
		return
	}
	if !k.viaLine {
		// The agent may record and transfer by the feature codes, as in a
		// call the dial plan made; a static agent's line is left without
		// them, since a transfer would hand over (and end) the line.
		if ferr := c.e.EnableFeatures(k.agentLeg); ferr != nil {
			c.log.Debug("agent feature codes", "agent_leg", k.agentLeg, "error", ferr)
		}
	}
	rec := ""
	if mode := k.q.cfg.Record; mode != "" {
		id, rerr := c.e.RecordBridge(ctx, br.ID, dialog.RecordOptions{Mode: recordings.Mode(mode)})
		if rerr != nil {
			c.log.Warn("queue call recording", "leg", k.callerLeg, "error", rerr)
		}
		rec = id
	}
	c.do(func(t *txn) { t.connected(k, br.ID, rec) })
}

// connected settles a bridged queue call; a leg that ended meanwhile
// ends it.
func (t *txn) connected(k *conn, bridge, rec string) {
	c := t.c
	cl, a, q := k.cl, k.a, k.q
	k.bridge = bridge
	k.start = t.now
	cl.ph = phaseTalking
	hold := k.wait
	t.publish(dialog.Event{Kind: EventAgentConnected, LegID: cl.leg, CallID: cl.callID, Queue: q.name, Agent: a.id, OtherLegID: k.agentLeg, BridgeID: bridge, Wait: hold, Detail: rec})
	t.publish(dialog.Event{Kind: EventLeft, LegID: cl.leg, CallID: cl.callID, Queue: q.name, Agent: a.id, Position: k.pos, Wait: hold, Cause: LeftAnswered})
	c.ql.write(cl.callID, q.name, a.id, qlogConnect, qlogSeconds(hold), k.agentLeg, qlogSeconds(k.ring))
	name, ring := q.name, k.ring
	if !a.oneOff {
		a.answered++
		t.later(func() {
			c.stats.ringAnswered(name, a.id, ring)
			c.stats.answered(name, a.id, hold)
		})
	} else {
		t.later(func() { c.stats.answered(name, "", hold) })
	}
	if q.holdAvg == 0 {
		q.holdAvg = hold
	} else {
		q.holdAvg = (3*q.holdAvg + hold) / 4
	}
	switch {
	case k.callerGone:
		t.endCall(k, endedByCaller, "")
		return
	case k.agentGone:
		t.endCall(k, endedByAgent, "")
		return
	}
	t.attachSupervisors(a, k)
}

// connectFailed handles a bridge that could not be made: the caller hung
// up (abandoned), or the agent went (the caller goes back in line, in the
// same place).
func (t *txn) connectFailed(k *conn, callerUp bool) {
	c := t.c
	cl, a, q := k.cl, k.a, k.q
	k.ended = true
	a.calls = slices.DeleteFunc(a.calls, func(x *conn) bool { return x == k })
	if !k.viaLine {
		delete(c.legs, k.agentLeg)
		t.hangup(k.agentLeg, dialog.CauseNormal)
	}
	cl.conn = nil
	if !callerUp || k.callerGone {
		// Hung up as the agent took the call: an abandon.
		cl.ph = phaseGone
		delete(c.callers, cl.leg)
		delete(c.legs, cl.leg)
		wait := t.now.Sub(cl.joined)
		t.publish(dialog.Event{Kind: EventLeft, LegID: cl.leg, CallID: cl.callID, Queue: q.name, Position: k.pos, Wait: wait, Cause: LeftAbandoned})
		c.ql.write(cl.callID, q.name, "", qlogAbandon, itoa(k.pos), itoa(cl.origPos), qlogSeconds(wait))
		name := q.name
		t.later(func() { c.stats.abandoned(name, wait) })
	} else {
		c.ql.write(cl.callID, q.name, a.id, qlogAgentDump)
		cl.ph = phaseWaiting
		cl.offers = map[string]*offer{}
		c.legs[cl.leg] = legRef{kind: legCaller, cl: cl}
		t.insert(q, cl)
		t.armTimers(cl)
		t.startRoom(cl)
		t.callers = append(t.callers, cl)
	}
	t.refresh(a)
}

// agentLegEnded handles the end of the agent's side of a queue call.
func (t *txn) agentLegEnded(k *conn) {
	if k.ended {
		return
	}
	if k.cl.ph == phaseConnecting {
		k.agentGone = true
		return
	}
	if k.transfer != transferNone {
		k.agentEnded = true
		return // the transfer's completion (or failure) ends the agent's part
	}
	if k.consult != nil {
		// The agent hung up on the one consulted: the caller goes to them.
		k.agentEnded = true
		t.completeConsult(k)
		return
	}
	t.endCall(k, endedByAgent, "")
}

// endCall ends a queue call: by the caller (hung up: a dynamic agent's
// call is hung up, a static agent's line goes back to music), by the
// agent (the caller is hung up), or by a transfer to target (the agent
// handed the caller on). The agent wraps up.
func (t *txn) endCall(k *conn, by callEnd, target string) {
	if k.ended {
		return
	}
	k.ended = true
	c := t.c
	cl, a, q := k.cl, k.a, k.q
	cl.ph = phaseGone
	cl.conn = nil
	talk := time.Duration(0)
	if !k.start.IsZero() {
		talk = t.now.Sub(k.start)
	}
	if c.callers[k.callerLeg] == cl {
		// (A caller handed on to the dial plan may be someone else's
		// already: another queue's.)
		delete(c.callers, k.callerLeg)
		delete(c.legs, k.callerLeg)
	}
	if x := k.consult; x != nil && !x.done {
		// The caller went during a consultation: so does the one consulted.
		x.done = true
		if x.leg != "" {
			delete(c.legs, x.leg)
			t.hangup(x.leg, dialog.CauseNormal)
		}
	}
	agentID := ""
	if a != nil {
		agentID = a.id
	}
	h, tk, op := qlogSeconds(k.wait), qlogSeconds(talk), itoa(cl.origPos)
	switch by {
	case endedByCaller:
		c.ql.write(cl.callID, q.name, agentID, qlogCompleteCaller, h, tk, op)
	case endedByAgent:
		c.ql.write(cl.callID, q.name, agentID, qlogCompleteAgent, h, tk, op)
	case endedByBlindTransfer:
		c.ql.write(cl.callID, q.name, agentID, qlogBlindTransfer, target, "", h, tk, op)
	case endedByAttendedTransfer:
		c.ql.write(cl.callID, q.name, agentID, qlogAttendedTransfer, "BRIDGE", target, h, tk, op)
	}
	c.log.Info("queue call ended", "leg", k.callerLeg, "agent", agentID, "by", by.String(), "talk", talk.Round(time.Millisecond))
	if by == endedByAgent {
		t.hangup(k.callerLeg, dialog.CauseNormal)
	}
	if !k.viaLine {
		delete(c.legs, k.agentLeg)
		if by == endedByCaller {
			t.hangup(k.agentLeg, dialog.CauseNormal)
		}
	}
	for _, s := range c.sups {
		if s.conn == k {
			s.conn = nil
			if s.takeover {
				delete(c.legs, s.leg)
				delete(c.sups, s.leg)
				if by == endedByCaller {
					t.hangup(s.leg, dialog.CauseNormal)
				}
			}
		}
	}
	if a == nil {
		return
	}
	a.calls = slices.DeleteFunc(a.calls, func(x *conn) bool { return x == k })
	if len(a.calls) == 0 {
		a.held, a.heldAt = false, time.Time{}
	}
	name := q.name
	if !a.oneOff {
		a.talk += talk
		if m := q.byAgent[a.id]; m != nil {
			m.lastCall = t.now
			m.calls++
		}
		t.later(func() { c.stats.completed(name, a.id, talk) })
		t.startWrap(a, a.wrapup(q))
		if !a.loggedIn && a.line != "" && len(a.calls) == 0 {
			t.dropLine(a, true)
		}
	} else {
		t.later(func() { c.stats.completed(name, "", talk) })
	}
	t.refresh(a)
}

// transferEvent follows a transfer of a queue call by the agent: it ends
// the agent's part of the call (BLINDTRANSFER or ATTENDEDTRANSFER).
func (t *txn) transferEvent(k *conn, ev dialog.Event) {
	switch ev.Kind {
	case dialog.EventTransferStarted:
		k.transfer = transferStarted
	case dialog.EventLegBridged:
		if k.transfer == transferStarted && ev.BridgeID != k.bridge {
			k.transfer = transferConsulting
		}
	case dialog.EventTransferFailed:
		k.transfer = transferNone
		if k.agentEnded {
			delete(t.c.legs, k.agentLeg)
			t.endCall(k, endedByAgent, "")
		}
	case dialog.EventTransferDone:
		if k.agentEnded {
			delete(t.c.legs, k.agentLeg)
		}
		if k.transfer == transferStarted {
			t.endCall(k, endedByBlindTransfer, ev.Detail)
		} else {
			t.endCall(k, endedByAttendedTransfer, ev.OtherLegID)
		}
		// The caller now talks to the target in the queue's bridge, where
		// the one who stays is parked, not hung up: pair them.
		if peer := ev.OtherLegID; peer != "" && peer != k.callerLeg {
			t.c.legs[k.callerLeg] = legRef{kind: legPair, peer: peer}
			t.c.legs[peer] = legRef{kind: legPair, peer: k.callerLeg}
			c, callerLeg := t.c, k.callerLeg
			t.act(func(ctx context.Context) {
				c.reconcileLeg(callerLeg)
				c.reconcileLeg(peer)
			})
		}
	}
}
