package queue

import (
	"fmt"
	"regexp"
	"slices"

	"pbx/config"
	"pbx/dialog"
)

// Queues created, changed or removed at run time, by a control plane.
// The change is checked as pbx.yaml's queues are, applied at once, and
// kept in the store, so a restart keeps it.

var queueNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// SetQueue creates a queue, or changes an existing one's settings. A new
// queue gets q.Members; an existing queue keeps its members (AddMember and
// RemoveMember change them) and its waiting callers, who are offered
// again under the new settings.
func (c *Center) SetQueue(q config.Queue) error {
	if !queueNameRe.MatchString(q.Name) {
		return fmt.Errorf("set queue %q: %w: a name is letters, digits, '-' and '_'", q.Name, dialog.ErrInvalidState)
	}
	if q.Strategy == "" {
		q.Strategy = config.DefaultQueueStrategy
	}
	if err := c.checkQueue(q); err != nil {
		return fmt.Errorf("set queue %s: %w: %v", q.Name, dialog.ErrInvalidState, err)
	}
	if _, err := newStrategy(q.Strategy); err != nil {
		return fmt.Errorf("set queue %s: %w: %v", q.Name, dialog.ErrInvalidState, err)
	}
	var err error
	c.do(func(t *txn) {
		for _, m := range q.Members {
			if c.agents[m.Agent] == nil {
				err = fmt.Errorf("member %s: %w", m.Agent, ErrUnknownAgent)
				return
			}
		}
		cur := c.queues[q.Name]
		if cur == nil {
			cur, err = c.addQueue(q)
			if err != nil {
				return
			}
			for _, m := range cur.members {
				t.agents = append(t.agents, m.a)
			}
			return
		}
		if q.Strategy != cur.cfg.Strategy {
			st, serr := newStrategy(q.Strategy)
			if serr != nil {
				err = serr
				return
			}
			cur.strat = st
		}
		cfg := q
		cfg.Members = nil
		cur.cfg = &cfg
		for _, cl := range cur.waiting {
			cl.lim = limitsAt(cur.cfg, t.now.Sub(cl.joined))
			t.callers = append(t.callers, cl)
		}
		t.markEmpty(cur)
	})
	if err != nil {
		return fmt.Errorf("set queue %s: %w", q.Name, err)
	}
	c.stats.setServiceLevel(q.Name, q.ServiceLevel)
	c.log.Info("queue set", "queue", q.Name, "strategy", q.Strategy)
	return c.saveQueue(q.Name, queueRecord{Queue: &q})
}

// RemoveQueue removes a queue nobody waits in.
func (c *Center) RemoveQueue(name string) error {
	var err error
	c.do(func(t *txn) {
		q := c.queues[name]
		switch {
		case q == nil:
			err = fmt.Errorf("remove queue %s: %w", name, ErrUnknownQueue)
			return
		case len(q.waiting) > 0:
			err = fmt.Errorf("remove queue %s: %w: %d callers wait in it", name, dialog.ErrInvalidState, len(q.waiting))
			return
		}
		for _, m := range slices.Clone(q.members) {
			q.removeMember(m.a)
		}
		delete(c.queues, name)
		c.qnames = slices.DeleteFunc(c.qnames, func(n string) bool { return n == name })
	})
	if err != nil {
		return err
	}
	c.log.Info("queue removed", "queue", name)
	return c.saveQueue(name, queueRecord{Removed: true})
}

// checkQueue checks a queue as pbx.yaml's are: in a copy of the config
// with it, whose other problems (none, in a config that was loaded) are
// not its own.
func (c *Center) checkQueue(q config.Queue) error {
	cp := *c.cfg
	cp.Queues = slices.DeleteFunc(slices.Clone(cp.Queues), func(x config.Queue) bool { return x.Name == q.Name })
	cp.Queues = append(cp.Queues, q)
	err := cp.Validate()
	if err == nil || c.cfg.Validate() != nil {
		return nil
	}
	return err
}
