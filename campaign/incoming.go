package campaign

import (
	"pbx/dialog"
)

// An incoming campaign follows the calls of its queue: each caller who
// joins the queue while the campaign is active gets a call record, with
// the contacts its caller id matches, and the record follows the call to
// its agent and its end, as an outgoing one does. With
// Options.TrackQueues, the callers of every other queue get one too, of
// campaign 0.

// incomingLocked makes the record of a caller who joined the queue of an
// active incoming campaign, or of any queue when the Center tracks them
// all; nil otherwise. c.mu held.
func (c *Center) incomingLocked(ev dialog.Event) *Call {
	var cp *Campaign
	for _, x := range c.campaigns {
		if x.Kind == Incoming && x.Status == Active && x.Queue == ev.Queue && x.open(c.clock.Now()) {
			if cp == nil || x.ID < cp.ID {
				cp = x
			}
		}
	}
	if (cp == nil && !c.track) || c.e == nil {
		return nil
	}
	campaignID := 0
	if cp != nil {
		campaignID = cp.ID
	}
	info, ok := c.e.Leg(ev.LegID)
	if !ok {
		return nil
	}
	cl := &Call{
		ID: c.newIDLocked(bucketCalls), CampaignID: campaignID, Kind: Incoming, Phone: info.From, Queue: ev.Queue,
		LegID: info.ID, UniqueID: info.SIPCallID, Retries: 1,
	}
	for _, ct := range MatchContacts(c.contactsLocked(), info.From) {
		cl.Contacts = append(cl.Contacts, ct.ID)
	}
	if len(cl.Contacts) == 1 {
		cl.Contact = cl.Contacts[0]
	}
	c.calls[cl.ID] = cl
	c.byLeg[cl.LegID] = cl
	return cl
}
