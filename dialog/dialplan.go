package dialog

import (
	"fmt"
	"regexp"
	"strings"

	"pbx/config"
)

// Route is where the dial plan sends a number.
type Route struct {
	Rule   string // name of the rule that matched
	Kind   string // extension, trunk, or a kind a later package registers (queue, agent, rwi, agentrpc)
	Args   []string
	Number string // the number after strip and prepend
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
	kind    string
	args    []string
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

// ParseTarget splits "kind:a,b" into its kind and arguments.
func ParseTarget(t string) (kind string, args []string, err error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(t), ":")
	if kind == "" {
		return "", nil, fmt.Errorf("target %q: empty kind", t)
	}
	for _, a := range strings.Split(rest, ",") {
		if a = strings.TrimSpace(a); a != "" {
			args = append(args, a)
		}
	}
	if kind == "trunks" {
		kind = "trunk"
	}
	if kind == "trunk" && len(args) == 0 {
		return "", nil, fmt.Errorf("target %q: trunk needs a name", t)
	}
	return kind, args, nil
}

// NewDialplan compiles the rules of pbx.yaml.
func NewDialplan(rules []config.DialplanRule) (*Dialplan, error) {
	d := &Dialplan{}
	for i, r := range rules {
		m, err := newMatcher(r.Match)
		if err != nil {
			return nil, fmt.Errorf("dialplan[%d]: %w", i, err)
		}
		kind, args, err := ParseTarget(r.Target)
		if err != nil {
			return nil, fmt.Errorf("dialplan[%d]: %w", i, err)
		}
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule%d", i+1)
		}
		d.rules = append(d.rules, rule{name: name, m: m, strip: r.Strip, prepend: r.Prepend, kind: kind, args: args})
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
		n = r.prepend + n
		return Route{Rule: r.name, Kind: r.kind, Args: r.args, Number: n}, true
	}
	return Route{}, false
}
