package recordings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExpandAndSanitize(t *testing.T) {
	start := time.Date(2026, 7, 4, 9, 5, 0, 0, time.FixedZone("CEST", 2*3600))
	v := pathValues{start: start, id: "ID1", callID: "abc@host", legID: "leg-1", caller: "Alice Smith <1001>", callee: "1002"}
	cases := []struct{ tpl, want string }{
		{DefaultPathTemplate, "2026/07/04/ID1.wav"},
		{"{yyyy}{mm}{dd}-{hh}/{call_id}_{leg_id}.wav", "20260704-07/abc@host_leg-1.wav"},
		{"{caller}-{callee}.wav", "Alice_Smith__1001_-1002.wav"},
	}
	for _, c := range cases {
		if got := expand(c.tpl, v); got != filepath.FromSlash(c.want) {
			t.Errorf("expand(%q) = %q, want %q", c.tpl, got, c.want)
		}
	}
	for in, want := range map[string]string{
		"":                      "_",
		"..":                    "_.",
		"../../etc/passwd":      "_._.._etc_passwd",
		`a\b/c`:                 "a_b_c",
		".hidden":               "_hidden",
		"x\x00y\n":              "x_y_",
		"é":                     "__",
		strings.Repeat("a", 99): strings.Repeat("a", maxComponent),
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
		if got := expand("{call_id}.wav", pathValues{callID: in}); !filepath.IsLocal(got) || strings.ContainsRune(got, filepath.Separator) {
			t.Errorf("call id %q gives path %q", in, got)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		o    Options
		want string
	}{
		{Options{}, "dir: required"},
		{Options{Dir: "d", PathTemplate: "/abs/{id}.wav"}, "path_template"},
		{Options{Dir: "d", PathTemplate: "../{id}.wav"}, "path_template"},
		{Options{Dir: "d", PathTemplate: "{yyyy}/../../{id}.wav"}, "path_template"},
		{Options{Dir: "d", PathTemplate: "{nope}.wav"}, "unknown placeholder {nope}"},
		{Options{Dir: "d", PathTemplate: "{id.wav"}, "unclosed"},
		{Options{Dir: "d", PathTemplate: "id}.wav"}, "stray }"},
		{Options{Dir: "d", PathTemplate: "{yyyy}/"}, "path_template"},
		{Options{Dir: "d", Format: "quad"}, "format"},
		{Options{Dir: "d", MaxAge: -1}, "max_age"},
		{Options{Dir: "d", MaxTotalBytes: -1}, "max_total_bytes"},
		{Options{Dir: "d", BufferFrames: -1}, "buffer_frames"},
	}
	for _, c := range cases {
		err := c.o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one about %q", c.o, err, c.want)
		}
	}
	if err := (Options{Dir: "d", PathTemplate: "{caller}/{call_id}-{id}.wav", Format: Stereo}).Validate(); err != nil {
		t.Error(err)
	}
}

// Files go where the template says, inside Dir whatever the call ids hold;
// two recordings the template names alike both get a file.
func TestFilesFollowTemplate(t *testing.T) {
	dir := t.TempDir()
	a, _, _ := testArchive(t, Options{Dir: dir, PathTemplate: "{caller}/{call_id}.wav"})
	e1 := record(t, a, Meta{CallID: "../../escape", Caller: "1001"}, StartOptions{}, 1)
	e2 := record(t, a, Meta{CallID: "../../escape", Caller: "1001"}, StartOptions{}, 1)
	if e1.Path != "1001/_._.._escape.wav" {
		t.Errorf("path %q", e1.Path)
	}
	if e2.Path != "1001/_._.._escape-"+e2.ID+".wav" {
		t.Errorf("second path %q", e2.Path)
	}
	for _, e := range []Entry{e1, e2} {
		if _, err := os.Stat(filepath.Join(dir, e.Path)); err != nil {
			t.Error(err)
		}
	}
}
