package main

import (
	"net/netip"
	"strings"
	"testing"

	"pbx/config"
)

// fixedListeners stands for a running node's listen addresses.
type fixedListeners struct{ http, bots, eccp, eccpTLS string }

func (f fixedListeners) SIPAddr(t string) netip.AddrPort {
	if t == "UDP" {
		return netip.MustParseAddrPort("127.0.0.1:5060")
	}
	return netip.AddrPort{}
}

func (f fixedListeners) HTTPAddr() string { return f.http }

func (f fixedListeners) AgentRPCAddr() string { return f.bots }

func (f fixedListeners) ECCPAddr() string { return f.eccp }

func (f fixedListeners) ECCPTLSAddr() string { return f.eccpTLS }

// The banner shows the RWI endpoint when tokens exist; the embedded demo
// token's secret is printed with its warning, a configured secret never.
func TestBannerRWI(t *testing.T) {
	demo, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	own, err := config.Parse("my.yaml", []byte("rwi:\n  tokens:\n    - name: crm\n      token: very-secret-crm-token\n"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := config.Parse("none.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cfg       *config.Config
		http      string
		want, not []string
	}{
		{"demo on every address", demo, "[::]:8088",
			[]string{"  RWI      ws://127.0.0.1:8088/rwi/v1", "    demo         rwi-demo-token  (demo secret: change it)"}, nil},
		{"demo on loopback", demo, "127.0.0.1:40000", []string{"ws://127.0.0.1:40000/rwi/v1"}, nil},
		{"demo on an address", demo, "192.0.2.10:8088", []string{"ws://192.0.2.10:8088/rwi/v1"}, nil},
		{"demo on IPv6", demo, "[2001:db8::1]:8088", []string{"ws://[2001:db8::1]:8088/rwi/v1"}, nil},
		{"configured token: name only", own, "0.0.0.0:8088",
			[]string{"ws://127.0.0.1:8088/rwi/v1", "    crm          (from your config)"}, []string{"very-secret-crm-token", "demo secret"}},
		{"no HTTP listener", own, "", []string{"  RWI      off: it is served on the HTTP listener"}, []string{"ws://", "very-secret"}},
		{"no tokens: no RWI line", none, "127.0.0.1:8088", nil, []string{"RWI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkBanner(t, tt.cfg, tt.http, tt.want, tt.not)
		})
	}
}

// The banner lists the agents; the embedded demo PIN is printed with its
// warning, a configured PIN never.
func TestBannerAgents(t *testing.T) {
	demo, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	own, err := config.Parse("my.yaml", []byte("agents:\n  - id: \"7001\"\n    pin: \"864209\"\n  - id: \"7002\"\n    contact: \"1002\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		cfg       *config.Config
		want, not []string
	}{
		{"demo", demo, []string{"    9001   static agent, PIN 1234  (demo secret: change it)", "    1003   dynamic member, rung at 1003"}, nil},
		{"configured", own, []string{"    7001   static agent, PIN (from your config)", "    7002   dynamic member, rung at 1002"}, []string{"864209"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkBanner(t, tt.cfg, "127.0.0.1:8088", tt.want, tt.not)
		})
	}
}

// checkBanner prints the banner of cfg with HTTP on httpAddr and checks
// that it holds every line of want and nothing of not.
func checkBanner(t *testing.T, cfg *config.Config, httpAddr string, want, not []string) {
	t.Helper()
	var b strings.Builder
	printBanner(&b, cfg, fixedListeners{http: httpAddr})
	out := b.String()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("banner lacks %q:\n%s", w, out)
		}
	}
	for _, n := range not {
		if strings.Contains(out, n) {
			t.Errorf("banner shows %q:\n%s", n, out)
		}
	}
}

// The banner shows where bots connect, per agent endpoint, with the
// number that reaches it; nothing when Agent RPC is off.
func TestBannerAgentRPC(t *testing.T) {
	demo, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printBanner(&b, demo, fixedListeners{bots: "127.0.0.1:6000"})
	if want := "    ws://127.0.0.1:6000/?endpoint=myagent  (dial 6000)\n"; !strings.Contains(b.String(), want) {
		t.Errorf("banner lacks %q:\n%s", want, b.String())
	}
	b.Reset()
	printBanner(&b, demo, fixedListeners{})
	if strings.Contains(b.String(), "Agent RPC") {
		t.Errorf("Agent RPC shown while off:\n%s", b.String())
	}
}

// The banner shows where consoles connect over ECCP; the embedded demo
// client's and agents' secrets are printed with their warning, configured
// ones never; nothing when ECCP is off.
func TestBannerECCP(t *testing.T) {
	demo, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	own, err := config.Parse("my.yaml", []byte("eccp:\n  clients:\n    - username: crm\n      password: very-secret\n"+
		"agents:\n  - id: \"7001\"\n    pin: \"864209\"\n    eccp_password: agent-secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cfg       *config.Config
		l         fixedListeners
		want, not []string
	}{
		{"demo", demo, fixedListeners{eccp: "[::]:20005"}, []string{
			"  ECCP     [::]:20005  (agent consoles; from 127.0.0.0/8, ::1/128)",
			"    agentconsole agentconsole  (demo secret: change it)",
			"    Agent/9001   ECCP agent password eccp9001  (demo secret: change it)",
			"    SIP/1003     ECCP agent password eccp1003  (demo secret: change it)",
		}, nil},
		{"demo with TLS", demo, fixedListeners{eccp: "127.0.0.1:20005", eccpTLS: "127.0.0.1:20006"},
			[]string{"  ECCP     127.0.0.1:20005  (agent consoles, TLS 127.0.0.1:20006; from"}, nil},
		{"configured", own, fixedListeners{eccp: "127.0.0.1:20005"},
			[]string{"    crm          (from your config)"}, []string{"very-secret", "agent-secret", "demo secret"}},
		{"off", demo, fixedListeners{}, nil, []string{"ECCP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printBanner(&b, tt.cfg, tt.l)
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("banner lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("banner shows %q:\n%s", n, out)
				}
			}
		})
	}
}
