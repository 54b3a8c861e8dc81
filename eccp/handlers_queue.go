package eccp

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"pbx/campaign"
	"pbx/config"
)

// Requests about queues and the agents' queues and activity. Every
// configured queue is an incoming queue, as ECCP names them: listed in
// config order, its id its place in the list.

// handleGetQueueScript is the script of an incoming queue: the script of
// its incoming campaign (an active one first, then the lowest id).
func handleGetQueueScript(_ context.Context, ss *session, args *xnode) (*node, error) {
	if !args.has("queue") {
		return nil, badRequest("Bad request")
	}
	s, name := ss.srv, args.text("queue")
	known := slices.ContainsFunc(s.queues, func(q config.Queue) bool { return q.Name == name })
	script := ""
	if s.camp != nil {
		var best *campaign.Campaign
		for _, cp := range s.camp.Campaigns() { // by id
			if cp.Kind != campaign.Incoming || cp.Queue != name {
				continue
			}
			known = true
			if best == nil || cp.Status == campaign.Active && best.Status != campaign.Active {
				best = &cp
			}
		}
		if best != nil {
			script = best.Script
		}
	}
	if !known {
		return respond("getqueuescript", failure(404, "Queue not found in incoming queues")), nil
	}
	return respond("getqueuescript", tx("script", script)), nil
}

// handleGetIncomingQueueList lists the queues, paged by offset and limit.
func handleGetIncomingQueueList(_ context.Context, ss *session, args *xnode) (*node, error) {
	offset, limit, limited, err := offsetLimit(args)
	if err != nil {
		return nil, err
	}
	qs := ss.srv.queues
	lo, hi := page(len(qs), offset, limit, limited)
	out := el("queues")
	for i := lo; i < hi; i++ {
		out.add(el("queue", txi("id", i+1), tx("queue", qs[i].Name), tx("status", "active")))
	}
	return respond("getincomingqueuelist", out), nil
}

// handleGetIncomingQueueStatus is getcampaignstatus for the calls of a
// queue that no incoming campaign took.
func handleGetIncomingQueueStatus(_ context.Context, ss *session, args *xnode) (*node, error) {
	if !args.has("queue") {
		return nil, badRequest("Bad request")
	}
	since, err := sinceArg(args)
	if err != nil {
		return nil, err
	}
	s, name := ss.srv, args.text("queue")
	ours := func(c campaign.Call) bool {
		return c.Kind == campaign.Incoming && c.CampaignID == 0 && c.Queue == name
	}
	var calls []campaign.Call
	if s.camp != nil {
		for _, c := range s.camp.Calls(0) {
			if ours(c) {
				calls = append(calls, c)
			}
		}
	}
	return respond("getincomingqueuestatus", s.campaignStatusBody(campaign.Incoming, calls, name, since, ours)...), nil
}

// agentQueues are the queues an agent is a member of.
func (s *Server) agentQueues(a *agentRef) []string {
	if s.q != nil {
		if st, ok := s.q.Agent(a.ID); ok {
			return st.Queues
		}
	}
	var out []string
	for _, q := range s.queues {
		if slices.ContainsFunc(q.Members, func(m config.Member) bool { return m.Agent == a.ID }) {
			out = append(out, q.Name)
		}
	}
	return out
}

func queuesNode(names []string) *node {
	out := el("queues")
	for _, q := range names {
		out.add(tx("queue", q))
	}
	return out
}

// handleGetAgentQueues lists the queues of an agent.
func handleGetAgentQueues(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getagentqueues"
	if !args.has("agent_number") {
		return nil, badRequest("Bad request")
	}
	a, code, _ := ss.srv.agentByName(args.text("agent_number"))
	if code != 0 {
		return respond(name, failure(404, "Specified agent not found")), nil
	}
	return respond(name, queuesNode(ss.srv.agentQueues(a))), nil
}

// handleGetMultipleAgentQueues lists the queues of several agents: every
// agent number must be one (417), and a known agent (404).
func handleGetMultipleAgentQueues(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getmultipleagentqueues"
	if !args.has("agents") {
		return nil, badRequest("Bad request")
	}
	var names []string
	for _, n := range args.child("agents").all("agent_number") {
		v := strings.TrimSpace(n.Text)
		if !agentNumber.MatchString(v) {
			return respond(name, failure(417, "Invalid agent number")), nil
		}
		if !slices.Contains(names, v) {
			names = append(names, v)
		}
	}
	refs := make([]*agentRef, 0, len(names))
	for _, n := range names {
		a, code, msg := ss.srv.agentByName(n)
		if code != 0 {
			return respond(name, failure(code, msg)), nil
		}
		refs = append(refs, a)
	}
	out := el("agents")
	for _, a := range refs {
		out.add(el("agent", tx("agent_number", a.Name), queuesNode(ss.srv.agentQueues(a))))
	}
	return respond(name, out), nil
}

// handleGetAgentActivitySummary is, for every agent, the time logged in
// between two dates, the calls talked by kind and queue, and the last
// session and pause.
func handleGetAgentActivitySummary(_ context.Context, ss *session, args *xnode) (*node, error) {
	s := ss.srv
	start, end, err := dateRange(args, s.clock.Now().Local().Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	from, err := time.ParseInLocation(time.DateOnly, start, time.Local)
	if err != nil {
		return nil, badRequest("Bad request - invalid start date")
	}
	last, err := time.ParseInLocation(time.DateOnly, end, time.Local)
	if err != nil {
		return nil, badRequest("Bad request - invalid end date")
	}
	to := last.AddDate(0, 0, 1)
	sessions := map[string]activity{}
	if s.q != nil {
		list, err := s.q.Activity(from, to)
		if err != nil {
			return nil, errTop{500, "Server error - database failure"}
		}
		for _, a := range list {
			sessions[agentIDOf(a.Agent)] = activity{a.LoginTime, a.LastLoginStart, a.LastLoginEnd, a.LastPauseStart, a.LastPauseEnd}
		}
	}
	calls := map[string][]campaign.AgentCalls{}
	if s.camp != nil {
		for _, c := range s.camp.AgentActivity(from, to) {
			id := agentIDOf(c.Agent)
			calls[id] = append(calls[id], c)
		}
	}
	out := el("agents")
	for _, a := range s.agents {
		act := sessions[a.ID]
		summary := el("callsummary")
		for _, kind := range []campaign.Kind{campaign.Incoming, campaign.Outgoing} {
			k := el(string(kind))
			mine := calls[a.ID]
			slices.SortStableFunc(mine, func(x, y campaign.AgentCalls) int { return cmp.Compare(x.Queue, y.Queue) })
			for _, c := range mine {
				if c.Kind == kind {
					k.add(el("queue", txi("sec_calls", wholeSeconds(c.Talking)), txi("num_calls", c.Calls)).attr("id", c.Queue))
				}
			}
			summary.add(k)
		}
		n := el("agent", tx("agentchannel", a.Name), tx("agentname", a.cfg.Name), txi("logintime", wholeSeconds(act.login)), summary)
		if !act.sessionStart.IsZero() {
			n.add(tx("lastsessionstart", stamp(act.sessionStart)), opt("lastsessionend", stamp(act.sessionEnd)))
		}
		if !act.pauseStart.IsZero() {
			n.add(tx("lastpausestart", stamp(act.pauseStart)), opt("lastpauseend", stamp(act.pauseEnd)))
		}
		out.add(n)
	}
	return respond("getagentactivitysummary", out), nil
}

// activity is an agent's sessions over a period.
type activity struct {
	login                    time.Duration
	sessionStart, sessionEnd time.Time
	pauseStart, pauseEnd     time.Time
}
