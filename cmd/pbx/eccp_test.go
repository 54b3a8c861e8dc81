package main

import (
	"strings"
	"testing"

	"pbx/internal/testkit"
)

// eccpLogsIn reports whether an ECCP console logs in with user and password.
func eccpLogsIn(t *testing.T, p *testkit.PBX, user, password string) bool {
	t.Helper()
	c := testkit.DialECCP(t, p.ECCPAddr())
	defer c.Close()
	return c.LogsIn(user, password)
}

// The eccp client commands against a running PBX (a new account logs in
// at once, by its password or its MD5; a removed one no longer), then
// against the stopped PBX's store, whose accounts the next start takes.
func TestECCPClientCommands(t *testing.T) {
	p := testkit.StartPBX(t, "")
	api := "http://" + p.HTTPAddr()
	steps := []struct {
		name string
		args []string
		want string
	}{
		{"add", []string{"client", "add", "crm", "s3cret"}, "eccp client crm added: it logs in with its password or the password's MD5\n"},
		{"add another", []string{"client", "add", "wallboard", "-"}, "eccp client wallboard added: it logs in with its password or the password's MD5\n"},
		{"list", []string{"client", "list"}, "USERNAME      SOURCE\nagentconsole  pbx.yaml\ncrm           store\nwallboard     store\n"},
		{"remove", []string{"client", "remove", "wallboard"}, "eccp client wallboard removed\n"},
	}
	for _, s := range steps {
		out := capture(t, func() error {
			if s.args[1] == "add" {
				return eccpClientAdd(append(s.args[2:], "-api", api), strings.NewReader("from stdin\n"))
			}
			return eccpCmd(append(s.args, "-api", api))
		})
		if out != s.want {
			t.Fatalf("%s: got\n%s\nwant\n%s", s.name, out, s.want)
		}
	}
	for _, l := range []struct {
		user, password string
		ok             bool
	}{
		{"crm", "s3cret", true},
		{"crm", "33e1b232a4e6fa0028a6670753749a17", true}, // md5 of s3cret
		{"crm", "wrong", false},
		{"wallboard", "from stdin", false},
		{"agentconsole", "agentconsole", true},
	} {
		if got := eccpLogsIn(t, p, l.user, l.password); got != l.ok {
			t.Errorf("login %s/%s: %v, want %v", l.user, l.password, got, l.ok)
		}
	}
	for _, bad := range [][]string{
		{"client", "add", "a b", "x"},
		{"client", "remove", "nobody"},
		{"client", "add", "crm"},
		{"client", "rename"},
		{"server"},
	} {
		if err := eccpCmd(append(bad, "-api", api)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}

	p.Stop()
	dead := deadAPI(t)
	for _, args := range [][]string{
		{"client", "add", "offline", "0ff-line"},
		{"client", "remove", "crm"},
	} {
		capture(t, func() error { return eccpCmd(append(args, "-api", dead, "-data", p.DataDir)) })
	}
	out := capture(t, func() error {
		return eccpCmd([]string{"client", "list", "-format", "json", "-api", dead, "-data", p.DataDir})
	})
	if want := "[\n  {\n    \"username\": \"offline\",\n    \"source\": \"store\"\n  }\n]\n"; out != want {
		t.Fatalf("list of the stopped PBX: got\n%s\nwant\n%s", out, want)
	}
	if err := eccpCmd([]string{"client", "remove", "crm", "-api", dead, "-data", p.DataDir}); err == nil {
		t.Fatal("removing an absent client succeeded")
	}

	p = testkit.StartPBX(t, p.DataDir)
	if !eccpLogsIn(t, p, "offline", "0ff-line") || eccpLogsIn(t, p, "crm", "s3cret") {
		t.Fatal("the store's accounts after a restart: want offline and not crm")
	}
}
