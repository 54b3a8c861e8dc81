package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

var extensionRe = regexp.MustCompile(`^[0-9]{1,15}$`)

// Validate checks the meaning of the options; every problem names the line
// and the field. Parse calls it; call it again after changing a Config.
func (c *Config) Validate() error {
	v := validator{c: c}
	v.check()
	if len(v.errs) == 0 {
		return nil
	}
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
	errs := make([]error, len(v.errs))
	for i, e := range v.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

type validator struct {
	c    *Config
	errs []*Error
}

// line finds the line of a field, or of its nearest parent in the file.
func (v *validator) line(path string) int {
	for p := path; p != ""; {
		if l, ok := v.c.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.c.File, Line: v.line(path), Field: path, Msg: fmt.Sprintf(format, args...)})
}

var levels = map[string]bool{"debug": true, "info": true, "warn": true, "warning": true, "error": true}

func (v *validator) check() {
	c := v.c
	if !levels[strings.ToLower(c.Log.Level)] {
		v.fail("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	for p, l := range c.Log.Packages {
		if !levels[strings.ToLower(l)] {
			v.fail("log.packages."+p, "want debug, info, warn or error, got %q", l)
		}
	}
	for _, a := range []struct{ path, addr string }{{"sip.udp", c.SIP.UDP}, {"sip.tcp", c.SIP.TCP}, {"sip.tls", c.SIP.TLS}, {"http.listen", c.HTTP.Listen}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			v.fail(a.path, "want host:port, got %q", a.addr)
		}
	}
	if c.SIP.TLS != "" && (c.SIP.TLSCert == "" || c.SIP.TLSKey == "") {
		v.fail("sip.tls", "a TLS listener needs tls_cert and tls_key")
	}
	if c.SIP.ExternalIP != "" {
		if _, err := netip.ParseAddr(c.SIP.ExternalIP); err != nil {
			v.fail("sip.external_ip", "want an IP address, got %q", c.SIP.ExternalIP)
		}
	}
	if c.SIP.MinExpires < 1 || c.SIP.MaxExpires < c.SIP.MinExpires {
		v.fail("sip.min_expires", "want 1 <= min_expires <= max_expires")
	}
	m := c.Media
	if m.RTPPortMin%2 != 0 || m.RTPPortMin < 1024 || m.RTPPortMax > 65535 || m.RTPPortMin >= m.RTPPortMax {
		v.fail("media.rtp_port_min", "want an even first port, 1024 <= min < max <= 65535")
	}
	for i, name := range m.Codecs {
		if n := strings.ToUpper(name); n != "PCMU" && n != "PCMA" {
			v.fail(fmt.Sprintf("media.codecs[%d]", i), "unknown codec %q (PCMU, PCMA)", name)
		}
	}
	if m.RTPTimeout < 0 || c.Calls.RingTimeout < 0 || c.Calls.DrainTimeout < 0 {
		v.fail("calls", "durations must not be negative")
	}
	if c.Security.MaxFailures < 1 {
		v.fail("security.max_failures", "want at least 1")
	}
	for i, a := range c.Security.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			v.fail(fmt.Sprintf("security.allow[%d]", i), "want a CIDR such as 10.0.0.0/8, got %q", a)
		}
	}
	exts := map[string]bool{}
	for i, u := range c.Users {
		p := fmt.Sprintf("users[%d]", i)
		if !extensionRe.MatchString(u.Extension) {
			v.fail(p+".extension", "want 1 to 15 digits, got %q", u.Extension)
		} else if exts[u.Extension] {
			v.fail(p+".extension", "duplicate extension %s", u.Extension)
		}
		exts[u.Extension] = true
		if u.Password == "" {
			v.fail(p+".password", "required")
		}
	}
	trunks := map[string]bool{}
	for i, t := range c.Trunks {
		p := fmt.Sprintf("trunks[%d]", i)
		switch {
		case t.Name == "":
			v.fail(p+".name", "required")
		case trunks[t.Name]:
			v.fail(p+".name", "duplicate trunk %s", t.Name)
		}
		trunks[t.Name] = true
		if t.Host == "" {
			v.fail(p+".host", "required")
		}
		if tr := strings.ToLower(t.Transport); tr != "udp" && tr != "tcp" && tr != "tls" {
			v.fail(p+".transport", "want udp, tcp or tls, got %q", t.Transport)
		}
		if t.Register && (t.Username == "" || t.Password == "") {
			v.fail(p+".register", "registration needs username and password")
		}
		for j, cidr := range t.InboundCIDRs {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				if _, err := netip.ParseAddr(cidr); err != nil {
					v.fail(fmt.Sprintf("%s.inbound_cidrs[%d]", p, j), "want an address or CIDR, got %q", cidr)
				}
			}
		}
		if (t.InboundUser == "") != (t.InboundPassword == "") {
			v.fail(p+".inbound_user", "inbound_user and inbound_password go together")
		}
	}
	for i, t := range c.Trunks {
		for j, d := range t.DIDs {
			dp := fmt.Sprintf("trunks[%d].dids[%d]", i, j)
			v.match(dp, d.Match)
			v.target(dp+".target", d.Target, trunks)
		}
	}
	for i, r := range c.Dialplan {
		p := fmt.Sprintf("dialplan[%d]", i)
		v.match(p, r.Match)
		if r.Strip < 0 {
			v.fail(p+".strip", "must not be negative")
		}
		v.target(p+".target", r.Target, trunks)
	}
}

func (v *validator) match(path string, m Match) {
	n := 0
	for _, s := range []string{m.Exact, m.Prefix, m.Regex} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		v.fail(path, "want exactly one of exact, prefix or regex")
	}
	if m.Regex != "" {
		if _, err := regexp.Compile(m.Regex); err != nil {
			v.fail(path+".regex", "%v", err)
		}
	}
}

// target checks "kind" or "kind:args". Kinds later packages add (queue,
// agent, rwi, agentrpc) are accepted; the PBX reports those it cannot serve.
func (v *validator) target(path, t string, trunks map[string]bool) {
	kind, rest, hasArgs := strings.Cut(t, ":")
	if kind == "" || strings.ContainsAny(kind, " \t") {
		v.fail(path, "want kind or kind:argument (extension, extension:1001, trunk:NAME, trunks:A,B), got %q", t)
		return
	}
	if hasArgs && strings.TrimSpace(rest) == "" {
		v.fail(path, "%q: empty argument", t)
		return
	}
	switch kind {
	case "extension":
		if hasArgs && !extensionRe.MatchString(rest) {
			v.fail(path, "extension %q: want digits", rest)
		}
	case "trunk", "trunks":
		if !hasArgs {
			v.fail(path, "%s needs a trunk name", kind)
			return
		}
		for _, name := range strings.Split(rest, ",") {
			if !trunks[strings.TrimSpace(name)] {
				v.fail(path, "no trunk named %q", strings.TrimSpace(name))
			}
		}
	}
}
