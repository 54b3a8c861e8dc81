package eccp

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"pbx/campaign"
	"pbx/dialog"
	"pbx/queue"
)

// The tracker turns the contact center's state into ECCP's agent events.
// It keeps, per agent, what the clients were last told (logged in, in a
// break, holding a call, in which queues), and on every change compares
// the contact center's state with it: the differences are the events.
// Requests that change an agent call sync before they answer, so their
// events go out before their response; the bus calls it too, and finds
// nothing left to tell.

// view is what clients were last told of one agent.
type view struct {
	loggedIn bool
	paused   bool
	brk      string
	pausedAt time.Time
	held     bool
	heldAt   time.Time
	queues   []string
}

// loginCall is an Agent/ login in progress: the PBX called the agent's
// extension and waits for the PIN.
type loginCall struct {
	agent    *agentRef
	ext      string
	leg      string
	answered bool
	timer    dialog.Timer
}

// idleLimit is an agent's inactivity timeout (loginagent's timeout).
type idleLimit struct {
	limit time.Duration
	last  time.Time
}

// loginOwner marks the legs of login calls.
const loginOwner = "eccp:login:"

type tracker struct {
	s *Server

	mu     sync.Mutex
	views  map[string]view       // by agent id
	logins map[string]*loginCall // by agent id
	idle   map[string]*idleLimit // by agent id
}

func newTracker(s *Server) *tracker {
	return &tracker{s: s, views: map[string]view{}, logins: map[string]*loginCall{}, idle: map[string]*idleLimit{}}
}

// trackedKinds are the bus events the tracker follows.
var trackedKinds = []dialog.EventKind{
	queue.EventAgentStateChanged, queue.EventMembership,
	campaign.EventCallProgress, campaign.EventCallEnded,
	dialog.EventLegAnswered, dialog.EventLegEnded,
}

// start takes the agents' state as it is (no events for it) and follows
// the bus.
func (t *tracker) start() error {
	t.mu.Lock()
	for _, a := range t.s.agents {
		if st, ok := t.s.q.Agent(a.ID); ok {
			t.views[a.ID] = viewOf(st, view{})
		}
	}
	t.mu.Unlock()
	if t.s.e == nil {
		return nil
	}
	sub, err := t.s.e.Subscribe(dialog.EventFilter{Kinds: trackedKinds, Buffer: 8192})
	if err != nil {
		return fmt.Errorf("eccp: subscribe to events: %w", err)
	}
	t.s.goRun(func() { t.pump(sub) })
	t.s.goRun(t.reap)
	return nil
}

// pump follows the bus until Close; a lag resumes where it stopped.
func (t *tracker) pump(sub *dialog.Subscription) {
	for {
		select {
		case <-t.s.ctx.Done():
			sub.Close()
			return
		case ev, ok := <-sub.C:
			if ok {
				t.event(ev)
				continue
			}
			next, err := t.s.e.Subscribe(dialog.EventFilter{Kinds: trackedKinds, After: sub.Last(), Resume: true, Buffer: 8192})
			if err != nil {
				t.s.log.Error("eccp events lost: resubscribing live", "error", err)
				if next, err = t.s.e.Subscribe(dialog.EventFilter{Kinds: trackedKinds, Buffer: 8192}); err != nil {
					t.s.log.Error("eccp events: no subscription", "error", err)
					return
				}
			}
			sub = next
		}
	}
}

func (t *tracker) event(ev dialog.Event) {
	switch ev.Kind {
	case queue.EventAgentStateChanged, queue.EventMembership:
		t.sync(ev.Agent)
	case campaign.EventCallProgress:
		t.s.callProgress(ev)
	case campaign.EventCallEnded:
		t.s.callEnded(ev)
	case dialog.EventLegAnswered:
		t.loginAnswered(ev)
	case dialog.EventLegEnded:
		t.loginEnded(ev)
	}
}

// viewOf is the view of an agent's status; prev fills in a break name
// the status does not show (paused while on a call).
func viewOf(st queue.AgentStatus, prev view) view {
	v := view{
		loggedIn: st.State != queue.StateLoggedOut,
		paused:   st.Paused, brk: st.Break, pausedAt: st.PausedAt,
		held: st.OnHold, heldAt: st.HeldAt,
		queues: slices.Clone(st.Queues),
	}
	if v.paused && v.brk == "" && prev.paused {
		v.brk = prev.brk
	}
	slices.Sort(v.queues)
	return v
}

// sync tells clients what changed for one agent since they were last
// told.
func (t *tracker) sync(id string) {
	a := t.s.refOf(id)
	if a == nil {
		return
	}
	// The state is read under t.mu: a sync that locks later sees a later
	// state, so a stale read never undoes what was told.
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.s.q.Agent(id)
	if !ok {
		return
	}
	was := t.views[id]
	now := viewOf(st, was)
	t.views[id] = now
	if l := t.idle[id]; l != nil {
		l.last = t.s.clock.Now()
	}
	if now.loggedIn && !was.loggedIn {
		if lc := t.logins[id]; lc != nil {
			lc.stop()
			delete(t.logins, id)
		}
		t.s.emit("agentloggedin", a.Name, tx("agent", a.Name))
	}
	nowT := t.s.clock.Now()
	if was.held && !now.held {
		t.s.emitPauseEnd(a, "hold", "", was.heldAt, nowT)
	}
	if was.paused && (!now.paused || now.brk != was.brk) {
		t.s.emitPauseEnd(a, "break", was.brk, was.pausedAt, nowT)
	}
	if now.paused && (!was.paused || now.brk != was.brk) {
		t.s.emitPauseStart(a, "break", now.brk, now.pausedAt)
	}
	if now.held && !was.held {
		t.s.emitPauseStart(a, "hold", "", now.heldAt)
	}
	if !now.loggedIn && was.loggedIn {
		delete(t.idle, id)
		t.s.emit("agentloggedout", a.Name, tx("agent", a.Name))
	}
	if !slices.Equal(now.queues, was.queues) {
		logging := ""
		if lc := t.logins[id]; lc != nil {
			logging = lc.ext
		}
		t.s.emit("queuemembership", a.Name, t.s.membershipNodes(a, st, logging)...)
	}
}

// emitPauseStart sends pausestart: a break with its type and name, or a
// hold.
func (s *Server) emitPauseStart(a *agentRef, class, brk string, at time.Time) {
	if at.IsZero() {
		at = s.clock.Now()
	}
	kids := []*node{tx("pause_class", class)}
	if class == "break" {
		kids = append(kids, opt("pause_type", s.breakID(brk)), opt("pause_name", brk))
	}
	kids = append(kids, tx("pause_start", stamp(at)), tx("agent_number", a.Name))
	s.emit("pausestart", a.Name, kids...)
}

// emitPauseEnd sends pauseend, with how long the pause lasted.
func (s *Server) emitPauseEnd(a *agentRef, class, brk string, from, to time.Time) {
	if from.IsZero() {
		from = to
	}
	kids := []*node{tx("pause_class", class), tx("pause_start", stamp(from)), tx("pause_end", stamp(to)),
		txi("pause_duration", wholeSeconds(to.Sub(from)))}
	if class == "break" {
		kids = append(kids, opt("pause_type", s.breakID(brk)), opt("pause_name", brk))
	}
	kids = append(kids, tx("agent_number", a.Name))
	s.emit("pauseend", a.Name, kids...)
}

// breakID is a break's id: its place in contact_center.breaks, from 1.
func (s *Server) breakID(name string) string {
	for i, b := range s.breaks {
		if b.Name == name {
			return strconv.Itoa(i + 1)
		}
	}
	return ""
}

// setIdleLimit starts an agent's inactivity timeout; 0 removes it.
func (t *tracker) setIdleLimit(id string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d <= 0 {
		delete(t.idle, id)
		return
	}
	t.idle[id] = &idleLimit{limit: d, last: t.s.clock.Now()}
}

// ping refreshes an agent's inactivity timeout.
func (t *tracker) ping(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.idle[id]; l != nil {
		l.last = t.s.clock.Now()
	}
}

// reap logs out agents idle past their timeout: logged in, not on a
// call, not paused, with no ping or state change for that long.
func (t *tracker) reap() {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-t.s.ctx.Done():
			return
		case <-tk.C:
		}
		now := t.s.clock.Now()
		var out []string
		t.mu.Lock()
		for id, l := range t.idle {
			if now.Sub(l.last) >= l.limit {
				out = append(out, id)
			}
		}
		t.mu.Unlock()
		for _, id := range out {
			st, ok := t.s.q.Agent(id)
			if !ok || st.State != queue.StateIdle || st.Paused {
				t.ping(id) // busy or paused is not idle
				continue
			}
			t.s.log.Info("eccp agent inactive: logged out", "agent", id)
			if err := t.s.q.Logout(t.s.ctx, id, "eccp inactivity timeout"); err != nil {
				t.s.log.Warn("eccp inactivity logout", "agent", id, "error", err)
			}
			t.sync(id)
		}
	}
}

// beginLogin calls a static agent's extension; once answered, the call
// asks for the PIN as the agent-login feature code does.
func (t *tracker) beginLogin(ctx context.Context, a *agentRef, ext string) error {
	info, err := t.s.e.Originate(ctx, dialog.OriginateRequest{
		To: ext, CallerID: ext, CallerName: "Agent login " + a.ID, Owner: loginOwner + a.ID, Context: "eccp",
	})
	if err != nil {
		return err
	}
	lc := &loginCall{agent: a, ext: ext, leg: info.ID}
	t.mu.Lock()
	if old := t.logins[a.ID]; old != nil {
		old.stop()
		t.s.goRun(func() { t.s.e.Hangup(t.s.ctx, old.leg, dialog.CauseNormal) })
	}
	t.logins[a.ID] = lc
	if d := t.s.cfg.LoginTimeout; d > 0 {
		lc.timer = t.s.afterFunc(d, func() {
			t.s.log.Info("eccp agent login timed out", "agent", a.ID)
			t.s.e.Hangup(t.s.ctx, lc.leg, dialog.CauseNormal)
		})
	}
	t.mu.Unlock()
	return nil
}

func (lc *loginCall) stop() {
	if lc.timer != nil {
		lc.timer.Stop()
	}
}

// logging is the extension an agent's login call rings or asks the PIN
// on, "" when none is in progress.
func (t *tracker) logging(id string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if lc := t.logins[id]; lc != nil {
		return lc.ext
	}
	return ""
}

// cancelLogin hangs up an agent's login call in progress, if any.
func (t *tracker) cancelLogin(id string) {
	t.mu.Lock()
	lc := t.logins[id]
	t.mu.Unlock()
	if lc != nil {
		t.s.e.Hangup(t.s.ctx, lc.leg, dialog.CauseNormal)
	}
}

// loginOf is the login call of an event's leg, nil if none.
func (t *tracker) loginOf(ev dialog.Event) *loginCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, lc := range t.logins {
		if lc.leg == ev.LegID {
			return lc
		}
	}
	return nil
}

// loginAnswered hands an answered login call to the agent-login target.
func (t *tracker) loginAnswered(ev dialog.Event) {
	lc := t.loginOf(ev)
	if lc == nil {
		return
	}
	t.mu.Lock()
	lc.answered = true
	t.mu.Unlock()
	if err := t.s.e.Redirect(t.s.ctx, lc.leg, "agent-login:"+lc.agent.ID); err != nil {
		t.s.log.Warn("eccp agent login", "agent", lc.agent.ID, "error", err)
		t.s.e.Hangup(t.s.ctx, lc.leg, dialog.CauseNormal)
	}
}

// loginEnded fails a login whose call ended before the agent logged in.
func (t *tracker) loginEnded(ev dialog.Event) {
	lc := t.loginOf(ev)
	if lc == nil {
		return
	}
	t.mu.Lock()
	if t.logins[lc.agent.ID] == lc {
		delete(t.logins, lc.agent.ID)
	}
	lc.stop()
	t.mu.Unlock()
	if st, ok := t.s.q.Agent(lc.agent.ID); ok && st.State != queue.StateLoggedOut {
		return
	}
	t.s.log.Info("eccp agent login failed", "agent", lc.agent.ID, "extension", lc.ext, "answered", lc.answered, "cause", ev.Cause)
	t.s.emit("agentfailedlogin", lc.agent.Name, tx("agent", lc.agent.Name))
}
