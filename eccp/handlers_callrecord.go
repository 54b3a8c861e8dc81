package eccp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"pbx/campaign"
)

// Requests about one call record: what is known of it, which contact
// its caller is, and the form data its agent saves. Each answers as
// dialerd's ECCPConn does, element for element; where dialerd reads a
// NULL column the element is left out, where it reads an empty one the
// element is written empty.

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
		return nil, fmt.Errorf("setcontact: call %d, contact %d: %w", callID, contactID, err)
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
