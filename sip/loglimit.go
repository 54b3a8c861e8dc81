package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// LogLimiter bounds the log lines that a remote sender can cause at will:
// a malformed request, an unknown method, a wrong password. Such events
// are worth a line, but a flood of them must not become a flood of lines
// (the disk, the log shipper and the operator's eyes are finite).
//
// Lines are grouped by level and message. Within a window that starts at
// a group's first line, the first Burst lines pass; the others are
// counted, and when the window ends one line at the same level says
// "suppressed N similar lines" with the message and the count, through
// the logger that would have written the first one suppressed. A group
// whose window passed without suppression is simply forgotten.
//
// The limiter is shared by every handler it wraps (Handler), so loggers
// derived with With or WithGroup count together. Each group arms one timer
// per window; Close stops them and writes the pending summaries.
type LogLimiter struct {
	burst  int
	window time.Duration

	mu     sync.Mutex
	groups map[logLimitKey]*logLimitGroup
	closed bool
	timers sync.WaitGroup // window timers armed and not yet run or stopped
}

type logLimitKey struct {
	level slog.Level
	msg   string
}

type logLimitGroup struct {
	passed     int
	suppressed int
	to         slog.Handler // where the summary goes
	timer      *time.Timer
}

// logLimitMaxGroups bounds the groups tracked at once. Messages are
// constants in code, so the bound is only reached if some library puts
// variable text in its messages; past it, new groups share one.
const logLimitMaxGroups = 1024

// logLimitOverflow is the group of lines past logLimitMaxGroups.
const logLimitOverflow = "(other messages)"

// Default limits: 5 lines of each kind per 10 s let an operator see what
// is happening and keep a flood to a line a second per kind.
const (
	DefaultLogBurst  = 5
	DefaultLogWindow = 10 * time.Second
)

// NewLogLimiter makes a limiter passing burst lines of each kind per
// window; burst < 1 or window <= 0 take the defaults.
func NewLogLimiter(burst int, window time.Duration) *LogLimiter {
	if burst < 1 {
		burst = DefaultLogBurst
	}
	if window <= 0 {
		window = DefaultLogWindow
	}
	return &LogLimiter{burst: burst, window: window, groups: map[logLimitKey]*logLimitGroup{}}
}

// Handler wraps next so that its lines are limited by l.
func (l *LogLimiter) Handler(next slog.Handler) slog.Handler {
	return &logLimitHandler{l: l, next: next}
}

// Logger is slog.New(l.Handler(base.Handler())).
func (l *LogLimiter) Logger(base *slog.Logger) *slog.Logger {
	return slog.New(l.Handler(base.Handler()))
}

// Close writes the summaries of the windows in progress and stops their
// timers. Lines logged after Close pass unlimited.
func (l *LogLimiter) Close() {
	l.mu.Lock()
	l.closed = true
	var pending []logLimitKey
	for k, g := range l.groups {
		if g.timer.Stop() {
			l.timers.Done() // the timer will not run: its flush is ours
			pending = append(pending, k)
		}
	}
	l.mu.Unlock()
	for _, k := range pending {
		l.flush(k)
	}
	l.timers.Wait()
}

// allow counts one line of key for handler to; it reports whether the line
// may be written.
func (l *LogLimiter) allow(key logLimitKey, to slog.Handler) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return true
	}
	g := l.groups[key]
	if g == nil {
		if len(l.groups) >= logLimitMaxGroups {
			key.msg = logLimitOverflow
			if g = l.groups[key]; g != nil {
				return l.countLocked(g, to)
			}
		}
		g = &logLimitGroup{}
		l.groups[key] = g
		l.timers.Add(1)
		g.timer = time.AfterFunc(l.window, func() {
			defer l.timers.Done()
			l.flush(key)
		})
	}
	return l.countLocked(g, to)
}

func (l *LogLimiter) countLocked(g *logLimitGroup, to slog.Handler) bool {
	if g.passed < l.burst {
		g.passed++
		return true
	}
	if g.suppressed == 0 {
		g.to = to
	}
	g.suppressed++
	return false
}

// flush ends the window of key: the group is forgotten and, if lines were
// suppressed, one summary line says how many.
func (l *LogLimiter) flush(key logLimitKey) {
	l.mu.Lock()
	g := l.groups[key]
	delete(l.groups, key)
	l.mu.Unlock()
	if g == nil || g.suppressed == 0 {
		return
	}
	r := slog.NewRecord(time.Now(), key.level, "suppressed similar lines", 0)
	r.AddAttrs(
		slog.String("message", key.msg),
		slog.Int("suppressed", g.suppressed),
		slog.Duration("window", l.window),
	)
	_ = g.to.Handle(context.Background(), r)
}

// logLimitHandler is one handler behind a LogLimiter.
type logLimitHandler struct {
	l    *LogLimiter
	next slog.Handler
}

func (h *logLimitHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *logLimitHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.l.allow(logLimitKey{level: r.Level, msg: r.Message}, h.next) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logLimitHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logLimitHandler{l: h.l, next: h.next.WithAttrs(attrs)}
}

func (h *logLimitHandler) WithGroup(name string) slog.Handler {
	return &logLimitHandler{l: h.l, next: h.next.WithGroup(name)}
}
