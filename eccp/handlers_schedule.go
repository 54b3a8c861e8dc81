package eccp

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"pbx/campaign"
)

// schedulecall: an outgoing call booked back by its agent, checked as
// dialerd checks it.

// handleScheduleCall books a call back for the outgoing call the agent
// handles (or the one named): at the same or a new number, within a
// window of dates and daily hours, to the same agent or any.
func handleScheduleCall(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "schedulecall"
	fail := func(code int, msg string) (*node, error) { return respond(name, failure(code, msg)), nil }
	callID := 0
	if args.has("campaign_type") && args.has("call_id") {
		if args.text("campaign_type") != string(campaign.Outgoing) {
			return nil, badRequest("Bad request")
		}
		callID = phpInt(args.text("call_id"))
	}
	s, a := ss.srv, ss.agent(args)
	st, notIn := s.loggedIn(a, name)
	if notIn != nil {
		return notIn, nil
	}
	sameAgent := args.has("sameagent") && phpInt(args.text("sameagent")) != 0
	newPhone, hasPhone := args.text("newphone"), args.has("newphone")
	var sched *xnode
	if args.has("schedule") {
		sched = args.child("schedule")
		for _, k := range []string{"date_init", "date_end", "time_init", "time_end"} {
			if !sched.has(k) {
				return fail(400, "Bad request: incomplete schedule")
			}
		}
	}
	if sameAgent && sched == nil {
		return fail(400, "Bad request: same-agent requires schedule")
	}
	if hasPhone && !digitsOnly(newPhone) {
		return fail(400, "Bad request: invalid new phone")
	}
	var dateInit, dateEnd, timeInit, timeEnd string
	if sched != nil {
		dateInit, dateEnd = sched.text("date_init"), sched.text("date_end")
		timeInit, timeEnd = sched.text("time_init"), sched.text("time_end")
		for _, f := range []struct{ v, name string }{
			{dateInit, "date_init"}, {dateEnd, "date_end"}, {timeInit, "time_init"}, {timeEnd, "time_end"},
		} {
			shape, layout := dateArg, time.DateOnly
			if strings.HasPrefix(f.name, "time") {
				shape, layout = timeArg, time.TimeOnly
			}
			if _, err := time.Parse(layout, f.v); !shape.MatchString(f.v) || err != nil {
				return fail(400, "Bad request: invalid "+f.name)
			}
		}
		if dateInit > dateEnd {
			dateInit, dateEnd = dateEnd, dateInit
		}
		if dateInit < s.clock.Now().Local().Format(time.DateOnly) {
			return fail(400, "Bad request: date_init before current date")
		}
	}
	var c campaign.Call
	found := false
	if s.camp != nil && callID != 0 {
		c, found = s.camp.Call(callID)
		found = found && c.Kind == campaign.Outgoing
	}
	if !found && onCall(st) { // the call the agent is on
		c, found = s.callOfLeg(st.CallLegID)
	}
	if !found || c.Kind != campaign.Outgoing {
		return fail(417, "Not in outgoing call")
	}
	cp, _ := s.camp.Campaign(c.CampaignID)
	now := s.clock.Now()
	var from, to time.Time
	if sched != nil {
		if start := dateOnly(cp.Start); start != "" && dateInit < start {
			return fail(417, "Supplied date range outside campaign range")
		}
		if end := dateOnly(cp.End); end != "" && dateEnd > end {
			return fail(417, "Supplied date range outside campaign range")
		}
		if !withinHours(cp, timeInit, timeEnd) {
			return fail(417, "Supplied time range outside campaign range")
		}
		from, _ = time.ParseInLocation(time.DateTime, dateInit+" "+timeInit, time.Local)
		to, _ = time.ParseInLocation(time.DateTime, dateEnd+" "+timeEnd, time.Local)
		if !to.After(from) || !to.After(now) {
			return fail(400, "Bad request: invalid time_end")
		}
		phone := cmp.Or(newPhone, c.Phone)
		for _, x := range s.camp.Calls(c.CampaignID) {
			if x.Status == campaign.Pending && x.Phone == phone && x.NextTry.Equal(from) && x.NotAfter.Equal(to) {
				return fail(417, "Found duplicate scheduled call")
			}
		}
	} else {
		// No window: any time the campaign dials, until it ends.
		from, to = now, now.AddDate(10, 0, 0)
		if !cp.End.IsZero() {
			to = cp.End.AddDate(0, 0, 1)
		}
		if !to.After(from) {
			return fail(417, "Supplied date range outside campaign range")
		}
	}
	agent := ""
	if sameAgent {
		agent = a.ID
	}
	if _, err := s.camp.Schedule(c.ID, from, to, newPhone, agent); err != nil {
		if errors.Is(err, campaign.ErrScheduled) {
			return fail(417, "Found duplicate scheduled call")
		}
		s.log.Warn("eccp schedulecall", "call", c.ID, "agent", a.Name, "error", err)
		return fail(500, "Failed to insert scheduled call")
	}
	return success(name), nil
}

// withinHours reports whether the daily window from..to (HH:MM:SS) lies
// within a campaign's working hours.
func withinHours(cp campaign.Campaign, from, to string) bool {
	if cp.WorkStart == "" {
		return true
	}
	ws, we := clockTime(cp.WorkStart, false), clockTime(cp.WorkEnd, true)
	if ws <= we {
		return ws <= from && to <= we
	}
	// Hours across midnight, [ws, 24h) and [00:00, we]: a window within
	// a day lies in one of them; one across midnight spans both.
	if from <= to {
		return from >= ws || to <= we
	}
	return from >= ws && to <= we
}
