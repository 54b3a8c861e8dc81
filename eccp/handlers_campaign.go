package eccp

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"pbx/campaign"
)

// Requests about campaigns: lists, static information, live status and
// the campaign log (call records are handlers_callrecord.go's, scheduled
// calls handlers_schedule.go's). Each answers as dialerd's ECCPConn does, element for element;
// where dialerd reads a NULL column the element is left out, where it
// reads an empty one the element is written empty.

// statusName is a campaign status as ECCP spells it.
func statusName(s campaign.Status) string {
	switch s {
	case campaign.Active, campaign.Inactive, campaign.Finished:
		return string(s)
	}
	return string(campaign.Inactive)
}

// dateOnly is a campaign's date, "" for no bound.
func dateOnly(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// clockTime is working hours' "HH:MM" as dialerd's TIME column reads,
// "HH:MM:SS"; all day is 00:00:00 to 23:59:59.
func clockTime(hm string, end bool) string {
	switch {
	case hm == "" && end:
		return "23:59:59"
	case hm == "":
		return "00:00:00"
	case len(hm) == len("15:04"):
		return hm + ":00"
	}
	return hm
}

// agentIs reports whether the agent of a call record (an agent id, or an
// ECCP name) is a.
func agentIs(id string, a *agentRef) bool {
	return a != nil && id != "" && (id == a.ID || id == a.Name)
}

// agentIDOf is the contact center's id of an agent named Agent/9001 (or
// already an id).
func agentIDOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// handleGetCampaignList lists campaigns, incoming first, then by id,
// filtered by type, status, name and start date, and paged.
func handleGetCampaignList(_ context.Context, ss *session, args *xnode) (*node, error) {
	var kind campaign.Kind
	if args.has("campaign_type") {
		k, ok := campaignKind(args, "")
		if !ok {
			return nil, badRequest("Bad request - invalid campaign type")
		}
		kind = k
	}
	filterName, byName := args.text("filtername"), args.has("filtername")
	var status campaign.Status
	if args.has("status") {
		switch st := campaign.Status(args.text("status")); st {
		case campaign.Active, campaign.Inactive, campaign.Finished:
			status = st
		default:
			return nil, badRequest("Bad request - invalid status")
		}
	}
	var from, to string
	if args.has("datetime_start") {
		if from = args.text("datetime_start"); !dateArg.MatchString(from) {
			return nil, badRequest("Bad request - invalid start date")
		}
	}
	if args.has("datetime_end") {
		if to = args.text("datetime_end"); !dateArg.MatchString(to) {
			return nil, badRequest("Bad request - invalid end date")
		}
	}
	if from != "" && to != "" && to < from {
		from, to = to, from
	}
	offset, limit, limited, err := offsetLimit(args)
	if err != nil {
		return nil, err
	}
	var list []campaign.Campaign
	if c := ss.srv.camp; c != nil {
		for _, cp := range c.Campaigns() { // incoming first, then by id
			start := dateOnly(cp.Start)
			switch {
			case kind != "" && cp.Kind != kind,
				status != "" && cp.Status != status,
				byName && !strings.Contains(strings.ToLower(cp.Name), strings.ToLower(filterName)),
				from != "" && (start == "" || start < from),
				to != "" && (start == "" || start >= to):
				continue
			}
			list = append(list, cp)
		}
	}
	lo, hi := page(len(list), offset, limit, limited)
	out := el("campaigns")
	for _, cp := range list[lo:hi] {
		out.add(el("campaign", txi("id", cp.ID), tx("type", string(cp.Kind)), tx("name", cp.Name), tx("status", statusName(cp.Status))))
	}
	return respond("getcampaignlist", out), nil
}

// findCampaign is a campaign of a kind by id.
func (s *Server) findCampaign(kind campaign.Kind, id int) (campaign.Campaign, bool) {
	if s.camp == nil {
		return campaign.Campaign{}, false
	}
	cp, ok := s.camp.Campaign(id)
	if !ok || cp.Kind != kind {
		return campaign.Campaign{}, false
	}
	return cp, true
}

// handleGetCampaignInfo is a campaign's static information and its forms.
func handleGetCampaignInfo(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getcampaigninfo"
	if !args.has("campaign_id") {
		return nil, badRequest("Bad request")
	}
	kind, ok := campaignKind(args, campaign.Outgoing)
	if !ok {
		return nil, badRequest("Bad request")
	}
	s := ss.srv
	cp, ok := s.findCampaign(kind, phpInt(args.text("campaign_id")))
	if !ok {
		return respond(name, failure(404, "Campaign not found")), nil
	}
	forms, err := s.camp.Forms(cp.ID)
	if err != nil {
		return respond(name, failure(500, "Cannot read campaign info (formfields)")), nil
	}
	url, openType := cp.URL, ""
	if url != "" {
		openType = cmp.Or(cp.URLOpen, "window")
	}
	resp := respond(name,
		tx("name", cp.Name), tx("type", string(cp.Kind)), tx("startdate", dateOnly(cp.Start)), tx("enddate", dateOnly(cp.End)),
		tx("working_time_starttime", clockTime(cp.WorkStart, false)), tx("working_time_endtime", clockTime(cp.WorkEnd, true)),
		tx("queue", cp.Queue))
	if cp.Kind == campaign.Outgoing {
		resp.add(txi("retries", cp.Retries), opt("trunk", cp.Trunk), tx("context", cp.Context), txi("maxchan", cp.MaxChannels))
	}
	resp.add(tx("status", statusName(cp.Status)), tx("script", cp.Script), tx("urltemplate", url), tx("urlopentype", openType))
	fs := el("forms")
	for _, f := range forms {
		if len(f.Fields) > 0 {
			fs.add(formNode(f))
		}
	}
	return resp.add(fs), nil
}

// formNode is one form of getcampaigninfo: its fields in order.
func formNode(f campaign.Form) *node {
	n := el("form").attr("id", itoa(f.ID))
	if f.Name != "" {
		n.attr("name", f.Name)
	}
	if f.Description != "" {
		n.attr("description", f.Description)
	}
	status := "I"
	if f.Active {
		status = "A"
	}
	n.attr("status", status)
	for _, fl := range orderedFields(f) {
		fn := el("field").attr("order", itoa(fl.Order)).attr("id", itoa(fl.ID))
		fn.add(tx("label", fl.Label), tx("type", string(fl.Type)))
		if fl.Type != campaign.Label && fl.Type != campaign.Date {
			fn.add(txi("maxsize", cmp.Or(fl.MaxSize, 250)))
		}
		if fl.Type == campaign.List {
			opts := el("options")
			for _, o := range fl.Options {
				opts.add(tx("value", o))
			}
			fn.add(opts)
		} else {
			fn.add(opt("default_value", strings.TrimSpace(fl.Default)))
		}
		n.add(fn)
	}
	return n
}

// orderedFields are a form's fields by their order, then id.
func orderedFields(f campaign.Form) []campaign.Field {
	fields := slices.Clone(f.Fields)
	slices.SortStableFunc(fields, func(a, b campaign.Field) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.ID, b.ID))
	})
	return fields
}

// handleGetCampaignQueueWait is how long a campaign's answered calls
// waited in the queue, in 5-second intervals, and how many were
// abandoned.
func handleGetCampaignQueueWait(_ context.Context, ss *session, args *xnode) (*node, error) {
	if !args.has("campaign_id") || !args.has("campaign_type") {
		return nil, badRequest("Bad request")
	}
	kind, ok := campaignKind(args, "")
	if !ok {
		return nil, badRequest("Bad request")
	}
	s := ss.srv
	buckets, abandoned := make([]int, 7), 0
	if cp, ok := s.findCampaign(kind, phpInt(args.text("campaign_id"))); ok {
		buckets, abandoned = s.camp.QueueWait(cp.ID)
	}
	h := el("histogram")
	for i, n := range buckets {
		iv := el("interval", txi("lower", i*5))
		if i < len(buckets)-1 {
			iv.add(txi("upper", i*5+4))
		}
		h.add(iv.add(txi("count", n)))
	}
	return respond("getcampaignqueuewait", h, txi("abandoned", abandoned)), nil
}

// handleGetCampaignStatus is a campaign's calls by status, its agents,
// its calls not yet with an agent, and its talk time.
func handleGetCampaignStatus(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getcampaignstatus"
	if !args.has("campaign_id") {
		return nil, badRequest("Bad request")
	}
	since, err := sinceArg(args)
	if err != nil {
		return nil, err
	}
	kind, ok := campaignKind(args, campaign.Outgoing)
	if !ok {
		return nil, badRequest("Bad request")
	}
	s := ss.srv
	cp, ok := s.findCampaign(kind, phpInt(args.text("campaign_id")))
	if !ok {
		return respond(name, failure(404, "Campaign not found")), nil
	}
	calls := s.camp.Calls(cp.ID)
	ours := func(c campaign.Call) bool { return c.CampaignID == cp.ID && c.Kind == cp.Kind }
	return respond(name, s.campaignStatusBody(kind, calls, cp.Queue, since, ours)...), nil
}

// campaignStatusBody is the body of getcampaignstatus and
// getincomingqueuestatus: calls counts by status (those dialled, or that
// joined the queue, since since), the agents on one of the calls ours
// selects then the queue's other members, the calls not yet with an
// agent, and the talk time of the calls ended.
func (s *Server) campaignStatusBody(kind campaign.Kind, calls []campaign.Call, queueName string, since time.Time, ours func(campaign.Call) bool) []*node {
	after := func(t time.Time) bool { return since.IsZero() || !t.IsZero() && !t.Before(since) }
	var keys []string
	if kind == campaign.Outgoing {
		keys = []string{"pending", "placing", "ringing", "onqueue", "success", "onhold", "failure", "shortcall", "noanswer", "abandoned"}
	} else {
		keys = []string{"onqueue", "success", "onhold", "abandoned", "finished", "losttrack"}
	}
	counts := map[string]int{}
	total, talked, longest := 0, 0, 0
	for _, c := range calls {
		var k string
		if kind == campaign.Outgoing {
			if !after(c.Originate) {
				continue
			}
			k = outgoingCount(c.Status)
			if c.Status == campaign.Success && !c.LinkEnd.IsZero() && after(c.LinkStart) {
				d := wholeSeconds(c.Duration)
				talked, longest = talked+d, max(longest, d)
			}
		} else {
			if !after(c.Join) {
				continue
			}
			k = s.incomingCount(c)
			if k == "finished" && after(c.LinkStart) {
				d := wholeSeconds(c.Duration)
				talked, longest = talked+d, max(longest, d)
			}
		}
		if k != "" {
			counts[k]++
			total++
		}
	}
	sc := el("statuscount", txi("total", total))
	for _, k := range keys {
		sc.add(txi(k, counts[k]))
	}

	agents := el("agents")
	listed := map[string]bool{}
	var onCalls []*agentRef
	if s.q != nil {
		for _, a := range s.agents {
			st, ok := s.q.Agent(a.ID)
			if !ok || !onCall(st) {
				continue
			}
			if c, ok := s.callOfLeg(st.CallLegID); ok && ours(c) {
				onCalls = append(onCalls, a)
			}
		}
	}
	slices.SortFunc(onCalls, func(a, b *agentRef) int { return strings.Compare(a.Name, b.Name) })
	for _, a := range onCalls {
		listed[a.ID] = true
		agents.add(el("agent", tx("agentchannel", a.Name)).add(s.agentStatusNodes(a, true)...))
	}
	for _, a := range s.agents {
		if !listed[a.ID] && s.isMember(a, queueName) {
			agents.add(el("agent", tx("agentchannel", a.Name)).add(s.agentStatusNodes(a, true)...))
		}
	}

	active := el("activecalls")
	for _, c := range calls {
		if ours(c) && c.Agent == "" && s.waiting(c) {
			active.add(el("activecall", s.activeCallNodes(c)...))
		}
	}
	stats := el("stats", txi("total_sec", talked), txi("max_duration", longest))
	return []*node{sc, agents, active, stats}
}

// activeCallNodes are an activecall: the callinfo fields of a call not
// yet with an agent. Its status is the one dialerd keeps in memory, in
// English for both kinds (Placing, Ringing, OnQueue), and today's times
// lose their date, as dialerd writes a callinfo.
func (s *Server) activeCallNodes(c campaign.Call) []*node {
	now := s.clock.Now()
	return []*node{
		tx("calltype", string(c.Kind)), txi("callid", c.ID), opt("campaign_id", campaignID(c)),
		opt("queuenumber", c.Queue), tx("callnumber", c.Phone), tx("callstatus", string(c.Status)),
		opt("trunk", c.Trunk), opt("dialstart", shortStamp(c.Originate, now)), opt("dialend", shortStamp(c.OriginateResponse, now)),
		opt("queuestart", shortStamp(c.Join, now)),
	}
}

// outgoingCount is the statuscount an outgoing call counts in.
func outgoingCount(st campaign.CallStatus) string {
	switch st {
	case campaign.Dialing:
		return "placing" // dialerd's calls are Placing until they ring
	case campaign.OffHold:
		return "success"
	case "":
		return "pending"
	}
	return strings.ToLower(string(st))
}

// incomingCount is the statuscount an incoming call counts in: onqueue
// (en-cola), success (activa), onhold, abandoned (abandonada), finished
// (terminada), or losttrack (fin-monitoreo: a call waiting or talking
// when the PBX stopped, which it no longer follows).
func (s *Server) incomingCount(c campaign.Call) string {
	k := ""
	switch c.Status {
	case campaign.OnQueue:
		k = "onqueue"
	case campaign.Abandoned:
		return "abandoned"
	case campaign.OnHold:
		k = "onhold"
	case campaign.Success, campaign.OffHold, campaign.ShortCall:
		k = "success"
	default:
		return ""
	}
	switch {
	case k != "onqueue" && !c.LinkEnd.IsZero():
		return "finished"
	case !s.following(c):
		return "losttrack"
	}
	return k
}

// following reports whether the PBX follows a call now: its record is
// the one of its leg.
func (s *Server) following(c campaign.Call) bool {
	if c.LegID == "" {
		return false
	}
	live, ok := s.callOfLeg(c.LegID)
	return ok && live.ID == c.ID
}

// waiting reports whether a call is being placed or waits in its queue
// now: a record of a call the PBX no longer follows (it stopped
// meanwhile) is not.
func (s *Server) waiting(c campaign.Call) bool {
	switch c.Status {
	case campaign.Placing, campaign.Dialing, campaign.Ringing, campaign.OnQueue:
	default:
		return false
	}
	return c.LegID == "" && c.Status == campaign.Placing || s.following(c)
}

// isMember reports whether an agent is a member of a queue.
func (s *Server) isMember(a *agentRef, queueName string) bool {
	return slices.Contains(s.agentQueues(a), queueName)
}

// handleCampaignLog lists the campaign log of a campaign (or, for
// incoming calls of no campaign, of a queue) between two dates: all of
// it, or the last N entries before an id.
func handleCampaignLog(_ context.Context, ss *session, args *xnode) (*node, error) {
	s := ss.srv
	start, end, err := dateRange(args, s.clock.Now().Local().Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	if !args.has("campaign_type") {
		return nil, badRequest("Bad request")
	}
	kind, ok := campaignKind(args, "")
	if !ok {
		return nil, badRequest("Bad request")
	}
	campaignID, queueName := 0, ""
	hasID, hasQueue := args.has("campaign_id"), args.has("queue")
	if hasID {
		campaignID = phpInt(args.text("campaign_id"))
	}
	if hasQueue {
		queueName = args.text("queue")
	}
	if kind == campaign.Outgoing && !hasID || kind == campaign.Incoming && !hasID && !hasQueue {
		return nil, badRequest("Bad request")
	}
	lastN, before := -1, 0
	if args.has("last_n") {
		lastN = max(phpInt(args.text("last_n")), 0)
		if args.has("idbefore") {
			before = phpInt(args.text("idbefore"))
		}
	}
	from, to := start+" 00:00:00", end+" 23:59:59"
	var entries []campaign.LogEntry
	if s.camp != nil {
		for _, e := range s.camp.Log(0, 0) {
			at := stamp(e.Time)
			switch {
			case e.Kind != kind,
				hasID && e.CampaignID != campaignID,
				!hasID && (e.CampaignID != 0 || e.Queue != queueName),
				at < from || at > to,
				lastN >= 0 && args.has("idbefore") && e.ID >= before:
				continue
			}
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b campaign.LogEntry) int { return cmp.Compare(a.ID, b.ID) })
	if lastN >= 0 && len(entries) > lastN {
		entries = entries[len(entries)-lastN:]
	}
	out := el("logentries")
	for _, e := range entries {
		duration := ""
		if e.Duration > 0 {
			duration = itoa(wholeSeconds(e.Duration))
		}
		agent := ""
		if e.Agent != "" {
			agent = s.nameOf(e.Agent)
		}
		id := ""
		if e.CampaignID != 0 {
			id = itoa(e.CampaignID)
		}
		out.add(el("logentry",
			txi("id", e.ID), tx("datetime_entry", stamp(e.Time)), tx("phone", e.Phone), tx("queue", e.Queue),
			tx("campaign_type", string(e.Kind)), opt("campaign_id", id), txi("call_id", e.CallID),
			tx("new_status", string(e.Status)), txi("retry", e.Retry), opt("uniqueid", e.UniqueID), opt("trunk", e.Trunk),
			opt("duration", duration), opt("agentchannel", agent)))
	}
	return respond("campaignlog", out), nil
}
