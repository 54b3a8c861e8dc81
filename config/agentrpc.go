package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"time"
)

// AgentRPC configures the Agent RPC control plane: bots connect over
// WebSocket with ?endpoint=NAME and steer the calls the dial plan sends to
// agentrpc:NAME, as diagox's Agent RPC does.
type AgentRPC struct {
	// Listen is the WebSocket address; "" disables Agent RPC. The
	// protocol has no authentication of its own, so it listens on
	// loopback unless told otherwise.
	Listen string `yaml:"listen"`
	// Token, when set, must come with every connection (?token= or an
	// Authorization: Bearer header). Required when Listen is not loopback.
	Token string `yaml:"token"`
	// PlaybackDir is where play's file:// URIs are read from; "" plays
	// the prompt of that name (file://welcome.wav is the prompt welcome).
	PlaybackDir string `yaml:"playback_dir"`
	// InviteTimeout is how long a bot has to accept a call (200) before
	// it goes to the next connection.
	InviteTimeout time.Duration `yaml:"invite_timeout"`
	// ByeTimeout is how long the PBX waits for the bot's 200 to bye.
	ByeTimeout time.Duration `yaml:"bye_timeout"`
	// MaxFrame is the largest frame a bot may send, in bytes; a larger one
	// closes its connection.
	MaxFrame int `yaml:"max_frame"`
}

// Endpoint is a named place calls go to, in diagox's shape: an Agent RPC
// endpoint that bots serve (match type agent or flow), a SIP URI (uri),
// or a set of users (match type user). The map key in pbx.yaml is its name.
type Endpoint struct {
	Match EndpointMatch `yaml:"match"`
	// URI is where calls redirected to the endpoint are sent; a URI with
	// no user part gets the number dialled.
	URI string `yaml:"uri"`
	// Balance picks which connection of an agent endpoint is offered a
	// call: random (default) or least_busy.
	Balance string `yaml:"balance"`
	// MaxConnections bounds the bots connected to an agent endpoint at once.
	MaxConnections int `yaml:"max_connections"`
	// Fallback is the dial-plan target of calls no bot takes or whose bot
	// went away; "" refuses them with 480, or hangs up an answered one.
	Fallback string `yaml:"fallback"`
}

// EndpointMatch says what an endpoint is: type agent (or flow) for bots,
// user with extensions as Values, ip with addresses or CIDRs as Values.
type EndpointMatch struct {
	Type   string   `yaml:"type"`
	Values []string `yaml:"values"`
}

// IsAgent reports whether bots serve the endpoint.
func (e Endpoint) IsAgent() bool { return e.Match.Type == "agent" || e.Match.Type == "flow" }

// Agent RPC defaults.
const (
	DefaultAgentRPCListen        = "127.0.0.1:6000"
	DefaultAgentRPCInviteTimeout = 60 * time.Second
	DefaultAgentRPCByeTimeout    = 10 * time.Second
	DefaultAgentRPCMaxFrame      = 65536
	DefaultEndpointConnections   = 2 // as diagox
	DefaultEndpointBalance       = "random"
)

// agentRPCDefaults fills the agent_rpc section and the agent endpoints'
// balance and max_connections. listen keeps an explicit "" (Agent RPC off).
func (c *Config) agentRPCDefaults(absent func(string) bool) {
	a := &c.AgentRPC
	if absent("agent_rpc.listen") {
		a.Listen = DefaultAgentRPCListen
	}
	setDur(&a.InviteTimeout, DefaultAgentRPCInviteTimeout)
	setDur(&a.ByeTimeout, DefaultAgentRPCByeTimeout)
	setInt(&a.MaxFrame, DefaultAgentRPCMaxFrame)
	for name, e := range c.Endpoints {
		if e.IsAgent() {
			setStr(&e.Balance, DefaultEndpointBalance)
			setInt(&e.MaxConnections, DefaultEndpointConnections)
			c.Endpoints[name] = e
		}
	}
}

// endpointNameRe is an endpoint name: it travels in a URL query and a
// dial-plan target.
var endpointNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// agentRPC checks the agent_rpc section and the endpoints.
func (v *validator) agentRPC() {
	a := v.c.AgentRPC
	v.listen("agent_rpc.listen", a.Listen)
	if _, _, err := net.SplitHostPort(a.Listen); err == nil && a.Token == "" && !loopbackListen(a.Listen) {
		v.fail("agent_rpc.token", "required when agent_rpc.listen (%s) is not a loopback address: the protocol has no other authentication", a.Listen)
	}
	if a.Token != "" && !rwiTokenRe.MatchString(a.Token) {
		v.fail("agent_rpc.token", "want at least 12 visible ASCII characters without spaces")
	}
	v.positive("agent_rpc.invite_timeout", a.InviteTimeout)
	v.positive("agent_rpc.bye_timeout", a.ByeTimeout)
	if a.MaxFrame < 1024 {
		v.fail("agent_rpc.max_frame", "want at least 1024 bytes, got %d", a.MaxFrame)
	}
	for _, name := range slices.Sorted(maps.Keys(v.c.Endpoints)) {
		v.endpoint(name, v.c.Endpoints[name])
	}
}

// endpoint checks one endpoint: its name, and the fields its match type
// takes (only agent endpoints take fallback, balance and max_connections).
func (v *validator) endpoint(name string, e Endpoint) {
	p := "endpoints." + name
	if !endpointNameRe.MatchString(name) {
		v.fail(p, "endpoint name %q: want up to 64 letters, digits, '-', '_' or '.'", name)
	}
	switch e.Match.Type {
	case "agent", "flow":
		if e.URI != "" {
			v.fail(p+".uri", "an agent endpoint is served by bots and takes no uri")
		}
		if len(e.Match.Values) > 0 {
			v.fail(p+".match.values", "an agent endpoint takes no values")
		}
		if e.Balance != "random" && e.Balance != "least_busy" {
			v.fail(p+".balance", "want random or least_busy, got %q", e.Balance)
		}
		if e.MaxConnections < 1 {
			v.fail(p+".max_connections", "want at least 1, got %d", e.MaxConnections)
		}
		if e.Fallback != "" {
			v.target(p+".fallback", e.Fallback)
		}
		return
	case "user":
		if len(e.Match.Values) == 0 {
			v.fail(p+".match.values", "want the extensions of the endpoint's users")
		}
		for i, u := range e.Match.Values {
			if !extensionRe.MatchString(u) {
				v.fail(fmt.Sprintf("%s.match.values[%d]", p, i), "want an extension of 1 to 15 digits, got %q", u)
			}
		}
	case "ip":
		for i, a := range e.Match.Values {
			if _, err := ParsePrefix(a); err != nil {
				v.fail(fmt.Sprintf("%s.match.values[%d]", p, i), "want an address or a CIDR such as 10.0.0.0/8, got %q", a)
			}
		}
	case "":
		if e.URI == "" {
			v.fail(p, "want a uri, or match.type agent, flow, user or ip")
		}
	default:
		v.fail(p+".match.type", "want agent, flow, user or ip, got %q", e.Match.Type)
	}
	if e.URI != "" && !sipURIRe.MatchString(e.URI) {
		v.fail(p+".uri", "want a SIP URI such as sip:voicebot@10.0.0.5:5080, got %q", e.URI)
	}
	if e.Fallback != "" || e.Balance != "" || e.MaxConnections != 0 {
		v.fail(p, "fallback, balance and max_connections belong to agent endpoints (match.type agent)")
	}
}

// sipURIRe is a sip: or sips: URI with a host.
var sipURIRe = regexp.MustCompile(`^sips?:([^@\s;]+@)?[A-Za-z0-9.\-\[\]:]+(;[^\s]*)?$`)

// loopbackListen reports whether a listen address binds loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
