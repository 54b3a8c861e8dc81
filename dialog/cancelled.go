package dialog

import (
	"context"
	"sync"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// maxCancelled bounds the INVITEs remembered after a failed CANCEL: past
// it a crossing answer is left to the callee's own timeout.
const maxCancelled = 1024

// cancelledInvites are the outbound INVITEs the engine cancelled without
// seeing their final response, by Call-ID, each for 64*T1. When a callee
// answers as the CANCEL crosses, the CANCEL gets 481 and sipgo gives up on
// the INVITE's transaction without reading the 200; the 200 and its
// retransmissions then reach the stack as stray responses
// (sip.Stack.OnStrayInviteOK), and the engine ACKs and hangs up the call
// it finds here, which the callee would otherwise hold for 32 s.
type cancelledInvites struct {
	mu     sync.Mutex
	byID   map[string]cancelledInvite
	closed bool // the engine drained: nothing more is remembered
}

type cancelledInvite struct {
	l  *Leg // for its log; the leg has usually ended
	cs *sipgo.DialogClientSession
	t  Timer // forgets the INVITE after 64*T1
}

// rememberCancelled keeps cs, an INVITE of l cancelled without a final
// response, for a crossing 200 to be hung up.
func (e *Engine) rememberCancelled(l *Leg, cs *sipgo.DialogClientSession) {
	h := cs.InviteRequest.CallID()
	if h == nil {
		return
	}
	id := h.Value()
	c := &e.cancelled
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.byID) >= maxCancelled {
		return
	}
	if c.byID == nil {
		c.byID = map[string]cancelledInvite{}
	}
	if old, ok := c.byID[id]; ok {
		old.t.Stop()
	}
	c.byID[id] = cancelledInvite{l: l, cs: cs, t: e.clock.AfterFunc(64*sipmsg.T1, func() {
		c.mu.Lock()
		if cur, ok := c.byID[id]; ok && cur.cs == cs {
			delete(c.byID, id)
		}
		c.mu.Unlock()
	})}
}

// strayInviteOK takes a 2xx to INVITE that matched no transaction: if it
// answers a remembered cancelled INVITE, the call is ACKed and hung up and
// forgotten (its further retransmissions are left alone: the BYE ends the
// callee's dialog). Any other stray 2xx, such as the retransmission of an
// established call's 200 whose ACK was lost, is not taken: no BYE for it.
func (e *Engine) strayInviteOK(res *sipmsg.Response) bool {
	h := res.CallID()
	if h == nil {
		return false
	}
	c := &e.cancelled
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ok := c.byID[h.Value()]
	if !ok {
		return false
	}
	delete(c.byID, h.Value())
	ci.t.Stop()
	// Started under the lock, so that closeCancelled's caller waits for it.
	e.goOwned(func() {
		cs := ci.cs
		if id, err := sipmsg.DialogIDFromResponse(res); err == nil {
			cs.ID = id
		}
		cs.InviteResponse = res
		ci.l.log.Info("callee answered as its INVITE was cancelled: hanging up", "status", res.StatusCode)
		if err := cs.Ack(context.Background()); err != nil {
			ci.l.log.Warn("ack to callee", "error", err)
		}
		ci.l.bye(nil, cs)
	})
	return true
}

// closeCancelled forgets every remembered INVITE and stops their timers,
// for Drain.
func (e *Engine) closeCancelled() {
	c := &e.cancelled
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for id, ci := range c.byID {
		ci.t.Stop()
		delete(c.byID, id)
	}
}
