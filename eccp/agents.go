package eccp

import (
	"crypto/subtle"
	"regexp"
	"strings"

	"pbx/clients"
	"pbx/config"
)

// agentRef is a configured agent as ECCP names it.
type agentRef struct {
	Name   string // Agent/9001 or SIP/1003
	ID     string // the contact center's id
	Static bool   // logs in on a line with a PIN
	cfg    config.Agent
}

func newAgentRef(a config.Agent) *agentRef {
	r := &agentRef{ID: a.ID, Static: a.PIN != "", cfg: a}
	if r.Static {
		r.Name = "Agent/" + a.ID
	} else {
		r.Name = "SIP/" + a.ID
	}
	return r
}

// agentNumber is dialerd's check of an agent number: TYPE/NUMBER.
var agentNumber = regexp.MustCompile(`^(\w+)/(\w+)$`)

// agentByName resolves an agent number; code is 0, or 417 (not an agent
// number) or 404 (no such agent) with dialerd's message.
func (s *Server) agentByName(name string) (*agentRef, int, string) {
	if !agentNumber.MatchString(name) {
		return nil, 417, "Invalid agent number"
	}
	a := s.byName[name]
	if a == nil {
		return nil, 404, "Specified agent not found"
	}
	return a, 0, ""
}

// nameOf is the ECCP name of an agent id ("9001" → "Agent/9001"); an
// unknown id is named as a static agent.
func (s *Server) nameOf(id string) string {
	if a := s.refOf(id); a != nil {
		return a.Name
	}
	if id == "" || strings.Contains(id, "/") {
		return id
	}
	return "Agent/" + id
}

// refOf is the agent of an id, nil if none.
func (s *Server) refOf(id string) *agentRef {
	for _, a := range s.agents {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// hashOK checks agent_hash = md5(cookie + agent number + eccp_password).
// An agent with no eccp_password cannot be steered over ECCP (dialerd
// accepts any hash then; a PBX reachable by consoles should not).
func (a *agentRef) hashOK(cookie, hash string) bool {
	if a.cfg.ECCPPassword == "" || cookie == "" {
		return false
	}
	want := clients.MD5Hex(cookie + a.Name + a.cfg.ECCPPassword)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(hash))) == 1
}
