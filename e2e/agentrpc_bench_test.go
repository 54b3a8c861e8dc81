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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"pbx/internal/testkit"
)

// Agent RPC under load (issue 10): 500 concurrent bot-controlled calls,
// each playing a prompt and reading DTMF, over real SIP and a real
// WebSocket on loopback:
//
//	go test -run XXX -bench AgentRPC -benchtime 1x ./e2e/
//
// (bench/agentrpc.sh runs it once the machine is quiet.)
//
// The PBX runs in the test process, with the bots: a few Agent RPC
// connections (testkit.AgentBot) to one agent endpoint, so the moment the
// INVITE reached the engine (the leg's Created time) and the moment a
// bot received the invite request are read on one clock. The callers
// are one SIPp (sipp/agentrpc_caller.xml) in a process of its own: it
// calls the bot number at a steady rate; for each call a bot accepts the
// invite, answers, plays a 1 s prompt (file://), runs read_dtmf with #
// as the termination key, while the caller, after a hold long enough for
// every call to be up, keys 1, 2 and # as RFC 2833 events; the bot checks
// it read "12#", hangs up, and the PBX sends the caller its BYE and the
// bot its bye request.
//
// It reports the INVITE-to-invite delay (p50, p90, p99, max), the PBX's
// CPU over the whole run (process CPU time over wall time, in cores, and
// per call; the bots' share, when profiled, in bench/results.md), SIPp's
// CPU apart, memory with every call up (RSS and live heap over the idle
// PBX, per call), allocations per call, the peak number of calls up at
// once (asserted: every call), and the calls that went through the whole
// flow (asserted: every call). AGENTRPC_BENCH_PROFILE=DIR writes a CPU
// profile of the run (bot goroutines labelled side=bot) and a heap
// profile with every call up. AGENTRPC_BENCH_CALLS and
// AGENTRPC_BENCH_RATE change the load (default 500 calls at 100/s).
//
// TestAgentRPCBenchSmoke runs the same rig small (4 calls, about 3 s).

// abSpec is one load.
type abSpec struct {
	Calls  int
	Rate   int           // new calls a second
	Bots   int           // Agent RPC connections of the endpoint
	Prompt time.Duration // the prompt each bot plays
	// Hold is how long each caller waits after the answer before it keys
	// its digits: past the ramp, so that every call is up at once.
	Hold time.Duration
	// RFCTimers runs SIP with the RFC 3261 timers (T1 500 ms) instead of
	// the short ones the e2e package's tests use.
	RFCTimers bool
}

// abNumber is the number the callers dial; abEndpoint the bots' endpoint.
const (
	abNumber   = "6100"
	abEndpoint = "abbots"
	abPrompt   = "ab-prompt"
	abDigits   = "12#" // what the caller keys (sipp/agentrpc_caller.xml)
)

// abConfig is the PBX's configuration: a trunk from SIPp's callers
// (recognised by their source address 127.0.0.2) whose number leads to
// the bots' endpoint, and that endpoint.
func abConfig(s abSpec, prompts string) string {
	return fmt.Sprintf(`node: agentrpc-bench
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
  codecs: [PCMU]
calls:
  ring_timeout: 15s
  drain_timeout: 5s
security:
  allow: [127.0.0.0/8]
agent_rpc:
  listen: "127.0.0.1:0"
  playback_dir: %q
  invite_timeout: 10s
  bye_timeout: 10s
endpoints:
  %s:
    match: {type: agent}
    balance: random
    max_connections: %d
trunks:
  - name: callers
    host: "127.0.0.2:5060"
    inbound_cidrs: [127.0.0.2/32]
    dids:
      - exact: %q
        target: agentrpc:%s
`, prompts, abEndpoint, s.Bots, abNumber, abEndpoint)
}

// abCall is what one call measured.
type abCall struct {
	invite time.Duration // INVITE at the engine (leg created) to the bot's receipt of invite
	answer time.Duration // answer request to its 200
	play   time.Duration // play request to its 200 (the prompt's length and the overhead)
	bye    time.Duration // hangup request to the bye request
}

// abResult is what one load measured.
type abResult struct {
	Spec     abSpec
	Calls    []abCall // calls that went through the whole flow
	Offered  int      // invites the bots received
	Failures []string // the first few failures of the flow
	Failed   int
	PeakUp   int // calls answered and not yet hung up, at most, as the bots saw them
	PeakLegs int // the engine's legs, at most (sampled every 20 ms)
	Wall     time.Duration
	// Steady is how long every call was up at once (from the memory
	// sample, taken when the last call was answered, to the first call
	// that left); SteadyCPU the process's CPU then: every caller hears
	// the PBX's audio, every bot waits in read_dtmf.
	Steady    time.Duration
	SteadyCPU time.Duration
	PBXCPU    time.Duration // the test process (PBX and bots) over Wall
	SIPpCPU   time.Duration // the caller's sipp, whole run
	OtherCPU  time.Duration // processes that are neither, over Wall
	BaseRSSKB int64         // after the PBX started and the bots connected, before any call
	BaseLive  uint64        // the same, live heap after a GC
	PeakRSSKB int64         // every call up
	PeakLive  uint64        // the same, after a GC
	HWMKB     int64
	Allocs    uint64 // heap objects allocated over the run
	AllocB    uint64 // bytes allocated over the run
	GCCycles  int
	GCShare   float64 // of the process's CPU over the run
	Goroutine int     // with every call up
	SIPp      testkit.Result
	Drops     int64 // SIP datagrams dropped by the kernel, PBX and SIPp
	LoadStart string
	LoadEnd   string
}

// abAllocs is the heap objects and bytes allocated so far (tiny ones
// included, which runtime/metrics leaves out).
func abAllocs() (objects, bytes uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs, m.TotalAlloc
}

// abEnvInt is the environment variable name as a positive integer, or dflt.
func abEnvInt(tb testing.TB, name string, dflt int) int {
	v := os.Getenv(name)
	if v == "" {
		return dflt
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// abRun runs one load and returns what it measured.
func abRun(tb testing.TB, s abSpec) abResult {
	tb.Helper()
	for _, k := range []string{"1", "2", "pound"} {
		if _, err := os.Stat("/usr/share/sip-tester/dtmf_2833_" + k + ".pcap"); err != nil {
			tb.Fatalf("the caller keys with sip-tester's pcaps: %v", err)
		}
	}
	if s.RFCTimers {
		sipmsg.SetTimers(500*time.Millisecond, 4*time.Second, 5*time.Second)
		defer sipmsg.SetTimers(100*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	}
	ramp := time.Duration(s.Calls) * time.Second / time.Duration(s.Rate)
	bound := ramp + s.Hold + 60*time.Second // the whole run, at most

	prompts := testkit.WritePrompts(tb, s.Prompt, map[string]float64{abPrompt: 440})
	n, stopPBX := qbStartPBX(tb, abConfig(s, prompts))
	e := n.Engine()
	addr := n.AgentRPCAddr()
	if addr == "" {
		tb.Fatal("agent rpc is not listening")
	}

	res := abResult{Spec: s}
	var (
		mu       sync.Mutex
		received = map[string]time.Time{} // by did: when a bot got the invite
		up, peak atomic.Int64
		finished = make(chan abCall, s.Calls)
		failed   = make(chan string, s.Calls)
		offered  atomic.Int64
		stop     = make(chan struct{})
		stopOnce = sync.OnceFunc(func() { close(stop) })
		flows    sync.WaitGroup
		readers  sync.WaitGroup
	)
	fail := func(did, format string, args ...any) {
		failed <- did + ": " + fmt.Sprintf(format, args...)
	}
	readFor := s.Hold + 10*time.Second
	// flow is one call, as the bot drives it.
	flow := func(bot *testkit.AgentBot, req testkit.AgentRequest) {
		defer flows.Done()
		did := req.DID
		info, ok := e.Leg(did)
		mu.Lock()
		got := received[did]
		mu.Unlock()
		if !ok {
			fail(did, "no such leg when the invite came")
			return
		}
		var c abCall
		c.invite = got.Sub(info.Created)
		t := time.Now()
		if r, err := bot.Do(did, "answer", nil, 10*time.Second); err != nil || r.Final.Code != 200 {
			fail(did, "answer: %d %s %v", r.Final.Code, r.Final.Reason, err)
			return
		}
		c.answer = time.Since(t)
		if u := up.Add(1); u > peak.Load() {
			for p := peak.Load(); u > p && !peak.CompareAndSwap(p, u); p = peak.Load() {
			}
		}
		defer func() {
			if c.bye == 0 {
				up.Add(-1)
			}
		}()
		t = time.Now()
		if r, err := bot.Do(did, "play", map[string]string{"uri": "file://" + abPrompt + ".wav"}, s.Prompt+10*time.Second); err != nil || r.Final.Code != 200 {
			fail(did, "play: %d %s %v", r.Final.Code, r.Final.Reason, err)
			return
		}
		c.play = time.Since(t)
		r, err := bot.Do(did, "read_dtmf", map[string]any{"duration_sec": readFor.Seconds(), "termination": "#"}, readFor+5*time.Second)
		if err != nil || r.Final.Code != 200 || r.Final.Str("dtmf") != abDigits {
			fail(did, "read_dtmf: %d %s %q %v", r.Final.Code, r.Final.Reason, r.Final.Str("dtmf"), err)
			return
		}
		t = time.Now()
		if r, err := bot.Do(did, "hangup", nil, 10*time.Second); err != nil || r.Final.Code != 200 {
			fail(did, "hangup: %d %s %v", r.Final.Code, r.Final.Reason, err)
			return
		}
		up.Add(-1)
		if _, err := bot.WaitBye(did, 15*time.Second); err != nil {
			fail(did, "%v", err)
			c.bye = -1
			return
		}
		c.bye = time.Since(t)
		finished <- c
	}

	// The bots, labelled for CPU profiles: the goroutines they start
	// inherit the label.
	pprof.Do(context.Background(), pprof.Labels("side", "bot"), func(context.Context) {
		for range s.Bots {
			bot := testkit.DialAgentRPC(tb, addr, abEndpoint, testkit.AgentNoRaw())
			bot.SetInvitePolicy(func(req testkit.AgentRequest) (int, string) {
				now := time.Now()
				if req.Op != "invite" {
					return 400, "Bad Request"
				}
				mu.Lock()
				received[req.DID] = now
				mu.Unlock()
				return 200, "OK"
			})
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					req, err := bot.NextInvite(100 * time.Millisecond)
					select {
					case <-stop:
						return
					default:
					}
					if err != nil {
						continue
					}
					if req.Op != "invite" {
						continue // refused 400 by the policy
					}
					offered.Add(1)
					flows.Add(1)
					go flow(bot, req)
				}
			}()
		}
	})
	defer func() {
		stopOnce()
		readers.Wait()
	}()

	runtime.GC()
	res.BaseRSSKB, res.BaseLive = qbStatusKB("VmRSS"), uint64(qbRuntime()[qbHeapLive])
	res.LoadStart = qbLoadAvg()
	profDir := os.Getenv("AGENTRPC_BENCH_PROFILE")
	if profDir != "" {
		f, err := os.Create(filepath.Join(profDir, "agentrpc.cpu.pb.gz"))
		if err != nil {
			tb.Fatalf("profile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			tb.Fatalf("profile: %v", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	// The run: SIPp calls, the bots drive each call to its end.
	cpu0, kids0, busy0, start := qbSelfCPU(), qbRusageCPU(syscall.RUSAGE_CHILDREN), qbMachineBusy(), time.Now()
	rt0 := qbRuntime()
	obj0, b0 := abAllocs()
	sippPort := testkit.FreeUDPPort(tb)
	caller := qbStartSIPp(tb, "callers", testkit.SIPp{Scenario: testkit.ScenarioPath("agentrpc_caller.xml"), Remote: n.SIPAddr("UDP").String(),
		LocalIP: "127.0.0.2", LocalPort: sippPort, Timeout: bound,
		Args: []string{"-s", abNumber, "-r", strconv.Itoa(s.Rate), "-m", strconv.Itoa(s.Calls), "-l", strconv.Itoa(s.Calls + 10),
			"-d", strconv.Itoa(int(s.Hold / time.Millisecond))}})

	// Sample the legs; with every call up, the memory.
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		measured, left := false, false
		var t1 time.Time
		var cpu1 time.Duration
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			legs := e.LegCount()
			mu.Lock()
			res.PeakLegs = max(res.PeakLegs, legs)
			mu.Unlock()
			if !measured && up.Load() >= int64(s.Calls) {
				measured = true
				rss := qbStatusKB("VmRSS")
				runtime.GC()
				live := uint64(qbRuntime()[qbHeapLive])
				mu.Lock()
				res.PeakRSSKB, res.PeakLive, res.Goroutine = rss, live, runtime.NumGoroutine()
				mu.Unlock()
				if profDir != "" {
					if f, err := os.Create(filepath.Join(profDir, "agentrpc.heap.pb.gz")); err == nil {
						_ = pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}
				t1, cpu1 = time.Now(), qbSelfCPU()
			}
			if measured && !left && up.Load() < int64(s.Calls) {
				left = true
				mu.Lock()
				res.Steady, res.SteadyCPU = time.Since(t1), qbSelfCPU()-cpu1
				mu.Unlock()
			}
		}
	}()

	// Every call's flow ends, or the bound passes, or SIPp has ended and
	// the flows still going do not end within 15 s (calls that never
	// reached a bot).
	var (
		sippErr  error
		sippDone = make(chan struct{})
	)
	go func() {
		res.SIPp, sippErr = caller.run.Wait()
		close(sippDone)
	}()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for done, ended := 0, sippDone; done < s.Calls; {
		select {
		case c := <-finished:
			res.Calls = append(res.Calls, c)
			done++
		case f := <-failed:
			res.Failed++
			done++
			if len(res.Failures) < 10 {
				res.Failures = append(res.Failures, f)
			}
		case <-ended:
			ended = nil
			deadline.Reset(15 * time.Second)
		case <-deadline.C:
			tb.Errorf("%d of %d calls not ended (%d offered to the bots); sipp ended: %v", s.Calls-done, s.Calls, offered.Load(), ended == nil)
			done = s.Calls
		}
	}
	<-sippDone
	if sippErr != nil {
		tb.Errorf("sipp callers: %v", sippErr)
	}
	res.Wall = time.Since(start)
	res.PBXCPU = qbSelfCPU() - cpu0
	res.SIPpCPU = qbRusageCPU(syscall.RUSAGE_CHILDREN) - kids0
	res.OtherCPU = max(0, qbMachineBusy()-busy0-res.PBXCPU-res.SIPpCPU)
	rt1 := qbRuntime()
	obj1, b1 := abAllocs()
	res.Allocs, res.AllocB = obj1-obj0, b1-b0
	res.GCCycles = int(rt1[qbGCCycles] - rt0[qbGCCycles])
	res.GCShare = (rt1[qbGCCPU] - rt0[qbGCCPU]) / res.PBXCPU.Seconds()
	res.HWMKB = qbStatusKB("VmHWM")
	res.Drops = qbUDPDrops(n.SIPAddr("UDP").Port()) + qbUDPDrops(uint16(sippPort))
	res.LoadEnd = qbLoadAvg()
	res.Offered = int(offered.Load())
	res.PeakUp = int(peak.Load())
	stopPBX()
	stopOnce()
	<-sampled
	readers.Wait()
	flows.Wait()
	return res
}

// abPct is the p-th percentile (nearest rank) of one figure of calls.
func abPct(calls []abCall, field func(abCall) time.Duration, p float64) time.Duration {
	ds := make([]time.Duration, len(calls))
	for i, c := range calls {
		ds[i] = field(c)
	}
	slices.Sort(ds)
	return qbPct(ds, p)
}

func abInvite(c abCall) time.Duration { return c.invite }

// report prints a result as the README's figures need them.
func (r abResult) report(tb testing.TB, name string) {
	s := r.Spec
	var b strings.Builder
	fmt.Fprintf(&b, "\n== %s: %d calls at %d/s, %d bot connections, prompt %s, caller keys %q after %s\n",
		name, s.Calls, s.Rate, s.Bots, s.Prompt, abDigits, s.Hold)
	fmt.Fprintf(&b, "run %.1f s; load average %s -> %s\n", r.Wall.Seconds(), r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "calls: %d offered to the bots, %d through the whole flow, %d failed; peak up at once %d (bots), engine legs peak %d\n",
		r.Offered, len(r.Calls), r.Failed, r.PeakUp, r.PeakLegs)
	line := func(what string, f func(abCall) time.Duration) {
		fmt.Fprintf(&b, "%s: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n", what,
			qbMS(abPct(r.Calls, f, .5)), qbMS(abPct(r.Calls, f, .9)), qbMS(abPct(r.Calls, f, .99)), qbMS(abPct(r.Calls, f, 1)))
	}
	line("INVITE (leg created) -> bot's invite", abInvite)
	line("answer -> 200", func(c abCall) time.Duration { return c.answer })
	line(fmt.Sprintf("play (%s prompt) -> 200", s.Prompt), func(c abCall) time.Duration { return c.play })
	line("hangup -> bye request", func(c abCall) time.Duration { return c.bye })
	calls := max(1, len(r.Calls))
	fmt.Fprintf(&b, "CPU: PBX and bots %.2f cores over the run (%.2f ms per call), SIPp %.2f cores, other processes %.2f cores\n",
		r.PBXCPU.Seconds()/r.Wall.Seconds(), float64(r.PBXCPU)/1e6/float64(calls), r.SIPpCPU.Seconds()/r.Wall.Seconds(), r.OtherCPU.Seconds()/r.Wall.Seconds())
	if r.Steady > 0 {
		fmt.Fprintf(&b, "CPU with every call up (%.1f s: audio to every caller, every bot in read_dtmf): PBX and bots %.2f cores\n",
			r.Steady.Seconds(), r.SteadyCPU.Seconds()/r.Steady.Seconds())
	}
	fmt.Fprintf(&b, "GC: %d cycles, %.1f%% of the process's CPU; allocations: %d objects (%.0f per call), %.1f MB (%.1f KB per call)\n",
		r.GCCycles, r.GCShare*100, r.Allocs, float64(r.Allocs)/float64(calls), float64(r.AllocB)/(1<<20), float64(r.AllocB)/1024/float64(calls))
	fmt.Fprintf(&b, "memory, idle PBX with the bots connected: RSS %.1f MB, live heap %.1f MB\n", float64(r.BaseRSSKB)/1024, float64(r.BaseLive)/(1<<20))
	if r.PeakRSSKB > 0 {
		fmt.Fprintf(&b, "memory, every call up: RSS %.1f MB (+%.1f KB per call), live heap %.1f MB (+%.1f KB per call), goroutines %d; peak RSS %.1f MB\n",
			float64(r.PeakRSSKB)/1024, float64(r.PeakRSSKB-r.BaseRSSKB)/float64(s.Calls),
			float64(r.PeakLive)/(1<<20), (float64(r.PeakLive)-float64(r.BaseLive))/1024/float64(s.Calls), r.Goroutine, float64(r.HWMKB)/1024)
	}
	fmt.Fprintf(&b, "SIP datagrams dropped by the kernel: %d\n", r.Drops)
	fmt.Fprintf(&b, "sipp callers: %d successful, %d failed, %d retransmissions, exit %d\n", r.SIPp.Successful, r.SIPp.Failed, r.SIPp.Retransmissions, r.SIPp.ExitCode)
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "failure: %s\n", f)
	}
	if _, ok := tb.(*testing.B); ok {
		fmt.Print(b.String())
		return
	}
	tb.Log(b.String())
}

// check fails a run that did not do what the load says.
func (r abResult) check(tb testing.TB) {
	tb.Helper()
	s := r.Spec
	if len(r.Calls) != s.Calls {
		tb.Errorf("%d of %d calls went through the whole flow (%d failed): %q", len(r.Calls), s.Calls, r.Failed, r.Failures)
	}
	if r.PeakUp != s.Calls {
		tb.Errorf("at most %d calls were up at once, want all %d", r.PeakUp, s.Calls)
	}
	if r.SIPp.Successful != s.Calls || r.SIPp.Failed > 0 {
		tb.Errorf("sipp callers: %d successful, %d failed of %d\n%s", r.SIPp.Successful, r.SIPp.Failed, s.Calls, r.SIPp.Errors)
	}
}

func (r abResult) metrics(b *testing.B) {
	b.ReportMetric(float64(abPct(r.Calls, abInvite, .5))/1e6, "invite-p50-ms")
	b.ReportMetric(float64(abPct(r.Calls, abInvite, .99))/1e6, "invite-p99-ms")
	b.ReportMetric(r.PBXCPU.Seconds()/r.Wall.Seconds(), "pbx-cores")
	b.ReportMetric(float64(r.PBXCPU)/1e6/float64(max(1, len(r.Calls))), "cpu-ms/call")
	b.ReportMetric(float64(r.PeakRSSKB)/1024, "rss-MB")
	b.ReportMetric(float64(r.PeakRSSKB-r.BaseRSSKB)/float64(r.Spec.Calls), "rss-KB/call")
	b.ReportMetric(float64(r.Allocs)/float64(max(1, len(r.Calls))), "allocs/call")
	b.ReportMetric(float64(len(r.Calls)), "calls-ok")
	b.ReportMetric(float64(r.PeakUp), "peak-up")
}

func BenchmarkAgentRPC(b *testing.B) {
	fmt.Println(qbMachine())
	calls := abEnvInt(b, "AGENTRPC_BENCH_CALLS", 500)
	rate := abEnvInt(b, "AGENTRPC_BENCH_RATE", 100)
	ramp := time.Duration(calls) * time.Second / time.Duration(rate)
	r := abRun(b, abSpec{Calls: calls, Rate: rate, Bots: 2, Prompt: time.Second, Hold: ramp + 3*time.Second, RFCTimers: true})
	r.report(b, "BenchmarkAgentRPC")
	r.metrics(b)
	r.check(b)
}

// TestAgentRPCBenchSmoke runs the benchmark's rig small: four callers, two
// bots, a short prompt.
func TestAgentRPCBenchSmoke(t *testing.T) {
	r := abRun(t, abSpec{Calls: 4, Rate: 20, Bots: 2, Prompt: 300 * time.Millisecond, Hold: 1200 * time.Millisecond})
	if testing.Verbose() {
		r.report(t, "smoke")
	}
	r.check(t)
}
