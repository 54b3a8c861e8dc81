package config

import (
	"strings"
	"testing"
)

// calls.max_legs and calls.max_setup: 0 (the default) leaves the limit to
// be derived by the engine; a number is taken as given; a negative one, or
// more calls being set up than legs, is refused with its line and field.
func TestCallsLimits(t *testing.T) {
	tests := []struct {
		name            string
		yaml            string
		legs, setup     int
		wantErrorPrefix string
	}{
		{"absent: derived", "", 0, 0, ""},
		{"explicit zeros: derived", "calls:\n  max_legs: 0\n  max_setup: 0\n", 0, 0, ""},
		{"both set", "calls:\n  max_legs: 2000\n  max_setup: 300\n", 2000, 300, ""},
		{"setup equal to legs", "calls:\n  max_legs: 100\n  max_setup: 100\n", 100, 100, ""},
		{"setup alone with derived legs", "calls:\n  max_setup: 50\n", 0, 50, ""},
		{"legs alone", "calls:\n  max_legs: 10\n", 10, 0, ""},
		{"negative legs", "calls:\n  max_legs: -1\n", 0, 0, "bad.yaml:2: calls.max_legs: want 0 (derived) or more, got -1"},
		{"negative setup", "calls:\n  max_setup: -5\n", 0, 0, "bad.yaml:2: calls.max_setup: want 0 (derived) or more, got -5"},
		{"setup above legs", "calls:\n  max_legs: 10\n  max_setup: 11\n", 0, 0, "bad.yaml:3: calls.max_setup: want at most max_legs (10), got 11"},
		{"not a number", "calls:\n  max_legs: lots\n", 0, 0, "bad.yaml:2: calls.max_legs: want a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("bad.yaml", []byte(tt.yaml))
			if tt.wantErrorPrefix != "" {
				if err == nil {
					t.Fatalf("accepted: %+v", c.Calls)
				}
				if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, tt.wantErrorPrefix) {
					t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, tt.wantErrorPrefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Calls.MaxLegs != tt.legs || c.Calls.MaxSetup != tt.setup {
				t.Fatalf("max_legs %d, max_setup %d; want %d, %d", c.Calls.MaxLegs, c.Calls.MaxSetup, tt.legs, tt.setup)
			}
		})
	}
}

// A Config changed in code is checked the same way.
func TestCallsLimitsValidateInCode(t *testing.T) {
	c, err := Parse("ok.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Calls.MaxLegs, c.Calls.MaxSetup = 4, 8
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "calls.max_setup: want at most max_legs (4), got 8") {
		t.Fatalf("Validate: %v", err)
	}
}
