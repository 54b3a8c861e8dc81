// Package prompts finds and decodes the audio the PBX plays: prompts by
// name, from the operator's directory when it has the file and from the
// built-in sounds otherwise, and hold-music classes from files or
// directories. Everything is decoded once, to the 8 kHz PCM the media
// engine plays, and shared by every call that plays it.
package prompts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"pbx/sounds"
	"pbx/wav"
)

// ErrBadName is returned for a prompt name that could escape the prompt
// directory.
var ErrBadName = errors.New("prompts: bad prompt name")

// Library is the prompts an installation plays.
type Library struct {
	dir string

	mu    sync.Mutex
	cache map[string][]int16
}

// New makes a library that looks in dir (may be "") before the built-in
// sounds.
func New(dir string) *Library {
	return &Library{dir: dir, cache: map[string][]int16{}}
}

// Load returns the decoded audio of a prompt such as "welcome" or
// "digits/3". The result is shared: callers must not change it.
func (l *Library) Load(name string) ([]int16, error) {
	if !validName(name) {
		return nil, fmt.Errorf("prompt %q: %w", name, ErrBadName)
	}
	l.mu.Lock()
	pcm, ok := l.cache[name]
	l.mu.Unlock()
	if ok {
		return pcm, nil
	}
	data, err := l.read(name)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	if pcm, err = wav.Decode(data); err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	l.mu.Lock()
	l.cache[name] = pcm
	l.mu.Unlock()
	return pcm, nil
}

// LoadAll loads a playlist.
func (l *Library) LoadAll(names ...string) ([][]int16, error) {
	out := make([][]int16, 0, len(names))
	for _, n := range names {
		pcm, err := l.Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, pcm)
	}
	return out, nil
}

func (l *Library) read(name string) ([]byte, error) {
	if l.dir != "" {
		data, err := os.ReadFile(filepath.Join(l.dir, filepath.FromSlash(name)+sounds.Ext))
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return sounds.Open(name)
}

// validName accepts slash-separated names of letters, digits, '-', '_'
// and '.', with no empty, "." or ".." element.
func validName(name string) bool {
	if name == "" || len(name) > 200 || path.Clean(name) != name || strings.HasPrefix(name, "/") {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == "." || el == ".." || el == "" {
			return false
		}
		for _, r := range el {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return false
			}
		}
	}
	return true
}

// LoadMusic decodes a hold-music class given as a WAV file, or as a
// directory whose .wav files play one after another in name order.
func LoadMusic(p string) ([]int16, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("music %s: %w", p, err)
	}
	files := []string{p}
	if fi.IsDir() {
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("music %s: %w", p, err)
		}
		files = files[:0]
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), sounds.Ext) {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
		slices.Sort(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("music %s: no .wav files", p)
		}
	}
	var pcm []int16
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("music %s: %w", f, err)
		}
		s, err := wav.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("music %s: %w", f, err)
		}
		pcm = append(pcm, s...)
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("music %s: no audio", p)
	}
	return pcm, nil
}

// BuiltinMusic decodes a built-in class ("default", "calm").
func BuiltinMusic(class string) ([]int16, error) {
	data, err := sounds.Open(sounds.MusicPrefix + class)
	if err != nil {
		return nil, fmt.Errorf("music %s: %w", class, err)
	}
	return wav.Decode(data)
}
