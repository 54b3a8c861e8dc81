package node_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"pbx/config"
	"pbx/internal/testkit"
	"pbx/node"
)

// eccpLogin reports whether an ECCP console logs in with user and password.
func eccpLogin(t *testing.T, p *testkit.PBX, user, password string) bool {
	t.Helper()
	c := testkit.DialECCP(t, p.ECCPAddr())
	defer c.Close()
	return c.LogsIn(user, password)
}

// adminDo sends a request to the node's admin API and returns the status.
func adminDo(t *testing.T, p *testkit.PBX, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil && res.StatusCode/100 == 2 {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}

// A node serves ECCP on eccp.listen: the demo client of pbx.yaml logs in,
// and an account added through the admin API (as `pbx eccp client add`
// does while the PBX runs) logs in at once, and no longer once removed.
func TestNodeServesECCP(t *testing.T) {
	p := testkit.StartPBX(t, "")
	if p.ECCPAddr() == "" || p.ECCPTLSAddr() != "" {
		t.Fatalf("ECCPAddr %q, ECCPTLSAddr %q: want plain ECCP only", p.ECCPAddr(), p.ECCPTLSAddr())
	}
	if !eccpLogin(t, p, "agentconsole", "agentconsole") {
		t.Fatal("the demo client was refused")
	}
	if eccpLogin(t, p, "crm", "s3cret") {
		t.Fatal("an unknown client logged in")
	}
	steps := []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPost, node.ECCPClientsPath, `{"username":"crm","password":"s3cret"}`, http.StatusCreated},
		{http.MethodPost, node.ECCPClientsPath, `{"username":"a b","password":"x"}`, http.StatusBadRequest},
		{http.MethodPost, node.ECCPClientsPath, `{"username":"x","password":""}`, http.StatusBadRequest},
		{http.MethodPost, node.ECCPClientsPath, `not json`, http.StatusBadRequest},
	}
	for _, s := range steps {
		if got := adminDo(t, p, s.method, s.path, s.body, nil); got != s.want {
			t.Fatalf("%s %s %s: %d, want %d", s.method, s.path, s.body, got, s.want)
		}
	}
	var list []node.ECCPClientInfo
	adminDo(t, p, http.MethodGet, node.ECCPClientsPath, "", &list)
	want := []node.ECCPClientInfo{{Username: "agentconsole", Source: "pbx.yaml"}, {Username: "crm", Source: "store"}}
	if len(list) != 2 || list[0] != want[0] || list[1] != want[1] {
		t.Fatalf("clients %+v, want %+v", list, want)
	}
	if !eccpLogin(t, p, "crm", "s3cret") {
		t.Fatal("a client added while running was refused")
	}
	if got := adminDo(t, p, http.MethodDelete, node.ECCPClientsPath+"/crm", "", nil); got != http.StatusNoContent {
		t.Fatalf("remove: %d", got)
	}
	if got := adminDo(t, p, http.MethodDelete, node.ECCPClientsPath+"/crm", "", nil); got != http.StatusNotFound {
		t.Fatalf("remove again: %d, want 404", got)
	}
	if eccpLogin(t, p, "crm", "s3cret") {
		t.Fatal("a removed client logged in")
	}
}

// With eccp.tls set and no certificate of its own, ECCP over TLS uses
// SIP's.
func TestNodeServesECCPOverTLS(t *testing.T) {
	p := testkit.StartPBX(t, "", testkit.WithTLS(t), func(c *config.Config) { c.ECCP.TLS = "127.0.0.1:0" })
	if p.ECCPTLSAddr() == "" || p.ECCPAddr() == "" {
		t.Fatalf("ECCPAddr %q, ECCPTLSAddr %q: want both", p.ECCPAddr(), p.ECCPTLSAddr())
	}
	c := testkit.DialECCP(t, p.ECCPTLSAddr(), testkit.ECCPTLS())
	defer c.Close()
	c.Login("agentconsole", "agentconsole")
}

// With eccp.listen "" the node serves no ECCP.
func TestNodeWithoutECCP(t *testing.T) {
	p := testkit.StartPBX(t, "", func(c *config.Config) { c.ECCP.Listen = "" })
	if p.ECCPAddr() != "" || p.ECCPTLSAddr() != "" {
		t.Fatalf("ECCPAddr %q, ECCPTLSAddr %q: want none", p.ECCPAddr(), p.ECCPTLSAddr())
	}
}
