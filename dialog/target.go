package dialog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"pbx/config"
	"pbx/prompts"
	"pbx/sounds"
)

// TargetKind is one kind of dial-plan target: "extension", "trunk",
// "echo", or a kind a package above dialog registers ("queue", "agent",
// "rwi", ...). dialog knows a kind only through this record, so it
// switches on nothing that belongs to a higher floor, and check-config
// knows every kind that the binary serves.
type TargetKind struct {
	// Name is what a target is written with: "name" or "name:arguments".
	// Lower-case letters, digits, '-' and '_', starting with a letter.
	Name string
	// Aliases are other spellings of Name ("trunks" for "trunk"). A route
	// always carries Name.
	Aliases []string
	// Parse checks a target's arguments when the configuration is loaded
	// (and when a program names a target), and returns what Handle gets as
	// Route.Parsed. Its error says what is wrong with the arguments; the
	// caller adds the target and the place. nil means the kind takes no
	// arguments.
	Parse func(args []string, env TargetEnv) (any, error)
	// Handle takes a new leg routed to this target, on the leg's own
	// goroutine. nil while nobody serves the kind yet.
	Handle TargetHandler
	// Dials is true for a kind that places a call somewhere (extension,
	// trunk), which a transfer or an originate may name; false for an
	// application that takes the call itself (echo, conference, queue).
	Dials bool
}

// TargetHandler takes a leg that the dial plan sent to a target; r is the
// route, with r.Parsed as the kind's Parse returned it.
type TargetHandler func(ctx context.Context, e *Engine, l *Leg, r Route)

// TargetEnv is what a kind's Parse may check arguments against: the
// configured trunks, hold-music classes and prompts. NewTargetEnv builds it
// from a configuration.
type TargetEnv struct {
	// Config is the whole configuration, for kinds whose arguments name
	// something in a section of their own (a queue); nil when the
	// environment was built by hand.
	Config *config.Config
	// Trunks holds the names of the configured trunks.
	Trunks map[string]bool
	// Music holds the hold-music classes: built in and configured.
	Music map[string]bool
	// Prompts finds prompts by name; nil means the built-in prompts only.
	Prompts *prompts.Library
}

// NewTargetEnv gathers from cfg what targets are checked against.
func NewTargetEnv(cfg *config.Config) TargetEnv {
	env := TargetEnv{
		Config:  cfg,
		Trunks:  make(map[string]bool, len(cfg.Trunks)),
		Music:   builtinMusicClasses(),
		Prompts: prompts.New(cfg.Sounds.Prompts),
	}
	for _, t := range cfg.Trunks {
		env.Trunks[t.Name] = true
	}
	for name := range cfg.Sounds.Music {
		env.Music[name] = true
	}
	return env
}

// builtinMusicClasses are the hold-music classes shipped in sounds.
func builtinMusicClasses() map[string]bool {
	m := map[string]bool{}
	for _, n := range sounds.Names() {
		if class, ok := strings.CutPrefix(n, sounds.MusicPrefix); ok {
			m[class] = true
		}
	}
	return m
}

// prompt reports whether a prompt can be played.
func (env TargetEnv) prompt(name string) error {
	lib := env.Prompts
	if lib == nil {
		lib = prompts.New("")
	}
	_, err := lib.Load(name)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, prompts.ErrBadName):
		return fmt.Errorf("bad prompt name %q: want letters, digits, '-', '_', '.' and '/'", name)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no prompt %q", name)
	}
	return err
}

// The registry: kinds by name and by alias, filled at init and read by
// every dial plan built afterwards.
var targets struct {
	mu     sync.RWMutex
	byName map[string]*TargetKind // names and aliases
	names  []string               // canonical names, sorted
}

var targetNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// RegisterTarget makes a target kind known. Packages call it from init,
// as database/sql drivers register themselves. A name or alias taken
// twice, or one config could not parse, is a programming error: it panics.
func RegisterTarget(k TargetKind) {
	targets.mu.Lock()
	defer targets.mu.Unlock()
	if targets.byName == nil {
		targets.byName = map[string]*TargetKind{}
	}
	k.Aliases = slices.Clone(k.Aliases)
	for _, n := range append([]string{k.Name}, k.Aliases...) {
		if !targetNameRe.MatchString(n) {
			panic(fmt.Sprintf("dialog: RegisterTarget: bad target kind name %q", n))
		}
		if _, dup := targets.byName[n]; dup {
			panic(fmt.Sprintf("dialog: RegisterTarget: target kind %q registered twice", n))
		}
	}
	p := &k
	targets.byName[k.Name] = p
	for _, a := range k.Aliases {
		targets.byName[a] = p
	}
	i, _ := slices.BinarySearch(targets.names, k.Name)
	targets.names = slices.Insert(targets.names, i, k.Name)
}

// LookupTarget finds a kind by its name or one of its aliases.
func LookupTarget(name string) (TargetKind, bool) {
	targets.mu.RLock()
	defer targets.mu.RUnlock()
	k, ok := targets.byName[name]
	if !ok {
		return TargetKind{}, false
	}
	return *k, true
}

// TargetKinds returns the names of the registered kinds, sorted, without
// aliases: for error messages and documentation.
func TargetKinds() []string {
	targets.mu.RLock()
	defer targets.mu.RUnlock()
	return slices.Clone(targets.names)
}

// ParseTarget parses a target such as "extension", "trunks:a,b" or
// "play:welcome,goodbye" through the registry: the kind must be
// registered and its Parse must accept the arguments. The route it returns
// has Kind (the canonical name), Args and Parsed set; the caller sets Rule
// and Number. Errors quote the target.
func ParseTarget(t string, env TargetEnv) (Route, error) {
	name, rest, hasArgs := strings.Cut(strings.TrimSpace(t), ":")
	if name == "" {
		return Route{}, fmt.Errorf("%q: no target kind: want one of %s", t, strings.Join(TargetKinds(), ", "))
	}
	k, ok := LookupTarget(name)
	if !ok {
		return Route{}, fmt.Errorf("unknown target kind %q: want one of %s", name, strings.Join(TargetKinds(), ", "))
	}
	var args []string
	if hasArgs {
		for _, a := range strings.Split(rest, ",") {
			if a = strings.TrimSpace(a); a == "" {
				return Route{}, fmt.Errorf("%q: empty argument", t)
			}
			args = append(args, a)
		}
	}
	r := Route{Kind: k.Name, Args: args}
	if k.Parse == nil {
		if len(args) > 0 {
			return Route{}, fmt.Errorf("%q: %s takes no arguments", t, k.Name)
		}
		return r, nil
	}
	parsed, err := k.Parse(args, env)
	if err != nil {
		return Route{}, fmt.Errorf("%q: %w", t, err)
	}
	r.Parsed = parsed
	return r, nil
}

// CheckDialplan checks the target of every dial-plan rule, every trunk
// DID, and the RWI and Agent RPC endpoint fallbacks of cfg against the registered kinds. Each
// problem names the file, the line and the field, as config's own errors do:
//
//	pbx.yaml:41: dialplan[3].target: unknown target kind "qeue": want one of conference, echo, ...
//
// check-config and the PBX's start run it after config.Load, once every
// package has registered its kinds.
func CheckDialplan(cfg *config.Config) error {
	env := NewTargetEnv(cfg)
	var errs []*config.Error
	check := func(path, target string) {
		if _, err := ParseTarget(target, env); err != nil {
			errs = append(errs, cfg.ErrorAt(path, "%v", err))
		}
	}
	for i, r := range cfg.Dialplan {
		check(fmt.Sprintf("dialplan[%d].target", i), r.Target)
	}
	for i, t := range cfg.Trunks {
		for j, d := range t.DIDs {
			check(fmt.Sprintf("trunks[%d].dids[%d].target", i, j), d.Target)
		}
	}
	if cfg.RWI.Fallback != "" { // where unclaimed and orphaned RWI calls go
		check("rwi.fallback", cfg.RWI.Fallback)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Endpoints)) { // where calls no bot takes go
		if f := cfg.Endpoints[name].Fallback; f != "" {
			check("endpoints."+name+".fallback", f)
		}
	}
	return cfg.JoinErrors(errs)
}
