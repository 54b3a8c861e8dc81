package dialog

import (
	"reflect"
	"strings"
	"testing"

	"pbx/config"
)

// testEnv is a target environment with trunks a, b and carrier.
func testEnv() TargetEnv {
	return TargetEnv{
		Trunks: map[string]bool{"a": true, "b": true, "carrier": true},
		Music:  map[string]bool{"default": true, "calm": true},
	}
}

func TestDialplanRoute(t *testing.T) {
	rules := []config.DialplanRule{
		{Name: "emergency", Match: config.Match{Exact: "112"}, Target: "trunks:a,b"},
		{Name: "out", Match: config.Match{Prefix: "9"}, Strip: 1, Prepend: "+33", Target: "trunk:carrier"},
		{Name: "ext", Match: config.Match{Regex: `1\d{3}`}, Target: "extension"},
		{Name: "alias", Match: config.Match{Exact: "0"}, Target: "extension:1001"},
		{Name: "app", Match: config.Match{Exact: "5000"}, Target: "test-app:x,y"},
		{Name: "park", Match: config.Match{Exact: "700"}, Target: "park:calm"},
	}
	withTarget(t, TargetKind{Name: "test-app", Parse: func(args []string, _ TargetEnv) (any, error) {
		return len(args), nil
	}})
	d, err := NewDialplan(rules, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		number string
		ok     bool
		rule   string
		kind   string
		args   []string
		out    string
		parsed any
	}{
		{"112", true, "emergency", "trunk", []string{"a", "b"}, "112", TrunkTarget{Trunks: []string{"a", "b"}}},
		{"90612345678", true, "out", "trunk", []string{"carrier"}, "+330612345678", TrunkTarget{Trunks: []string{"carrier"}}},
		{"1001", true, "ext", "extension", nil, "1001", ExtensionTarget{}},
		{"10011", false, "", "", nil, "", nil}, // regex is anchored
		{"0", true, "alias", "extension", []string{"1001"}, "0", ExtensionTarget{Extensions: []string{"1001"}}},
		{"5000", true, "app", "test-app", []string{"x", "y"}, "5000", 2},
		{"700", true, "park", "park", []string{"calm"}, "700", ParkTarget{Music: "calm"}},
		{"777", false, "", "", nil, "", nil},
		{"9", true, "out", "trunk", []string{"carrier"}, "+33", TrunkTarget{Trunks: []string{"carrier"}}},
	}
	for _, tt := range tests {
		r, ok := d.Route(tt.number)
		if ok != tt.ok {
			t.Fatalf("%s: ok=%v, want %v", tt.number, ok, tt.ok)
		}
		if !ok {
			continue
		}
		want := Route{Rule: tt.rule, Kind: tt.kind, Args: tt.args, Number: tt.out, Parsed: tt.parsed}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("%s: got %+v, want %+v", tt.number, r, want)
		}
	}
}

func TestDialplanBadRules(t *testing.T) {
	tests := []struct {
		rule config.DialplanRule
		want string
	}{
		{config.DialplanRule{Match: config.Match{Regex: "("}, Target: "extension"}, "dialplan[0]: regex"},
		{config.DialplanRule{Match: config.Match{Exact: "1"}, Target: ""}, "dialplan[0].target: \"\": no target kind"},
		{config.DialplanRule{Match: config.Match{Exact: "1"}, Target: "trunk:"}, "dialplan[0].target: \"trunk:\": empty argument"},
		{config.DialplanRule{Match: config.Match{Exact: "1"}, Target: "trunk:nope"}, "dialplan[0].target: \"trunk:nope\": no trunk named \"nope\""},
		{config.DialplanRule{Match: config.Match{Exact: "1"}, Target: "qeue:sales"}, "dialplan[0].target: unknown target kind \"qeue\": want one of "},
	}
	for _, tt := range tests {
		_, err := NewDialplan([]config.DialplanRule{tt.rule}, testEnv())
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("rule %+v: error %v, want it to start with %q", tt.rule, err, tt.want)
		}
	}
}

// FuzzDialplan checks that no pattern or number makes routing panic, and
// that a route, when found, comes from a rule whose matcher accepts the number.
func FuzzDialplan(f *testing.F) {
	f.Add("1\\d{3}", "1001", "9", 1, "+1")
	f.Add("(", "x", "", 0, "")
	f.Add(".*", "", "0", 5, "00")
	f.Fuzz(func(t *testing.T, re, number, prefix string, strip int, prepend string) {
		d, err := NewDialplan([]config.DialplanRule{
			{Match: config.Match{Regex: re}, Strip: strip, Prepend: prepend, Target: "extension"},
			{Match: config.Match{Prefix: prefix}, Strip: strip, Target: "trunk:a"},
		}, testEnv())
		if err != nil {
			return
		}
		r, ok := d.Route(number)
		if ok && r.Kind == "" {
			t.Fatalf("route without kind: %+v", r)
		}
	})
}

func BenchmarkDialplanRoute(b *testing.B) {
	d, err := NewDialplan([]config.DialplanRule{
		{Match: config.Match{Exact: "112"}, Target: "trunk:a"},
		{Match: config.Match{Prefix: "9"}, Strip: 1, Target: "trunk:a"},
		{Match: config.Match{Regex: `1\d{3}`}, Target: "extension"},
	}, testEnv())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := d.Route("1001"); !ok {
			b.Fatal("no route")
		}
	}
}
