package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/config"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/logging"
	"pbx/node"
	"pbx/queue"
)

// The contact center under load (issue 9), over real SIP on loopback.
// The PBX runs in the test process, alone in it but for the recorder of
// its events; every caller and every agent's phone is SIPp, in processes
// of their own, so the PBX's CPU and memory are the process's and SIPp's
// are measured apart:
//
//	go test -run XXX -bench Queue -benchtime 1x ./e2e/
//
// bench/queue.sh runs each benchmark in a process of its own (memory per
// leg is measured for the first run of a process only), once the machine
// is quiet.
//
// BenchmarkQueueLoad: 2,000 callers waiting in 10 queues, each hearing
// hold music, the position and estimated wait every 30 s and a periodic
// prompt every 20 s, while 200 agents (dynamic members, each in 3 queues)
// take calls: 20 new callers a second; an agent's phone rings 100 ms,
// talks 8.9 s and hangs up, then the agent wraps up 1 s: 20 calls a
// second answered.
//
// BenchmarkQueueFreeToRing: at 20, 200 and 2,000 agents in 50 queues,
// each agent in 10 of them, 500 callers waiting at first and 20 more a
// second; every call rings 100 ms and talks 0.9 s, and the wrap-up is
// long enough for 20 calls a second in each case (0, 9 s, 99 s), so the
// load is the same and only the size differs.
//
// Both measure the time from an agent becoming free (the
// agent.state_changed "idle" that ends its wrap-up) to its phone ringing
// (leg.ringing of the call the queue places to it: the INVITE reached
// SIPp, whose 180 is back), counting only agents for whom a caller was
// already waiting; and the PBX's CPU, memory and garbage collection over
// the window, SIPp's CPU apart.
//
// Each run takes as long as the agents need to log in at 20 a second
// (10 s for 200, 100 s for 2,000) plus 2 s of settling and a measuring
// window (QUEUE_BENCH_WINDOW; default 60 s for the load, 30 s for each
// size), then everything it started stops. The figures are printed;
// b.ReportMetric repeats the main ones. QUEUE_BENCH_PROFILE=DIR saves a
// CPU profile of the window and a heap profile at its end.
//
// TestQueueBenchSmoke runs the same rig small (4 agents, 2 queues, 1 s
// window, about 2 s in all), so the scenarios, the configuration and the
// measurements keep working.

// qbSpec is one load.
type qbSpec struct {
	Queues   int
	Agents   int
	PerAgent int // queues each agent is a member of (penalties 0, 1, 2 in turn)

	Backlog     int // callers who join before any agent logs in
	BacklogRate int // calls/s of those
	Rate        int // new callers a second once agents log in; agents log in at the same rate

	Talk     time.Duration // the agent's phone hangs up after this long
	Wrapup   time.Duration // every queue's wrap-up
	Announce bool          // position, estimated wait and periodic prompts

	Settle time.Duration // after the last login, before the window
	Window time.Duration // what is measured

	// RFCTimers runs SIP with the RFC 3261 timers (T1 500 ms) instead of
	// the short ones the e2e package's tests use.
	RFCTimers bool
}

// qbStrategies are given to the queues in turn (none rings several agents
// at once, so every offer is one agent's).
var qbStrategies = []string{
	"longest-idle-agent", "rrmemory", "leastrecent", "fewestcalls", "random",
	"linear", "agent-with-least-talk-time", "agent-with-fewest-calls", "top-down", "wrandom",
}

// qbAgentID is agent i's id and contact: the dial plan sends numbers
// starting with 8 to SIPp's agent phones.
func qbAgentID(i int) string { return strconv.Itoa(800000 + i) }

// qbDID is the number a caller dials to join queue q.
func qbDID(q int) string { return strconv.Itoa(6000 + q) }

// qbConfig is the PBX's configuration for a load: a trunk from SIPp's
// callers (recognised by their source address 127.0.0.2) whose numbers
// lead into the queues, a trunk to SIPp's agent phones, the agents and the
// queues.
func qbConfig(s qbSpec, agentsPort int) string {
	var b strings.Builder
	b.WriteString(qbConfigHead("queue-bench"))
	b.WriteString(`trunks:
  - name: callers
    host: "127.0.0.2:5060"
    inbound_cidrs: [127.0.0.2/32]
    dids:
`)
	for q := range s.Queues {
		fmt.Fprintf(&b, "      - exact: %q\n        target: queue:q%02d\n", qbDID(q), q)
	}
	fmt.Fprintf(&b, `  - name: agents
    host: "127.0.0.1:%d"
dialplan:
  - name: agents
    prefix: "8"
    target: trunk:agents
agents:
`, agentsPort)
	members := make([][]string, s.Queues)
	stride := max(1, s.Queues/s.PerAgent)
	for i := range s.Agents {
		id := qbAgentID(i)
		fmt.Fprintf(&b, "  - id: %q\n    contact: %q\n", id, id)
		for j := range s.PerAgent {
			q := (i + j*stride) % s.Queues
			members[q] = append(members[q], fmt.Sprintf("      - {agent: %q, penalty: %d}\n", id, j%3))
		}
	}
	b.WriteString("queues:\n")
	for q := range s.Queues {
		fmt.Fprintf(&b, "  - name: q%02d\n    strategy: %s\n    weight: %d\n    ring_timeout: 15s\n    retry: 1s\n    wrapup: %s\n    music: default\n",
			q, qbStrategies[q%len(qbStrategies)], q%3, s.Wrapup)
		if s.Announce {
			b.WriteString("    announce: please-hold\n    announce_every: 30s\n    position: true\n    hold_time: true\n" +
				"    periodic: [thank-you-for-waiting, your-call-will-be-answered]\n    periodic_every: 20s\n")
		}
		if len(members[q]) > 0 {
			b.WriteString("    members:\n")
			for _, m := range members[q] {
				b.WriteString(m)
			}
		}
	}
	return b.String()
}

// qbConfigHead is what the benchmarks' PBXs share in their
// configuration, named node: SIP on loopback without qualify, no HTTP,
// PCMU without RTP timeouts or in-band DTMF, the contact center without a
// shutdown prompt.
func qbConfigHead(node string) string {
	return `node: ` + node + `
log:
  level: warn
sip:
  udp: "127.0.0.1:5060"
  tcp: ""
  external_ip: "127.0.0.1"
  qualify_every: 0s
http:
  listen: ""
media:
  rtp_timeout: 0s
  codecs: [PCMU]
  inband_dtmf: false
calls:
  ring_timeout: 15s
  drain_timeout: 5s
security:
  allow: [127.0.0.0/8]
contact_center:
  shutdown_prompt: ""
`
}

// qbDIDsFile writes the SIPp injection file of the callers: one queue's
// number a line, for queues 0 to n-1, in turn.
func qbDIDsFile(tb testing.TB, n int) string {
	tb.Helper()
	dids := filepath.Join(tb.TempDir(), "queue_dids.csv")
	var csv strings.Builder
	csv.WriteString("SEQUENTIAL\n")
	for q := range n {
		csv.WriteString(qbDID(q) + ";\n")
	}
	if err := os.WriteFile(dids, []byte(csv.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dids
}

// qbStartPBX starts the PBX of a load in the test process: its own
// loopback ports, logs at warn (to stderr with PBX_TEST_LOG set, else
// nowhere), a temporary data directory. It is stopped at the end of the
// test unless stopped before.
func qbStartPBX(tb testing.TB, yaml string) (*node.Node, func()) {
	tb.Helper()
	cfg, err := config.Parse("queue-bench.yaml", []byte(yaml))
	if err != nil {
		tb.Fatalf("bench config: %v", err)
	}
	cfg.SIP.UDP, cfg.SIP.TCP, cfg.SIP.TLS = "127.0.0.1:0", "", ""
	if cfg.AgentRPC.Listen != "" {
		cfg.AgentRPC.Listen = "127.0.0.1:0" // never the fixed default port: tests run side by side
	}
	if cfg.ECCP.Listen != "" {
		cfg.ECCP.Listen = "127.0.0.1:0"
	}
	cfg.Media.RTPPortMin, cfg.Media.RTPPortMax = 0, 0 // the kernel's ports: tests running meanwhile hold some of any fixed range
	var w io.Writer = io.Discard
	if os.Getenv("PBX_TEST_LOG") != "" {
		w = os.Stderr
	}
	n, err := node.New(cfg, node.Options{DataDir: tb.TempDir(), Logs: logging.NewLoggers(w, false, "warn", nil), MediaIP: "127.0.0.1"})
	if err != nil {
		tb.Fatalf("new pbx: %v", err)
	}
	if err := n.Start(context.Background()); err != nil {
		tb.Fatalf("start pbx: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := n.Shutdown(ctx); err != nil {
				tb.Errorf("shutdown: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return n, stop
}

// qbSample is one agent's way from free to ringing.
type qbSample struct {
	free    time.Time     // agent.state_changed idle
	created time.Duration // to leg.created of the call to the agent (the queue decided, the engine placed it)
	ring    time.Duration // to leg.ringing of that call (its INVITE reached the phone, whose 180 is back)
	login   bool          // free because the agent logged in (not after a call)
}

// qbAgentTrack is what the recorder knows of one agent.
type qbAgentTrack struct {
	state   string
	free    time.Time
	pending bool // free, its ring not seen yet
	login   bool
	offered bool
	valid   bool // a caller was waiting for it when it became free
	leg     string
	created time.Time
}

// qbRecorder follows the engine's events and measures free-to-ring.
type qbRecorder struct {
	sub  *dialog.Subscription
	done chan struct{}

	mu        sync.Mutex
	agents    map[string]*qbAgentTrack
	joinedAt  map[string]time.Time // waiting callers by leg
	legAgent  map[string]string    // calls to agents by leg
	samples   []qbSample
	waited    []time.Time // free with nobody waiting for the agent: the ring came when a caller joined
	noRinging []time.Time // free, and the call to the agent was answered with no leg.ringing
	joined    int
	answered  []time.Time // queue.agent_connected
	left      map[string]int
	lagged    bool
	noAnswers int
}

func qbRecord(tb testing.TB, e *dialog.Engine) *qbRecorder {
	tb.Helper()
	sub, err := e.Subscribe(dialog.EventFilter{Buffer: qbRecorderBuffer, Kinds: []dialog.EventKind{
		queue.EventAgentStateChanged, queue.EventAgentOffered, queue.EventJoined, queue.EventLeft,
		queue.EventAgentConnected, queue.EventAgentNoAnswer, dialog.EventLegCreated, dialog.EventLegRinging, dialog.EventLegAnswered,
	}})
	if err != nil {
		tb.Fatalf("subscribe: %v", err)
	}
	r := &qbRecorder{sub: sub, done: make(chan struct{}), agents: map[string]*qbAgentTrack{},
		joinedAt: map[string]time.Time{}, legAgent: map[string]string{}, left: map[string]int{}}
	go r.run()
	tb.Cleanup(r.stop)
	return r
}

func (r *qbRecorder) stop() {
	r.sub.Close()
	<-r.done
}

func (r *qbRecorder) run() {
	defer close(r.done)
	for ev := range r.sub.C {
		r.mu.Lock()
		r.event(ev)
		r.mu.Unlock()
	}
}

func (r *qbRecorder) agent(id string) *qbAgentTrack {
	a := r.agents[id]
	if a == nil {
		a = &qbAgentTrack{state: queue.StateLoggedOut}
		r.agents[id] = a
	}
	return a
}

func (r *qbRecorder) event(ev dialog.Event) {
	switch ev.Kind {
	case dialog.EventLagged:
		r.lagged = true
	case queue.EventJoined:
		r.joined++
		r.joinedAt[ev.LegID] = ev.Time
	case queue.EventLeft:
		delete(r.joinedAt, ev.LegID)
		r.left[ev.Cause]++
	case queue.EventAgentConnected:
		r.answered = append(r.answered, ev.Time)
	case queue.EventAgentNoAnswer:
		r.noAnswers++
	case queue.EventAgentStateChanged:
		a := r.agent(ev.Agent)
		if ev.State == queue.StateIdle {
			*a = qbAgentTrack{state: ev.State, free: ev.Time, pending: true, login: a.state == queue.StateLoggedOut}
			return
		}
		if ev.State != queue.StateRinging {
			a.pending = false
		}
		a.state = ev.State
	case queue.EventAgentOffered:
		a := r.agent(ev.Agent)
		if !a.pending || a.offered {
			return
		}
		a.offered = true
		joined, ok := r.joinedAt[ev.LegID]
		a.valid = ok && joined.Before(a.free)
		if !a.valid {
			r.waited = append(r.waited, a.free)
		}
	case dialog.EventLegCreated:
		if !strings.HasPrefix(ev.Context, "queue:") {
			return
		}
		a := r.agents[ev.To]
		if a == nil || !a.pending || !a.offered || a.leg != "" {
			return
		}
		a.leg, a.created = ev.LegID, ev.Time
		r.legAgent[ev.LegID] = ev.To
	case dialog.EventLegAnswered:
		id, ok := r.legAgent[ev.LegID]
		if !ok {
			return
		}
		// Answered with no leg.ringing: the engine reports a leg ringing
		// only while no answer has overtaken the 180.
		delete(r.legAgent, ev.LegID)
		if a := r.agents[id]; a.pending && a.leg == ev.LegID {
			a.pending = false
			if a.valid {
				r.noRinging = append(r.noRinging, a.free)
			}
		}
	case dialog.EventLegRinging:
		id, ok := r.legAgent[ev.LegID]
		if !ok {
			return
		}
		delete(r.legAgent, ev.LegID)
		a := r.agents[id]
		if a.pending && a.leg == ev.LegID {
			a.pending = false
			if a.valid {
				r.samples = append(r.samples, qbSample{free: a.free, created: a.created.Sub(a.free), ring: ev.Time.Sub(a.free), login: a.login})
			}
		}
	}
}

// qbCounts is what the recorder has seen so far.
func (r *qbRecorder) counts() (joined, waiting int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joined, len(r.joinedAt)
}

// qbRecorderBuffer is the recorder's subscription buffer, in events.
const qbRecorderBuffer = 8192

// Runtime metrics read around the window.
const (
	qbGCCPU        = "/cpu/classes/gc/total:cpu-seconds"
	qbGCCycles     = "/gc/cycles/total:gc-cycles"
	qbHeapLive     = "/gc/heap/live:bytes"
	qbHeapObjects  = "/memory/classes/heap/objects:bytes"
	qbRuntimeTotal = "/memory/classes/total:bytes"
)

// qbSchedLatency is the Go scheduler's histogram of the time goroutines
// spent ready to run before they ran.
const qbSchedLatency = "/sched/latencies:seconds"

func qbSchedHist() *metrics.Float64Histogram {
	x := []metrics.Sample{{Name: qbSchedLatency}}
	metrics.Read(x)
	if x[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return x[0].Value.Float64Histogram()
}

// qbHistPct is the p-th quantile of the samples b has that a had not
// (the upper bound of the bucket it falls in).
func qbHistPct(a, b *metrics.Float64Histogram, p float64) time.Duration {
	if a == nil || b == nil || len(a.Counts) != len(b.Counts) {
		return 0
	}
	var total uint64
	for i := range b.Counts {
		total += b.Counts[i] - a.Counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := uint64(float64(total)*p + 0.999999)
	var n uint64
	for i := range b.Counts {
		n += b.Counts[i] - a.Counts[i]
		if n >= rank {
			return time.Duration(b.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

func qbRuntime() map[string]float64 {
	samples := []metrics.Sample{{Name: qbGCCPU}, {Name: qbGCCycles}, {Name: qbHeapLive}, {Name: qbHeapObjects}, {Name: qbRuntimeTotal}}
	metrics.Read(samples)
	out := map[string]float64{}
	for _, x := range samples {
		switch x.Value.Kind() {
		case metrics.KindUint64:
			out[x.Name] = float64(x.Value.Uint64())
		case metrics.KindFloat64:
			out[x.Name] = x.Value.Float64()
		}
	}
	return out
}

// qbProcCPU is a process's CPU time (user + system) from /proc, in clock
// ticks of 10 ms (USER_HZ is 100 on Linux).
func qbProcCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

// qbSelfCPU is this process's CPU time, from getrusage (microseconds).
func qbSelfCPU() time.Duration { return qbRusageCPU(syscall.RUSAGE_SELF) }

// qbRusageCPU is the CPU time (user + system) getrusage reports for who:
// this process (RUSAGE_SELF) or its children waited for (RUSAGE_CHILDREN).
func qbRusageCPU(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// qbMachineBusy is the CPU time the whole machine spent not idle, from
// /proc/stat (user, nice, system, irq, softirq, steal).
func qbMachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	var t int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		if i < len(f) {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			t += v
		}
	}
	return time.Duration(t) * 10 * time.Millisecond
}

// qbUDPDrops is the datagrams dropped on the UDP sockets bound to a
// port, from /proc/net/udp (the last column).
func qbUDPDrops(port uint16) int64 {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0
	}
	var n int64
	suffix := fmt.Sprintf(":%04X", port)
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 13 || !strings.HasSuffix(f[1], suffix) {
			continue
		}
		d, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		n += d
	}
	return n
}

// qbStatusKB is a field of /proc/self/status in kB (VmRSS, VmHWM).
func qbStatusKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// qbChildPID finds the sipp this process started on a SIP port.
func qbChildPID(port int) int {
	self := os.Getpid()
	want := []byte("\x00-p\x00" + strconv.Itoa(port) + "\x00")
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(self) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if bytes.Contains(cmd, want) {
			return pid
		}
	}
	return 0
}

// qbSIPp is one sipp of a load.
type qbSIPp struct {
	role string
	port int
	run  *testkit.SIPpRun
	pid  int
}

func qbStartSIPp(tb testing.TB, role string, spec testkit.SIPp) *qbSIPp {
	tb.Helper()
	if spec.LocalPort == 0 {
		spec.LocalPort = testkit.FreeUDPPort(tb)
	}
	spec.Args = append(spec.Args, "-max_recv_loops", "10000", "-max_sched_loops", "10000", "-buff_size", "1048576")
	s := &qbSIPp{role: role, port: spec.LocalPort, run: spec.Start(tb)}
	deadline := time.Now().Add(2 * time.Second)
	for s.pid == 0 && time.Now().Before(deadline) {
		if s.pid = qbChildPID(s.port); s.pid == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if s.pid == 0 {
		tb.Fatalf("sipp %s on port %d: no such process", role, s.port)
	}
	return s
}

// qbRuns counts the loads run in this process.
var qbRuns atomic.Int32

// qbResult is what one load measured.
type qbResult struct {
	Spec            qbSpec
	Window          time.Duration
	Free            []qbSample // in the window, a caller waiting for the agent
	FromLogin       int        // of those, free because the agent logged in
	WaitedForCaller int        // free in the window with nobody waiting for the agent
	NoRinging       int        // free in the window, the call answered with no leg.ringing (not counted)
	Answered        int        // calls answered in the window
	Joined          int        // callers who joined in the window
	WaitingStart    int
	WaitingEnd      int
	Talking         int // agents on a call at the end of the window
	PBXCores        float64
	SIPpCores       map[string]float64
	OtherCores      float64
	RSSKB, HWMKB    int64
	BaseRSSKB       int64   // after the PBX started, before any call
	BaseHeapLive    uint64  // the same, after a GC
	Earlier         bool    // an earlier run in this process: memory figures include what it left
	Drops           int64   // datagrams the PBX's SIP socket dropped (full receive buffer)
	SIPpDrops       int64   // the same, on SIPp's SIP sockets
	HeapLive        uint64  // live heap marked by the last GC
	HeapObjects     uint64  // heap objects, live or not yet swept
	RuntimeTotal    uint64  // all memory the Go runtime mapped
	GCShare         float64 // of the process's CPU in the window
	NumGC           int     // GC cycles in the window
	Goroutines      int
	SchedP50        time.Duration // how long a goroutine ready to run waited for a thread (Go's scheduler), in the window
	SchedP99        time.Duration
	SchedP999       time.Duration
	Legs            int
	Left            map[string]int
	NoAnswers       int
	SIPp            map[string]testkit.Result
	LoadStart       string
	LoadEnd         string
}

// qbRun runs one load and returns what it measured.
func qbRun(tb testing.TB, s qbSpec) qbResult {
	tb.Helper()
	if s.RFCTimers {
		sipmsg.SetTimers(500*time.Millisecond, 4*time.Second, 5*time.Second)
		defer sipmsg.SetTimers(100*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	}
	ramp := time.Duration(s.Agents) * time.Second / time.Duration(s.Rate)
	total := s.Backlog/max(1, s.BacklogRate) + int((ramp+s.Settle+s.Window)/time.Second) + 60
	sippTimeout := time.Duration(total) * time.Second

	agentsPort := testkit.FreeUDPPort(tb)
	n, stopPBX := qbStartPBX(tb, qbConfig(s, agentsPort))
	cc := n.Queues()
	rec := qbRecord(tb, n.Engine())
	pbx := n.SIPAddr("UDP").String()

	dids := qbDIDsFile(tb, s.Queues)

	runtime.GC()
	baseRSS, baseLive := qbStatusKB("VmRSS"), qbRuntime()[qbHeapLive]
	earlier := qbRuns.Add(1) > 1

	agents := qbStartSIPp(tb, "agents", testkit.SIPp{Scenario: testkit.ScenarioPath("queue_agent.xml"), LocalIP: "127.0.0.1", LocalPort: agentsPort,
		Args: []string{"-d", strconv.Itoa(int(s.Talk / time.Millisecond)), "-l", "100000"}, Timeout: sippTimeout})
	caller := func(role string, rate, count int) *qbSIPp {
		return qbStartSIPp(tb, role, testkit.SIPp{Scenario: testkit.ScenarioPath("queue_caller.xml"), Remote: pbx, LocalIP: "127.0.0.2",
			Inf: dids, Args: []string{"-r", strconv.Itoa(rate), "-m", strconv.Itoa(count), "-l", "100000"}, Timeout: sippTimeout})
	}
	sipps := []*qbSIPp{agents}

	// The backlog joins first, with nobody to answer.
	if s.Backlog > 0 {
		sipps = append(sipps, caller("backlog", s.BacklogRate, s.Backlog))
		deadline := time.Now().Add(time.Duration(s.Backlog/s.BacklogRate)*time.Second + 30*time.Second)
		for {
			if joined, _ := rec.counts(); joined >= s.Backlog {
				break
			}
			if time.Now().After(deadline) {
				joined, _ := rec.counts()
				tb.Fatalf("only %d of %d callers joined the queues", joined, s.Backlog)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// New callers from now to the end of the window; agents log in.
	steady := int(time.Duration(s.Rate) * (ramp + s.Settle + s.Window) / time.Second)
	sipps = append(sipps, caller("callers", s.Rate, steady))
	loginsDone := make(chan struct{})
	go func() {
		defer close(loginsDone)
		tick := time.NewTicker(time.Second / time.Duration(s.Rate))
		defer tick.Stop()
		for i := range s.Agents {
			if i > 0 {
				<-tick.C
			}
			if err := cc.Login(context.Background(), qbAgentID(i), queue.LoginOptions{}); err != nil {
				tb.Errorf("login %s: %v", qbAgentID(i), err)
				return
			}
		}
	}()
	<-loginsDone
	time.Sleep(s.Settle)

	// The window.
	type snap struct {
		at     time.Time
		self   time.Duration
		sipp   map[string]time.Duration
		busy   time.Duration
		joined int
		rt     map[string]float64
		sched  *metrics.Float64Histogram
	}
	take := func() snap {
		sn := snap{at: time.Now(), self: qbSelfCPU(), busy: qbMachineBusy(), sipp: map[string]time.Duration{}}
		for _, p := range sipps {
			if c, ok := qbProcCPU(p.pid); ok {
				sn.sipp[p.role] = c
			}
		}
		sn.rt = qbRuntime()
		sn.sched = qbSchedHist()
		sn.joined, _ = rec.counts()
		return sn
	}
	res := qbResult{Spec: s, SIPpCores: map[string]float64{}, SIPp: map[string]testkit.Result{}, LoadStart: qbLoadAvg()}
	_, res.WaitingStart = rec.counts()
	prof := qbProfile(tb)
	a := take()
	time.Sleep(s.Window)
	b := take()
	prof()
	_, res.WaitingEnd = rec.counts()
	res.LoadEnd = qbLoadAvg()
	secs := b.at.Sub(a.at).Seconds()
	res.Window = b.at.Sub(a.at)
	res.PBXCores = (b.self - a.self).Seconds() / secs
	var sippCPU time.Duration
	for role, c := range b.sipp {
		if c0, ok := a.sipp[role]; ok {
			res.SIPpCores[role] = (c - c0).Seconds() / secs
			sippCPU += c - c0
		}
	}
	res.OtherCores = max(0, (b.busy-a.busy-(b.self-a.self)-sippCPU).Seconds()/secs)
	res.Joined = b.joined - a.joined
	res.RSSKB, res.HWMKB = qbStatusKB("VmRSS"), qbStatusKB("VmHWM")
	res.BaseRSSKB, res.BaseHeapLive, res.Earlier = baseRSS, uint64(baseLive), earlier
	res.Drops = qbUDPDrops(n.SIPAddr("UDP").Port())
	for _, p := range sipps {
		res.SIPpDrops += qbUDPDrops(uint16(p.port))
	}
	res.HeapLive = uint64(b.rt[qbHeapLive])
	res.HeapObjects = uint64(b.rt[qbHeapObjects])
	res.RuntimeTotal = uint64(b.rt[qbRuntimeTotal])
	res.GCShare = (b.rt[qbGCCPU] - a.rt[qbGCCPU]) / (b.self - a.self).Seconds()
	res.NumGC = int(b.rt[qbGCCycles] - a.rt[qbGCCycles])
	res.Goroutines = runtime.NumGoroutine()
	res.SchedP50, res.SchedP99, res.SchedP999 = qbHistPct(a.sched, b.sched, .5), qbHistPct(a.sched, b.sched, .99), qbHistPct(a.sched, b.sched, .999)
	res.Legs = n.Engine().LegCount()
	for _, st := range cc.Agents() {
		if st.State == queue.StateOnCall {
			res.Talking++
		}
	}
	rec.mu.Lock()
	for _, x := range rec.samples {
		if !x.free.Before(a.at) && x.free.Before(b.at) {
			res.Free = append(res.Free, x)
			if x.login {
				res.FromLogin++
			}
		}
	}
	for _, t := range rec.waited {
		if !t.Before(a.at) && t.Before(b.at) {
			res.WaitedForCaller++
		}
	}
	for _, t := range rec.noRinging {
		if !t.Before(a.at) && t.Before(b.at) {
			res.NoRinging++
		}
	}
	for _, t := range rec.answered {
		if !t.Before(a.at) && t.Before(b.at) {
			res.Answered++
		}
	}
	res.Left = maps.Clone(rec.left)
	res.NoAnswers = rec.noAnswers
	if rec.lagged {
		tb.Errorf("the event recorder fell behind the engine")
	}
	rec.mu.Unlock()

	// Let the last callers in, then stop: waiting callers and calls in
	// progress are hung up, and each sipp ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if joined, _ := rec.counts(); joined >= s.Backlog+steady || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Agents take no more calls and finish those they have, then the
	// PBX stops: the contact center hangs up the callers still waiting,
	// and each sipp ends. (Hanging calls up from the PBX's side would
	// cross the agents' own BYEs.)
	for i := range s.Agents {
		if err := cc.Pause(qbAgentID(i), "", "bench over"); err != nil {
			tb.Errorf("pause %s: %v", qbAgentID(i), err)
		}
	}
	deadline = time.Now().Add(s.Talk + 20*time.Second)
	for {
		busy := 0
		for _, st := range cc.Agents() {
			if st.State != queue.StatePaused {
				busy++
			}
		}
		if busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			tb.Errorf("%d agents still busy %s after they were paused", busy, s.Talk+20*time.Second)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopPBX()
	for _, p := range sipps {
		if p.role == "agents" {
			syscall.Kill(p.pid, syscall.SIGTERM) // it answers until told; the PBX is gone
		}
		r, err := p.run.Wait()
		if err != nil {
			tb.Errorf("sipp %s: %v", p.role, err)
		}
		res.SIPp[p.role] = r
	}
	return res
}

func qbLoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// qbPct is the p-th percentile (nearest rank) of ds, sorted.
func qbPct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*p+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func qbMS(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// stats are the free-to-created, free-to-ring and created-to-ring times
// of a result, each sorted.
func (r qbResult) stats() (created, ring, invite []time.Duration) {
	for _, x := range r.Free {
		created = append(created, x.created)
		ring = append(ring, x.ring)
		invite = append(invite, x.ring-x.created)
	}
	slices.Sort(created)
	slices.Sort(ring)
	slices.Sort(invite)
	return created, ring, invite
}

// report prints a result as the README's figures need them.
func (r qbResult) report(tb testing.TB, name string) {
	created, ring, invite := r.stats()
	var b strings.Builder
	s := r.Spec
	fmt.Fprintf(&b, "\n== %s: %d queues, %d agents (%d queues each), %d callers waiting at first, %d new/s, talk %s, wrap-up %s, announcements %v\n",
		name, s.Queues, s.Agents, s.PerAgent, s.Backlog, s.Rate, s.Talk, s.Wrapup, s.Announce)
	fmt.Fprintf(&b, "window %.1f s; load average %s -> %s\n", r.Window.Seconds(), r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "callers waiting %d -> %d; joined %.1f/s; answered %.1f/s; agents on a call %d; legs %d\n",
		r.WaitingStart, r.WaitingEnd, float64(r.Joined)/r.Window.Seconds(), float64(r.Answered)/r.Window.Seconds(), r.Talking, r.Legs)
	fmt.Fprintf(&b, "free -> ring (leg.ringing): n %d (after login %d), p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n",
		len(ring), r.FromLogin, qbMS(qbPct(ring, .5)), qbMS(qbPct(ring, .9)), qbMS(qbPct(ring, .99)), qbMS(qbPct(ring, 1)))
	fmt.Fprintf(&b, "free -> call placed (leg.created): p50 %s ms, p99 %s ms, max %s ms; free with no caller for the agent (not counted): %d\n",
		qbMS(qbPct(created, .5)), qbMS(qbPct(created, .99)), qbMS(qbPct(created, 1)), r.WaitedForCaller)
	fmt.Fprintf(&b, "call placed -> ring (INVITE out, 180 back): p50 %s ms, p99 %s ms, max %s ms\n",
		qbMS(qbPct(invite, .5)), qbMS(qbPct(invite, .99)), qbMS(qbPct(invite, 1)))
	if r.NoRinging > 0 {
		fmt.Fprintf(&b, "calls to agents answered with no leg.ringing (not counted): %d\n", r.NoRinging)
	}
	cpuPerCall := 0.0
	if r.Answered > 0 {
		cpuPerCall = r.PBXCores * r.Window.Seconds() / float64(r.Answered) * 1000
	}
	roles := make([]string, 0, len(r.SIPpCores))
	for role := range r.SIPpCores {
		roles = append(roles, role)
	}
	slices.Sort(roles)
	var sipp []string
	for _, role := range roles {
		sipp = append(sipp, fmt.Sprintf("%s %.2f", role, r.SIPpCores[role]))
	}
	fmt.Fprintf(&b, "CPU cores: PBX %.2f (%.1f ms per answered call), SIPp %s, other processes %.2f\n", r.PBXCores, cpuPerCall, strings.Join(sipp, ", "), r.OtherCores)
	fmt.Fprintf(&b, "Go scheduler, ready goroutine to running: p50 %s ms, p99 %s ms, p99.9 %s ms\n", qbMS(r.SchedP50), qbMS(r.SchedP99), qbMS(r.SchedP999))
	fmt.Fprintf(&b, "memory: RSS %.1f MB (peak %.1f MB); Go heap: live %.1f MB, objects %.1f MB, runtime total %.1f MB (the recorder's event buffer, %.1f MB, included); GC %.1f%% of the PBX's CPU (%d cycles); goroutines %d\n",
		float64(r.RSSKB)/1024, float64(r.HWMKB)/1024, float64(r.HeapLive)/(1<<20), float64(r.HeapObjects)/(1<<20), float64(r.RuntimeTotal)/(1<<20),
		float64(qbRecorderBuffer*unsafe.Sizeof(dialog.Event{}))/(1<<20), r.GCShare*100, r.NumGC, r.Goroutines)
	switch {
	case r.Earlier:
		b.WriteString("memory per leg: not measured (an earlier run in this process left memory that is still being freed; run each benchmark alone, as bench/queue.sh does)\n")
	case r.Legs > 0:
		fmt.Fprintf(&b, "memory over the idle PBX (RSS %.1f MB, live heap %.1f MB): %.1f KB RSS and %.1f KB live heap per leg\n",
			float64(r.BaseRSSKB)/1024, float64(r.BaseHeapLive)/(1<<20),
			float64(r.RSSKB-r.BaseRSSKB)/float64(r.Legs), (float64(r.HeapLive)-float64(r.BaseHeapLive))/1024/float64(r.Legs))
	}
	fmt.Fprintf(&b, "SIP datagrams dropped by the kernel: PBX %d, SIPp %d (whole run)\n", r.Drops, r.SIPpDrops)
	fmt.Fprintf(&b, "left the queues (to the end of the window): %v; offers not answered %d\n", r.Left, r.NoAnswers)
	for _, role := range []string{"agents", "backlog", "callers"} {
		if x, ok := r.SIPp[role]; ok {
			fmt.Fprintf(&b, "sipp %s: %d successful, %d failed, %d retransmissions, exit %d\n", role, x.Successful, x.Failed, x.Retransmissions, x.ExitCode)
		}
	}
	// A benchmark's log is cut to ten lines: print to the output.
	if _, ok := tb.(*testing.B); ok {
		fmt.Print(b.String())
		return
	}
	tb.Log(b.String())
}

// qbMachine is the machine line of the results.
func qbMachine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	sipp := "?"
	out, _ := exec.Command("sipp", "-v").CombinedOutput() // sipp -v exits with 1
	if len(out) > 0 {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "SIPp v") {
				sipp = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(l), "."))
				break
			}
		}
	}
	return fmt.Sprintf("machine: %d CPUs, %s, kernel %s, %s, %s, open-file limit %d, load average %s",
		runtime.NumCPU(), model, strings.TrimSpace(string(kernel)), runtime.Version(), sipp, lim.Cur, qbLoadAvg())
}

// qbProfile, with QUEUE_BENCH_PROFILE=DIR, profiles the process's CPU
// over the window and takes a heap profile at its end, in DIR as
// NAME.cpu.pb.gz and NAME.heap.pb.gz (NAME from the benchmark's name);
// read with go tool pprof.
func qbProfile(tb testing.TB) (stop func()) {
	dir := os.Getenv("QUEUE_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	name := strings.NewReplacer("/", "_", "=", "").Replace(tb.Name())
	cpu, err := os.Create(filepath.Join(dir, name+".cpu.pb.gz"))
	if err != nil {
		tb.Fatalf("profile: %v", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		tb.Fatalf("profile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		heap, err := os.Create(filepath.Join(dir, name+".heap.pb.gz"))
		if err != nil {
			tb.Fatalf("profile: %v", err)
		}
		defer heap.Close()
		if err := pprof.Lookup("heap").WriteTo(heap, 0); err != nil {
			tb.Fatalf("profile: %v", err)
		}
		tb.Logf("profiles: %s.{cpu,heap}.pb.gz in %s", name, dir)
	}
}

// qbWindow is the duration in the environment variable env (such as
// QUEUE_BENCH_WINDOW), or dflt.
func qbWindow(tb testing.TB, env string, dflt time.Duration) time.Duration {
	if v := os.Getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			tb.Fatalf("%s=%q: want a duration such as %s", env, v, dflt)
		}
		return d
	}
	return dflt
}

func (r qbResult) metrics(b *testing.B) {
	_, ring, _ := r.stats()
	b.ReportMetric(float64(qbPct(ring, .5))/1e6, "free-ring-p50-ms")
	b.ReportMetric(float64(qbPct(ring, .99))/1e6, "free-ring-p99-ms")
	b.ReportMetric(r.PBXCores, "pbx-cores")
	b.ReportMetric(float64(r.RSSKB)/1024, "rss-MB")
	b.ReportMetric(float64(r.HeapLive)/(1<<20), "live-heap-MB")
	b.ReportMetric(float64(r.Answered)/r.Window.Seconds(), "answered/s")
}

// qbCheck fails a run that did not do what the load says: no call
// answered, samples missing, or calls failed.
func (r qbResult) check(tb testing.TB) {
	tb.Helper()
	if len(r.Free) == 0 || r.Answered == 0 {
		tb.Errorf("nothing measured: %d free-to-ring samples, %d calls answered", len(r.Free), r.Answered)
	}
	for role, x := range r.SIPp {
		if x.Failed > 0 {
			tb.Errorf("sipp %s: %d calls failed\n%s", role, x.Failed, x.Errors)
		}
	}
}

func BenchmarkQueueLoad(b *testing.B) {
	fmt.Println(qbMachine())
	r := qbRun(b, qbSpec{
		Queues: 10, Agents: 200, PerAgent: 3,
		Backlog: 2000, BacklogRate: 200, Rate: 20,
		Talk: 8900 * time.Millisecond, Wrapup: time.Second, Announce: true,
		Settle: 2 * time.Second, Window: qbWindow(b, "QUEUE_BENCH_WINDOW", time.Minute), RFCTimers: true,
	})
	r.report(b, "BenchmarkQueueLoad")
	r.metrics(b)
	r.check(b)
}

func BenchmarkQueueFreeToRing(b *testing.B) {
	fmt.Println(qbMachine())
	const rate = 20
	talk := 900 * time.Millisecond // and 100 ms of ringing
	for _, n := range []int{20, 200, 2000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			// Each agent's cycle (talk, wrap-up) lasts n/rate seconds: 20
			// calls a second whatever the number of agents.
			wrap := time.Duration(n)*time.Second/rate - talk - 100*time.Millisecond
			r := qbRun(b, qbSpec{
				Queues: 50, Agents: n, PerAgent: 10,
				Backlog: 500, BacklogRate: 200, Rate: rate,
				Talk: talk, Wrapup: wrap, Announce: true,
				Settle: 2 * time.Second, Window: qbWindow(b, "QUEUE_BENCH_WINDOW", 30*time.Second), RFCTimers: true,
			})
			r.report(b, fmt.Sprintf("BenchmarkQueueFreeToRing/agents=%d", n))
			r.metrics(b)
			r.check(b)
		})
	}
}

// TestQueueBenchSmoke runs the benchmarks' rig small: callers join two
// queues, four agents log in and take calls, and the free-to-ring time
// is measured.
func TestQueueBenchSmoke(t *testing.T) {
	r := qbRun(t, qbSpec{
		Queues: 2, Agents: 4, PerAgent: 2,
		Backlog: 10, BacklogRate: 50, Rate: 10,
		Talk: 200 * time.Millisecond, Wrapup: 200 * time.Millisecond, Announce: true,
		Settle: 300 * time.Millisecond, Window: time.Second,
	})
	if testing.Verbose() {
		r.report(t, "smoke")
	}
	r.check(t)
}
