package campaign

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"pbx/dialog"
)

// A dialer runs while its outgoing campaign is active: every tick it
// counts the queue's agents and its own calls, and places as many new
// calls as its mode allows, within the working hours and dates, the
// campaign's channels, and never when no agent is logged in to the queue.
type dialer struct {
	c    *Center
	id   int
	quit chan struct{}
	once sync.Once
	pace pacing // guarded by Center.mu
}

// startDialerLocked starts the dialer of a campaign unless it runs; c.mu held.
func (c *Center) startDialerLocked(id int) {
	if c.dialers[id] != nil || c.ctx == nil || c.stopped || c.e == nil || c.agents == nil {
		return
	}
	d := &dialer{c: c, id: id, quit: make(chan struct{})}
	c.dialers[id] = d
	c.goRun(d.run)
}

func (d *dialer) stop() { d.once.Do(func() { close(d.quit) }) }

func (d *dialer) run() {
	t := time.NewTicker(d.c.tick)
	defer t.Stop()
	for {
		d.step()
		select {
		case <-d.quit:
			return
		case <-d.c.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step places the calls the campaign may place now.
func (d *dialer) step() {
	next, req := d.plan()
	for _, cl := range next {
		d.place(cl, req)
	}
}

// plan picks the calls to place now and marks them Placing; req is how
// to originate them.
func (d *dialer) plan() ([]*Call, dialog.OriginateRequest) {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := c.campaigns[d.id]
	now := c.clock.Now()
	if cp == nil || cp.Status != Active || !cp.open(now) {
		return nil, dialog.OriginateRequest{}
	}
	loggedIn, free, ok := c.agents.QueueAgents(cp.Queue)
	if !ok || loggedIn == 0 {
		return nil, dialog.OriginateRequest{}
	}
	l := agentLoad{free: free, onCall: max(0, loggedIn-free)}
	channels, onTrunk := 0, 0
	var next []*Call
	for _, cl := range c.calls {
		if cp.Trunk != "" && cl.Trunk == cp.Trunk && (cl.LegID != "" || cl.Status == Placing) {
			onTrunk++ // every campaign's calls on the trunk
		}
		if cl.CampaignID != d.id {
			continue
		}
		switch {
		case cl.LegID != "":
			channels++
			switch cl.Status {
			case Placing, Dialing, Ringing:
				l.inFlight++
			case OnQueue:
				l.waiting++
			}
		case cl.Status == Placing: // placed, its leg not yet made
			channels++
			l.inFlight++
		case c.expireLocked(cl, now):
		case d.due(cl, cp, now):
			next = append(next, cl)
		}
	}
	want := progressive(l)
	if cp.Mode == Predictive {
		want = d.pace.predictive(l, cp.AbandonCap)
	}
	want = min(want, cp.MaxChannels-channels, len(next))
	if limit := c.trunks[cp.Trunk]; limit > 0 {
		want = min(want, limit-onTrunk)
	}
	if want <= 0 {
		return nil, dialog.OriginateRequest{}
	}
	slices.SortFunc(next, func(a, b *Call) int { return a.ID - b.ID })
	next = next[:want]
	for _, cl := range next {
		cl.Retries++
		cl.Trunk, cl.Queue, cl.Agent, cl.Failure = cp.Trunk, cp.Queue, "", ""
		cl.Originate, cl.OriginateResponse, cl.Join, cl.LinkStart, cl.LinkEnd, cl.Duration = now, time.Time{}, time.Time{}, time.Time{}, time.Time{}, 0
		c.setStatusLocked(cl, Placing)
	}
	return next, dialog.OriginateRequest{Trunk: cp.Trunk, CallerID: cp.CallerID, Timeout: cp.RingTimeout, Context: "campaign:" + strconv.Itoa(cp.ID)}
}

// due reports whether a call is to be dialled now: never tried, or a
// retry whose delay has passed. A success is never dialled again.
func (d *dialer) due(cl *Call, cp *Campaign, now time.Time) bool {
	if !cl.NotAfter.IsZero() && !now.Before(cl.NotAfter) {
		return false // a scheduled call whose window has passed
	}
	switch cl.Status {
	case Pending:
		return !cl.NextTry.After(now) && (cl.WantAgent == "" || d.c.agents.AgentFree(cl.WantAgent))
	case Failure, NoAnswer, Abandoned:
		return cl.Retries <= cp.Retries && !cl.NextTry.After(now)
	}
	return false
}

// place originates one call. Its leg's events, matched by the owner the
// leg carries, move it on.
func (d *dialer) place(cl *Call, req dialog.OriginateRequest) {
	c := d.c
	req.To, req.Owner = cl.Phone, owner(cl.ID)
	info, err := c.e.Originate(c.ctx, req)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.log.Info("campaign call not placed", "campaign", cl.CampaignID, "call", cl.ID, "error", err)
		cl.Failure = err.Error()
		d.pace.attempt(false, 0)
		c.failedLocked(cl, Failure)
		return
	}
	switch {
	case cl.Status == Placing:
		cl.LegID, cl.UniqueID = info.ID, info.SIPCallID
		c.byLeg[info.ID] = cl
		c.setStatusLocked(cl, Dialing)
	case live(cl.Status) && (cl.LegID == "" || cl.LegID == info.ID):
		// The leg's events came first (progress recorded Dialing then).
		cl.LegID, cl.UniqueID = info.ID, info.SIPCallID
		c.byLeg[info.ID] = cl
		c.markLocked(bucketCalls, cl.ID, *cl)
	} // else its leg ended already
}

// failedLocked records a failed try and when the next may be; c.mu held.
func (c *Center) failedLocked(cl *Call, s CallStatus) {
	if cp := c.campaigns[cl.CampaignID]; cp != nil {
		cl.NextTry = c.clock.Now().Add(cp.RetryDelay)
	}
	c.setStatusLocked(cl, s)
}

// ownerPrefix, then the call's id, is the owner a campaign call's leg
// carries, so that its events find the call (callOfLocked).
const ownerPrefix = "campaign-call:"

// owner is the owner a campaign call's leg carries.
func owner(callID int) string { return ownerPrefix + strconv.Itoa(callID) }
