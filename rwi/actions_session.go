package rwi

import (
	"regexp"
	"slices"
	"time"
)

func init() {
	register("session.subscribe", "", subscribe)
	register("session.unsubscribe", "", unsubscribe)
	register("session.list_calls", "", listCalls)
	register("session.attach_call", "", attach)
	register("session.detach_call", "", detach)
	register("session.resume", "", resume)
	register("session.list_actions", "", func(x *cmd) (any, *Error) {
		if err := decodeParams(x.params, &struct{}{}); err != nil {
			return nil, err
		}
		return map[string][]string{"actions": actionNames()}, nil
	})
}

// contextRe is a context name, as rwi:CONTEXT writes it.
var contextRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

type subscribeParams struct {
	Contexts []string `json:"contexts"`
	Events   []string `json:"events"`
}

func subscribe(x *cmd) (any, *Error) {
	p, err := decode[subscribeParams](x)
	if err != nil {
		return nil, err
	}
	for _, c := range p.Contexts {
		if !contextRe.MatchString(c) {
			return nil, fail(CodeInvalidParams, "context %q: want letters, digits, '_', '.' and '-'", c)
		}
	}
	for _, ev := range p.Events {
		if !eventNames[ev] {
			return nil, fail(CodeInvalidParams, "events: unknown event %q", ev)
		}
	}
	ss := x.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, c := range p.Contexts {
		ss.contexts[c] = true
	}
	if p.Events != nil {
		ss.events = map[string]bool{}
		for _, ev := range p.Events {
			ss.events[ev] = true
		}
	}
	return map[string]any{"session_id": ss.id, "contexts": sortedKeys(ss.contexts)}, nil
}

func unsubscribe(x *cmd) (any, *Error) {
	p, err := decode[subscribeParams](x)
	if err != nil {
		return nil, err
	}
	ss := x.ss
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(p.Contexts) == 0 && len(p.Events) == 0 {
		clear(ss.contexts)
		ss.events = nil
	}
	for _, c := range p.Contexts {
		delete(ss.contexts, c)
	}
	return map[string]any{"contexts": sortedKeys(ss.contexts)}, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// callInfo is one leg as session.list_calls shows it.
type callInfo struct {
	CallID     string `json:"call_id"`
	LegID      string `json:"leg_id"`
	Direction  string `json:"direction"`
	State      string `json:"state"`
	From       string `json:"from"`
	To         string `json:"to"`
	Context    string `json:"context,omitempty"`
	BridgeID   string `json:"bridge_id,omitempty"`
	StartedAt  string `json:"started_at"`
	AnsweredAt string `json:"answered_at,omitempty"`
}

func listCalls(x *cmd) (any, *Error) {
	if err := decodeParams(x.params, &struct{}{}); err != nil {
		return nil, err
	}
	legs := x.ss.legs()
	calls := make([]callInfo, 0, len(legs))
	x.ss.mu.Lock()
	defer x.ss.mu.Unlock()
	for _, l := range legs {
		c := callInfo{
			CallID: x.ss.nameLocked(l.ID), LegID: l.ID, Direction: string(l.Direction), State: l.State.String(),
			From: l.From, To: l.To, Context: l.Context, BridgeID: l.BridgeID, StartedAt: stamp(l.Created),
		}
		if ctx, ok := x.ss.offered[l.ID]; ok {
			c.Context = ctx
		}
		if !l.Answered.IsZero() {
			c.AnsweredAt = stamp(l.Answered)
		}
		calls = append(calls, c)
	}
	return map[string][]callInfo{"calls": calls}, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func attach(x *cmd) (any, *Error) {
	var p struct {
		CallID string `json:"call_id"`
		Mode   string `json:"mode"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	switch p.Mode {
	case "", "control":
		if _, err := x.ss.leg(p.CallID, claim); err != nil {
			return nil, err
		}
	case "listen", "watch", "whisper", "barge":
		// Watching: the leg's events without its control, for a
		// supervisor's wallboard. Joining the audio is supervisor.*.
		if !x.ss.tok.scopes[scopeSupervisor] {
			return nil, fail(CodeForbidden, "scope required: %s", scopeSupervisor)
		}
		info, ok := x.srv.e.Leg(x.ss.resolve(p.CallID))
		if !ok {
			return nil, fail(CodeCallNotFound, "no call %q", p.CallID)
		}
		x.srv.watch(x.ss, info.ID, true)
		p.Mode = "watch"
	default:
		return nil, fail(CodeInvalidParams, "mode %q: want control or watch", p.Mode)
	}
	if p.Mode == "" {
		p.Mode = "control"
	}
	return map[string]string{"call_id": p.CallID, "mode": p.Mode}, nil
}

func detach(x *cmd) (any, *Error) {
	p, err := decode[callParams](x)
	if err != nil {
		return nil, err
	}
	if x.srv.watch(x.ss, x.ss.resolve(p.CallID), false) {
		return callData(p), nil
	}
	info, err := x.ss.leg(p.CallID, claim)
	if err != nil {
		return nil, err
	}
	if err := engineError(x.srv.e.SetOwner(info.ID, "")); err != nil {
		return nil, err
	}
	x.ss.mu.Lock()
	x.ss.forgetLocked(info.ID)
	x.ss.mu.Unlock()
	return callData(p), nil
}

// resume makes this connection serve a session of the same token that
// lost its connection (or is being taken over): its legs, names,
// contexts and numbering. The response comes first, then every event
// after last_seq that the session still holds, in order.
func resume(x *cmd) (any, *Error) {
	var p struct {
		SessionID string `json:"session_id"`
		LastSeq   uint64 `json:"last_seq"`
	}
	if err := decodeParams(x.params, &p); err != nil {
		return nil, err
	}
	srv, cur := x.srv, x.ss
	old := srv.session(p.SessionID)
	if old == nil || old.tok != cur.tok {
		return nil, fail(CodeInvalidParams, "no session %q to resume with this token", p.SessionID)
	}
	if old != cur {
		cur.mu.Lock()
		fresh := len(cur.names) == 0 && len(cur.contexts) == 0 && cur.seq == 0
		cur.mu.Unlock()
		if !fresh || len(cur.legs()) > 0 {
			return nil, fail(CodeInvalidState, "resume on a new connection, before anything else")
		}
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	if p.LastSeq > old.seq {
		return nil, fail(CodeInvalidParams, "last_seq %d: the session has sent only %d events", p.LastSeq, old.seq)
	}
	prev := old.conn
	old.conn = x.c
	if old.orphan != nil {
		old.orphan.Stop()
		old.orphan = nil
	}
	first := p.LastSeq + 1
	if old.seq >= historySize && first <= old.seq-historySize {
		first = old.seq - historySize + 1
	}
	lost := first - p.LastSeq - 1
	x.c.send(encodeResponse(x.id, map[string]any{
		"session_id": old.id, "replayed": old.seq - first + 1, "lost": lost, "last_seq": old.seq,
	}, nil))
	x.responded = true
	for seq := first; seq <= old.seq; seq++ {
		x.c.send(old.history[seq%historySize])
	}
	if prev != nil && prev != x.c {
		prev.close(4000, "session resumed on another connection")
	}
	if old != cur {
		srv.dropSession(cur)
		x.next = old
	}
	srv.log.Info("rwi session resumed", "session", old.id, "replayed", old.seq-first+1, "lost", lost)
	return nil, nil
}
