package config

import "time"

// ContactCenter holds what all queues and agents share: pause (break)
// types, the queue log, what callers still waiting at shutdown hear, and
// how long statistics are kept.
type ContactCenter struct {
	// Breaks are the pause types an agent picks from (lunch, meeting...).
	// Their ids are their place in the list, from 1, as ECCP's getpauses
	// shows them.
	Breaks []Break `yaml:"breaks"`
	// QueueLog is the path of the Asterisk-format queue_log file; a
	// relative path is inside the data directory; "" turns the file off
	// (the log is still kept in the store).
	QueueLog string `yaml:"queue_log"`
	// ShutdownPrompt is what callers still waiting hear when the PBX stops.
	ShutdownPrompt string `yaml:"shutdown_prompt"`
	// ShutdownTarget takes callers still waiting after ShutdownPrompt (a
	// dial-plan target, e.g. a trunk to an overflow site); "" hangs them up.
	ShutdownTarget string `yaml:"shutdown_target"`
	// Supervisors are the extensions that may listen, whisper, barge and
	// take over by feature code.
	Supervisors []string `yaml:"supervisors"`
	// StatsInterval is the width of a statistics bucket.
	StatsInterval time.Duration `yaml:"stats_interval"`
}

// Break is one pause type.
type Break struct {
	Name string `yaml:"name"` // shown to agents and supervisors; unique
	Code string `yaml:"code"` // DTMF keyed after the pause feature code; unique digits, optional
}

// Retention bounds how long the store keeps what a busy site writes.
type Retention struct {
	CDR      time.Duration `yaml:"cdr"`       // call records older than this are pruned; 0 keeps them
	QueueLog time.Duration `yaml:"queue_log"` // queue-log entries in the store; 0 keeps them
	Stats    time.Duration `yaml:"stats"`     // statistics buckets; 0 keeps them
	Every    time.Duration `yaml:"every"`     // how often the pruner runs
}

// Queue is one call queue.
type Queue struct {
	Name     string `yaml:"name"`     // letters, digits, '-', '_'; unique; what queue:NAME names
	Strategy string `yaml:"strategy"` // see Strategies
	Weight   int    `yaml:"weight"`   // an agent in several queues serves a higher weight first

	Members []Member       `yaml:"members"` // agents and their penalties
	Skills  map[string]int `yaml:"skills"`  // required skill -> lowest level accepted
	Rules   []QueueRule    `yaml:"rules"`   // widen penalties and relax skills as the wait grows

	RingTimeout   time.Duration     `yaml:"ring_timeout"`   // how long one offer rings an agent
	Retry         time.Duration     `yaml:"retry"`          // pause after an offer nobody took before the next
	Progressively time.Duration     `yaml:"progressively"`  // ring-progressively: one more agent every this long
	Wrapup        time.Duration     `yaml:"wrapup"`         // after a call, before the agent's next offer (an agent may override)
	MaxCallers    int               `yaml:"max_callers"`    // 0: no limit; a caller beyond it goes to Fallback
	MaxWait       time.Duration     `yaml:"max_wait"`       // 0: no limit; then the caller goes to Fallback
	Fallback      string            `yaml:"fallback"`       // dial-plan target for max_wait, max_callers, join/leave-empty; "" hangs up
	JoinEmpty     []string          `yaml:"join_empty"`     // member conditions that count as absent when a caller joins; see EmptyConditions
	LeaveEmpty    []string          `yaml:"leave_empty"`    // the same, checked while callers wait
	Autopause     int               `yaml:"autopause"`      // pause an agent after this many offers in a row unanswered; 0: never
	AutopauseAs   string            `yaml:"autopause_as"`   // the break an autopause records
	RingInUse     bool              `yaml:"ring_in_use"`    // offer to agents already on a call
	ServiceLevel  time.Duration     `yaml:"service_level"`  // answered within this counts toward the service level
	Record        string            `yaml:"record"`         // "", mono or stereo: record every answered queue call
	Music         string            `yaml:"music"`          // hold-music class
	Announce      string            `yaml:"announce"`       // prompt played on entry
	AnnounceEvery time.Duration     `yaml:"announce_every"` // position and estimated wait every this long; 0: never
	Position      bool              `yaml:"position"`       // say the position
	HoldTime      bool              `yaml:"hold_time"`      // say the estimated wait
	Periodic      []string          `yaml:"periodic"`       // prompts played in turn between position announcements
	PeriodicEvery time.Duration     `yaml:"periodic_every"` // 0: never
	ExitKeys      map[string]string `yaml:"exit_keys"`      // a key the caller presses -> dial-plan target
	CallbackKey   string            `yaml:"callback_key"`   // the caller presses it to hang up and keep their place; "" off
	CallbackTries int               `yaml:"callback_tries"` // call-back attempts in all before a caller who does not answer is dropped
	CallbackRetry time.Duration     `yaml:"callback_retry"` // between two attempts; the caller keeps their place meanwhile
}

// Member puts an agent in a queue.
type Member struct {
	Agent   string `yaml:"agent"`   // an agent id
	Penalty int    `yaml:"penalty"` // lower is offered first; rules widen how high a caller reaches
}

// QueueRule changes what a caller may reach after they have waited After.
// The caller keeps their place. Rules apply in order of After.
type QueueRule struct {
	After      time.Duration  `yaml:"after"`
	MaxPenalty *int           `yaml:"max_penalty"` // nil: unchanged; the queue starts with no limit unless a rule at 0s sets one
	MinPenalty *int           `yaml:"min_penalty"`
	Skills     map[string]int `yaml:"skills"` // new lowest levels; 0 drops the requirement
}

// Agent is one contact-center agent.
type Agent struct {
	ID   string `yaml:"id"`   // digits; unique; Agent/ID in logs and the queue log
	Name string `yaml:"name"` // shown to supervisors
	// PIN makes a static agent: they log in by dialling the login code
	// from any extension and keying the PIN, and stay on that line.
	PIN string `yaml:"pin"`
	// Contact makes a dynamic member: the number rung for each call (an
	// extension or an outside number, through the dial plan).
	Contact string         `yaml:"contact"`
	Wrapup  *time.Duration `yaml:"wrapup"` // overrides the queue's
	Skills  map[string]int `yaml:"skills"` // skill -> level, 1 to 100
	// Supervisor lets the agent listen, whisper, barge and take over by
	// feature code from the phone they are logged in on (a static agent's
	// line, a dynamic member's contact), as contact_center.supervisors
	// lets an extension.
	Supervisor bool `yaml:"supervisor"`
	AutoLogin  bool `yaml:"auto_login"` // a dynamic member logged in at start (when the store holds no session)
	// ECCPPassword is the secret an ECCP console proves it acts for the
	// agent with; "" means no ECCP request may act for the agent.
	ECCPPassword string `yaml:"eccp_password"`
}

// Strategies are the queue strategies: Asterisk's and FreeSWITCH's names.
var Strategies = []string{
	"ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom",
	"longest-idle-agent", "agent-with-least-talk-time", "agent-with-fewest-calls", "top-down", "ring-progressively",
}

// EmptyConditions are the member conditions join_empty and leave_empty
// name, as Asterisk distinguishes them: a member in one of the listed
// conditions counts as absent; a queue whose members are all absent is
// empty.
var EmptyConditions = []string{"paused", "penalty", "inuse", "ringing", "unavailable", "invalid", "wrapup", "loggedout"}
