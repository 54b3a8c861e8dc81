package rwi

import (
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"pbx/dialog"
)

// historySize is how many events a session keeps for session.resume.
const historySize = 1024

// session is a client's standing with the server: the legs it owns (by
// the engine's owner tag), the names it gave them, the contexts it
// listens to, and the numbered events it was sent. It outlives its
// connection by orphan_hold so that a client can reconnect and resume.
type session struct {
	srv *Server
	id  string
	tag string // the engine owner of its legs: "rwi:" + id
	tok *token

	mu       sync.Mutex
	conn     *conn             // nil while disconnected
	seq      uint64            // of the last event sent
	history  [][]byte          // the last historySize events, by seq % historySize
	names    map[string]string // call_id the client chose -> leg id
	aliases  map[string]string // leg id -> call_id the client chose
	contexts map[string]bool   // rwi:CONTEXT offers it hears
	offered  map[string]string // leg id -> the context of the offer it claimed
	owned    map[string]bool   // ids of the legs it owns (the engine's owner is the truth; this finds them)
	queued   map[string]bool   // its legs waiting in a queue -> the leg has ended (its name is kept for queue.left)
	events   map[string]bool   // event names it wants; empty means all
	orphan   dialog.Timer      // runs out orphan_hold after a disconnect
	bucket   float64           // originate tokens left
	refilled time.Time         // when bucket was last refilled
}

// serve reads requests from a connection and answers them in order
// until it closes; then the session waits orphan_hold for a resume.
func (s *Server) serve(c *conn, ss *session) {
	ss.mu.Lock()
	ss.conn = c
	ss.mu.Unlock()
	s.wg.Add(1)
	writer := make(chan struct{})
	go func() {
		defer s.wg.Done()
		defer close(writer)
		c.write()
	}()
	s.log.Info("rwi session opened", "session", ss.id, "token", ss.tok.cfg.Name, "remote", c.ws.RemoteAddr().String())
	for {
		typ, frame, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		if typ != websocket.TextMessage {
			e := fail(CodeParse, "binary frames are not RWI")
			s.mx.answered(e)
			c.send(encodeResponse("", nil, e))
			continue
		}
		ss = s.handle(c, ss, frame)
	}
	c.close(0, "")
	<-writer
	s.disconnected(c, ss)
}

// disconnected starts a session's orphan hold, unless another connection
// has resumed it meanwhile.
func (s *Server) disconnected(c *conn, ss *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.conn != c {
		return
	}
	ss.conn = nil
	s.log.Info("rwi session disconnected", "session", ss.id, "hold", s.cfg.OrphanHold.String())
	ss.orphan = s.clock.AfterFunc(s.cfg.OrphanHold, func() { s.expire(ss) })
}

// expire ends a session nobody resumed: its legs go to the fallback.
func (s *Server) expire(ss *session) {
	ss.mu.Lock()
	if ss.conn != nil {
		ss.mu.Unlock()
		return
	}
	ss.mu.Unlock()
	s.mu.Lock()
	if s.closed || s.sessions[ss.id] != ss {
		s.mu.Unlock()
		return
	}
	delete(s.sessions, ss.id)
	for name, owner := range s.rooms {
		if owner == ss.id {
			delete(s.rooms, name)
		}
	}
	for leg, list := range s.watchers {
		if list = slices.DeleteFunc(list, func(w *session) bool { return w == ss }); len(list) == 0 {
			delete(s.watchers, leg)
		} else {
			s.watchers[leg] = list
		}
	}
	s.mu.Unlock()
	for _, l := range ss.legs() {
		if err := s.e.SetOwner(l.ID, ""); err != nil {
			continue
		}
		s.log.Info("rwi orphaned leg to fallback", "session", ss.id, "leg", l.ID)
		s.goOwned(func() { s.fallback(l.ID) })
	}
}

// legs are the live legs the session owns, looked up by the ids it
// knows: its cost is the session's legs, not every leg of the PBX.
func (ss *session) legs() []dialog.LegInfo {
	ss.mu.Lock()
	ids := make([]string, 0, len(ss.owned))
	for id := range ss.owned {
		ids = append(ids, id)
	}
	ss.mu.Unlock()
	out := make([]dialog.LegInfo, 0, len(ids))
	for _, id := range ids {
		if l, ok := ss.srv.e.Leg(id); ok && l.Owner == ss.tag {
			out = append(out, l)
			continue
		}
		ss.mu.Lock()
		delete(ss.owned, id)
		ss.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b dialog.LegInfo) int { return a.Created.Compare(b.Created) })
	return out
}

// emit sends an event to the session (or keeps it for a resume while it
// is disconnected). A connection too slow to take its events is closed:
// the client resumes from the last seq it saw.
func (ss *session) emitLocked(name, callID, context string, at time.Time, data any) {
	if len(ss.events) > 0 && !ss.events[name] {
		return
	}
	ss.seq++
	ss.srv.mx.events.Inc()
	b := encodeEvent(name, callID, context, ss.seq, at, data)
	if ss.history == nil {
		ss.history = make([][]byte, historySize)
	}
	ss.history[ss.seq%historySize] = b
	if ss.conn != nil && !ss.conn.offer(b) {
		ss.srv.log.Warn("rwi session too slow for its events", "session", ss.id)
		ss.conn.close(websocket.ClosePolicyViolation, "event backlog")
	}
}

// name is what the session calls a leg: the call_id it chose, or the id.
func (ss *session) nameLocked(legID string) string {
	if n, ok := ss.aliases[legID]; ok {
		return n
	}
	return legID
}

// resolve turns a call_id into a leg id: a name the session gave, or an
// engine leg id.
func (ss *session) resolve(callID string) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if id, ok := ss.names[callID]; ok {
		return id
	}
	return callID
}

// forget drops the name of a leg that ended.
func (ss *session) forgetLocked(legID string) {
	delete(ss.offered, legID)
	delete(ss.owned, legID)
	if n, ok := ss.aliases[legID]; ok {
		delete(ss.aliases, legID)
		delete(ss.names, n)
	}
}

// allowOriginate takes a token from the session's originate bucket.
func (ss *session) allowOriginate(now time.Time) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	rate := ss.srv.cfg.OriginateRate
	ss.bucket += now.Sub(ss.refilled).Seconds() * rate
	ss.refilled = now
	if max := float64(burst(rate)); ss.bucket > max {
		ss.bucket = max
	}
	if ss.bucket < 1 {
		return false
	}
	ss.bucket--
	return true
}

// access is what a command may do with a leg it names.
type access int

const (
	// control: the session owns the leg, or claims it now (an unclaimed
	// offer to one of its contexts), or has supervisor.control.
	control access = iota
	// claim: as control, but a supervisor does not bypass ownership:
	// the leg becomes the session's (answer, attach).
	claim
)

// leg finds the live leg a command names and checks the session may
// command it.
func (ss *session) leg(callID string, how access) (dialog.LegInfo, *Error) {
	if callID == "" {
		return dialog.LegInfo{}, fail(CodeInvalidParams, "call_id is required")
	}
	id := ss.resolve(callID)
	info, ok := ss.srv.e.Leg(id)
	if !ok {
		return info, fail(CodeCallNotFound, "no call %q", callID)
	}
	switch {
	case info.Owner == ss.tag:
		return info, nil
	case info.Owner == "" && ss.srv.offeredTo(ss, id):
		return info, ss.srv.claim(ss, id)
	case how == claim && info.Owner == "" && ss.tok.scopes[scopeSupervisor]:
		return info, ss.srv.claim(ss, id)
	case how == control && ss.tok.scopes[scopeSupervisor]:
		return info, nil
	case info.Owner == "":
		return info, fail(CodeForbidden, "call %q is not this session's: scope required: %s", callID, scopeSupervisor)
	}
	return info, fail(CodeAlreadyOwned, "call %q is owned by another session", callID)
}
