package sip

import (
	"context"
	"log/slog"
	"strconv"
)

// sipgoLogHandler adapts what sipgo logs to what it means for the PBX.
// sipgo logs at ERROR or WARN many events that a remote sender causes: a
// datagram that does not parse, a request without Via, a connection reset,
// an answer refused because the request made it too large for UDP. For the
// PBX these are facts about the sender, not faults of its own: they are
// written at INFO, or DEBUG when they say nothing useful. Long attributes
// (sipgo puts a whole unparsable message in "data") are cut.
//
// It sits in front of the stack's LogLimiter, so the limiter counts the
// lines at the level they are written.
type sipgoLogHandler struct {
	next slog.Handler
}

// sipgoPeerLevels maps the messages sipgo logs for events a remote sender
// causes to the level the PBX writes them at. The keys are sipgo's own
// message texts (v1.7.2); a message not listed keeps its level.
var sipgoPeerLevels = map[string]slog.Level{
	"failed to parse":                                    slog.LevelInfo,
	"Server tx failed to handle request":                 slog.LevelInfo,
	"Failed to send stateless 400 for malformed request": slog.LevelInfo,
	"Client tx failed to handle response":                slog.LevelInfo,
	"Read error":                                         slog.LevelInfo,
	"Failed to pong keep alive":                          slog.LevelInfo,
	"Got TCP error":                                      slog.LevelInfo,
	"Fail to upgrade":                                    slog.LevelInfo,
	"Read filter error":                                  slog.LevelDebug, // a banned source's connection closed by the guard
	"SIP request handler not found":                      slog.LevelDebug, // only without the stack's noRoute
	"respond '405 Method Not Allowed' failed":            slog.LevelDebug,
	// sipgo's connection reference counts go below zero when a peer closes
	// a connection a transaction still held: its own bookkeeping, nothing
	// for the operator, and once per connection a peer opens and closes.
	"TCP ref went negative":              slog.LevelDebug,
	"UDP ref went negative on try close": slog.LevelDebug,
	"WS ref went negative":               slog.LevelDebug,
}

// SipgoLogger adapts base for sipgo's package-wide logger, which sipgo
// uses where it has no logger of its own (connection bookkeeping, the
// defaults of a transaction layer): levels adapted as for a Stack's
// loggers, lines limited. Give it to sipmsg.SetDefaultLogger once at
// start-up, before any Stack is made, since sipgo reads that variable
// without synchronisation.
func SipgoLogger(base *slog.Logger) *slog.Logger {
	return slog.New(&sipgoLogHandler{next: NewLogLimiter(0, 0).Handler(base.Handler())})
}

// sipgoLogMaxAttr is the longest string attribute written; the rest is
// replaced by its length.
const sipgoLogMaxAttr = 256

func (h *sipgoLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	// Levels are only ever lowered, so a level the next handler refuses
	// stays refused.
	return h.next.Enabled(ctx, level)
}

func (h *sipgoLogHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if l, ok := sipgoPeerLevels[r.Message]; ok && l < level {
		level = l
	}
	long := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && TooLargeForUDP(err) {
			level = slog.LevelDebug
		}
		if a.Value.Kind() == slog.KindString && len(a.Value.String()) > sipgoLogMaxAttr {
			long = true
		}
		return true
	})
	if level == r.Level && !long {
		return h.next.Handle(ctx, r)
	}
	if !h.next.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindString {
			if v := a.Value.String(); len(v) > sipgoLogMaxAttr {
				a.Value = slog.StringValue(v[:sipgoLogMaxAttr] + "… (" + strconv.Itoa(len(v)) + " bytes)")
			}
		}
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *sipgoLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sipgoLogHandler{next: h.next.WithAttrs(attrs)}
}

func (h *sipgoLogHandler) WithGroup(name string) slog.Handler {
	return &sipgoLogHandler{next: h.next.WithGroup(name)}
}
