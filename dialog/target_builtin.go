package dialog

import (
	"fmt"
	"regexp"
	"slices"
)

// The kinds dialog serves itself. Each line is the whole registration of a
// kind: its handler goes in its Handle field, so serving a kind is a
// one-line change here. Registering from init, not from a package-level
// variable, keeps the handlers (which reach the dial plan) out of Go's
// initialization-order analysis.
func init() {
	RegisterTarget(TargetKind{Name: "extension", Parse: parseExtensionTarget, Handle: handleExtension, Dials: true})
	RegisterTarget(TargetKind{Name: "trunk", Aliases: []string{"trunks"}, Parse: parseTrunkTarget, Handle: handleTrunk, Dials: true})
	RegisterTarget(TargetKind{Name: "echo", Handle: handleEcho})
	RegisterTarget(TargetKind{Name: "play", Parse: parsePlayTarget, Handle: handlePlay})
	RegisterTarget(TargetKind{Name: "conference", Parse: parseConferenceTarget, Handle: handleConference})
	RegisterTarget(TargetKind{Name: "music", Parse: parseMusicTarget, Handle: handleMusic})
	RegisterTarget(TargetKind{Name: "park", Parse: parseParkTarget, Handle: handlePark})
}

// ExtensionTarget is a parsed "extension", "extension:N" or
// "extension:N,M": ring every registered contact of the users at once.
type ExtensionTarget struct {
	Extensions []string // none means the number dialled, after strip and prepend
}

// numbers are the extensions to ring for a call to dialled.
func (t ExtensionTarget) numbers(dialled string) []string {
	if len(t.Extensions) == 0 {
		return []string{dialled}
	}
	return t.Extensions
}

// TrunkTarget is a parsed "trunk:NAME" or "trunks:A,B": call out through
// the trunks, moving to the next on failure.
type TrunkTarget struct {
	Trunks []string // in the order they are tried
}

// PlayTarget is a parsed "play:NAME,NAME": answer, play the prompts, hang up.
type PlayTarget struct {
	Prompts []string
}

// ConferenceTarget is a parsed "conference" or "conference:ROOM".
type ConferenceTarget struct {
	Room string // "" means the number dialled names the room
}

// MusicTarget is a parsed "music" or "music:CLASS": answer and play hold
// music until the caller hangs up.
type MusicTarget struct {
	Class string // "" means the caller's own class
}

// ParkTarget is a parsed "park" or "park:CLASS": answer and keep the leg,
// in no bridge, until a program gives it somewhere to go.
type ParkTarget struct {
	Music string // hold-music class heard meanwhile; "" means silence
}

var (
	// extensionTargetRe is an extension number, as config checks users'.
	extensionTargetRe = regexp.MustCompile(`^[0-9]{1,15}$`)
	// roomRe is a conference room: it shows in logs and events.
	roomRe = regexp.MustCompile(`^[A-Za-z0-9*#][A-Za-z0-9*#_.-]{0,63}$`)
)

// atMostOne refuses a second argument to a kind that takes an optional one.
func atMostOne(args []string, what string) (string, error) {
	switch len(args) {
	case 0:
		return "", nil
	case 1:
		return args[0], nil
	}
	return "", fmt.Errorf("want at most one %s, got %d", what, len(args))
}

func parseExtensionTarget(args []string, _ TargetEnv) (any, error) {
	seen := map[string]bool{}
	for _, ext := range args {
		switch {
		case !extensionTargetRe.MatchString(ext):
			return nil, fmt.Errorf("want 1 to 15 digits after extension:, got %q", ext)
		case seen[ext]:
			return nil, fmt.Errorf("extension %s listed twice", ext)
		}
		seen[ext] = true
	}
	return ExtensionTarget{Extensions: slices.Clone(args)}, nil
}

func parseTrunkTarget(args []string, env TargetEnv) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("want trunk:NAME, or trunks:A,B to fail over")
	}
	seen := map[string]bool{}
	for _, name := range args {
		switch {
		case !env.Trunks[name]:
			return nil, fmt.Errorf("no trunk named %q", name)
		case seen[name]:
			return nil, fmt.Errorf("trunk %q listed twice", name)
		}
		seen[name] = true
	}
	return TrunkTarget{Trunks: append([]string(nil), args...)}, nil
}

func parsePlayTarget(args []string, env TargetEnv) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("want play:NAME, or several names separated by commas")
	}
	for _, name := range args {
		if err := env.prompt(name); err != nil {
			return nil, err
		}
	}
	return PlayTarget{Prompts: append([]string(nil), args...)}, nil
}

func parseConferenceTarget(args []string, _ TargetEnv) (any, error) {
	room, err := atMostOne(args, "room")
	if err != nil {
		return nil, err
	}
	if room != "" && !roomRe.MatchString(room) {
		return nil, fmt.Errorf("room %q: want up to 64 letters, digits, '*', '#', '-', '_' or '.'", room)
	}
	return ConferenceTarget{Room: room}, nil
}

// musicClass checks an optional hold-music class argument.
func musicClass(args []string, env TargetEnv) (string, error) {
	class, err := atMostOne(args, "hold-music class")
	if err != nil {
		return "", err
	}
	if class != "" && !env.Music[class] {
		return "", fmt.Errorf("no hold-music class %q", class)
	}
	return class, nil
}

func parseMusicTarget(args []string, env TargetEnv) (any, error) {
	class, err := musicClass(args, env)
	if err != nil {
		return nil, err
	}
	return MusicTarget{Class: class}, nil
}

func parseParkTarget(args []string, env TargetEnv) (any, error) {
	class, err := musicClass(args, env)
	if err != nil {
		return nil, err
	}
	return ParkTarget{Music: class}, nil
}
