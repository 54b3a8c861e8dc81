package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pbx/campaign"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// ECCP's event fan-out under a call load (issue 12), over real sockets
// on loopback:
//
//	go test -run XXX -bench ECCP -benchtime 1x ./e2e/
//
// bench/eccp.sh runs it in a process of its own once the machine is quiet.
//
// BenchmarkECCPEvents: 500 ECCP sessions logged in, unfiltered, so that
// each gets every agent's events, while 100 agents (dynamic members of 5
// queues, each in 2; their phones are SIPp) take queue calls from SIPp
// callers, 20 new callers a second, each call talking 3 s. Every call
// gives agentlinked when it reaches an agent and agentunlinked when it
// ends (every queue caller has a call record: ECCP is on). The latency
// of an event is from the moment the PBX's bus published what it tells
// (campaign.call_progress Success, campaign.call_ended: their Time) to
// the moment a session's read returned it, for every event and every
// session, over a measuring window (ECCP_BENCH_WINDOW, default 30 s)
// after the agents logged in and 2 s of settling. It reports p50, p99,
// p99.9 and the worst, the events each session missed, and memory: the
// process's RSS before the sessions, with them, and at the window's end
// (the sessions' client side, 16 KiB read buffers and their goroutines,
// is in the same process; SIPp is not), and the live heap. ECCP_BENCH_SESSIONS
// and ECCP_BENCH_AGENTS change the sizes; ECCP_BENCH_PROFILE=DIR writes
// a heap profile at the window's end (DIR/eccp.heap.pb.gz).
//
// TestECCPBenchSmoke runs the same rig small (20 sessions, 4 agents, 1 s).

// ebSpec is one load.
type ebSpec struct {
	Sessions, Agents, Queues, Rate int
	Talk                           time.Duration
	Settle, Window                 time.Duration
}

// ebSample is one event one session received: which (agentlinked or
// agentunlinked of a call) and when.
type ebSample struct {
	unlinked bool
	call     int32
	at       int64 // UnixNano of the read
}

// ebResult is what a load measured.
type ebResult struct {
	Spec                     ebSpec
	Window                   time.Duration
	Latencies                []time.Duration // sorted
	Events                   int             // bus events told in the window
	Missed                   int             // (event, session) pairs never received
	Violations               int             // documents off dialerd's framing
	BaseRSSKB, SessRSSKB     int64
	RSSKB, HWMKB             int64
	HeapLive                 uint64
	Cores                    float64 // the test process (PBX and sessions) in the window
	Answered                 int
	Goroutines               int
	SIPpFailed               map[string]int
	LoadStart, LoadEnd, Mach string
}

func ebRun(tb testing.TB, s ebSpec) ebResult {
	tb.Helper()
	agentsPort := testkit.FreeUDPPort(tb)
	yaml := qbConfig(qbSpec{Queues: s.Queues, Agents: s.Agents, PerAgent: min(2, s.Queues)}, agentsPort) +
		"eccp:\n  listen: \"127.0.0.1:0\"\n  session_timeout: 1h\n"
	n, stopPBX := qbStartPBX(tb, yaml)
	addr := n.ECCPAddr()
	if addr == "" {
		tb.Fatal("the PBX has no ECCP listener")
	}
	cc := n.Queues()

	// What the bus told, by call: when.
	sub, err := n.Engine().Subscribe(dialog.EventFilter{Buffer: 4096, Kinds: []dialog.EventKind{campaign.EventCallProgress, campaign.EventCallEnded}})
	if err != nil {
		tb.Fatal(err)
	}
	var busMu sync.Mutex
	linkedAt, unlinkedAt := map[int32]time.Time{}, map[int32]time.Time{}
	busDone := make(chan struct{})
	go func() {
		defer close(busDone)
		for ev := range sub.C {
			busMu.Lock()
			switch {
			case ev.Kind == campaign.EventCallProgress && ev.State == string(campaign.Success):
				linkedAt[int32(ev.CampaignCall)] = ev.Time
			case ev.Kind == campaign.EventCallEnded:
				unlinkedAt[int32(ev.CampaignCall)] = ev.Time
			}
			busMu.Unlock()
		}
	}()
	defer func() { sub.Close(); <-busDone }()

	runtime.GC()
	res := ebResult{Spec: s, BaseRSSKB: qbStatusKB("VmRSS"), SIPpFailed: map[string]int{}, Mach: qbMachine()}

	// The sessions: each keeps its samples, filed by its reader.
	samples := make([][]ebSample, s.Sessions)
	sessions := make([]*testkit.ECCPClient, s.Sessions)
	for i := range sessions {
		hook := func(d *testkit.ECCPDoc) bool {
			name := d.Name()
			if name != "agentlinked" && name != "agentunlinked" {
				return true
			}
			id, _ := strconv.Atoi(d.Text(name, "call_id"))
			samples[i] = append(samples[i], ebSample{unlinked: name == "agentunlinked", call: int32(id), at: d.Received.UnixNano()})
			return true
		}
		sessions[i] = testkit.DialECCP(tb, addr, testkit.ECCPNoFramingCheck(), testkit.ECCPReadBuffer(16<<10), testkit.ECCPOnEvent(hook))
		sessions[i].Login("agentconsole", "agentconsole")
	}
	runtime.GC()
	res.SessRSSKB = qbStatusKB("VmRSS")

	dids := qbDIDsFile(tb, s.Queues)
	ramp := time.Duration(s.Agents) * time.Second / time.Duration(s.Rate)
	count := int(time.Duration(s.Rate) * (ramp + s.Settle + s.Window) / time.Second)
	sippTimeout := ramp + s.Settle + s.Window + s.Talk + 60*time.Second
	agents := qbStartSIPp(tb, "agents", testkit.SIPp{Scenario: testkit.ScenarioPath("queue_agent.xml"), LocalIP: "127.0.0.1", LocalPort: agentsPort,
		Args: []string{"-d", strconv.Itoa(int(s.Talk / time.Millisecond)), "-l", "100000"}, Timeout: sippTimeout})
	callers := qbStartSIPp(tb, "callers", testkit.SIPp{Scenario: testkit.ScenarioPath("queue_caller.xml"), Remote: n.SIPAddr("UDP").String(),
		LocalIP: "127.0.0.2", Inf: dids, Args: []string{"-r", strconv.Itoa(s.Rate), "-m", strconv.Itoa(count), "-l", "100000"}, Timeout: sippTimeout})
	tick := time.NewTicker(time.Second / time.Duration(s.Rate))
	for i := range s.Agents {
		if i > 0 {
			<-tick.C
		}
		if err := cc.Login(context.Background(), qbAgentID(i), queue.LoginOptions{}); err != nil {
			tb.Fatalf("login %s: %v", qbAgentID(i), err)
		}
	}
	tick.Stop()
	time.Sleep(s.Settle) // the load settles: a measuring window, not a wait for an event

	res.LoadStart = qbLoadAvg()
	t0, cpu0 := time.Now(), qbSelfCPU()
	time.Sleep(s.Window) // the measuring window
	t1, cpu1 := time.Now(), qbSelfCPU()
	res.LoadEnd = qbLoadAvg()
	res.Window = t1.Sub(t0)
	res.Cores = (cpu1 - cpu0).Seconds() / res.Window.Seconds()
	res.RSSKB, res.HWMKB = qbStatusKB("VmRSS"), qbStatusKB("VmHWM")
	res.HeapLive = uint64(qbRuntime()[qbHeapLive])
	res.Goroutines = runtime.NumGoroutine()
	if dir := os.Getenv("ECCP_BENCH_PROFILE"); dir != "" {
		runtime.GC()
		if f, err := os.Create(filepath.Join(dir, "eccp.heap.pb.gz")); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}

	// The end: agents take no more calls and finish theirs; the PBX stops.
	for i := range s.Agents {
		if err := cc.Pause(qbAgentID(i), "", "bench over"); err != nil {
			tb.Errorf("pause %s: %v", qbAgentID(i), err)
		}
	}
	deadline := time.Now().Add(s.Talk + 20*time.Second)
	for {
		busy := 0
		for _, st := range cc.Agents() {
			if st.State != queue.StatePaused {
				busy++
			}
		}
		if busy == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // no event says every agent is done
	}
	for _, c := range sessions {
		res.Violations += len(c.Violations())
		c.Close()
	}
	stopPBX()
	syscall.Kill(agents.pid, syscall.SIGTERM)
	for _, p := range []*qbSIPp{agents, callers} {
		r, err := p.run.Wait()
		if err != nil {
			tb.Logf("sipp %s: %v", p.role, err)
		}
		res.SIPpFailed[p.role] = r.Failed
	}

	busMu.Lock()
	defer busMu.Unlock()
	inWindow := func(at time.Time) bool { return !at.Before(t0) && at.Before(t1) }
	for _, at := range linkedAt {
		if inWindow(at) {
			res.Events++
			res.Answered++
		}
	}
	for _, at := range unlinkedAt {
		if inWindow(at) {
			res.Events++
		}
	}
	for i := range samples {
		got := 0
		for _, x := range samples[i] {
			bus, ok := linkedAt[x.call]
			if x.unlinked {
				bus, ok = unlinkedAt[x.call]
			}
			if !ok || !inWindow(bus) {
				continue
			}
			got++
			res.Latencies = append(res.Latencies, time.Duration(x.at-bus.UnixNano()))
		}
		res.Missed += res.Events - got
	}
	slices.Sort(res.Latencies)
	return res
}

func (r ebResult) report(tb testing.TB, name string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", name, r.Mach)
	fmt.Fprintf(&b, "  %d ECCP sessions, %d agents in %d queues, %d callers/s talking %s; window %s (load %s -> %s)\n",
		r.Spec.Sessions, r.Spec.Agents, r.Spec.Queues, r.Spec.Rate, r.Spec.Talk, r.Window.Round(time.Millisecond), r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "  events told in the window: %d (%d calls linked, %.1f events/s), received by the sessions: %d, missed: %d\n",
		r.Events, r.Answered, float64(r.Events)/r.Window.Seconds(), len(r.Latencies), r.Missed)
	l := r.Latencies
	if len(l) > 0 {
		fmt.Fprintf(&b, "  latency bus -> session (ms): p50 %s, p90 %s, p99 %s, p99.9 %s, max %s\n",
			qbMS(qbPct(l, .5)), qbMS(qbPct(l, .9)), qbMS(qbPct(l, .99)), qbMS(qbPct(l, .999)), qbMS(l[len(l)-1]))
	}
	fmt.Fprintf(&b, "  memory: RSS %.1f MB before the sessions, %.1f MB with them (%.1f KB a session, both ends), %.1f MB at the window's end (peak %.1f MB); live heap %.1f MB; %d goroutines\n",
		float64(r.BaseRSSKB)/1024, float64(r.SessRSSKB)/1024, float64(r.SessRSSKB-r.BaseRSSKB)/float64(max(1, r.Spec.Sessions)),
		float64(r.RSSKB)/1024, float64(r.HWMKB)/1024, float64(r.HeapLive)/(1<<20), r.Goroutines)
	fmt.Fprintf(&b, "  CPU of the test process (PBX and sessions): %.2f cores; framing violations: %d; SIPp failed calls: %v\n",
		r.Cores, r.Violations, r.SIPpFailed)
	fmt.Print(b.String())
	if testing.Verbose() {
		tb.Log("\n" + b.String())
	}
}

func (r ebResult) metrics(b *testing.B) {
	b.ReportMetric(float64(qbPct(r.Latencies, .5))/1e6, "event-p50-ms")
	b.ReportMetric(float64(qbPct(r.Latencies, .99))/1e6, "event-p99-ms")
	b.ReportMetric(float64(r.RSSKB)/1024, "rss-MB")
	b.ReportMetric(float64(r.HeapLive)/(1<<20), "live-heap-MB")
	b.ReportMetric(float64(r.Events)/r.Window.Seconds(), "events/s")
	b.ReportMetric(float64(r.Missed), "missed")
}

// check fails a run that measured nothing, lost events or broke framing.
func (r ebResult) check(tb testing.TB) {
	tb.Helper()
	if r.Events == 0 || len(r.Latencies) == 0 {
		tb.Errorf("nothing measured: %d events in the window, %d received", r.Events, len(r.Latencies))
	}
	if r.Missed > 0 {
		tb.Errorf("%d events never reached their session", r.Missed)
	}
	if r.Violations > 0 {
		tb.Errorf("%d documents broke dialerd's framing", r.Violations)
	}
}

func ebEnvInt(tb testing.TB, env string, dflt int) int {
	if v := os.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			tb.Fatalf("%s=%q: want a positive number", env, v)
		}
		return n
	}
	return dflt
}

func BenchmarkECCPEvents(b *testing.B) {
	r := ebRun(b, ebSpec{
		Sessions: ebEnvInt(b, "ECCP_BENCH_SESSIONS", 500), Agents: ebEnvInt(b, "ECCP_BENCH_AGENTS", 100), Queues: 5, Rate: 20,
		Talk: 3 * time.Second, Settle: 2 * time.Second, Window: qbWindow(b, "ECCP_BENCH_WINDOW", 30*time.Second),
	})
	r.report(b, "BenchmarkECCPEvents")
	r.metrics(b)
	r.check(b)
}

// TestECCPBenchSmoke runs the benchmark's rig small: 20 sessions see the
// events of 4 agents' calls.
func TestECCPBenchSmoke(t *testing.T) {
	r := ebRun(t, ebSpec{Sessions: 20, Agents: 4, Queues: 2, Rate: 4, Talk: 300 * time.Millisecond,
		Settle: 300 * time.Millisecond, Window: 1500 * time.Millisecond})
	if testing.Verbose() {
		r.report(t, "smoke")
	}
	r.check(t)
}
