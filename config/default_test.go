package config

import (
	"bytes"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The embedded pbx.yaml parses, validates, and is the demo a softphone needs.
func TestDefaultParsesAndValidates(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.File != DefaultName || c.Node != "pbx1" || c.SIP.UDP != ":5060" || c.SIP.TCP != ":5060" || c.SIP.TLS != "" || c.HTTP.Listen != ":8088" {
		t.Fatalf("default: %+v", c)
	}
	var exts []string
	for _, u := range c.Users {
		exts = append(exts, u.Extension)
		if u.Password != "demo"+u.Extension {
			t.Errorf("user %s: password %q", u.Extension, u.Password)
		}
	}
	if strings.Join(exts, ",") != "1001,1002,1003" {
		t.Fatalf("users %v", exts)
	}
	if len(c.Trunks) != 0 || len(c.Dialplan) != 15 || c.Dialplan[0].Target != "extension" || c.Dialplan[1].Target != "echo" || c.Dialplan[4].Target != "rwi:default" || c.Dialplan[6].Target != "agentrpc:myagent" || !c.Endpoints["myagent"].IsAgent() {
		t.Fatalf("trunks %+v dialplan %+v", c.Trunks, c.Dialplan)
	}
}

// The embedded pbx.yaml is a ready contact center for three softphones:
// queue support with announcements and a callback, static agent 9001 with
// a PIN, extension 1003 as a dynamic member, 1001 a supervisor.
func TestDefaultContactCenter(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Queues) != 1 {
		t.Fatalf("queues %+v", c.Queues)
	}
	q := c.Queues[0]
	if q.Name != "support" || q.Strategy != "longest-idle-agent" || q.Music != "default" || q.Announce == "" ||
		q.AnnounceEvery != 30*time.Second || !q.Position || !q.HoldTime || len(q.Periodic) == 0 || q.PeriodicEvery == 0 ||
		q.CallbackKey != "1" || q.ExitKeys["0"] == "" || q.MaxWait != 10*time.Minute || q.Fallback == "" {
		t.Errorf("queue support: %+v", q)
	}
	if !reflect.DeepEqual(q.Members, []Member{{Agent: "9001"}, {Agent: "1003"}}) {
		t.Errorf("members %+v", q.Members)
	}
	want := []Agent{{ID: "9001", Name: "Dave", PIN: "1234", Skills: map[string]int{}, ECCPPassword: "eccp9001"},
		{ID: "1003", Name: "Carol", Contact: "1003", ECCPPassword: "eccp1003"}}
	if !reflect.DeepEqual(c.Agents, want) {
		t.Errorf("agents:\n got %+v\nwant %+v", c.Agents, want)
	}
	if !reflect.DeepEqual(c.ContactCenter.Supervisors, []string{"1001"}) {
		t.Errorf("supervisors %v", c.ContactCenter.Supervisors)
	}
}

// matches is the dial plan's matching rule, enough to check which rule of
// pbx.yaml takes a number.
func matches(r DialplanRule, number string) bool {
	switch {
	case r.Exact != "":
		return number == r.Exact
	case r.Prefix != "":
		return strings.HasPrefix(number, r.Prefix)
	}
	return regexp.MustCompile("^(?:" + r.Regex + ")$").MatchString(number)
}

// Every demo number reaches its own rule first, with what it names left
// after strip: the feature codes collide with no extension, conference
// room or test code.
func TestDefaultDialplanRoutesTheDemo(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ number, target, rest string }{
		{"1002", "extension", "1002"},
		{"*43", "echo", "*43"},
		{"8001", "conference", "8001"},
		{"7000", "rwi:default", "7000"},
		{"5000", "queue:support", "5000"},
		{"*609001", "agent-login", "9001"},
		{"*60", "agent-login", ""},
		{"*61", "agent-logout", "*61"},
		{"*621", "agent-pause", "1"},
		{"*62", "agent-pause", ""},
		{"*63", "agent-unpause", "*63"},
		{"*649001", "supervise:listen", "9001"},
		{"*659001", "supervise:whisper", "9001"},
		{"*669001", "supervise:barge", "9001"},
		{"*679001", "supervise:takeover", "9001"},
	}
	for _, tt := range tests {
		i := slices.IndexFunc(c.Dialplan, func(r DialplanRule) bool { return matches(r, tt.number) })
		if i < 0 {
			t.Errorf("%s: no rule", tt.number)
			continue
		}
		r := c.Dialplan[i]
		if r.Target != tt.target || tt.number[r.Strip:] != tt.rest {
			t.Errorf("%s: rule %d %q to %s, leaving %q; want %s leaving %q", tt.number, i, r.Name, r.Target, tt.number[r.Strip:], tt.target, tt.rest)
		}
	}
}

// pbx.yaml shows every option set to its default: with its demo users and
// dial plan taken out, it is the same as an empty file.
func TestDefaultFileShowsTheDefaults(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	empty, err := Parse(DefaultName, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Users, c.Dialplan, c.Trunks, c.Security.Allow, c.Log.Packages, c.lines = nil, nil, nil, nil, nil, nil
	c.Sounds.Music, c.Conference.PINs, c.RWI.Tokens = nil, nil, nil
	c.Queues, c.Agents, c.ContactCenter.Supervisors, c.Endpoints = nil, nil, nil, nil
	empty.lines = nil
	if !reflect.DeepEqual(c, empty) {
		t.Fatalf("pbx.yaml differs from the defaults:\n file %+v\n code %+v", c, empty)
	}
}

// Every option of the schema appears in pbx.yaml, set or in a comment.
func TestDefaultFileMentionsEveryOption(t *testing.T) {
	text := string(DefaultYAML())
	for _, typ := range []any{Config{}, Log{}, SIP{}, HTTP{}, Media{}, Calls{}, Security{}, User{}, Trunk{}, DID{}, Match{}, DialplanRule{},
		Sounds{}, Features{}, Conference{}, Recordings{}, RWI{}, RWIToken{}, AgentRPC{}, Endpoint{}, EndpointMatch{},
		ContactCenter{}, Break{}, Retention{}, Queue{}, Member{}, QueueRule{}, Agent{}, ECCP{}, ECCPClient{}} {
		rt := reflect.TypeOf(typ)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(text, name+":") {
				t.Errorf("%s.%s: option %q not in pbx.yaml", rt.Name(), rt.Field(i).Name, name)
			}
		}
	}
}

// The pbx.yaml users see at the module root is the embedded one.
func TestRootPbxYAMLIsTheEmbeddedFile(t *testing.T) {
	root, err := os.ReadFile("../pbx.yaml")
	if err != nil {
		t.Fatalf("the repository root must hold pbx.yaml: %v", err)
	}
	if !bytes.Equal(root, DefaultYAML()) {
		t.Fatal("../pbx.yaml differs from config/pbx.yaml: it should be a symbolic link to it")
	}
}

// DefaultYAML returns a copy: changing it does not change the embedded file.
func TestDefaultYAMLIsACopy(t *testing.T) {
	b := DefaultYAML()
	b[0] ^= 0xff
	if bytes.Equal(b, DefaultYAML()) {
		t.Fatal("DefaultYAML shares its bytes")
	}
}
