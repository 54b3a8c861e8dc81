package campaign

import "time"

// Kind says which way a campaign's calls go.
type Kind string

const (
	Incoming Kind = "incoming"
	Outgoing Kind = "outgoing"
)

// Status is a campaign's state.
type Status string

const (
	Active   Status = "active"
	Inactive Status = "inactive"
	Finished Status = "finished"
)

// Mode is how an outgoing campaign paces its calls.
type Mode string

const (
	Progressive Mode = "progressive" // one call per free agent
	Predictive  Mode = "predictive"  // paced from the answer rate and talk time, under an abandon cap
)

// Campaign is an incoming or outgoing campaign.
type Campaign struct {
	ID     int    `json:"id"`
	Kind   Kind   `json:"type"`
	Name   string `json:"name"`
	Queue  string `json:"queue"`
	Status Status `json:"status"`
	// Start and End are the dates it runs (inclusive, in the PBX's time
	// zone); zero means no bound.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// WorkStart and WorkEnd are the daily working hours, "HH:MM"; both
	// empty means all day. An outgoing campaign dials only inside them.
	WorkStart string `json:"work_start,omitempty"`
	WorkEnd   string `json:"work_end,omitempty"`
	Script    string `json:"script,omitempty"`       // free text shown to agents
	URL       string `json:"url_template,omitempty"` // opened in the agent's browser; {phone}, {call_id} and attributes are filled in
	URLOpen   string `json:"url_open_type,omitempty"`
	Forms     []int  `json:"forms,omitempty"` // form ids, in order

	// Outgoing campaigns only.
	Trunk       string        `json:"trunk,omitempty"`
	Context     string        `json:"context,omitempty"`
	CallerID    string        `json:"caller_id,omitempty"`
	MaxChannels int           `json:"max_channels,omitempty"` // calls in progress at once; 0 means the trunk's or 10
	Retries     int           `json:"retries,omitempty"`      // further tries after a failed one
	RetryDelay  time.Duration `json:"retry_delay,omitempty"`
	ShortCall   time.Duration `json:"short_call,omitempty"` // a call talked less than this is ShortCall
	RingTimeout time.Duration `json:"ring_timeout,omitempty"`
	Mode        Mode          `json:"mode,omitempty"`
	AbandonCap  float64       `json:"abandon_cap,omitempty"` // predictive: highest abandon rate, 0.03 by default
	// AMD listens to the first seconds of an answered call for an
	// answering machine; one is marked Failure ("answering machine") and
	// hung up, or played AMDPrompt (then hung up).
	AMD       bool   `json:"amd,omitempty"`
	AMDPrompt string `json:"amd_prompt,omitempty"`
}

// FieldType is the type of a form field.
type FieldType string

const (
	Text     FieldType = "TEXT"
	TextArea FieldType = "TEXTAREA"
	Date     FieldType = "DATE"
	Label    FieldType = "LABEL"
	List     FieldType = "LIST"
)

// Form is what agents fill in during a campaign's calls.
type Form struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Active      bool    `json:"active"`
	Fields      []Field `json:"fields"`
}

// Field is one entry of a form.
type Field struct {
	ID      int       `json:"id"`
	Order   int       `json:"order"`
	Label   string    `json:"label"`
	Type    FieldType `json:"type"`
	MaxSize int       `json:"max_size,omitempty"` // TEXT and TEXTAREA; 0 means 250
	Default string    `json:"default,omitempty"`
	Options []string  `json:"options,omitempty"` // LIST
}

// Contact is an entry of the contact book, matched by caller id on
// incoming calls.
type Contact struct {
	ID        int    `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Phone     string `json:"phone"`
	CedulaRUC string `json:"cedula_ruc,omitempty"` // a tax or identity number, as Issabel names it
	Source    string `json:"contact_source,omitempty"`
}

// Attribute is one named value of a number to call (from the import) or
// of a contact, in order.
type Attribute struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Order int    `json:"order"`
}

// CallStatus is where a campaign call stands.
type CallStatus string

const (
	Pending   CallStatus = "Pending" // not dialled yet, or waiting for its retry
	Placing   CallStatus = "Placing"
	Dialing   CallStatus = "Dialing"
	Ringing   CallStatus = "Ringing"
	OnQueue   CallStatus = "OnQueue"
	Success   CallStatus = "Success"
	Failure   CallStatus = "Failure"
	NoAnswer  CallStatus = "NoAnswer"
	Abandoned CallStatus = "Abandoned"
	ShortCall CallStatus = "ShortCall"
	OnHold    CallStatus = "OnHold"
	OffHold   CallStatus = "OffHold"
)

// Call is one number of an outgoing campaign, or one call of an incoming
// campaign, with its history.
type Call struct {
	ID         int        `json:"id"`
	CampaignID int        `json:"campaign_id"`
	Kind       Kind       `json:"type"`
	Phone      string     `json:"phone"`
	Status     CallStatus `json:"status"`
	Retries    int        `json:"retries"` // tries made so far
	Trunk      string     `json:"trunk,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	Agent      string     `json:"agent,omitempty"` // the agent's id (9001); ECCP names it Agent/9001 or SIP/1003
	LegID      string     `json:"leg_id,omitempty"`
	UniqueID   string     `json:"uniqueid,omitempty"` // the call's SIP Call-ID
	Failure    string     `json:"failure_cause,omitempty"`

	Originate         time.Time     `json:"datetime_originate,omitzero"`
	OriginateResponse time.Time     `json:"datetime_originateresponse,omitzero"`
	Join              time.Time     `json:"datetime_join,omitzero"`
	LinkStart         time.Time     `json:"datetime_linkstart,omitzero"`
	LinkEnd           time.Time     `json:"datetime_linkend,omitzero"`
	Duration          time.Duration `json:"duration,omitempty"`
	NextTry           time.Time     `json:"next_try,omitzero"` // a retry, or a scheduled call, waits until then
	// A scheduled call is dialled only before NotAfter, and, with
	// WantAgent set, only when that agent is free, and goes to them.
	NotAfter  time.Time `json:"not_after,omitzero"`
	WantAgent string    `json:"scheduled_agent,omitempty"`
	FollowsUp int       `json:"follows_up,omitempty"` // the call this scheduled one follows up

	Attributes []Attribute `json:"attributes,omitempty"`
	// FormData is what agents saved: form id -> field id -> value.
	FormData map[int]map[int]string `json:"form_data,omitempty"`
	// Contacts are the contacts an incoming call's caller id matched;
	// Contact the one chosen (by the only match, or by the agent).
	Contacts []int `json:"contacts,omitempty"`
	Contact  int   `json:"contact,omitempty"`
}

// LogEntry is one status change of a campaign call, as campaignlog lists it.
type LogEntry struct {
	ID         int           `json:"id"`
	Time       time.Time     `json:"datetime_entry"`
	Phone      string        `json:"phone"`
	Queue      string        `json:"queue,omitempty"`
	Kind       Kind          `json:"campaign_type"`
	CampaignID int           `json:"campaign_id"`
	CallID     int           `json:"call_id"`
	Status     CallStatus    `json:"new_status"`
	Retry      int           `json:"retry"`
	UniqueID   string        `json:"uniqueid,omitempty"`
	Trunk      string        `json:"trunk,omitempty"`
	Duration   time.Duration `json:"duration,omitempty"`
	Agent      string        `json:"agentchannel,omitempty"`
}
