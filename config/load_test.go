package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A valid trunk, to which test cases add or from which they break fields.
const trunkYAML = "trunks:\n  - name: carrier\n    host: sip.example.net\n"

// Every problem names the file, the line and the field; the expected text is
// the start of the first (or only) error line.
func TestParseErrorsNameFileLineField(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		// The YAML itself.
		{"syntax", "sip: [\n", "bad.yaml:1: YAML: did not find expected node content"},
		{"tab indent", "sip:\n\tudp: x\n", "bad.yaml:2: YAML: "},
		{"two documents", "node: a\n---\nnode: b\n", "bad.yaml:2: a second YAML document: the file must hold one"},
		{"top level not a mapping", "- a\n- b\n", "bad.yaml:1: want a mapping of node, log, sip, ..., got a list"},

		// Keys.
		{"unknown key", "sip:\n  udpp: \":5060\"\n", "bad.yaml:2: sip.udpp: unknown key (did you mean udp?)"},
		{"unknown top-level key", "node: a\nqueue: []\n", "bad.yaml:2: queue: unknown key (did you mean queues?)"},
		{"unknown key in a list item", "users:\n  - extension: \"1\"\n    password: x\n    secret: y\n", "bad.yaml:4: users[0].secret: unknown key"},
		{"duplicate key", "sip:\n  udp: \":5060\"\n  udp: \":5070\"\n", "bad.yaml:3: sip.udp: given twice (first on line 2)"},
		{"key not a name", "sip:\n  ? [a]\n  : b\n", "bad.yaml:2: sip: a key must be a plain name"},
		{"merge of a scalar", "sip:\n  <<: 5\n", "bad.yaml:2: sip.<<: want a mapping"},

		// Types.
		{"list for a scalar", "sip:\n  min_expires: [1]\n", "bad.yaml:2: sip.min_expires: want a whole number, got a list"},
		{"text for a number", "sip:\n  min_expires: many\n", "bad.yaml:2: sip.min_expires: want a whole number, got \"many\""},
		{"text for a bool", trunkYAML + "    register: maybe\n", "bad.yaml:4: trunks[0].register: want true or false"},
		{"scalar for a section", "sip: yes\n", "bad.yaml:1: sip: want a mapping of udp, tcp, tls, ..., got \"yes\""},
		{"scalar for a list", "users: 1001\n", "bad.yaml:1: users: want a list, got \"1001\""},
		{"mapping for a string", "node: {a: b}\n", "bad.yaml:1: node: want a single value, got a mapping"},
		{"bad duration", "calls:\n  ring_timeout: soon\n", "bad.yaml:2: calls.ring_timeout: want a duration with a unit such as 30s or 5m, got \"soon\""},
		{"duration without unit", "calls:\n  ring_timeout: 30\n", "bad.yaml:2: calls.ring_timeout: want a duration with a unit"},
		{"duration as a list", "calls:\n  ring_timeout: [1s]\n", "bad.yaml:2: calls.ring_timeout: want a duration such as 30s or 5m, got a list"},

		// General.
		{"bad node", "node: \"pbx 1\"\n", "bad.yaml:1: node: want up to 32 letters"},
		{"bad log level", "log:\n  level: loud\n", "bad.yaml:2: log.level: want debug, info, warn or error, got \"loud\""},
		{"bad package level", "log:\n  packages:\n    sip: chatty\n", "bad.yaml:3: log.packages.sip: want debug"},
		{"bad http listen", "http:\n  listen: 8088\n", "bad.yaml:2: http.listen: want host:port"},
		{"max failures", "security:\n  max_failures: -1\n", "bad.yaml:2: security.max_failures: want at least 1"},
		{"negative window", "security:\n  window: -1s\n", "bad.yaml:2: security.window: must be more than 0"},
		{"allow not a CIDR", "security:\n  allow: [10.0.0.1]\n", "bad.yaml:2: security.allow[0]: want a CIDR"},

		// SIP.
		{"bad udp listen", "sip:\n  udp: localhost\n", "bad.yaml:2: sip.udp: want host:port"},
		{"bad port", "sip:\n  tcp: \":70000\"\n", "bad.yaml:2: sip.tcp: port \"70000\""},
		// An absent field is reported on the line of its parent.
		{"tls without cert", "sip:\n  tls: \":5061\"\n  tls_key: k.pem\n", "bad.yaml:1: sip.tls_cert: required when sip.tls is set"},
		{"tls without key", "sip:\n  tls: \":5061\"\n  tls_cert: c.pem\n", "bad.yaml:1: sip.tls_key: required when sip.tls is set"},
		{"bad external ip", "sip:\n  external_ip: pbx.lan\n", "bad.yaml:2: sip.external_ip: want an IP address"},
		{"max below min", "sip:\n  min_expires: 600\n  max_expires: 60\n  default_expires: 60\n", "bad.yaml:3: sip.max_expires: want at least min_expires"},
		{"default out of range", "sip:\n  default_expires: 7200\n", "bad.yaml:2: sip.default_expires: want between"},
		{"negative nonce ttl", "sip:\n  nonce_ttl: -5m\n", "bad.yaml:2: sip.nonce_ttl: must be more than 0"},

		// Media.
		{"odd first port", "media:\n  rtp_port_min: 20001\n", "bad.yaml:2: media.rtp_port_min: want an even port"},
		{"privileged port", "media:\n  rtp_port_min: 100\n", "bad.yaml:2: media.rtp_port_min: want 1024 to 65535"},
		{"max below min port", "media:\n  rtp_port_min: 30000\n  rtp_port_max: 20000\n", "bad.yaml:3: media.rtp_port_max: want more than rtp_port_min"},
		{"port too high", "media:\n  rtp_port_max: 70000\n", "bad.yaml:2: media.rtp_port_max:"},
		{"absent port names its section", "media:\n  rtp_port_max: 10000\n", "bad.yaml:2: media.rtp_port_max:"},
		{"unknown codec", "media:\n  codecs: [PCMU, opus]\n", "bad.yaml:2: media.codecs[1]: unknown codec \"opus\""},
		{"codec twice", "media:\n  codecs:\n    - PCMU\n    - pcmu\n", "bad.yaml:4: media.codecs[1]: PCMU listed twice"},
		{"negative rtp timeout", "media:\n  rtp_timeout: -1s\n", "bad.yaml:2: media.rtp_timeout: must not be negative"},

		// Calls.
		{"negative drain", "calls:\n  drain_timeout: -1s\n", "bad.yaml:2: calls.drain_timeout: must not be negative"},
		{"session below min_se", "calls:\n  session_expires: 30s\n", "bad.yaml:2: calls.session_expires: want 0 (off) or at least min_se"},

		// Users.
		{"extension not digits", "users:\n  - extension: abc\n    password: x\n", "bad.yaml:2: users[0].extension: want 1 to 15 digits, got \"abc\""},
		{"extension too long", "users:\n  - extension: \"1234567890123456\"\n    password: x\n", "bad.yaml:2: users[0].extension: want 1 to 15 digits"},
		{"extension absent", "users:\n  - password: x\n", "bad.yaml:2: users[0].extension: want 1 to 15 digits, got \"\""},
		{"duplicate extension", "users:\n  - extension: \"1\"\n    password: x\n  - extension: \"1\"\n    password: y\n", "bad.yaml:4: users[1].extension: duplicate extension 1"},
		{"no password", "users:\n  - extension: \"1\"\n", "bad.yaml:2: users[0].password: required"},

		// Trunks.
		{"trunk without host", "trunks:\n  - name: t\n", "bad.yaml:2: trunks[0].host: required"},
		{"trunk without name", "trunks:\n  - host: h\n", "bad.yaml:2: trunks[0].name: required"},
		{"trunk name with comma", "trunks:\n  - name: a,b\n    host: h\n", "bad.yaml:2: trunks[0].name: want letters"},
		{"duplicate trunk", trunkYAML + "  - name: carrier\n    host: h\n", "bad.yaml:4: trunks[1].name: duplicate trunk carrier"},
		{"host as a URI", "trunks:\n  - name: t\n    host: sip:h\n", "bad.yaml:3: trunks[0].host: want host or host:port"},
		{"host bad port", "trunks:\n  - name: t\n    host: h:99999\n", "bad.yaml:3: trunks[0].host: want host or host:port"},
		{"bad transport", trunkYAML + "    transport: sctp\n", "bad.yaml:4: trunks[0].transport: want udp, tcp or tls"},
		{"register without user", trunkYAML + "    register: true\n    password: p\n", "bad.yaml:2: trunks[0].username: required when register is true"},
		{"bad inbound cidr", trunkYAML + "    inbound_cidrs: [nope]\n", "bad.yaml:4: trunks[0].inbound_cidrs[0]: want an address or a CIDR"},
		{"inbound user alone", trunkYAML + "    inbound_user: u\n", "bad.yaml:2: trunks[0].inbound_password: required when inbound_user is set"},
		{"negative expires", trunkYAML + "    expires: -5\n", "bad.yaml:4: trunks[0].expires: want at least 1 second"},
		{"did without match", trunkYAML + "    dids:\n      - target: extension\n", "bad.yaml:5: trunks[0].dids[0]: want exactly one of exact, prefix or regex, got 0"},
		{"did bad target", trunkYAML + "    dids:\n      - exact: \"1\"\n        target: \"extension:\"\n", "bad.yaml:6: trunks[0].dids[0].target:"},

		// Dial plan.
		{"no matcher", "dialplan:\n  - target: extension\n", "bad.yaml:2: dialplan[0]: want exactly one of exact, prefix or regex, got 0"},
		{"two matchers", "dialplan:\n  - exact: \"1\"\n    prefix: \"1\"\n    target: extension\n", "bad.yaml:2: dialplan[0]: want exactly one of exact, prefix or regex, got 2"},
		{"bad regex", "dialplan:\n  - regex: \"(\"\n    target: extension\n", "bad.yaml:2: dialplan[0].regex: error parsing regexp"},
		{"negative strip", "dialplan:\n  - prefix: \"9\"\n    strip: -1\n    target: extension\n", "bad.yaml:3: dialplan[0].strip: must not be negative"},
		{"target absent", "dialplan:\n  - prefix: \"9\"\n", "bad.yaml:2: dialplan[0].target: required"},
		{"target empty kind", "dialplan:\n  - prefix: \"9\"\n    target: \":x\"\n", "bad.yaml:3: dialplan[0].target: \":x\": want kind or kind:arguments"},
		{"target bad kind", "dialplan:\n  - prefix: \"9\"\n    target: \"Queue sales\"\n", "bad.yaml:3: dialplan[0].target: \"Queue sales\": want kind or kind:arguments"},
		{"target empty argument", "dialplan:\n  - prefix: \"9\"\n    target: \"queue:\"\n", "bad.yaml:3: dialplan[0].target: \"queue:\": empty or padded argument"},
		{"target padded argument", "dialplan:\n  - prefix: \"9\"\n    target: \"trunk: carrier\"\n", "bad.yaml:3: dialplan[0].target: \"trunk: carrier\": empty or padded argument"},
		// What a kind's arguments mean (extension digits, trunks that
		// exist) is checked by dialog.CheckDialplan, not here.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c != nil {
				t.Error("a Config returned with an error")
			}
			if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, tt.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "bad.yaml" {
				t.Fatalf("error %v is not a *Error naming the file", err)
			}
		})
	}
}

// All problems come at once, one per line of output, in line order.
func TestParseReportsAllProblemsSortedByLine(t *testing.T) {
	y := "dialplan:\n" + // 1
		"  - regex: \"(\"\n" + // 2
		"    target: \":nope\"\n" + // 3
		"users:\n" + // 4
		"  - extension: x\n" + // 5
		"media:\n" + // 6
		"  codecs: [G729]\n" // 7
	_, err := Parse("many.yaml", []byte(y))
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		"many.yaml:2: dialplan[0].regex:",
		"many.yaml:3: dialplan[0].target:",
		"many.yaml:5: users[0].extension:",
		"many.yaml:5: users[0].password: required",
		"many.yaml:7: media.codecs[0]:",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
}

// Decoding problems are all reported too, and a huge broken file is cut short.
func TestParseDecodeErrorsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("sip:\n")
	for i := range 500 {
		b.WriteString("  k")
		b.WriteString(strings.Repeat("x", i%7+1))
		b.WriteString(string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": 1\n")
	}
	_, err := Parse("big.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || !strings.HasSuffix(lines[maxErrors], "more problems not shown") {
		t.Fatalf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.HasPrefix(lines[0], "big.yaml:2: sip.") {
		t.Fatalf("first: %q", lines[0])
	}
}

func TestDefaultsFillWhatIsLeftOut(t *testing.T) {
	c, err := Parse("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Node: "pbx1",
		Log:  Log{Level: "info"},
		SIP: SIP{UDP: ":5060", TCP: ":5060", Realm: "pbx", NonceTTL: 5 * time.Minute, MinExpires: 60, MaxExpires: 3600,
			DefaultExpires: 600, QualifyEvery: 30 * time.Second, UserAgent: "pbx"},
		HTTP:       HTTP{Listen: ":8088"},
		Media:      Media{RTPPortMin: 20000, RTPPortMax: 29999, RTPTimeout: 60 * time.Second, Codecs: []string{"PCMU", "PCMA"}, RTCPEvery: 5 * time.Second, InbandDTMF: true},
		Calls:      Calls{RingTimeout: 30 * time.Second, DrainTimeout: 30 * time.Second, SessionExpires: 0, MinSE: 90 * time.Second},
		Security:   Security{MaxFailures: 5, Window: time.Minute, BanFor: 15 * time.Minute},
		Features:   Features{Record: "*1", BlindTransfer: "##", AttendedTransfer: "*2", DigitTimeout: 3 * time.Second},
		Conference: Conference{Beep: true, MuteKey: "*"},
		Recordings: Recordings{Path: "{yyyy}/{mm}/{dd}/{id}.wav", Mode: "stereo", Beep: true, MaxDuration: 4 * time.Hour},
		RWI:        RWI{MaxLegs: 200, OriginateRate: 10, OrphanHold: 30 * time.Second, OfferTimeout: 10 * time.Second, MaxFrame: 65536},
		AgentRPC:   AgentRPC{Listen: "127.0.0.1:6000", InviteTimeout: time.Minute, ByeTimeout: 10 * time.Second, MaxFrame: 65536},
		ECCP: ECCP{Listen: ":20005", AuthorizedIPs: []string{"127.0.0.0/8", "::1/128"}, SessionTimeout: 5 * time.Minute,
			LoginTimeout: 5 * time.Minute, Clients: []ECCPClient{{Username: "agentconsole", Password: "agentconsole"}}},
		ContactCenter: ContactCenter{
			Breaks:   []Break{{Name: "lunch", Code: "1"}, {Name: "meeting", Code: "2"}, {Name: "training", Code: "3"}, {Name: "missed"}},
			QueueLog: "queue_log", ShutdownPrompt: "queue-closed", StatsInterval: 15 * time.Minute,
		},
		Retention: Retention{Every: time.Hour},
		File:      "empty.yaml",
	}
	c.lines = nil
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", *c, want)
	}

	c, err = Parse("trunk.yaml", []byte(trunkYAML))
	if err != nil {
		t.Fatal(err)
	}
	if tr := c.Trunks[0]; tr.Transport != "udp" || tr.Expires != 3600 {
		t.Fatalf("trunk defaults: %+v", tr)
	}
}

// An option whose empty value means "off" stays off when the file says so.
func TestExplicitOffIsKept(t *testing.T) {
	c, err := Parse("off.yaml", []byte("sip:\n  udp: \"\"\n  tcp:\n  qualify_every: 0\nhttp:\n  listen: \"\"\nmedia:\n  rtp_timeout: 0s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.UDP != "" || c.SIP.TCP != "" || c.HTTP.Listen != "" || c.SIP.QualifyEvery != 0 || c.Media.RTPTimeout != 0 {
		t.Fatalf("explicit off overridden: %+v %+v %+v", c.SIP, c.HTTP, c.Media)
	}
}

func TestDurationsUseGoSyntax(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute,
		"1500ms": 1500 * time.Millisecond, "\"2m\"": 2 * time.Minute, "0": 0,
	} {
		c, err := Parse("d.yaml", []byte("sip:\n  qualify_every: "+in+"\n"))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if c.SIP.QualifyEvery != want {
			t.Errorf("%s: got %s, want %s", in, c.SIP.QualifyEvery, want)
		}
	}
}

// Names are written the way the packages above compare them.
func TestParseNormalizesNames(t *testing.T) {
	c, err := Parse("n.yaml", []byte("log:\n  level: DEBUG\n  packages: {sip: Warn}\nmedia:\n  codecs: [pcma, Pcmu]\n"+trunkYAML+"    transport: TCP\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "debug" || c.Log.Packages["sip"] != "warn" || !reflect.DeepEqual(c.Media.Codecs, []string{"PCMA", "PCMU"}) || c.Trunks[0].Transport != "tcp" {
		t.Fatalf("not normalized: %+v %+v %+v", c.Log, c.Media.Codecs, c.Trunks[0])
	}
}

// Anchors, aliases and merge keys share settings between trunks; the
// trunk's own keys win over merged ones.
func TestAnchorsAndMergeKeys(t *testing.T) {
	y := `
trunks:
  - &base
    name: a
    host: sip.example.net
    transport: tcp
    inbound_cidrs: &nets [192.0.2.0/24]
  - <<: *base
    name: b
    inbound_cidrs: *nets
  - <<: [{expires: 120}, *base]
    name: c
    transport: tls
`
	c, err := Parse("merge.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	b, tc := c.Trunks[1], c.Trunks[2]
	if b.Name != "b" || b.Host != "sip.example.net" || b.Transport != "tcp" || len(b.InboundCIDRs) != 1 {
		t.Fatalf("merged trunk b: %+v", b)
	}
	if tc.Name != "c" || tc.Transport != "tls" || tc.Expires != 120 || tc.Host != "sip.example.net" {
		t.Fatalf("merged trunk c: %+v", tc)
	}
	// A problem in a merged trunk names the trunk that uses it.
	_, err = Parse("merge.yaml", []byte("trunks:\n  - &t\n    name: a\n  - <<: *t\n    name: b\n"))
	if err == nil || !strings.Contains(err.Error(), "merge.yaml:2: trunks[0].host: required") ||
		!strings.Contains(err.Error(), "merge.yaml:4: trunks[1].host: required") {
		t.Fatalf("merged error: %v", err)
	}
}

// config checks a target's syntax only: kinds and arguments it cannot know
// (an extension that is not digits, a trunk nobody configured, a kind no
// package registered) pass here and are refused by dialog.CheckDialplan.
func TestTargetSyntaxOnly(t *testing.T) {
	for _, target := range []string{
		"extension", "extension:1001", "trunk:carrier", "trunks:carrier", "trunks:carrier,backup",
		"queue:sales", "agent:9000", "rwi:ivr", "agentrpc:bot", "voicemail", "conference:room-1",
		"extension:bob", "trunk:nope", "trunks:carrier,,carrier", "qeue:sales",
	} {
		y := "trunks:\n  - name: carrier\n    host: a\n  - name: backup\n    host: b\ndialplan:\n  - exact: \"5\"\n    target: \"" + target + "\"\n"
		if _, err := Parse("ok.yaml", []byte(y)); err != nil {
			t.Errorf("%s: %v", target, err)
		}
	}
}

func TestTrunkHosts(t *testing.T) {
	for _, h := range []string{"sip.example.net", "sip.example.net:5080", "192.0.2.1", "192.0.2.1:5060", "2001:db8::1", "[2001:db8::1]:5060"} {
		if _, err := Parse("h.yaml", []byte("trunks:\n  - name: t\n    host: \""+h+"\"\n")); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

// Validate can be called again on a Config changed in code; fields the file
// never had are reported with the line of their nearest parent.
func TestValidateAfterChangesInCode(t *testing.T) {
	c, err := Parse("x.yaml", []byte("node: a\ncalls:\n  ring_timeout: 10s\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Calls.MinSE = 0
	c.Media.RTPPortMin, c.Media.RTPPortMax = 0, 0 // the OS picks: allowed in code
	err = c.Validate()
	if err == nil || err.Error() != "x.yaml:2: calls.min_se: must be more than 0, got 0s" {
		t.Fatalf("got %v", err)
	}
	var zero Config
	if err := zero.Validate(); err == nil || !strings.HasPrefix(err.Error(), "config: node:") {
		t.Fatalf("zero config: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pbx.yaml")
	if err := os.WriteFile(path, []byte("sip:\n  udpp: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+":2: sip.udpp: unknown key") {
		t.Fatalf("got %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestMediaFeatureErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"users:\n  - extension: \"1\"\n    password: x\n    music: nope\n", "x.yaml:4: users[0].music: no hold-music class \"nope\""},
		{"sounds:\n  music:\n    jazz: /no/such/file.wav\n", "x.yaml:3: sounds.music.jazz: \"/no/such/file.wav\": no such file or directory"},
		{"sounds:\n  prompts: /no/such/dir\n", "x.yaml:2: sounds.prompts: \"/no/such/dir\" is not a directory"},
		{"features:\n  record: \"*2\"\n", "clashes with"},
		{"features:\n  blind_transfer: abc\n", "x.yaml:2: features.blind_transfer: want 1 to 8 DTMF keys"},
		{"recordings:\n  mode: quad\n", "x.yaml:2: recordings.mode: want stereo or mono, got \"quad\""},
		{"recordings:\n  path: ../x.wav\n", "x.yaml:2: recordings.path: want a relative template"},
		{"conference:\n  pins:\n    \"8001\": 12ab\n", "x.yaml:3: conference.pins.8001: want a room number and a PIN"},
	}
	for _, tt := range tests {
		_, err := Parse("x.yaml", []byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

// A package above config reports a problem at a config path with the line
// of that path, or of its nearest parent, and joins problems as Validate does.
func TestErrorAt(t *testing.T) {
	y := "trunks:\n" + // 1
		"  - name: carrier\n" + // 2
		"    host: h\n" + // 3
		"    dids:\n" + // 4
		"      - exact: \"1\"\n" + // 5
		"        target: extension\n" + // 6
		"dialplan:\n" + // 7
		"  - exact: \"2\"\n" + // 8
		"    target: echo\n" // 9
	c, err := Parse("e.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"dialplan[0].target", "e.yaml:9: dialplan[0].target: bad"},
		{"trunks[0].dids[0].target", "e.yaml:6: trunks[0].dids[0].target: bad"},
		{"dialplan[0].strip", "e.yaml:8: dialplan[0].strip: bad"}, // absent: the rule's line
		{"queues[2].name", "e.yaml: queues[2].name: bad"},         // no parent in the file
	}
	for _, tt := range tests {
		if got := c.ErrorAt(tt.path, "%s", "bad").Error(); got != tt.want {
			t.Errorf("ErrorAt(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}

	if err := c.JoinErrors(nil); err != nil {
		t.Errorf("JoinErrors(nil) = %v", err)
	}
	err = c.JoinErrors([]*Error{c.ErrorAt("dialplan[0].target", "second"), c.ErrorAt("trunks[0].dids[0].target", "first")})
	want := "e.yaml:6: trunks[0].dids[0].target: first\ne.yaml:9: dialplan[0].target: second"
	if err == nil || err.Error() != want {
		t.Fatalf("JoinErrors = %v, want\n%s", err, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 6 {
		t.Fatalf("joined errors are not *Error: %v", err)
	}

	var code Config // built in code: no lines
	if got := code.ErrorAt("dialplan[0].target", "bad").Error(); got != "config: dialplan[0].target: bad" {
		t.Errorf("in code: %q", got)
	}
}
