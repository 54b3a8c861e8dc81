package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ECCP configures the ECCP control plane: agent consoles and dialer
// front ends (Issabel's agent console, CallCenter CRM plug-ins) connect
// over TCP, log in as a client, and drive agents and campaigns with the
// XML requests of Elastix's dialerd.
type ECCP struct {
	// Listen is the plain TCP address; "" turns ECCP off (TLS included).
	Listen string `yaml:"listen"`
	// TLS is a second address that speaks ECCP over TLS; "" for none.
	TLS string `yaml:"tls"`
	// TLSCert and TLSKey are the PEM files of the TLS listener; both
	// empty means sip.tls_cert and sip.tls_key (Parse fills them in when
	// tls is set).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// AuthorizedIPs are the addresses (a CIDR or a bare address) a client
	// may connect from; any other connection is closed at once and
	// logged. None means loopback only.
	AuthorizedIPs []string `yaml:"authorized_ips"`
	// SessionTimeout closes a session that sent nothing for this long.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// LoginTimeout fails an Agent/ login call still waiting for the
	// agent's password after this long.
	LoginTimeout time.Duration `yaml:"login_timeout"`
	// Clients are the accounts that may log in; more are kept in the
	// store (pbx eccp client add). Left out, the one demo client
	// agentconsole/agentconsole; clients: [] leaves the store's only.
	Clients []ECCPClient `yaml:"clients"`
}

// ECCPClient is one ECCP login: login accepts the password or its MD5
// in hexadecimal, as dialerd does.
type ECCPClient struct {
	Username string `yaml:"username"`
	// Password is the secret in plain text; or give MD5Password instead,
	// the 32 hexadecimal digits of its MD5, to keep it out of the file.
	Password    string `yaml:"password"`
	MD5Password string `yaml:"md5_password"`
}

// ECCP defaults.
const (
	DefaultECCPListen         = ":20005"
	DefaultECCPSessionTimeout = 5 * time.Minute
	DefaultECCPLoginTimeout   = 5 * time.Minute
)

// DefaultECCPClients is the client when the file names none: the demo
// account of Issabel's agent console, agentconsole/agentconsole.
func DefaultECCPClients() []ECCPClient {
	return []ECCPClient{{Username: "agentconsole", Password: "agentconsole"}}
}

// DefaultECCPAuthorizedIPs are the addresses ECCP clients may connect
// from when the file names none: loopback only.
func DefaultECCPAuthorizedIPs() []string { return []string{"127.0.0.0/8", "::1/128"} }

// eccpDefaults fills the eccp section. listen keeps an explicit "" (ECCP
// off) and clients an explicit [] (the store's clients only). With tls set
// and no certificate of its own, it takes SIP's.
func (c *Config) eccpDefaults(absent func(string) bool) {
	e := &c.ECCP
	if absent("eccp.listen") {
		e.Listen = DefaultECCPListen
	}
	if len(e.AuthorizedIPs) == 0 {
		e.AuthorizedIPs = DefaultECCPAuthorizedIPs()
	}
	setDur(&e.SessionTimeout, DefaultECCPSessionTimeout)
	setDur(&e.LoginTimeout, DefaultECCPLoginTimeout)
	if absent("eccp.clients") {
		e.Clients = DefaultECCPClients()
	}
	if e.TLS != "" && e.TLSCert == "" && e.TLSKey == "" {
		e.TLSCert, e.TLSKey = c.SIP.TLSCert, c.SIP.TLSKey
	}
}

var (
	// eccpUserRe is an ECCP client's user name: it travels in an XML
	// element and shows in logs.
	eccpUserRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
	// md5HexRe is an MD5 digest in hexadecimal.
	md5HexRe = regexp.MustCompile(`^[0-9A-Fa-f]{32}$`)
)

// eccp checks the eccp section and the agents' ECCP passwords.
func (v *validator) eccp() {
	e := v.c.ECCP
	v.listen("eccp.listen", e.Listen)
	v.listen("eccp.tls", e.TLS)
	switch {
	case e.TLS != "" && e.TLS == e.Listen:
		v.fail("eccp.tls", "the same address as eccp.listen (%s): TLS needs a port of its own", e.Listen)
	case (e.TLSCert == "") != (e.TLSKey == ""):
		v.fail("eccp.tls_cert", "give both tls_cert and tls_key, or neither (then sip's are used)")
	case e.TLS != "" && e.TLSCert == "":
		v.fail("eccp.tls", "wants a certificate: set eccp.tls_cert and eccp.tls_key, or sip.tls_cert and sip.tls_key")
	}
	for i, a := range e.AuthorizedIPs {
		if _, err := ParsePrefix(a); err != nil {
			v.fail(fmt.Sprintf("eccp.authorized_ips[%d]", i), "want an address or a CIDR such as 10.0.0.0/8, got %q", a)
		}
	}
	v.positive("eccp.session_timeout", e.SessionTimeout)
	v.positive("eccp.login_timeout", e.LoginTimeout)
	names := map[string]int{}
	for i, cl := range e.Clients {
		p := fmt.Sprintf("eccp.clients[%d]", i)
		switch first, dup := names[cl.Username]; {
		case cl.Username == "":
			v.fail(p+".username", "required")
		case !eccpUserRe.MatchString(cl.Username):
			v.fail(p+".username", "want up to 64 letters, digits, '-', '_', '.' or '@', got %q", cl.Username)
		case dup:
			v.fail(p+".username", "duplicate client %s (also eccp.clients[%d])", cl.Username, first)
		default:
			names[cl.Username] = i
		}
		// Passwords are never quoted: they are secrets.
		switch {
		case cl.Password == "" && cl.MD5Password == "":
			v.fail(p, "want password, or md5_password (the MD5 of the password in hexadecimal)")
		case cl.Password != "" && cl.MD5Password != "":
			v.fail(p+".md5_password", "want password or md5_password, not both")
		case cl.MD5Password != "" && !md5HexRe.MatchString(cl.MD5Password):
			v.fail(p+".md5_password", "want 32 hexadecimal digits (an MD5 digest)")
		case strings.ContainsAny(cl.Password, "\x00\r\n"):
			v.fail(p+".password", "want one line")
		}
	}
	for i, a := range v.c.Agents {
		if strings.ContainsAny(a.ECCPPassword, "\x00\r\n") {
			v.fail(fmt.Sprintf("agents[%d].eccp_password", i), "want one line")
		}
	}
}
