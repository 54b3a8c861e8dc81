package dialog

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"pbx/config"
)

// trunk is a carrier as the call engine sees it: where its calls come from
// and how to send calls to it.
type trunk struct {
	cfg   config.Trunk
	cidrs []netip.Prefix
	dids  *Dialplan
}

type trunks struct {
	list   []*trunk
	byName map[string]*trunk
}

func newTrunks(cfgs []config.Trunk, env TargetEnv) (*trunks, error) {
	ts := &trunks{byName: map[string]*trunk{}}
	for i, c := range cfgs {
		t := &trunk{cfg: c}
		for _, s := range c.InboundCIDRs {
			p, err := config.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trunks[%d].inbound_cidrs: %w", i, err)
			}
			t.cidrs = append(t.cidrs, p)
		}
		rules := make([]config.DialplanRule, 0, len(c.DIDs))
		for _, d := range c.DIDs {
			rules = append(rules, config.DialplanRule{Name: c.Name + " did", Match: d.Match, Target: d.Target})
		}
		dids, err := NewDialplan(rules, env)
		if err != nil {
			return nil, fmt.Errorf("trunks[%d].dids: %w", i, err)
		}
		t.dids = dids
		ts.list = append(ts.list, t)
		ts.byName[c.Name] = t
	}
	return ts, nil
}

// bySource finds the trunk whose inbound addresses contain addr.
func (ts *trunks) bySource(addr netip.Addr) *trunk {
	addr = addr.Unmap()
	for _, t := range ts.list {
		for _, p := range t.cidrs {
			if p.Contains(addr) {
				return t
			}
		}
	}
	return nil
}

// byUser finds the trunk that authenticates inbound calls with this user.
func (ts *trunks) byUser(user string) *trunk {
	for _, t := range ts.list {
		if t.cfg.InboundUser != "" && t.cfg.InboundUser == user {
			return t
		}
	}
	return nil
}

// destination is the carrier's host:port.
func (t *trunk) destination() string {
	h := t.cfg.Host
	if _, _, err := net.SplitHostPort(h); err == nil {
		return h
	}
	port := "5060"
	if strings.EqualFold(t.cfg.Transport, "tls") {
		port = "5061"
	}
	return net.JoinHostPort(h, port)
}

func (t *trunk) transport() string {
	if t.cfg.Transport == "" {
		return "UDP"
	}
	return strings.ToUpper(t.cfg.Transport)
}
