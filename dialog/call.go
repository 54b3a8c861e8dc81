package dialog

import (
	"log/slog"
	"sync"
	"time"

	"pbx/store"
)

// Call is the record of one call: the legs created for it (an inbound leg
// and the legs dialled for it, or one originated leg and what it reached)
// and how it went. It decides nothing about media or signalling: bridges
// do. Its record is written when its last leg ends.
type Call struct {
	ID   string
	e    *Engine
	log  *slog.Logger
	From string // caller: extension or the trunk caller's number
	To   string // the number dialled
	// sipCallID is the first leg's SIP Call-ID, kept in the record.
	sipCallID string

	mu       sync.Mutex
	first    *Leg // the leg that started the call
	legs     int  // legs alive
	trunk    string
	start    time.Time
	answer   time.Time
	end      time.Time
	cause    Cause
	decided  bool // cause and hangupBy are set
	finished bool // the record is written
	hangupBy string
	codec    string
	lost     uint64
}

func (e *Engine) newCall(from, to string) *Call {
	c := &Call{ID: e.newID(), e: e, From: from, To: to, start: e.clock.Now()}
	c.log = e.log.With("call", c.ID)
	e.mu.Lock()
	e.calls[c.ID] = c
	e.mu.Unlock()
	e.metrics.CallsStarted.Add(1)
	return c
}

// addLeg counts a new leg of the call; the first one is the caller's.
func (c *Call) addLeg(l *Leg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.legs++
	if c.first == nil {
		c.first = l
	}
}

func (c *Call) setTrunk(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trunk = name
}

// legAnswered notes the call's answer: the first leg's, when that leg is
// answered; call.answered names the leg it talks to, when there is one.
func (c *Call) legAnswered(l *Leg) {
	c.mu.Lock()
	if l != c.first || !c.answer.IsZero() {
		c.mu.Unlock()
		return
	}
	c.answer = c.e.clock.Now()
	setup := c.answer.Sub(c.start)
	c.mu.Unlock()
	ev := Event{Kind: EventCallAnswered, CallID: c.ID, LegID: l.id, From: c.From, To: c.To, Setup: setup}
	if b := l.currentBridge(); b != nil {
		ev.BridgeID = b.id
		if o := b.other(l); o != nil {
			ev.LegID, ev.OtherLegID = o.id, l.id
		}
	}
	c.e.events.publish(ev)
}

// decide notes why the call ends, when l is the first leg whose end
// decides it: the caller's leg, or any leg once the call was answered.
// Who hung up is the caller (the first leg) or the callee when a far end
// did, the system for a timeout or the shutdown. It runs when a leg starts
// ending, before the other legs of its bridge are hung up.
func (c *Call) decide(l *Leg, cause Cause, by string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decided || l != c.first && c.answer.IsZero() {
		return
	}
	c.decided = true
	c.cause = cause
	switch {
	case by == bySystem:
		c.hangupBy = "system"
	case by == byRemote && l == c.first:
		c.hangupBy = "caller"
	case by == byRemote:
		c.hangupBy = "callee"
	case l == c.first && c.answer.IsZero():
		c.hangupBy = "callee" // the PBX refused it on the callee's behalf
	default:
		c.hangupBy = "system"
	}
}

// legEnded counts a leg out; the last one writes the record.
func (c *Call) legEnded(l *Leg) {
	st := l.ep.Stats()
	c.mu.Lock()
	c.lost += st.Lost
	if l == c.first || c.codec == "" {
		c.codec = l.currentCodec().Name
	}
	c.legs--
	last := c.legs == 0 && !c.finished
	if last {
		c.finished = true
	}
	c.mu.Unlock()
	if last {
		c.finish()
	}
}

// finish writes the call record and forgets the call.
func (c *Call) finish() {
	c.mu.Lock()
	c.end = c.e.clock.Now()
	rec := store.CDR{
		ID: c.ID, CallID: c.sipCallID,
		From: c.From, To: c.To, Start: c.start, Answer: c.answer, End: c.end,
		Duration: c.end.Sub(c.start), Disposition: c.cause.Disposition(),
		HangupCause: c.cause.String(), HangupBy: c.hangupBy, Trunk: c.trunk,
		Codec: c.codec, PacketsLost: c.lost,
	}
	if !c.answer.IsZero() {
		rec.Billsec = c.end.Sub(c.answer)
		if c.cause != CauseNormal && rec.Disposition != "ANSWERED" {
			rec.Disposition = "ANSWERED"
		}
	} else if c.cause == CauseNormal {
		rec.Disposition = "FAILED"
	}
	cause := c.cause
	c.mu.Unlock()
	c.e.metrics.ended(rec.Disposition)
	c.e.mu.Lock()
	delete(c.e.calls, c.ID)
	c.e.mu.Unlock()
	// The record is written on an owned goroutine, never on media's or a
	// leg's queue: its fsync must not stall them. call.ended follows it.
	c.e.goOwned(func() {
		if c.e.cdrs != nil {
			if err := c.e.cdrs.AddCDR(rec); err != nil {
				c.log.Error("write call record", "error", err)
			}
		}
		c.e.events.publish(Event{Kind: EventCallEnded, CallID: c.ID, From: c.From, To: c.To, Cause: cause.String()})
	})
}
