package config

import (
	"strings"
	"testing"
)

// Parse must never panic, and either returns a valid Config or errors that
// name the file. Seeds: testdata/fuzz/FuzzParse (the default file, a broken
// one, a bad regex, and anything the fuzzer found).
func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("a Config returned with an error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line without the file: %q", line)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("nil Config without an error")
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate refuses: %v", err)
		}
	})
}
