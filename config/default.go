package config

import _ "embed"

// The canonical default configuration lives beside this file because an
// embed directive cannot reach a parent directory; the pbx.yaml at the
// module root is a symbolic link to it.
//
//go:embed pbx.yaml
var defaultYAML []byte

// DefaultName is the File of the embedded configuration.
const DefaultName = "embedded pbx.yaml"

// Default parses the configuration embedded in the binary: the demo users
// and dial plan of pbx.yaml, with every default.
func Default() (*Config, error) { return Parse(DefaultName, defaultYAML) }

// DefaultYAML returns a copy of the text of the embedded configuration.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }
