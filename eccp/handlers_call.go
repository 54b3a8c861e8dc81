package eccp

import (
	"context"
	"strings"
	"time"

	"pbx/campaign"
	"pbx/queue"
)

// Requests about the call an agent is on: hold, transfers, hang-up,
// recording mute and the call's variables.

// onCall reports whether the agent talks to (or holds) a caller.
func onCall(st queue.AgentStatus) bool {
	return (st.State == queue.StateOnCall || st.State == queue.StateOnHold) && st.CallLegID != ""
}

// onCallChecked answers the checks of unhold and getchanvars: an agent
// the contact center knows, logged in and on a call; failure otherwise.
func (s *Server) onCallChecked(a *agentRef, name string) (queue.AgentStatus, *node) {
	st, ok := s.q.Agent(a.ID)
	switch {
	case !ok:
		return st, respond(name, failure(404, "Specified agent not found"))
	case st.State == queue.StateLoggedOut:
		return st, respond(name, failure(417, "Agent currently not logged in"))
	case !onCall(st):
		return st, respond(name, failure(417, "Agent not in call"))
	}
	return st, nil
}

// handleHold holds the agent's call: the caller hears the queue's music,
// and pausestart (class hold) goes out before the response.
func handleHold(ctx context.Context, ss *session, args *xnode) (*node, error) {
	const name = "hold"
	s, a := ss.srv, ss.agent(args)
	st, fail := s.loggedIn(a, name)
	switch {
	case fail != nil:
		return fail, nil
	case !onCall(st):
		return respond(name, failure(417, "Agent not in call")), nil
	case st.OnHold:
		return respond(name, failure(417, "Agent already in hold")), nil
	}
	if err := s.q.HoldCall(ctx, a.ID, true); err != nil {
		s.log.Warn("eccp hold", "agent", a.Name, "error", err)
		return respond(name, failure(500, "Unable to start agent hold")), nil
	}
	s.track.sync(a.ID)
	return success(name), nil
}

// handleUnhold takes the agent's call off hold; a call not held is a
// success.
func handleUnhold(ctx context.Context, ss *session, args *xnode) (*node, error) {
	const name = "unhold"
	s, a := ss.srv, ss.agent(args)
	st, fail := s.onCallChecked(a, name)
	switch {
	case fail != nil:
		return fail, nil
	case !st.OnHold:
		return success(name), nil
	}
	if err := s.q.HoldCall(ctx, a.ID, false); err != nil {
		s.log.Warn("eccp unhold", "agent", a.Name, "error", err)
		return respond(name, failure(500, "Unable to stop agent hold")), nil
	}
	s.track.sync(a.ID)
	return success(name), nil
}

func handleTransferCall(ctx context.Context, ss *session, args *xnode) (*node, error) {
	return transfer(ctx, ss, args, "transfercall", false)
}

func handleAtxferCall(ctx context.Context, ss *session, args *xnode) (*node, error) {
	return transfer(ctx, ss, args, "atxfercall", true)
}

// transfer sends the agent's caller to an extension: blind, or attended
// (the agent talks to the extension first; hangup completes it).
func transfer(ctx context.Context, ss *session, args *xnode, name string, attended bool) (*node, error) {
	ext := args.text("extension")
	if ext == "" || strings.Trim(ext, "0123456789") != "" {
		return nil, badRequest("Bad request")
	}
	s, a := ss.srv, ss.agent(args)
	st, ok := s.q.Agent(a.ID)
	switch {
	case !ok:
		return respond(name, failure(404, "Specified agent not found")), nil
	case !onCall(st):
		return respond(name, failure(417, "Agent not in call")), nil
	}
	if err := s.q.TransferCall(ctx, a.ID, ext, attended); err != nil {
		s.log.Warn("eccp transfer", "agent", a.Name, "extension", ext, "attended", attended, "error", err)
		return respond(name, failure(500, "Unable to transfer call")), nil
	}
	return success(name), nil
}

// handleHangup ends the agent's call; the agent stays logged in.
func handleHangup(ctx context.Context, ss *session, args *xnode) (*node, error) {
	const name = "hangup"
	s, a := ss.srv, ss.agent(args)
	st, _ := s.q.Agent(a.ID)
	if !onCall(st) {
		return respond(name, failure(417, "Agent not in call")), nil
	}
	if err := s.q.HangupCall(ctx, a.ID); err != nil {
		s.log.Warn("eccp hangup", "agent", a.Name, "error", err)
		return respond(name, failure(500, "Cannot hangup agent call")), nil
	}
	return success(name), nil
}

func handleMixMonitorMute(ctx context.Context, ss *session, args *xnode) (*node, error) {
	return recordingMute(ctx, ss, args, "mixmonitormute", true)
}

func handleMixMonitorUnmute(ctx context.Context, ss *session, args *xnode) (*node, error) {
	return recordingMute(ctx, ss, args, "mixmonitorunmute", false)
}

// recordingMute mutes or unmutes the recording of the agent's call; a
// mute with a timeout (seconds) ends by itself. recordingmute or
// recordingunmute goes out before the response.
func recordingMute(ctx context.Context, ss *session, args *xnode, name string, muted bool) (*node, error) {
	s, a := ss.srv, ss.agent(args)
	timeout, present, ok := intArg(args, "timeout")
	if muted && present && (!ok || timeout < 0) {
		return respond(name, failure(417, "Invalid timeout")), nil
	}
	st, _ := s.q.Agent(a.ID)
	if !onCall(st) {
		return respond(name, failure(417, "Agent not in call")), nil
	}
	if err := s.q.MuteRecording(ctx, a.ID, muted); err != nil {
		s.log.Info("eccp recording mute", "agent", a.Name, "muted", muted, "error", err)
		if muted {
			return respond(name, failure(500, "Cannot mute agent call")), nil
		}
		return respond(name, failure(500, "Cannot unmute agent call")), nil
	}
	s.emitRecording(a, st, muted)
	if muted && timeout > 0 {
		leg := st.CallLegID
		s.afterFunc(time.Duration(timeout)*time.Second, func() {
			if now, ok := s.q.Agent(a.ID); ok && now.CallLegID == leg {
				if err := s.q.MuteRecording(s.ctx, a.ID, false); err == nil {
					s.emitRecording(a, now, false)
				}
			}
		})
	}
	return success(name), nil
}

// emitRecording sends recordingmute or recordingunmute.
func (s *Server) emitRecording(a *agentRef, st queue.AgentStatus, muted bool) {
	ev := "recordingunmute"
	if muted {
		ev = "recordingmute"
	}
	kids := []*node{tx("agent_number", a.Name)}
	if c, ok := s.callOfLeg(st.CallLegID); ok {
		kids = append(kids, tx("calltype", string(c.Kind)), opt("campaign_id", campaignID(c)), txi("call_id", c.ID))
	}
	s.emit(ev, a.Name, kids...)
}

// callOfLeg is the campaign call record of a caller's leg.
func (s *Server) callOfLeg(leg string) (campaign.Call, bool) {
	if s.camp == nil || leg == "" {
		return campaign.Call{}, false
	}
	return s.camp.CallOfLeg(leg)
}

// campaignID is a call's campaign id, "" for a queue call of no campaign.
func campaignID(c campaign.Call) string {
	if c.CampaignID == 0 {
		return ""
	}
	return itoa(c.CampaignID)
}

// handleGetChanVars lists the variables of the agent's call: the SIP
// headers the caller's INVITE carried, then the call's attributes.
func handleGetChanVars(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getchanvars"
	s, a := ss.srv, ss.agent(args)
	st, fail := s.onCallChecked(a, name)
	if fail != nil {
		return fail, nil
	}
	want := map[string]bool{}
	if v := args.child("variables"); v != nil {
		for _, k := range v.Kids {
			want[strings.TrimSpace(k.Text)] = true
		}
	}
	vars := el("chanvars")
	addVar := func(label, value string) {
		if len(want) == 0 || want[label] {
			vars.add(el("chanvar", tx("label", label), tx("value", value)))
		}
	}
	if hs, ok := s.e.LegHeaders(st.CallLegID); ok {
		for _, h := range hs {
			addVar(h[0], h[1])
		}
	}
	if c, ok := s.callOfLeg(st.CallLegID); ok {
		for _, at := range c.Attributes {
			addVar(at.Label, at.Value)
		}
	}
	return respond(name, tx("clientchannel", s.remoteChannel(st.CallLegID)), vars), nil
}

// remoteChannel names a caller's leg as an Asterisk channel:
// SIP/FROM-SUFFIX.
func (s *Server) remoteChannel(leg string) string {
	from := "unknown"
	if info, ok := s.e.Leg(leg); ok && info.From != "" {
		from = info.From
	}
	return "SIP/" + from + "-" + legSuffix(leg)
}

// legSuffix is the last eight characters of a leg id, as Asterisk's
// channel names end in a sequence number.
func legSuffix(leg string) string {
	if len(leg) > 8 {
		return leg[len(leg)-8:]
	}
	return leg
}
