package config

import (
	"strings"
	"testing"
	"time"
)

// Every problem of the agent_rpc and endpoints sections names the file,
// the line and the field.
func TestAgentRPCErrors(t *testing.T) {
	const bot = "endpoints:\n  bot:\n    match:\n      type: agent\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"open listen without token", "agent_rpc:\n  listen: 0.0.0.0:6000\n", "bad.yaml:1: agent_rpc.token: required when agent_rpc.listen (0.0.0.0:6000) is not a loopback address"},
		{"bad listen", "agent_rpc:\n  listen: six\n", "bad.yaml:2: agent_rpc.listen: want host:port"},
		{"short token", "agent_rpc:\n  token: abc\n", "bad.yaml:2: agent_rpc.token: want at least 12 visible ASCII characters"},
		{"zero invite timeout", "agent_rpc:\n  invite_timeout: -1s\n", "bad.yaml:2: agent_rpc.invite_timeout: must be more than 0"},
		{"zero bye timeout", "agent_rpc:\n  bye_timeout: -1s\n", "bad.yaml:2: agent_rpc.bye_timeout: must be more than 0"},
		{"tiny frame", "agent_rpc:\n  max_frame: 10\n", "bad.yaml:2: agent_rpc.max_frame: want at least 1024 bytes, got 10"},
		{"bad name", "endpoints:\n  \"my bot\":\n    uri: sip:a@b\n", "bad.yaml:2: endpoints.my bot: endpoint name \"my bot\""},
		{"unknown type", "endpoints:\n  x:\n    match:\n      type: trunk\n", "bad.yaml:4: endpoints.x.match.type: want agent, flow, user or ip, got \"trunk\""},
		{"nothing", "endpoints:\n  x:\n    match: {}\n", "bad.yaml:2: endpoints.x: want a uri, or match.type"},
		{"agent with uri", bot + "    uri: sip:a@b\n", "bad.yaml:5: endpoints.bot.uri: an agent endpoint is served by bots and takes no uri"},
		{"agent with values", "endpoints:\n  bot:\n    match:\n      type: flow\n      values: [a]\n", "bad.yaml:5: endpoints.bot.match.values: an agent endpoint takes no values"},
		{"bad balance", bot + "    balance: round_robin\n", "bad.yaml:5: endpoints.bot.balance: want random or least_busy, got \"round_robin\""},
		{"no connections", bot + "    max_connections: -1\n", "bad.yaml:5: endpoints.bot.max_connections: want at least 1, got -1"},
		{"bad fallback", bot + "    fallback: \"Queue Support\"\n", "bad.yaml:5: endpoints.bot.fallback: \"Queue Support\": want kind or kind:arguments"},
		{"user without values", "endpoints:\n  sales:\n    match:\n      type: user\n", "bad.yaml:3: endpoints.sales.match.values: want the extensions"},
		{"user not an extension", "endpoints:\n  sales:\n    match:\n      type: user\n      values: [bob]\n", "bad.yaml:5: endpoints.sales.match.values[0]: want an extension of 1 to 15 digits, got \"bob\""},
		{"bad cidr", "endpoints:\n  office:\n    match:\n      type: ip\n      values: [10.0.0.0/40]\n", "bad.yaml:5: endpoints.office.match.values[0]: want an address or a CIDR"},
		{"bad uri", "endpoints:\n  vb:\n    uri: http://x\n", "bad.yaml:3: endpoints.vb.uri: want a SIP URI"},
		{"fallback on a uri endpoint", "endpoints:\n  vb:\n    uri: sip:vb@10.0.0.1\n    fallback: echo\n", "bad.yaml:2: endpoints.vb: fallback, balance and max_connections belong to agent endpoints"},
		{"unknown key", bot + "    fallbak: echo\n", "bad.yaml:5: endpoints.bot.fallbak: unknown key (did you mean fallback?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v %+v", c.AgentRPC, c.Endpoints)
			}
			if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, tt.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, tt.want)
			}
		})
	}
}

func TestAgentRPCAccepts(t *testing.T) {
	c, err := Parse("good.yaml", []byte(`agent_rpc:
  listen: 10.0.0.1:6000
  token: a-long-enough-secret
endpoints:
  bot:
    match: {type: flow}
  vb:
    uri: sip:10.0.0.5:5080
  sales:
    match: {type: user, values: ["1001"]}
  office:
    match: {type: ip, values: [10.10.0.1/24]}
    uri: sips:pbx@10.10.0.1;transport=tls
`))
	if err != nil {
		t.Fatal(err)
	}
	bot := c.Endpoints["bot"]
	if !bot.IsAgent() || bot.Balance != "random" || bot.MaxConnections != 2 || c.Endpoints["vb"].IsAgent() {
		t.Fatalf("endpoints %+v", c.Endpoints)
	}
	if c.AgentRPC.InviteTimeout != time.Minute || c.AgentRPC.ByeTimeout != 10*time.Second {
		t.Fatalf("agent_rpc %+v", c.AgentRPC)
	}
}
