package rwi

import (
	"slices"
	"strconv"
	"strings"

	"pbx/campaign"
	"pbx/dialog"
	"pbx/queue"
)

// eventNames are the RWI events a session may ask for.
var eventNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`call.incoming call.ringing call.early_media call.answered call.bridged
		call.unbridged call.transferred call.transfer.failed call.hangup call.dtmf dtmf.collected
		media.play.started media.play.finished media.hold.started media.hold.stopped
		record.started record.paused record.resumed record.stopped
		supervisor.listen.started supervisor.whisper.started supervisor.barge.started supervisor.takeover.started
		supervisor.mode.stopped conference.created conference.destroyed conference.member_joined
		conference.member_left conference.member_muted conference.member_unmuted
		sip.message.received sip.notify.received
		queue.joined queue.position_changed queue.agent_offered queue.agent_connected queue.agent_no_answer
		queue.hold queue.unhold queue.left queue.priority_changed agent.state_changed
		campaign.call_progress`) {
		eventNames[n] = true
	}
}

// pumpBuffer is how many engine events the pump may fall behind by
// before it resumes from the bus's history.
const pumpBuffer = 8192

// pump routes every engine event to the sessions it concerns. A
// subscription that lags resumes from the last event it delivered.
func (s *Server) pump(sub *dialog.Subscription) {
	for {
		select {
		case <-s.ctx.Done():
			sub.Close()
			return
		case ev, ok := <-sub.C:
			if ok {
				s.route(ev)
				continue
			}
			next, err := s.e.Subscribe(dialog.EventFilter{After: sub.Last(), Resume: true, Buffer: pumpBuffer})
			if err != nil {
				s.log.Error("rwi events lost: resubscribing live", "error", err)
				if next, err = s.e.Subscribe(dialog.EventFilter{Buffer: pumpBuffer}); err != nil {
					s.log.Error("rwi events: no subscription", "error", err)
					return
				}
			}
			sub = next
		}
	}
}

// route gives an event to the owner of its leg; an unclaimed offer's
// events to the sessions subscribed to its context; a room's events
// also to the session that made the room.
func (s *Server) route(ev dialog.Event) {
	if contactCenter(ev.Kind) {
		s.routeQueue(ev)
		return
	}
	if ev.Kind == campaign.EventCallProgress {
		if ev.Campaign != 0 { // not the record of a queue call in no campaign, which ECCP has made
			s.routeCampaign(ev)
		}
		return
	}
	var targets []*session
	s.mu.Lock()
	if id, ok := strings.CutPrefix(ev.Owner, "rwi:"); ok {
		if ss := s.sessions[id]; ss != nil {
			targets = append(targets, ss)
		}
	} else if o := s.offers[ev.LegID]; o != nil && ev.Owner == "" {
		targets = s.subscribersLocked(o.context)
	}
	for _, ss := range s.watchers[ev.LegID] {
		if !slices.Contains(targets, ss) {
			targets = append(targets, ss)
		}
	}
	if strings.HasPrefix(string(ev.Kind), "room.") {
		if ss := s.sessions[s.rooms[ev.Detail]]; ss != nil && !slices.Contains(targets, ss) {
			targets = append(targets, ss)
		}
	}
	switch ev.Kind {
	case dialog.EventLegEnded:
		delete(s.offers, ev.LegID)
		delete(s.watchers, ev.LegID)
	case dialog.EventRoomEnded:
		delete(s.rooms, ev.Detail)
	}
	s.mu.Unlock()
	for _, ss := range targets {
		ss.deliver(ev)
	}
}

// contactCenter tells the contact center's events (queue.*, agent.*)
// from the engine's.
func contactCenter(k dialog.EventKind) bool {
	return strings.HasPrefix(string(k), "queue.") || strings.HasPrefix(string(k), "agent.")
}

// routeQueue gives a contact-center event to the sessions it concerns. A
// caller's event goes to the owner of the caller's leg and its watchers,
// like the leg's own events; when no session owns the leg (a caller the
// dial plan queued), and for agent.state_changed, to every session whose
// token has queue.control: the wallboards. The owner is the leg's, looked
// up when the event does not say: the contact center publishes events of
// its own, and a caller who hangs up leaves the queue after the leg has
// ended, so the owner a leg had when it joined is kept until queue.left.
func (s *Server) routeQueue(ev dialog.Event) {
	caller := ev.LegID != "" && ev.Kind != queue.EventAgentStateChanged
	s.mu.Lock()
	if len(s.sessions) == 0 {
		// Nobody to tell, and no leg a session owns (an expired
		// session's legs are given up): no lookup.
		if ev.Kind == queue.EventLeft {
			delete(s.queued, ev.LegID)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	owner := ev.Owner
	if owner == "" && caller {
		owner = s.legOwner(ev.LegID)
	}
	var targets []*session
	s.mu.Lock()
	if caller {
		if id, ok := strings.CutPrefix(owner, "rwi:"); ok {
			if ss := s.sessions[id]; ss != nil {
				targets = append(targets, ss)
			}
		}
		for _, ss := range s.watchers[ev.LegID] {
			if !slices.Contains(targets, ss) {
				targets = append(targets, ss)
			}
		}
	}
	if !caller || owner == "" {
		for _, ss := range s.sessions {
			if ss.tok.scopes[scopeQueue] && !slices.Contains(targets, ss) {
				targets = append(targets, ss)
			}
		}
	}
	switch ev.Kind {
	case queue.EventJoined:
		if owner != "" {
			s.queued[ev.LegID] = owner
		}
	case queue.EventLeft:
		delete(s.queued, ev.LegID)
	}
	s.mu.Unlock()
	for _, ss := range targets {
		ss.deliver(ev)
	}
}

// legOwner is the owner of a leg: the engine's, or, for a leg that
// ended while queued, the one it had when it joined. s.mu not held: the
// engine's lock is never taken under it.
func (s *Server) legOwner(legID string) string {
	if l, ok := s.e.Leg(legID); ok {
		return l.Owner
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued[legID]
}

// routeCampaign gives campaign.call_progress to every session whose
// token has queue.control (the dashboards of the dialer), and to the
// owner of the call's leg and its watchers when a session has one (an
// incoming campaign's caller a session queued). The dialer's own legs
// are owned by the campaign center, not by a session.
func (s *Server) routeCampaign(ev dialog.Event) {
	s.mu.Lock()
	none := len(s.sessions) == 0
	s.mu.Unlock()
	if none {
		return
	}
	owner := ev.Owner
	if owner == "" && ev.LegID != "" {
		owner = s.legOwner(ev.LegID)
	}
	var targets []*session
	s.mu.Lock()
	if id, ok := strings.CutPrefix(owner, "rwi:"); ok {
		if ss := s.sessions[id]; ss != nil {
			targets = append(targets, ss)
		}
	}
	if ev.LegID != "" {
		for _, ss := range s.watchers[ev.LegID] {
			if !slices.Contains(targets, ss) {
				targets = append(targets, ss)
			}
		}
	}
	for _, ss := range s.sessions {
		if ss.tok.scopes[scopeQueue] && !slices.Contains(targets, ss) {
			targets = append(targets, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range targets {
		ss.deliver(ev)
	}
}

// track notes the owner of a leg a command puts in a queue before it
// joins, for the events that follow (see routeQueue); the func returned
// forgets it again if the leg did not join.
func (s *Server) track(l dialog.LegInfo) (untrack func()) {
	if l.Owner == "" {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queued[l.ID]; ok {
		return func() {}
	}
	s.queued[l.ID] = l.Owner
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.queued[l.ID] == l.Owner {
			delete(s.queued, l.ID)
		}
	}
}

// watch adds (on) or removes a session from a leg's watchers; it reports
// whether the session watched the leg before.
func (s *Server) watch(ss *session, legID string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.watchers[legID]
	i := slices.Index(list, ss)
	switch {
	case on && i < 0:
		s.watchers[legID] = append(list, ss)
	case !on && i >= 0:
		list = slices.Delete(list, i, i+1)
		if len(list) == 0 {
			delete(s.watchers, legID)
		} else {
			s.watchers[legID] = list
		}
	}
	return i >= 0
}

// deliver translates an engine event into the session's terms and sends it.
func (ss *session) deliver(ev dialog.Event) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ev.Owner == ss.tag && ev.Kind != dialog.EventLegEnded {
		ss.owned[ev.LegID] = true // a leg the engine gave it (a transfer's target)
	}
	name, data, ok := ss.translateLocked(ev)
	if ok {
		ss.emitLocked(name, ss.nameLocked(ev.LegID), "", ev.Time, data)
	}
	// A leg of its own waiting in a queue keeps its name after it ends,
	// for the queue.left that follows.
	switch ev.Kind {
	case queue.EventJoined:
		if _, in := ss.queued[ev.LegID]; !in && ss.owned[ev.LegID] {
			ss.queued[ev.LegID] = false
		}
	case queue.EventLeft:
		ended, in := ss.queued[ev.LegID]
		delete(ss.queued, ev.LegID)
		if in && ended {
			ss.forgetLocked(ev.LegID)
		}
	case dialog.EventLegEnded:
		if _, in := ss.queued[ev.LegID]; in {
			ss.queued[ev.LegID] = true
		} else {
			ss.forgetLocked(ev.LegID)
		}
	}
}

// translateLocked names an engine event in RWI and gives its data; false
// for events RWI does not report.
func (ss *session) translateLocked(ev dialog.Event) (string, any, bool) {
	switch ev.Kind {
	case dialog.EventLegRinging:
		return "call.ringing", nil, true
	case dialog.EventLegEarly:
		return "call.early_media", nil, true
	case dialog.EventLegAnswered:
		return "call.answered", nil, true
	case dialog.EventLegBridged:
		return "call.bridged", map[string]string{
			"leg_a": ss.nameLocked(ev.LegID), "leg_b": ss.nameLocked(ev.OtherLegID), "bridge_id": ev.BridgeID,
		}, true
	case dialog.EventLegUnbridged:
		return "call.unbridged", map[string]string{"bridge_id": ev.BridgeID}, true
	case dialog.EventLegEnded:
		d := map[string]any{"reason": ev.Cause, "sip_status": nil, "hangup_by": hangupBy(ev)}
		if ev.SIPCode != 0 {
			d["sip_status"] = ev.SIPCode
		}
		return "call.hangup", d, true
	case dialog.EventLegHeld:
		return "media.hold.started", map[string]string{"music": ev.Detail}, true
	case dialog.EventLegResumed:
		return "media.hold.stopped", nil, true
	case dialog.EventDTMF:
		return "call.dtmf", map[string]string{"digit": ev.Digit, "source": ev.Source}, true
	case dialog.EventDigits:
		return "dtmf.collected", map[string]string{"digits": ev.Digits, "reason": ev.Cause}, true
	case dialog.EventPlayStarted:
		return "media.play.started", map[string]string{"play_id": ev.Detail}, true
	case dialog.EventPlayFinished:
		return "media.play.finished", map[string]any{
			"play_id": ev.Detail, "interrupted": ev.Cause == "interrupted", "reason": ev.Cause,
		}, true
	case dialog.EventRecordingStarted:
		return "record.started", map[string]string{"recording_id": ev.Detail}, true
	case dialog.EventRecordingPaused:
		return "record.paused", map[string]string{"recording_id": ev.Detail}, true
	case dialog.EventRecordingResumed:
		return "record.resumed", map[string]string{"recording_id": ev.Detail}, true
	case dialog.EventRecordingStopped:
		return "record.stopped", map[string]any{"recording_id": ev.Detail, "duration_secs": ev.Duration.Seconds()}, true
	case dialog.EventTransferDone:
		return "call.transferred", map[string]string{"target": ev.Detail, "peer_call_id": ss.nameLocked(ev.OtherLegID)}, true
	case dialog.EventTransferFailed:
		return "call.transfer.failed", map[string]string{"target": ev.Detail, "reason": ev.Cause}, true
	case dialog.EventSuperviseStarted:
		return "supervisor." + ev.Detail + ".started", ss.superviseData(ev), true
	case dialog.EventSuperviseStopped:
		return "supervisor.mode.stopped", ss.superviseData(ev), true
	case dialog.EventRoomCreated:
		return "conference.created", map[string]string{"conf_id": ev.Detail}, true
	case dialog.EventRoomEnded:
		return "conference.destroyed", map[string]string{"conf_id": ev.Detail}, true
	case dialog.EventRoomJoined:
		return "conference.member_joined", ss.memberData(ev), true
	case dialog.EventRoomLeft:
		return "conference.member_left", ss.memberData(ev), true
	case dialog.EventRoomMuted:
		return "conference.member_muted", ss.memberData(ev), true
	case dialog.EventRoomUnmuted:
		return "conference.member_unmuted", ss.memberData(ev), true
	case dialog.EventLegMessage:
		return "sip.message.received", map[string]string{"content_type": ev.ContentType, "body": ev.Body}, true
	case dialog.EventLegNotify:
		return "sip.notify.received", map[string]string{"event": ev.Detail, "content_type": ev.ContentType, "body": ev.Body}, true
	}
	if contactCenter(ev.Kind) {
		return ss.translateQueueLocked(ev)
	}
	if ev.Kind == campaign.EventCallProgress {
		return string(ev.Kind), ss.campaignDataLocked(ev), true
	}
	return "", nil, false
}

// campaignDataLocked is campaign.call_progress's data: the campaign, its
// call (campaign_call_id: call_id is a leg in RWI), the call's new status
// and number, and, when known, its queue, its agent and its leg (call_id
// as the session names it, and leg_id).
func (ss *session) campaignDataLocked(ev dialog.Event) map[string]any {
	d := map[string]any{
		"campaign_id": ev.Campaign, "campaign_call_id": ev.CampaignCall, "status": ev.State, "phone": ev.To,
	}
	if ev.Queue != "" {
		d["queue_id"] = ev.Queue
	}
	if ev.Agent != "" {
		d["agent_id"] = ev.Agent
	}
	if ev.LegID != "" {
		d["call_id"] = ss.nameLocked(ev.LegID)
		d["leg_id"] = ev.LegID
	}
	return d
}

// translateQueueLocked names a contact-center event in RWI: the event's
// kind is its name, and its data the caller's call_id, queue_id,
// agent_id, position, reason and wait_secs, or an agent's state and
// break.
func (ss *session) translateQueueLocked(ev dialog.Event) (string, any, bool) {
	d := map[string]any{}
	if ev.LegID != "" {
		d["call_id"] = ss.nameLocked(ev.LegID)
	}
	if ev.Queue != "" {
		d["queue_id"] = ev.Queue
	}
	switch ev.Kind {
	case queue.EventJoined:
		d["position"] = ev.Position
		if ev.Detail == "callback" {
			d["callback"] = true
		}
	case queue.EventPositionChanged:
		d["position"] = ev.Position
	case queue.EventAgentOffered:
		d["agent_id"] = ev.Agent
	case queue.EventAgentConnected:
		d["agent_id"] = ev.Agent
		if ev.OtherLegID != "" {
			d["agent_call_id"] = ss.nameLocked(ev.OtherLegID)
		}
		d["wait_secs"] = secs(ev.Wait)
	case queue.EventAgentNoAnswer:
		d["agent_id"] = ev.Agent
		d["reason"] = ev.Cause
	case queue.EventHold, queue.EventUnhold:
	case queue.EventLeft:
		d["reason"] = ev.Cause
		d["wait_secs"] = secs(ev.Wait)
		d["position"] = ev.Position
	case queue.EventPriorityChanged:
		if p, err := strconv.Atoi(ev.Detail); err == nil {
			d["priority"] = p
		}
	case queue.EventAgentStateChanged:
		d["agent_id"] = ev.Agent
		d["state"] = ev.State
		if ev.Detail != "" {
			d["break"] = ev.Detail
		}
		if ev.Cause != "" {
			d["reason"] = ev.Cause
		}
	default:
		return "", nil, false
	}
	return string(ev.Kind), d, true
}

func (ss *session) superviseData(ev dialog.Event) map[string]string {
	return map[string]string{"supervisor_call_id": ss.nameLocked(ev.LegID), "target_call_id": ss.nameLocked(ev.OtherLegID)}
}

func (ss *session) memberData(ev dialog.Event) map[string]string {
	return map[string]string{"conf_id": ev.Detail, "call_id": ss.nameLocked(ev.LegID)}
}

// hangupBy says who ended a leg in rustpbx's words: the far end is the
// caller of an inbound leg and the callee of an outbound one.
func hangupBy(ev dialog.Event) string {
	if ev.By != "remote" {
		return "system"
	}
	if ev.Direction == string(dialog.Inbound) {
		return "caller"
	}
	return "callee"
}
