package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A valid token, to which test cases add fields or from which they break them.
const rwiTokenYAML = "rwi:\n  tokens:\n    - name: crm\n      token: crm-secret-0123\n"

// Every problem of the rwi section names the file, the line and the field.
func TestRWIErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"name absent", "rwi:\n  tokens:\n    - token: crm-secret-0123\n", "bad.yaml:3: rwi.tokens[0].name: required"},
		{"name with space", "rwi:\n  tokens:\n    - name: a b\n      token: crm-secret-0123\n", "bad.yaml:3: rwi.tokens[0].name: want letters"},
		{"name twice", rwiTokenYAML + "    - name: crm\n      token: other-secret-01\n", "bad.yaml:5: rwi.tokens[1].name: duplicate token name crm"},
		{"token absent", "rwi:\n  tokens:\n    - name: crm\n", "bad.yaml:3: rwi.tokens[0].token: required"},
		{"token short", "rwi:\n  tokens:\n    - name: crm\n      token: short-12345\n", "bad.yaml:4: rwi.tokens[0].token: want at least 12 characters, got 11"},
		{"token with space", "rwi:\n  tokens:\n    - name: crm\n      token: \"crm secret 0123\"\n", "bad.yaml:4: rwi.tokens[0].token: want visible ASCII characters without spaces"},
		{"token not ascii", "rwi:\n  tokens:\n    - name: crm\n      token: \"crm-sécret-0123\"\n", "bad.yaml:4: rwi.tokens[0].token: want visible ASCII"},
		{"token twice", rwiTokenYAML + "    - name: erp\n      token: crm-secret-0123\n", "bad.yaml:6: rwi.tokens[1].token: the same secret as another token"},
		{"unknown scope", rwiTokenYAML + "      scopes: [call.control, god.mode]\n", "bad.yaml:5: rwi.tokens[0].scopes[1]: unknown scope \"god.mode\""},
		{"scope twice", rwiTokenYAML + "      scopes:\n        - record.control\n        - record.control\n", "bad.yaml:7: rwi.tokens[0].scopes[1]: record.control listed twice"},
		{"bad cidr", rwiTokenYAML + "      cidrs: [10.0.0.0/33]\n", "bad.yaml:5: rwi.tokens[0].cidrs[0]: want an address or a CIDR"},
		{"cidr a name", rwiTokenYAML + "      cidrs: [localhost]\n", "bad.yaml:5: rwi.tokens[0].cidrs[0]: want an address or a CIDR such as 10.0.0.0/8, got \"localhost\""},
		{"negative connections", rwiTokenYAML + "      max_connections: -1\n", "bad.yaml:5: rwi.tokens[0].max_connections: want at least 1, got -1"},
		{"tokens not a list", "rwi:\n  tokens: secret\n", "bad.yaml:2: rwi.tokens: want a list"},
		{"unknown token key", rwiTokenYAML + "      secret: x\n", "bad.yaml:5: rwi.tokens[0].secret: unknown key"},
		{"negative max legs", "rwi:\n  max_legs: -5\n", "bad.yaml:2: rwi.max_legs: want at least 1, got -5"},
		{"negative rate", "rwi:\n  originate_rate: -1\n", "bad.yaml:2: rwi.originate_rate: want a number of calls per second more than 0, got -1"},
		{"rate not a number", "rwi:\n  originate_rate: fast\n", "bad.yaml:2: rwi.originate_rate: want a number, got \"fast\""},
		{"rate not a number (nan)", "rwi:\n  originate_rate: .nan\n", "bad.yaml:2: rwi.originate_rate: want a number of calls per second more than 0, got NaN"},
		{"rate infinite", "rwi:\n  originate_rate: .inf\n", "bad.yaml:2: rwi.originate_rate: want a number of calls per second more than 0, got +Inf"},
		{"negative orphan hold", "rwi:\n  orphan_hold: -1s\n", "bad.yaml:2: rwi.orphan_hold: must not be negative"},
		{"negative offer timeout", "rwi:\n  offer_timeout: -2s\n", "bad.yaml:2: rwi.offer_timeout: must be more than 0"},
		{"offer timeout without unit", "rwi:\n  offer_timeout: 10\n", "bad.yaml:2: rwi.offer_timeout: want a duration with a unit"},
		{"fallback bad kind", "rwi:\n  fallback: \"Music Default\"\n", "bad.yaml:2: rwi.fallback: \"Music Default\": want kind or kind:arguments"},
		{"fallback empty argument", "rwi:\n  fallback: \"music:\"\n", "bad.yaml:2: rwi.fallback: \"music:\": empty or padded argument"},
		{"negative max frame", "rwi:\n  max_frame: -1\n", "bad.yaml:2: rwi.max_frame: want at least 1 byte, got -1"},
		{"unknown key", "rwi:\n  max_leg: 3\n", "bad.yaml:2: rwi.max_leg: unknown key (did you mean max_legs?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", c.RWI)
			}
			if first, _, _ := strings.Cut(err.Error(), "\n"); !strings.HasPrefix(first, tt.want) {
				t.Fatalf("error:\n%v\nwant it to start with:\n%s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "bad.yaml" {
				t.Fatalf("error %v is not a *Error naming the file", err)
			}
		})
	}
}

// A secret is never quoted in an error: the file may hold a real one.
func TestRWIErrorsDoNotShowTheSecret(t *testing.T) {
	for _, y := range []string{
		"rwi:\n  tokens:\n    - name: a\n      token: short\n",
		"rwi:\n  tokens:\n    - name: a\n      token: \"has a space in it\"\n",
		"rwi:\n  tokens:\n    - name: a\n      token: the-same-secret\n    - name: b\n      token: the-same-secret\n",
	} {
		_, err := Parse("bad.yaml", []byte(y))
		if err == nil {
			t.Fatalf("accepted %q", y)
		}
		for _, secret := range []string{"short", "has a space", "the-same-secret"} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret %q: %v", secret, err)
			}
		}
	}
}

// What a token and the section take when the file leaves them out, and an
// explicit value kept as written.
func TestRWIDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want RWI
	}{
		{"absent", "", RWI{MaxLegs: 200, OriginateRate: 10, OrphanHold: 30 * time.Second, OfferTimeout: 10 * time.Second, MaxFrame: 65536}},
		{"token with nothing but name and secret", rwiTokenYAML, RWI{
			Tokens:  []RWIToken{{Name: "crm", Token: "crm-secret-0123", CIDRs: []string{"127.0.0.0/8", "::1/128"}, MaxConnections: 10}},
			MaxLegs: 200, OriginateRate: 10, OrphanHold: 30 * time.Second, OfferTimeout: 10 * time.Second, MaxFrame: 65536,
		}},
		{"empty cidrs mean loopback", rwiTokenYAML + "      cidrs: []\n", RWI{
			Tokens:  []RWIToken{{Name: "crm", Token: "crm-secret-0123", CIDRs: []string{"127.0.0.0/8", "::1/128"}, MaxConnections: 10}},
			MaxLegs: 200, OriginateRate: 10, OrphanHold: 30 * time.Second, OfferTimeout: 10 * time.Second, MaxFrame: 65536,
		}},
		{"everything given", rwiTokenYAML + "      scopes: [call.control, media.stream]\n      cidrs: [10.0.0.0/8, 192.0.2.7, \"2001:db8::/32\"]\n      max_connections: 3\n" +
			"  max_legs: 5\n  originate_rate: 0.5\n  orphan_hold: 2s\n  offer_timeout: 1500ms\n  fallback: music:calm\n  max_frame: 4096\n", RWI{
			Tokens: []RWIToken{{Name: "crm", Token: "crm-secret-0123", Scopes: []string{"call.control", "media.stream"},
				CIDRs: []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"}, MaxConnections: 3}},
			MaxLegs: 5, OriginateRate: 0.5, OrphanHold: 2 * time.Second, OfferTimeout: 1500 * time.Millisecond, Fallback: "music:calm", MaxFrame: 4096,
		}},
		{"orphan hold 0 is kept", "rwi:\n  orphan_hold: 0\n", RWI{MaxLegs: 200, OriginateRate: 10, OfferTimeout: 10 * time.Second, MaxFrame: 65536}},
		{"zeros take the defaults", "rwi:\n  max_legs: 0\n  originate_rate: 0\n  offer_timeout: 0\n  max_frame: 0\n",
			RWI{MaxLegs: 200, OriginateRate: 10, OrphanHold: 30 * time.Second, OfferTimeout: 10 * time.Second, MaxFrame: 65536}},
		{"fallback without argument", "rwi:\n  fallback: park\n", RWI{MaxLegs: 200, OriginateRate: 10, OrphanHold: 30 * time.Second, OfferTimeout: 10 * time.Second, Fallback: "park", MaxFrame: 65536}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("ok.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.RWI, tt.want) {
				t.Fatalf("rwi:\n got %+v\nwant %+v", c.RWI, tt.want)
			}
		})
	}
}

// The embedded pbx.yaml holds one demo token with every scope, from loopback only.
func TestRWIDefaultFileHasTheDemoToken(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	want := []RWIToken{{Name: "demo", Token: "rwi-demo-token",
		Scopes: []string{"call.control", "record.control", "supervisor.control", "queue.control", "media.stream"},
		CIDRs:  []string{"127.0.0.0/8", "::1/128"}, MaxConnections: 10}}
	if !reflect.DeepEqual(c.RWI.Tokens, want) {
		t.Fatalf("tokens %+v", c.RWI.Tokens)
	}
	if len(want[0].Scopes) != len(rwiScopes) {
		t.Fatalf("the demo token has %d scopes of %d", len(want[0].Scopes), len(rwiScopes))
	}
}

// A Config changed in code is checked the same way, without lines.
func TestRWIValidateInCode(t *testing.T) {
	c, err := Parse("ok.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.RWI.Tokens = []RWIToken{{Name: "x", Token: "0123456789ab", MaxConnections: 0}}
	c.RWI.OriginateRate = 0
	err = c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"ok.yaml: rwi.tokens[0].max_connections: want at least 1, got 0", "ok.yaml: rwi.originate_rate: want a number of calls per second more than 0, got 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v\nwant it to contain %q", err, want)
		}
	}
}
