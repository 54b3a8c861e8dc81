package campaign

import (
	"fmt"
	"time"
)

// Schedule books a call back for a call of an outgoing campaign: between
// from and to, at phone ("" keeps the call's number), to agent ("" means
// any agent of the queue). The dialer places it as a new call of the same
// campaign, with the same attributes, once its window opens and, for an
// agent, once that agent is free; a window that passes undialled leaves
// it a Failure. Errors wrap ErrNotFound (no such call) or ErrInvalid.
func (c *Center) Schedule(callID int, from, to time.Time, phone, agent string) (Call, error) {
	if phone != "" {
		p, ok := cleanPhone(phone)
		if !ok {
			return Call{}, fmt.Errorf("%w: bad phone number %q", ErrInvalid, phone)
		}
		phone = p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	orig := c.calls[callID]
	switch {
	case orig == nil:
		return Call{}, fmt.Errorf("call %d: %w", callID, ErrNotFound)
	case orig.Kind != Outgoing:
		return Call{}, fmt.Errorf("call %d: %w: not an outgoing call", callID, ErrInvalid)
	case !to.After(from):
		return Call{}, fmt.Errorf("%w: the window ends before it starts", ErrInvalid)
	case to.Before(c.clock.Now()):
		return Call{}, fmt.Errorf("%w: the window is over", ErrInvalid)
	}
	for _, x := range c.calls {
		if x.FollowsUp == callID && x.Status == Pending && from.Before(x.NotAfter) && x.NextTry.Before(to) {
			return Call{}, fmt.Errorf("%w: call %d is %w", ErrInvalid, callID, ErrScheduled)
		}
	}
	if phone == "" {
		phone = orig.Phone
	}
	cl := &Call{
		ID: c.newIDLocked(bucketCalls), CampaignID: orig.CampaignID, Kind: Outgoing, Phone: phone, Status: Pending,
		Queue: orig.Queue, Attributes: orig.Attributes, NextTry: from, NotAfter: to, WantAgent: agent, FollowsUp: callID,
	}
	c.calls[cl.ID] = cl
	c.markLocked(bucketCalls, cl.ID, *cl)
	c.log.Info("call scheduled", "call", cl.ID, "follows", callID, "from", from, "to", to, "agent", agent)
	return *cl, nil
}

// expireLocked fails a scheduled call whose window passed undialled;
// c.mu held.
func (c *Center) expireLocked(cl *Call, now time.Time) bool {
	if cl.Status != Pending || cl.NotAfter.IsZero() || now.Before(cl.NotAfter) {
		return false
	}
	cl.Failure = "the scheduled window passed"
	c.setStatusLocked(cl, Failure) // due refuses it from now on
	return true
}
