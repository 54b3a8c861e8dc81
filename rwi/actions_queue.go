package rwi

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"pbx/config"
	"pbx/dialog"
	"pbx/queue"
)

// The contact center over RWI: the spec's queue control (scenario 9) on
// legs the session commands, and, for wallboards and supervisors, the
// queues and agents themselves. Every action needs queue.control.
func init() {
	register("queue.enqueue", scopeQueue, enqueue)
	register("queue.dequeue", scopeQueue, dequeue)
	register("queue.hold", scopeQueue, func(x *cmd) (any, *Error) {
		return x.onQueuedLeg(func(c *queue.Center, id string) error { return c.HoldCaller(id) })
	})
	register("queue.unhold", scopeQueue, func(x *cmd) (any, *Error) {
		return x.onQueuedLeg(func(c *queue.Center, id string) error { return c.UnholdCaller(id) })
	})
	register("queue.set_priority", scopeQueue, setPriority)
	register("queue.requeue", scopeQueue, requeue)
	register("queue.list", scopeQueue, listQueues)
	register("queue.status", scopeQueue, queueStatus)
	register("agent.list", scopeQueue, listAgents)
	register("agent.status", scopeQueue, agentStatus)
	register("agent.login", scopeQueue, agentLogin)
	register("agent.logout", scopeQueue, agentLogout)
	register("agent.pause", scopeQueue, agentPause)
	register("agent.unpause", scopeQueue, agentUnpause)
}

// Bounds of what a client may ask: priorities are compared, never
// counted, so a small range is enough; a wait over a day is a mistake.
const (
	maxPriority    = 1000
	maxWaitSecs    = 86400
	maxReasonBytes = 256
)

// idRe is a queue name, an agent id, or a number rung as a one-off agent.
var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@+*#-]{0,63}$`)

// center is the contact center the queue actions drive: Options.Queues,
// else the one serving the engine.
func (s *Server) center() (*queue.Center, *Error) {
	if s.queues != nil {
		return s.queues, nil
	}
	if c := queue.Of(s.e); c != nil {
		return c, nil
	}
	return nil, fail(CodeInvalidState, "the contact center is not running")
}

// queueError maps an error of the contact center to its RWI code. The
// contact center's errors wrap the engine's, whose codes would say a
// call is missing where a queue or an agent is, or a call is not waiting;
// the engine's own errors (a leg that ended meanwhile) keep their codes.
func queueError(err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, queue.ErrUnknownQueue), errors.Is(err, queue.ErrUnknownAgent):
		return fail(CodeNotFound, "%v", err)
	case errors.Is(err, queue.ErrUnknownBreak):
		return fail(CodeInvalidParams, "%v", err)
	case errors.Is(err, queue.ErrNotWaiting), errors.Is(err, queue.ErrWaiting), errors.Is(err, queue.ErrFull),
		errors.Is(err, queue.ErrEmpty), errors.Is(err, queue.ErrAgentBusy), errors.Is(err, queue.ErrLoggedOut),
		errors.Is(err, queue.ErrNotMember), errors.Is(err, queue.ErrClosed):
		return fail(CodeInvalidState, "%v", err)
	}
	return engineError(err)
}

func checkID(what, v string) *Error {
	if !idRe.MatchString(v) {
		if v == "" {
			return fail(CodeInvalidParams, "%s is required", what)
		}
		return fail(CodeInvalidParams, "%s %q: want up to 64 letters, digits and _.:@+*#-", what, v)
	}
	return nil
}

// checkOptionalID is checkID for a parameter that may be left out.
func checkOptionalID(what, v string) *Error {
	if v == "" {
		return nil
	}
	return checkID(what, v)
}

func checkPriority(p int) *Error {
	if p < -maxPriority || p > maxPriority {
		return fail(CodeInvalidParams, "priority %d: want -%d to %d, higher served first", p, maxPriority, maxPriority)
	}
	return nil
}

func checkMaxWait(secs int) *Error {
	if secs < 0 || secs > maxWaitSecs {
		return fail(CodeInvalidParams, "max_wait_secs %d: want 0 (the queue's) to %d", secs, maxWaitSecs)
	}
	return nil
}

// queueLeg finds the contact center and the leg a command names, which
// the session must command.
func (x *cmd) queueLeg(callID string) (*queue.Center, dialog.LegInfo, *Error) {
	c, err := x.srv.center()
	if err != nil {
		return nil, dialog.LegInfo{}, err
	}
	info, err := x.ss.leg(callID, control)
	return c, info, err
}

// knownQueue refuses a queue the contact center does not have, as
// not_found, before any leg is moved.
func knownQueue(c *queue.Center, name string) *Error {
	if _, ok := c.Queue(name); !ok {
		return fail(CodeNotFound, "no queue %q: queue.list lists them", name)
	}
	return nil
}

// joinedData is the reply of enqueue and requeue: the caller's place.
type joinedData struct {
	CallID   string `json:"call_id"`
	QueueID  string `json:"queue_id"`
	Position int    `json:"position"`
	Priority int    `json:"priority"`
}

// joined is the reply of enqueue and requeue for the leg the session
// names callID.
func joined(callID string, st queue.CallerStatus) joinedData {
	return joinedData{CallID: callID, QueueID: st.Queue, Position: st.Position, Priority: st.Priority}
}

// enqueue puts a leg the session commands in a queue; queue.joined
// follows, then the queue's events until queue.left.
func enqueue(x *cmd) (any, *Error) {
	var p struct {
		CallID      string `json:"call_id"`
		QueueID     string `json:"queue_id"`
		Priority    int    `json:"priority"`
		MaxWaitSecs int    `json:"max_wait_secs"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if err := firstError(checkID("queue_id", p.QueueID), checkPriority(p.Priority), checkMaxWait(p.MaxWaitSecs)); err != nil {
		return nil, err
	}
	c, leg, err := x.queueLeg(p.CallID)
	if err != nil {
		return nil, err
	}
	if err := knownQueue(c, p.QueueID); err != nil {
		return nil, err
	}
	untrack := x.srv.track(leg)
	st, qerr := c.Enqueue(x.ctx, leg.ID, p.QueueID, queue.EnqueueOptions{Priority: p.Priority, MaxWait: time.Duration(p.MaxWaitSecs) * time.Second})
	if err := queueError(qerr); err != nil {
		untrack()
		return nil, err
	}
	return joined(p.CallID, st), nil
}

// requeue moves a waiting leg to another queue, keeping its original join
// time; without a priority it keeps the one it has.
func requeue(x *cmd) (any, *Error) {
	var p struct {
		CallID      string `json:"call_id"`
		QueueID     string `json:"queue_id"`
		Priority    *int   `json:"priority"`
		MaxWaitSecs int    `json:"max_wait_secs"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	err := firstError(checkID("queue_id", p.QueueID), checkMaxWait(p.MaxWaitSecs))
	if err == nil && p.Priority != nil {
		err = checkPriority(*p.Priority)
	}
	if err != nil {
		return nil, err
	}
	c, leg, err := x.queueLeg(p.CallID)
	if err != nil {
		return nil, err
	}
	if err := knownQueue(c, p.QueueID); err != nil {
		return nil, err
	}
	// The contact center keeps the caller's priority when given 0; an
	// explicit 0 is set after the move.
	o := queue.EnqueueOptions{MaxWait: time.Duration(p.MaxWaitSecs) * time.Second}
	if p.Priority != nil {
		o.Priority = *p.Priority
	}
	x.srv.track(leg)
	st, qerr := c.Requeue(x.ctx, leg.ID, p.QueueID, o)
	if err := queueError(qerr); err != nil {
		return nil, err
	}
	if p.Priority != nil && *p.Priority == 0 && st.Priority != 0 {
		if err := queueError(c.SetPriority(leg.ID, 0)); err != nil {
			return nil, err
		}
		st.Priority = 0
	}
	return joined(p.CallID, st), nil
}

// firstError is the first error of several checks.
func firstError(errs ...*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// dequeue takes a leg out of its queue: to the agent named (an agent id,
// or a number rung as a one-off agent), whose queue.agent_connected
// follows; without one, parked, for the session to give it somewhere to
// go.
func dequeue(x *cmd) (any, *Error) {
	var p struct {
		CallID  string `json:"call_id"`
		AgentID string `json:"agent_id"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if err := checkOptionalID("agent_id", p.AgentID); err != nil {
		return nil, err
	}
	c, leg, err := x.queueLeg(p.CallID)
	if err != nil {
		return nil, err
	}
	if err := queueError(c.Dequeue(x.ctx, leg.ID, p.AgentID)); err != nil {
		return nil, err
	}
	d := map[string]string{"call_id": p.CallID}
	if p.AgentID != "" {
		d["agent_id"] = p.AgentID
	}
	return d, nil
}

// onQueuedLeg runs fn on the waiting leg named by params {call_id}.
func (x *cmd) onQueuedLeg(fn func(c *queue.Center, legID string) error) (any, *Error) {
	p, err := decode[callParams](x)
	if err != nil {
		return nil, err
	}
	c, leg, err := x.queueLeg(p.CallID)
	if err != nil {
		return nil, err
	}
	if err := queueError(fn(c, leg.ID)); err != nil {
		return nil, err
	}
	return callData(p), nil
}

func setPriority(x *cmd) (any, *Error) {
	var p struct {
		CallID   string `json:"call_id"`
		Priority *int   `json:"priority"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if p.Priority == nil {
		return nil, fail(CodeInvalidParams, "priority is required")
	}
	if err := checkPriority(*p.Priority); err != nil {
		return nil, err
	}
	c, leg, err := x.queueLeg(p.CallID)
	if err != nil {
		return nil, err
	}
	if err := queueError(c.SetPriority(leg.ID, *p.Priority)); err != nil {
		return nil, err
	}
	return map[string]any{"call_id": p.CallID, "priority": *p.Priority}, nil
}

// Views: the contact center's status as RWI writes it, with ids named
// *_id, durations in seconds (*_secs) and times as timestamps. A leg the
// session named is shown by its call_id.

type callerView struct {
	CallID    string   `json:"call_id"`
	LegID     string   `json:"leg_id"`
	QueueID   string   `json:"queue_id"`
	From      string   `json:"from,omitempty"`
	Position  int      `json:"position"`
	Priority  int      `json:"priority"`
	JoinedAt  string   `json:"joined_at"`
	WaitSecs  float64  `json:"wait_secs"`
	Held      bool     `json:"held"`
	Callback  bool     `json:"callback"`
	OfferedTo []string `json:"offered_to,omitempty"`
}

type memberView struct {
	AgentID string `json:"agent_id"`
	Penalty int    `json:"penalty"`
	State   string `json:"state"`
}

type totalsView struct {
	Offered         int     `json:"offered"`
	Answered        int     `json:"answered"`
	Abandoned       int     `json:"abandoned"`
	Timeouts        int     `json:"timeouts"`
	AnsweredInSL    int     `json:"answered_in_sl"`
	AbandonedInSL   int     `json:"abandoned_in_sl"`
	ServiceLevel    float64 `json:"service_level"` // percent
	AvgHoldSecs     float64 `json:"avg_hold_secs"`
	AvgTalkSecs     float64 `json:"avg_talk_secs"`
	LongestHoldSecs float64 `json:"longest_hold_secs"`
}

type queueView struct {
	QueueID         string         `json:"queue_id"`
	Strategy        string         `json:"strategy"`
	Waiting         int            `json:"waiting"`
	LongestWaitSecs float64        `json:"longest_wait_secs"`
	Agents          map[string]int `json:"agents"` // state -> members in it
	Stats           totalsView     `json:"stats"`  // today
	Callers         []callerView   `json:"callers,omitempty"`
	Members         []memberView   `json:"members,omitempty"`
}

type agentView struct {
	AgentID      string         `json:"agent_id"`
	Name         string         `json:"name,omitempty"`
	State        string         `json:"state"`
	Break        string         `json:"break,omitempty"`
	Reason       string         `json:"reason,omitempty"`
	Device       string         `json:"device,omitempty"`
	CallID       string         `json:"call_id,omitempty"`        // the agent's leg: a static agent's line, or the call offered or taken
	CallerCallID string         `json:"caller_call_id,omitempty"` // the caller's leg while ringing or on a call
	QueueID      string         `json:"queue_id,omitempty"`       // the queue of that call
	Since        string         `json:"since,omitempty"`
	LoginAt      string         `json:"login_at,omitempty"`
	Queues       []string       `json:"queues"`
	Penalties    map[string]int `json:"penalties,omitempty"`
	Skills       map[string]int `json:"skills,omitempty"`
	Answered     int            `json:"answered"`
	Missed       int            `json:"missed"`
	TalkSecs     float64        `json:"talk_secs"`
}

// secs is a duration in seconds, to the millisecond.
func secs(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

func stampOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func (ss *session) callerViewLocked(c queue.CallerStatus) callerView {
	return callerView{
		CallID: ss.nameLocked(c.LegID), LegID: c.LegID, QueueID: c.Queue, From: c.From, Position: c.Position,
		Priority: c.Priority, JoinedAt: stampOrEmpty(c.Joined), WaitSecs: secs(c.Wait), Held: c.Held,
		Callback: c.Callback, OfferedTo: c.OfferedTo,
	}
}

// queueViewLocked shows a queue; full adds its callers and members.
func (ss *session) queueViewLocked(q queue.QueueStatus, full bool) queueView {
	v := queueView{
		QueueID: q.Name, Strategy: q.Strategy, Waiting: q.Waiting, LongestWaitSecs: secs(q.LongestWait),
		Agents: q.Agents, Stats: totalsView{
			Offered: q.Stats.Offered, Answered: q.Stats.Answered, Abandoned: q.Stats.Abandoned, Timeouts: q.Stats.Timeouts,
			AnsweredInSL: q.Stats.AnsweredInSL, AbandonedInSL: q.Stats.AbandonedInSL, ServiceLevel: q.Stats.ServiceLevel,
			AvgHoldSecs: secs(q.Stats.AvgHold), AvgTalkSecs: secs(q.Stats.AvgTalk), LongestHoldSecs: secs(q.Stats.LongestHold),
		},
	}
	if v.Agents == nil {
		v.Agents = map[string]int{}
	}
	if !full {
		return v
	}
	v.Callers = make([]callerView, 0, len(q.Callers))
	for _, c := range q.Callers {
		v.Callers = append(v.Callers, ss.callerViewLocked(c))
	}
	v.Members = make([]memberView, 0, len(q.Members))
	for _, m := range q.Members {
		v.Members = append(v.Members, memberView{AgentID: m.Agent, Penalty: m.Penalty, State: m.State})
	}
	return v
}

func (ss *session) agentViewLocked(a queue.AgentStatus) agentView {
	v := agentView{
		AgentID: a.ID, Name: a.Name, State: a.State, Break: a.Break, Reason: a.Reason, Device: a.Device,
		QueueID: a.Queue, Since: stampOrEmpty(a.Since), LoginAt: stampOrEmpty(a.LoginAt), Queues: a.Queues,
		Penalties: a.Penalties, Skills: a.Skills, Answered: a.Answered, Missed: a.Missed, TalkSecs: secs(a.TalkTime),
	}
	if a.LegID != "" {
		v.CallID = ss.nameLocked(a.LegID)
	}
	if a.CallLegID != "" {
		v.CallerCallID = ss.nameLocked(a.CallLegID)
	}
	if v.Queues == nil {
		v.Queues = []string{}
	}
	return v
}

// listQueues is every queue, live, without its callers and members
// (queue.status has them): what a wallboard polls.
func listQueues(x *cmd) (any, *Error) {
	return listAll(x, "queues", (*queue.Center).Queues,
		func(ss *session, q queue.QueueStatus) queueView { return ss.queueViewLocked(q, false) },
		func(v queueView) string { return v.QueueID })
}

// listAll is the reply of queue.list and agent.list: under key, every
// item all gives, as the session names its legs, sorted by id.
func listAll[S, V any](x *cmd, key string, all func(*queue.Center) []S, view func(*session, S) V, id func(V) string) (any, *Error) {
	if err := decodeParams(x.params, &struct{}{}); err != nil {
		return nil, err
	}
	c, err := x.srv.center()
	if err != nil {
		return nil, err
	}
	items := all(c)
	ss := x.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(ss, it))
	}
	slices.SortFunc(out, func(a, b V) int { return strings.Compare(id(a), id(b)) })
	return map[string][]V{key: out}, nil
}

func queueStatus(x *cmd) (any, *Error) {
	var p struct {
		QueueID string `json:"queue_id"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if err := checkID("queue_id", p.QueueID); err != nil {
		return nil, err
	}
	c, err := x.srv.center()
	if err != nil {
		return nil, err
	}
	q, ok := c.Queue(p.QueueID)
	if !ok {
		return nil, fail(CodeNotFound, "no queue %q: queue.list lists them", p.QueueID)
	}
	x.ss.mu.Lock()
	defer x.ss.mu.Unlock()
	return x.ss.queueViewLocked(q, true), nil
}

func listAgents(x *cmd) (any, *Error) {
	return listAll(x, "agents", (*queue.Center).Agents, (*session).agentViewLocked,
		func(v agentView) string { return v.AgentID })
}

// findAgent checks an agent id and finds the contact center that has
// that agent.
func (x *cmd) findAgent(id string) (*queue.Center, *Error) {
	if err := checkID("agent_id", id); err != nil {
		return nil, err
	}
	c, err := x.srv.center()
	if err != nil {
		return nil, err
	}
	if _, ok := c.Agent(id); !ok {
		return nil, fail(CodeNotFound, "no agent %q: agent.list lists them", id)
	}
	return c, nil
}

func checkReason(r string) *Error {
	if len(r) > maxReasonBytes {
		return fail(CodeInvalidParams, "reason: at most %d bytes", maxReasonBytes)
	}
	return nil
}

// agentIDParams name an agent.
type agentIDParams struct {
	AgentID string `json:"agent_id"`
}

func agentStatus(x *cmd) (any, *Error) {
	p, err := decode[agentIDParams](x)
	if err != nil {
		return nil, err
	}
	c, err := x.findAgent(p.AgentID)
	if err != nil {
		return nil, err
	}
	return x.agentReply(c, p.AgentID)
}

// agentReply is the agent's state after a change.
func (x *cmd) agentReply(c *queue.Center, id string) (any, *Error) {
	a, ok := c.Agent(id)
	if !ok {
		return map[string]string{"agent_id": id}, nil
	}
	x.ss.mu.Lock()
	defer x.ss.mu.Unlock()
	return x.ss.agentViewLocked(a), nil
}

// onAgent runs fn on the contact center that has the agent, and replies
// with the agent's state after it: what every agent.* change answers.
func (x *cmd) onAgent(id string, fn func(c *queue.Center) error) (any, *Error) {
	c, err := x.findAgent(id)
	if err != nil {
		return nil, err
	}
	if err := queueError(fn(c)); err != nil {
		return nil, err
	}
	return x.agentReply(c, id)
}

// agentLogin logs an agent in: a dynamic member is rung on their contact
// from now on; a static agent, given a device, is called on that
// extension for each call.
func agentLogin(x *cmd) (any, *Error) {
	var p struct {
		AgentID string `json:"agent_id"`
		Device  string `json:"device"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if err := checkOptionalID("device", p.Device); err != nil {
		return nil, err
	}
	return x.onAgent(p.AgentID, func(c *queue.Center) error {
		return c.Login(x.ctx, p.AgentID, queue.LoginOptions{Device: p.Device})
	})
}

func agentLogout(x *cmd) (any, *Error) {
	var p struct {
		AgentID string `json:"agent_id"`
		Reason  string `json:"reason"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if err := checkReason(p.Reason); err != nil {
		return nil, err
	}
	return x.onAgent(p.AgentID, func(c *queue.Center) error {
		return c.Logout(x.ctx, p.AgentID, p.Reason)
	})
}

// agentPause pauses an agent with a break, named or by its code ("" is a
// pause with no break); agent.state_changed carries it.
func agentPause(x *cmd) (any, *Error) {
	var p struct {
		AgentID string `json:"agent_id"`
		Break   string `json:"break"`
		Reason  string `json:"reason"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	if err := checkReason(p.Reason); err != nil {
		return nil, err
	}
	return x.onAgent(p.AgentID, func(c *queue.Center) error {
		breaks := c.Breaks()
		name, ok := breakName(breaks, p.Break)
		if !ok {
			return fail(CodeInvalidParams, "break %q: want %s (a name or its code)", p.Break, breakList(breaks))
		}
		return c.Pause(p.AgentID, name, p.Reason)
	})
}

func agentUnpause(x *cmd) (any, *Error) {
	p, err := decode[agentIDParams](x)
	if err != nil {
		return nil, err
	}
	return x.onAgent(p.AgentID, func(c *queue.Center) error { return c.Unpause(p.AgentID) })
}

// breakName finds a break by name or by the code keyed after the pause
// feature code; "" is a pause with no break.
func breakName(breaks []config.Break, b string) (string, bool) {
	if b == "" {
		return "", true
	}
	for _, br := range breaks {
		if br.Name == b || (br.Code != "" && br.Code == b) {
			return br.Name, true
		}
	}
	return "", false
}

func breakList(breaks []config.Break) string {
	if len(breaks) == 0 {
		return "no break (none are configured)"
	}
	names := make([]string, len(breaks))
	for i, br := range breaks {
		names[i] = br.Name
	}
	return "one of " + strings.Join(names, ", ")
}
