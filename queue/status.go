package queue

import (
	"time"

	"pbx/dialog"
)

// Event kinds the contact center publishes on the engine's bus.
const (
	// EventJoined: a caller joined a queue (LegID, Queue, Position; Detail
	// "callback" when a called-back caller rejoins).
	EventJoined dialog.EventKind = "queue.joined"
	// EventPositionChanged: a waiting caller's place changed (Position).
	EventPositionChanged dialog.EventKind = "queue.position_changed"
	// EventAgentOffered: a caller is offered to an agent (Agent).
	EventAgentOffered dialog.EventKind = "queue.agent_offered"
	// EventAgentConnected: a caller and an agent talk (Agent, OtherLegID is
	// the agent's leg, Wait).
	EventAgentConnected dialog.EventKind = "queue.agent_connected"
	// EventAgentNoAnswer: an offer was not taken (Agent, Cause).
	EventAgentNoAnswer dialog.EventKind = "queue.agent_no_answer"
	// EventHold and EventUnhold: a caller is held out of dispatch, or back.
	EventHold   dialog.EventKind = "queue.hold"
	EventUnhold dialog.EventKind = "queue.unhold"
	// EventLeft: a caller left a queue (Cause is one of the Left* reasons,
	// Wait, Position).
	EventLeft dialog.EventKind = "queue.left"
	// EventPriorityChanged: a waiting caller's priority changed (Detail is
	// the new priority).
	EventPriorityChanged dialog.EventKind = "queue.priority_changed"
	// EventAgentStateChanged: an agent's state changed (Agent, State;
	// Detail the break name and Cause the reason when paused).
	EventAgentStateChanged dialog.EventKind = "agent.state_changed"
	// EventMembership: an agent's membership of a queue changed by
	// AddMember or RemoveMember (Agent, Queue; Detail is one of the
	// Membership* changes, Position the penalty when added or changed).
	EventMembership dialog.EventKind = "queue.membership_changed"
)

// What changed in a membership (the Detail of EventMembership).
const (
	MembershipAdded   = "added"
	MembershipRemoved = "removed"
	MembershipPenalty = "penalty"
)

// Reasons a caller leaves a queue (the Cause of EventLeft).
const (
	LeftAnswered    = "answered"
	LeftAbandoned   = "abandoned"
	LeftTimeout     = "timeout"
	LeftExitKey     = "exit_key"
	LeftCallback    = "callback"
	LeftFull        = "full"
	LeftEmpty       = "empty"
	LeftDequeued    = "dequeued"
	LeftShutdown    = "shutdown"
	LeftTransferred = "transferred"
)

// Agent states (the State of EventAgentStateChanged and AgentStatus).
const (
	StateLoggedOut = "logged-out"
	StateIdle      = "idle"
	StateRinging   = "ringing"
	StateOnCall    = "on-call"
	StateWrapup    = "wrap-up"
	StatePaused    = "paused"
	StateOnHold    = "on-hold"
)

// AgentStates lists the agent states in the order reports show them.
var AgentStates = []string{StateLoggedOut, StateIdle, StateRinging, StateOnCall, StateWrapup, StatePaused, StateOnHold}

// EnqueueOptions tune one caller's stay in a queue.
type EnqueueOptions struct {
	Priority int           // higher is served first
	MaxWait  time.Duration // 0: the queue's max_wait
}

// LoginOptions tune an agent's login.
type LoginOptions struct {
	// Device is the extension a static agent logged in by API is called
	// back on when a call is dispatched to them; "" for a dynamic member
	// (rung on their contact).
	Device string
}

// CallerStatus is one waiting caller.
type CallerStatus struct {
	LegID     string        `json:"leg_id"`
	CallID    string        `json:"call_id,omitempty"`
	Queue     string        `json:"queue"`
	From      string        `json:"from,omitempty"`
	Position  int           `json:"position"` // 1 is next
	Priority  int           `json:"priority"`
	Joined    time.Time     `json:"joined"`
	Wait      time.Duration `json:"wait"`
	Held      bool          `json:"held,omitempty"`     // kept out of dispatch (HoldCaller)
	Callback  bool          `json:"callback,omitempty"` // a virtual entry: the caller hung up and is called back
	OfferedTo []string      `json:"offered_to,omitempty"`
}

// AgentStatus is one agent.
type AgentStatus struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	State     string         `json:"state"`
	Break     string         `json:"break,omitempty"`       // when paused
	Reason    string         `json:"reason,omitempty"`      // when paused
	Paused    bool           `json:"paused,omitempty"`      // in a break, even while a call shows as the state
	PausedAt  time.Time      `json:"paused_at,omitzero"`    // when the break began
	OnHold    bool           `json:"on_hold,omitempty"`     // the current call is on hold (the agent's phone, or HoldCall)
	HeldAt    time.Time      `json:"held_at,omitzero"`      // when it was put on hold
	Device    string         `json:"device,omitempty"`      // the extension a static agent logged in from
	LegID     string         `json:"leg_id,omitempty"`      // a static agent's open line, or the leg of the call being offered / taken
	CallLegID string         `json:"call_leg_id,omitempty"` // the caller's leg when ringing or on a call
	Queue     string         `json:"queue,omitempty"`       // the queue of the current call
	Since     time.Time      `json:"since"`                 // in this state since
	LoginAt   time.Time      `json:"login_at,omitempty"`
	Queues    []string       `json:"queues,omitempty"`
	Penalties map[string]int `json:"penalties,omitempty"` // queue -> penalty
	Skills    map[string]int `json:"skills,omitempty"`
	Answered  int            `json:"answered"`
	Missed    int            `json:"missed"`
	TalkTime  time.Duration  `json:"talk_time"`
}

// QueueStatus is one queue, live.
type QueueStatus struct {
	Name        string         `json:"name"`
	Strategy    string         `json:"strategy"`
	Waiting     int            `json:"waiting"`
	LongestWait time.Duration  `json:"longest_wait"`
	Agents      map[string]int `json:"agents"` // state -> count of members in it
	Callers     []CallerStatus `json:"callers,omitempty"`
	Members     []MemberStatus `json:"members,omitempty"`
	Stats       Totals         `json:"stats"`
}

// MemberStatus is one agent's membership of a queue.
type MemberStatus struct {
	Agent   string `json:"agent"`
	Penalty int    `json:"penalty"`
	State   string `json:"state"`
}

// Totals are a queue's figures for today, from the persisted buckets and
// the current one.
type Totals struct {
	Offered       int           `json:"offered"`
	Answered      int           `json:"answered"`
	Abandoned     int           `json:"abandoned"`
	Timeouts      int           `json:"timeouts"`
	AnsweredInSL  int           `json:"answered_in_sl"`
	AbandonedInSL int           `json:"abandoned_in_sl"`
	ServiceLevel  float64       `json:"service_level"` // percent
	AvgHold       time.Duration `json:"avg_hold"`
	AvgTalk       time.Duration `json:"avg_talk"`
	LongestHold   time.Duration `json:"longest_hold"`
}

// Bucket is one statistics interval of one queue (15 minutes by default).
type Bucket struct {
	Queue        string        `json:"queue"`
	Start        time.Time     `json:"start"`
	Offered      int           `json:"offered"`
	Answered     int           `json:"answered"`
	Abandoned    int           `json:"abandoned"`
	Timeouts     int           `json:"timeouts"`
	AnsweredInSL int           `json:"answered_in_sl"`
	HoldSum      time.Duration `json:"hold_sum"`
	TalkSum      time.Duration `json:"talk_sum"`
	MaxHold      time.Duration `json:"max_hold"`
}
