package config

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
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
	if len(c.Trunks) != 0 || len(c.Dialplan) != 5 || c.Dialplan[0].Target != "extension" || c.Dialplan[1].Target != "echo" || c.Dialplan[4].Target != "rwi:default" {
		t.Fatalf("trunks %+v dialplan %+v", c.Trunks, c.Dialplan)
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
	empty.lines = nil
	if !reflect.DeepEqual(c, empty) {
		t.Fatalf("pbx.yaml differs from the defaults:\n file %+v\n code %+v", c, empty)
	}
}

// Every option of the schema appears in pbx.yaml, set or in a comment.
func TestDefaultFileMentionsEveryOption(t *testing.T) {
	text := string(DefaultYAML())
	for _, typ := range []any{Config{}, Log{}, SIP{}, HTTP{}, Media{}, Calls{}, Security{}, User{}, Trunk{}, DID{}, Match{}, DialplanRule{},
		Sounds{}, Features{}, Conference{}, Recordings{}, RWI{}, RWIToken{}} {
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
