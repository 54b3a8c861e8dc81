package logging

import (
	"io"
	"log/slog"
	"strings"
)

// Loggers makes one logger per package, each with its own level, all
// writing to w as text or JSON.
type Loggers struct {
	w     io.Writer
	json  bool
	def   slog.Level
	byPkg map[string]slog.Level
}

// NewLoggers builds the loggers from a default level and per-package levels.
func NewLoggers(w io.Writer, json bool, level string, packages map[string]string) *Loggers {
	l := &Loggers{w: w, json: json, def: parseLevel(level), byPkg: map[string]slog.Level{}}
	for p, lv := range packages {
		l.byPkg[p] = parseLevel(lv)
	}
	return l
}

// For returns the logger of a package, tagged with its name.
func (l *Loggers) For(pkg string) *slog.Logger {
	lv, ok := l.byPkg[pkg]
	if !ok {
		lv = l.def
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	if l.json {
		h = slog.NewJSONHandler(l.w, opts)
	} else {
		h = slog.NewTextHandler(l.w, opts)
	}
	return slog.New(h).With("pkg", pkg)
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
