package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	extensionRe = regexp.MustCompile(`^[0-9]{1,15}$`)
	nodeRe      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
	trunkNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	targetRe    = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	levels      = map[string]bool{"debug": true, "info": true, "warn": true, "warning": true, "error": true}
	codecs      = map[string]bool{"PCMU": true, "PCMA": true}
	transports  = map[string]bool{"udp": true, "tcp": true, "tls": true}
	// recordingModes are the recording layouts.
	recordingModes = map[string]bool{"mono": true, "stereo": true}
	// dtmfRe is a feature code: DTMF keys only.
	dtmfRe = regexp.MustCompile(`^[0-9*#A-D]{1,8}$`)
	pinRe  = regexp.MustCompile(`^[0-9]{1,16}$`)
	// musicClassRe is a hold-music class name.
	musicClassRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
	// builtinMusic are the classes the binary ships.
	builtinMusic = map[string]bool{"default": true, "calm": true}
	// rwiScopes are the scopes an RWI token may hold.
	rwiScopes = map[string]bool{"call.control": true, "record.control": true, "supervisor.control": true, "queue.control": true, "media.stream": true}
	// rwiTokenRe is a secret that travels in an Authorization header or a
	// query string: visible ASCII, no spaces.
	rwiTokenRe = regexp.MustCompile(`^[\x21-\x7e]{12,}$`)
)

// Validate checks what the options mean; every problem names the line and
// the field (the line of the nearest parent the file has, when the field
// itself is absent). Parse calls it; call it again after changing a Config
// in code. All problems are returned, joined and sorted by line.
//
// Targets (dial plan, DIDs, the RWI and queue fallbacks, exit keys, the
// shutdown target) are checked for syntax only ("kind" or
// "kind:arguments"): which kinds exist and what arguments each takes is
// known to the packages that register them, above config. dialog checks
// that part and reports it with ErrorAt, so both read alike. Likewise
// prompt names are checked here for their form, not for a file.
func (c *Config) Validate() error {
	v := validator{c: c}
	v.general()
	v.sip()
	v.media()
	v.calls()
	v.users()
	v.trunks()
	v.sounds()
	v.features()
	v.rwi()
	v.agentRPC()
	v.eccp()
	v.contactCenter()
	v.agents()
	v.queues()
	v.retention()
	for i, r := range c.Dialplan {
		p := fmt.Sprintf("dialplan[%d]", i)
		v.match(p, r.Match)
		if r.Strip < 0 {
			v.fail(p+".strip", "must not be negative")
		}
		v.target(p+".target", r.Target)
	}
	return joinErrors(c.File, v.errs, 0)
}

// ErrorAt makes a problem that a package above config found in the option
// at path (such as "dialplan[3].target"), with the line of that option, or
// of its nearest parent the file has, so that every configuration problem
// reads FILE:LINE: FIELD: PROBLEM whichever package finds it.
func (c *Config) ErrorAt(path, format string, args ...any) *Error {
	return &Error{File: c.File, Line: c.line(path), Field: path, Msg: fmt.Sprintf(format, args...)}
}

// JoinErrors joins problems made with ErrorAt as Validate joins its own:
// sorted by line, at most 50 shown. It returns nil when errs is empty.
func (c *Config) JoinErrors(errs []*Error) error {
	return joinErrors(c.File, errs, 0)
}

type validator struct {
	c     *Config
	errs  []*Error
	music map[string]bool // hold-music classes: built in and configured
}

// line finds the line of a field, or of its nearest parent in the file;
// 0 for a Config built in code.
func (c *Config) line(path string) int {
	for p := path; p != ""; {
		if l, ok := c.lines[p]; ok {
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
	v.errs = append(v.errs, v.c.ErrorAt(path, format, args...))
}

func (v *validator) positive(path string, d time.Duration) {
	if d <= 0 {
		v.fail(path, "must be more than 0, got %s", d)
	}
}

func (v *validator) notNegative(path string, d time.Duration) {
	if d < 0 {
		v.fail(path, "must not be negative, got %s", d)
	}
}

func (v *validator) listen(path, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.fail(path, "want host:port such as :5060, got %q", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.fail(path, "port %q: want 0 to 65535", port)
	}
}

func (v *validator) general() {
	c := v.c
	if !nodeRe.MatchString(c.Node) {
		v.fail("node", "want up to 32 letters, digits, '-', '_' or '.', got %q", c.Node)
	}
	if !levels[strings.ToLower(c.Log.Level)] {
		v.fail("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	for p, l := range c.Log.Packages {
		if !levels[strings.ToLower(l)] {
			v.fail("log.packages."+p, "want debug, info, warn or error, got %q", l)
		}
	}
	v.listen("http.listen", c.HTTP.Listen)
	s := c.Security
	if s.MaxFailures < 1 {
		v.fail("security.max_failures", "want at least 1, got %d", s.MaxFailures)
	}
	v.positive("security.window", s.Window)
	v.positive("security.ban_for", s.BanFor)
	for i, a := range s.Allow {
		if _, err := netip.ParsePrefix(a); err != nil {
			v.fail(fmt.Sprintf("security.allow[%d]", i), "want a CIDR such as 10.0.0.0/8, got %q", a)
		}
	}
}

func (v *validator) sip() {
	s := v.c.SIP
	v.listen("sip.udp", s.UDP)
	v.listen("sip.tcp", s.TCP)
	v.listen("sip.tls", s.TLS)
	if s.TLS != "" {
		if s.TLSCert == "" {
			v.fail("sip.tls_cert", "required when sip.tls is set")
		}
		if s.TLSKey == "" {
			v.fail("sip.tls_key", "required when sip.tls is set")
		}
	}
	if s.ExternalIP != "" {
		if _, err := netip.ParseAddr(s.ExternalIP); err != nil {
			v.fail("sip.external_ip", "want an IP address, got %q", s.ExternalIP)
		}
	}
	if s.Realm == "" || strings.ContainsAny(s.Realm, "\"\\\r\n") {
		v.fail("sip.realm", "want a name without quotes or backslashes, got %q", s.Realm)
	}
	v.positive("sip.nonce_ttl", s.NonceTTL)
	if s.MinExpires < 1 {
		v.fail("sip.min_expires", "want at least 1, got %d", s.MinExpires)
	}
	if s.MaxExpires < s.MinExpires {
		v.fail("sip.max_expires", "want at least min_expires (%d), got %d", s.MinExpires, s.MaxExpires)
	}
	if s.DefaultExpires < s.MinExpires || s.DefaultExpires > s.MaxExpires {
		v.fail("sip.default_expires", "want between min_expires and max_expires (%d-%d), got %d", s.MinExpires, s.MaxExpires, s.DefaultExpires)
	}
	v.notNegative("sip.qualify_every", s.QualifyEvery)
	if strings.ContainsAny(s.UserAgent, "\r\n") {
		v.fail("sip.user_agent", "must be one line")
	}
}

func (v *validator) media() {
	m := v.c.Media
	// 0 and 0 lets the operating system choose ports: only a Config built
	// in code (tests) does that, as Parse replaces zeros by the defaults.
	if m.RTPPortMin != 0 || m.RTPPortMax != 0 {
		switch {
		case m.RTPPortMin < 1024 || m.RTPPortMin > 65535:
			v.fail("media.rtp_port_min", "want 1024 to 65535, got %d", m.RTPPortMin)
		case m.RTPPortMin%2 != 0:
			v.fail("media.rtp_port_min", "want an even port (RTCP takes the odd one above), got %d", m.RTPPortMin)
		case m.RTPPortMax > 65535 || m.RTPPortMax <= m.RTPPortMin:
			v.fail("media.rtp_port_max", "want more than rtp_port_min (%d) and at most 65535, got %d", m.RTPPortMin, m.RTPPortMax)
		}
	}
	v.notNegative("media.rtp_timeout", m.RTPTimeout)
	v.positive("media.rtcp_every", m.RTCPEvery)
	if len(m.Codecs) == 0 {
		v.fail("media.codecs", "want at least one of PCMU, PCMA")
	}
	seen := map[string]bool{}
	for i, name := range m.Codecs {
		n := strings.ToUpper(name)
		switch {
		case !codecs[n]:
			v.fail(fmt.Sprintf("media.codecs[%d]", i), "unknown codec %q: want PCMU or PCMA", name)
		case seen[n]:
			v.fail(fmt.Sprintf("media.codecs[%d]", i), "%s listed twice", n)
		}
		seen[n] = true
	}
}

func (v *validator) calls() {
	c := v.c.Calls
	v.positive("calls.ring_timeout", c.RingTimeout)
	v.notNegative("calls.drain_timeout", c.DrainTimeout)
	v.notNegative("calls.session_expires", c.SessionExpires)
	v.positive("calls.min_se", c.MinSE)
	if c.SessionExpires > 0 && c.SessionExpires < c.MinSE {
		v.fail("calls.session_expires", "want 0 (off) or at least min_se (%s), got %s", c.MinSE, c.SessionExpires)
	}
	if c.MaxLegs < 0 {
		v.fail("calls.max_legs", "want 0 (derived) or more, got %d", c.MaxLegs)
	}
	switch {
	case c.MaxSetup < 0:
		v.fail("calls.max_setup", "want 0 (derived) or more, got %d", c.MaxSetup)
	case c.MaxLegs > 0 && c.MaxSetup > c.MaxLegs:
		v.fail("calls.max_setup", "want at most max_legs (%d), got %d", c.MaxLegs, c.MaxSetup)
	}
}

func (v *validator) users() {
	seen := map[string]bool{}
	for i, u := range v.c.Users {
		p := fmt.Sprintf("users[%d]", i)
		switch {
		case !extensionRe.MatchString(u.Extension):
			v.fail(p+".extension", "want 1 to 15 digits, got %q", u.Extension)
		case seen[u.Extension]:
			v.fail(p+".extension", "duplicate extension %s", u.Extension)
		}
		seen[u.Extension] = true
		if u.Password == "" {
			v.fail(p+".password", "required")
		}
	}
}

// trunks checks the trunks and their DIDs.
func (v *validator) trunks() {
	names := map[string]bool{}
	for i, t := range v.c.Trunks {
		p := fmt.Sprintf("trunks[%d]", i)
		switch {
		case t.Name == "":
			v.fail(p+".name", "required")
		case !trunkNameRe.MatchString(t.Name):
			v.fail(p+".name", "want letters, digits, '-', '_' or '.', got %q", t.Name)
		case names[t.Name]:
			v.fail(p+".name", "duplicate trunk %s", t.Name)
		}
		names[t.Name] = true
		if t.MaxCalls < 0 {
			v.fail(p+".max_calls", "must not be negative, got %d", t.MaxCalls)
		}
		v.host(p+".host", t.Host)
		if !transports[strings.ToLower(t.Transport)] {
			v.fail(p+".transport", "want udp, tcp or tls, got %q", t.Transport)
		}
		if t.Register {
			if t.Username == "" {
				v.fail(p+".username", "required when register is true")
			}
			if t.Password == "" {
				v.fail(p+".password", "required when register is true")
			}
		}
		if t.Expires < 1 {
			v.fail(p+".expires", "want at least 1 second, got %d", t.Expires)
		}
		for j, cidr := range t.InboundCIDRs {
			if _, err := ParsePrefix(cidr); err != nil {
				v.fail(fmt.Sprintf("%s.inbound_cidrs[%d]", p, j), "want an address or a CIDR such as 192.0.2.0/24, got %q", cidr)
			}
		}
		if t.InboundUser != "" && t.InboundPassword == "" {
			v.fail(p+".inbound_password", "required when inbound_user is set")
		}
		if t.InboundUser == "" && t.InboundPassword != "" {
			v.fail(p+".inbound_user", "required when inbound_password is set")
		}
	}
	for i, t := range v.c.Trunks {
		for j, d := range t.DIDs {
			p := fmt.Sprintf("trunks[%d].dids[%d]", i, j)
			v.match(p, d.Match)
			v.target(p+".target", d.Target)
		}
	}
}

// host checks "host" or "host:port"; an IPv6 address may be bare or in brackets.
func (v *validator) host(path, h string) {
	if h == "" {
		v.fail(path, "required")
		return
	}
	bad := func() { v.fail(path, "want host or host:port such as sip.example.net:5060, got %q", h) }
	if strings.ContainsAny(h, " \t\r\n/@;?") || strings.HasPrefix(strings.ToLower(h), "sip:") {
		bad()
		return
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return
	}
	if host, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
			bad()
		}
		return
	}
	if strings.ContainsAny(h, ":[]") {
		bad()
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
		v.fail(path, "want exactly one of exact, prefix or regex, got %d", n)
	}
	if m.Regex != "" {
		// The dial plan anchors it as ^(?:regex)$; the message quotes it as written.
		if _, err := regexp.Compile(m.Regex); err != nil {
			v.fail(path+".regex", "%v", err)
		} else if _, err := regexp.Compile("^(?:" + m.Regex + ")$"); err != nil {
			v.fail(path+".regex", "%v", err)
		}
	}
}

// target checks the syntax "kind" or "kind:arguments". Whether the kind
// exists and what its arguments mean is left to the packages that register
// target kinds (dialog.CheckDialplan), which config must not import.
func (v *validator) target(path, t string) {
	const want = "want kind or kind:arguments, such as extension or trunk:carrier"
	if t == "" {
		v.fail(path, "required: %s", want)
		return
	}
	kind, arg, hasArg := strings.Cut(t, ":")
	if !targetRe.MatchString(kind) {
		v.fail(path, "%q: %s", t, want)
		return
	}
	if hasArg && (arg == "" || strings.TrimSpace(arg) != arg) {
		v.fail(path, "%q: empty or padded argument after %s:", t, kind)
	}
}

// sounds checks the operator's prompt directory, music classes, and that
// every class a user or trunk names exists.
func (v *validator) sounds() {
	c := v.c
	if d := c.Sounds.Prompts; d != "" {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			v.fail("sounds.prompts", "%q is not a directory", d)
		}
	}
	classes := map[string]bool{}
	for k := range builtinMusic {
		classes[k] = true
	}
	for name, path := range c.Sounds.Music {
		p := "sounds.music." + name
		if !musicClassRe.MatchString(name) {
			v.fail(p, "class name: want up to 32 letters, digits, '-', '_' or '.'")
		}
		if _, err := os.Stat(path); err != nil {
			v.fail(p, "%q: no such file or directory", path)
		}
		classes[name] = true
	}
	v.music = classes
	for i, u := range c.Users {
		if !classes[u.Music] {
			v.fail(fmt.Sprintf("users[%d].music", i), "no hold-music class %q", u.Music)
		}
	}
	for i, t := range c.Trunks {
		if !classes[t.Music] {
			v.fail(fmt.Sprintf("trunks[%d].music", i), "no hold-music class %q", t.Music)
		}
	}
}

// features checks the feature codes, the conference rooms' PINs and the
// recordings section.
func (v *validator) features() {
	f := v.c.Features
	codes := map[string]string{}
	for path, code := range map[string]string{
		"features.record": f.Record, "features.blind_transfer": f.BlindTransfer,
		"features.attended_transfer": f.AttendedTransfer,
	} {
		if code == "" {
			continue // turned off
		}
		if !dtmfRe.MatchString(code) {
			v.fail(path, "want 1 to 8 DTMF keys (0-9 * # A-D), got %q", code)
			continue
		}
		for other, oc := range codes {
			if strings.HasPrefix(code, oc) || strings.HasPrefix(oc, code) {
				v.fail(path, "%q clashes with %s %q: one is a prefix of the other", code, other, oc)
			}
		}
		codes[path] = code
	}
	v.positive("features.digit_timeout", f.DigitTimeout)
	cf := v.c.Conference
	if cf.MuteKey != "" && (len(cf.MuteKey) != 1 || !dtmfRe.MatchString(cf.MuteKey)) {
		v.fail("conference.mute_key", "want one DTMF key, got %q", cf.MuteKey)
	}
	for room, pin := range cf.PINs {
		if !dtmfRe.MatchString(room) || !pinRe.MatchString(pin) {
			v.fail("conference.pins."+room, "want a room number and a PIN of 1 to 16 digits")
		}
	}
	r := v.c.Recordings
	if !recordingModes[r.Mode] {
		v.fail("recordings.mode", "want stereo or mono, got %q", r.Mode)
	}
	if !strings.HasSuffix(r.Path, ".wav") || strings.Contains(r.Path, "..") || filepath.IsAbs(r.Path) {
		v.fail("recordings.path", "want a relative template ending in .wav, without .., got %q", r.Path)
	}
	v.notNegative("recordings.max_duration", r.MaxDuration)
	v.notNegative("recordings.max_age", r.MaxAge)
	if r.MaxTotalMB < 0 {
		v.fail("recordings.max_total_mb", "must not be negative")
	}
}

// rwi checks the rwi section: tokens named and unique, secrets long enough
// to resist guessing, scopes known, CIDRs that parse, and limits that let a
// session do something.
func (v *validator) rwi() {
	r := v.c.RWI
	names, secrets := map[string]bool{}, map[string]bool{}
	for i, t := range r.Tokens {
		p := fmt.Sprintf("rwi.tokens[%d]", i)
		switch {
		case t.Name == "":
			v.fail(p+".name", "required")
		case !trunkNameRe.MatchString(t.Name):
			v.fail(p+".name", "want letters, digits, '-', '_' or '.', got %q", t.Name)
		case names[t.Name]:
			v.fail(p+".name", "duplicate token name %s", t.Name)
		}
		names[t.Name] = true
		// The secret is never quoted in a message: it may be a real one.
		switch {
		case t.Token == "":
			v.fail(p+".token", "required")
		case len(t.Token) < 12:
			v.fail(p+".token", "want at least 12 characters, got %d", len(t.Token))
		case !rwiTokenRe.MatchString(t.Token):
			v.fail(p+".token", "want visible ASCII characters without spaces")
		case secrets[t.Token]:
			v.fail(p+".token", "the same secret as another token")
		}
		secrets[t.Token] = true
		seen := map[string]bool{}
		for j, sc := range t.Scopes {
			sp := fmt.Sprintf("%s.scopes[%d]", p, j)
			switch {
			case !rwiScopes[sc]:
				v.fail(sp, "unknown scope %q: want call.control, record.control, supervisor.control, queue.control or media.stream", sc)
			case seen[sc]:
				v.fail(sp, "%s listed twice", sc)
			}
			seen[sc] = true
		}
		for j, cidr := range t.CIDRs {
			if _, err := ParsePrefix(cidr); err != nil {
				v.fail(fmt.Sprintf("%s.cidrs[%d]", p, j), "want an address or a CIDR such as 10.0.0.0/8, got %q", cidr)
			}
		}
		if t.MaxConnections < 1 {
			v.fail(p+".max_connections", "want at least 1, got %d", t.MaxConnections)
		}
	}
	if r.MaxLegs < 1 {
		v.fail("rwi.max_legs", "want at least 1, got %d", r.MaxLegs)
	}
	if !(r.OriginateRate > 0) || math.IsInf(r.OriginateRate, 1) {
		v.fail("rwi.originate_rate", "want a number of calls per second more than 0, got %v", r.OriginateRate)
	}
	v.notNegative("rwi.orphan_hold", r.OrphanHold)
	v.positive("rwi.offer_timeout", r.OfferTimeout)
	if r.Fallback != "" {
		v.target("rwi.fallback", r.Fallback)
	}
	if r.MaxFrame < 1 {
		v.fail("rwi.max_frame", "want at least 1 byte, got %d", r.MaxFrame)
	}
}
