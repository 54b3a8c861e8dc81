package dialog

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutBody(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 10, ""},
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hell"},
		{"héllo", 2, "h"},  // not half of é
		{"héllo", 3, "hé"}, // é is two bytes
		{"a\xffb", 10, "a\uFFFDb"},
		{strings.Repeat("x", MaxEventBody+1), MaxEventBody, strings.Repeat("x", MaxEventBody)},
	} {
		if got := cutBody([]byte(c.in), c.max); got != c.want {
			t.Errorf("cutBody(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// FuzzCutBody: whatever a far end sends, an event's text is valid UTF-8,
// within the limit, and a prefix of the body when the body was valid.
func FuzzCutBody(f *testing.F) {
	for _, s := range []string{"", "hello", "héllo wörld", "a\xffb", "\xe2\x82", strings.Repeat("é", 40)} {
		f.Add([]byte(s), 7)
	}
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got := cutBody(b, max)
		if len(got) > max || !utf8.ValidString(got) {
			t.Fatalf("cutBody(%q, %d) = %q", b, max, got)
		}
		if utf8.Valid(b) && !strings.HasPrefix(string(b), got) {
			t.Fatalf("cutBody(%q, %d) = %q, not a prefix", b, max, got)
		}
	})
}
