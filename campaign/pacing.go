package campaign

import (
	"math"
	"time"
)

// abandonWait is how long an answered customer may wait for an agent
// before the call counts as abandoned for pacing: the usual regulatory
// two seconds.
const abandonWait = 2 * time.Second

// pacing is what a predictive dialer has measured of its campaign, over a
// sliding window of its latest calls.
type pacing struct {
	outcomes []bool          // latest attempts: answered or not
	late     []bool          // latest answered calls: waited over abandonWait for an agent
	setup    []time.Duration // latest answered calls: dial to answer
	talk     []time.Duration // latest finished conversations
}

// abandonAim is the share of the abandon cap the pacing aims for: the
// measure lags the calls already dialled by a setup and a wait, so the
// rate overshoots where it turns.
const abandonAim = 0.5

// pacingWindow is how many recent calls each measure keeps.
const pacingWindow = 100

// push appends v to a measure, dropping its oldest value once it holds
// pacingWindow.
func push[T any](s []T, v T) []T {
	if len(s) == pacingWindow {
		copy(s, s[1:])
		s = s[:pacingWindow-1]
	}
	return append(s, v)
}

// attempt records how a dialled call went: answered after setup, or not.
func (p *pacing) attempt(answered bool, setup time.Duration) {
	p.outcomes = push(p.outcomes, answered)
	if answered {
		p.setup = push(p.setup, setup)
	}
}

// connected records how long an answered call waited for an agent.
func (p *pacing) connected(wait time.Duration) { p.late = push(p.late, wait > abandonWait) }

// talked records how long a conversation lasted.
func (p *pacing) talked(d time.Duration) { p.talk = push(p.talk, d) }

// share is the fraction of s that is true; s is not empty.
func share(s []bool) float64 {
	n := 0
	for _, v := range s {
		if v {
			n++
		}
	}
	return float64(n) / float64(len(s))
}

// mean is the average of s; s is not empty.
func mean(s []time.Duration) time.Duration {
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return sum / time.Duration(len(s))
}

// answerRate is the share of attempts answered; one in two until ten
// attempts have been measured.
func (p *pacing) answerRate() float64 {
	if len(p.outcomes) < 10 {
		return 0.5
	}
	return max(share(p.outcomes), 0.05)
}

// abandonRate is the share of answered calls that waited too long for an
// agent; 0 until ten have been measured.
func (p *pacing) abandonRate() float64 {
	if len(p.late) < 10 {
		return 0
	}
	return share(p.late)
}

// agentLoad is what the dialer knows of the queue's agents and its own
// calls at one moment.
type agentLoad struct {
	free     int // agents who could take a call now
	onCall   int // agents talking, who will be free again
	inFlight int // the campaign's calls dialled and not yet answered
	waiting  int // its answered calls waiting in the queue for an agent
}

// progressive dials one call per free agent not already promised one.
func progressive(l agentLoad) int { return l.free - l.inFlight - l.waiting }

// predictive dials enough calls that, at the measured answer rate, one is
// answered for each agent free now or soon (agents on a call whose
// remaining talk is likely shorter than a call's setup), and holds back as
// the measured abandon rate nears the cap: at half the cap it dials as
// the progressive mode would.
func (p *pacing) predictive(l agentLoad, cap float64) int {
	soon := 0.0
	if len(p.talk) >= 5 && len(p.setup) >= 5 {
		// Half of those whose remaining talk is likely under a setup: an
		// agent freed also rings, answers and may wrap up first.
		soon = 0.5 * float64(l.onCall) * math.Min(1, float64(mean(p.setup))/float64(max(mean(p.talk), time.Second)))
	}
	ratio := math.Min(1/p.answerRate(), 4)
	// It aims under the cap: calls already ringing still arrive after the
	// rate is measured, and push it up.
	scale := math.Max(0, 1-p.abandonRate()/(abandonAim*cap))
	ratio = 1 + (ratio-1)*scale
	avail := float64(l.free) + soon*scale - float64(l.waiting)
	return int(math.Floor(avail*ratio)) - l.inFlight
}
