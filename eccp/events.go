package eccp

import (
	"time"

	"pbx/campaign"
	"pbx/dialog"
)

// Call events: the campaign package follows every call of a campaign or
// a queue and publishes its progress; here it becomes agentlinked (a call
// reached an agent), agentunlinked (it ended) and callprogress (every
// other step).

// callProgress turns a campaign.call_progress event into agentlinked
// (Success: an agent took the call) or callprogress.
func (s *Server) callProgress(ev dialog.Event) {
	if s.camp == nil {
		return
	}
	c, ok := s.camp.Call(ev.CampaignCall)
	if !ok {
		return
	}
	entry, _ := s.camp.LogEntry(ev.CampaignLog)
	s.scheduledProgress(c, campaign.CallStatus(ev.State))
	switch campaign.CallStatus(ev.State) {
	case campaign.Success:
		a := s.nameOf(c.Agent)
		if ev.Agent != "" {
			a = s.nameOf(ev.Agent)
		}
		kids := s.callRecordNodes(c, a, true)
		kids = append(kids, txi("campaignlog_id", ev.CampaignLog), tx("remote_channel", s.remoteChannel(ev.LegID)))
		s.emit("agentlinked", a, kids...)
	case campaign.ShortCall:
		// told by agentunlinked
	default:
		at := entry.Time
		if at.IsZero() {
			at = ev.Time
		}
		s.emit("callprogress", "",
			txi("retry", c.Retries), opt("uniqueid", c.UniqueID), opt("trunk", c.Trunk), opt("duration", seconds(c.Duration)),
			tx("datetime_entry", stamp(at)), tx("new_status", ev.State), txi("id", ev.CampaignLog),
			tx("campaign_type", string(c.Kind)), opt("campaign_id", campaignID(c)), txi("call_id", c.ID),
			tx("phone", c.Phone), opt("queue", c.Queue))
	}
}

// scheduledProgress tells the agent a call was scheduled to
// (schedulecall with sameagent) that it is being dialled
// (schedulecallstart), or that it failed (schedulecallfailed).
func (s *Server) scheduledProgress(c campaign.Call, st campaign.CallStatus) {
	if c.WantAgent == "" {
		return
	}
	ev := ""
	switch st {
	case campaign.Placing:
		ev = "schedulecallstart"
	case campaign.Failure, campaign.NoAnswer, campaign.Abandoned:
		ev = "schedulecallfailed"
	default:
		return
	}
	a := s.nameOf(c.WantAgent)
	s.emit(ev, a, tx("agent_number", a), tx("calltype", string(c.Kind)), opt("campaign_id", campaignID(c)), txi("call_id", c.ID))
}

// callEnded turns campaign.call_ended into agentunlinked.
func (s *Server) callEnded(ev dialog.Event) {
	if s.camp == nil {
		return
	}
	c, ok := s.camp.Call(ev.CampaignCall)
	if !ok {
		return
	}
	a := s.nameOf(c.Agent)
	short := "0"
	if c.Status == campaign.ShortCall {
		short = "1"
	}
	s.emit("agentunlinked", a,
		tx("calltype", string(c.Kind)), opt("campaign_id", campaignID(c)), txi("call_id", c.ID), tx("phone", c.Phone),
		tx("datetime_linkend", stamp(c.LinkEnd)), tx("duration", seconds(c.Duration)), tx("shortcall", short),
		txi("campaignlog_id", ev.CampaignLog), opt("queue", c.Queue), tx("agent_number", a))
}

// wholeSeconds is a duration rounded to whole seconds.
func wholeSeconds(d time.Duration) int {
	return int(d.Round(time.Second) / time.Second)
}

// seconds is a duration in whole seconds, "" for none.
func seconds(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return itoa(wholeSeconds(d))
}

// callStatus is a call's status as ECCP shows it: an outgoing call's as
// the campaign keeps it; an incoming call's in Issabel's words (en-cola,
// activa, terminada, abandonada).
func callStatus(c campaign.Call) string {
	if c.Kind == campaign.Outgoing {
		return string(c.Status)
	}
	switch c.Status {
	case campaign.OnQueue:
		return "en-cola"
	case campaign.Abandoned:
		return "abandonada"
	case campaign.Success, campaign.OnHold, campaign.OffHold:
		if c.LinkEnd.IsZero() {
			return "activa"
		}
	}
	return "terminada"
}
