package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// logSink collects log lines and signals each one containing a marker.
type logSink struct {
	mu     sync.Mutex
	lines  []string
	marker string
	marked chan string
}

func newLogSink(marker string) *logSink {
	return &logSink{marker: marker, marked: make(chan string, 1024)}
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		s.lines = append(s.lines, l)
		if s.marker != "" && strings.Contains(l, s.marker) {
			s.marked <- l
		}
	}
	return len(p), nil
}

func (s *logSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *logSink) count(substr string) int {
	n := 0
	for _, l := range s.all() {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// waitMarked waits for the next line with the marker.
func (s *logSink) waitMarked(t *testing.T) string {
	t.Helper()
	select {
	case l := <-s.marked:
		return l
	case <-time.After(5 * time.Second):
		t.Fatalf("no line with %q; log:\n%s", s.marker, strings.Join(s.all(), "\n"))
		return ""
	}
}

func textLogger(w *logSink, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// Per kind of line (level and message), the first burst lines of a window
// pass and the rest become one summary at the window's end, at the same
// level and through the logger of the first line suppressed.
func TestLogLimiterBurstThenSummary(t *testing.T) {
	sink := newLogSink("suppressed similar lines")
	l := NewLogLimiter(3, 50*time.Millisecond)
	defer l.Close()
	log := l.Logger(textLogger(sink, slog.LevelDebug))

	tests := []struct {
		name      string
		log       func(i int)
		n         int
		passed    string // substring of the lines that pass
		wantPass  int
		summary   string // substring of the summary, "" for none
		wantLevel string
	}{
		{"info flood", func(i int) { log.Info("bad request", "i", i) }, 100, `level=INFO msg="bad request"`, 3,
			`message="bad request" suppressed=97`, "level=INFO"},
		{"same message at another level is another kind", func(i int) { log.Warn("bad request", "i", i) }, 10, `level=WARN msg="bad request"`, 3,
			`message="bad request" suppressed=7`, "level=WARN"},
		{"within the burst: no summary", func(i int) { log.Info("rare", "i", i) }, 2, `msg=rare`, 2, "", ""},
		{"derived loggers count together", func(i int) { log.With("conn", i).Debug("reset") }, 5, `msg=reset`, 3,
			`conn=3 message=reset suppressed=2`, "level=DEBUG"},
	}
	for _, tt := range tests {
		for i := range tt.n {
			tt.log(i)
		}
	}
	want := map[string]bool{}
	for _, tt := range tests {
		if got := sink.count(tt.passed); got != tt.wantPass {
			t.Errorf("%s: %d lines passed, want %d", tt.name, got, tt.wantPass)
		}
		if tt.summary != "" {
			want[tt.summary] = true
		}
	}
	for len(want) > 0 {
		line := sink.waitMarked(t)
		found := false
		for _, tt := range tests {
			if tt.summary != "" && strings.Contains(line, tt.summary) {
				found = true
				delete(want, tt.summary)
				if !strings.Contains(line, tt.wantLevel) {
					t.Errorf("%s: summary %q not at %s", tt.name, line, tt.wantLevel)
				}
			}
		}
		if !found {
			t.Errorf("unexpected summary %q", line)
		}
	}

	// A new window lets a new burst through.
	for i := range 5 {
		log.Info("bad request", "again", i)
	}
	if got := sink.count("again="); got != 3 {
		t.Errorf("next window: %d lines passed, want 3", got)
	}
}

// Close writes the summaries of the windows in progress at once, and
// after Close lines pass unlimited.
func TestLogLimiterCloseFlushes(t *testing.T) {
	sink := newLogSink("")
	l := NewLogLimiter(1, time.Hour)
	log := l.Logger(textLogger(sink, slog.LevelInfo))
	for range 10 {
		log.Info("refused")
	}
	l.Close()
	if got := sink.count("message=refused suppressed=9"); got != 1 {
		t.Fatalf("summaries after Close: %d; log:\n%s", got, strings.Join(sink.all(), "\n"))
	}
	for range 4 {
		log.Info("late")
	}
	if got := sink.count("msg=late"); got != 4 {
		t.Fatalf("%d lines after Close, want 4", got)
	}
	l.Close() // twice is harmless
}

// Many goroutines logging at once: every line is either written or
// counted in a summary.
func TestLogLimiterConcurrent(t *testing.T) {
	sink := newLogSink("")
	l := NewLogLimiter(5, time.Hour)
	log := l.Logger(textLogger(sink, slog.LevelInfo))
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				log.Info(fmt.Sprintf("kind %d", i%3), "worker", w)
			}
		}()
	}
	wg.Wait()
	l.Close()
	passed, suppressed := 0, 0
	for _, line := range sink.all() {
		if strings.Contains(line, "suppressed similar lines") {
			var n int
			i := strings.Index(line, "suppressed=")
			fmt.Sscanf(line[i:], "suppressed=%d", &n)
			suppressed += n
		} else if strings.Contains(line, "msg=\"kind ") {
			passed++
		}
	}
	if passed != 3*5 || passed+suppressed != workers*each {
		t.Fatalf("%d passed, %d suppressed; want 15 passed and %d in all", passed, suppressed, workers*each)
	}
}

// Messages with variable text cannot grow the limiter without end: past
// logLimitMaxGroups kinds, the others share one group.
func TestLogLimiterBoundedGroups(t *testing.T) {
	sink := newLogSink("")
	l := NewLogLimiter(1, time.Hour)
	log := l.Logger(textLogger(sink, slog.LevelInfo))
	const n = logLimitMaxGroups + 500
	for i := range n {
		log.Info(fmt.Sprintf("message %d", i))
	}
	l.mu.Lock()
	groups := len(l.groups)
	l.mu.Unlock()
	if groups > logLimitMaxGroups+1 {
		t.Fatalf("%d groups tracked, max %d", groups, logLimitMaxGroups+1)
	}
	l.Close()
	if got := len(sink.all()); got != logLimitMaxGroups+2 {
		t.Fatalf("%d lines: want one per group plus the overflow's first line and summary", got)
	}
	if sink.count(`message="(other messages)" suppressed=499`) != 1 {
		t.Fatalf("no overflow summary:\n%s", strings.Join(sink.all()[logLimitMaxGroups:], "\n"))
	}
}

// What sipgo logs about a sender is written at the level it deserves, and
// long attributes are cut.
func TestSipgoLogLevels(t *testing.T) {
	tooLarge := fmt.Errorf("write: %w", sipmsg.ErrUDPMTUCongestion)
	tests := []struct {
		name    string
		level   slog.Level
		msg     string
		args    []any
		atInfo  string // what an INFO logger writes ("" for nothing)
		atDebug string // what a DEBUG logger writes
	}{
		{"parse error is the sender's", slog.LevelError, "failed to parse", []any{"data", strings.Repeat("a", 10000)},
			`level=INFO msg="failed to parse" caller=x data="` + strings.Repeat("a", sipgoLogMaxAttr) + `… (10000 bytes)"`, "level=INFO"},
		{"answer too large for UDP", slog.LevelError, "send '100 Trying' response failed", []any{"error", tooLarge},
			"", "level=DEBUG"},
		{"405 not sent", slog.LevelError, "respond '405 Method Not Allowed' failed", []any{"error", errors.New("x")},
			"", "level=DEBUG"},
		{"unknown handler", slog.LevelWarn, "SIP request handler not found", nil, "", "level=DEBUG"},
		{"other errors keep their level", slog.LevelError, "Failed to close listener", []any{"error", errors.New("x")},
			`level=ERROR msg="Failed to close listener"`, "level=ERROR"},
		{"sipgo's reference counting", slog.LevelWarn, "TCP ref went negative", []any{"ref", -1}, "", "level=DEBUG"},
		{"short attributes untouched", slog.LevelError, "failed to parse", []any{"data", "INVITE"},
			`level=INFO msg="failed to parse" caller=x data=INVITE`, "level=INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
				var buf bytes.Buffer
				log := slog.New(&sipgoLogHandler{next: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})})
				log.With("caller", "x").Log(context.Background(), tt.level, tt.msg, tt.args...)
				want := tt.atInfo
				if level == slog.LevelDebug {
					want = tt.atDebug
				}
				got := buf.String()
				if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
					t.Errorf("at %s: wrote %q, want %q", level, got, want)
				}
			}
		})
	}
}

// The logger for sipgo's package-wide default adapts levels and limits
// lines like a Stack's.
func TestSipgoLogger(t *testing.T) {
	sink := newLogSink("")
	log := SipgoLogger(textLogger(sink, slog.LevelInfo))
	for range 100 {
		log.Warn("TCP ref went negative", "ref", -1)
		log.Error("failed to parse", "data", "x")
	}
	if got := len(sink.all()); got != DefaultLogBurst {
		t.Fatalf("%d lines, want %d:\n%s", got, DefaultLogBurst, strings.Join(sink.all(), "\n"))
	}
	if sink.count(`level=INFO msg="failed to parse"`) != DefaultLogBurst {
		t.Fatalf("lines:\n%s", strings.Join(sink.all(), "\n"))
	}
}
