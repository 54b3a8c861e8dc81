package dialog

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pbx/config"
	"pbx/prompts"
	"pbx/sounds"
)

// withTarget registers a kind for one test and forgets it afterwards.
func withTarget(t *testing.T, k TargetKind) {
	t.Helper()
	RegisterTarget(k)
	t.Cleanup(func() {
		targets.mu.Lock()
		defer targets.mu.Unlock()
		for _, n := range append([]string{k.Name}, k.Aliases...) {
			delete(targets.byName, n)
		}
		if i, ok := slices.BinarySearch(targets.names, k.Name); ok {
			targets.names = slices.Delete(targets.names, i, i+1)
		}
	})
}

// mustPanic runs f and returns what it panicked with.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		msg, _ = r.(string)
	}()
	f()
	return ""
}

// The kinds dialog serves itself, as check-config lists them.
var builtinKinds = []string{"conference", "echo", "extension", "music", "park", "play", "trunk", "uri"}

func TestTargetKindsListsBuiltinsSorted(t *testing.T) {
	if got := TargetKinds(); !reflect.DeepEqual(got, builtinKinds) {
		t.Fatalf("TargetKinds() = %v, want %v", got, builtinKinds)
	}
	withTarget(t, TargetKind{Name: "aaa-test"})
	withTarget(t, TargetKind{Name: "zzz-test", Aliases: []string{"zz"}})
	got := TargetKinds()
	want := append(append([]string{"aaa-test"}, builtinKinds...), "zzz-test")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("with two more: %v, want %v (aliases are not listed)", got, want)
	}
	got[0] = "changed"
	if TargetKinds()[0] != "aaa-test" {
		t.Fatal("TargetKinds returned the registry's own slice")
	}
}

func TestLookupTarget(t *testing.T) {
	tests := []struct {
		name, want string
		dials, ok  bool
	}{
		{"extension", "extension", true, true},
		{"trunk", "trunk", true, true},
		{"trunks", "trunk", true, true}, // an alias finds the kind by its name
		{"echo", "echo", false, true},
		{"park", "park", false, true},
		{"queue", "", false, false}, // until the queue package registers it
		{"Trunk", "", false, false},
		{"", "", false, false},
	}
	for _, tt := range tests {
		k, ok := LookupTarget(tt.name)
		if ok != tt.ok || k.Name != tt.want || k.Dials != tt.dials {
			t.Errorf("LookupTarget(%q) = %q dials=%v ok=%v, want %q dials=%v ok=%v", tt.name, k.Name, k.Dials, ok, tt.want, tt.dials, tt.ok)
		}
	}
}

func TestRegisterTargetRefusesDuplicatesAndBadNames(t *testing.T) {
	withTarget(t, TargetKind{Name: "test-kind", Aliases: []string{"test-kinds"}})
	tests := []struct {
		name string
		k    TargetKind
		want string
	}{
		{"name taken", TargetKind{Name: "extension"}, `target kind "extension" registered twice`},
		{"name taken by an alias", TargetKind{Name: "trunks"}, `target kind "trunks" registered twice`},
		{"alias taken", TargetKind{Name: "fresh", Aliases: []string{"test-kind"}}, `target kind "test-kind" registered twice`},
		{"empty name", TargetKind{}, `bad target kind name ""`},
		{"upper case", TargetKind{Name: "Queue"}, `bad target kind name "Queue"`},
		{"colon", TargetKind{Name: "a:b"}, `bad target kind name "a:b"`},
		{"bad alias", TargetKind{Name: "fresh", Aliases: []string{"x y"}}, `bad target kind name "x y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := mustPanic(t, func() { RegisterTarget(tt.k) })
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("panic %q, want it to contain %q", msg, tt.want)
			}
		})
	}
	// A refused registration leaves nothing behind.
	if _, ok := LookupTarget("fresh"); ok {
		t.Fatal("a refused kind was registered")
	}
}

// Every built-in kind, with arguments it takes and arguments it refuses.
func TestParseBuiltinTargets(t *testing.T) {
	dir := t.TempDir()
	beep, err := sounds.Open(sounds.Beep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.wav"), beep, 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	withOwnPrompts := env
	withOwnPrompts.Prompts = prompts.New(dir)

	tests := []struct {
		target string
		env    *TargetEnv // nil: testEnv()
		kind   string
		parsed any
		err    string // the start of the error; "" for none
	}{
		{target: "extension", kind: "extension", parsed: ExtensionTarget{}},
		{target: "extension:1001", kind: "extension", parsed: ExtensionTarget{Extensions: []string{"1001"}}},
		{target: " extension: 1001 ", kind: "extension", parsed: ExtensionTarget{Extensions: []string{"1001"}}},
		{target: "extension :1001", err: `unknown target kind "extension "`},
		{target: "extension:bob", err: `"extension:bob": want 1 to 15 digits after extension:, got "bob"`},
		{target: "extension:1234567890123456", err: `"extension:1234567890123456": want 1 to 15 digits`},
		{target: "extension:1001,1002", kind: "extension", parsed: ExtensionTarget{Extensions: []string{"1001", "1002"}}},
		{target: "extension:1001,1001", err: `"extension:1001,1001": extension 1001 listed twice`},

		{target: "trunk:carrier", kind: "trunk", parsed: TrunkTarget{Trunks: []string{"carrier"}}},
		{target: "trunks:a,b", kind: "trunk", parsed: TrunkTarget{Trunks: []string{"a", "b"}}},
		{target: "trunk:b, a", kind: "trunk", parsed: TrunkTarget{Trunks: []string{"b", "a"}}},
		{target: "trunk", err: `"trunk": want trunk:NAME, or trunks:A,B to fail over`},
		{target: "trunks", err: `"trunks": want trunk:NAME`},
		{target: "trunk:nope", err: `"trunk:nope": no trunk named "nope"`},
		{target: "trunks:a,nope", err: `"trunks:a,nope": no trunk named "nope"`},
		{target: "trunks:a,,b", err: `"trunks:a,,b": empty argument`},
		{target: "trunks:a,a", err: `"trunks:a,a": trunk "a" listed twice`},
		{target: "trunk:", err: `"trunk:": empty argument`},
		{target: "trunk:carrier", env: &TargetEnv{}, err: `"trunk:carrier": no trunk named "carrier"`},

		{target: "echo", kind: "echo"},
		{target: "echo:x", err: `"echo:x": echo takes no arguments`},

		{target: "play:welcome", kind: "play", parsed: PlayTarget{Prompts: []string{"welcome"}}},
		{target: "play:welcome,digits/3,goodbye", kind: "play", parsed: PlayTarget{Prompts: []string{"welcome", "digits/3", "goodbye"}}},
		{target: "play:mine,welcome", env: &withOwnPrompts, kind: "play", parsed: PlayTarget{Prompts: []string{"mine", "welcome"}}},
		{target: "play:mine", err: `"play:mine": no prompt "mine"`}, // built-in prompts only
		{target: "play", err: `"play": want play:NAME`},
		{target: "play:welcom", err: `"play:welcom": no prompt "welcom"`},
		{target: "play:../etc/passwd", err: `"play:../etc/passwd": bad prompt name "../etc/passwd"`},
		{target: "play:/welcome", err: `"play:/welcome": bad prompt name`},

		{target: "conference", kind: "conference", parsed: ConferenceTarget{}},
		{target: "conference:8001", kind: "conference", parsed: ConferenceTarget{Room: "8001"}},
		{target: "conference:room-1", kind: "conference", parsed: ConferenceTarget{Room: "room-1"}},
		{target: "conference:a b", err: `"conference:a b": room "a b": want up to 64 letters`},
		{target: "conference:1,2", err: `"conference:1,2": want at most one room, got 2`},

		{target: "music", kind: "music", parsed: MusicTarget{}},
		{target: "music:calm", kind: "music", parsed: MusicTarget{Class: "calm"}},
		{target: "music:jazz", err: `"music:jazz": no hold-music class "jazz"`},
		{target: "music:calm,default", err: `"music:calm,default": want at most one hold-music class, got 2`},

		{target: "park", kind: "park", parsed: ParkTarget{}},
		{target: "park:default", kind: "park", parsed: ParkTarget{Music: "default"}},
		{target: "park:jazz", err: `"park:jazz": no hold-music class "jazz"`},
		{target: "park:a,b", err: `"park:a,b": want at most one hold-music class, got 2`},

		{target: "uri:sip:bot@10.0.0.5:5080", kind: "uri", parsed: URITarget{URI: "sip:bot@10.0.0.5:5080"}},
		{target: "uri:sip:10.0.0.5", kind: "uri", parsed: URITarget{URI: "sip:10.0.0.5"}},
		{target: "uri:sips:pbx@example.com;transport=tls", kind: "uri", parsed: URITarget{URI: "sips:pbx@example.com;transport=tls"}},
		{target: "uri", err: `"uri": want uri:sip:user@host[:port], got ""`},
		{target: "uri:http://x", err: `"uri:http://x": want uri:sip:user@host[:port]`},
		{target: "uri:sip:", err: `"uri:sip:": want uri:sip:user@host[:port]`},

		{target: "qeue:sales", err: `unknown target kind "qeue": want one of conference, echo, extension, music, park, play, trunk, uri`},
		{target: "queue:sales", err: `unknown target kind "queue"`},
		{target: "", err: `"": no target kind: want one of conference, echo`},
		{target: ":1001", err: `":1001": no target kind`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			env := testEnv()
			if tt.env != nil {
				env = *tt.env
			}
			r, err := ParseTarget(tt.target, env)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want it to start with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != tt.kind || !reflect.DeepEqual(r.Parsed, tt.parsed) || r.Rule != "" || r.Number != "" {
				t.Fatalf("got %+v, want kind %q parsed %#v", r, tt.kind, tt.parsed)
			}
		})
	}
}

// A registered kind's Parse gets the split arguments and the environment;
// its error is quoted with the target; its result is the route's Parsed.
func TestParseTargetUsesTheRegistry(t *testing.T) {
	var gotArgs []string
	var gotEnv TargetEnv
	withTarget(t, TargetKind{Name: "test-queue", Aliases: []string{"test-q"}, Parse: func(args []string, env TargetEnv) (any, error) {
		gotArgs, gotEnv = args, env
		if len(args) != 1 {
			return nil, errors.New("want one queue")
		}
		return "queue " + args[0], nil
	}})
	env := testEnv()
	r, err := ParseTarget("test-q:sales", env)
	if err != nil {
		t.Fatal(err)
	}
	want := Route{Kind: "test-queue", Args: []string{"sales"}, Parsed: "queue sales"}
	if !reflect.DeepEqual(r, want) || !reflect.DeepEqual(gotArgs, []string{"sales"}) || !gotEnv.Trunks["carrier"] {
		t.Fatalf("got %+v (args %v), want %+v", r, gotArgs, want)
	}
	if _, err := ParseTarget("test-queue:a,b", env); err == nil || err.Error() != `"test-queue:a,b": want one queue` {
		t.Fatalf("error %v", err)
	}
}

func TestNewTargetEnv(t *testing.T) {
	cfg := &config.Config{
		Trunks: []config.Trunk{{Name: "carrier"}, {Name: "backup"}},
		Sounds: config.Sounds{Music: map[string]string{"jazz": "/srv/jazz"}},
	}
	env := NewTargetEnv(cfg)
	if env.Config != cfg || !env.Trunks["carrier"] || !env.Trunks["backup"] || len(env.Trunks) != 2 {
		t.Errorf("trunks: %v", env.Trunks)
	}
	for _, class := range []string{"default", "calm", "jazz"} {
		if !env.Music[class] {
			t.Errorf("no music class %q in %v", class, env.Music)
		}
	}
	if env.Prompts == nil {
		t.Error("no prompt library")
	}
}

// A file with known line numbers: every bad target is reported with its
// line and field, in line order, joined as config joins its own errors.
func TestCheckDialplanNamesFileLineField(t *testing.T) {
	y := "trunks:\n" + // 1
		"  - name: carrier\n" + // 2
		"    host: sip.example.net\n" + // 3
		"    dids:\n" + // 4
		"      - exact: \"3215551001\"\n" + // 5
		"        target: extension:1001\n" + // 6
		"      - prefix: \"32155510\"\n" + // 7
		"        target: trunk:nope\n" + // 8
		"dialplan:\n" + // 9
		"  - regex: \"1[0-9]{3}\"\n" + // 10
		"    target: extension\n" + // 11
		"  - exact: \"*43\"\n" + // 12
		"    target: echo\n" + // 13
		"  - prefix: \"9\"\n" + // 14
		"    strip: 1\n" + // 15
		"    target: trunks:carrier\n" + // 16
		"  - exact: \"5000\"\n" + // 17
		"    target: qeue:sales\n" + // 18
		"  - exact: \"5001\"\n" + // 19
		"    target: extension:bob\n" // 20
	cfg, err := config.Parse("pbx.yaml", []byte(y))
	if err != nil {
		t.Fatal(err) // config checks syntax only: all of this is well formed
	}
	err = CheckDialplan(cfg)
	if err == nil {
		t.Fatal("accepted")
	}
	want := strings.Join([]string{
		`pbx.yaml:8: trunks[0].dids[1].target: "trunk:nope": no trunk named "nope"`,
		`pbx.yaml:18: dialplan[3].target: unknown target kind "qeue": want one of conference, echo, extension, music, park, play, trunk, uri`,
		`pbx.yaml:20: dialplan[4].target: "extension:bob": want 1 to 15 digits after extension:, got "bob"`,
	}, "\n")
	if err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
	var ce *config.Error
	if !errors.As(err, &ce) || ce.File != "pbx.yaml" || ce.Line != 8 || ce.Field != "trunks[0].dids[1].target" {
		t.Fatalf("not a *config.Error naming file, line and field: %#v", ce)
	}
}

func TestCheckDialplanAcceptsTheDefaultConfig(t *testing.T) {
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	// Rules of kinds a higher package serves (rwi) are checked where that
	// package is registered: cmd/pbx's check-config test.
	cfg.Dialplan = slices.DeleteFunc(cfg.Dialplan, func(r config.DialplanRule) bool {
		_, ok := LookupTarget(strings.SplitN(r.Target, ":", 2)[0])
		return !ok
	})
	cfg.Endpoints = nil // their fallbacks name the contact center's queue
	if err := CheckDialplan(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDialplan(cfg.Dialplan, NewTargetEnv(cfg)); err != nil {
		t.Fatal(err)
	}
}

// A kind a package registers is known to CheckDialplan, aliases included.
func TestCheckDialplanKnowsRegisteredKinds(t *testing.T) {
	cfg, err := config.Parse("q.yaml", []byte("dialplan:\n  - exact: \"5000\"\n    target: test-q:sales\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDialplan(cfg); err == nil || !strings.HasPrefix(err.Error(), `q.yaml:3: dialplan[0].target: unknown target kind "test-q"`) {
		t.Fatalf("before registration: %v", err)
	}
	withTarget(t, TargetKind{Name: "test-queue", Aliases: []string{"test-q"}, Parse: func([]string, TargetEnv) (any, error) { return nil, nil }})
	if err := CheckDialplan(cfg); err != nil {
		t.Fatalf("after registration: %v", err)
	}
}

// FuzzParseTarget: a target from a file or a program never panics, and a
// target accepted is a registered kind by its canonical name.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"extension:1001", "trunks:a,b", "play:welcome,digits/3", "park:calm", "qeue:x", ":", "play:../x", "trunk:a,,b", "conference:8001"} {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, target string) {
		r, err := ParseTarget(target, env)
		if err != nil {
			return
		}
		k, ok := LookupTarget(r.Kind)
		if !ok || k.Name != r.Kind {
			t.Fatalf("%q: route kind %q is not a registered name", target, r.Kind)
		}
	})
}
