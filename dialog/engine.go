package dialog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/config"
	"pbx/media"
	"pbx/prompts"
	"pbx/recordings"
	"pbx/sip"
	"pbx/store"
)

// CDRSink receives a record for every call that ends.
type CDRSink interface {
	AddCDR(store.CDR) error
}

// Options wires the engine to the layers below it.
type Options struct {
	Config   *config.Config
	Stack    *sip.Stack
	Media    *media.Engine
	Location *sip.Location
	Digest   *sip.Digest
	Guard    *sip.Guard
	Users    sip.Lookup // extension passwords, from pbx.yaml and the store
	CDRs     CDRSink
	Logger   *slog.Logger
	// Prompts finds the audio the PBX plays; nil means the built-in sounds.
	Prompts *prompts.Library
	// Recordings is where calls are recorded; nil turns recording off.
	Recordings *recordings.Archive
}

// Engine runs calls: it takes INVITEs, routes them by the dial plan, dials
// the callee as a B2BUA and bridges the media of both legs.
type Engine struct {
	cfg     *config.Config
	stack   *sip.Stack
	media   *media.Engine
	loc     *sip.Location
	digest  *sip.Digest
	guard   *sip.Guard
	users   sip.Lookup
	cdrs    CDRSink
	log     *slog.Logger
	plan    *Dialplan
	trunks  *trunks
	codecs  []string
	metrics Metrics
	events  Bus
	prompts *prompts.Library
	musics  map[string]*media.Music // hold-music streams by class
	archive *recordings.Archive
	rooms   rooms

	mu       sync.Mutex
	calls    map[string]*Call // by call id
	byDialog map[string]*Leg  // by sipgo dialog id
	draining atomic.Bool
	idle     chan struct{} // closed and replaced when the last call ends while draining
	wg       sync.WaitGroup
}

// Metrics are the engine's counters for /metrics.
type Metrics struct {
	CallsStarted atomic.Uint64
	mu           sync.Mutex
	byResult     map[string]uint64
}

// Results returns the number of ended calls per disposition.
func (m *Metrics) Results() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.byResult))
	for k, v := range m.byResult {
		out[k] = v
	}
	return out
}

func (m *Metrics) ended(disposition string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byResult == nil {
		m.byResult = map[string]uint64{}
	}
	m.byResult[disposition]++
}

// New builds the engine and registers its SIP handlers on the stack.
func New(o Options) (*Engine, error) {
	plan, err := NewDialplan(o.Config.Dialplan)
	if err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	tr, err := newTrunks(o.Config.Trunks)
	if err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Engine{
		cfg: o.Config, stack: o.Stack, media: o.Media, loc: o.Location,
		digest: o.Digest, guard: o.Guard, users: o.Users, cdrs: o.CDRs,
		log: o.Logger, plan: plan, trunks: tr, codecs: o.Config.Media.Codecs,
		calls: map[string]*Call{}, byDialog: map[string]*Leg{}, idle: make(chan struct{}),
		prompts: o.Prompts, archive: o.Recordings,
	}
	if e.prompts == nil {
		e.prompts = prompts.New("")
	}
	if err := e.loadMusic(o.Config); err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	srv := o.Stack.Server
	srv.OnInvite(e.onInvite)
	srv.OnAck(e.onAck)
	srv.OnBye(e.onBye)
	srv.OnCancel(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		tx.Respond(sipmsg.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	srv.OnInfo(e.onInfo)
	srv.OnRefer(e.onRefer)
	srv.OnUpdate(e.onUpdate)
	srv.OnOptions(e.onOptions)
	srv.OnNotify(e.onInDialog)
	return e, nil
}

// Subscribe follows the engine's events with a buffer of n.
func (e *Engine) Subscribe(n int) *Subscription { return e.events.Subscribe(n) }

// Metrics exposes the engine's counters.
func (e *Engine) Metrics() *Metrics { return &e.metrics }

// ActiveCalls is the number of calls in progress.
func (e *Engine) ActiveCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// Draining reports whether new calls are refused.
func (e *Engine) Draining() bool { return e.draining.Load() }

// Drain refuses new calls with 503, lets the calls in progress finish until
// ctx ends, then hangs up those left with BYE. It returns when no call is left.
func (e *Engine) Drain(ctx context.Context) {
	if !e.draining.Swap(true) {
		e.events.publish(Event{Kind: EventDraining})
	}
	for {
		e.mu.Lock()
		n := len(e.calls)
		idle := e.idle
		e.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-idle:
			continue
		case <-ctx.Done():
		}
		break
	}
	e.mu.Lock()
	left := make([]*Call, 0, len(e.calls))
	for _, c := range e.calls {
		left = append(left, c)
	}
	e.mu.Unlock()
	for _, c := range left {
		c.hangup(nil, CauseShutdown)
	}
	e.wg.Wait()
}

func (e *Engine) addCall(c *Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[c.ID] = c
}

func (e *Engine) removeCall(c *Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.calls, c.ID)
	for _, l := range c.legs() {
		if l.dialogID != "" && e.byDialog[l.dialogID] == l {
			delete(e.byDialog, l.dialogID)
		}
	}
	if len(e.calls) == 0 {
		close(e.idle)
		e.idle = make(chan struct{})
	}
}

func (e *Engine) indexLeg(l *Leg, dialogID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l.dialogID = dialogID
	e.byDialog[dialogID] = l
}

func (e *Engine) unindexLeg(l *Leg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.dialogID != "" && e.byDialog[l.dialogID] == l {
		delete(e.byDialog, l.dialogID)
	}
}

// legByID finds a leg by its id, in every call.
func (e *Engine) legByID(id string) *Leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.byDialog {
		if l.ID == id {
			return l
		}
	}
	return nil
}

// legBySIPCallID finds a leg by the Call-ID of its dialog, as Replaces
// names it.
func (e *Engine) legBySIPCallID(callID string) *Leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.byDialog {
		var req *sipmsg.Request
		switch {
		case l.srv != nil:
			req = l.srv.InviteRequest
		case l.cli != nil:
			req = l.cli.InviteRequest
		}
		if req != nil && req.CallID() != nil && req.CallID().Value() == callID {
			return l
		}
	}
	return nil
}

// answeredCall finds a call by id, once it is answered.
func (e *Engine) answeredCall(id string) (*Call, error) {
	e.mu.Lock()
	c := e.calls[id]
	e.mu.Unlock()
	if c == nil || !c.isAnswered() {
		return nil, fmt.Errorf("call %s: %w", id, ErrNoCall)
	}
	return c, nil
}

// Hold plays a leg the music of a class (its own when class is "") instead
// of the other party, until Unhold.
func (e *Engine) Hold(legID, class string) error {
	l := e.legByID(legID)
	if l == nil {
		return fmt.Errorf("hold %s: %w", legID, ErrNoLeg)
	}
	if class == "" {
		class = l.musicClass
	}
	if _, ok := e.musics[class]; !ok {
		return fmt.Errorf("hold %s: no hold-music class %q", legID, class)
	}
	l.call().hold(l, class)
	return nil
}

// Unhold reconnects a leg held by Hold.
func (e *Engine) Unhold(legID string) error {
	l := e.legByID(legID)
	if l == nil {
		return fmt.Errorf("unhold %s: %w", legID, ErrNoLeg)
	}
	l.call().unhold(l)
	return nil
}

// legFor finds the leg an in-dialog request belongs to.
func (e *Engine) legFor(req *sipmsg.Request) *Leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, err := sipmsg.DialogIDFromRequestUAS(req); err == nil {
		if l, ok := e.byDialog[id]; ok {
			return l
		}
	}
	if id, err := sipmsg.DialogIDFromRequestUAC(req); err == nil {
		if l, ok := e.byDialog[id]; ok {
			return l
		}
	}
	return nil
}

// newID makes an id unique across nodes: the node name, then random hex.
func (e *Engine) newID() string {
	var b [8]byte
	rand.Read(b[:])
	return e.cfg.Node + "-" + hex.EncodeToString(b[:])
}

func respond(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil && !errors.Is(err, sipmsg.ErrTransactionTerminated) {
		slog.Debug("respond failed", "code", code, "error", err)
	}
}

// sinceNow is a small helper for log fields.
func sinceNow(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
