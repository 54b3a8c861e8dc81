package eccp

import (
	"context"
	"strconv"
	"time"

	"pbx/campaign"
	"pbx/queue"
)

// Requests about agents: logging in and out, breaks, and status.

// handleLoginAgent logs an agent in. A static agent (Agent/ID) is called
// at the extension: once answered, the call asks for the PIN, and
// agentloggedin or agentfailedlogin follows. A dynamic member (SIP/ID)
// joins its queues at once.
func handleLoginAgent(ctx context.Context, ss *session, args *xnode) (*node, error) {
	const name = "loginagent"
	if !args.has("agent_number") || !args.has("extension") {
		return nil, badRequest("Bad request")
	}
	timeout, _, ok := intArg(args, "timeout")
	if !ok || timeout < 0 {
		return nil, badRequest("Bad request")
	}
	out := func(code int, msg string) (*node, error) {
		return respond(name, tx("status", "logged-out"), failure(code, msg)), nil
	}
	s := ss.srv
	a, code, msg := s.checkAgent(ss, args)
	if code == 417 {
		code, msg = 404, "Specified agent not found"
	}
	if code != 0 {
		return out(code, msg)
	}
	ext := args.text("extension")
	if !s.users[ext] {
		return out(404, "Specified extension not found")
	}
	st, _ := s.q.Agent(a.ID)
	if st.State != queue.StateLoggedOut {
		if on := agentExtension(a, st); on != ext {
			return out(409, "Specified agent already connected to extension: SIP/"+on)
		}
		s.track.setIdleLimit(a.ID, time.Duration(timeout)*time.Second)
		return respond(name, tx("status", "logged-in")), nil
	}
	if a.Static {
		if err := s.track.beginLogin(ctx, a, ext); err != nil {
			s.log.Warn("eccp loginagent: calling the extension", "agent", a.Name, "extension", ext, "error", err)
			return out(500, "Failed to start login process")
		}
	} else {
		if err := s.q.Login(ctx, a.ID, queue.LoginOptions{}); err != nil {
			s.log.Warn("eccp loginagent", "agent", a.Name, "error", err)
			return out(500, "Failed to start login process")
		}
		s.track.sync(a.ID)
	}
	s.track.setIdleLimit(a.ID, time.Duration(timeout)*time.Second)
	return respond(name, tx("status", "logging")), nil
}

// agentExtension is the extension an agent is logged in on.
func agentExtension(a *agentRef, st queue.AgentStatus) string {
	if a.Static {
		return st.Device
	}
	return a.cfg.Contact
}

// handleLogoutAgent logs an agent out (a login call in progress is hung
// up); agentloggedout follows, after the pauseend of any open pause.
func handleLogoutAgent(ctx context.Context, ss *session, args *xnode) (*node, error) {
	const name = "logoutagent"
	if !args.has("agent_number") {
		return nil, badRequest("Bad request")
	}
	s := ss.srv
	a, code, msg := s.checkAgent(ss, args)
	if code == 417 {
		code, msg = 404, "Specified agent not found"
	}
	if code != 0 {
		return respond(name, tx("status", "logged-out"), failure(code, msg)), nil
	}
	s.track.cancelLogin(a.ID)
	if err := s.q.Logout(ctx, a.ID, "eccp logoutagent"); err != nil {
		s.log.Warn("eccp logoutagent", "agent", a.Name, "error", err)
	}
	s.track.sync(a.ID)
	return respond(name, tx("status", "logged-out")), nil
}

// loggedIn answers the checks of pauseagent, unpauseagent, hold and
// schedulecall: an agent the contact center knows and who is logged in;
// failure otherwise.
func (s *Server) loggedIn(a *agentRef, name string) (queue.AgentStatus, *node) {
	st, ok := s.q.Agent(a.ID)
	if !ok {
		return st, respond(name, failure(404, "Agent not found or not logged in through ECCP"))
	}
	if st.State == queue.StateLoggedOut {
		return st, respond(name, failure(417, "Agent currently not logged in"))
	}
	return st, nil
}

// handlePauseAgent starts a break (pause_type is a getpauses id);
// pausestart goes out before the response. The same break again is a
// success with no event.
func handlePauseAgent(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "pauseagent"
	s, a := ss.srv, ss.agent(args)
	id, err := strconv.Atoi(args.text("pause_type"))
	if err != nil || id < 1 || id > len(s.breaks) {
		return respond(name, failure(404, "Break ID not found or not active")), nil
	}
	brk := s.breaks[id-1].Name
	st, fail := s.loggedIn(a, name)
	if fail != nil {
		return fail, nil
	}
	if st.Paused && st.Break == brk {
		return success(name), nil
	}
	if st.Paused {
		return respond(name, failure(417, "Agent already in incompatible break")), nil
	}
	if err := s.q.Pause(a.ID, brk, "eccp"); err != nil {
		s.log.Warn("eccp pauseagent", "agent", a.Name, "error", err)
		return respond(name, failure(500, "Unable to start agent break")), nil
	}
	s.track.sync(a.ID)
	return success(name), nil
}

// handleUnpauseAgent ends a break; pauseend goes out before the
// response. An agent in no break gets a success and no event.
func handleUnpauseAgent(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "unpauseagent"
	s, a := ss.srv, ss.agent(args)
	st, fail := s.loggedIn(a, name)
	if fail != nil {
		return fail, nil
	}
	if st.Paused {
		if err := s.q.Unpause(a.ID); err != nil {
			s.log.Warn("eccp unpauseagent", "agent", a.Name, "error", err)
			return respond(name, failure(500, "Unable to stop agent break")), nil
		}
		s.track.sync(a.ID)
	}
	return success(name), nil
}

// handlePingAgent refreshes the agent's inactivity timeout.
func handlePingAgent(_ context.Context, ss *session, args *xnode) (*node, error) {
	s, a := ss.srv, ss.agent(args)
	st, ok := s.q.Agent(a.ID)
	if !ok || st.State == queue.StateLoggedOut {
		return respond("pingagent", failure(404, "Specified agent not found")), nil
	}
	s.track.ping(a.ID)
	return success("pingagent"), nil
}

func handleGetAgentStatus(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getagentstatus"
	if !args.has("agent_number") {
		return nil, badRequest("Bad request")
	}
	a, code, _ := ss.srv.agentByName(args.text("agent_number"))
	if code != 0 {
		return respond(name, tx("status", "offline"), failure(404, "Invalid agent number")), nil
	}
	return respond(name, ss.srv.agentStatusNodes(a, false)...), nil
}

func handleGetMultipleAgentStatus(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getmultipleagentstatus"
	list := args.child("agents")
	if list == nil {
		return nil, badRequest("Bad request")
	}
	out := el("agents")
	for _, n := range list.all("agent_number") {
		a, code, msg := ss.srv.agentByName(n.Text)
		if code != 0 {
			return respond(name, failure(code, msg)), nil
		}
		out.add(el("agent", append([]*node{tx("agent_number", a.Name)}, ss.srv.agentStatusNodes(a, false)...)...))
	}
	return respond(name, out), nil
}

// eccpStatus is an agent's status as ECCP reports it: a call first, then
// a pause (a break or a hold), then logged in.
func eccpStatus(st queue.AgentStatus) string {
	switch {
	case st.State == queue.StateOnCall || st.State == queue.StateOnHold:
		return "oncall"
	case st.State == queue.StateLoggedOut:
		return "offline"
	case st.Paused || st.OnHold:
		return "paused"
	}
	return "online"
}

// agentStatusNodes are the children of getagentstatus; flat gives the
// flattened form of getcampaignstatus and queuemembership, where the
// pause and call fields are direct children and the remote channel is
// callchannel.
func (s *Server) agentStatusNodes(a *agentRef, flat bool) []*node {
	st, _ := s.q.Agent(a.ID)
	return s.statusNodes(a, st, s.track.logging(a.ID), flat)
}

// statusNodes are agentStatusNodes of a status read already; logging is
// the extension of the agent's login call in progress, if any.
func (s *Server) statusNodes(a *agentRef, st queue.AgentStatus, logging string, flat bool) []*node {
	status := eccpStatus(st)
	out := []*node{tx("status", status)}
	ext := ""
	switch {
	case st.State != queue.StateLoggedOut:
		ext = agentExtension(a, st)
	default:
		ext = logging // offline with a channel: entering the PIN
	}
	if ext != "" {
		ch := "SIP/" + ext
		if a.Static && st.LegID != "" {
			ch += "-" + legSuffix(st.LegID)
		}
		out = append(out, tx("channel", ch), tx("extension", ext))
	}
	var cl *campaign.Call
	if status == "oncall" && st.CallLegID != "" {
		remote := "callchannel"
		if !flat {
			remote = "remote_channel"
		}
		out = append(out, tx(remote, s.remoteChannel(st.CallLegID)))
		if c, ok := s.callOfLeg(st.CallLegID); ok {
			cl = &c
		}
	}
	if st.State != queue.StateLoggedOut {
		held := "0"
		if st.OnHold {
			held = "1"
		}
		out = append(out, tx("onhold", held))
	}
	if st.Paused {
		p := []*node{opt("pauseid", s.breakID(st.Break)), opt("pausename", st.Break), tx("pausestart", shortStamp(st.PausedAt, s.clock.Now()))}
		if flat {
			out = append(out, p...)
		} else {
			out = append(out, el("pauseinfo", p...))
		}
	}
	if cl != nil {
		c := s.callInfoNodes(*cl)
		if flat {
			out = append(out, c...)
		} else {
			out = append(out, el("callinfo", c...))
		}
	}
	return out
}

// callInfoNodes are getagentstatus's callinfo fields of a call.
func (s *Server) callInfoNodes(c campaign.Call) []*node {
	now := s.clock.Now()
	return []*node{
		tx("calltype", string(c.Kind)), txi("callid", c.ID), opt("campaign_id", campaignID(c)),
		opt("queuenumber", c.Queue), tx("callnumber", c.Phone), tx("callstatus", string(c.Status)),
		opt("trunk", c.Trunk), opt("dialstart", shortStamp(c.Originate, now)), opt("dialend", shortStamp(c.OriginateResponse, now)),
		opt("queuestart", shortStamp(c.Join, now)), opt("linkstart", shortStamp(c.LinkStart, now)),
	}
}

// shortStamp is stamp without the date when t is today.
func shortStamp(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	if y, m, d := t.Local().Date(); y == now.Local().Year() && m == now.Local().Month() && d == now.Local().Day() {
		return t.Local().Format(time.TimeOnly)
	}
	return stamp(t)
}

// membershipNodes are the children of queuemembership.
func (s *Server) membershipNodes(a *agentRef, st queue.AgentStatus, logging string) []*node {
	out := append([]*node{tx("agent_number", a.Name)}, s.statusNodes(a, st, logging, true)...)
	return append(out, queuesNode(st.Queues))
}
