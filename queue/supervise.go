package queue

import (
	"context"
	"fmt"
	"slices"

	"pbx/config"
	"pbx/dialog"
)

// A supervisor listens to, whispers to, barges into or takes over an
// agent's queue calls. Attached to an agent with no call, they hear hold
// music until the agent's next call, and stay with the agent from call to
// call until they hang up (or StopSupervise). Keys 4, 5 and 6 switch
// between listen, whisper and barge during a call.

// supervisor is one supervisor's leg, following one agent.
type supervisor struct {
	leg      string
	a        *agent
	mode     dialog.SuperviseMode
	takeover bool
	conn     *conn // the call attached to; nil while waiting
}

// Supervise attaches a supervisor's leg (answered) to an agent's current
// call, or, with none, to the agent's next one; the mode can change later
// by calling it again or by the keys 4, 5 and 6.
func (c *Center) Supervise(ctx context.Context, supervisorLeg, agentID string, mode dialog.SuperviseMode) error {
	if mode < dialog.SuperviseListen || mode > dialog.SuperviseBarge {
		return fmt.Errorf("supervise %s: %w: unknown mode %d", agentID, dialog.ErrInvalidState, mode)
	}
	return c.supervise(supervisorLeg, agentID, mode, false)
}

// Takeover puts a supervisor in the agent's place on the agent's current
// (or next) queue call; the agent's part of the call ends.
func (c *Center) Takeover(ctx context.Context, supervisorLeg, agentID string) error {
	return c.supervise(supervisorLeg, agentID, dialog.SuperviseBarge, true)
}

func (c *Center) supervise(leg, agentID string, mode dialog.SuperviseMode, takeover bool) error {
	if _, ok := c.e.Leg(leg); !ok {
		return fmt.Errorf("supervise %s from %s: %w", agentID, leg, dialog.ErrNotFound)
	}
	var err error
	c.do(func(t *txn) {
		a := c.agents[agentID]
		switch {
		case c.closed:
			err = ErrClosed
			return
		case a == nil:
			err = fmt.Errorf("supervise %s: %w", agentID, ErrUnknownAgent)
			return
		case c.legs[leg].kind != 0 && c.legs[leg].kind != legSupervisor:
			err = fmt.Errorf("supervise %s from %s: %w: the leg is in the contact center already", agentID, leg, dialog.ErrInvalidState)
			return
		}
		s := c.sups[leg]
		if s != nil && s.a != a {
			t.dropSupervisor(s)
			s = nil
		}
		if s == nil {
			s = &supervisor{leg: leg, a: a}
			c.sups[leg] = s
			c.legs[leg] = legRef{kind: legSupervisor, s: s}
			a.sups = append(a.sups, s)
			t.act(func(ctx context.Context) { c.e.Park(ctx, leg, config.DefaultMusicClass) })
		}
		s.mode, s.takeover = mode, takeover
		c.log.Info("supervisor attached", "leg", leg, "agent", a.id, "mode", mode.String(), "takeover", takeover)
		if s.conn != nil {
			t.superviseNow(s, s.conn)
			return
		}
		for _, k := range a.calls {
			if k.cl.ph == phaseTalking {
				s.conn = k
				t.superviseNow(s, k)
				return
			}
		}
	})
	if err == nil {
		c.reconcileLeg(leg)
	}
	return err
}

// StopSupervise detaches a supervisor; their leg stays up, parked.
func (c *Center) StopSupervise(ctx context.Context, supervisorLeg string) error {
	var err error
	var attached bool
	c.do(func(t *txn) {
		s := c.sups[supervisorLeg]
		if s == nil {
			err = fmt.Errorf("stop supervising %s: %w", supervisorLeg, dialog.ErrNotFound)
			return
		}
		attached = s.conn != nil && !s.takeover
		t.dropSupervisor(s)
	})
	if err == nil && attached {
		c.e.StopSupervise(ctx, supervisorLeg)
	}
	return err
}

func (t *txn) dropSupervisor(s *supervisor) {
	delete(t.c.sups, s.leg)
	delete(t.c.legs, s.leg)
	s.a.sups = slices.DeleteFunc(s.a.sups, func(x *supervisor) bool { return x == s })
}

// attachSupervisors attaches the supervisors waiting for an agent's call.
func (t *txn) attachSupervisors(a *agent, k *conn) {
	for _, s := range slices.Clone(a.sups) {
		if s.conn == nil {
			s.conn = k
			t.superviseNow(s, k)
		}
	}
}

// superviseNow puts a supervisor into a call in their mode.
func (t *txn) superviseNow(s *supervisor, k *conn) {
	c := t.c
	leg, agentLeg, mode := s.leg, k.agentLeg, s.mode
	if !s.takeover {
		t.act(func(ctx context.Context) {
			if err := c.e.Supervise(ctx, leg, agentLeg, mode); err != nil {
				c.log.Info("supervise", "leg", leg, "agent_leg", agentLeg, "error", err)
			}
		})
		return
	}
	t.act(func(ctx context.Context) {
		if err := c.e.Takeover(ctx, leg, agentLeg); err != nil {
			c.log.Info("takeover", "leg", leg, "agent_leg", agentLeg, "error", err)
			return
		}
		c.do(func(t *txn) { t.takenOver(s, k) })
	})
}

// takenOver ends the agent's part of a call a supervisor took over: the
// supervisor is the caller's party from now on.
func (t *txn) takenOver(s *supervisor, k *conn) {
	c := t.c
	a := k.a
	if k.ended || a == nil {
		return
	}
	q := k.q
	talk := t.now.Sub(k.start)
	c.ql.write(k.cl.callID, q.name, a.id, qlogCompleteAgent, qlogSeconds(k.wait), qlogSeconds(talk), itoa(k.cl.origPos))
	a.calls = slices.DeleteFunc(a.calls, func(x *conn) bool { return x == k })
	if len(a.calls) == 0 {
		a.held = false
	}
	if !k.viaLine {
		delete(c.legs, k.agentLeg)
		t.hangup(k.agentLeg, dialog.CauseNormal)
	}
	a.talk += talk
	name := q.name
	t.later(func() { c.stats.completed(name, a.id, talk) })
	t.startWrap(a, a.wrapup(q))
	t.dropSupervisor(s)
	k.a, k.agentLeg, k.viaLine = nil, s.leg, false
	c.legs[s.leg] = legRef{kind: legTakeover, k: k}
	c.log.Info("call taken over", "supervisor", s.leg, "agent", a.id, "leg", k.callerLeg)
	t.refresh(a)
}

// supervisorEvent handles a supervisor's leg: the end, and the mode keys.
func (t *txn) supervisorEvent(s *supervisor, ev dialog.Event) {
	switch ev.Kind {
	case dialog.EventLegEnded:
		t.dropSupervisor(s)
	case dialog.EventDTMF:
		var mode dialog.SuperviseMode
		switch ev.Digit {
		case "4":
			mode = dialog.SuperviseListen
		case "5":
			mode = dialog.SuperviseWhisper
		case "6":
			mode = dialog.SuperviseBarge
		default:
			return
		}
		if s.takeover || s.mode == mode {
			return
		}
		s.mode = mode
		t.c.log.Info("supervisor mode", "leg", s.leg, "agent", s.a.id, "mode", mode.String())
		if s.conn != nil {
			t.superviseNow(s, s.conn)
		}
	}
}

// maySupervise says whether an extension may supervise by feature code:
// it is listed in contact_center.supervisors, or is the phone of an agent
// allowed to supervise.
func (c *Center) maySupervise(ext string) bool {
	if slices.Contains(c.cfg.ContactCenter.Supervisors, ext) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.anames {
		a := c.agents[id]
		if a.cfg.Supervisor && ext != "" && (a.device == ext || a.contact == ext) {
			return true
		}
	}
	return false
}
