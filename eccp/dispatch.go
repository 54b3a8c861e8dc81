package eccp

import (
	"context"
	"errors"
)

// errTop is a failure written at the top of the response, outside the
// request's own _response element: a protocol or format error.
type errTop struct {
	code int
	msg  string
}

func (e errTop) Error() string { return e.msg }

// badRequest is the top-level 400.
func badRequest(msg string) error { return errTop{400, msg} }

// handler answers one request with its <NAME_response>, or an errTop.
type handler func(ctx context.Context, s *session, args *xnode) (*node, error)

// auth is what a request needs before its handler runs.
type auth int

const (
	authNone  auth = iota // getrequestlist, login, logout
	authLogin             // a logged-in session
	authAgent             // and agent_number with a valid agent_hash
)

// request is one request the server knows: its name, what it needs, and
// its handler.
type request struct {
	name string
	auth auth
	h    handler
}

// requests lists every request in dialerd's order, which getrequestlist
// reports; nothing outside this list is answered but with 501. It is
// filled in init, as getrequestlist's handler reads it.
var requests []request

func init() {
	requests = []request{
		{"getrequestlist", authNone, handleGetRequestList},
		{"filterbyagent", authLogin, handleFilterByAgent},
		{"login", authNone, handleLogin},
		{"logout", authNone, handleLogout},
		{"getqueuescript", authLogin, handleGetQueueScript},
		{"getcampaignlist", authLogin, handleGetCampaignList},
		{"getincomingqueuelist", authLogin, handleGetIncomingQueueList},
		{"getcampaignqueuewait", authLogin, handleGetCampaignQueueWait},
		{"getcampaigninfo", authLogin, handleGetCampaignInfo},
		{"getcallinfo", authLogin, handleGetCallInfo},
		{"setcontact", authAgent, handleSetContact},
		{"saveformdata", authAgent, handleSaveFormData},
		{"getpauses", authLogin, handleGetPauses},
		{"loginagent", authLogin, handleLoginAgent},
		{"logoutagent", authLogin, handleLogoutAgent},
		{"pauseagent", authAgent, handlePauseAgent},
		{"pingagent", authAgent, handlePingAgent},
		{"unpauseagent", authAgent, handleUnpauseAgent},
		{"getagentstatus", authLogin, handleGetAgentStatus},
		{"getmultipleagentstatus", authLogin, handleGetMultipleAgentStatus},
		{"mixmonitormute", authAgent, handleMixMonitorMute},
		{"mixmonitorunmute", authAgent, handleMixMonitorUnmute},
		{"hangup", authAgent, handleHangup},
		{"getcampaignstatus", authLogin, handleGetCampaignStatus},
		{"getincomingqueuestatus", authLogin, handleGetIncomingQueueStatus},
		{"schedulecall", authAgent, handleScheduleCall},
		{"transfercall", authAgent, handleTransferCall},
		{"atxfercall", authAgent, handleAtxferCall},
		{"hold", authAgent, handleHold},
		{"unhold", authAgent, handleUnhold},
		{"getagentqueues", authLogin, handleGetAgentQueues},
		{"getmultipleagentqueues", authLogin, handleGetMultipleAgentQueues},
		{"getagentactivitysummary", authLogin, handleGetAgentActivitySummary},
		{"getchanvars", authAgent, handleGetChanVars},
		{"callprogress", authLogin, handleCallProgress},
		{"campaignlog", authLogin, handleCampaignLog},
		{"dumpstatus", authLogin, handleDumpStatus},
		{"refreshagents", authLogin, handleRefreshAgents},
	}
}

func lookup(name string) (request, bool) {
	for _, r := range requests {
		if r.name == name {
			return r, true
		}
	}
	return request{}, false
}

// dispatch runs one request and returns what goes inside <response>, and
// whether the session ends after it (logout).
func (s *Server) dispatch(ctx context.Context, ss *session, cmd *xnode) (*node, bool) {
	r, ok := lookup(cmd.Name)
	if !ok {
		return failure(501, "Not Implemented"), false
	}
	if r.auth >= authLogin && ss.loggedUser() == "" {
		return failure(401, "Unauthorized"), false
	}
	if r.auth == authAgent {
		if !cmd.has("agent_number") {
			return failure(400, "Bad request"), false
		}
		if _, code, msg := s.checkAgent(ss, cmd); code != 0 {
			return respond(r.name, failure(code, msg)), false
		}
	}
	body, err := r.h(ctx, ss, cmd)
	var top errTop
	switch {
	case errors.As(err, &top):
		s.mx.requests.WithLabelValues("error").Inc()
		return failure(top.code, top.msg), false
	case err != nil:
		s.log.Error("eccp request failed", "request", r.name, "remote", ss.remote, "error", err)
		s.mx.requests.WithLabelValues("error").Inc()
		return failure(500, "Internal server error"), false
	case body.child("failure") != nil:
		s.mx.requests.WithLabelValues("failure").Inc()
	default:
		s.mx.requests.WithLabelValues("success").Inc()
	}
	return body, r.name == "logout"
}

// checkAgent resolves agent_number and checks agent_hash: 417 for a name
// that is not TYPE/NUMBER, 404 for no such agent, 401 for a wrong hash
// or an agent with no eccp_password.
func (s *Server) checkAgent(ss *session, args *xnode) (*agentRef, int, string) {
	a, code, msg := s.agentByName(args.text("agent_number"))
	if code != 0 {
		return nil, code, msg
	}
	ss.mu.Lock()
	cookie := ss.cookie
	ss.mu.Unlock()
	if !a.hashOK(cookie, args.text("agent_hash")) {
		return nil, 401, "Unauthorized agent"
	}
	return a, 0, ""
}

// agent is the agent a request names, already checked by dispatch for
// agent-authenticated requests.
func (ss *session) agent(args *xnode) *agentRef {
	a, _, _ := ss.srv.agentByName(args.text("agent_number"))
	return a
}
