package config

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks the YAML tree into the Config structs by their yaml tags,
// strictly: an unknown or repeated key is an error, not ignored. It
// remembers the line of every field path it meets (the key's line for a
// field, the item's line for a list item) so that Validate can name lines.
type decoder struct {
	file    string
	lines   map[string]int
	errs    []*Error
	dropped int
	visits  int                 // bounds the walk: aliases can make a tree exponential
	merging map[*yaml.Node]bool // mappings being merged (<<), to stop a merge of itself
}

// maxVisits bounds the values one file may hold once aliases are expanded.
const maxVisits = 100_000

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, merging: map[*yaml.Node]bool{}}
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= 4*maxErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) err() error { return joinErrors(d.file, d.errs, d.dropped) }

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var durationType = reflect.TypeFor[time.Duration]()

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// decode stores the value of node n in v, which is at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.visits++
	if d.visits > maxVisits {
		if d.visits == maxVisits+1 {
			d.fail(n, path, "too many values (aliases expanding too far?)")
		}
		return
	}
	use := n // the line to report is where the value is used, not its anchor
	if n = resolve(n); n == nil || n.Kind == yaml.AliasNode {
		d.fail(use, path, "unresolved alias")
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value leaves the zero value: the default, or "off"
	}
	switch {
	case v.Kind() == reflect.Pointer:
		// An optional value (a rule's max_penalty, an agent's wrapup):
		// given, it is decoded as the value itself; absent or empty, nil.
		p := reflect.New(v.Type().Elem())
		d.decode(use, p.Elem(), path)
		v.Set(p)
	case v.Type() == durationType:
		if n.Kind != yaml.ScalarNode {
			d.fail(use, path, "want a duration such as 30s or 5m, got %s", describe(n))
			return
		}
		dur, err := parseDuration(n.Value)
		if err != nil {
			d.fail(use, path, "%v", err)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(use, path, "want a mapping of %s, got %s", keyList(v), describe(n))
			return
		}
		fields := fieldIndexes(v.Type())
		d.eachKey(n, path, func(name string, k, val *yaml.Node, keyPath string) {
			index, ok := fields[name]
			if !ok {
				d.fail(k, keyPath, "unknown key%s", suggest(name, fields))
				return
			}
			d.lines[keyPath] = k.Line
			d.decode(val, v.FieldByIndex(index), keyPath)
		})
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(use, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = item.Line
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(use, path, "want a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		d.eachKey(n, path, func(name string, k, val *yaml.Node, keyPath string) {
			d.lines[keyPath] = k.Line
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, keyPath)
			m.SetMapIndex(reflect.ValueOf(name), e)
		})
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(use, path, "want %s, got %s", scalarWant(v.Kind()), describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(use, path, "want %s, got %q", scalarWant(v.Kind()), n.Value)
		}
	}
}

// keyFunc receives a key's name, its node as written (for its line), its
// value and its field path.
type keyFunc func(name string, k, val *yaml.Node, keyPath string)

// eachKey calls fn for every key of mapping n: first the keys merged in
// with <<, then its own, so its own override merged ones. A key given
// twice is an error.
func (d *decoder) eachKey(n *yaml.Node, path string, fn keyFunc) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], path, fn)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.fail(n.Content[i], path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			continue
		}
		keyPath := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(n.Content[i], keyPath, "given twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = n.Content[i].Line
		fn(k.Value, n.Content[i], val, keyPath)
	}
}

// merge applies a << value: a mapping, or a list of mappings of which the
// first wins.
func (d *decoder) merge(val *yaml.Node, path string, fn keyFunc) {
	m := resolve(val)
	var maps []*yaml.Node
	switch {
	case m == nil:
	case m.Kind == yaml.MappingNode:
		maps = []*yaml.Node{m}
	case m.Kind == yaml.SequenceNode:
		for i := len(m.Content) - 1; i >= 0; i-- { // last first, so the first wins
			maps = append(maps, resolve(m.Content[i]))
		}
	}
	if len(maps) == 0 {
		d.fail(val, joinPath(path, "<<"), "want a mapping or a list of mappings to merge, got %s", describe(m))
		return
	}
	for _, mm := range maps {
		if mm == nil || mm.Kind != yaml.MappingNode {
			d.fail(val, joinPath(path, "<<"), "want a mapping to merge, got %s", describe(mm))
			continue
		}
		if d.merging[mm] {
			d.fail(val, joinPath(path, "<<"), "a mapping cannot merge itself")
			continue
		}
		d.visits++
		if d.visits > maxVisits {
			return
		}
		d.merging[mm] = true
		d.eachKey(mm, path, fn)
		delete(d.merging, mm)
	}
}

// fieldCache holds, per struct type, the yaml key of each field and its
// index path (inline structs flattened).
var fieldCache sync.Map // reflect.Type -> map[string][]int

func fieldIndexes(t reflect.Type) map[string][]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string][]int)
	}
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			for k, sub := range fieldIndexes(f.Type) {
				out[k] = append([]int{i}, sub...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	fieldCache.Store(t, out)
	return out
}

// parseDuration reads Go duration syntax; a bare 0 means zero. A bare
// number is refused rather than guessed at: seconds? milliseconds?
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration with a unit such as 30s or 5m, got %q", s)
	}
	return dur, nil
}

func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func scalarWant(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a single value"
	}
	return "a " + k.String()
}

// keyList names the keys a mapping may hold, for "want a mapping of ...".
func keyList(v reflect.Value) string {
	keys := make([]string, 0, 4)
	for i := range v.Type().NumField() {
		f := v.Type().Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || opts == "inline" {
			continue
		}
		keys = append(keys, name)
		if len(keys) == 3 {
			return strings.Join(keys, ", ") + ", ..."
		}
	}
	if len(keys) == 0 {
		return "options"
	}
	return strings.Join(keys, ", ")
}

// suggest proposes the known key closest to an unknown one, when it is
// close enough to be a typo.
func suggest(key string, fields map[string][]int) string {
	best, bestD := "", 3
	for name := range fields {
		if dist := editDistance(key, name); dist < bestD || (dist == bestD && name < best) {
			best, bestD = name, dist
		}
	}
	if best == "" || bestD > 2 || bestD >= len(key) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance of two short keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
