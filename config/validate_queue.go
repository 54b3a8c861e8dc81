package config

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	// queueNameRe is what queue:NAME[,PRIORITY] names: no comma, no colon.
	queueNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	// ccNameRe is a skill or break name: one word, as the queue log and
	// the control planes carry it.
	ccNameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
	agentPINRe = regexp.MustCompile(`^[0-9]{4,12}$`)
	// contactRe is a number dialled through the dial plan.
	contactRe   = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)
	breakCodeRe = regexp.MustCompile(`^[0-9]{1,8}$`)
	dtmfKeyRe   = regexp.MustCompile(`^[0-9*#A-D]$`)

	strategies      = setOf(Strategies)
	emptyConditions = setOf(EmptyConditions)
)

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// promptName reports whether name can name a prompt ("welcome",
// "digits/3", "acme/greeting"): the rule package prompts applies, so that
// a name config accepts never escapes the prompt directory. Whether the
// prompt exists is checked by the package that plays it.
func promptName(name string) bool {
	if name == "" || len(name) > 200 || path.Clean(name) != name || strings.HasPrefix(name, "/") {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == "." || el == ".." {
			return false
		}
		for _, r := range el {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return false
			}
		}
	}
	return true
}

func (v *validator) prompt(path, name string) {
	if !promptName(name) {
		v.fail(path, "want a prompt name such as welcome or digits/3 (letters, digits, '-', '_', '.', '/'), got %q", name)
	}
}

// listName checks the name of item i of a list: required, matching re
// (want says what re wants), and not used before in the list, compared
// case-insensitively. seen holds the names met so far, folded, and their
// index, which dup (a format taking the name and that index) cites.
func (v *validator) listName(path, name string, i int, seen map[string]int, re *regexp.Regexp, want, dup string) {
	key := strings.ToLower(name)
	switch first, again := seen[key]; {
	case name == "":
		v.fail(path, "required")
	case !re.MatchString(name):
		v.fail(path, "want "+want+", got %q", name)
	case again:
		v.fail(path, "duplicate "+dup, name, first)
	default:
		seen[key] = i
	}
}

// contactCenter checks the contact_center section: break types, the
// shutdown prompt and target, supervisors and the statistics interval.
func (v *validator) contactCenter() {
	cc := v.c.ContactCenter
	names, codes := map[string]int{}, map[string]int{}
	for i, b := range cc.Breaks {
		p := fmt.Sprintf("contact_center.breaks[%d]", i)
		v.listName(p+".name", b.Name, i, names, ccNameRe, "up to 32 letters, digits, '-', '_' or '.'", "break %s (also breaks[%d])")
		if b.Code == "" {
			continue
		}
		switch first, dup := codes[b.Code]; {
		case !breakCodeRe.MatchString(b.Code):
			v.fail(p+".code", "want 1 to 8 digits, keyed after the pause code, got %q", b.Code)
		case dup:
			v.fail(p+".code", "code %s is also breaks[%d]'s", b.Code, first)
		default:
			codes[b.Code] = i
		}
	}
	if cc.ShutdownPrompt != "" {
		v.prompt("contact_center.shutdown_prompt", cc.ShutdownPrompt)
	}
	if cc.ShutdownTarget != "" {
		v.target("contact_center.shutdown_target", cc.ShutdownTarget)
	}
	if strings.ContainsAny(cc.QueueLog, "\x00\r\n") {
		v.fail("contact_center.queue_log", "want a file path on one line")
	}
	users := map[string]bool{}
	for _, u := range v.c.Users {
		users[u.Extension] = true
	}
	seen := map[string]bool{}
	for i, s := range cc.Supervisors {
		p := fmt.Sprintf("contact_center.supervisors[%d]", i)
		switch {
		case !users[s]:
			v.fail(p, "no user with extension %q", s)
		case seen[s]:
			v.fail(p, "%s listed twice", s)
		}
		seen[s] = true
	}
	if si := cc.StatsInterval; si < time.Minute || si > 24*time.Hour || (24*time.Hour)%si != 0 {
		v.fail("contact_center.stats_interval", "want 1m to 24h, dividing a day evenly (such as 15m or 1h), got %s", si)
	}
}

// retention checks how long the store keeps records: long enough that the
// pruner never takes what is still being reported on.
func (v *validator) retention() {
	r := v.c.Retention
	for _, o := range []struct {
		path     string
		d, least time.Duration
	}{
		{"retention.cdr", r.CDR, time.Hour},
		{"retention.queue_log", r.QueueLog, time.Hour},
		{"retention.stats", r.Stats, 24 * time.Hour}, // today's totals are read from the buckets
	} {
		if o.d != 0 && o.d < o.least {
			v.fail(o.path, "want 0 (keep) or at least %s, got %s", fmtDur(o.least), o.d)
		}
	}
	if r.Every < time.Minute {
		v.fail("retention.every", "want at least 1m, got %s", r.Every)
	}
}

// fmtDur writes a whole number of hours or minutes as pbx.yaml does (1h, 24h).
func fmtDur(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// skills checks a skill -> level map; least is the lowest level allowed
// (0 in a rule, where it drops a requirement).
func (v *validator) skills(path string, m map[string]int, least int) {
	for _, name := range sortedKeys(m) {
		p := path + "." + name
		if !ccNameRe.MatchString(name) {
			v.fail(p, "skill name: want up to 32 letters, digits, '-', '_' or '.'")
		}
		if l := m[name]; l < least || l > 100 {
			v.fail(p, "want a level from %d to 100, got %d", least, l)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// agents checks the agents: ids, how each logs in, skills.
func (v *validator) agents() {
	ids := map[string]int{}
	for i, a := range v.c.Agents {
		p := fmt.Sprintf("agents[%d]", i)
		switch first, dup := ids[a.ID]; {
		case !extensionRe.MatchString(a.ID):
			v.fail(p+".id", "want 1 to 15 digits, got %q", a.ID)
		case dup:
			v.fail(p+".id", "duplicate agent %s (also agents[%d])", a.ID, first)
		default:
			ids[a.ID] = i
		}
		if strings.ContainsAny(a.Name, "\x00\r\n|") {
			v.fail(p+".name", "want one line without '|' (the queue log's separator)")
		}
		// The PIN is never quoted: it is a secret.
		switch {
		case a.PIN == "" && a.Contact == "":
			v.fail(p, "want pin (a static agent, who logs in from any phone) or contact (a dynamic member, rung for each call)")
		case a.PIN != "" && a.Contact != "":
			v.fail(p+".contact", "want pin or contact, not both: a static agent stays on the line they logged in from")
		case a.PIN != "" && !agentPINRe.MatchString(a.PIN):
			v.fail(p+".pin", "want 4 to 12 digits")
		case a.Contact != "" && !contactRe.MatchString(a.Contact):
			v.fail(p+".contact", "want a number dialled through the dial plan (digits, '*', '#', a leading '+'), got %q", a.Contact)
		}
		if a.AutoLogin && a.Contact == "" {
			v.fail(p+".auto_login", "only a dynamic member (with a contact) can be logged in at start; a static agent logs in from a phone")
		}
		if a.Wrapup != nil {
			v.notNegative(p+".wrapup", *a.Wrapup)
		}
		v.skills(p+".skills", a.Skills, 1)
	}
}

// queues checks every queue against the agents, breaks and music classes.
func (v *validator) queues() {
	c := v.c
	agents := map[string]bool{}
	for _, a := range c.Agents {
		agents[a.ID] = true
	}
	breaks := map[string]bool{}
	for _, b := range c.ContactCenter.Breaks {
		breaks[b.Name] = true
	}
	names := map[string]int{}
	for i := range c.Queues {
		q := &c.Queues[i]
		p := fmt.Sprintf("queues[%d]", i)
		v.listName(p+".name", q.Name, i, names, queueNameRe, "up to 32 letters, digits, '-' or '_'", "queue %s (also queues[%d])")
		if !strategies[q.Strategy] {
			v.fail(p+".strategy", "unknown strategy %q: want one of %s", q.Strategy, strings.Join(Strategies, ", "))
		}
		if q.Weight < 0 {
			v.fail(p+".weight", "must not be negative, got %d", q.Weight)
		}
		v.members(p, q.Members, agents)
		v.skills(p+".skills", q.Skills, 1)
		v.rules(p, q.Rules)
		v.queueTimes(p, q)
		if q.MaxCallers < 0 {
			v.fail(p+".max_callers", "want 0 (no limit) or more, got %d", q.MaxCallers)
		}
		if q.Fallback != "" {
			v.target(p+".fallback", q.Fallback)
		}
		v.conditions(p+".join_empty", q.JoinEmpty)
		v.conditions(p+".leave_empty", q.LeaveEmpty)
		switch {
		case q.Autopause < 0:
			v.fail(p+".autopause", "want 0 (never) or more, got %d", q.Autopause)
		case q.Autopause > 0 && !breaks[q.AutopauseAs]:
			v.fail(p+".autopause_as", "no break named %q in contact_center.breaks", q.AutopauseAs)
		}
		if q.Record != "" && !recordingModes[q.Record] {
			v.fail(p+".record", "want \"\" (off), mono or stereo, got %q", q.Record)
		}
		if !v.music[q.Music] {
			v.fail(p+".music", "no hold-music class %q", q.Music)
		}
		v.announcements(p, q)
		v.keys(p, q)
	}
}

func (v *validator) members(p string, members []Member, agents map[string]bool) {
	seen := map[string]bool{}
	for j, m := range members {
		mp := fmt.Sprintf("%s.members[%d]", p, j)
		switch {
		case m.Agent == "":
			v.fail(mp+".agent", "required")
		case !agents[m.Agent]:
			v.fail(mp+".agent", "no agent %q in agents", m.Agent)
		case seen[m.Agent]:
			v.fail(mp+".agent", "agent %s listed twice", m.Agent)
		}
		seen[m.Agent] = true
		if m.Penalty < 0 {
			v.fail(mp+".penalty", "must not be negative, got %d", m.Penalty)
		}
	}
}

// rules checks a queue's rules in order, and the penalty range each leaves
// a caller: a min_penalty above the max_penalty in force would let a caller
// reach no agent at all.
func (v *validator) rules(p string, rules []QueueRule) {
	minP, maxP := 0, -1 // in force; -1: no upper limit
	last := time.Duration(-1)
	for j, r := range rules {
		rp := fmt.Sprintf("%s.rules[%d]", p, j)
		switch {
		case r.After < 0:
			v.fail(rp+".after", "must not be negative, got %s", r.After)
		case r.After <= last:
			v.fail(rp+".after", "want rules in order of after, each later than the one before (%s), got %s", last, r.After)
		}
		last = max(last, r.After)
		if r.MaxPenalty == nil && r.MinPenalty == nil && len(r.Skills) == 0 {
			v.fail(rp, "changes nothing: want max_penalty, min_penalty or skills")
		}
		okMax := v.penaltyBound(rp+".max_penalty", r.MaxPenalty, &maxP)
		okMin := v.penaltyBound(rp+".min_penalty", r.MinPenalty, &minP)
		bad := !okMax || !okMin
		if changed := r.MaxPenalty != nil || r.MinPenalty != nil; changed && !bad && maxP >= 0 && minP > maxP {
			field := ".max_penalty"
			if r.MinPenalty != nil {
				field = ".min_penalty"
			}
			v.fail(rp+field, "min_penalty %d above max_penalty %d from this rule on: no member could take the call", minP, maxP)
		}
		v.skills(rp+".skills", r.Skills, 0)
	}
}

// penaltyBound puts a rule's penalty bound, if it sets one, in force; a
// negative one is refused (false) and leaves the one in force.
func (v *validator) penaltyBound(path string, bound *int, inForce *int) bool {
	switch {
	case bound == nil:
	case *bound < 0:
		v.fail(path, "must not be negative, got %d", *bound)
		return false
	default:
		*inForce = *bound
	}
	return true
}

func (v *validator) queueTimes(p string, q *Queue) {
	v.positive(p+".ring_timeout", q.RingTimeout)
	v.notNegative(p+".retry", q.Retry)
	v.positive(p+".progressively", q.Progressively)
	v.notNegative(p+".wrapup", q.Wrapup)
	v.notNegative(p+".max_wait", q.MaxWait)
	v.positive(p+".service_level", q.ServiceLevel)
}

func (v *validator) conditions(path string, conds []string) {
	seen := map[string]bool{}
	for j, cond := range conds {
		cp := fmt.Sprintf("%s[%d]", path, j)
		switch {
		case !emptyConditions[cond]:
			v.fail(cp, "unknown member condition %q: want %s", cond, strings.Join(EmptyConditions, ", "))
		case seen[cond]:
			v.fail(cp, "%s listed twice", cond)
		}
		seen[cond] = true
	}
}

// announcements checks what a waiting caller hears; an announcement that
// is switched on but never due is refused rather than silently not played.
func (v *validator) announcements(p string, q *Queue) {
	if q.Announce != "" {
		v.prompt(p+".announce", q.Announce)
	}
	v.notNegative(p+".announce_every", q.AnnounceEvery)
	if q.AnnounceEvery == 0 {
		if q.Position {
			v.fail(p+".position", "never said: set announce_every")
		}
		if q.HoldTime {
			v.fail(p+".hold_time", "never said: set announce_every")
		}
	}
	for j, name := range q.Periodic {
		v.prompt(fmt.Sprintf("%s.periodic[%d]", p, j), name)
	}
	v.notNegative(p+".periodic_every", q.PeriodicEvery)
	if len(q.Periodic) > 0 && q.PeriodicEvery == 0 {
		v.fail(p+".periodic", "never played: set periodic_every")
	}
}

// keys checks the exit keys and the callback key.
func (v *validator) keys(p string, q *Queue) {
	for _, k := range sortedKeys(q.ExitKeys) {
		kp := p + ".exit_keys." + k
		if !dtmfKeyRe.MatchString(k) {
			v.fail(kp, "want one DTMF key (0-9 * # A-D), got %q", k)
		}
		v.target(kp, q.ExitKeys[k])
	}
	if q.CallbackKey != "" {
		switch _, exit := q.ExitKeys[q.CallbackKey]; {
		case !dtmfKeyRe.MatchString(q.CallbackKey):
			v.fail(p+".callback_key", "want one DTMF key (0-9 * # A-D), got %q", q.CallbackKey)
		case exit:
			v.fail(p+".callback_key", "%s is also an exit key", q.CallbackKey)
		}
	}
	if q.CallbackTries < 1 {
		v.fail(p+".callback_tries", "want at least 1, got %d", q.CallbackTries)
	}
	v.positive(p+".callback_retry", q.CallbackRetry)
}
