package campaign

import (
	"strconv"
	"strings"

	"pbx/dialog"
)

// pumpKinds are the events that move campaign calls on: their legs'
// progress, and the queue's handling of them (an agent who holds a call
// holds its caller's leg).
var pumpKinds = []dialog.EventKind{
	dialog.EventLegRinging, dialog.EventLegEarly, dialog.EventLegAnswered, dialog.EventLegEnded,
	dialog.EventLegHeld, dialog.EventLegResumed,
	"queue.joined", "queue.agent_connected", "agent.state_changed",
}

// pumpBuffer is the event pump's subscription buffer.
const pumpBuffer = 8192

// pump follows the engine's events until Close; a lag resumes where it
// stopped, so no call misses a step.
func (c *Center) pump(sub *dialog.Subscription) {
	for {
		select {
		case <-c.ctx.Done():
			sub.Close()
			return
		case ev, ok := <-sub.C:
			if ok {
				c.progress(ev)
				continue
			}
			next, err := c.e.Subscribe(dialog.EventFilter{Kinds: pumpKinds, After: sub.Last(), Resume: true, Buffer: pumpBuffer})
			if err != nil {
				c.log.Error("campaign events lost: resubscribing live", "error", err)
				if next, err = c.e.Subscribe(dialog.EventFilter{Kinds: pumpKinds, Buffer: pumpBuffer}); err != nil {
					c.log.Error("campaign events: no subscription", "error", err)
					return
				}
			}
			sub = next
		}
	}
}

// callOfLocked finds the campaign call an event is about: by its leg, else
// by the owner its leg carries (set when the dialer placed it: its first
// events may come before Originate returns); c.mu held. The leg comes
// first: a talked call's caller sent back to a queue is a new record's.
func (c *Center) callOfLocked(ev dialog.Event) *Call {
	if cl := c.byLeg[ev.LegID]; cl != nil {
		return cl
	}
	if id, ok := strings.CutPrefix(ev.Owner, ownerPrefix); ok {
		if n, err := strconv.Atoi(id); err == nil {
			return c.calls[n]
		}
	}
	return nil
}

// progress moves a campaign call on by one event.
func (c *Center) progress(ev dialog.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Kind == "agent.state_changed" {
		c.agentLeftLocked(ev)
		return
	}
	cl := c.callOfLocked(ev)
	if cl != nil && ev.Kind == "queue.joined" && cl.LegID == ev.LegID && (cl.Status == Success || cl.Status == ShortCall) {
		c.requeuedLocked(cl)
		cl = nil
	}
	if cl == nil && ev.Kind == "queue.joined" {
		cl = c.incomingLocked(ev)
	}
	if cl == nil {
		return
	}
	if cl.LegID == "" && ev.LegID != "" && live(cl.Status) {
		cl.LegID = ev.LegID // the leg's events may come before Originate returns
		c.byLeg[ev.LegID] = cl
	}
	if cl.LegID != ev.LegID {
		return // an older try's leg
	}
	if cl.UniqueID == "" && c.e != nil {
		// Originate may return before the leg's INVITE has a Call-ID.
		if info, ok := c.e.Leg(cl.LegID); ok && info.SIPCallID != "" {
			cl.UniqueID = info.SIPCallID
			c.markLocked(bucketCalls, cl.ID, *cl)
		}
	}
	now := c.clock.Now()
	d := c.dialers[cl.CampaignID]
	switch ev.Kind {
	case dialog.EventLegRinging, dialog.EventLegEarly:
		if cl.Kind == Outgoing && (cl.Status == Placing || cl.Status == Dialing) {
			c.setStatusLocked(cl, Dialing) // no-op unless it rang before Originate returned
			c.setStatusLocked(cl, Ringing)
		}
	case dialog.EventLegAnswered:
		if cl.Kind != Outgoing {
			break // an incoming call answered by its queue
		}
		cl.OriginateResponse = now
		if d != nil {
			d.pace.attempt(true, ev.Setup)
		}
		leg, queue := cl.LegID, cl.Queue
		if cp := c.campaigns[cl.CampaignID]; cp != nil && cp.AMD {
			cpv := *cp
			c.goRun(func() { c.screen(cl, leg, queue, cpv) })
			break
		}
		c.goRun(func() { c.enqueue(cl, leg, queue) })
	case "queue.joined":
		cl.Join = now
		c.setStatusLocked(cl, OnQueue)
		if cl.WantAgent != "" { // a call scheduled to one agent goes to them
			leg, agent := cl.LegID, cl.WantAgent
			c.goRun(func() {
				if err := c.agents.Assign(c.ctx, leg, agent); err != nil {
					c.log.Info("scheduled call left to any agent", "call", cl.ID, "agent", agent, "error", err)
				}
			})
		}
	case "queue.agent_connected":
		cl.LinkStart, cl.Agent = now, ev.Agent
		if d != nil {
			d.pace.connected(ev.Wait)
		}
		c.setStatusLocked(cl, Success)
	case dialog.EventLegHeld, dialog.EventLegResumed:
		c.holdLocked(cl, ev.Kind == dialog.EventLegHeld)
	case dialog.EventLegEnded:
		c.endedLocked(cl, ev, d)
	}
}

// talk is what the Center keeps of a call talking to its agent: the log
// entry of its Success, which its end refers to, and whether its caller
// is on hold.
type talk struct {
	logID int
	held  bool
}

// holdLocked records a talking call's caller put on hold or taken off
// it: a log entry OnHold or OffHold, published as the call's progress,
// while its status stays Success, so that its end is still a talked
// call's. A hold of a call not talking, or a second one, is no change.
// c.mu held.
func (c *Center) holdLocked(cl *Call, held bool) {
	t := c.talks[cl.ID]
	if cl.Status != Success || t == nil || t.held == held {
		return
	}
	t.held = held
	s := OffHold
	if held {
		s = OnHold
	}
	c.publishProgressLocked(cl, s, c.logLocked(cl, s))
}

// endedLocked records how a call's leg ended: a conversation's end, or a
// failure to be retried as the campaign says; c.mu held.
func (c *Center) endedLocked(cl *Call, ev dialog.Event, d *dialer) {
	delete(c.byLeg, cl.LegID)
	cl.LegID = ""
	var logID int // the log entry of the talked call's final status
	if t := c.talks[cl.ID]; t != nil {
		logID = t.logID
		delete(c.talks, cl.ID)
	}
	switch cl.Status {
	case Success:
		if cl.LinkEnd.IsZero() { // else its agent left it before (a transfer): told then
			c.linkEndedLocked(cl, ev.LegID, logID, d)
		}
	case OnQueue, OnHold, OffHold:
		c.failedLocked(cl, Abandoned)
	case Placing, Dialing, Ringing:
		if d != nil && cl.OriginateResponse.IsZero() {
			d.pace.attempt(false, 0)
		}
		cl.Failure = ev.Cause
		switch ev.Cause {
		case "no_answer", "originator_cancel":
			c.failedLocked(cl, NoAnswer)
		default:
			c.failedLocked(cl, Failure)
		}
	}
}

// agentLeftLocked ends the link of the call an agent talked on when the
// agent leaves it while its caller stays (a transfer): the agent's state
// moved on from the call. c.mu held.
func (c *Center) agentLeftLocked(ev dialog.Event) {
	if ev.State == "on-call" || ev.State == "on-hold" || ev.Agent == "" {
		return
	}
	for id, t := range c.talks {
		cl := c.calls[id]
		if cl == nil || cl.Agent != ev.Agent || cl.Status != Success || !cl.LinkEnd.IsZero() {
			continue
		}
		delete(c.talks, id)
		c.linkEndedLocked(cl, cl.LegID, t.logID, c.dialers[cl.CampaignID])
	}
}

// requeuedLocked lets go of a talked call whose agent sent its caller to
// a queue (a transfer): its talk has ended, and the caller is a new
// caller there, with a record of its own if the queue's calls get one.
// So a talked call never turns Abandoned, to be dialled again. c.mu held.
func (c *Center) requeuedLocked(cl *Call) {
	if t := c.talks[cl.ID]; t != nil {
		delete(c.talks, cl.ID)
		if cl.LinkEnd.IsZero() {
			c.linkEndedLocked(cl, cl.LegID, t.logID, c.dialers[cl.CampaignID])
		}
	}
	delete(c.byLeg, cl.LegID)
	cl.LegID = ""
	c.markLocked(bucketCalls, cl.ID, *cl)
}

// linkEndedLocked records the end of a call's talk with its agent: its
// duration, ShortCall under the campaign's threshold, and
// EventCallEnded. c.mu held.
func (c *Center) linkEndedLocked(cl *Call, legID string, logID int, d *dialer) {
	now := c.clock.Now()
	cl.LinkEnd, cl.Duration = now, now.Sub(cl.LinkStart)
	if d != nil {
		d.pace.talked(cl.Duration)
	}
	if cp := c.campaigns[cl.CampaignID]; cp != nil && cp.ShortCall > 0 && cl.Duration < cp.ShortCall {
		logID = c.setStatusLocked(cl, ShortCall)
	} else {
		c.markLocked(bucketCalls, cl.ID, *cl)
	}
	if c.e != nil {
		c.e.Publish(dialog.Event{Kind: EventCallEnded, LegID: legID, To: cl.Phone, Queue: cl.Queue, Agent: cl.Agent,
			State: string(cl.Status), Duration: cl.Duration, Campaign: cl.CampaignID, CampaignCall: cl.ID, CampaignLog: logID})
	}
}
