package queue

import (
	"maps"
	"time"
)

// The read side: snapshots of queues and agents, safe to keep. Each takes
// the lock once; statistics are read after it is released.

// Queues returns every queue, by name.
func (c *Center) Queues() []QueueStatus {
	c.mu.Lock()
	now := c.clock.Now()
	out := make([]QueueStatus, 0, len(c.qnames))
	for _, name := range c.qnames {
		out = append(out, c.queueStatus(c.queues[name], now))
	}
	c.mu.Unlock()
	for i := range out {
		out[i].Stats = c.stats.totals(out[i].Name)
	}
	return out
}

// Queue returns one queue.
func (c *Center) Queue(name string) (QueueStatus, bool) {
	c.mu.Lock()
	q := c.queues[name]
	if q == nil {
		c.mu.Unlock()
		return QueueStatus{}, false
	}
	st := c.queueStatus(q, c.clock.Now())
	c.mu.Unlock()
	st.Stats = c.stats.totals(name)
	return st, true
}

func (c *Center) queueStatus(q *queue, now time.Time) QueueStatus {
	st := QueueStatus{Name: q.name, Strategy: q.cfg.Strategy, Waiting: len(q.waiting), Agents: map[string]int{}}
	for _, cl := range q.waiting {
		cs := cl.status(now)
		st.LongestWait = max(st.LongestWait, cs.Wait)
		st.Callers = append(st.Callers, cs)
	}
	for _, m := range q.members {
		st.Agents[m.a.state]++
		st.Members = append(st.Members, MemberStatus{Agent: m.a.id, Penalty: m.penalty, State: m.a.state})
	}
	return st
}

// Agents returns every agent, by id.
func (c *Center) Agents() []AgentStatus {
	c.mu.Lock()
	out := make([]AgentStatus, 0, len(c.anames))
	for _, id := range c.anames {
		out = append(out, c.agentStatus(c.agents[id]))
	}
	c.mu.Unlock()
	for i := range out {
		c.agentFigures(&out[i])
	}
	return out
}

// Agent returns one agent.
func (c *Center) Agent(id string) (AgentStatus, bool) {
	c.mu.Lock()
	a := c.agents[id]
	if a == nil {
		c.mu.Unlock()
		return AgentStatus{}, false
	}
	st := c.agentStatus(a)
	c.mu.Unlock()
	c.agentFigures(&st)
	return st, true
}

// agentFigures fills in today's calls answered, offers missed and talk
// time from the persisted statistics, so they survive a restart and start
// again at midnight.
func (c *Center) agentFigures(st *AgentStatus) {
	st.Answered, st.Missed, st.TalkTime = c.stats.agentTotals(st.ID)
}

func (c *Center) agentStatus(a *agent) AgentStatus {
	st := AgentStatus{
		ID: a.id, Name: a.cfg.Name, State: a.state, Since: a.since, Device: a.device, LegID: a.line,
		Skills: maps.Clone(a.cfg.Skills),
	}
	if a.loggedIn {
		st.LoginAt = a.loginAt
	}
	if a.paused {
		st.Break, st.Reason = a.brk, a.reason
		st.Paused, st.PausedAt = true, a.pausedAt
	}
	if a.held && len(a.calls) > 0 {
		st.OnHold, st.HeldAt = true, a.heldAt
	}
	switch {
	case len(a.calls) > 0:
		k := a.calls[len(a.calls)-1]
		st.CallLegID, st.Queue = k.callerLeg, k.q.name
		if !k.viaLine {
			st.LegID = k.agentLeg
		}
	case a.offer != nil:
		st.CallLegID, st.Queue = a.offer.cl.leg, a.offer.cl.q.name
		if a.offer.leg != "" {
			st.LegID = a.offer.leg
		}
	}
	if len(a.mlist) > 0 {
		st.Penalties = make(map[string]int, len(a.mlist))
		for _, m := range a.mlist {
			st.Queues = append(st.Queues, m.q.name)
			st.Penalties[m.q.name] = m.penalty
		}
	}
	return st
}

// History returns a queue's statistics in buckets (15 minutes by
// default) between from and to.
func (c *Center) History(queue string, from, to time.Time) ([]Bucket, error) {
	return c.stats.history(queue, from, to)
}
