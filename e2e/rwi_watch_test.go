package e2e

import (
	"testing"
	"time"

	"pbx/config"
	"pbx/internal/testkit"
)

// session.attach_call in watch mode: a supervisor's session hears the
// events of another session's call without taking it; a token without
// supervisor.control may not watch; detach stops the watching.
func TestRWIWatch(t *testing.T) {
	const plain = "rwi-e2e-plain-token"
	p := rwiPBX(t, func(c *config.Config) {
		c.RWI.Tokens = append(c.RWI.Tokens, config.RWIToken{Name: "plain", Token: plain, Scopes: []string{"call.control"}})
	})
	alice := phone(t, p, "1001")
	owner := rwiClient(t, p)
	a := rwiOriginate(t, owner, "leg_a", "1001", alice, toneA)
	leg := owner.MustDo("session.list_calls", nil)["calls"].([]any)[0].(map[string]any)["leg_id"].(string)

	other := testkit.DialRWI(t, p.HTTPAddr(), plain)
	if r := other.Do("session.attach_call", map[string]any{"call_id": leg, "mode": "listen"}); r.OK || r.Code != "forbidden" {
		t.Fatalf("watch without the scope: %+v, want forbidden", r)
	}
	if r := other.Do("session.attach_call", map[string]any{"call_id": leg}); r.OK || r.Code != "already_owned" {
		t.Fatalf("claim of another's call: %+v, want already_owned", r)
	}

	sup := rwiClient(t, p)
	if d := sup.MustDo("session.attach_call", map[string]any{"call_id": leg, "mode": "listen"}); d["mode"] != "watch" {
		t.Fatalf("attach to watch: %v", d)
	}
	if r := sup.Do("session.attach_call", map[string]any{"call_id": leg, "mode": "spy"}); r.OK || r.Code != "invalid_params" {
		t.Fatalf("unknown mode: %+v, want invalid_params", r)
	}
	owner.MustDo("call.hold", map[string]any{"call_id": "leg_a"})
	expectEvent(t, owner, "media.hold.started", "leg_a")
	expectEvent(t, sup, "media.hold.started", leg)
	// Watching is not owning: the call stays the owner's.
	if calls := sup.MustDo("session.list_calls", nil)["calls"].([]any); len(calls) != 0 {
		t.Fatalf("the watcher lists %v", calls)
	}
	sup.MustDo("session.detach_call", map[string]any{"call_id": leg})
	if calls := owner.MustDo("session.list_calls", nil)["calls"].([]any); len(calls) != 1 {
		t.Fatalf("after the watcher's detach the owner lists %v", calls)
	}
	owner.MustDo("call.hangup", map[string]any{"call_id": "leg_a"})
	if err := a.WaitEnded(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	checkSeq(t, sup)
}
