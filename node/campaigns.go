package node

import (
	"context"

	"pbx/config"
	"pbx/queue"
)

// queueAgents tells the campaign dialer about a queue's agents, from the
// contact center: campaign may not import queue, its neighbour on floor 3.
type queueAgents struct{ c *queue.Center }

// QueueAgents counts a queue's members logged in, and those idle: free to
// take a call now.
func (q queueAgents) QueueAgents(name string) (loggedIn, free int, ok bool) {
	st, ok := q.c.Queue(name)
	if !ok {
		return 0, 0, false
	}
	for state, n := range st.Agents {
		if state != queue.StateLoggedOut {
			loggedIn += n
		}
	}
	return loggedIn, st.Agents[queue.StateIdle], true
}

// AgentFree reports whether an agent is logged in and idle.
func (q queueAgents) AgentFree(id string) bool {
	a, ok := q.c.Agent(id)
	return ok && a.State == queue.StateIdle
}

// Assign hands a caller waiting in a queue to one agent.
func (q queueAgents) Assign(ctx context.Context, legID, agent string) error {
	return q.c.Dequeue(ctx, legID, agent)
}

// trunkLimits are the trunks' channels, for the campaign dialers.
func trunkLimits(trunks []config.Trunk) map[string]int {
	m := map[string]int{}
	for _, t := range trunks {
		if t.MaxCalls > 0 {
			m[t.Name] = t.MaxCalls
		}
	}
	return m
}
