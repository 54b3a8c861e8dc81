package agentrpc

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"

	"pbx/config"
	"pbx/dialog"
)

// maxQueued is how many requests of one call may wait behind the one
// running, as diagox's per-dialog buffer; one more gets 429.
const maxQueued = 10

// Why a call's control, or one request, ended early.
var (
	errCallGone  = errors.New("the call ended")
	errBotGone   = errors.New("the bot disconnected")
	errCancelled = errors.New("cancelled by the bot")
)

// call is one call under a bot's control: its requests run one at a time,
// in order, on the goroutine that offered it.
type call struct {
	c        *conn
	s        *Server
	did      string // the leg id
	endpoint config.Endpoint
	log      *slog.Logger

	ctx    context.Context // cancelled, with a cause, when control ends
	cancel context.CancelCauseFunc
	reqs   chan *transaction

	mu    sync.Mutex
	txs   map[string]*transaction // queued or running, by id
	ended bool                    // control is over: requests get 487
}

// transaction is one bot request and its answer, given once.
type transaction struct {
	f      frame
	ctx    context.Context
	cancel context.CancelCauseFunc
	once   sync.Once
	c      *conn
}

// final answers the request, once: later answers are dropped.
func (t *transaction) final(st *status) {
	t.once.Do(func() { t.c.reply(t.f.ID, t.f.DID, st) })
}

// progress sends a provisional answer, unless the final one went.
func (t *transaction) progress(code int, reason string) {
	if t.ctx.Err() == nil {
		t.c.reply(t.f.ID, t.f.DID, &status{code: code, reason: reason})
	}
}

// newCall puts leg on c's books, by its did and as "last", before the
// invite goes: requests the bot sends early find it.
func newCall(c *conn, leg dialog.LegInfo, ep config.Endpoint) *call {
	cl := &call{
		c: c, s: c.s, did: leg.ID, endpoint: ep, log: c.log.With("leg", leg.ID),
		reqs: make(chan *transaction, maxQueued+1), txs: map[string]*transaction{},
	}
	cl.ctx, cl.cancel = context.WithCancelCause(c.ctx)
	c.mu.Lock()
	c.calls[cl.did] = cl
	c.last = cl
	c.mu.Unlock()
	return cl
}

// forget takes the call off its connection: its did is unknown from now.
func (cl *call) forget() {
	cl.cancel(errCallGone)
	c := cl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls[cl.did] == cl {
		delete(c.calls, cl.did)
	}
	if c.last == cl {
		c.last = nil
	}
}

// enqueue queues a request behind the call's others.
func (cl *call) enqueue(f frame) {
	t := &transaction{f: f, c: cl.c}
	t.ctx, t.cancel = context.WithCancelCause(cl.ctx)
	cl.mu.Lock()
	var refuse *status
	switch {
	case cl.ended:
		refuse = statusGone
	case cl.txs[f.ID] != nil:
		refuse = badRequest("a request with this id is in progress")
	case len(cl.txs) > maxQueued:
		refuse = &status{code: codeTooMany, reason: "Too Many Requests"}
	default:
		cl.txs[f.ID] = t
	}
	cl.mu.Unlock()
	if refuse != nil {
		t.cancel(nil)
		cl.c.reply(f.ID, f.DID, refuse)
		return
	}
	cl.reqs <- t // room for maxQueued+1: never blocks
}

// cancelRequest ends a queued or running request with 499.
func (cl *call) cancelRequest(id string) {
	cl.mu.Lock()
	t := cl.txs[id]
	cl.mu.Unlock()
	if t == nil {
		cl.log.Debug("cancel of no request in progress", "id", id)
		return
	}
	t.final(statusCancelled)
	t.cancel(errCancelled)
}

// done removes a request that has been answered.
func (cl *call) done(t *transaction) {
	t.cancel(nil)
	cl.mu.Lock()
	delete(cl.txs, t.f.ID)
	cl.mu.Unlock()
}

// run serves the call's requests until control ends: the caller hangs
// up, the bot hangs up or redirects, the bot goes away, or the server
// stops. legCtx is the leg's, done when it ends.
func (cl *call) run(legCtx context.Context) {
	stop := context.AfterFunc(legCtx, func() { cl.cancel(errCallGone) })
	defer stop()
	cl.s.e.SetOwner(cl.did, cl.owner())
	for {
		select {
		case t := <-cl.reqs:
			if cl.exec(t) {
				cl.finish(true)
				return
			}
		case <-cl.ctx.Done():
			switch cause := context.Cause(cl.ctx); {
			case errors.Is(cause, errCallGone):
				cl.finish(true)
			case cl.s.ctx.Err() != nil:
				cl.finish(false)
			default: // the bot went away
				cl.finish(false)
				cl.s.fallback(cl.did, cl.endpoint, "its bot disconnected")
			}
			return
		}
	}
}

// finish ends control: what is still queued gets 487, and the bot is
// told with bye (and answers it) unless it has gone. Its did is known
// until then, so late requests get 487, not 404.
func (cl *call) finish(bye bool) {
	cl.mu.Lock()
	cl.ended = true
	var left []*transaction
	for _, t := range cl.txs {
		left = append(left, t)
	}
	cl.mu.Unlock()
	for _, t := range left {
		t.final(statusGone)
		cl.done(t)
	}
	cl.release()
	if bye && cl.c.ctx.Err() == nil {
		if res, ok := cl.c.request(cl.s.ctx, cl.did, "bye", nil, cl.s.cfg.ByeTimeout); !ok || res.Code != codeOK {
			cl.log.Info("bot did not answer bye", "code", res.Code)
		}
	}
	cl.forget()
}

// owner is how the engine lists the leg's controller.
func (cl *call) owner() string { return "agentrpc:" + cl.c.endpoint }

// release gives up the leg's ownership, unless its new home (a program
// it was redirected to) has claimed it meanwhile.
func (cl *call) release() {
	if info, ok := cl.s.e.Leg(cl.did); ok && info.Owner == cl.owner() {
		cl.s.e.SetOwner(cl.did, "")
	}
}

// exec runs one request and answers it; true when control has ended (the
// bot hung up or redirected the call).
func (cl *call) exec(t *transaction) (end bool) {
	defer cl.done(t)
	if t.ctx.Err() != nil { // cancelled while queued (answered 499 then), or the call ended
		if errors.Is(context.Cause(t.ctx), errCallGone) {
			t.final(statusGone)
		}
		return false
	}
	op, ok := ops[t.f.Op]
	if !ok {
		t.final(fail(codeInternal, "Internal Server Error", "unknown op "+strconv.Quote(t.f.Op)))
		return false
	}
	data, end, err := op(cl, t)
	switch cause := context.Cause(t.ctx); {
	case err == nil:
		t.final(&status{code: codeOK, reason: "OK", data: data})
	case errors.Is(cause, errCancelled):
		t.final(statusCancelled)
	case errors.Is(cause, errCallGone):
		t.final(statusGone)
	case cause != nil: // the bot has gone, or the server stops: nobody to answer
	default:
		t.final(statusOf(err))
	}
	return end && err == nil
}

// statusOf answers an operation's error.
func statusOf(err error) *status {
	var st *status
	switch {
	case errors.As(err, &st):
		return st
	case errors.Is(err, dialog.ErrNotFound):
		return statusGone
	case errors.Is(err, dialog.ErrInvalidState), errors.Is(err, dialog.ErrBadTarget), errors.Is(err, dialog.ErrBusy):
		return badRequest(err.Error())
	}
	return fail(codeInternal, "Internal Server Error", err.Error())
}
