package dialog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
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

// Errors the engine API returns, wrapped with what was being done. The
// control planes map them to their own codes.
var (
	ErrNotFound     = errors.New("dialog: no such leg or bridge")
	ErrInvalidState = errors.New("dialog: invalid state for this command")
	ErrBusy         = errors.New("dialog: over capacity")
	ErrBadTarget    = errors.New("dialog: target cannot be reached")
	ErrOwned        = errors.New("dialog: owned by another controller")
)

// CDRSink receives a record for every call that ends.
type CDRSink interface {
	AddCDR(store.CDR) error
}

// Options are what the engine needs: its own settings, then the layers
// below it. The wiring fills them from pbx.yaml (OptionsFrom).
type Options struct {
	Node           string        // prefixed to every leg, bridge and call id
	Codecs         []string      // preference order
	RingTimeout    time.Duration // an unanswered outbound leg ends after this
	MinSE          time.Duration // smallest RFC 4028 session interval accepted
	SessionExpires time.Duration // the interval the PBX asks for; 0 accepts what the far end asks
	RTPTimeout     time.Duration // a leg whose RTP stops this long is hung up; 0 disables
	InbandDTMF     bool          // detect tones from far ends without telephone-event
	UserAgent      string
	Features       config.Features
	Conference     config.Conference
	Users          []config.User
	Trunks         []config.Trunk
	Dialplan       []config.DialplanRule
	Music          map[string]string // extra hold-music classes: name -> WAV file or folder
	// Config, when set, is what target kinds registered by other packages
	// check their arguments against (TargetEnv.Config), in the dial plan
	// and in Redirect.
	Config     *config.Config
	RecordBeep bool // beep when a recording starts, unless the request says
	MaxLegs    int  // legs at once; 0 derives it from the open-file limit and the RTP ports
	MaxSetup   int  // calls being set up at once; 0 derives it
	RTPPortMin int
	RTPPortMax int

	Stack    *sip.Stack
	Media    *media.Engine
	Location *sip.Location
	Digest   *sip.Digest
	Guard    *sip.Guard
	Lookup   sip.Lookup // extension passwords, from pbx.yaml and the store
	CDRs     CDRSink
	Logger   *slog.Logger
	Clock    Clock // nil: the wall clock
	// Prompts finds the audio the PBX plays; nil means the built-in sounds.
	Prompts *prompts.Library
	// Recordings is where calls are recorded; nil turns recording off.
	Recordings *recordings.Archive
}

// OptionsFrom takes the engine's settings from a configuration.
func OptionsFrom(cfg *config.Config) Options {
	return Options{
		Node: cfg.Node, Codecs: cfg.Media.Codecs, RingTimeout: cfg.Calls.RingTimeout,
		MinSE: cfg.Calls.MinSE, SessionExpires: cfg.Calls.SessionExpires, RTPTimeout: cfg.Media.RTPTimeout, InbandDTMF: cfg.Media.InbandDTMF,
		UserAgent: cfg.SIP.UserAgent, Features: cfg.Features, Conference: cfg.Conference,
		Users: cfg.Users, Trunks: cfg.Trunks, Dialplan: cfg.Dialplan, Music: cfg.Sounds.Music,
		RecordBeep: cfg.Recordings.Beep, RTPPortMin: cfg.Media.RTPPortMin, RTPPortMax: cfg.Media.RTPPortMax,
		MaxLegs: cfg.Calls.MaxLegs, MaxSetup: cfg.Calls.MaxSetup, Config: cfg,
	}
}

// Engine runs legs and bridges: it takes INVITEs and routes them by the
// dial plan, originates legs, bridges them, and carries out what the
// control planes ask, publishing every change on its event bus.
type Engine struct {
	opts    Options
	stack   *sip.Stack
	media   *media.Engine
	loc     *sip.Location
	digest  *sip.Digest
	guard   *sip.Guard
	users   sip.Lookup
	cdrs    CDRSink
	log     *slog.Logger
	clock   Clock
	plan    *Dialplan
	env     TargetEnv // what targets named by programs are parsed against
	trunks  *trunks
	metrics Metrics
	events  *Bus
	prompts *prompts.Library
	musics  map[string]*media.Music // hold-music streams by class
	// musicPCM is each class's audio, for PlayMusic's players; the
	// streams above hold the same slices.
	musicPCM map[string][]int16
	silence  *media.Music // what a parked leg hears by default
	archive  *recordings.Archive
	rooms    rooms
	admit    *admission

	mu        sync.Mutex
	legs      map[string]*Leg             // by leg id, from creation to end
	bridges   map[string]*Bridge          // by bridge id
	calls     map[string]*Call            // call records in progress
	consults  map[string]*consultation    // attended transfers by consultation leg id
	recs      map[string]*bridgeRecording // recordings by id
	playbacks map[string]*Playback        // playbacks by id
	byDialog  map[string]*Leg             // by sipgo dialog id
	bySIPID   map[string]*Leg             // by SIP Call-ID, for Replaces
	idle      chan struct{}               // closed and replaced when the last leg ends
	draining  atomic.Bool
	wg        goroutines       // every goroutine the engine starts
	cancelled cancelledInvites // INVITEs cancelled without a final response, for a 200 that crossed the CANCEL
}

// Metrics are the engine's counters for /metrics.
type Metrics struct {
	CallsStarted atomic.Uint64
	Refused      atomic.Uint64 // new calls refused with 503 for capacity
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
	env := TargetEnv{Config: o.Config, Trunks: map[string]bool{}, Music: builtinMusicClasses(), Prompts: o.Prompts}
	for _, t := range o.Trunks {
		env.Trunks[t.Name] = true
	}
	for name := range o.Music {
		env.Music[name] = true
	}
	plan, err := NewDialplan(o.Dialplan, env)
	if err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	tr, err := newTrunks(o.Trunks, env)
	if err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []string{"PCMU", "PCMA"}
	}
	maxLegs, maxSetup := admissionLimits(o.MaxLegs, o.MaxSetup, o.RTPPortMin, o.RTPPortMax)
	e := &Engine{
		opts: o, stack: o.Stack, media: o.Media, loc: o.Location,
		digest: o.Digest, guard: o.Guard, users: o.Lookup, cdrs: o.CDRs,
		log: o.Logger, clock: o.Clock, plan: plan, env: env, trunks: tr,
		legs: map[string]*Leg{}, bridges: map[string]*Bridge{}, calls: map[string]*Call{}, consults: map[string]*consultation{}, recs: map[string]*bridgeRecording{}, playbacks: map[string]*Playback{},
		byDialog: map[string]*Leg{}, bySIPID: map[string]*Leg{}, idle: make(chan struct{}),
		prompts: o.Prompts, archive: o.Recordings, events: NewBus(0),
		admit: newAdmission(maxLegs, maxSetup),
	}
	if e.prompts == nil {
		e.prompts = prompts.New("")
	}
	if err := e.loadMusic(); err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	srv := o.Stack.Server
	srv.OnInvite(e.onInvite)
	srv.OnAck(e.onAck)
	srv.OnBye(e.onBye)
	srv.OnCancel(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
	})
	srv.OnInfo(e.onInfo)
	srv.OnRefer(e.onRefer)
	srv.OnUpdate(e.onUpdate)
	srv.OnOptions(e.onOptions)
	srv.OnNotify(e.onInDialog)
	srv.OnMessage(e.onInDialog)
	o.Stack.OnStrayInviteOK(e.strayInviteOK)
	return e, nil
}

// Publish puts an event of a package above dialog (the contact center's
// queue.* and agent.* kinds) on the engine's bus, so that every control
// plane follows one stream in one order. It returns the event stamped with
// its Seq and Time.
func (e *Engine) Publish(ev Event) Event { return e.events.Publish(ev) }

// Subscribe follows the engine's events that pass the filter. With
// f.After set (and f.Resume), it first replays the events after that
// sequence number from the bounded history, or fails with ErrTooLate.
func (e *Engine) Subscribe(f EventFilter) (*Subscription, error) { return e.events.Subscribe(f) }

// Metrics exposes the engine's counters.
func (e *Engine) Metrics() *Metrics { return &e.metrics }

// ActiveCalls is the number of calls in progress.
func (e *Engine) ActiveCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// LegCount is the number of legs alive.
func (e *Engine) LegCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.legs)
}

// Leg returns a snapshot of the leg with this id.
func (e *Engine) Leg(id string) (LegInfo, bool) {
	if l := e.leg(id); l != nil {
		return l.Info(), true
	}
	return LegInfo{}, false
}

// Legs returns snapshots of every leg, oldest first.
func (e *Engine) Legs() []LegInfo {
	e.mu.Lock()
	legs := make([]*Leg, 0, len(e.legs))
	for _, l := range e.legs {
		legs = append(legs, l)
	}
	e.mu.Unlock()
	out := make([]LegInfo, 0, len(legs))
	for _, l := range legs {
		out = append(out, l.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// BridgeInfo returns a snapshot of the bridge with this id.
func (e *Engine) BridgeInfo(id string) (BridgeInfo, bool) {
	e.mu.Lock()
	b := e.bridges[id]
	e.mu.Unlock()
	if b == nil {
		return BridgeInfo{}, false
	}
	return b.Info(), true
}

func (e *Engine) leg(id string) *Leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.legs[id]
}

// liveLeg finds a leg that has not ended, for a command.
func (e *Engine) liveLeg(op, id string) (*Leg, error) {
	l := e.leg(id)
	if l == nil || l.ended() {
		return nil, fmt.Errorf("%s %s: %w", op, id, ErrNotFound)
	}
	return l, nil
}

// Draining reports whether new calls are refused.
func (e *Engine) Draining() bool { return e.draining.Load() }

// Drain refuses new calls with 503, lets the legs in progress finish until
// ctx ends, then hangs up those left. It returns when every leg has ended
// and every goroutine the engine started has returned.
func (e *Engine) Drain(ctx context.Context) {
	if !e.draining.Swap(true) {
		e.events.publish(Event{Kind: EventDraining})
	}
	for {
		e.mu.Lock()
		n := len(e.legs)
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
	left := make([]*Leg, 0, len(e.legs))
	for _, l := range e.legs {
		left = append(left, l)
	}
	e.mu.Unlock()
	for _, l := range left {
		l.ops.post(func() { l.end(CauseShutdown, bySystem, 0) })
	}
	e.wg.Wait()
	// A cancelled INVITE's answer may still cross until the INVITEs are
	// forgotten; its hang-up is waited for too.
	e.closeCancelled()
	e.wg.Wait()
	e.closeMusic()
}

// register makes a new leg findable by id.
func (e *Engine) register(l *Leg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.legs[l.id] = l
}

// indexDialog makes a leg findable by its SIP dialog, for in-dialog
// requests, and by its SIP Call-ID, for Replaces.
func (e *Engine) indexDialog(l *Leg, dialogID, sipCallID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l.mu.Lock()
	l.dialogID, l.sipCallID = dialogID, sipCallID
	l.mu.Unlock()
	e.byDialog[dialogID] = l
	e.bySIPID[sipCallID] = l
}

func (e *Engine) unregister(l *Leg) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.legs, l.id)
	l.mu.Lock()
	dialogID, sipCallID := l.dialogID, l.sipCallID
	l.mu.Unlock()
	if e.byDialog[dialogID] == l {
		delete(e.byDialog, dialogID)
	}
	if e.bySIPID[sipCallID] == l {
		delete(e.bySIPID, sipCallID)
	}
	e.admit.doneLeg()
	if len(e.legs) == 0 {
		close(e.idle)
		e.idle = make(chan struct{})
	}
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

func (e *Engine) legBySIPCallID(callID string) *Leg {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bySIPID[callID]
}

// goOwned runs fn on a goroutine the engine owns: Drain waits for it.
func (e *Engine) goOwned(fn func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		fn()
	}()
}

// newID makes an id unique across nodes: the node name, then random hex.
func (e *Engine) newID() string {
	var b [8]byte
	rand.Read(b[:])
	return e.opts.Node + "-" + hex.EncodeToString(b[:])
}

func respond(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	addHeaders(res, hdrs)
	if err := tx.Respond(res); err != nil && !errors.Is(err, sipmsg.ErrTransactionTerminated) {
		slog.Debug("respond failed", "code", code, "error", err)
	}
}

// respondStateless answers a request the PBX keeps no state for: the
// transaction ends with the answer, so a flood of refused INVITEs holds
// no memory for 32 s.
func respondStateless(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	addHeaders(res, hdrs)
	if err := sip.RespondStateless(tx, res); err != nil {
		slog.Debug("respond failed", "code", code, "error", err)
	}
}

func addHeaders(res *sipmsg.Response, hs []sipmsg.Header) {
	for _, h := range hs {
		res.AppendHeader(h)
	}
}
