package dialog

import "time"

// EventKind names what changed. Control planes map kinds to their own
// event names; the strings here are the engine's own and stable.
type EventKind string

// Event kinds. Leg events carry LegID (and BridgeID and OtherLegID while the
// leg is bridged); call events group the legs one call record covers.
const (
	EventLegCreated   EventKind = "leg.created"   // Direction, Context, From, To
	EventLegRinging   EventKind = "leg.ringing"   // the far end rings (180), or the PBX sent 180 on an inbound leg
	EventLegEarly     EventKind = "leg.early"     // early media flows (183 with SDP)
	EventLegAnswered  EventKind = "leg.answered"  // Setup: time from creation to answer
	EventLegHeld      EventKind = "leg.held"      // Detail: the music class it hears
	EventLegResumed   EventKind = "leg.resumed"   //
	EventLegBridged   EventKind = "leg.bridged"   // BridgeID, OtherLegID (one of the others)
	EventLegUnbridged EventKind = "leg.unbridged" // BridgeID: the bridge it left
	EventLegEnded     EventKind = "leg.ended"     // Cause, SIPCode, By
	EventDTMF         EventKind = "leg.dtmf"      // Digit, Source: rfc4733, inband or info
	EventDigits       EventKind = "leg.digits"    // Digits collected by CollectDTMF; Cause: terminator, max, timeout
	EventLegMessage   EventKind = "leg.message"   // the far end sent MESSAGE in the dialog: ContentType, Body
	EventLegNotify    EventKind = "leg.notify"    // the far end sent NOTIFY in the dialog: Detail (its Event header), ContentType, Body

	EventPlayStarted  EventKind = "play.started"  // Detail: the playback id
	EventPlayFinished EventKind = "play.finished" // Detail: the playback id; Cause: finished, stopped, interrupted

	EventRecordingStarted EventKind = "recording.started" // Detail: the recording id
	EventRecordingPaused  EventKind = "recording.paused"
	EventRecordingResumed EventKind = "recording.resumed"
	EventRecordingStopped EventKind = "recording.stopped" // Detail: the recording id; Duration

	EventTransferStarted EventKind = "transfer.started"   // Detail: the target
	EventTransferDone    EventKind = "transfer.completed" //
	EventTransferFailed  EventKind = "transfer.failed"    // Cause: why

	EventSuperviseStarted EventKind = "supervise.started" // LegID: the supervisor, OtherLegID: the supervised leg, Detail: listen, whisper, barge or takeover
	EventSuperviseStopped EventKind = "supervise.stopped"

	// Conference rooms: Detail is the room's name. Created and ended
	// carry the room's BridgeID; the others are leg events of a member.
	EventRoomCreated EventKind = "room.created"
	EventRoomEnded   EventKind = "room.ended"
	EventRoomJoined  EventKind = "room.joined"
	EventRoomLeft    EventKind = "room.left"
	EventRoomMuted   EventKind = "room.muted"
	EventRoomUnmuted EventKind = "room.unmuted"

	EventCallStarted  EventKind = "call.started"
	EventCallRinging  EventKind = "call.ringing"
	EventCallAnswered EventKind = "call.answered"
	EventCallEnded    EventKind = "call.ended"

	EventDraining EventKind = "engine.draining" // new calls are refused from now on
	EventLagged   EventKind = "bus.lagged"      // the last event a lagging subscription gets before it is closed
)

// Event reports one change of state. Seq increases by one per event across
// the engine, so a client that lost its subscription resumes after the
// last Seq it saw.
type Event struct {
	Seq        uint64        `json:"seq"`
	Time       time.Time     `json:"time"`
	Kind       EventKind     `json:"kind"`
	CallID     string        `json:"call_id,omitempty"`
	LegID      string        `json:"leg_id,omitempty"`
	BridgeID   string        `json:"bridge_id,omitempty"`
	OtherLegID string        `json:"other_leg_id,omitempty"`
	Direction  string        `json:"direction,omitempty"` // inbound or outbound: on every leg event
	Context    string        `json:"context,omitempty"`   // the dial-plan rule or program that offered an inbound leg
	From       string        `json:"from,omitempty"`
	To         string        `json:"to,omitempty"`
	Cause      string        `json:"cause,omitempty"`
	SIPCode    int           `json:"sip_code,omitempty"`
	By         string        `json:"by,omitempty"`       // leg.ended: local, remote or system
	Digit      string        `json:"digit,omitempty"`    // leg.dtmf: the key
	Source     string        `json:"source,omitempty"`   // leg.dtmf: rfc4733, inband or info
	Digits     string        `json:"digits,omitempty"`   // leg.digits
	Detail     string        `json:"detail,omitempty"`   // a recording or playback id, a transfer target, a supervisor mode
	Setup      time.Duration `json:"setup,omitempty"`    // leg.answered, call.answered: time from creation to answer
	Duration   time.Duration `json:"duration,omitempty"` // recording.stopped: how long the recording is
	// Owner is the control-plane session that commanded the leg when the
	// event was published ("" for the dial plan), so that a control plane
	// routes a leg's events to its owner without a lookup of its own.
	Owner string `json:"owner,omitempty"`
	// ContentType and Body are what a far end sent in a MESSAGE or NOTIFY
	// (leg.message, leg.notify); Body is cut to MaxEventBody bytes.
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body,omitempty"`

	// Contact-center events (published by queue/ through Engine.Publish):
	// the queue and agent concerned, a caller's place in line (1 is next),
	// how long the caller waited, and an agent's state.
	Queue    string        `json:"queue,omitempty"`
	Agent    string        `json:"agent,omitempty"`
	Position int           `json:"position,omitempty"`
	Wait     time.Duration `json:"wait,omitempty"`
	State    string        `json:"state,omitempty"`

	// Campaign events (published by campaign/): the campaign and its call
	// record; State is the call's new status, To its number.
	Campaign     int `json:"campaign_id,omitempty"`
	CampaignCall int `json:"campaign_call_id,omitempty"`
	// CampaignLog is the campaign log entry an event of a call's progress
	// wrote (campaign.call_progress, campaign.call_ended: the Success or
	// ShortCall entry), so a control plane can name the entry it reports.
	CampaignLog int `json:"campaign_log_id,omitempty"`
}

// MaxEventBody is the most of a MESSAGE's or NOTIFY's body an event
// carries: events are kept in the bus's history and sent to programs, so
// a far end cannot make them large.
const MaxEventBody = 4096
