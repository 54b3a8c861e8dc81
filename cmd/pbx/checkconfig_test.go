package main

import (
	"os"
	"path/filepath"
	"testing"

	"pbx/config"
)

// check-config refuses what the target registry refuses, after what config
// refuses, naming the file, the line and the field; a file it accepts gets ok.
func TestCheckConfigTargets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	defaultFile := write("default.yaml", string(config.DefaultYAML()))
	unknownKind := write("unknown.yaml", "dialplan:\n"+ // 1
		"  - exact: \"*43\"\n"+ // 2
		"    target: echo\n"+ // 3
		"  - exact: \"5000\"\n"+ // 4
		"    target: qeue:sales\n") // 5
	badArgs := write("args.yaml", "trunks:\n"+ // 1
		"  - name: carrier\n"+ // 2
		"    host: sip.example.net\n"+ // 3
		"dialplan:\n"+ // 4
		"  - prefix: \"9\"\n"+ // 5
		"    target: trunks:carrier,backup\n"+ // 6
		"  - exact: \"0\"\n"+ // 7
		"    target: extension:bob\n") // 8
	badSyntax := write("syntax.yaml", "dialplan:\n  - exact: \"1\"\n    target: \":x\"\n")

	tests := []struct {
		name string
		args []string
		out  string // printed on success
		err  string // the whole error; "" for none
	}{
		{name: "default", args: []string{defaultFile}, out: defaultFile + ": ok (3 users, 0 trunks, 15 dial plan rules, 1 queue, 2 agents)\n"},
		{name: "unknown kind", args: []string{unknownKind},
			err: unknownKind + `:5: dialplan[1].target: unknown target kind "qeue": want one of agent-login, agent-logout, agent-pause, agent-unpause, agentrpc, conference, echo, extension, music, park, play, queue, rwi, supervise, trunk, uri`},
		{name: "bad arguments", args: []string{badArgs},
			err: badArgs + `:6: dialplan[0].target: "trunks:carrier,backup": no trunk named "backup"` + "\n" +
				badArgs + `:8: dialplan[1].target: "extension:bob": want 1 to 15 digits after extension:, got "bob"`},
		{name: "config syntax", args: []string{badSyntax},
			err: badSyntax + `:3: dialplan[0].target: ":x": want kind or kind:arguments, such as extension or trunk:carrier`},
		{name: "no file", args: nil, err: "usage: pbx check-config FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == "" {
				if out := capture(t, func() error { return checkConfig(tt.args) }); out != tt.out {
					t.Fatalf("printed %q, want %q", out, tt.out)
				}
				return
			}
			if err := checkConfig(tt.args); err == nil || err.Error() != tt.err {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tt.err)
			}
		})
	}
}
