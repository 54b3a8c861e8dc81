package rwi

import (
	"testing"
	"time"

	"pbx/config"
	"pbx/dialog"
)

// The originate bucket holds rate tokens, refills at rate per second, and
// never holds more than its burst.
func TestAllowOriginate(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	srv := &Server{cfg: config.RWI{OriginateRate: 2}}
	ss := &session{srv: srv, bucket: 2, refilled: t0}
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, false}, // the burst of 2, then none
		{400 * time.Millisecond, false},                                               // 0.8 of a token
		{500 * time.Millisecond, true},                                                // 1.0
		{10 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, false}, // capped at 2
	}
	for i, s := range steps {
		if got := ss.allowOriginate(t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d at %v: %v, want %v", i, s.at, got, s.want)
		}
	}
}

func TestHangupBy(t *testing.T) {
	tests := []struct {
		by, dir, want string
	}{
		{"remote", string(dialog.Inbound), "caller"},
		{"remote", string(dialog.Outbound), "callee"},
		{"local", string(dialog.Inbound), "system"},
		{"system", string(dialog.Outbound), "system"},
	}
	for _, tt := range tests {
		if got := hangupBy(dialog.Event{By: tt.by, Direction: tt.dir}); got != tt.want {
			t.Errorf("by %s, %s: %s, want %s", tt.by, tt.dir, got, tt.want)
		}
	}
}

// Every action a token can be refused is in a known scope, and the
// session actions need none.
func TestActionScopes(t *testing.T) {
	known := map[string]bool{"": true}
	for _, s := range Scopes {
		known[s] = true
	}
	for _, name := range actionNames() {
		a := actions[name]
		if !known[a.scope] {
			t.Errorf("%s: unknown scope %q", name, a.scope)
		}
		if (a.scope == "") != (len(name) > 8 && name[:8] == "session.") {
			t.Errorf("%s: scope %q", name, a.scope)
		}
	}
	if len(actions) != 60 { // the 41, session.list_actions, the 14 of the contact center and the 4 of its campaigns
		t.Errorf("%d actions", len(actions))
	}
}
