package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pbx/config"
	"pbx/dialog"
	"pbx/store"
)

// Options are what a Center is built from.
type Options struct {
	Engine  *dialog.Engine
	Config  *config.Config
	Store   *store.Store // agent sessions, runtime queues and members, statistics, the queue log; nil keeps nothing
	DataDir string       // a relative queue_log path is inside it
	Clock   dialog.Clock // nil: the wall clock
	Logger  *slog.Logger
	Metrics prometheus.Registerer // may be nil
}

// Errors of the contact center. Each also matches the engine error a
// control plane maps to its own code (errors.Is with dialog.ErrNotFound,
// dialog.ErrInvalidState or dialog.ErrBusy).
var (
	ErrUnknownQueue = fmt.Errorf("queue: no such queue: %w", dialog.ErrNotFound)
	ErrUnknownAgent = fmt.Errorf("queue: no such agent: %w", dialog.ErrNotFound)
	ErrNotWaiting   = fmt.Errorf("queue: the leg is not waiting in a queue: %w", dialog.ErrNotFound)
	ErrWaiting      = fmt.Errorf("queue: the leg already waits in a queue: %w", dialog.ErrInvalidState)
	ErrFull         = fmt.Errorf("queue: the queue is full: %w", dialog.ErrBusy)
	ErrEmpty        = fmt.Errorf("queue: no agent can take the call: %w", dialog.ErrBusy)
	ErrAgentBusy    = fmt.Errorf("queue: the agent cannot take a call now: %w", dialog.ErrBusy)
	ErrLoggedOut    = fmt.Errorf("queue: the agent is logged out: %w", dialog.ErrInvalidState)
	ErrUnknownBreak = fmt.Errorf("queue: no such break: %w", dialog.ErrNotFound)
	ErrClosed       = fmt.Errorf("queue: the contact center is stopping: %w", dialog.ErrBusy)
	ErrNotMember    = fmt.Errorf("queue: the agent is not a member of the queue: %w", dialog.ErrNotFound)
	ErrNoCall       = fmt.Errorf("queue: the agent has no call in progress: %w", dialog.ErrInvalidState)
	ErrNoRecording  = fmt.Errorf("queue: the agent's call is not recorded: %w", dialog.ErrNotFound)
)

// Store buckets the contact center writes (the statistics and queue log
// buckets are stats.go's and qlog.go's).
const (
	bucketAgents  = "cc_agents"
	bucketQueues  = "cc_queues"
	bucketMembers = "cc_members"
)

// actTimeout bounds one engine command the Center issues on its own.
const actTimeout = 10 * time.Second

// subscriptionBuffer is the Center's one bus subscription's buffer: it
// sees the leg events of every call, and should not fall behind a busy
// site's bursts. A lagged subscription is replaced and the legs it tracks
// are reconciled with the engine, so the buffer trades memory (an event
// is about 400 bytes: 65,536 of them were a quarter of the heap with
// 2,000 callers waiting) against how often that happens.
const subscriptionBuffer = 16384

// watchedKinds are the engine events the Center follows, for the legs it
// tracks.
var watchedKinds = []dialog.EventKind{
	dialog.EventLegAnswered, dialog.EventLegEnded, dialog.EventLegHeld, dialog.EventLegResumed,
	dialog.EventLegBridged, dialog.EventDTMF, dialog.EventTransferStarted, dialog.EventTransferDone,
	dialog.EventTransferFailed,
}

// Center is the contact center of one engine: its queues, agents, waiting
// callers and calls in progress.
type Center struct {
	e     *dialog.Engine
	cfg   *config.Config
	st    *store.Store
	clock dialog.Clock
	log   *slog.Logger
	ql    *qlog
	stats *stats

	ctx    context.Context // ends at Close: acts and wait rooms stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // the event loop, the persister, acts
	sub    *dialog.Subscription

	// pubMu orders the publishing of what transactions decided: it is
	// taken before mu is released, so events go out in decision order.
	pubMu sync.Mutex

	// mu guards everything below. The engine is never called under it.
	mu      sync.Mutex
	closed  bool
	queues  map[string]*queue
	qnames  []string // sorted
	agents  map[string]*agent
	anames  []string           // sorted
	callers map[string]*caller // by leg: waiting, being connected, or talking
	legs    map[string]legRef  // every leg the Center follows
	sups    map[string]*supervisor
	seq     uint64
	rnd     *rand.Rand
	cands   []candidate // scratch for dispatch
	dirty   map[string]bool
	kick    chan struct{} // wakes the persister

	onEvent func(dialog.Event) // a Center with no engine (unit tests) publishes here
}

// centers finds the Center of an engine, for the target handlers.
var centers sync.Map // *dialog.Engine -> *Center

// Of returns the Center serving an engine, nil if none.
func Of(e *dialog.Engine) *Center {
	if v, ok := centers.Load(e); ok {
		return v.(*Center)
	}
	return nil
}

// New builds the contact center of an engine: queues from the config and
// the store, agents with their sessions restored, the queue log and the
// statistics; it starts following the engine's events.
func New(o Options) (*Center, error) {
	if o.Engine == nil || o.Config == nil {
		return nil, errors.New("queue: new center: an engine and a config are required")
	}
	c := newCenter(o.Config, o.Clock, o.Logger)
	c.e, c.st = o.Engine, o.Store
	if err := c.load(); err != nil {
		return nil, err
	}
	var err error
	path := o.Config.ContactCenter.QueueLog
	if path != "" && !filepath.IsAbs(path) {
		path = filepath.Join(o.DataDir, path)
	}
	if c.ql, err = openQlog(path, o.Store, c.clock, c.log); err != nil {
		return nil, err
	}
	if c.stats, err = openStats(o.Store, o.Config, c.clock, o.Metrics, c.log); err != nil {
		c.ql.close()
		return nil, fmt.Errorf("queue statistics: %w", err)
	}
	c.sub, err = c.e.Subscribe(dialog.EventFilter{Kinds: watchedKinds, Buffer: subscriptionBuffer})
	if err != nil {
		c.stats.close()
		c.ql.close()
		return nil, fmt.Errorf("queue: subscribe to engine events: %w", err)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if _, loaded := centers.LoadOrStore(c.e, c); loaded {
		c.sub.Close()
		c.stats.close()
		c.ql.close()
		c.cancel()
		return nil, errors.New("queue: the engine already has a contact center")
	}
	c.stats.gauges(c.Queues)
	c.ql.write("", "", "", qlogQueueStart)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.loop() }()
	go func() { defer c.wg.Done(); c.persister() }()
	// Restored agents free for calls: nobody waits yet, but the states
	// are published once.
	c.do(func(t *txn) {
		for _, id := range c.anames {
			t.refresh(c.agents[id])
		}
	})
	c.log.Info("contact center started", "queues", len(c.queues), "agents", len(c.agents))
	return c, nil
}

// newCenter builds the state of a Center with no engine: New adds one;
// unit tests and benchmarks use it bare.
func newCenter(cfg *config.Config, clock dialog.Clock, log *slog.Logger) *Center {
	if clock == nil {
		clock = dialog.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Center{
		cfg: cfg, clock: clock, log: log,
		queues: map[string]*queue{}, agents: map[string]*agent{},
		callers: map[string]*caller{}, legs: map[string]legRef{}, sups: map[string]*supervisor{},
		rnd:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
		dirty: map[string]bool{}, kick: make(chan struct{}, 1),
		ctx: context.Background(),
	}
}

// Close stops the contact center: callers still waiting hear the
// shutdown prompt and go to the shutdown target (or are hung up), rings
// to agents are cancelled, agents' sessions are saved, and the
// statistics and the queue log are flushed. Calls already connected are
// left to the engine's drain. ctx bounds the whole.
func (c *Center) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var waiting []drained
	var offerLegs []string
	t := &txn{c: c, now: c.clock.Now()}
	for _, q := range c.queues {
		for _, cl := range q.waiting {
			cl.stopTimers()
			offerLegs = append(offerLegs, t.withdrawOffers(cl)...)
			if cl.virtual() {
				cl.cb.stop()
				continue
			}
			// Out of the Center's hands: a hang-up now is not an abandon.
			cl.ph = phaseGone
			delete(c.callers, cl.leg)
			delete(c.legs, cl.leg)
			waiting = append(waiting, drained{cl: cl, room: cl.room, q: q.name, pos: cl.pos, wait: t.now.Sub(cl.joined)})
			cl.room = nil
		}
		q.waiting = nil
	}
	for _, a := range c.agents {
		a.stopTimers()
		c.dirty[a.id] = true
	}
	t.events = nil // the offers' withdrawals are not news at shutdown
	t.acts = nil
	c.mu.Unlock()

	var wg sync.WaitGroup
	for _, leg := range offerLegs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.e.Hangup(ctx, leg, dialog.CauseShutdown)
		}()
	}
	for _, d := range waiting {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.drainCaller(ctx, d)
		}()
	}
	wg.Wait()

	// The event loop replaces a lagged subscription: it is closed once
	// the loop has returned, so the one closed is the last.
	c.cancel()
	c.wg.Wait()
	c.sub.Close()
	c.flush()
	centers.CompareAndDelete(c.e, c)
	errs := []error{c.stats.close(), c.ql.close()}
	c.log.Info("contact center stopped", "drained", len(waiting))
	return errors.Join(errs...)
}

// drained is a caller still waiting at shutdown.
type drained struct {
	cl   *caller
	room *waitRoom
	q    string
	pos  int
	wait time.Duration
}

// drainCaller tells one waiting caller the PBX is stopping and sends them
// to the shutdown target, or hangs up.
func (c *Center) drainCaller(ctx context.Context, d drained) {
	cl := d.cl
	if d.room != nil {
		d.room.stop()
	}
	c.ql.write(cl.callID, d.q, "", qlogExitEmpty, itoa(d.pos), itoa(cl.origPos), qlogSeconds(d.wait))
	c.pubMu.Lock()
	c.e.Publish(dialog.Event{Kind: EventLeft, LegID: cl.leg, CallID: cl.callID, Queue: d.q, Position: d.pos, Wait: d.wait, Cause: LeftShutdown})
	c.pubMu.Unlock()
	cc := c.cfg.ContactCenter
	if cc.ShutdownPrompt != "" {
		if pb, err := c.e.PlayPrompts(ctx, cl.leg, []string{cc.ShutdownPrompt}, dialog.PlayOptions{}); err == nil {
			select {
			case <-pb.Done():
			case <-ctx.Done():
			}
		}
	}
	if cc.ShutdownTarget != "" {
		err := c.e.Redirect(ctx, cl.leg, cc.ShutdownTarget)
		if err == nil {
			return
		}
		c.log.Warn("shutdown target", "leg", cl.leg, "target", cc.ShutdownTarget, "error", err)
	}
	c.e.Hangup(ctx, cl.leg, dialog.CauseShutdown)
}

// loop follows the engine's events and routes those of tracked legs. A
// subscription that fell behind is replaced, and the tracked legs are
// checked against the engine, so no end or answer is lost.
func (c *Center) loop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case ev, ok := <-c.sub.C:
			if !ok {
				if c.ctx.Err() != nil {
					return
				}
				c.resubscribe()
				continue
			}
			c.route(ev)
		}
	}
}

// resubscribe replaces a lagged subscription and reconciles tracked legs.
func (c *Center) resubscribe() {
	c.log.Warn("contact center fell behind the engine's events: resubscribing")
	for {
		sub, err := c.e.Subscribe(dialog.EventFilter{Kinds: watchedKinds, Buffer: subscriptionBuffer})
		if err == nil {
			c.sub = sub
			break
		}
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.mu.Lock()
	ids := make([]string, 0, len(c.legs))
	for id := range c.legs {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.reconcileLeg(id)
	}
}

// reconcileLeg synthesizes the events of a tracked leg the Center may
// have missed: its end, or its answer.
func (c *Center) reconcileLeg(id string) {
	info, ok := c.e.Leg(id)
	switch {
	case !ok || info.State == dialog.StateEnded:
		c.route(dialog.Event{Kind: dialog.EventLegEnded, LegID: id, Cause: dialog.CauseNoAnswer.String()})
	case info.State >= dialog.StateAnswered:
		c.route(dialog.Event{Kind: dialog.EventLegAnswered, LegID: id})
	}
}

// route hands an event of a tracked leg to what tracks it.
func (c *Center) route(ev dialog.Event) {
	c.do(func(t *txn) {
		ref, ok := c.legs[ev.LegID]
		if !ok {
			return
		}
		t.legEvent(ref, ev)
	})
}

// do runs fn under the lock as one transaction, settles what it left to
// dispatch, then publishes its events, runs its bookkeeping and starts
// its engine commands, all after the lock is released.
func (c *Center) do(fn func(t *txn)) {
	c.mu.Lock()
	t := &txn{c: c, now: c.clock.Now()}
	fn(t)
	t.settle()
	c.pubMu.Lock()
	c.mu.Unlock()
	for _, f := range t.after {
		f()
	}
	for _, ev := range t.events {
		if c.e != nil {
			c.e.Publish(ev)
		} else if c.onEvent != nil {
			c.onEvent(ev)
		}
	}
	c.pubMu.Unlock()
	for _, a := range t.acts {
		c.goAct(a)
	}
	if t.persist {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// goAct runs an engine command sequence on a goroutine the Center owns.
func (c *Center) goAct(f func(ctx context.Context)) {
	if c.e == nil {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.ctx, actTimeout)
		defer cancel()
		f(ctx)
	}()
}

// txn is one decision under the lock: what it publishes and commands is
// kept until the lock is released.
type txn struct {
	c       *Center
	now     time.Time
	events  []dialog.Event
	after   []func()                    // bookkeeping outside the lock (statistics), in order
	acts    []func(ctx context.Context) // engine commands, each on its own goroutine
	agents  []*agent                    // may be free for a caller now
	callers []*caller                   // may be offered to free agents now
	empties []*queue                    // check leave_empty
	persist bool
}

func (t *txn) publish(ev dialog.Event) { t.events = append(t.events, ev) }

func (t *txn) act(f func(ctx context.Context)) { t.acts = append(t.acts, f) }

func (t *txn) later(f func()) { t.after = append(t.after, f) }

// settle dispatches until nothing is left to try: empty queues are
// left, new, widened or refused callers are offered, free agents take
// callers.
func (t *txn) settle() {
	c := t.c
	if c.closed {
		t.agents, t.callers, t.empties = nil, nil, nil
		return
	}
	for len(t.agents) > 0 || len(t.callers) > 0 || len(t.empties) > 0 {
		switch {
		case len(t.empties) > 0:
			q := t.empties[0]
			t.empties = t.empties[1:]
			t.leaveEmpty(q)
		case len(t.callers) > 0:
			// Callers first: one whose offer failed goes on in its
			// strategy's order (linear: the next agent), not straight back
			// to the agent who let it ring, freed in the same decision.
			cl := t.callers[0]
			t.callers = t.callers[1:]
			t.dispatchCaller(cl)
		default:
			a := t.agents[0]
			t.agents = t.agents[1:]
			t.agentFree(a)
		}
	}
}

// legKind says what a tracked leg is to the Center.
type legKind int

const (
	legCaller     legKind = iota + 1 // a caller: waiting, being connected or talking
	legLine                          // a static agent's open line
	legOffer                         // a call to an agent, ringing or answered
	legSupervisor                    // a supervisor
	legCallback                      // a call back to a caller who left their place
	legTakeover                      // a supervisor who took a call over
	legPair                          // a caller and whom the agent transferred them to
	legConsult                       // whom the agent consults in an attended transfer by API
)

// legRef is what a tracked leg is.
type legRef struct {
	kind legKind
	cl   *caller
	a    *agent
	o    *offer
	s    *supervisor
	k    *conn
	peer string // legPair: the other leg
}

// legEvent routes one event of a tracked leg.
func (t *txn) legEvent(ref legRef, ev dialog.Event) {
	switch ref.kind {
	case legCaller:
		t.callerEvent(ref.cl, ev)
	case legLine:
		t.lineEvent(ref.a, ev)
	case legOffer:
		t.offerEvent(ref.o, ev)
	case legSupervisor:
		t.supervisorEvent(ref.s, ev)
	case legCallback:
		t.callbackEvent(ref.cl, ev)
	case legTakeover:
		if ev.Kind == dialog.EventLegEnded {
			delete(t.c.legs, ev.LegID)
			t.endCall(ref.k, endedByAgent, "")
		}
	case legConsult:
		t.consultEvent(ref.k, ev)
	case legPair:
		// The queue's bridge parks the one left: hang it up, as a call
		// would.
		if ev.Kind == dialog.EventLegEnded {
			delete(t.c.legs, ev.LegID)
			if t.c.legs[ref.peer].kind == legPair {
				delete(t.c.legs, ref.peer)
				t.hangup(ref.peer, dialog.CauseNormal)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
