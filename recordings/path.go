package recordings

import (
	"path/filepath"
	"strings"
	"time"
)

// pathValues are what a path template's placeholders expand to.
type pathValues struct {
	start                             time.Time
	id, callID, legID, caller, callee string
}

// expand fills in tpl's placeholders. The date comes from the start in
// UTC; every other value is sanitized first.
func expand(tpl string, v pathValues) string {
	t := v.start.UTC()
	r := strings.NewReplacer(
		"{yyyy}", t.Format("2006"),
		"{mm}", t.Format("01"),
		"{dd}", t.Format("02"),
		"{hh}", t.Format("15"),
		"{call_id}", sanitize(v.callID),
		"{leg_id}", sanitize(v.legID),
		"{id}", sanitize(v.id),
		"{caller}", sanitize(v.caller),
		"{callee}", sanitize(v.callee),
	)
	return filepath.FromSlash(r.Replace(tpl))
}

// maxComponent bounds one expanded value, well under the 255 bytes file
// systems allow in a name.
const maxComponent = 64

// sanitize makes a caller-supplied value (a SIP Call-ID, a display name)
// safe inside a file name: letters, digits and - _ . + @ are kept, anything
// else (separators, spaces, controls, non-ASCII) becomes _, a leading dot
// becomes _ so no value is "..", or a hidden file, and the result is at
// most maxComponent bytes. An empty value becomes "_".
func sanitize(s string) string {
	b := make([]byte, 0, min(len(s), maxComponent))
	for i := 0; i < len(s) && len(b) < maxComponent; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '+', c == '@':
			b = append(b, c)
		case c == '.' && len(b) > 0:
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
