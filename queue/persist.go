package queue

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"pbx/config"
)

// What survives a restart: agents' sessions (bucket cc_agents, by agent
// id), queues created or changed at run time (cc_queues, by name) and
// memberships changed at run time (cc_members, by "queue/agent"). Agent
// sessions are written by one persister goroutine, batched, off the call
// paths; runtime changes of queues and members are written at once, as
// the API call that makes them returns.

// agentRecord is an agent's session as the store keeps it.
type agentRecord struct {
	LoggedIn bool      `json:"logged_in"`
	LoginAt  time.Time `json:"login_at,omitzero"`
	Paused   bool      `json:"paused,omitempty"`
	Break    string    `json:"break,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	PausedAt time.Time `json:"paused_at,omitzero"`
	Device   string    `json:"device,omitempty"` // a static agent's extension
	State    string    `json:"state,omitempty"`  // the last state published
	Since    time.Time `json:"since,omitzero"`
}

// queueRecord is a queue created or changed at run time, or a config
// queue removed at run time.
type queueRecord struct {
	Queue   *config.Queue `json:"queue,omitempty"`
	Removed bool          `json:"removed,omitempty"`
}

// memberRecord is a membership added, changed or removed at run time.
type memberRecord struct {
	Penalty int  `json:"penalty"`
	Removed bool `json:"removed,omitempty"`
}

func memberKey(queue, agent string) string { return queue + "/" + agent }

// load builds queues and agents from the config and the store, and
// restores agents' sessions.
func (c *Center) load() error {
	for i := range c.cfg.Agents {
		c.addAgent(c.cfg.Agents[i])
	}
	queues := slices.Clone(c.cfg.Queues)
	if c.st != nil {
		err := c.st.ForEach(bucketQueues, func(name string, v []byte) error {
			var r queueRecord
			if err := json.Unmarshal(v, &r); err != nil {
				c.log.Warn("queue: unreadable runtime queue in the store", "queue", name, "error", err)
				return nil
			}
			i := slices.IndexFunc(queues, func(q config.Queue) bool { return q.Name == name })
			switch {
			case r.Removed && i >= 0:
				queues = slices.Delete(queues, i, i+1)
			case r.Queue != nil && i >= 0:
				queues[i] = *r.Queue
			case r.Queue != nil:
				queues = append(queues, *r.Queue)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("queue: read runtime queues: %w", err)
		}
	}
	for i := range queues {
		if _, err := c.addQueue(queues[i]); err != nil {
			return err
		}
	}
	if c.st == nil {
		c.autoLogin(nil)
		return nil
	}
	err := c.st.ForEach(bucketMembers, func(key string, v []byte) error {
		var r memberRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil
		}
		qn, an, ok := cutLast(key, "/")
		q, a := c.queues[qn], c.agents[an]
		if !ok || q == nil || a == nil {
			return nil
		}
		if r.Removed {
			q.removeMember(a)
		} else {
			q.setMember(a, r.Penalty)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: read runtime members: %w", err)
	}
	seen := map[string]bool{}
	err = c.st.ForEach(bucketAgents, func(id string, v []byte) error {
		a := c.agents[id]
		var r agentRecord
		if a == nil || json.Unmarshal(v, &r) != nil {
			return nil
		}
		seen[id] = true
		a.restore(r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: read agent sessions: %w", err)
	}
	c.autoLogin(seen)
	return nil
}

// autoLogin logs in the dynamic members marked auto_login that the store
// holds no session for.
func (c *Center) autoLogin(seen map[string]bool) {
	now := c.clock.Now()
	for _, id := range c.anames {
		a := c.agents[id]
		if a.cfg.AutoLogin && !a.static && !seen[id] {
			a.loggedIn, a.loginAt = true, now
			c.dirty[id] = true
		}
	}
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// persister writes changed agent sessions, batched, until Close.
func (c *Center) persister() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
			c.flush()
		}
	}
}

// flush writes the agent sessions changed since the last flush.
func (c *Center) flush() {
	if c.st == nil {
		c.mu.Lock()
		clear(c.dirty)
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	if len(c.dirty) == 0 {
		c.mu.Unlock()
		return
	}
	kv := make(map[string][]byte, len(c.dirty))
	for id := range c.dirty {
		if a := c.agents[id]; a != nil {
			b, err := json.Marshal(a.record())
			if err == nil {
				kv[id] = b
			}
		}
	}
	clear(c.dirty)
	c.mu.Unlock()
	if err := c.st.PutMany(bucketAgents, kv); err != nil {
		c.log.Error("queue: save agent sessions", "agents", len(kv), "error", err)
	}
}

// saveMember writes a membership changed at run time.
func (c *Center) saveMember(queue, agent string, r memberRecord) error {
	if c.st == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := c.st.Put(bucketMembers, memberKey(queue, agent), b); err != nil {
		return fmt.Errorf("queue: save member %s of %s: %w", agent, queue, err)
	}
	return nil
}

// saveQueue writes a queue created, changed or removed at run time.
func (c *Center) saveQueue(name string, r queueRecord) error {
	if c.st == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := c.st.Put(bucketQueues, name, b); err != nil {
		return fmt.Errorf("queue: save queue %s: %w", name, err)
	}
	return nil
}
