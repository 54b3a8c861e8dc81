package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed pbx.yaml
var defaultYAML []byte

// DefaultName is the File of the embedded configuration.
const DefaultName = "embedded pbx.yaml"

// Default is the configuration embedded in the binary.
func Default() (*Config, error) { return Parse(DefaultName, defaultYAML) }

// DefaultYAML is the text of the embedded configuration.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Load reads, decodes and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Error is one problem in a configuration file.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg) }

// Parse decodes and validates a configuration. name is used in errors.
// Unknown keys, wrong types and invalid values are all errors naming the
// file, the line and the field.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	cfg := &Config{File: name}
	d := decoder{file: name, lines: map[string]int{}}
	if len(root.Content) > 0 {
		d.decode(root.Content[0], reflect.ValueOf(cfg).Elem(), "")
	}
	if len(d.errs) > 0 {
		return nil, d.join()
	}
	cfg.applyDefaults(d.lines)
	cfg.lines = d.lines
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func yamlError(name string, err error) error {
	// yaml.v3 reports "yaml: line N: problem".
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		rest := strings.TrimPrefix(msg, "line ")
		if n, after, ok := strings.Cut(rest, ":"); ok {
			line, _ = strconv.Atoi(n)
			msg = strings.TrimSpace(after)
		}
	}
	return &Error{File: name, Line: line, Field: "(document)", Msg: msg}
}

// decoder walks the YAML tree into the structs by their yaml tags,
// remembering the line of every field path for later validation errors.
type decoder struct {
	file   string
	lines  map[string]int
	errs   []*Error
	visits int // bounds the walk: aliases can make a tree exponential or cyclic
}

const maxVisits = 100000

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) join() error {
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

var durationType = reflect.TypeOf(time.Duration(0))

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.visits++
	if d.visits > maxVisits {
		if d.visits == maxVisits+1 {
			d.fail(n, path, "document too large or aliases nested too deep")
		}
		return
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	if n.Tag == "!!null" {
		return
	}
	switch {
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a duration such as 30s or 5m")
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			if secs, err2 := strconv.Atoi(n.Value); err2 == nil {
				dur = time.Duration(secs) * time.Second
			} else {
				d.fail(n, path, "want a duration such as 30s or 5m, got %q", n.Value)
				return
			}
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "want a mapping")
			return
		}
		fields := structFields(v)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				d.fail(k, join(path, k.Value), "unknown key")
				continue
			}
			d.decode(val, f, join(path, k.Value))
		}
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "want a mapping")
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a single value")
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, "want a %s, got %q", v.Kind(), n.Value)
		}
	}
}

// structFields maps yaml keys to the fields of v, flattening inline structs.
func structFields(v reflect.Value) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for k, fv := range structFields(v.Field(i)) {
				out[k] = fv
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = v.Field(i)
	}
	return out
}
