package dialog

import (
	"fmt"
	"regexp"
	"strings"

	"pbx/config"
)

// Route is where the dial plan sends a number.
type Route struct {
	Rule   string   // name of the rule that matched
	Kind   string   // a registered target kind, by its canonical name (never an alias)
	Args   []string // the target's arguments as written, split at commas
	Number string   // the number after strip and prepend
	Parsed any      // what the kind's Parse made of Args (ExtensionTarget, TrunkTarget, ...)
}

// Dialplan is an ordered list of rules; the first that matches wins.
type Dialplan struct {
	rules []rule
}

type rule struct {
	name    string
	m       matcher
	strip   int
	prepend string
	target  Route // Kind, Args and Parsed
}

type matcher struct {
	exact, prefix string
	re            *regexp.Regexp
}

func newMatcher(m config.Match) (matcher, error) {
	out := matcher{exact: m.Exact, prefix: m.Prefix}
	if m.Regex != "" {
		re, err := regexp.Compile("^(?:" + m.Regex + ")$")
		if err != nil {
			return out, fmt.Errorf("regex %q: %w", m.Regex, err)
		}
		out.re = re
	}
	return out, nil
}

func (m matcher) match(number string) bool {
	switch {
	case m.exact != "":
		return number == m.exact
	case m.prefix != "":
		return strings.HasPrefix(number, m.prefix)
	case m.re != nil:
		return m.re.MatchString(number)
	}
	return false
}

// NewDialplan compiles the rules of pbx.yaml. Each target goes through
// the registry (ParseTarget), so a kind nobody registered is an error;
// env is what the kinds check their arguments against. Errors name the
// rule by its index; CheckDialplan names the file and line instead.
func NewDialplan(rules []config.DialplanRule, env TargetEnv) (*Dialplan, error) {
	d := &Dialplan{}
	for i, r := range rules {
		m, err := newMatcher(r.Match)
		if err != nil {
			return nil, fmt.Errorf("dialplan[%d]: %w", i, err)
		}
		target, err := ParseTarget(r.Target, env)
		if err != nil {
			return nil, fmt.Errorf("dialplan[%d].target: %w", i, err)
		}
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule%d", i+1)
		}
		d.rules = append(d.rules, rule{name: name, m: m, strip: r.Strip, prepend: r.Prepend, target: target})
	}
	return d, nil
}

// Route finds the first rule matching number. ok is false when none does,
// which the caller answers with 404.
func (d *Dialplan) Route(number string) (Route, bool) {
	for _, r := range d.rules {
		if !r.m.match(number) {
			continue
		}
		n := number
		if r.strip > 0 {
			if r.strip >= len(n) {
				n = ""
			} else {
				n = n[r.strip:]
			}
		}
		route := r.target
		route.Rule, route.Number = r.name, r.prepend+n
		return route, true
	}
	return Route{}, false
}
