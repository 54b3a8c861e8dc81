package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.UDP != ":5060" || c.SIP.TCP != ":5060" || c.HTTP.Listen != ":8088" || len(c.Users) != 3 {
		t.Fatalf("default: %+v", c)
	}
	if c.File != DefaultName {
		t.Fatalf("file %q", c.File)
	}
}

func TestDefaultsFillWhatIsLeftOut(t *testing.T) {
	c, err := Parse("min.yaml", []byte("users:\n  - extension: \"100\"\n    password: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Node != "pbx1" || c.SIP.UDP != ":5060" || c.Media.RTPTimeout != time.Minute || c.Calls.RingTimeout != 30*time.Second ||
		c.Security.MaxFailures != 5 || c.SIP.QualifyEvery != 30*time.Second || len(c.Media.Codecs) != 2 {
		t.Fatalf("defaults: %+v", c)
	}
	// An option set to "off" stays off.
	c, err = Parse("off.yaml", []byte("sip:\n  tcp: \"\"\nmedia:\n  rtp_timeout: 0s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.TCP != "" || c.Media.RTPTimeout != 0 {
		t.Fatalf("explicit off overridden: tcp %q timeout %s", c.SIP.TCP, c.Media.RTPTimeout)
	}
}

// Every error names the file, the line and the field.
func TestConfigErrorsNameFileLineField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "sip:\n  udpp: \":5060\"\n", "bad.yaml:2: sip.udpp: unknown key"},
		{"bad duration", "calls:\n  ring_timeout: soon\n", "bad.yaml:2: calls.ring_timeout: want a duration"},
		{"wrong type", "sip:\n  min_expires: [1]\n", "bad.yaml:2: sip.min_expires: want a single value"},
		{"missing host", "trunks:\n  - name: t\n", "bad.yaml:2: trunks[0].host: required"},
		{"bad regex", "dialplan:\n  - regex: \"(\"\n    target: extension\n", "bad.yaml:2: dialplan[0].regex:"},
		{"two matchers", "dialplan:\n  - exact: \"1\"\n    prefix: \"1\"\n    target: extension\n", "bad.yaml:2: dialplan[0]: want exactly one"},
		{"unknown trunk", "dialplan:\n  - prefix: \"9\"\n    target: trunk:nope\n", "bad.yaml:3: dialplan[0].target: no trunk named \"nope\""},
		{"empty target", "dialplan:\n  - prefix: \"9\"\n    target: \"queue:\"\n", "bad.yaml:3: dialplan[0].target:"},
		{"bad extension", "users:\n  - extension: abc\n    password: x\n", "bad.yaml:2: users[0].extension: want 1 to 15 digits"},
		{"duplicate extension", "users:\n  - extension: \"1\"\n    password: x\n  - extension: \"1\"\n    password: y\n", "bad.yaml:4: users[1].extension: duplicate"},
		{"no password", "users:\n  - extension: \"1\"\n", "bad.yaml:2: users[0].password: required"},
		{"bad cidr", "trunks:\n  - name: t\n    host: h\n    inbound_cidrs: [nope]\n", "bad.yaml:4: trunks[0].inbound_cidrs[0]:"},
		{"tls without cert", "sip:\n  tls: \":5061\"\n", "bad.yaml:2: sip.tls: a TLS listener needs"},
		{"bad codec", "media:\n  codecs: [opus]\n", "bad.yaml:2: media.codecs[0]: unknown codec"},
		{"bad ports", "media:\n  rtp_port_min: 3\n", "bad.yaml:2: media.rtp_port_min:"},
		{"bad level", "log:\n  level: loud\n", "bad.yaml:2: log.level:"},
		{"yaml syntax", "sip: [\n", "bad.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// Targets of later issues are accepted by the configuration.
func TestLaterTargetKindsAccepted(t *testing.T) {
	for _, target := range []string{"queue:sales", "agent:9000", "rwi:ivr", "agentrpc:bot", "extension:1001", "extension"} {
		y := "dialplan:\n  - exact: \"5\"\n    target: \"" + target + "\"\n"
		if _, err := Parse("ok.yaml", []byte(y)); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
}

func FuzzConfigParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte("sip: [\n"))
	f.Add([]byte("dialplan:\n  - regex: \"(\"\n    target: extension\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}
