package config

import "time"

// Config is the whole of pbx.yaml.
type Config struct {
	Node     string         `yaml:"node"`     // node id, prefixed to every leg, call and recording id
	Log      Log            `yaml:"log"`      // log levels
	SIP      SIP            `yaml:"sip"`      // SIP transports and registrar
	HTTP     HTTP           `yaml:"http"`     // health, metrics, admin API
	Media    Media          `yaml:"media"`    // RTP ports, codecs, timeouts
	Calls    Calls          `yaml:"calls"`    // ring timeout, drain, session timers
	Security Security       `yaml:"security"` // brute-force guard
	Users    []User         `yaml:"users"`    // extensions
	Trunks   []Trunk        `yaml:"trunks"`   // carriers
	Dialplan []DialplanRule `yaml:"dialplan"` // ordered routing rules

	Sounds     Sounds     `yaml:"sounds"`     // prompts and hold music
	Features   Features   `yaml:"features"`   // in-call DTMF feature codes
	Conference Conference `yaml:"conference"` // conference rooms
	Recordings Recordings `yaml:"recordings"` // call recording
	RWI        RWI        `yaml:"rwi"`        // the RWI control plane (JSON over WebSocket)

	AgentRPC  AgentRPC            `yaml:"agent_rpc"` // the Agent RPC control plane (diagox bots)
	Endpoints map[string]Endpoint `yaml:"endpoints"` // Agent RPC endpoints and redirect targets, by name
	ECCP      ECCP                `yaml:"eccp"`      // the ECCP control plane (agent consoles, dialer front ends)

	ContactCenter ContactCenter `yaml:"contact_center"` // breaks, queue log, shutdown
	Queues        []Queue       `yaml:"queues"`         // call queues
	Agents        []Agent       `yaml:"agents"`         // contact-center agents
	Retention     Retention     `yaml:"retention"`      // how long the store keeps records

	// File is the path the config was read from ("embedded pbx.yaml" for the default).
	File string `yaml:"-"`

	lines map[string]int // field path -> line, for validation errors
}

// Log sets the default level and a level per package (sip, media, dialog, store, server).
type Log struct {
	Level    string            `yaml:"level"`    // debug, info, warn, error
	Packages map[string]string `yaml:"packages"` // package name -> level
}

// SIP configures transports and the registrar.
type SIP struct {
	UDP            string        `yaml:"udp"`             // listen address, "" disables
	TCP            string        `yaml:"tcp"`             // listen address, "" disables
	TLS            string        `yaml:"tls"`             // listen address, "" disables
	TLSCert        string        `yaml:"tls_cert"`        // PEM certificate file, required with tls
	TLSKey         string        `yaml:"tls_key"`         // PEM key file, required with tls
	ExternalIP     string        `yaml:"external_ip"`     // address written in Contact and SDP; "" = the listen address, or 127.0.0.1 if unspecified
	Realm          string        `yaml:"realm"`           // digest realm
	NonceTTL       time.Duration `yaml:"nonce_ttl"`       // a nonce older than this gets stale=true
	MinExpires     int           `yaml:"min_expires"`     // shorter registrations get 423
	MaxExpires     int           `yaml:"max_expires"`     // longer registrations are cut down to this
	DefaultExpires int           `yaml:"default_expires"` // used when a REGISTER names none
	QualifyEvery   time.Duration `yaml:"qualify_every"`   // OPTIONS ping interval for contacts, 0 disables
	UserAgent      string        `yaml:"user_agent"`      // Server / User-Agent header
}

// HTTP configures the HTTP listener.
type HTTP struct {
	Listen string `yaml:"listen"` // "" disables
}

// Media configures RTP.
type Media struct {
	RTPPortMin int           `yaml:"rtp_port_min"` // first port of the RTP range (even)
	RTPPortMax int           `yaml:"rtp_port_max"` // last port of the RTP range
	RTPTimeout time.Duration `yaml:"rtp_timeout"`  // hang up a call whose media stops this long; 0 disables
	Codecs     []string      `yaml:"codecs"`       // preference order: PCMU, PCMA
	RTCPEvery  time.Duration `yaml:"rtcp_every"`   // RTCP report interval
	InbandDTMF bool          `yaml:"inband_dtmf"`  // detect DTMF tones from far ends without telephone-event
}

// Calls configures call handling.
type Calls struct {
	RingTimeout    time.Duration `yaml:"ring_timeout"`    // unanswered calls end with 480
	DrainTimeout   time.Duration `yaml:"drain_timeout"`   // on shutdown, calls may finish for this long
	SessionExpires time.Duration `yaml:"session_expires"` // RFC 4028 interval offered/accepted; 0 disables
	MinSE          time.Duration `yaml:"min_se"`          // smallest session interval accepted
	// MaxLegs bounds the legs (call sides) alive at once; past it a new call
	// gets 503 with Retry-After. 0 derives it from the open-file limit and
	// the RTP port range.
	MaxLegs int `yaml:"max_legs"`
	// MaxSetup bounds the calls being set up (not yet answered or failed)
	// at once; past it a new call gets 503. 0 derives it from MaxLegs.
	MaxSetup int `yaml:"max_setup"`
}

// Security configures the brute-force guard.
type Security struct {
	MaxFailures int           `yaml:"max_failures"` // failed authentications in Window before a ban
	Window      time.Duration `yaml:"window"`
	BanFor      time.Duration `yaml:"ban_for"`
	Allow       []string      `yaml:"allow"` // CIDRs never banned
}

// User is an extension that registers and calls.
type User struct {
	Extension string `yaml:"extension"`
	Password  string `yaml:"password"`
	Name      string `yaml:"name"`  // display name
	Music     string `yaml:"music"` // hold-music class this user hears when held; "" = default
}

// Trunk is a carrier: calls go out through it and come in from it.
type Trunk struct {
	Name      string `yaml:"name"`
	Host      string `yaml:"host"`      // host or host:port of the carrier
	Transport string `yaml:"transport"` // udp (default), tcp, tls

	Username string `yaml:"username"` // credentials for outbound registration and INVITE challenges
	Password string `yaml:"password"`
	Register bool   `yaml:"register"` // keep an outbound registration
	Expires  int    `yaml:"expires"`  // registration interval, seconds

	CallerID string `yaml:"caller_id"` // From user on outbound calls; "" keeps the caller's

	// Inbound matching: by source address, or by digest credentials.
	InboundCIDRs    []string `yaml:"inbound_cidrs"`
	InboundUser     string   `yaml:"inbound_user"`
	InboundPassword string   `yaml:"inbound_password"`
	AllowTransit    bool     `yaml:"allow_transit"` // inbound calls from this trunk may leave through a trunk
	Music           string   `yaml:"music"`         // hold-music class its callers hear when held; "" = default
	DIDs            []DID    `yaml:"dids"`          // inbound routing
	MaxCalls        int      `yaml:"max_calls"`     // the carrier's channels: the dialer keeps its calls within them; 0 = no limit
}

// DID routes an inbound trunk call by the number dialled.
type DID struct {
	Match  `yaml:",inline"`
	Target string `yaml:"target"`
}

// Match matches a number by exactly one of exact value, prefix or regular expression.
type Match struct {
	Exact  string `yaml:"exact"`
	Prefix string `yaml:"prefix"`
	Regex  string `yaml:"regex"`
}

// DialplanRule is one routing rule. Rules are tried in order.
type DialplanRule struct {
	Name    string `yaml:"name"`
	Match   `yaml:",inline"`
	Strip   int    `yaml:"strip"`   // digits removed from the front
	Prepend string `yaml:"prepend"` // digits added to the front, after strip
	// Target is "kind" or "kind:ARG,ARG": a kind some package registered
	// with dialog (extension, trunk, echo, play, conference, music, park,
	// rwi; queue, agent-login, agent-logout, agent-pause, agent-unpause,
	// supervise; later agentrpc). config checks the syntax only;
	// dialog.CheckDialplan checks the kind and its arguments.
	Target string `yaml:"target"`
}

// Sounds points the PBX at the operator's own audio. Prompts and music are
// WAV files (PCM at 8, 16, 44.1 or 48 kHz, mono or stereo, or G.711).
type Sounds struct {
	// Prompts is a directory searched before the built-in prompts, by the
	// same names: welcome.wav, digits/3.wav, ...
	Prompts string `yaml:"prompts"`
	// Music maps a hold-music class to a WAV file, or a directory whose WAV
	// files play in name order. "default" and "calm" are built in and can be
	// overridden.
	Music map[string]string `yaml:"music"`
}

// Features are the DTMF codes a caller or callee keys during a call.
type Features struct {
	Record           string        `yaml:"record"`            // start or stop recording the call
	BlindTransfer    string        `yaml:"blind_transfer"`    // then the number and #
	AttendedTransfer string        `yaml:"attended_transfer"` // then the number and #
	DigitTimeout     time.Duration `yaml:"digit_timeout"`     // longest pause between digits of a code or number
}

// Conference configures the rooms that dial plan target "conference" opens.
type Conference struct {
	PINs    map[string]string `yaml:"pins"`     // room -> PIN asked before joining
	Beep    bool              `yaml:"beep"`     // beep when someone joins or leaves
	MuteKey string            `yaml:"mute_key"` // DTMF key that toggles one's own mute
}

// Recordings configures where and how calls are recorded.
type Recordings struct {
	Dir         string        `yaml:"dir"`          // "" = recordings/ in the data directory
	Path        string        `yaml:"path"`         // file name template inside dir
	Mode        string        `yaml:"mode"`         // stereo (caller left, callee right) or mono
	Beep        bool          `yaml:"beep"`         // beep to both parties when recording starts
	MaxDuration time.Duration `yaml:"max_duration"` // a recording stops by itself after this long; 0 = no limit
	MaxAge      time.Duration `yaml:"max_age"`      // recordings older than this are deleted; 0 = kept
	MaxTotalMB  int64         `yaml:"max_total_mb"` // oldest recordings go beyond this total; 0 = no limit
	Token       string        `yaml:"token"`        // bearer token for HTTP downloads; "" = downloads off
}

// RWI configures the RWI control plane: programs that connect over a
// WebSocket at /rwi/v1 on the HTTP listener, authenticate with a token and
// drive calls with JSON commands.
type RWI struct {
	// Tokens are the credentials programs connect with; none means no
	// program can connect.
	Tokens []RWIToken `yaml:"tokens"`
	// MaxLegs bounds the legs one session may own at once.
	MaxLegs int `yaml:"max_legs"`
	// OriginateRate bounds call.originate per second per session (the
	// burst is the same number).
	OriginateRate float64 `yaml:"originate_rate"`
	// OrphanHold is how long the legs of a disconnected session wait for
	// session.resume before they go to Fallback; 0 sends them at once.
	OrphanHold time.Duration `yaml:"orphan_hold"`
	// OfferTimeout is how long a call sent to an rwi:CONTEXT target waits
	// for a session to claim it before it goes to Fallback.
	OfferTimeout time.Duration `yaml:"offer_timeout"`
	// Fallback is the dial-plan target ("kind" or "kind:arguments") that
	// takes unclaimed offers and orphaned legs; "" hangs them up (480 while
	// still ringing). config checks its syntax, dialog.CheckDialplan its kind.
	Fallback string `yaml:"fallback"`
	// MaxFrame is the largest inbound WebSocket frame in bytes; a bigger
	// one closes the connection.
	MaxFrame int `yaml:"max_frame"`
}

// RWIToken is one credential of the RWI control plane and what it may do.
type RWIToken struct {
	Name  string `yaml:"name"`  // shown in logs instead of the secret; unique
	Token string `yaml:"token"` // the secret, sent as a bearer token; unique, at least 12 characters
	// Scopes are the groups of actions allowed: call.control,
	// record.control, supervisor.control, queue.control, media.stream.
	// session.* actions need none.
	Scopes []string `yaml:"scopes"`
	// CIDRs are the addresses the token may connect from (a CIDR or a bare
	// address); none means loopback only.
	CIDRs []string `yaml:"cidrs"`
	// MaxConnections bounds the connections open with this token at once.
	MaxConnections int `yaml:"max_connections"`
}
