package queue

import (
	"context"
	"fmt"
	"slices"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/sounds"
)

// agent is one agent's live state. Its state (logged-out, idle,
// ringing, on-call, on-hold, wrap-up, paused) is derived from these facts
// by derive, and every change of it is published and persisted by
// refresh, so it can never disagree with what the agent is doing.
type agent struct {
	id      string
	cfg     config.Agent
	static  bool   // has a PIN: logs in on a line
	contact string // a dynamic member's number, or a one-off's
	oneOff  bool   // a number Dequeue rings once; not an agent of the config

	loggedIn bool
	loginAt  time.Time
	paused   bool
	brk      string
	reason   string
	pausedAt time.Time
	device   string // the extension a static agent logged in from (or called back on)
	line     string // a static agent's open line, "" without one
	lineGone bool   // the line just ended
	// earmark is the caller being called back for whom the agent is kept
	// (not rung, not offered to others) until the call back is answered
	// or fails.
	earmark *caller

	members map[string]*member // by queue name
	mlist   []*member          // by queue name

	offer   *offer  // ringing for a caller
	calls   []*conn // calls in progress (more than one only with ring_in_use)
	held    bool    // the call is on hold: by the agent's phone, or HoldCall
	heldAt  time.Time
	inWrap  bool
	wrapT   dialog.Timer
	inRetry bool // not offered again until Retry after a no answer
	retryT  dialog.Timer
	missRow int // offers in a row not answered, for autopause
	// answered and talk, across queues since the PBX started, order the
	// agent-with-fewest-calls and agent-with-least-talk-time strategies;
	// AgentStatus shows today's persisted figures instead.
	answered int
	talk     time.Duration
	// idleSince is when the agent last became free; zero: never, so the
	// longest idle of all.
	idleSince   time.Time
	unavailable bool // the last offer could not reach the agent at all

	// What was last published.
	state  string
	since  time.Time
	pubBrk string
	pubRsn string

	sups []*supervisor // waiting for or attached to this agent's calls
}

// addAgent makes an agent from its config.
func (c *Center) addAgent(ac config.Agent) *agent {
	a := &agent{
		id: ac.ID, cfg: ac, static: ac.PIN != "", contact: ac.Contact,
		members: map[string]*member{}, state: StateLoggedOut, since: c.clock.Now(),
	}
	c.agents[a.id] = a
	i, _ := slices.BinarySearch(c.anames, a.id)
	c.anames = slices.Insert(c.anames, i, a.id)
	return a
}

// restore takes an agent's session from the store. A static agent's line
// did not survive: it is called back on its device.
func (a *agent) restore(r agentRecord) {
	a.loggedIn, a.loginAt = r.LoggedIn, r.LoginAt
	a.paused, a.brk, a.reason, a.pausedAt = r.Paused, r.Break, r.Reason, r.PausedAt
	a.device = r.Device
	if r.State != "" {
		a.state, a.since = r.State, r.Since
	}
	if a.paused {
		a.pubBrk, a.pubRsn = a.brk, a.reason
	}
}

// record is an agent's session as the store keeps it.
func (a *agent) record() agentRecord {
	return agentRecord{
		LoggedIn: a.loggedIn, LoginAt: a.loginAt, Paused: a.paused, Break: a.brk, Reason: a.reason,
		PausedAt: a.pausedAt, Device: a.device, State: a.state, Since: a.since,
	}
}

// deriveState is the agent state the facts make: a ring or a call shows
// first, whatever else holds; then logged out, paused, wrapping up, idle.
func deriveState(loggedIn, paused, ringing, onCall, held, wrap bool) string {
	switch {
	case ringing:
		return StateRinging
	case onCall && held:
		return StateOnHold
	case onCall:
		return StateOnCall
	case !loggedIn:
		return StateLoggedOut
	case paused:
		return StatePaused
	case wrap:
		return StateWrapup
	}
	return StateIdle
}

func (a *agent) derive() string {
	return deriveState(a.loggedIn, a.paused, a.offer != nil, len(a.calls) > 0, a.held, a.inWrap)
}

// reachable says whether an offer can reach the agent: a dynamic member
// at its contact, a static agent on its line or its device.
func (a *agent) reachable() bool {
	if a.static {
		return a.line != "" || a.device != ""
	}
	return a.contact != ""
}

// freeFor says whether the agent may be offered a caller of q now.
func (a *agent) freeFor(q *queue) bool {
	if !a.loggedIn || a.paused || a.offer != nil || a.inWrap || a.inRetry || a.earmark != nil || !a.reachable() {
		return false
	}
	if len(a.calls) > 0 {
		// A static agent has one line; a dynamic member may be rung while
		// on a call only where the queue allows it.
		return q != nil && q.cfg.RingInUse && !a.static
	}
	return true
}

// refresh publishes and persists an agent's state if the facts changed
// it; an agent who became free is queued for dispatch.
func (t *txn) refresh(a *agent) {
	if a == nil || a.oneOff {
		return
	}
	st := a.derive()
	brk, rsn := "", ""
	if a.paused && st == StatePaused {
		brk, rsn = a.brk, a.reason
	}
	if st == a.state && brk == a.pubBrk && rsn == a.pubRsn {
		if st == StateIdle || (len(a.calls) > 0 && !a.static) {
			t.agents = append(t.agents, a)
		}
		return
	}
	was := a.state
	a.state, a.since, a.pubBrk, a.pubRsn = st, t.now, brk, rsn
	if st == StateIdle && was != StateIdle {
		a.idleSince = t.now
	}
	t.publish(dialog.Event{Kind: EventAgentStateChanged, Agent: a.id, State: st, Detail: brk, Cause: rsn, LegID: a.line})
	t.saveAgent(a)
	t.c.log.Debug("agent state", "agent", a.id, "state", st, "was", was, "break", brk)
	switch st {
	case StateIdle, StateOnCall:
		t.agents = append(t.agents, a)
	}
	// Leaving idle may empty a queue others wait in.
	for _, m := range a.mlist {
		t.markEmpty(m.q)
	}
}

func (a *agent) stopTimers() {
	if a.wrapT != nil {
		a.wrapT.Stop()
		a.wrapT = nil
	}
	if a.retryT != nil {
		a.retryT.Stop()
		a.retryT = nil
	}
}

// startWrap puts the agent in wrap-up for d (nothing for d = 0).
func (t *txn) startWrap(a *agent, d time.Duration) { t.holdOff(a, d, &a.inWrap, &a.wrapT) }

// startRetry keeps the agent from offers for d after a no answer.
func (t *txn) startRetry(a *agent, d time.Duration) { t.holdOff(a, d, &a.inRetry, &a.retryT) }

// holdOff keeps the agent from offers for d (nothing for d = 0): *flag
// is set until the timer, kept in *tm, runs out. A later holdOff of the
// same kind replaces the timer.
func (t *txn) holdOff(a *agent, d time.Duration, flag *bool, tm *dialog.Timer) {
	if d <= 0 || a.oneOff {
		return
	}
	if *tm != nil {
		(*tm).Stop()
	}
	*flag = true
	c := t.c
	var mine dialog.Timer
	mine = c.clock.AfterFunc(d, func() {
		c.do(func(t *txn) {
			if *tm != mine {
				return
			}
			*tm, *flag = nil, false
			t.refresh(a)
		})
	})
	*tm = mine
}

// saveAgent marks the agent's session to be persisted.
func (t *txn) saveAgent(a *agent) {
	t.c.dirty[a.id] = true
	t.persist = true
}

// qlogSession writes an agent's login or logoff to the queue log, once
// per queue the agent is in, or once with no queue for an agent in none.
func (t *txn) qlogSession(a *agent, event string, data ...string) {
	for _, m := range a.mlist {
		t.c.ql.write("", m.q.name, a.id, event, data...)
	}
	if len(a.mlist) == 0 {
		t.c.ql.write("", "", a.id, event, data...)
	}
}

// login logs an agent in (on line, for a static agent on an open line).
func (t *txn) login(a *agent, device, line string) {
	if !a.loggedIn {
		a.loggedIn, a.loginAt = true, t.now
		a.paused, a.brk, a.reason = false, "", ""
		channel := device
		if line != "" {
			channel = line
		}
		t.qlogSession(a, qlogAgentLogin, channel)
		t.c.log.Info("agent logged in", "agent", a.id, "device", device, "line", line)
	}
	if device != "" {
		a.device = device
	}
	if line != "" {
		a.line = line
	}
	a.unavailable = false
	t.saveAgent(a)
	t.refresh(a)
}

// logout logs an agent out; a static agent's open line is hung up unless
// it carries a call (then it goes when the call ends).
func (t *txn) logout(a *agent, reason string) {
	if !a.loggedIn {
		return
	}
	a.loggedIn = false
	a.paused, a.brk, a.reason = false, "", ""
	channel := a.device
	if a.line != "" {
		channel = a.line
	}
	secs := qlogSeconds(t.now.Sub(a.loginAt))
	t.qlogSession(a, qlogAgentLogoff, channel, secs)
	for _, m := range a.mlist {
		t.markEmpty(m.q)
	}
	if a.line != "" && len(a.calls) == 0 {
		t.dropLine(a, !a.lineGone)
	}
	t.c.log.Info("agent logged out", "agent", a.id, "reason", reason)
	t.saveAgent(a)
	t.refresh(a)
}

// dropLine forgets a static agent's open line, hanging it up if asked.
func (t *txn) dropLine(a *agent, hangup bool) {
	line := a.line
	if line == "" {
		return
	}
	a.line = ""
	delete(t.c.legs, line)
	if hangup {
		t.act(func(ctx context.Context) {
			t.c.e.PlayPrompts(ctx, line, []string{sounds.LoggedOut}, dialog.PlayOptions{})
			t.c.e.Hangup(ctx, line, dialog.CauseNormal)
		})
	}
}

// pause pauses a logged-in agent with a break and a reason.
func (t *txn) pause(a *agent, brk, reason string) {
	a.paused, a.brk, a.reason, a.pausedAt = true, brk, reason, t.now
	why := brk
	if why == "" {
		why = reason
	}
	for _, m := range a.mlist {
		t.c.ql.write("", m.q.name, a.id, qlogPause, why)
		t.markEmpty(m.q) // paused on a call: the state shows the call, the queues feel the pause
	}
	t.saveAgent(a)
	t.refresh(a)
}

func (t *txn) unpause(a *agent) {
	if !a.paused {
		return
	}
	why := a.brk
	a.paused, a.brk, a.reason = false, "", ""
	a.missRow = 0
	for _, m := range a.mlist {
		t.c.ql.write("", m.q.name, a.id, qlogUnpause, why)
	}
	t.saveAgent(a)
	t.refresh(a)
}

// lineEvent handles what happens to a static agent's open line.
func (t *txn) lineEvent(a *agent, ev dialog.Event) {
	switch ev.Kind {
	case dialog.EventLegEnded:
		// The agent hung up: logged out, and the call on the line, if
		// any, ends.
		delete(t.c.legs, ev.LegID)
		for _, k := range slices.Clone(a.calls) {
			if k.agentLeg == ev.LegID {
				t.agentLegEnded(k)
			}
		}
		if a.offer != nil && a.offer.leg == ev.LegID {
			t.offerGone(a.offer, "agent_hangup")
		}
		if a.line == ev.LegID {
			a.lineGone = true // logged off on it, not hung up again
			t.logout(a, "line hung up")
			a.line, a.lineGone = "", false
		}
	case dialog.EventLegHeld, dialog.EventLegResumed:
		t.agentHold(a, ev.LegID, ev.Kind == dialog.EventLegHeld)
	case dialog.EventTransferStarted, dialog.EventTransferDone, dialog.EventLegBridged:
		for _, k := range a.calls {
			if k.agentLeg == ev.LegID {
				t.transferEvent(k, ev)
				return
			}
		}
	}
}

// agentHold follows an agent's phone holding and resuming a call: the
// agent is on hold, and the caller hears the queue's music. During an
// attended transfer by API the caller is held already, by it.
func (t *txn) agentHold(a *agent, leg string, held bool) {
	for _, k := range a.calls {
		if k.agentLeg != leg || k.cl == nil {
			continue
		}
		if k.consult == nil {
			if cmd := t.holdCall(a, k, held); cmd != nil {
				c := t.c
				t.act(func(ctx context.Context) {
					if err := cmd(ctx); err != nil {
						c.log.Info("agent's hold", "agent", a.id, "leg", k.callerLeg, "error", err)
					}
				})
			}
		}
		return
	}
}

// holdCall puts the agent's call k on hold or takes it off: the state
// changes now, and the returned command, nil when nothing changes, makes
// the caller hear the queue's music or the agent again.
func (t *txn) holdCall(a *agent, k *conn, held bool) func(ctx context.Context) error {
	if a.held == held {
		return nil
	}
	a.held, a.heldAt = held, time.Time{}
	if held {
		a.heldAt = t.now
	}
	t.refresh(a)
	c, callerLeg, class := t.c, k.callerLeg, musicClass(k.q.cfg)
	return func(ctx context.Context) error {
		if held {
			return c.e.Hold(ctx, callerLeg, class)
		}
		return c.e.Unhold(ctx, callerLeg)
	}
}

// The agent API.

// Login logs an agent in. A dynamic member is rung at its contact from
// now on; a static agent logged in by API is called back on o.Device (an
// extension) for each call, as it normally logs in by PIN over a line.
func (c *Center) Login(ctx context.Context, agentID string, o LoginOptions) error {
	var err error
	c.do(func(t *txn) {
		a := c.agents[agentID]
		switch {
		case c.closed:
			err = ErrClosed
		case a == nil:
			err = fmt.Errorf("login %s: %w", agentID, ErrUnknownAgent)
		case a.static && o.Device == "" && a.device == "" && a.line == "":
			err = fmt.Errorf("login %s: %w: a static agent logged in by API needs a device to be called on", agentID, dialog.ErrInvalidState)
		default:
			t.login(a, o.Device, "")
		}
	})
	return err
}

// Logout logs an agent out; reason is logged.
func (c *Center) Logout(ctx context.Context, agentID, reason string) error {
	var err error
	c.do(func(t *txn) {
		a := c.agents[agentID]
		if a == nil {
			err = fmt.Errorf("logout %s: %w", agentID, ErrUnknownAgent)
			return
		}
		t.logout(a, reason)
	})
	return err
}

// Pause pauses a logged-in agent: breakName is one of
// contact_center.breaks (or ""), reason is free text. An agent paused
// again changes break.
func (c *Center) Pause(agentID, breakName, reason string) error {
	var err error
	c.do(func(t *txn) {
		a := c.agents[agentID]
		switch {
		case a == nil:
			err = fmt.Errorf("pause %s: %w", agentID, ErrUnknownAgent)
		case !a.loggedIn:
			err = fmt.Errorf("pause %s: %w", agentID, ErrLoggedOut)
		case breakName != "" && !c.hasBreak(breakName):
			err = fmt.Errorf("pause %s with break %q: %w", agentID, breakName, ErrUnknownBreak)
		default:
			t.pause(a, breakName, reason)
		}
	})
	return err
}

// Unpause makes a paused agent available again.
func (c *Center) Unpause(agentID string) error {
	var err error
	c.do(func(t *txn) {
		a := c.agents[agentID]
		switch {
		case a == nil:
			err = fmt.Errorf("unpause %s: %w", agentID, ErrUnknownAgent)
		case !a.loggedIn:
			err = fmt.Errorf("unpause %s: %w", agentID, ErrLoggedOut)
		default:
			t.unpause(a)
		}
	})
	return err
}

// AddMember puts an agent in a queue with a penalty, or changes its
// penalty; the change is persisted.
func (c *Center) AddMember(queueName, agentID string, penalty int) error {
	var err error
	c.do(func(t *txn) {
		q, a := c.queues[queueName], c.agents[agentID]
		switch {
		case q == nil:
			err = fmt.Errorf("add %s to %s: %w", agentID, queueName, ErrUnknownQueue)
			return
		case a == nil:
			err = fmt.Errorf("add %s to %s: %w", agentID, queueName, ErrUnknownAgent)
			return
		}
		if m := q.byAgent[agentID]; m != nil {
			if m.penalty != penalty {
				c.ql.write("", q.name, a.id, qlogPenalty, itoa(penalty))
				t.publish(dialog.Event{Kind: EventMembership, Agent: a.id, Queue: q.name, Detail: MembershipPenalty, Position: penalty})
			}
		} else {
			t.publish(dialog.Event{Kind: EventMembership, Agent: a.id, Queue: q.name, Detail: MembershipAdded, Position: penalty})
			paused := ""
			if a.paused {
				paused = "PAUSED"
			}
			c.ql.write(qlogManager, q.name, a.id, qlogAddMember, paused)
		}
		q.setMember(a, penalty)
		t.agents = append(t.agents, a)
	})
	if err != nil {
		return err
	}
	return c.saveMember(queueName, agentID, memberRecord{Penalty: penalty})
}

// RemoveMember takes an agent out of a queue; the change is persisted.
func (c *Center) RemoveMember(queueName, agentID string) error {
	var err error
	c.do(func(t *txn) {
		q, a := c.queues[queueName], c.agents[agentID]
		switch {
		case q == nil:
			err = fmt.Errorf("remove %s from %s: %w", agentID, queueName, ErrUnknownQueue)
		case a == nil:
			err = fmt.Errorf("remove %s from %s: %w", agentID, queueName, ErrUnknownAgent)
		case !q.removeMember(a):
			err = fmt.Errorf("remove %s from %s: %w", agentID, queueName, ErrNotMember)
		default:
			c.ql.write(qlogManager, q.name, a.id, qlogRemoveMember, "")
			t.publish(dialog.Event{Kind: EventMembership, Agent: a.id, Queue: q.name, Detail: MembershipRemoved})
			if len(q.cfg.LeaveEmpty) > 0 {
				t.empties = append(t.empties, q)
			}
		}
	})
	if err != nil {
		return err
	}
	return c.saveMember(queueName, agentID, memberRecord{Removed: true})
}

// Breaks are the configured pause types.
func (c *Center) Breaks() []config.Break { return slices.Clone(c.cfg.ContactCenter.Breaks) }

func (c *Center) hasBreak(name string) bool {
	return slices.ContainsFunc(c.cfg.ContactCenter.Breaks, func(b config.Break) bool { return b.Name == name })
}

// breakByCode finds a break by the digits keyed after the pause code.
func (c *Center) breakByCode(code string) (string, bool) {
	for _, b := range c.cfg.ContactCenter.Breaks {
		if b.Code != "" && b.Code == code {
			return b.Name, true
		}
	}
	return "", false
}

// agentFrom finds the agent a calling extension acts for: the static
// agent logged in from it (on a line or with it as device), else the
// dynamic member whose contact it is.
func (c *Center) agentFrom(ext string) *agent {
	if ext == "" {
		return nil
	}
	for _, id := range c.anames {
		a := c.agents[id]
		if a.static && a.loggedIn && a.device == ext {
			return a
		}
	}
	for _, id := range c.anames {
		a := c.agents[id]
		if !a.static && a.contact == ext {
			return a
		}
	}
	return nil
}
