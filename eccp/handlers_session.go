package eccp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"pbx/clients"
)

// Requests about the session itself.

func handleGetRequestList(_ context.Context, _ *session, _ *xnode) (*node, error) {
	list := el("requests")
	for _, r := range requests {
		list.add(tx("request", r.name))
	}
	return respond("getrequestlist", list), nil
}

// handleLogin checks a client's username and password (plaintext or its
// MD5) against the clients of pbx.yaml and of the store, and gives the
// session a fresh cookie. A login may be repeated on a session.
func handleLogin(_ context.Context, ss *session, args *xnode) (*node, error) {
	if !args.has("username") || !args.has("password") {
		return nil, badRequest("Bad request")
	}
	user, pass := args.text("username"), args.text("password")
	if !ss.srv.clientOK(user, pass) {
		ss.srv.log.Info("eccp login refused", "remote", ss.remote, "username", user)
		return respond("login", failure(401, "Invalid username or password")), nil
	}
	var b [16]byte
	rand.Read(b[:])
	cookie := hex.EncodeToString(b[:])
	ss.mu.Lock()
	ss.user, ss.cookie = user, cookie
	ss.mu.Unlock()
	ss.srv.log.Debug("eccp login", "remote", ss.remote, "username", user)
	return respond("login", tx("success", ""), tx("app_cookie", cookie)), nil
}

// clientOK checks a client's credentials: the stored MD5 equals the
// password sent, or its MD5.
func (s *Server) clientOK(user, pass string) bool {
	var stored []string
	for _, c := range s.cfg.Clients {
		if c.Username != user {
			continue
		}
		if c.MD5Password != "" {
			stored = append(stored, strings.ToLower(c.MD5Password))
		} else {
			stored = append(stored, clients.MD5Hex(c.Password))
		}
	}
	if s.st != nil {
		list, err := clients.List(s.st)
		if err != nil {
			s.log.Error("eccp clients in the store", "error", err)
		}
		for _, c := range list {
			if c.Username == user {
				stored = append(stored, strings.ToLower(c.MD5Password))
			}
		}
	}
	hashed := clients.MD5Hex(pass)
	ok := false
	for _, m := range stored {
		if subtle.ConstantTimeCompare([]byte(m), []byte(strings.ToLower(pass))) == 1 ||
			subtle.ConstantTimeCompare([]byte(m), []byte(hashed)) == 1 {
			ok = true
		}
	}
	return ok
}

func handleLogout(_ context.Context, _ *session, _ *xnode) (*node, error) {
	return success("logout"), nil
}

// handleFilterByAgent keeps the session to one agent's events; "any"
// lifts the filter.
func handleFilterByAgent(_ context.Context, ss *session, args *xnode) (*node, error) {
	name := args.text("agent_number")
	if name != "any" {
		if !agentNumber.MatchString(name) {
			return respond("filterbyagent", failure(417, "Invalid agent number")), nil
		}
	} else {
		name = ""
	}
	ss.mu.Lock()
	ss.filter = name
	ss.mu.Unlock()
	return success("filterbyagent"), nil
}

// handleCallProgress turns callprogress events on or off for the session.
func handleCallProgress(_ context.Context, ss *session, args *xnode) (*node, error) {
	if !args.has("enable") {
		return nil, badRequest("Bad request")
	}
	on := args.text("enable") != "0"
	ss.mu.Lock()
	ss.progress = on
	ss.mu.Unlock()
	return success("callprogress"), nil
}

// handleGetPauses lists the break types: id is the place in
// contact_center.breaks, from 1.
func handleGetPauses(_ context.Context, ss *session, _ *xnode) (*node, error) {
	r := respond("getpauses")
	for i, b := range ss.srv.breaks {
		r.add(el("pause", tx("name", b.Name), tx("status", "A"), tx("type", "B"), tx("description", "")).attr("id", itoa(i+1)))
	}
	return r, nil
}

// handleDumpStatus writes the agents' state to the log, as dialerd dumps
// its state for a support engineer.
func handleDumpStatus(_ context.Context, ss *session, _ *xnode) (*node, error) {
	s := ss.srv
	s.mu.Lock()
	n := len(s.sessions)
	s.mu.Unlock()
	s.log.Info("eccp status", "sessions", n)
	for _, a := range s.agents {
		if st, ok := s.q.Agent(a.ID); ok {
			s.log.Info("eccp agent", "agent", a.Name, "state", st.State, "break", st.Break, "queues", st.Queues, "call_leg", st.CallLegID)
		}
	}
	return success("dumpstatus"), nil
}

// handleRefreshAgents tells clients anything about the agents they have
// not been told yet.
func handleRefreshAgents(_ context.Context, ss *session, _ *xnode) (*node, error) {
	for _, a := range ss.srv.agents {
		ss.srv.track.sync(a.ID)
	}
	return success("refreshagents"), nil
}
