package dialog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/sip"
	"pbx/store"
)

// Call is one call through the PBX: the caller's leg, and the leg that
// answered (or the legs that ring, until one answers).
type Call struct {
	ID   string
	e    *Engine
	log  *slog.Logger
	From string // caller: extension or the trunk caller's number
	To   string // the number dialled

	a     *Leg
	req   *sipmsg.Request // the caller's INVITE
	offer sip.SessionDesc // the caller's initial offer

	mediaMu    sync.Mutex // serialises remix; taken before mu, never inside it
	m          callMedia  // guarded by mediaMu
	digits     chan legDigit
	digitsOnce sync.Once

	mu           sync.Mutex
	b            *Leg // the leg that answered, or that gives early media
	trunk        string
	start        time.Time
	answer       time.Time
	end          time.Time
	ended        bool
	cause        Cause
	hangupBy     string
	cancelDial   context.CancelFunc
	consult      *consultation // an attended transfer in progress
	transferring bool          // a transfer is dialing its target
	done         chan struct{}
}

func (c *Call) legs() []*Leg {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []*Leg{c.a}
	if c.b != nil {
		out = append(out, c.b)
	}
	return out
}

func (c *Call) isAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.answer.IsZero()
}

// hangup ends the call: every leg but by gets a BYE (or the dial is
// cancelled if nobody answered yet), media is released, the record written.
// It is safe to call more than once; only the first call counts.
func (c *Call) hangup(by *Leg, cause Cause) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	answered := !c.answer.IsZero()
	if !answered && c.cancelDial != nil {
		// The dial phase owns the legs until it answers or fails: cancel it
		// and let it finish the call.
		c.cause = cause
		cancel := c.cancelDial
		c.mu.Unlock()
		cancel()
		return
	}
	c.ended = true
	c.end = time.Now()
	c.cause = cause
	switch {
	case by == nil:
		c.hangupBy = "system"
	case by == c.a:
		c.hangupBy = "caller"
	default:
		c.hangupBy = "callee"
	}
	legs := []*Leg{c.a}
	if c.b != nil {
		legs = append(legs, c.b)
	}
	if cs := c.consult; cs != nil {
		legs = append(legs, cs.target)
		c.consult = nil
		close(cs.done)
	}
	c.mu.Unlock()

	c.log.Info("call ended", "cause", cause.String(), "by", c.hangupBy)
	c.teardownMedia()
	for _, l := range legs {
		l.stopSessionTimer()
		if l != by {
			l.bye()
		}
		l.ep.Close()
	}
	c.finish()
}

// finish writes the call record and forgets the call. Callers have set end,
// cause and hangupBy.
func (c *Call) finish() {
	c.mu.Lock()
	if c.end.IsZero() {
		c.end = time.Now()
	}
	c.ended = true
	rec := store.CDR{
		ID: c.ID, CallID: c.req.CallID().Value(),
		From: c.From, To: c.To, Start: c.start, Answer: c.answer, End: c.end,
		Duration: c.end.Sub(c.start), Disposition: c.cause.Disposition(),
		HangupCause: c.cause.String(), HangupBy: c.hangupBy, Trunk: c.trunk,
	}
	if !c.answer.IsZero() {
		rec.Billsec = c.end.Sub(c.answer)
	}
	rec.Codec = c.a.currentCodec().Name
	legs := []*Leg{c.a}
	if c.b != nil {
		legs = append(legs, c.b)
	}
	c.mu.Unlock()
	for _, l := range legs {
		rec.PacketsLost += l.ep.Stats().Lost
	}
	if c.cause == CauseNormal && c.answer.IsZero() {
		rec.Disposition = "FAILED"
	}
	c.e.metrics.ended(rec.Disposition)
	if c.e.cdrs != nil {
		if err := c.e.cdrs.AddCDR(rec); err != nil {
			c.log.Error("write call record", "error", err)
		}
	}
	c.e.removeCall(c)
	c.publish(EventCallEnded, nil, c.cause.String())
	close(c.done)
}

func (c *Call) publish(kind EventKind, l *Leg, cause string) {
	ev := Event{Kind: kind, CallID: c.ID, From: c.From, To: c.To, Cause: cause}
	if l != nil {
		ev.LegID = l.ID
	}
	c.e.events.publish(ev)
}

// bye ends an answered leg's dialog with BYE, in the background, bounded.
func (l *Leg) bye() {
	e := l.call().e
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		switch {
		case l.cli != nil:
			err = l.cli.Bye(ctx)
			l.cli.Close()
		case l.srv != nil:
			err = l.srv.Bye(ctx)
			l.srv.Close()
		}
		if err != nil {
			l.call().log.Debug("bye failed", "leg", l.ID, "error", err)
		}
	}()
}

// watchMedia hangs the call up when either leg's RTP stops, unless held.
func (c *Call) watchMedia() {
	d := c.e.cfg.Media.RTPTimeout
	for _, l := range c.legs() {
		l.ep.SetTimeout(d, func() { c.hangup(nil, CauseMediaTimeout) })
	}
}

// setHeld records that l's phone put the call on hold, or took it back.
// Meanwhile the other party hears the music of its class, and the call is
// exempt from the RTP timeout.
func (c *Call) setHeld(l *Leg, held bool) {
	c.mediaMu.Lock()
	if held {
		if c.m.heldBy == nil {
			c.m.heldBy = map[*Leg]bool{}
		}
		c.m.heldBy[l] = true
	} else {
		delete(c.m.heldBy, l)
	}
	anyHeld := len(c.m.heldBy) > 0
	c.remixLocked()
	c.mediaMu.Unlock()
	if !anyHeld {
		c.watchMedia()
		return
	}
	for _, x := range c.legs() {
		x.ep.SetTimeout(0, nil)
	}
}

// isHeldBy reports whether l's phone has the call on hold.
func (c *Call) isHeldBy(l *Leg) bool {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	return c.m.heldBy[l]
}
