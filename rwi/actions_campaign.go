package rwi

import (
	"errors"
	"time"

	"pbx/campaign"
)

// Campaigns over RWI: a dashboard or a script lists the campaigns, reads
// one's progress, and starts and stops its dialer, without ECCP; every
// status change of a campaign call comes as campaign.call_progress (see
// routeCampaign). Like the rest of the contact center, every action needs
// queue.control.
func init() {
	register("campaign.list", scopeQueue, listCampaigns)
	register("campaign.status", scopeQueue, campaignStatus)
	register("campaign.start", scopeQueue, func(x *cmd) (any, *Error) {
		return x.onCampaign((*campaign.Center).Start)
	})
	register("campaign.stop", scopeQueue, func(x *cmd) (any, *Error) {
		return x.onCampaign((*campaign.Center).Stop)
	})
}

// campaigns is the campaign center the campaign actions drive.
func (s *Server) campaigns() (*campaign.Center, *Error) {
	if s.camps == nil {
		return nil, fail(CodeInvalidState, "campaigns are not running")
	}
	return s.camps, nil
}

// campaignError maps an error of the campaign center to its RWI code.
func campaignError(err error) *Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, campaign.ErrNotFound):
		return fail(CodeNotFound, "%v: campaign.list lists them", err)
	case errors.Is(err, campaign.ErrInvalid):
		return fail(CodeInvalidParams, "%v", err)
	}
	return fail(CodeInternal, "%v", err)
}

// campaignView is a campaign as campaign.list shows it; mode is an
// outgoing campaign's.
type campaignView struct {
	CampaignID int    `json:"campaign_id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	QueueID    string `json:"queue_id"`
	Status     string `json:"status"`
	Mode       string `json:"mode,omitempty"`
}

func viewCampaign(cp campaign.Campaign) campaignView {
	return campaignView{
		CampaignID: cp.ID, Type: string(cp.Kind), Name: cp.Name, QueueID: cp.Queue, Status: string(cp.Status), Mode: string(cp.Mode),
	}
}

// campaignStatusView is campaign.status's reply: the campaign, its
// settings, and how many of its calls are in each status (every status,
// 0 included, so a dashboard's columns stay put) and in all.
type campaignStatusView struct {
	campaignView
	StartDate      string         `json:"start_date,omitempty"` // YYYY-MM-DD; none: no bound
	EndDate        string         `json:"end_date,omitempty"`
	WorkStart      string         `json:"work_start,omitempty"` // HH:MM; none: all day
	WorkEnd        string         `json:"work_end,omitempty"`
	Trunk          string         `json:"trunk,omitempty"`
	MaxChannels    int            `json:"max_channels,omitempty"`
	Retries        int            `json:"retries,omitempty"`
	RetryDelaySecs float64        `json:"retry_delay_secs,omitempty"`
	Calls          map[string]int `json:"calls"`
	Total          int            `json:"total"`
}

// callStatuses are every status a campaign call may be in.
var callStatuses = []campaign.CallStatus{
	campaign.Pending, campaign.Placing, campaign.Dialing, campaign.Ringing, campaign.OnQueue, campaign.Success,
	campaign.Failure, campaign.NoAnswer, campaign.Abandoned, campaign.ShortCall, campaign.OnHold, campaign.OffHold,
}

// dateOrEmpty is a date as YYYY-MM-DD, or "" for none.
func dateOrEmpty(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// listCampaigns is every campaign, incoming first, then by id.
func listCampaigns(x *cmd) (any, *Error) {
	if err := decodeParams(x.params, &struct{}{}); err != nil {
		return nil, err
	}
	c, err := x.srv.campaigns()
	if err != nil {
		return nil, err
	}
	all := c.Campaigns()
	out := make([]campaignView, 0, len(all))
	for _, cp := range all {
		out = append(out, viewCampaign(cp))
	}
	return map[string][]campaignView{"campaigns": out}, nil
}

// campaignIDParams name a campaign.
type campaignIDParams struct {
	CampaignID int `json:"campaign_id"`
}

// findCampaign reads params {campaign_id} and finds the campaign.
func (x *cmd) findCampaign() (*campaign.Center, campaign.Campaign, *Error) {
	p, err := decode[campaignIDParams](x)
	if err != nil {
		return nil, campaign.Campaign{}, err
	}
	if p.CampaignID <= 0 {
		return nil, campaign.Campaign{}, fail(CodeInvalidParams, "campaign_id is required: a campaign's id, from campaign.list")
	}
	c, err := x.srv.campaigns()
	if err != nil {
		return nil, campaign.Campaign{}, err
	}
	cp, ok := c.Campaign(p.CampaignID)
	if !ok {
		return nil, campaign.Campaign{}, fail(CodeNotFound, "no campaign %d: campaign.list lists them", p.CampaignID)
	}
	return c, cp, nil
}

func campaignStatus(x *cmd) (any, *Error) {
	c, cp, err := x.findCampaign()
	if err != nil {
		return nil, err
	}
	counts, total := c.StatusCount(cp.ID)
	v := campaignStatusView{
		campaignView: viewCampaign(cp), StartDate: dateOrEmpty(cp.Start), EndDate: dateOrEmpty(cp.End),
		WorkStart: cp.WorkStart, WorkEnd: cp.WorkEnd, Trunk: cp.Trunk, MaxChannels: cp.MaxChannels, Retries: cp.Retries,
		RetryDelaySecs: secs(cp.RetryDelay), Calls: make(map[string]int, len(callStatuses)), Total: total,
	}
	for _, s := range callStatuses {
		v.Calls[string(s)] = counts[s]
	}
	return v, nil
}

// onCampaign runs fn (Start or Stop) on the campaign params name, and
// replies with the campaign after it.
func (x *cmd) onCampaign(fn func(c *campaign.Center, id int) error) (any, *Error) {
	c, cp, err := x.findCampaign()
	if err != nil {
		return nil, err
	}
	if err := campaignError(fn(c, cp.ID)); err != nil {
		return nil, err
	}
	if now, ok := c.Campaign(cp.ID); ok {
		cp = now
	}
	return viewCampaign(cp), nil
}
