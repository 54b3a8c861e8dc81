package queue

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/store"
)

// coreCenter is a Center with no engine: its decisions are made and its
// events recorded, its engine commands dropped.
type coreCenter struct {
	*Center
	clock  *testClock
	mu     sync.Mutex
	events []dialog.Event
}

func newCoreCenter(t testing.TB, cfg *config.Config, st *store.Store) *coreCenter {
	t.Helper()
	clk := newTestClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	c := newCenter(cfg, clk, nil)
	c.st = st
	var err error
	if c.ql, err = openQlog("", nil, clk, nil); err != nil {
		t.Fatal(err)
	}
	if c.stats, err = openStats(nil, cfg, clk, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.load(); err != nil {
		t.Fatal(err)
	}
	cc := &coreCenter{Center: c, clock: clk}
	c.onEvent = func(ev dialog.Event) {
		cc.mu.Lock()
		cc.events = append(cc.events, ev)
		cc.mu.Unlock()
	}
	c.do(func(t *txn) {
		for _, id := range c.anames {
			t.refresh(c.agents[id])
		}
	})
	t.Cleanup(func() {
		c.ql.close()
		c.stats.close()
	})
	return cc
}

// take returns the events recorded since the last take.
func (cc *coreCenter) take() []dialog.Event {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	evs := cc.events
	cc.events = nil
	return evs
}

// states are the agent states published for an agent, in order.
func states(evs []dialog.Event, agent string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == EventAgentStateChanged && ev.Agent == agent {
			out = append(out, ev.State)
		}
	}
	return out
}

// offers are "agent<-leg" of the agent_offered events, in order.
func offers(evs []dialog.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == EventAgentOffered {
			out = append(out, ev.Agent+"<-"+ev.LegID)
		}
	}
	return out
}

// join puts a caller with a leg in a queue.
func (cc *coreCenter) join(t testing.TB, leg, q string, prio int) *caller {
	t.Helper()
	var cl *caller
	var err error
	cc.do(func(tx *txn) {
		cl = &caller{leg: leg, callID: "call-" + leg, from: "2000", to: "5000", prio: prio, joined: tx.now}
		err = tx.join(cl, q, 0)
	})
	if err != nil {
		t.Fatalf("join %s to %s: %v", leg, q, err)
	}
	return cl
}

// offerOf is the ringing offer of an agent.
func (cc *coreCenter) offerOf(t testing.TB, id string) *offer {
	t.Helper()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	a := cc.agents[id]
	if a.offer == nil {
		t.Fatalf("agent %s rings for nobody", id)
	}
	return a.offer
}

func (cc *coreCenter) state(id string) string {
	cc.Center.mu.Lock()
	defer cc.Center.mu.Unlock()
	return cc.agents[id].state
}

func ptr[T any](v T) *T { return &v }

func dyn(id string) config.Agent { return config.Agent{ID: id, Contact: "c" + id} }

func qcfg(name, strategy string, members ...string) config.Queue {
	q := config.Queue{Name: name, Strategy: strategy, RingTimeout: 15 * time.Second, Retry: 5 * time.Second}
	for i, m := range members {
		q.Members = append(q.Members, config.Member{Agent: m, Penalty: i / 100})
	}
	return q
}

func TestDeriveState(t *testing.T) {
	tests := []struct {
		loggedIn, paused, ringing, onCall, held, wrap bool
		want                                          string
	}{
		{want: StateLoggedOut},
		{loggedIn: true, want: StateIdle},
		{loggedIn: true, paused: true, want: StatePaused},
		{loggedIn: true, paused: true, wrap: true, want: StatePaused},
		{loggedIn: true, wrap: true, want: StateWrapup},
		{loggedIn: true, ringing: true, want: StateRinging},
		{loggedIn: true, paused: true, ringing: true, want: StateRinging},
		{loggedIn: true, onCall: true, want: StateOnCall},
		{loggedIn: true, onCall: true, held: true, want: StateOnHold},
		{loggedIn: true, onCall: true, paused: true, want: StateOnCall},
		{loggedIn: false, onCall: true, want: StateOnCall}, // logged out during a call: the call shows until it ends
		{loggedIn: true, onCall: true, ringing: true, want: StateRinging},
	}
	for _, tt := range tests {
		if got := deriveState(tt.loggedIn, tt.paused, tt.ringing, tt.onCall, tt.held, tt.wrap); got != tt.want {
			t.Errorf("deriveState(%+v) = %s, want %s", tt, got, tt.want)
		}
	}
}

// An agent's life, each transition published in order: login, a ring not
// answered twice (retry between, then autopause), unpause, a call, its
// wrap-up, logout.
func TestAgentLifecycle(t *testing.T) {
	q := qcfg("q1", "ringall", "7")
	q.Wrapup, q.Autopause, q.AutopauseAs = 10*time.Second, 2, "missed"
	cfg := &config.Config{
		Agents: []config.Agent{dyn("7")}, Queues: []config.Queue{q},
		ContactCenter: config.ContactCenter{Breaks: []config.Break{{Name: "lunch", Code: "1"}, {Name: "missed"}}},
	}
	cc := newCoreCenter(t, cfg, nil)
	if got := states(cc.take(), "7"); len(got) != 0 {
		t.Fatalf("a logged-out agent published %v at start", got)
	}
	if err := cc.Login(context.Background(), "7", LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	cl := cc.join(t, "L1", "q1", 0)
	o := cc.offerOf(t, "7")
	cc.do(func(t *txn) { t.noAnswer(o, "no_answer") })
	if cc.state("7") != StateIdle || len(cl.offers) != 0 {
		t.Fatalf("after a no answer: %s, %d offers", cc.state("7"), len(cl.offers))
	}
	cc.clock.Advance(5 * time.Second) // Retry: offered again
	o = cc.offerOf(t, "7")
	cc.do(func(t *txn) { t.noAnswer(o, "no_answer") })
	if cc.state("7") != StatePaused {
		t.Fatalf("after 2 missed offers: %s, want paused (autopause)", cc.state("7"))
	}
	evs := cc.take()
	want := []string{StateIdle, StateRinging, StateIdle, StateRinging, StatePaused}
	if got := states(evs, "7"); !slices.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	for _, ev := range evs {
		if ev.Kind == EventAgentStateChanged && ev.State == StatePaused && (ev.Detail != "missed" || ev.Cause != "autopause") {
			t.Errorf("autopause published break %q reason %q", ev.Detail, ev.Cause)
		}
	}
	if n := countKind(evs, EventAgentNoAnswer); n != 2 {
		t.Errorf("%d agent_no_answer, want 2", n)
	}
	if err := cc.Unpause("7"); err != nil {
		t.Fatal(err)
	}
	cc.clock.Advance(5 * time.Second)
	o = cc.offerOf(t, "7")
	cc.do(func(t *txn) { t.answered(o) })
	k := cl.conn
	cc.do(func(t *txn) { t.connected(k, "b1", "") })
	cc.clock.Advance(30 * time.Second)
	cc.do(func(t *txn) { t.endCall(k, endedByCaller, "") })
	if cc.state("7") != StateWrapup {
		t.Fatalf("after the call: %s, want wrap-up", cc.state("7"))
	}
	cc.clock.Advance(10 * time.Second)
	if err := cc.Logout(context.Background(), "7", "done"); err != nil {
		t.Fatal(err)
	}
	evs = cc.take()
	want = []string{StateIdle, StateRinging, StateOnCall, StateWrapup, StateIdle, StateLoggedOut}
	if got := states(evs, "7"); !slices.Equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if n := countKind(evs, EventAgentConnected); n != 1 {
		t.Errorf("%d agent_connected, want 1", n)
	}
	st, _ := cc.Agent("7")
	if st.Answered != 1 || st.Missed != 2 || st.TalkTime != 30*time.Second {
		t.Errorf("agent %+v: want 1 answered, 2 missed, 30s talk", st)
	}
}

func countKind(evs []dialog.Event, k dialog.EventKind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

// An agent free for several queues takes the best caller across them:
// priority first, then queue weight, then the longest wait.
func TestPickForAcrossQueues(t *testing.T) {
	tests := []struct {
		name       string
		lowWeight  int
		highWeight int
		lowPrio    int
		highPrio   int
		want       string
	}{
		{"longest wait", 0, 0, 0, 0, "A<-low"},
		{"weight", 0, 10, 0, 0, "A<-high"},
		{"priority before weight", 0, 10, 5, 0, "A<-low"},
		{"priority", 0, 0, 0, 1, "A<-high"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			low, high := qcfg("low", "ringall", "A"), qcfg("high", "ringall", "A")
			low.Weight, high.Weight = tt.lowWeight, tt.highWeight
			cc := newCoreCenter(t, &config.Config{Agents: []config.Agent{dyn("A")}, Queues: []config.Queue{low, high}}, nil)
			cc.join(t, "low", "low", tt.lowPrio)
			cc.clock.Advance(time.Second)
			cc.join(t, "high", "high", tt.highPrio)
			cc.take()
			cc.Login(context.Background(), "A", LoginOptions{})
			if got := offers(cc.take()); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("offers %v, want %v", got, tt.want)
			}
		})
	}
}

// Callers of ring-one strategies ring different agents at once
// (autofill); ringall rings the whole lowest tier for the head caller.
func TestDispatchParallel(t *testing.T) {
	tests := []struct {
		strategy  string
		penalties []int
		want      []string
	}{
		{"linear", []int{0, 0, 0}, []string{"a1<-L1", "a2<-L2", "a3<-L3"}},
		{"rrordered", []int{0, 0, 0}, []string{"a1<-L1", "a2<-L2", "a3<-L3"}},
		{"ringall", []int{0, 0, 1}, []string{"a1<-L1", "a2<-L1", "a3<-L2"}},
		{"linear", []int{1, 0, 0}, []string{"a2<-L1", "a3<-L2", "a1<-L3"}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			q := qcfg("q", tt.strategy)
			for i, p := range tt.penalties {
				q.Members = append(q.Members, config.Member{Agent: "a" + itoa(i+1), Penalty: p})
			}
			cfg := &config.Config{Agents: []config.Agent{dyn("a1"), dyn("a2"), dyn("a3")}, Queues: []config.Queue{q}}
			for i := range cfg.Agents {
				cfg.Agents[i].AutoLogin = true
			}
			cc := newCoreCenter(t, cfg, nil)
			cc.take()
			for _, leg := range []string{"L1", "L2", "L3"} {
				cc.join(t, leg, "q", 0)
			}
			if got := offers(cc.take()); !slices.Equal(got, tt.want) {
				t.Errorf("offers %v, want %v", got, tt.want)
			}
		})
	}
}

// Rules widen the penalties a caller reaches as they wait, without losing
// their place; skills must be held at the level asked.
func TestRulesWidenAndSkills(t *testing.T) {
	q := qcfg("q", "ringall")
	q.Members = []config.Member{{Agent: "far", Penalty: 3}, {Agent: "unskilled", Penalty: 0}}
	q.Skills = map[string]int{"german": 50}
	q.Rules = []config.QueueRule{
		{After: 0, MaxPenalty: ptr(0)},
		{After: 30 * time.Second, MaxPenalty: ptr(5)},
		{After: 60 * time.Second, Skills: map[string]int{"german": 0}},
	}
	far := dyn("far")
	far.Skills = map[string]int{"german": 80}
	cfg := &config.Config{Agents: []config.Agent{far, dyn("unskilled")}, Queues: []config.Queue{q}}
	cfg.Agents[0].AutoLogin, cfg.Agents[1].AutoLogin = true, true
	cc := newCoreCenter(t, cfg, nil)
	cl := cc.join(t, "L1", "q", 0)
	if got := offers(cc.take()); len(got) != 0 {
		t.Fatalf("offered at once %v: penalty 3 is beyond reach, the other lacks the skill", got)
	}
	cc.clock.Advance(30 * time.Second)
	if got := offers(cc.take()); !slices.Equal(got, []string{"far<-L1"}) {
		t.Fatalf("after 30s: offers %v, want far", got)
	}
	cc.do(func(t *txn) { t.noAnswer(cc.agents["far"].offer, "no_answer") })
	cc.clock.Advance(30 * time.Second)
	if got := offers(cc.take()); !slices.Contains(got, "unskilled<-L1") {
		t.Fatalf("after 60s: offers %v, want the skill relaxed", got)
	}
	if cl.pos != 1 {
		t.Errorf("position %d, want 1", cl.pos)
	}
}

// A queue refuses callers beyond max_callers, and callers of an empty
// queue by join_empty; leave_empty sends waiting callers away when the
// last agent goes; max_wait times a caller out.
func TestQueueLimits(t *testing.T) {
	q := qcfg("q", "ringall", "7")
	q.MaxCallers = 1
	q.JoinEmpty = []string{"loggedout"}
	q.LeaveEmpty = []string{"loggedout", "paused"}
	q.MaxWait = time.Minute
	cfg := &config.Config{Agents: []config.Agent{dyn("7")}, Queues: []config.Queue{q},
		ContactCenter: config.ContactCenter{Breaks: []config.Break{{Name: "lunch"}}}}
	cc := newCoreCenter(t, cfg, nil)
	var err error
	cc.do(func(tx *txn) { err = tx.join(&caller{leg: "L0", joined: tx.now}, "q", 0) })
	if !errors.Is(err, ErrEmpty) || !errors.Is(err, dialog.ErrBusy) {
		t.Fatalf("join an empty queue: %v, want ErrEmpty", err)
	}
	cc.Login(context.Background(), "7", LoginOptions{})
	cc.Pause("7", "lunch", "")
	cc.join(t, "L1", "q", 0)
	left := lefts(cc.take())
	if !slices.Equal(left, []string{"L1:empty"}) {
		t.Fatalf("left %v: a caller of a queue whose agents are all paused leaves (leave_empty)", left)
	}
	cc.Unpause("7")
	cc.join(t, "L2", "q", 0) // rings 7
	cc.do(func(tx *txn) { err = tx.join(&caller{leg: "L3", joined: tx.now}, "q", 0) })
	if !errors.Is(err, ErrFull) {
		t.Fatalf("join a full queue: %v, want ErrFull", err)
	}
	cc.clock.Advance(time.Minute)
	if left := lefts(cc.take()); !slices.Equal(left, []string{"L2:timeout"}) {
		t.Fatalf("left %v: want L2 timed out", left)
	}
	if cc.state("7") != StateIdle {
		t.Errorf("agent %s after the caller timed out: the ring is withdrawn", cc.state("7"))
	}
}

func lefts(evs []dialog.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == EventLeft {
			out = append(out, ev.LegID+":"+ev.Cause)
		}
	}
	return out
}

// A caller who asks to be called back keeps their place as a virtual
// entry: the caller behind is not moved up; when the virtual entry's turn
// comes, the free agent is kept for it (not rung, not given to the caller
// behind) while the call back rings, and let go if it fails.
func TestCallbackKeepsPlace(t *testing.T) {
	q := qcfg("q", "ringall", "7")
	q.CallbackTries, q.CallbackRetry = 2, time.Minute
	cfg := &config.Config{Agents: []config.Agent{dyn("7")}, Queues: []config.Queue{q}}
	cc := newCoreCenter(t, cfg, nil)
	first := cc.join(t, "L1", "q", 0)
	second := cc.join(t, "L2", "q", 0)
	cc.do(func(t *txn) { t.becomeVirtual(first) })
	if first.pos != 1 || second.pos != 2 || !first.virtual() {
		t.Fatalf("positions %d, %d: the virtual entry keeps place 1", first.pos, second.pos)
	}
	if st, _ := cc.Queue("q"); st.Waiting != 2 || !st.Callers[0].Callback {
		t.Errorf("queue status %+v: want 2 waiting, the first a callback", st)
	}
	cc.take()
	cc.Login(context.Background(), "7", LoginOptions{})
	if got := offers(cc.take()); len(got) != 0 {
		t.Fatalf("offers %v: the agent is kept for the caller being called back", got)
	}
	if first.cb.state != cbCalling || first.cb.tries != 1 || cc.agents["7"].earmark != first || cc.state("7") != StateIdle {
		t.Fatalf("call back state %d tries %d, agent %s: want calling, 1, idle and kept", first.cb.state, first.cb.tries, cc.state("7"))
	}
	// Not answered: the agent goes to the caller behind; tried again
	// after the retry.
	cc.do(func(t *txn) { t.callbackFailed(first) })
	if first.cb.state != cbRetry {
		t.Fatalf("after a failed call back: state %d, want retry", first.cb.state)
	}
	if got := offers(cc.take()); !slices.Equal(got, []string{"7<-L2"}) {
		t.Fatalf("offers %v: the agent let go goes to the caller behind", got)
	}
	cc.do(func(t *txn) { t.answered(cc.agents["7"].offer) })
	cc.clock.Advance(time.Minute)
	if first.cb.state != cbReady {
		t.Fatalf("after the retry: state %d, want ready (agent busy)", first.cb.state)
	}
	// Called back and answered: a caller again, in the same place.
	cc.do(func(t *txn) {
		t.callBack(first, nil)
		first.cb.leg = "CB1"
		t.c.legs["CB1"] = legRef{kind: legCallback, cl: first}
		t.callbackEvent(first, dialog.Event{Kind: dialog.EventLegAnswered, LegID: "CB1"})
	})
	if first.virtual() || first.leg != "CB1" || first.pos != 1 || cc.callers["CB1"] != first {
		t.Fatalf("called back: virtual %v leg %q position %d", first.virtual(), first.leg, first.pos)
	}
	var joined []dialog.Event
	for _, ev := range cc.take() {
		if ev.Kind == EventJoined {
			joined = append(joined, ev)
		}
	}
	if len(joined) != 1 || joined[0].Detail != "callback" || joined[0].LegID != "CB1" {
		t.Errorf("joined events %+v: want CB1 with detail callback", joined)
	}
}

// Agents' sessions and runtime members survive a restart.
func TestPersistence(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	static := config.Agent{ID: "9001", PIN: "1234"}
	cfg := &config.Config{
		Agents: []config.Agent{static, dyn("7")}, Queues: []config.Queue{qcfg("q", "ringall", "9001"), qcfg("r", "ringall")},
		ContactCenter: config.ContactCenter{Breaks: []config.Break{{Name: "lunch"}}},
	}
	cc := newCoreCenter(t, cfg, st)
	if err := cc.Login(context.Background(), "9001", LoginOptions{}); err == nil {
		t.Fatal("a static agent logged in by API without a device")
	}
	if err := cc.Login(context.Background(), "9001", LoginOptions{Device: "1002"}); err != nil {
		t.Fatal(err)
	}
	if err := cc.Pause("9001", "lunch", "eating"); err != nil {
		t.Fatal(err)
	}
	if err := cc.Login(context.Background(), "7", LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cc.AddMember("r", "7", 2); err != nil {
		t.Fatal(err)
	}
	if err := cc.RemoveMember("q", "9001"); err != nil {
		t.Fatal(err)
	}
	if err := cc.Pause("7", "nap", ""); !errors.Is(err, ErrUnknownBreak) {
		t.Errorf("pause with an unknown break: %v", err)
	}
	if err := cc.SetQueue(config.Queue{Name: "new", Strategy: "linear", Members: []config.Member{{Agent: "7", Penalty: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := cc.SetQueue(config.Queue{Name: "bad", Members: []config.Member{{Agent: "nobody"}}}); err == nil {
		t.Error("a queue with an unknown member was set")
	}
	if err := cc.SetQueue(config.Queue{Name: "q", Strategy: "nope"}); err == nil {
		t.Error("a queue with an unknown strategy was set")
	}
	if err := cc.RemoveQueue("q"); err != nil {
		t.Fatal(err)
	}
	cc.flush()

	again := newCoreCenter(t, cfg, st)
	if _, ok := again.Queue("q"); ok {
		t.Error("queue q removed at run time is back after a restart")
	}
	if nq, ok := again.Queue("new"); !ok || nq.Strategy != "linear" || len(nq.Members) != 1 || nq.Members[0].Penalty != 1 {
		t.Errorf("queue new after restart: %+v %v", nq, ok)
	}
	a, _ := again.Agent("9001")
	if a.State != StatePaused || a.Break != "lunch" || a.Reason != "eating" || a.Device != "1002" || len(a.Queues) != 0 {
		t.Errorf("9001 after restart: %+v", a)
	}
	b, _ := again.Agent("7")
	if b.State != StateIdle || !slices.Equal(b.Queues, []string{"new", "r"}) || b.Penalties["r"] != 2 {
		t.Errorf("7 after restart: %+v", b)
	}
}

// The dial-plan targets check their arguments against the config, so
// check-config names a typo.
func TestTargetParse(t *testing.T) {
	cfg := &config.Config{
		Agents: []config.Agent{{ID: "9001", PIN: "1"}}, Queues: []config.Queue{{Name: "support"}},
		ContactCenter: config.ContactCenter{Breaks: []config.Break{{Name: "lunch"}}},
	}
	env := dialog.TargetEnv{Config: cfg}
	tests := []struct {
		target string
		ok     bool
	}{
		{"queue:support", true},
		{"queue:support,5", true},
		{"queue:suport", false},
		{"queue:support,high", false},
		{"queue", false},
		{"agent-login", true},
		{"agent-login:9001", true},
		{"agent-login:9002", false},
		{"agent-logout", true},
		{"agent-logout:x", false},
		{"agent-pause", true},
		{"agent-pause:lunch", true},
		{"agent-pause:nap", false},
		{"agent-unpause", true},
		{"supervise:listen", true},
		{"supervise:takeover", true},
		{"supervise:spy", false},
		{"supervise", false},
	}
	for _, tt := range tests {
		_, err := dialog.ParseTarget(tt.target, env)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTarget(%q): %v, want ok %v", tt.target, err, tt.ok)
		}
	}
}

// With retry 0, a caller whose agent let it ring goes on in the queue's
// order (linear: the next agent), not straight back to that agent.
func TestNoAnswerMovesOn(t *testing.T) {
	q := qcfg("q", "linear", "a1", "a2")
	q.Retry = 0
	cfg := &config.Config{Agents: []config.Agent{dyn("a1"), dyn("a2")}, Queues: []config.Queue{q}}
	cfg.Agents[0].AutoLogin, cfg.Agents[1].AutoLogin = true, true
	cc := newCoreCenter(t, cfg, nil)
	cc.join(t, "L1", "q", 0)
	cc.do(func(t *txn) { t.noAnswer(cc.agents["a1"].offer, "user_busy") })
	if got := offers(cc.take()); !slices.Equal(got, []string{"a1<-L1", "a2<-L1"}) {
		t.Errorf("offers %v, want a1 then a2", got)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		retry time.Duration
		cause dialog.Cause
		want  time.Duration
	}{
		{0, dialog.CauseNoAnswer, 0},
		{3 * time.Second, dialog.CauseNoAnswer, 3 * time.Second},
		{0, dialog.CauseBusy, 0},
		{0, dialog.CauseDeclined, 0},
		{0, dialog.CauseUnavailable, unreachableRetry},
		{0, dialog.CauseNotFound, unreachableRetry},
		{0, dialog.CauseCongestion, unreachableRetry},
		{time.Minute, dialog.CauseUnavailable, time.Minute},
	} {
		if got := retryAfter(tc.retry, tc.cause.String()); got != tc.want {
			t.Errorf("retryAfter(%v, %s) = %v, want %v", tc.retry, tc.cause, got, tc.want)
		}
	}
}

// An answer seen twice (reconciled when the call was placed, then from
// the bus) connects once and leaves the winning agent's call alone.
func TestAnsweredTwice(t *testing.T) {
	q := qcfg("q", "linear", "a1")
	cfg := &config.Config{Agents: []config.Agent{dyn("a1")}, Queues: []config.Queue{q}}
	cfg.Agents[0].AutoLogin = true
	cc := newCoreCenter(t, cfg, nil)
	cl := cc.join(t, "L1", "q", 0)
	o := cc.offerOf(t, "a1")
	o.leg = "A1"
	cc.do(func(t *txn) { t.answered(o) })
	k := cl.conn
	cc.do(func(t *txn) { t.answered(o) })
	if cl.conn != k || cc.state("a1") != StateOnCall {
		t.Fatalf("after a second answer: conn %p (was %p), agent %s", cl.conn, k, cc.state("a1"))
	}
	if _, tracked := cc.legs["A1"]; !tracked {
		t.Error("the winning agent's call is no longer tracked")
	}
}
