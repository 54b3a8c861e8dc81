package queue

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pbx/store"
)

func openLogStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readLogLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("file does not end with a newline: %q", b)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestQlogLines(t *testing.T) {
	dir := t.TempDir()
	st := openLogStore(t, filepath.Join(dir, "data"))
	defer st.Close()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	clock := newTestClock(start)
	path := filepath.Join(dir, "logs", "queue_log") // the directory is created
	l, err := openQlog(path, st, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := start.Unix()
	steps := []struct {
		advance                     time.Duration
		callID, queue, agent, event string
		data                        []string
		want                        string
	}{
		{0, "", "", "", qlogQueueStart, nil, "%d|NONE|NONE|NONE|QUEUESTART|"},
		{time.Second, "c1", "support", "", qlogEnterQueue, []string{"", "1001", "1"}, "%d|c1|support|NONE|ENTERQUEUE||1001|1"},
		{0, "c1", "support", "9001", qlogRingNoAnswer, []string{qlogMillis(15 * time.Second)}, "%d|c1|support|Agent/9001|RINGNOANSWER|15000"},
		{2 * time.Second, "c1", "support", "1003", qlogConnect, []string{qlogSeconds(2600 * time.Millisecond), "leg-7", "4"}, "%d|c1|support|Agent/1003|CONNECT|3|leg-7|4"},
		{time.Minute, "c1", "support", "1003", qlogCompleteAgent, []string{"3", "60", "1"}, "%d|c1|support|Agent/1003|COMPLETEAGENT|3|60|1"},
		{0, "MANAGER", "support", "SIP/1004", qlogAddMember, []string{""}, "%d|MANAGER|support|SIP/1004|ADDMEMBER|"},
		{0, "NONE", "NONE", "9001", qlogPause, []string{"lunch | long\r\nx"}, "%d|NONE|NONE|Agent/9001|PAUSE|lunch _ long__x"},
		{0, "c2", "sales", "9001", qlogAttendedTransfer, []string{"LINK", "a", "b", "1", "2", "3", "extra"}, "%d|c2|sales|Agent/9001|ATTENDEDTRANSFER|LINK|a|b|1|2|3|extra"},
	}
	var want []string
	for _, s := range steps {
		clock.AdvanceAsync(s.advance)
		l.write(s.callID, s.queue, s.agent, s.event, s.data...)
		want = append(want, fmt.Sprintf(s.want, clock.Now().Unix()))
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if err := l.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	l.write("c3", "support", "", qlogEnterQueue) // after close: dropped, no panic

	got := readLogLines(t, path)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("file:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every line parses back, and prints again as it was.
	for _, line := range got {
		p, err := parseQlogLine(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if p.Line() != line || p.Time.Unix() < e {
			t.Fatalf("%q parsed as %+v, printed %q", line, p, p.Line())
		}
	}
	// The store holds the same lines, with their exact times.
	entries, err := ReadQlog(st, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("store has %d entries, want %d", len(entries), len(want))
	}
	for i, en := range entries {
		if en.Line() != want[i] {
			t.Errorf("store entry %d: %q, want %q", i, en.Line(), want[i])
		}
	}
	if en := entries[2]; en.Agent != "Agent/9001" || en.Event != qlogRingNoAnswer || len(en.Data) != 1 || en.Data[0] != "15000" {
		t.Errorf("entry fields: %+v", en)
	}
	if entries[0].Data != nil {
		t.Errorf("no data read as %q", entries[0].Data)
	}

	// Time windows and limits.
	window := []struct {
		name     string
		from, to time.Time
		limit    int
		want     []string
	}{
		{"from the connect", start.Add(3 * time.Second), time.Time{}, 0, want[3:]},
		{"before the connect", time.Time{}, start.Add(3 * time.Second), 0, want[:3]},
		{"limit", start.Add(time.Second), time.Time{}, 2, want[1:3]},
		{"nothing yet", time.Time{}, start, 0, nil},
	}
	for _, w := range window {
		es, err := ReadQlog(st, w.from, w.to, w.limit)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, en := range es {
			lines = append(lines, en.Line())
		}
		if strings.Join(lines, "\n") != strings.Join(w.want, "\n") {
			t.Errorf("%s: %q, want %q", w.name, lines, w.want)
		}
	}
}

// A restart appends to the file and keeps the store's lines; lines of the
// same instant in two runs do not overwrite each other.
func TestQlogRestartAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queue_log")
	clock := newTestClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)) // stands still
	var want []string
	for run := range 3 {
		st := openLogStore(t, filepath.Join(dir, "data"))
		l, err := openQlog(path, st, clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			id := fmt.Sprintf("run%d-%d", run, i)
			l.write(id, "support", "", qlogEnterQueue, "", "1001", "1")
			want = append(want, fmt.Sprintf("%d|%s|support|NONE|ENTERQUEUE||1001|1", clock.Now().Unix(), id))
		}
		if err := l.close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readLogLines(t, path); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("file:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	st := openLogStore(t, filepath.Join(dir, "data"))
	defer st.Close()
	entries, err := ReadQlog(st, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Line())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("store:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestQlogFileOnlyAndStoreOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queue_log")
	l, err := openQlog(path, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.write("c1", "support", "9001", qlogAgentLogin, "leg-1")
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if got := readLogLines(t, path); len(got) != 1 || !strings.HasSuffix(got[0], "|c1|support|Agent/9001|AGENTLOGIN|leg-1") {
		t.Fatalf("file only: %q", got)
	}

	st := openLogStore(t, filepath.Join(dir, "data"))
	defer st.Close()
	l, err = openQlog("", st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.write("c1", "support", "9001", qlogAgentLogoff, "leg-1", "60")
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	es, err := ReadQlog(st, time.Time{}, time.Time{}, 0)
	if err != nil || len(es) != 1 || es[0].Event != qlogAgentLogoff || strings.Join(es[0].Data, ",") != "leg-1,60" {
		t.Fatalf("store only: %+v %v", es, err)
	}
	if _, err := openQlog(filepath.Join(path, "under-a-file"), nil, nil, nil); err == nil {
		t.Fatal("opened a log under a file")
	}
}

// Many goroutines write at once: every line arrives whole.
func TestQlogConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	st := openLogStore(t, filepath.Join(dir, "data"))
	defer st.Close()
	path := filepath.Join(dir, "queue_log")
	l, err := openQlog(path, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				l.write(fmt.Sprintf("c%d-%d", w, i), "support", "9001", qlogConnect, "5", "leg", "2")
			}
		})
	}
	wg.Wait()
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	lines := readLogLines(t, path)
	if int(l.dropped.Load())+len(lines) != writers*each {
		t.Fatalf("%d lines + %d dropped, want %d", len(lines), l.dropped.Load(), writers*each)
	}
	seen := map[string]bool{}
	for _, line := range lines {
		e, err := parseQlogLine(line)
		if err != nil || e.Event != qlogConnect || len(e.Data) != 3 || seen[e.CallID] {
			t.Fatalf("line %q: %+v %v", line, e, err)
		}
		seen[e.CallID] = true
	}
	es, err := ReadQlog(st, time.Time{}, time.Time{}, 0)
	if err != nil || len(es) != len(lines) {
		t.Fatalf("store has %d, file %d: %v", len(es), len(lines), err)
	}
}

// When the writer is behind and the buffer full, write drops the line at
// once, counts it, and the writer logs the count when it catches up.
func TestQlogDropsWhenFull(t *testing.T) {
	var logs bytes.Buffer
	// The queue log goes to a named pipe nobody reads yet: once the pipe
	// is full the writer blocks, as on a stalled disk.
	path := filepath.Join(t.TempDir(), "queue_log")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	opened := make(chan *os.File)
	go func() {
		r, err := os.Open(path) // returns once the writer has opened it
		if err != nil {
			t.Error(err)
		}
		opened <- r
	}()
	l, err := openQlog(path, nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r := <-opened
	defer r.Close()
	sent := 0
	for l.dropped.Load() == 0 {
		l.write(fmt.Sprint("c", sent), "support", "", qlogEnterQueue, strings.Repeat("x", 4096))
		sent++
	}
	// Let the writer go: drain the pipe while close waits for it.
	drained := make(chan int)
	go func() {
		n := 0
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 8192), 8192)
		for sc.Scan() {
			n++
		}
		drained <- n
	}()
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if n := <-drained; n+int(l.dropped.Load()) != sent {
		t.Fatalf("%d lines written + %d dropped, want %d", n, l.dropped.Load(), sent)
	}
	if !strings.Contains(logs.String(), "lines dropped") {
		t.Fatalf("drop not logged: %s", logs.String())
	}
}

func TestQlogWriteNoAllocs(t *testing.T) {
	st := openLogStore(t, t.TempDir())
	defer st.Close()
	l, err := openQlog(filepath.Join(t.TempDir(), "queue_log"), st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if n := testing.AllocsPerRun(1000, func() {
		l.write("call-1", "support", "9001", qlogConnect, "12", "leg-1", "3")
	}); n != 0 {
		t.Fatalf("write allocates %v times", n)
	}
}

func TestParseQlogLine(t *testing.T) {
	tests := []struct {
		line string
		want string // "" when an error is expected; else the entry as Line prints it
	}{
		{"1366720340|1366720340.303267|MYQUEUE|SIP/8007|RINGNOANSWER|1000", "1366720340|1366720340.303267|MYQUEUE|SIP/8007|RINGNOANSWER|1000"},
		{"1300000000|NONE|NONE|NONE|QUEUESTART|", "1300000000|NONE|NONE|NONE|QUEUESTART|"},
		{"1300000000|NONE|NONE|NONE|QUEUESTART", "1300000000|NONE|NONE|NONE|QUEUESTART|"},
		{"1|c|q|a|CONNECT|1||3", "1|c|q|a|CONNECT|1||3"},
		{"1|c|q|a|", ""},
		{"1|c|q", ""},
		{"x|c|q|a|E|", ""},
		{"", ""},
	}
	for _, tc := range tests {
		e, err := parseQlogLine(tc.line)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: parsed as %+v, want an error", tc.line, e)
		case tc.want != "" && err != nil:
			t.Errorf("%q: %v", tc.line, err)
		case tc.want != "" && e.Line() != tc.want:
			t.Errorf("%q: printed %q, want %q", tc.line, e.Line(), tc.want)
		}
	}
}

// FuzzParseQlogLine: any line parses or is refused, and a parsed line
// prints back to a line that parses to the same entry.
func FuzzParseQlogLine(f *testing.F) {
	for _, s := range []string{
		"1366720340|1366720340.303267|MYQUEUE|SIP/8007|RINGNOANSWER|1000",
		"1300000000|NONE|NONE|NONE|QUEUESTART|",
		"1|c1|support|Agent/9001|ATTENDEDTRANSFER|LINK|a|b|1|2|3",
		"-5|||x|E",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseQlogLine(line)
		if err != nil {
			return
		}
		again, err := parseQlogLine(e.Line())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", line, e.Line(), err)
		}
		if again.Line() != e.Line() || !again.Time.Equal(e.Time) {
			t.Fatalf("%q: %q then %q", line, e.Line(), again.Line())
		}
	})
}

func BenchmarkQlogWrite(b *testing.B) {
	for _, withStore := range []bool{false, true} {
		b.Run(fmt.Sprintf("store=%v", withStore), func(b *testing.B) {
			var st *store.Store
			if withStore {
				st = openLogStore(b, b.TempDir())
				defer st.Close()
			}
			l, err := openQlog(filepath.Join(b.TempDir(), "queue_log"), st, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				l.write("call-1", "support", "9001", qlogConnect, "12", "leg-1", "3")
			}
			b.StopTimer()
			l.close()
			b.ReportMetric(float64(l.dropped.Load())/float64(b.N), "drops/op")
		})
	}
}

// parseQlogLine reads a queue_log file line (without its newline), as
// Asterisk or this package writes it: how the tests read the file back. Data is nil when the line has none.
func parseQlogLine(line string) (QlogEntry, error) {
	epoch, rest, ok := strings.Cut(line, "|")
	if !ok {
		return QlogEntry{}, errQlogLine
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return QlogEntry{}, fmt.Errorf("%w: epoch %q", errQlogLine, epoch)
	}
	e, err := parseQlogFields(rest)
	e.Time = time.Unix(sec, 0)
	return e, err
}
