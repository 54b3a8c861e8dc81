package eccp

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"pbx/campaign"
	"pbx/queue"
)

// Requests about campaigns and their calls: lists, static information,
// live status, call records, form data, scheduled calls and the campaign
// log. Each answers as dialerd's ECCPConn does, element for element;
// where dialerd reads a NULL column the element is left out, where it
// reads an empty one the element is written empty.

// dateArg is the shape dialerd accepts for a date argument.
var dateArg = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// timeArg is the shape dialerd accepts for a time argument.
var timeArg = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}$`)

// phpInt reads a number as PHP's (int) cast does: leading digits after
// an optional sign, 0 when there are none.
func phpInt(s string) int {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<40 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// campaignKind reads campaign_type: def when absent, ok false when it is
// neither incoming nor outgoing.
func campaignKind(args *xnode, def campaign.Kind) (campaign.Kind, bool) {
	if !args.has("campaign_type") {
		return def, true
	}
	switch k := campaign.Kind(args.text("campaign_type")); k {
	case campaign.Incoming, campaign.Outgoing:
		return k, true
	}
	return "", false
}

// dateRange reads datetime_start and datetime_end (yyyy-mm-dd, today when
// absent), swapped when reversed, as campaignlog and
// getagentactivitysummary take them.
func dateRange(args *xnode, today string) (start, end string, err error) {
	start, end = today, today
	if args.has("datetime_start") {
		if start = args.text("datetime_start"); !dateArg.MatchString(start) {
			return "", "", badRequest("Bad request - invalid start date")
		}
	}
	if args.has("datetime_end") {
		if end = args.text("datetime_end"); !dateArg.MatchString(end) {
			return "", "", badRequest("Bad request - invalid end date")
		}
	}
	if end < start {
		start, end = end, start
	}
	return start, end, nil
}

// offsetLimit reads limit and offset; offset without limit is a 400.
func offsetLimit(args *xnode) (offset, limit int, limited bool, err error) {
	if args.has("limit") {
		limit, limited = max(phpInt(args.text("limit")), 0), true
	}
	if args.has("offset") {
		if !limited {
			return 0, 0, false, badRequest("Bad request - offset without limit")
		}
		offset = max(phpInt(args.text("offset")), 0)
	}
	return offset, limit, limited, nil
}

// page is the part of n items that offset and limit select, as [lo, hi).
func page(n, offset, limit int, limited bool) (int, int) {
	if !limited {
		return 0, n
	}
	lo := min(offset, n)
	return lo, min(lo+limit, n)
}

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

// wholeSeconds is a duration in whole seconds, rounded as events round it.
func wholeSeconds(d time.Duration) int {
	return int(d.Round(time.Second) / time.Second)
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

// handleGetCallInfo is everything known of one call.
func handleGetCallInfo(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "getcallinfo"
	kind, ok := campaignKind(args, campaign.Outgoing)
	if !ok || kind == campaign.Outgoing && !args.has("campaign_id") || !args.has("call_id") {
		return nil, badRequest("Bad request")
	}
	s := ss.srv
	if s.camp == nil {
		return respond(name, failure(500, "Cannot read call info")), nil
	}
	c, ok := s.camp.Call(phpInt(args.text("call_id")))
	// An incoming call is found by its id alone, as dialerd finds it.
	if !ok || c.Kind != kind || kind == campaign.Outgoing && c.CampaignID != phpInt(args.text("campaign_id")) {
		return respond(name, failure(404, "Call not found")), nil
	}
	return respond(name, s.callRecordNodes(c, s.nameOf(c.Agent), false)...), nil
}

// callRecordNodes are the fields of a call record, as getcallinfo and
// agentlinked write them: an outgoing call's dialing times, attributes
// and form data; an incoming call's queue, its contact's attributes, the
// contacts its caller id matched and its form data. agent is its agent's
// ECCP name. linked adds what agentlinked has more: an outgoing call's
// queue (the caller then goes on with campaignlog_id and remote_channel).
func (s *Server) callRecordNodes(c campaign.Call, agent string, linked bool) []*node {
	duration := ""
	if !c.LinkEnd.IsZero() {
		duration = itoa(wholeSeconds(c.Duration))
	}
	if c.Kind == campaign.Outgoing {
		status := ""
		if c.Status != campaign.Pending { // a call not placed yet has a NULL status in dialerd
			status = string(c.Status)
		}
		out := []*node{
			tx("calltype", string(c.Kind)), txi("call_id", c.ID), txi("campaign_id", c.CampaignID), tx("phone", c.Phone),
			opt("status", status), opt("uniqueid", c.UniqueID), opt("duration", duration),
			opt("datetime_originate", stamp(c.Originate)), opt("datetime_originateresponse", stamp(c.OriginateResponse)),
			opt("datetime_join", stamp(c.Join)), opt("datetime_linkstart", stamp(c.LinkStart)),
			opt("datetime_linkend", stamp(c.LinkEnd)), txi("retries", c.Retries),
			opt("failure_cause_txt", c.Failure), opt("agent_number", agent), opt("trunk", c.Trunk),
			attributesNode(c, nil), s.surveyNode(c),
		}
		if linked {
			out = append(out, opt("queue", c.Queue))
		}
		return out
	}
	status := callStatus(c)
	if !linked && s.incomingCount(c) == "losttrack" {
		status = "fin-monitoreo" // as dialerd marks the calls it lost at a restart
	}
	book := s.contactBook(c)
	return []*node{
		tx("calltype", string(c.Kind)), txi("call_id", c.ID), opt("campaign_id", campaignID(c)), tx("phone", c.Phone),
		opt("status", status), opt("uniqueid", c.UniqueID), opt("duration", duration),
		opt("datetime_join", stamp(c.Join)), opt("datetime_linkstart", stamp(c.LinkStart)),
		opt("datetime_linkend", stamp(c.LinkEnd)), tx("trunk", c.Trunk), tx("queue", c.Queue),
		opt("agent_number", agent), attributesNode(c, book), matchingContactsNode(c, book), s.surveyNode(c),
	}
}

// attributesNode is a call's call_attributes: an outgoing call's
// attributes from the import, in order, counted from 0 as dialerd counts
// them; an incoming call's contact (from book), as the five attributes of
// a contact counted from 1.
func attributesNode(c campaign.Call, book map[int]campaign.Contact) *node {
	out := el("call_attributes")
	if c.Kind == campaign.Outgoing {
		attrs := slices.Clone(c.Attributes)
		slices.SortStableFunc(attrs, func(a, b campaign.Attribute) int { return cmp.Compare(a.Order, b.Order) })
		for i, a := range attrs {
			out.add(el("attribute", tx("label", a.Label), tx("value", a.Value), txi("order", i)))
		}
		return out
	}
	if ct, ok := book[c.Contact]; ok && c.Contact != 0 {
		out.add(contactAttributes(ct)...)
	}
	return out
}

// contactBook is the contact book by id, when an incoming call has
// contacts to show; nil otherwise.
func (s *Server) contactBook(c campaign.Call) map[int]campaign.Contact {
	if s.camp == nil || c.Kind != campaign.Incoming || c.Contact == 0 && len(c.Contacts) == 0 {
		return nil
	}
	book := map[int]campaign.Contact{}
	for _, ct := range s.camp.Contacts() {
		book[ct.ID] = ct
	}
	return book
}

// contactAttributes are a contact as attributes, in their order.
func contactAttributes(ct campaign.Contact) []*node {
	var out []*node
	for i, kv := range [][2]string{
		{"first_name", ct.FirstName}, {"last_name", ct.LastName}, {"phone", ct.Phone},
		{"cedula_ruc", ct.CedulaRUC}, {"contact_source", ct.Source},
	} {
		out = append(out, el("attribute", tx("label", kv[0]), tx("value", kv[1]), txi("order", i+1)))
	}
	return out
}

// matchingContactsNode lists the contacts an incoming call's caller id
// matched.
func matchingContactsNode(c campaign.Call, book map[int]campaign.Contact) *node {
	out := el("matching_contacts")
	for _, id := range c.Contacts {
		if ct, ok := book[id]; ok {
			out.add(el("contact", contactAttributes(ct)...).attr("id", itoa(id)))
		}
	}
	return out
}

// surveyNode is a call's call_survey: the values agents saved, by form id
// and in the form's field order, with the fields' labels.
func (s *Server) surveyNode(c campaign.Call) *node {
	out := el("call_survey")
	if len(c.FormData) == 0 || s.camp == nil {
		return out
	}
	forms, _ := s.camp.Forms(c.CampaignID)
	slices.SortFunc(forms, func(a, b campaign.Form) int { return cmp.Compare(a.ID, b.ID) })
	for _, f := range forms {
		values, ok := c.FormData[f.ID]
		if !ok {
			continue
		}
		fn := el("form").attr("id", itoa(f.ID))
		for _, fl := range orderedFields(f) {
			if v, ok := values[fl.ID]; ok {
				fn.add(el("field", tx("label", fl.Label), tx("value", v)).attr("id", itoa(fl.ID)))
			}
		}
		if len(fn.kids) > 0 {
			out.add(fn)
		}
	}
	return out
}

// handleSetContact says which of the contacts an incoming call's caller
// id matched the caller is; only the call's agent may.
func handleSetContact(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "setcontact"
	if !args.has("call_id") || !args.has("contact_id") {
		return nil, badRequest("Bad request")
	}
	s := ss.srv
	callID, contactID := phpInt(args.text("call_id")), phpInt(args.text("contact_id"))
	if s.camp == nil {
		return respond(name, failure(404, "Call ID not found")), nil
	}
	c, ok := s.camp.Call(callID)
	if !ok || c.Kind != campaign.Incoming {
		return respond(name, failure(404, "Call ID not found")), nil
	}
	if !agentIs(c.Agent, ss.agent(args)) {
		return respond(name, failure(401, "Unauthorized agent")), nil
	}
	if err := s.camp.SetContact(callID, contactID); err != nil {
		if errors.Is(err, campaign.ErrNotFound) {
			return respond(name, failure(404, "Contact ID not found")), nil
		}
		return nil, err
	}
	return success(name), nil
}

// handleSaveFormData stores what the call's agent filled in.
func handleSaveFormData(_ context.Context, ss *session, args *xnode) (*node, error) {
	const name = "saveformdata"
	kind, ok := campaignKind(args, campaign.Outgoing)
	if !ok || !args.has("call_id") || !args.has("forms") {
		return nil, badRequest("Bad request")
	}
	callID := phpInt(args.text("call_id"))
	data := map[int]map[int]string{}
	for _, f := range args.child("forms").all("form") {
		formID := phpInt(f.Attrs["id"])
		if _, dup := data[formID]; dup {
			return nil, badRequest("Bad request")
		}
		values := map[int]string{}
		for _, fl := range f.all("field") {
			values[phpInt(fl.Attrs["id"])] = fl.Text
		}
		data[formID] = values
	}
	s := ss.srv
	var c campaign.Call
	if s.camp != nil {
		c, ok = s.camp.Call(callID)
	}
	if s.camp == nil || !ok || c.Kind != kind || !agentIs(c.Agent, ss.agent(args)) {
		return respond(name, failure(401, "Unauthorized agent")), nil
	}
	if err := s.camp.SaveFormData(callID, data); err != nil {
		var ferr *campaign.FormError
		switch {
		case errors.As(err, &ferr):
			return respond(name, failure(ferr.Code, ferr.Msg)), nil
		case errors.Is(err, campaign.ErrNotFound):
			return respond(name, failure(401, "Unauthorized agent")), nil
		}
		return respond(name, failure(500, "Cannot read form information")), nil
	}
	return success(name), nil
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

// sinceArg reads getcampaignstatus's datetime_start, a date: zero when
// absent.
func sinceArg(args *xnode) (time.Time, error) {
	if !args.has("datetime_start") {
		return time.Time{}, nil
	}
	d := args.text("datetime_start")
	if !dateArg.MatchString(d) {
		return time.Time{}, badRequest("Bad request - invalid start date")
	}
	t, err := time.ParseInLocation(time.DateOnly, d, time.Local)
	if err != nil {
		return time.Time{}, badRequest("Bad request - invalid start date")
	}
	return t, nil
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
	var st struct {
		ok, in bool
		leg    string
		onCall bool
	}
	if s.q != nil && a != nil {
		q, ok := s.q.Agent(a.ID)
		st.ok, st.in, st.onCall, st.leg = ok, ok && q.State != queue.StateLoggedOut, ok && onCall(q), q.CallLegID
	}
	switch {
	case !st.ok:
		return fail(404, "Agent not found or not logged in through ECCP")
	case !st.in:
		return fail(417, "Agent currently not logged in")
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
	if !found && st.onCall { // the call the agent is on
		c, found = s.callOfLeg(st.leg)
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
		if strings.Contains(err.Error(), "already scheduled") {
			return fail(417, "Found duplicate scheduled call")
		}
		s.log.Warn("eccp schedulecall", "call", c.ID, "agent", a.Name, "error", err)
		return fail(500, "Failed to insert scheduled call")
	}
	return success(name), nil
}

// digitsOnly reports a non-empty string of digits.
func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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
