package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SIPp runs one sipp process (Debian package sip-tester) bounded in time.
// A test that uses it fails when sipp is not installed: it is never skipped.
//
// sipp runs as a child process without a terminal (-nostdin, stdin from
// /dev/null); its screen output is kept (the tail) for error messages, and
// its final statistics are read from a -trace_stat file.
type SIPp struct {
	// Scenario is a scenario file (see ScenarioPath) or the name of a
	// built-in scenario ("uas", "uac", ...).
	Scenario string
	// Remote is the peer, "127.0.0.1:5060"; empty for a UAS that only
	// answers. It must be a loopback address.
	Remote string
	// LocalIP is the address sipp binds to (and writes in Via, Contact and
	// SDP); default 127.0.0.1. It must be a loopback address.
	LocalIP string
	// LocalPort is the SIP port sipp binds to; 0 picks a free one.
	LocalPort int
	// Args are more sipp options: "-m", "5", "-r", "10", "-d", "1000", ...
	// Without "-mp" the runner picks a free media port (and the one two
	// above it, which sipp binds too), so parallel runs with -rtp_echo do
	// not collide on sipp's default 6000.
	Args []string
	// Timeout bounds the run: sipp gets -timeout and is stopped when it
	// runs past it. Default 60 s.
	Timeout time.Duration
	// Inf is an injection CSV (-inf). sipp runs in a directory where the
	// file is reachable by its base name too, so a scenario's
	// lookup/[field file="name.csv"] can name it that way.
	Inf string
}

// Result is what a sipp run reports: its exit code and its final
// cumulative statistics.
type Result struct {
	ExitCode        int           // 0: every call successful, 1: some failed, 97: global timeout, 99: no call processed
	Successful      int           // SuccessfulCall(C)
	Failed          int           // FailedCall(C)
	Retransmissions int           // Retransmissions(C)
	OutOfCallMsgs   int           // OutOfCallMsgs(C)
	Elapsed         time.Duration // from sipp's start to its last statistics line
	Errors          string        // the tail of the -trace_err file
}

// SIPpRun is a sipp process started by SIPp.Start.
type SIPpRun struct {
	t        testing.TB
	spec     SIPp
	cmd      *exec.Cmd
	statFile string
	errFile  string
	output   *tailBuffer
	started  time.Time
	done     chan struct{}
	waitErr  error

	once   sync.Once
	result Result
	err    error
}

// ScenarioPath is the absolute path of sipp/<name> in this module: it walks
// up from the working directory to the directory holding go.mod.
func ScenarioPath(name string) string {
	dir, err := os.Getwd()
	if err != nil {
		panic("testkit: " + err.Error())
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "sipp", name)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testkit: no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Run starts sipp and waits for it; it fails the test if sipp cannot run or
// does not finish within Timeout. Failed calls are not an error: they are in
// the Result.
func (s *SIPp) Run(t testing.TB) Result {
	t.Helper()
	r, err := s.Start(t).Wait()
	if err != nil {
		t.Fatalf("sipp %s: %v", s.Scenario, err)
	}
	return r
}

// Start starts sipp in the background. It is stopped at the end of the test
// if it is still running.
func (s *SIPp) Start(t testing.TB) *SIPpRun {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is not installed (Debian package sip-tester): %v", err)
	}
	spec := *s
	if spec.Timeout <= 0 {
		spec.Timeout = 60 * time.Second
	}
	if spec.LocalIP == "" {
		spec.LocalIP = "127.0.0.1"
	}
	if ip, err := netip.ParseAddr(spec.LocalIP); err != nil || !ip.IsLoopback() {
		t.Fatalf("sipp: local address %q is not a loopback address", spec.LocalIP)
	}
	if spec.Remote != "" {
		ap, err := netip.ParseAddrPort(spec.Remote)
		if err != nil || !ap.Addr().IsLoopback() {
			t.Fatalf("sipp: remote %q is not a loopback ip:port", spec.Remote)
		}
	}
	if spec.LocalPort == 0 {
		spec.LocalPort = FreeUDPPort(t)
	}

	dir := t.TempDir()
	r := &SIPpRun{
		t:        t,
		spec:     spec,
		statFile: filepath.Join(dir, "stat.csv"),
		errFile:  filepath.Join(dir, "errors.log"),
		output:   &tailBuffer{max: 16 << 10},
		done:     make(chan struct{}),
	}

	var args []string
	if spec.Remote != "" {
		args = append(args, spec.Remote)
	}
	if isScenarioFile(spec.Scenario) {
		args = append(args, "-sf", spec.Scenario)
	} else {
		args = append(args, "-sn", spec.Scenario)
	}
	args = append(args,
		"-i", spec.LocalIP,
		"-p", strconv.Itoa(spec.LocalPort),
		"-nostdin",
		"-trace_stat", "-stf", r.statFile,
		"-trace_err", "-error_file", r.errFile,
		"-timeout", fmt.Sprintf("%dms", spec.Timeout.Milliseconds()),
	)
	if spec.Inf != "" {
		abs, err := filepath.Abs(spec.Inf)
		if err != nil {
			t.Fatalf("sipp: %v", err)
		}
		// Give the file its base name in sipp's working directory, and pass
		// that name: lookup actions find an injection file by the name
		// given to -inf.
		base := filepath.Base(abs)
		if err := os.Symlink(abs, filepath.Join(dir, base)); err != nil {
			t.Fatalf("sipp: %v", err)
		}
		args = append(args, "-inf", base)
	}
	if !hasOption(spec.Args, "-mp") {
		args = append(args, "-mp", strconv.Itoa(freeMediaPort(t, spec.LocalIP)))
	}
	args = append(args, spec.Args...)

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = r.output
	cmd.Stderr = r.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.cmd = cmd
	r.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("sipp: %v", err)
	}
	go func() {
		r.waitErr = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.stop()
		}
	})
	return r
}

// Wait waits for sipp to exit, at most Timeout plus a short grace (then it
// stops it), and returns its final statistics. The error reports a run
// that did not finish, sipp failing before any statistics, or statistics
// that cannot be read.
func (r *SIPpRun) Wait() (Result, error) {
	r.once.Do(func() { r.result, r.err = r.wait() })
	return r.result, r.err
}

func (r *SIPpRun) wait() (Result, error) {
	var timedOut bool
	deadline := time.NewTimer(time.Until(r.started.Add(r.spec.Timeout + 5*time.Second)))
	defer deadline.Stop()
	select {
	case <-r.done:
	case <-deadline.C:
		timedOut = true
		r.stop()
	}

	res := Result{ExitCode: exitCode(r.waitErr), Elapsed: time.Since(r.started)}
	res.Errors = tailOfFile(r.errFile, 4<<10)
	stats, statErr := readStats(r.statFile)
	if statErr == nil {
		res.Successful = stats.int("SuccessfulCall(C)")
		res.Failed = stats.int("FailedCall(C)")
		res.Retransmissions = stats.int("Retransmissions(C)")
		res.OutOfCallMsgs = stats.int("OutOfCallMsgs(C)")
		if d, ok := stats.elapsed(); ok {
			res.Elapsed = d
		}
	}
	switch {
	case timedOut:
		return res, fmt.Errorf("still running after %s, stopped\n%s", r.spec.Timeout, r.describe(res))
	case res.ExitCode < 0 || res.ExitCode == 255 || res.ExitCode == 254:
		// -1: fatal error (bad scenario, bad option), -2: cannot bind.
		return res, fmt.Errorf("exit code %d\n%s", res.ExitCode, r.describe(res))
	case statErr != nil:
		return res, fmt.Errorf("exit code %d, statistics: %v\n%s", res.ExitCode, statErr, r.describe(res))
	}
	return res, nil
}

// stop ends sipp: SIGTERM first (it then writes its final statistics),
// SIGKILL if it does not leave within 3 s.
func (r *SIPpRun) stop() {
	if r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *SIPpRun) describe(res Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "command: sipp %s\n", strings.Join(r.cmd.Args[1:], " "))
	if res.Errors != "" {
		fmt.Fprintf(&b, "errors:\n%s\n", res.Errors)
	}
	fmt.Fprintf(&b, "output (tail):\n%s", r.output.String())
	return b.String()
}

// freeMediaPort finds an even port p on ip with p and p+2 free (sipp's
// audio and video echo sockets).
func freeMediaPort(t testing.TB, ip string) int {
	t.Helper()
	for range 50 {
		a, err := net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("free media port: %v", err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port &^ 1
		a.Close()
		if p+2 > 65535 {
			continue
		}
		ok := true
		var held []net.PacketConn
		for _, q := range []int{p, p + 2} {
			c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(q)))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatalf("no free media port pair on %s", ip)
	return 0
}

func hasOption(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

func isScenarioFile(s string) bool {
	return strings.ContainsRune(s, filepath.Separator) || strings.HasSuffix(s, ".xml")
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

// sippStats is the last line of a -trace_stat file, by column name.
type sippStats map[string]string

func (s sippStats) int(name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s[name]))
	return n
}

// elapsed is CurrentTime - StartTime. Both are "date<TAB>time<TAB>epoch.micro".
func (s sippStats) elapsed() (time.Duration, bool) {
	epoch := func(v string) (float64, bool) {
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		x, err := strconv.ParseFloat(f[len(f)-1], 64)
		return x, err == nil
	}
	start, ok1 := epoch(s["StartTime"])
	now, ok2 := epoch(s["CurrentTime"])
	if !ok1 || !ok2 || now < start {
		return 0, false
	}
	return time.Duration((now - start) * float64(time.Second)), true
}

// readStats parses sipp's statistics file: a header line of ';'-separated
// column names (SuccessfulCall(C), FailedCall(C), Retransmissions(C), ...)
// and one line per period, the last one written when sipp ends.
func readStats(path string) (sippStats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) < 2 {
		return nil, fmt.Errorf("%s: no statistics line", path)
	}
	header := strings.Split(lines[0], ";")
	values := strings.Split(lines[len(lines)-1], ";")
	stats := sippStats{}
	for i, name := range header {
		name = strings.TrimSpace(name)
		if name != "" && i < len(values) {
			stats[name] = values[i]
		}
	}
	if _, ok := stats["SuccessfulCall(C)"]; !ok {
		return nil, fmt.Errorf("%s: no SuccessfulCall(C) column", path)
	}
	return stats, nil
}

func tailOfFile(path string, max int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return strings.TrimSpace(string(data))
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
