package node

import (
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
