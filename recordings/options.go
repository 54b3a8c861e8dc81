package recordings

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Mode says how a recording's two directions land in the file.
type Mode string

const (
	// Mono mixes caller and callee into one channel with a saturating
	// 16-bit sum: half the size, what most people want to listen to.
	Mono Mode = "mono"
	// Stereo puts the caller on the left channel and the callee on the
	// right, so each side can be analysed or transcribed alone.
	Stereo Mode = "stereo"
)

func (m Mode) channels() int {
	if m == Stereo {
		return 2
	}
	return 1
}

// DefaultPathTemplate files recordings by day, under their id.
const DefaultPathTemplate = "{yyyy}/{mm}/{dd}/{id}.wav"

// Defaults for zero Options fields.
const (
	DefaultSyncEvery    = time.Second
	DefaultRetainEvery  = 5 * time.Minute
	DefaultBufferFrames = 64 // 1.28 s of slack for a slow disk
)

// Options configure an Archive. Zero values take the defaults documented
// on each field.
type Options struct {
	// Dir is the directory recordings are written under. Required.
	Dir string
	// PathTemplate is the path of a recording relative to Dir, with
	// placeholders {yyyy} {mm} {dd} {hh} (the start, in UTC), {call_id},
	// {leg_id}, {id}, {caller} and {callee}. Expanded values are sanitized
	// so that they can never leave Dir nor add directories. Default
	// DefaultPathTemplate.
	PathTemplate string
	// Format is the mode of a recording whose StartOptions say none.
	// Default Mono.
	Format Mode
	// MaxDuration stops a recording by itself when reached; 0 is no limit.
	MaxDuration time.Duration
	// Beep makes the first 200 ms of each file a 1 kHz beep, unless the
	// recording's StartOptions say otherwise.
	Beep bool
	// MaxAge is how long finished recordings are kept; 0 keeps them.
	MaxAge time.Duration
	// MaxTotalBytes bounds the size of all recordings together, the
	// oldest finished ones going first; 0 is no bound.
	MaxTotalBytes int64
	// SyncEvery is how often each file's header is fixed to cover what
	// has been written, the most audio a crash can cost. Default 1 s.
	SyncEvery time.Duration
	// Node prefixes every recording id ("pbx1-20261201T..."), so ids stay
	// unique when several PBXs share a store. "" leaves ids bare.
	Node string
	// RetainEvery is how often retention runs. Default 5 minutes.
	RetainEvery time.Duration
	// BufferFrames is how many 20 ms frames each recording buffers between
	// the media clock and the disk before dropping. Default 64.
	BufferFrames int
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// placeholders are the names PathTemplate may use.
var placeholders = []string{"yyyy", "mm", "dd", "hh", "call_id", "leg_id", "id", "caller", "callee"}

// Validate reports the first field that is wrong, by name.
func (o Options) Validate() error {
	if o.Dir == "" {
		return errors.New("dir: required")
	}
	if err := validTemplate(o.template()); err != nil {
		return fmt.Errorf("path_template: %w", err)
	}
	switch o.Format {
	case "", Mono, Stereo:
	default:
		return fmt.Errorf("format: %q, want mono or stereo", o.Format)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"max_duration", o.MaxDuration}, {"max_age", o.MaxAge}, {"sync_every", o.SyncEvery}, {"retain_every", o.RetainEvery}} {
		if d.v < 0 {
			return fmt.Errorf("%s: %v is negative", d.name, d.v)
		}
	}
	if o.MaxTotalBytes < 0 {
		return fmt.Errorf("max_total_bytes: %d is negative", o.MaxTotalBytes)
	}
	if o.BufferFrames < 0 {
		return fmt.Errorf("buffer_frames: %d is negative", o.BufferFrames)
	}
	return nil
}

// withDefaults fills in zero fields.
func (o Options) withDefaults() Options {
	o.PathTemplate = o.template()
	if o.Format == "" {
		o.Format = Mono
	}
	if o.SyncEvery == 0 {
		o.SyncEvery = DefaultSyncEvery
	}
	if o.RetainEvery == 0 {
		o.RetainEvery = DefaultRetainEvery
	}
	if o.BufferFrames == 0 {
		o.BufferFrames = DefaultBufferFrames
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) template() string {
	if o.PathTemplate == "" {
		return DefaultPathTemplate
	}
	return o.PathTemplate
}

// validTemplate checks that a template is a relative path that stays
// inside the directory and uses known placeholders only.
func validTemplate(tpl string) error {
	rest := tpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("%q: unclosed {", tpl)
		}
		name := rest[i+1 : i+j]
		known := false
		for _, p := range placeholders {
			known = known || p == name
		}
		if !known {
			return fmt.Errorf("%q: unknown placeholder {%s} (known: %s)", tpl, name, strings.Join(placeholders, ", "))
		}
		rest = rest[i+j+1:]
	}
	if strings.Contains(rest, "}") {
		return fmt.Errorf("%q: stray }", tpl)
	}
	sample := expand(tpl, pathValues{id: "x", callID: "x", legID: "x", caller: "x", callee: "x"})
	if !filepath.IsLocal(sample) || strings.HasSuffix(tpl, "/") {
		return fmt.Errorf("%q: must be a relative file path inside the directory", tpl)
	}
	return nil
}
