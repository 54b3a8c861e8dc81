package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"pbx/dialog"
	"pbx/store"
)

// QlogBucket is the store bucket of the queue log. A key is
// store.TimeKey(time) + "/" + a sequence number (16 hex digits), so keys
// sort by time and retention prunes by age; a value is the queue_log line
// without its epoch: callid|queue|agent|EVENT|data...
const QlogBucket = "cc_qlog"

// qlogManager is the callid of member changes made at run time, as
// Asterisk writes for changes from its management interface.
const qlogManager = "MANAGER"

// queue_log events (Asterisk's names) and the data each carries, in order
// (see the notes, section 1.3). Times are whole seconds unless marked ms.
const (
	qlogEnterQueue       = "ENTERQUEUE"       // url | callerid number | original position
	qlogConnect          = "CONNECT"          // holdtime | agent's leg id | ring time
	qlogCompleteCaller   = "COMPLETECALLER"   // holdtime | talk time | original position
	qlogCompleteAgent    = "COMPLETEAGENT"    // holdtime | talk time | original position
	qlogBlindTransfer    = "BLINDTRANSFER"    // extension | context | holdtime | talk time | original position
	qlogAttendedTransfer = "ATTENDEDTRANSFER" // BRIDGE | id | holdtime | talk time | original position
	qlogAbandon          = "ABANDON"          // position | original position | waittime
	qlogExitEmpty        = "EXITEMPTY"        // position | original position | waittime
	qlogExitTimeout      = "EXITWITHTIMEOUT"  // position | original position | waittime
	qlogExitKey          = "EXITWITHKEY"      // key | position | original position | waittime
	qlogWithdraw         = "WITHDRAW"         // position | original position | waittime | info
	qlogRingNoAnswer     = "RINGNOANSWER"     // ring time (ms)
	qlogRingCanceled     = "RINGCANCELED"     // ring time (ms)
	qlogAgentDump        = "AGENTDUMP"        // (the agent hung up before the bridge)
	qlogAddMember        = "ADDMEMBER"        // "PAUSED" when added paused, else ""; callid qlogManager
	qlogRemoveMember     = "REMOVEMEMBER"     // ""
	qlogPause            = "PAUSE"            // reason (the break)
	qlogUnpause          = "UNPAUSE"          // reason
	qlogPenalty          = "PENALTY"          // new penalty
	qlogAgentLogin       = "AGENTLOGIN"       // channel (the agent's leg or device)
	qlogAgentLogoff      = "AGENTLOGOFF"      // channel | logged-in time
	qlogQueueStart       = "QUEUESTART"       // (the contact center started)
)

// qlogSeconds formats a duration as queue_log writes hold, talk and wait
// times: whole seconds, rounded.
func qlogSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(d.Round(time.Second)/time.Second), 10)
}

// qlogMillis formats a ring time as RINGNOANSWER writes it: milliseconds.
func qlogMillis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

const (
	// qlogBuffer is how many lines may wait for the writer before write
	// drops them: several seconds of a very busy site.
	qlogBuffer = 8192
	// qlogBatch is how many lines at most go to the store in one
	// transaction; a busy log costs one fsync per batch, not per line.
	qlogBatch = 512
	// qlogInline is how many data fields a record carries without
	// allocating; ATTENDEDTRANSFER has the most, six with LINK.
	qlogInline = 6
)

// qlogRec is one line as write hands it to the writer: formatting happens
// on the writer's goroutine, so write allocates nothing.
type qlogRec struct {
	t                           time.Time
	callID, queue, agent, event string
	n                           int // data fields in data, up to qlogInline
	data                        [qlogInline]string
	more                        []string // fields beyond qlogInline (rare)
}

// qlog writes the Asterisk-format queue_log: one line per event, appended
// to a file (so existing queue reporting tools can read it) and kept in
// the store bucket QlogBucket (so it survives the file being rotated away
// and the HTTP API can read a time range). write never blocks: lines go
// through a buffered channel to one writer goroutine, which close stops.
type qlog struct {
	f     *os.File // nil: store only
	st    *store.Store
	clock dialog.Clock
	log   *slog.Logger

	mu     sync.RWMutex // write holds it shared to send; close holds it to close ch
	closed bool
	ch     chan qlogRec
	done   chan struct{}

	dropped atomic.Uint64 // lines write could not queue

	// The writer's own.
	seq      uint64
	line     []byte
	batch    map[string][]byte
	reported uint64 // drops already logged
	fileErr  error  // the last file error, logged once until a write succeeds
	storeErr error
	closeErr error
}

// openQlog opens the queue log: the file at path (created if needed, with
// its directory; "" for none, the log is then kept in the store only) and
// the store st (nil: file only). Lines are stamped with clock's time.
func openQlog(path string, st *store.Store, clock dialog.Clock, log *slog.Logger) (*qlog, error) {
	if clock == nil {
		clock = dialog.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &qlog{
		st: st, clock: clock, log: log,
		ch:    make(chan qlogRec, qlogBuffer),
		done:  make(chan struct{}),
		batch: make(map[string][]byte, qlogBatch),
		// Keys of the same instant are ordered by this sequence. Starting
		// it at the wall clock's nanoseconds keeps it rising across
		// restarts, so a line never overwrites one from an earlier run,
		// even under a test clock that stands still.
		seq: uint64(time.Now().UnixNano()),
	}
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("queue log: create directory of %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("queue log: open %s: %w", path, err)
		}
		l.f = f
	}
	go l.run()
	return l, nil
}

// write logs one event: the callid (the caller's call id; "" is written
// NONE, as for agent events), the queue ("" NONE), the agent (an agent id
// is written Agent/ID, a name with a '/' as it is, "" NONE), the event (one
// of the qlog* names) and its data fields. It is safe from any goroutine
// and never blocks: if the writer is that far behind, the line is dropped,
// counted and the drop logged. After close it drops silently.
func (l *qlog) write(callID, queue, agent, event string, data ...string) {
	r := qlogRec{t: l.clock.Now(), callID: callID, queue: queue, agent: agent, event: event}
	r.n = copy(r.data[:], data)
	if len(data) > qlogInline {
		r.more = append([]string(nil), data[qlogInline:]...)
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return
	}
	select {
	case l.ch <- r:
	default:
		l.dropped.Add(1)
	}
	l.mu.RUnlock()
}

// run is the writer: it appends each line to the file as it comes, and
// puts the lines waiting at that moment into the store in one transaction.
func (l *qlog) run() {
	defer close(l.done)
	for r := range l.ch {
		l.add(r)
	more:
		for len(l.batch) < qlogBatch {
			select {
			case r, ok := <-l.ch:
				if !ok {
					break more
				}
				l.add(r)
			default:
				break more
			}
		}
		l.flush()
	}
	l.flush()
}

// add formats r, appends it to the file in one write, and queues it for
// the store.
func (l *qlog) add(r qlogRec) {
	b := strconv.AppendInt(l.line[:0], r.t.Unix(), 10)
	b = append(b, '|')
	mark := len(b)
	b = appendField(b, orNone(r.callID))
	b = append(b, '|')
	b = appendField(b, orNone(r.queue))
	b = append(b, '|')
	if r.agent == "" || strings.IndexByte(r.agent, '/') >= 0 {
		b = appendField(b, orNone(r.agent))
	} else {
		b = append(b, "Agent/"...)
		b = appendField(b, r.agent)
	}
	b = append(b, '|')
	b = appendField(b, r.event)
	// Asterisk ends the fixed fields with '|' even when no data follows
	// ("...|QUEUESTART|"), and tools expect it.
	b = append(b, '|')
	for i := range r.n + len(r.more) {
		if i > 0 {
			b = append(b, '|')
		}
		if i < r.n {
			b = appendField(b, r.data[i])
		} else {
			b = appendField(b, r.more[i-r.n])
		}
	}
	b = append(b, '\n')
	l.line = b
	if l.f != nil {
		if _, err := l.f.Write(b); err != nil {
			if l.fileErr == nil {
				l.log.Error("queue log: write file", "file", l.f.Name(), "error", err)
			}
			l.fileErr = err
		} else if l.fileErr != nil {
			l.log.Info("queue log: writing the file again", "file", l.f.Name())
			l.fileErr = nil
		}
	}
	if l.st != nil {
		l.seq++
		key := store.TimeKey(r.t) + "/" + fmt.Sprintf("%016x", l.seq)
		l.batch[key] = append([]byte(nil), b[mark:len(b)-1]...)
	}
}

// flush puts the batched lines into the store and logs drops seen since the
// last flush.
func (l *qlog) flush() {
	if len(l.batch) > 0 {
		err := l.st.PutMany(QlogBucket, l.batch)
		switch {
		case err != nil && l.storeErr == nil:
			l.log.Error("queue log: write store; lines lost from the store", "lines", len(l.batch), "error", err)
		case err == nil && l.storeErr != nil:
			l.log.Info("queue log: writing the store again")
		}
		l.storeErr = err
		clear(l.batch)
	}
	if d := l.dropped.Load(); d != l.reported {
		l.log.Warn("queue log: writer behind, lines dropped", "dropped", d-l.reported, "total", d)
		l.reported = d
	}
}

// close stops the writer once every queued line is written, and closes the
// file (flushed to disk: lines are not synced one by one). Calling it again
// returns the first result.
func (l *qlog) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return l.closeErr
	}
	l.closed = true
	close(l.ch)
	l.mu.Unlock()
	<-l.done
	if l.f != nil {
		err := l.f.Sync()
		if errors.Is(err, syscall.EINVAL) {
			err = nil // a named pipe to a reporting tool: nothing to sync
		}
		if cerr := l.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			l.closeErr = fmt.Errorf("queue log: close %s: %w", l.f.Name(), err)
		}
	}
	return l.closeErr
}

// orNone is how queue_log writes an empty id.
func orNone(s string) string {
	if s == "" {
		return "NONE"
	}
	return s
}

// appendField appends s with the characters that would break a line
// ('|', CR, LF) replaced by '_': a caller id name cannot forge fields.
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "|\r\n") {
		return append(b, s...)
	}
	for i := range len(s) {
		switch c := s[i]; c {
		case '|', '\r', '\n':
			b = append(b, '_')
		default:
			b = append(b, c)
		}
	}
	return b
}

// QlogEntry is one queue_log line, as the HTTP API serves it. Fields are
// as written in the file: Agent is "Agent/9001" or "NONE", an empty
// CallID or Queue is "NONE".
type QlogEntry struct {
	Time   time.Time `json:"time"`
	CallID string    `json:"call_id"`
	Queue  string    `json:"queue"`
	Agent  string    `json:"agent"`
	Event  string    `json:"event"`
	Data   []string  `json:"data,omitempty"`
}

// Line is the entry as a queue_log file line, without the newline.
func (e QlogEntry) Line() string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(e.Time.Unix(), 10))
	for _, f := range []string{e.CallID, e.Queue, e.Agent, e.Event} {
		b.WriteByte('|')
		b.WriteString(f)
	}
	b.WriteByte('|')
	b.WriteString(strings.Join(e.Data, "|"))
	return b.String()
}

// errQlogLine is a line that is not epoch|callid|queue|agent|EVENT[|data...].
var errQlogLine = errors.New("not a queue_log line")

// parseQlogFields reads callid|queue|agent|EVENT[|data...], a line without
// its epoch, as the store keeps it.
func parseQlogFields(s string) (QlogEntry, error) {
	f := strings.SplitN(s, "|", 5)
	if len(f) < 4 || f[3] == "" {
		return QlogEntry{}, fmt.Errorf("%w: %q", errQlogLine, s)
	}
	e := QlogEntry{CallID: f[0], Queue: f[1], Agent: f[2], Event: f[3]}
	if len(f) == 5 && f[4] != "" {
		e.Data = strings.Split(f[4], "|")
	}
	return e, nil
}

// ReadQlog returns the queue log entries of the store written in [from, to)
// (a zero to has no end), oldest first: the first limit of them, or all
// when limit <= 0. Entries carry the time to the nanosecond, which the file
// rounds to the second. The HTTP API and `pbx queue-log` read it, from a
// running node's store or a stopped one's.
func ReadQlog(st *store.Store, from, to time.Time, limit int) ([]QlogEntry, error) {
	out := []QlogEntry{}
	err := st.Range(QlogBucket, from, to, limit, func(k string, v []byte) error {
		t, ok := store.KeyTime(k)
		if !ok {
			return nil // not a line of ours
		}
		e, err := parseQlogFields(string(v))
		if err != nil {
			return fmt.Errorf("queue log entry %s: %w", k, err)
		}
		e.Time = t
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read queue log: %w", err)
	}
	return out, nil
}
