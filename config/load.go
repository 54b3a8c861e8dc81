package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads a configuration file, then decodes and validates it as Parse
// does. Errors name path as the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a configuration, fills the options it leaves out with
// their defaults and validates it. name stands for the file in errors.
//
// Unknown keys, duplicate keys, values of the wrong type and values that
// make no sense are all errors of the form FILE:LINE: FIELD: PROBLEM; every
// problem in the file is reported, joined with errors.Join and sorted by
// line. Each of them is an *Error.
//
// Durations use Go syntax ("500ms", "30s", "5m"); a bare 0 is accepted too.
// YAML anchors, aliases and merge keys (<<) work as usual.
func Parse(name string, data []byte) (*Config, error) {
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	cfg := &Config{File: name}
	d := newDecoder(name)
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	cfg.lines = d.lines
	cfg.applyDefaults()
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Error is one problem in a configuration file.
type Error struct {
	File  string // as given to Parse or Load
	Line  int    // 1-based; 0 when unknown (a Config built in code)
	Field string // path such as trunks[0].host; "" for a problem of the whole file
	Msg   string
}

// Error formats the problem as FILE:LINE: FIELD: PROBLEM, leaving out the
// line when it is unknown and the field when there is none.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File == "" {
		b.WriteString("config")
	} else {
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds how many problems one file reports: a broken file can
// produce one per line, and nobody reads the thousandth.
const maxErrors = 50

// joinErrors sorts problems by line (stable, so one line keeps the order
// the checks found them in) and joins them.
func joinErrors(file string, errs []*Error, dropped int) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	if len(errs) > maxErrors {
		dropped += len(errs) - maxErrors
		errs = errs[:maxErrors]
	}
	out := make([]error, 0, len(errs)+1)
	for _, e := range errs {
		out = append(out, e)
	}
	if dropped > 0 {
		out = append(out, &Error{File: file, Msg: fmt.Sprintf("%d more problems not shown", dropped)})
	}
	return errors.Join(out...)
}

// parseYAML returns the top node of the single document in data, nil for
// an empty file.
func parseYAML(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(name, err)
	default:
		return nil, &Error{File: name, Line: extra.Line, Msg: "a second YAML document: the file must hold one"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

var yamlLineRe = regexp.MustCompile(`^line (\d+): (?s:(.*))$`)

// syntaxError turns yaml.v3's "yaml: line N: problem" into an *Error.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return &Error{File: name, Line: line, Msg: "YAML: " + msg}
}
