package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A package's own level wins over the default; others get the default.
func TestPerPackageLevels(t *testing.T) {
	var buf bytes.Buffer
	l := NewLoggers(&buf, false, "warn", map[string]string{"sip": "debug"})
	l.For("sip").Debug("sip detail")
	l.For("media").Info("media chatter")
	l.For("media").Warn("media trouble")
	out := buf.String()
	if !strings.Contains(out, "sip detail") || !strings.Contains(out, "pkg=sip") {
		t.Errorf("sip at debug was dropped: %q", out)
	}
	if strings.Contains(out, "media chatter") {
		t.Errorf("media logged info under the warn default: %q", out)
	}
	if !strings.Contains(out, "media trouble") {
		t.Errorf("media warning dropped: %q", out)
	}
}

// JSON output is one object per line, tagged with the package.
func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	NewLoggers(&buf, true, "", nil).For("dialog").Info("hello", "leg", "l1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", buf.String(), err)
	}
	if rec["pkg"] != "dialog" || rec["msg"] != "hello" || rec["leg"] != "l1" || rec["level"] != "INFO" {
		t.Errorf("record: %v", rec)
	}
}
