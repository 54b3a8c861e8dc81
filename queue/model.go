package queue

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"pbx/config"
	"pbx/dialog"
)

// queue is one call queue's live state.
type queue struct {
	name    string
	cfg     *config.Queue // never changed in place (wait rooms read it): replaced; Members is not read: members is
	strat   strategy
	members []*member // in member order
	byAgent map[string]*member
	waiting []*caller // in line: priority (high first), then joined, then seq
	// holdAvg is the exponential average of answered callers' waits
	// (new = 3/4 old + 1/4 sample, as Asterisk), for estimated waits.
	holdAvg   time.Duration
	nextOrder int
}

// member is an agent's membership of a queue.
type member struct {
	q        *queue
	a        *agent
	penalty  int
	order    int       // place in the member list
	lastCall time.Time // end of the agent's last call from this queue
	calls    int       // calls completed from this queue
}

// addQueue makes a queue from its config, with its config members.
func (c *Center) addQueue(qc config.Queue) (*queue, error) {
	if qc.Strategy == "" {
		qc.Strategy = config.DefaultQueueStrategy
	}
	st, err := newStrategy(qc.Strategy)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", qc.Name, err)
	}
	cfg := qc
	cfg.Members = nil
	q := &queue{name: qc.Name, cfg: &cfg, strat: st, byAgent: map[string]*member{}}
	c.queues[q.name] = q
	i, _ := slices.BinarySearch(c.qnames, q.name)
	c.qnames = slices.Insert(c.qnames, i, q.name)
	for _, m := range qc.Members {
		if a := c.agents[m.Agent]; a != nil {
			q.setMember(a, m.Penalty)
		}
	}
	return q, nil
}

// setMember adds an agent to the queue, or changes its penalty.
func (q *queue) setMember(a *agent, penalty int) *member {
	if m := q.byAgent[a.id]; m != nil {
		m.penalty = penalty
		return m
	}
	m := &member{q: q, a: a, penalty: penalty, order: q.nextOrder}
	q.nextOrder++
	q.members = append(q.members, m)
	q.byAgent[a.id] = m
	a.members[q.name] = m
	i, _ := slices.BinarySearchFunc(a.mlist, q.name, func(m *member, n string) int { return strings.Compare(m.q.name, n) })
	a.mlist = slices.Insert(a.mlist, i, m)
	return m
}

// removeMember takes an agent out of the queue.
func (q *queue) removeMember(a *agent) bool {
	m := q.byAgent[a.id]
	if m == nil {
		return false
	}
	delete(q.byAgent, a.id)
	q.members = slices.DeleteFunc(q.members, func(x *member) bool { return x == m })
	delete(a.members, q.name)
	a.mlist = slices.DeleteFunc(a.mlist, func(x *member) bool { return x == m })
	return true
}

// musicClass is the hold music of a static agent's open line: that of
// the agent's first queue with one, else the default class.
func (a *agent) musicClass() string {
	for _, m := range a.mlist {
		if m.q.cfg.Music != "" {
			return m.q.cfg.Music
		}
	}
	return config.DefaultMusicClass
}

// wrapup is how long an agent wraps up after a call from q: the agent's
// own time if set, else the queue's.
func (a *agent) wrapup(q *queue) time.Duration {
	if a.cfg.Wrapup != nil {
		return *a.cfg.Wrapup
	}
	if q == nil {
		return 0
	}
	return q.cfg.Wrapup
}

// position of a caller in its queue's line, 1 for the next.
func (q *queue) index(cl *caller) int {
	for i, x := range q.waiting {
		if x == cl {
			return i
		}
	}
	return -1
}

// before says whether caller x is ahead of y in one queue's line.
func before(x, y *caller) bool {
	if x.prio != y.prio {
		return x.prio > y.prio
	}
	if !x.joined.Equal(y.joined) {
		return x.joined.Before(y.joined)
	}
	return x.seq < y.seq
}

// better says whether caller x should be served before y by an agent
// free for both, across queues: priority, then queue weight, then the
// longer wait.
func better(x, y *caller) bool {
	if x.prio != y.prio {
		return x.prio > y.prio
	}
	if x.q.cfg.Weight != y.q.cfg.Weight {
		return x.q.cfg.Weight > y.q.cfg.Weight
	}
	if !x.joined.Equal(y.joined) {
		return x.joined.Before(y.joined)
	}
	return x.seq < y.seq
}

// insert puts a caller in line and renumbers those behind it.
func (t *txn) insert(q *queue, cl *caller) {
	i, _ := slices.BinarySearchFunc(q.waiting, cl, func(x, y *caller) int {
		if before(x, y) {
			return -1
		}
		return 1
	})
	q.waiting = slices.Insert(q.waiting, i, cl)
	cl.q = q
	cl.pos = i + 1
	t.renumber(q, i+1, cl)
}

// unline takes a caller out of line and renumbers those behind it; it
// returns the position the caller had.
func (t *txn) unline(cl *caller) int {
	q := cl.q
	i := q.index(cl)
	if i < 0 {
		return cl.pos
	}
	q.waiting = slices.Delete(q.waiting, i, i+1)
	t.renumber(q, i, nil)
	return i + 1
}

// renumber gives the callers from index i on their positions, publishing
// each change (skip is a caller just placed, whose joined event says it).
func (t *txn) renumber(q *queue, i int, skip *caller) {
	for ; i < len(q.waiting); i++ {
		x := q.waiting[i]
		if x.pos == i+1 {
			continue
		}
		x.pos = i + 1
		if x == skip || x.virtual() {
			continue
		}
		t.publish(dialog.Event{Kind: EventPositionChanged, LegID: x.leg, CallID: x.callID, Queue: q.name, Position: x.pos})
	}
}
