package rwi

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Scopes a token may hold.
const (
	scopeCall       = "call.control"
	scopeRecord     = "record.control"
	scopeSupervisor = "supervisor.control"
	scopeQueue      = "queue.control"
	scopeMedia      = "media.stream"
)

// Scopes lists every scope a token may hold, for config validation and docs.
var Scopes = []string{scopeCall, scopeRecord, scopeSupervisor, scopeQueue, scopeMedia}

// commandTimeout bounds one command's engine work.
const commandTimeout = 15 * time.Second

// cmd is one request being served.
type cmd struct {
	ctx    context.Context
	srv    *Server
	ss     *session
	c      *conn
	id     string // action_id
	params json.RawMessage

	// responded is set by an action that wrote its own response (resume,
	// which must send it before the events it replays).
	responded bool
	// next is the session the connection serves from now on (resume).
	next *session
}

// action is one RWI action: the scope it needs and what it does.
type action struct {
	scope string
	run   func(*cmd) (any, *Error)
}

// actions is every implemented action, by name. It is filled in init by
// the files of each group, so the table and session.list_actions agree.
var actions = map[string]action{}

func register(name, scope string, run func(*cmd) (any, *Error)) {
	if _, dup := actions[name]; dup {
		panic("rwi: action registered twice: " + name)
	}
	actions[name] = action{scope: scope, run: run}
}

// actionNames lists the implemented actions, sorted.
func actionNames() []string {
	names := make([]string, 0, len(actions))
	for n := range actions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// handle answers one frame and returns the session the connection serves
// afterwards (itself, unless the request resumed another).
func (s *Server) handle(c *conn, ss *session, frame []byte) *session {
	refuse := func(id string, e *Error) *session {
		s.mx.answered(e)
		c.send(encodeResponse(id, nil, e))
		return ss
	}
	req, perr := parseRequest(frame)
	if perr != nil {
		return refuse(req.ActionID, perr)
	}
	a, ok := actions[req.Action]
	if !ok {
		return refuse(req.ActionID, fail(CodeUnknownAction, "unknown action %q: session.list_actions lists them", req.Action))
	}
	if a.scope != "" && !ss.tok.scopes[a.scope] {
		return refuse(req.ActionID, fail(CodeForbidden, "scope required: %s", a.scope))
	}
	ctx, cancel := context.WithTimeout(s.ctx, commandTimeout)
	defer cancel()
	x := &cmd{ctx: ctx, srv: s, ss: ss, c: c, id: req.ActionID, params: req.Params}
	data, err := a.run(x)
	if err != nil && err.Code == CodeInternal {
		s.log.Warn("rwi command failed", "session", ss.id, "action", req.Action, "error", err.Message)
	}
	s.mx.answered(err)
	if !x.responded {
		c.send(encodeResponse(req.ActionID, data, err))
	}
	if x.next != nil {
		return x.next
	}
	return ss
}

// decode reads params into p; see decodeParams.
func decode[T any](x *cmd) (T, *Error) {
	var p T
	err := decodeParams(x.params, &p)
	return p, err
}
