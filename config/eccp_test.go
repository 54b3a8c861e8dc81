package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every problem of the eccp section names the file, the line and the field.
func TestECCPErrors(t *testing.T) {
	const client = "eccp:\n  clients:\n    - username: console\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"bad listen", "eccp:\n  listen: twenty\n", "bad.yaml:2: eccp.listen: want host:port"},
		{"bad tls listen", "eccp:\n  tls: \":99999\"\n", "bad.yaml:2: eccp.tls: port \"99999\": want 0 to 65535"},
		{"tls without cert", "eccp:\n  tls: \":20006\"\n", "bad.yaml:2: eccp.tls: wants a certificate"},
		{"tls on the plain port", "eccp:\n  listen: \":20005\"\n  tls: \":20005\"\n  tls_cert: c.pem\n  tls_key: k.pem\n", "bad.yaml:3: eccp.tls: the same address as eccp.listen"},
		{"cert without key", "eccp:\n  tls: \":20006\"\n  tls_cert: c.pem\n", "bad.yaml:3: eccp.tls_cert: give both tls_cert and tls_key"},
		{"bad cidr", "eccp:\n  authorized_ips: [10.0.0.0/8, 10.0.0.0/33]\n", "bad.yaml:2: eccp.authorized_ips[1]: want an address or a CIDR"},
		{"name in authorized ips", "eccp:\n  authorized_ips:\n    - localhost\n", "bad.yaml:3: eccp.authorized_ips[0]: want an address or a CIDR such as 10.0.0.0/8, got \"localhost\""},
		{"negative session timeout", "eccp:\n  session_timeout: -1s\n", "bad.yaml:2: eccp.session_timeout: must be more than 0"},
		{"negative login timeout", "eccp:\n  login_timeout: -1m\n", "bad.yaml:2: eccp.login_timeout: must be more than 0"},
		{"no username", "eccp:\n  clients:\n    - password: x\n", "bad.yaml:3: eccp.clients[0].username: required"},
		{"username with space", "eccp:\n  clients:\n    - username: a b\n      password: x\n", "bad.yaml:3: eccp.clients[0].username: want up to 64 letters"},
		{"duplicate username", client + "      password: x\n    - username: console\n      password: y\n", "bad.yaml:5: eccp.clients[1].username: duplicate client console (also eccp.clients[0])"},
		{"no password", client, "bad.yaml:3: eccp.clients[0]: want password, or md5_password"},
		{"both passwords", client + "      password: x\n      md5_password: 0123456789abcdef0123456789abcdef\n", "bad.yaml:5: eccp.clients[0].md5_password: want password or md5_password, not both"},
		{"md5 too short", client + "      md5_password: 0123456789abcdef\n", "bad.yaml:4: eccp.clients[0].md5_password: want 32 hexadecimal digits"},
		{"md5 not hex", client + "      md5_password: 0123456789abcdef0123456789abcdeg\n", "bad.yaml:4: eccp.clients[0].md5_password: want 32 hexadecimal digits"},
		{"unknown client key", client + "      secret: x\n", "bad.yaml:4: eccp.clients[0].secret: unknown key"},
		{"unknown key", "eccp:\n  session_timout: 1m\n", "bad.yaml:2: eccp.session_timout: unknown key (did you mean session_timeout?)"},
		{"agent password two lines", "agents:\n  - id: \"9001\"\n    pin: \"1234\"\n    eccp_password: \"a\\nb\"\n", "bad.yaml:4: agents[0].eccp_password: want one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", c.ECCP)
			}
			if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, tt.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Fatalf("error quotes a secret: %v", err)
			}
		})
	}
}

// What the eccp section accepts, and the defaults it fills in.
func TestECCPAccepts(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       ECCP
	}{
		{"off", "eccp:\n  listen: \"\"\n", ECCP{AuthorizedIPs: DefaultECCPAuthorizedIPs(), SessionTimeout: 5 * time.Minute,
			LoginTimeout: 5 * time.Minute, Clients: DefaultECCPClients()}},
		{"store clients only", "eccp:\n  clients: []\n", ECCP{Listen: ":20005", AuthorizedIPs: DefaultECCPAuthorizedIPs(),
			SessionTimeout: 5 * time.Minute, LoginTimeout: 5 * time.Minute, Clients: []ECCPClient{}}},
		{"tls with sip's certificate",
			"sip:\n  tls: \":5061\"\n  tls_cert: sip.pem\n  tls_key: sip.key\neccp:\n  tls: \":20006\"\n  authorized_ips: [10.1.2.3, 192.168.0.0/16]\n  session_timeout: 30s\n" +
				"  clients:\n    - username: crm@example\n      md5_password: 0123456789ABCDEF0123456789abcdef\n",
			ECCP{Listen: ":20005", TLS: ":20006", TLSCert: "sip.pem", TLSKey: "sip.key", AuthorizedIPs: []string{"10.1.2.3", "192.168.0.0/16"},
				SessionTimeout: 30 * time.Second, LoginTimeout: 5 * time.Minute,
				Clients: []ECCPClient{{Username: "crm@example", MD5Password: "0123456789ABCDEF0123456789abcdef"}}}},
		{"tls with its own certificate",
			"eccp:\n  tls: 127.0.0.1:20006\n  tls_cert: e.pem\n  tls_key: e.key\n",
			ECCP{Listen: ":20005", TLS: "127.0.0.1:20006", TLSCert: "e.pem", TLSKey: "e.key", AuthorizedIPs: DefaultECCPAuthorizedIPs(),
				SessionTimeout: 5 * time.Minute, LoginTimeout: 5 * time.Minute, Clients: DefaultECCPClients()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("good.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.ECCP, tt.want) {
				t.Fatalf("eccp:\n got %+v\nwant %+v", c.ECCP, tt.want)
			}
		})
	}
}
