package queue

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// AgentSession is what an agent did over a period, from the queue log:
// how long they were logged in, and when their last session and their
// last pause began and ended (zero when none, or still going).
type AgentSession struct {
	Agent          string        `json:"agent"` // as the queue log names it: Agent/9001
	LoginTime      time.Duration `json:"login_time"`
	LastLoginStart time.Time     `json:"last_session_start,omitzero"`
	LastLoginEnd   time.Time     `json:"last_session_end,omitzero"`
	LastPauseStart time.Time     `json:"last_pause_start,omitzero"`
	LastPauseEnd   time.Time     `json:"last_pause_end,omitzero"`
}

// Activity sums the agents' sessions in [from, to) from the queue log in
// the store: logged-in time (a session open at either end counts up to
// that end; one open at to counts up to now, if earlier), and the last
// session and pause. For an activity summary, beside the calls.
func (c *Center) Activity(from, to time.Time) ([]AgentSession, error) {
	if c.st == nil {
		return nil, nil
	}
	entries, err := ReadQlog(c.st, from, to, 0)
	if err != nil {
		return nil, err
	}
	if now := c.clock.Now(); to.IsZero() || now.Before(to) {
		to = now
	}
	return sessions(entries, from, to), nil
}

// sessions folds queue log entries (oldest first) into each agent's
// sessions over [from, to).
func sessions(entries []QlogEntry, from, to time.Time) []AgentSession {
	type state struct {
		s       AgentSession
		open    time.Time // the session going on, zero when none
		seen    bool
		pausing time.Time
	}
	agents := map[string]*state{}
	get := func(a string) *state {
		st := agents[a]
		if st == nil {
			st = &state{s: AgentSession{Agent: a}}
			agents[a] = st
		}
		return st
	}
	for _, e := range entries {
		if e.Agent == "" || e.Agent == "NONE" {
			continue
		}
		st := get(e.Agent)
		switch e.Event {
		case qlogAgentLogin:
			st.open, st.seen = e.Time, true
			st.s.LastLoginStart, st.s.LastLoginEnd = e.Time, time.Time{}
		case qlogAgentLogoff:
			start := st.open
			if !st.seen { // logged in before the period: the line says for how long
				start = from
				if len(e.Data) > 1 {
					if secs, err := strconv.Atoi(e.Data[1]); err == nil {
						start = e.Time.Add(-time.Duration(secs) * time.Second)
						if start.Before(from) {
							start = from
						}
					}
				}
				st.s.LastLoginStart = start
			}
			if !start.IsZero() {
				st.s.LoginTime += e.Time.Sub(start)
			}
			st.open, st.seen = time.Time{}, true
			st.s.LastLoginEnd = e.Time
		case qlogPause:
			if st.pausing.IsZero() { // one line per queue: the first starts it
				st.pausing = e.Time
				st.s.LastPauseStart, st.s.LastPauseEnd = e.Time, time.Time{}
			}
		case qlogUnpause:
			if !st.pausing.IsZero() {
				st.pausing = time.Time{}
				st.s.LastPauseEnd = e.Time
			}
		}
	}
	out := make([]AgentSession, 0, len(agents))
	for _, st := range agents {
		if !st.open.IsZero() && to.After(st.open) {
			st.s.LoginTime += to.Sub(st.open)
		}
		out = append(out, st.s)
	}
	slices.SortFunc(out, func(a, b AgentSession) int { return cmp.Compare(a.Agent, b.Agent) })
	return out
}
