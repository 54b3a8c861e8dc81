package queue

import (
	"cmp"
	"slices"
	"time"

	"pbx/config"
)

// limits is what a caller who has waited some time may reach: a penalty
// range and the skills an agent needs, from the queue's base (no penalty
// limit, q.Skills) changed by the queue's rules in order of After.
type limits struct {
	MinPenalty, MaxPenalty int // -1: no limit
	// Skills maps a required skill to the lowest level accepted. It may be
	// the queue's own q.Skills map: read it, never modify it.
	Skills map[string]int
}

// limitsAt returns the limits of a caller who has waited w in q: every
// rule with After <= w applies, in order of After (rules with the same
// After in config order). A rule's nil MaxPenalty or MinPenalty leaves the
// limit as it was, a negative one removes it; its Skills set new lowest
// levels, a level of 0 (or less) dropping the requirement. It allocates
// only when a rule in force changes skills.
func limitsAt(q *config.Queue, w time.Duration) limits {
	l := limits{MinPenalty: -1, MaxPenalty: -1, Skills: q.Skills}
	owned := false // l.Skills is our own copy
	apply := func(r *config.QueueRule) {
		if r.MaxPenalty != nil {
			l.MaxPenalty = max(*r.MaxPenalty, -1)
		}
		if r.MinPenalty != nil {
			l.MinPenalty = max(*r.MinPenalty, -1)
		}
		if len(r.Skills) == 0 {
			return
		}
		if !owned {
			m := make(map[string]int, len(l.Skills)+len(r.Skills))
			for k, v := range l.Skills {
				if v > 0 {
					m[k] = v
				}
			}
			l.Skills, owned = m, true
		}
		for k, v := range r.Skills {
			if v > 0 {
				l.Skills[k] = v
			} else {
				delete(l.Skills, k)
			}
		}
	}
	if rulesSorted(q.Rules) {
		for i := range q.Rules {
			if q.Rules[i].After > w {
				break
			}
			apply(&q.Rules[i])
		}
		return l
	}
	for _, i := range sortedRules(q.Rules) {
		if q.Rules[i].After > w {
			break
		}
		apply(&q.Rules[i])
	}
	return l
}

// admits says whether an agent with this penalty in the queue and these
// skills (skill -> level) is within the limits: penalty in [MinPenalty,
// MaxPenalty] (-1 unbounded) and every required skill held at or above
// its level. A required level of 0 or less requires nothing.
func (l limits) admits(penalty int, skills map[string]int) bool {
	if l.MinPenalty >= 0 && penalty < l.MinPenalty {
		return false
	}
	if l.MaxPenalty >= 0 && penalty > l.MaxPenalty {
		return false
	}
	for k, need := range l.Skills {
		if need > 0 && skills[k] < need {
			return false
		}
	}
	return true
}

// nextChange is the wait at which the limits of q may next change after
// w: the smallest rule After strictly greater than w, or 0 if none (the Center
// re-dispatches the caller then).
func nextChange(q *config.Queue, w time.Duration) time.Duration {
	var next time.Duration
	for i := range q.Rules {
		a := q.Rules[i].After
		if a > w && (next == 0 || a < next) {
			next = a
		}
	}
	return next
}

func rulesSorted(rs []config.QueueRule) bool {
	for i := 1; i < len(rs); i++ {
		if rs[i].After < rs[i-1].After {
			return false
		}
	}
	return true
}

// sortedRules returns the indexes of rs in order of After, stable.
func sortedRules(rs []config.QueueRule) []int {
	idx := make([]int, len(rs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(rs[a].After, rs[b].After) })
	return idx
}
