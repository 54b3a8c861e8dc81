package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"google.golang.org/protobuf/encoding/protowire"

	"pbx/campaign"
	"pbx/dialog"
	"pbx/internal/testkit"
	"pbx/queue"
)

// A predictive campaign under load (issue 11), over real SIP on loopback:
//
//	go test -run XXX -bench CampaignPredictive -benchtime 1x ./e2e/
//
// (bench/campaign.sh runs it once the machine is quiet.)
//
// The PBX runs in the test process (qbStartPBX), alone there but for a
// recorder of its events. An outgoing campaign in predictive mode
// (abandon cap 3 %, 300 channels, no retries) is created through
// Campaigns() with 10,000 numbers; its trunk leads to one SIPp UAS on
// 127.0.0.3 (sipp/campaign_customer.xml) whose behaviour is the number's
// last digit, drawn at random per number (fixed seed): 60 % answer after
// 0.5-2.5 s of ringing and stay on until the PBX hangs up, 20 % ring out
// (the campaign's 5 s ring timeout), 20 % are busy after 0.3-1 s. An
// answered customer goes to the campaign's queue, where 100 agents
// (dynamic members, logged in through Queues().Login) take the calls on
// one SIPp (sipp/queue_agent.xml): each call rings 100 ms, talks 3 s and
// the agent hangs up, with no wrap-up.
//
// The dialing window runs from the campaign's start until every number
// has been tried or CAMPAIGN_BENCH_WINDOW (default 180 s) has passed;
// then the campaign stops, the calls in progress end, and it reports:
// calls placed a second (campaign.call_progress Placing events), agent
// occupancy (the share of the agents' logged-in time in a call: ringing,
// talking; from agent.state_changed), the abandon rate (answered calls
// that waited over 2 s for an agent, from the join to the link start of
// Center.Calls, as the dialer measures it, and from the answer; plus the
// answered calls that never reached one), the PBX's CPU (getrusage of
// the process over the window) and the campaign package's share of it
// (a CPU profile of the window, every sample whose stack holds a
// pbx/campaign function, split by the dialer's step, its event pump and
// its store writes), SIPp's CPU apart, and memory (RSS, live heap, and
// the live heap the 10,000 numbers cost). CAMPAIGN_BENCH_PROFILE=DIR
// keeps the CPU profile (campaign.cpu.pb.gz) and writes a heap profile at
// the window's end. Everything it starts stops with it, within about
// 5 minutes.
//
// TestCampaignBenchSmoke runs the same rig small (30 numbers, 4 agents,
// a few seconds).

// cbSpec is one load.
type cbSpec struct {
	Numbers     int
	Agents      int
	Talk        time.Duration // the agent's phone hangs up after this long
	RingTimeout time.Duration // the campaign's: customers who ring out are cancelled then
	MaxChannels int
	Window      time.Duration // dialing stops after this long at most
	Drain       time.Duration // after the window, for the calls in progress to end
	Profile     bool          // profile the window's CPU (the campaign's share)
	RFCTimers   bool
}

// cbQueue is the campaign's queue (its agents are qbAgentID's).
const cbQueue = "sales"

// cbNumbers are the numbers to call: 55, five digits, and a last digit
// that tells the customer what to do (sipp/campaign_customer.xml): 0-5
// answer, 6-7 ring out, 8-9 busy, drawn at random with a fixed seed.
func cbNumbers(n int) []campaign.NumberRow {
	rng := rand.New(rand.NewPCG(11, 2026))
	rows := make([]campaign.NumberRow, n)
	for i := range rows {
		rows[i] = campaign.NumberRow{Phone: fmt.Sprintf("55%05d%d", i, rng.IntN(10))}
	}
	return rows
}

// cbKind is what a number's customer does.
func cbKind(phone string) string {
	switch d := phone[len(phone)-1]; {
	case d <= '5':
		return "answers"
	case d <= '7':
		return "rings out"
	}
	return "busy"
}

// cbConfig is the PBX's configuration: the customers' trunk (SIPp on
// 127.0.0.3), a trunk to SIPp's agent phones, the agents and the queue.
func cbConfig(s cbSpec, customersPort, agentsPort int) string {
	var b strings.Builder
	b.WriteString(qbConfigHead("campaign-bench"))
	fmt.Fprintf(&b, `trunks:
  - name: customers
    host: "127.0.0.3:%d"
  - name: agents
    host: "127.0.0.1:%d"
dialplan:
  - name: agents
    prefix: "8"
    target: trunk:agents
agents:
`, customersPort, agentsPort)
	for i := range s.Agents {
		fmt.Fprintf(&b, "  - id: %q\n    contact: %q\n", qbAgentID(i), qbAgentID(i))
	}
	fmt.Fprintf(&b, "queues:\n  - name: %s\n    strategy: longest-idle-agent\n    ring_timeout: 15s\n    retry: 1s\n    wrapup: 0s\n    music: default\n    members:\n", cbQueue)
	for i := range s.Agents {
		fmt.Fprintf(&b, "      - {agent: %q}\n", qbAgentID(i))
	}
	return b.String()
}

// cbStateAt is one agent's state from a moment on.
type cbStateAt struct {
	at    time.Time
	state string
}

// cbRecorder follows the campaign's progress events and the agents' states.
type cbRecorder struct {
	sub  *dialog.Subscription
	done chan struct{}

	mu      sync.Mutex
	placing []time.Time            // campaign.call_progress Placing
	states  map[string]int         // campaign.call_progress by new status
	agents  map[string][]cbStateAt // agent.state_changed, by agent
	lagged  bool
}

func cbRecord(tb testing.TB, e *dialog.Engine) *cbRecorder {
	tb.Helper()
	sub, err := e.Subscribe(dialog.EventFilter{Buffer: 16384, Kinds: []dialog.EventKind{
		campaign.EventCallProgress, queue.EventAgentStateChanged,
	}})
	if err != nil {
		tb.Fatalf("subscribe: %v", err)
	}
	r := &cbRecorder{sub: sub, done: make(chan struct{}), states: map[string]int{}, agents: map[string][]cbStateAt{}}
	go r.run()
	tb.Cleanup(r.stop)
	return r
}

func (r *cbRecorder) stop() {
	r.sub.Close()
	<-r.done
}

func (r *cbRecorder) run() {
	defer close(r.done)
	for ev := range r.sub.C {
		r.mu.Lock()
		switch ev.Kind {
		case dialog.EventLagged:
			r.lagged = true
		case campaign.EventCallProgress:
			r.states[ev.State]++
			if ev.State == string(campaign.Placing) {
				r.placing = append(r.placing, ev.Time)
			}
		case queue.EventAgentStateChanged:
			r.agents[ev.Agent] = append(r.agents[ev.Agent], cbStateAt{ev.Time, ev.State})
		}
		r.mu.Unlock()
	}
}

// occupancy is, over [a, b), the agents' logged-in time and the part of it
// in each state.
func (r *cbRecorder) occupancy(a, b time.Time) (loggedIn time.Duration, in map[string]time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in = map[string]time.Duration{}
	for _, tl := range r.agents {
		for i, x := range tl {
			from, to := x.at, b
			if i+1 < len(tl) {
				to = tl[i+1].at
			}
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if !from.Before(to) || x.state == queue.StateLoggedOut {
				continue
			}
			loggedIn += to.Sub(from)
			in[x.state] += to.Sub(from)
		}
	}
	return loggedIn, in
}

// cbCPUClass is a share of the CPU profile: the samples whose stack holds
// a function the pattern matches (and no earlier class's).
type cbCPUClass struct {
	name string
	re   *regexp.Regexp
}

var cbCPUClasses = []cbCPUClass{
	{"dialer step and originate (campaign.(*dialer))", regexp.MustCompile(`^pbx/campaign\.\(\*dialer\)\.`)},
	{"event pump (campaign.(*Center).pump/progress)", regexp.MustCompile(`^pbx/campaign\.\(\*Center\)\.(pump|progress)`)},
	{"store writes (campaign.(*Center).persist/flush)", regexp.MustCompile(`^pbx/campaign\.\(\*Center\)\.(persist|flush)`)},
	{"to the queue (campaign.(*Center).enqueue/screen)", regexp.MustCompile(`^pbx/campaign\.\(\*Center\)\.(enqueue|screen)`)},
	{"other campaign", regexp.MustCompile(`^pbx/campaign\.`)},
	{"the benchmark's recorder", regexp.MustCompile(`^pbx/e2e\.\(\*cbRecorder\)`)},
}

// cbProfileShares reads a gzipped CPU profile (the runtime's protobuf)
// and sums the CPU time of its samples, in all and per class.
func cbProfileShares(path string) (total time.Duration, per []time.Duration, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return 0, nil, err
	}
	type sample struct {
		locs   []uint64
		values []int64
	}
	var (
		samples   []sample
		locFuncs  = map[uint64][]uint64{} // location -> functions (inlined first)
		funcNames = map[uint64]int64{}    // function -> string index
		strs      []string
		nTypes    int
	)
	// fields calls f for every field of a message.
	fields := func(m []byte, f func(num protowire.Number, typ protowire.Type, v []byte, u uint64)) error {
		for len(m) > 0 {
			num, typ, n := protowire.ConsumeTag(m)
			if n < 0 {
				return protowire.ParseError(n)
			}
			m = m[n:]
			switch typ {
			case protowire.VarintType:
				u, n := protowire.ConsumeVarint(m)
				if n < 0 {
					return protowire.ParseError(n)
				}
				f(num, typ, nil, u)
				m = m[n:]
			case protowire.BytesType:
				v, n := protowire.ConsumeBytes(m)
				if n < 0 {
					return protowire.ParseError(n)
				}
				f(num, typ, v, 0)
				m = m[n:]
			default:
				n := protowire.ConsumeFieldValue(num, typ, m)
				if n < 0 {
					return protowire.ParseError(n)
				}
				m = m[n:]
			}
		}
		return nil
	}
	// ints reads a repeated integer field, packed or not.
	ints := func(typ protowire.Type, v []byte, u uint64) []uint64 {
		if typ == protowire.VarintType {
			return []uint64{u}
		}
		var out []uint64
		for len(v) > 0 {
			x, n := protowire.ConsumeVarint(v)
			if n < 0 {
				break
			}
			out = append(out, x)
			v = v[n:]
		}
		return out
	}
	var inner error
	err = fields(b, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) {
		switch num {
		case 1: // sample_type
			nTypes++
		case 2: // sample
			var s sample
			inner = fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) {
				switch num {
				case 1:
					s.locs = append(s.locs, ints(typ, v, u)...)
				case 2:
					for _, x := range ints(typ, v, u) {
						s.values = append(s.values, int64(x))
					}
				}
			})
			samples = append(samples, s)
		case 4: // location
			var id uint64
			var fns []uint64
			inner = fields(v, func(num protowire.Number, typ protowire.Type, v []byte, u uint64) {
				switch num {
				case 1:
					id = u
				case 4: // line
					_ = fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, u uint64) {
						if num == 1 {
							fns = append(fns, u)
						}
					})
				}
			})
			locFuncs[id] = fns
		case 5: // function
			var id uint64
			var name int64
			inner = fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, u uint64) {
				switch num {
				case 1:
					id = u
				case 2:
					name = int64(u)
				}
			})
			funcNames[id] = name
		case 6: // string_table
			strs = append(strs, string(v))
		}
	})
	if err == nil {
		err = inner
	}
	if err != nil {
		return 0, nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	per = make([]time.Duration, len(cbCPUClasses))
	for _, s := range samples {
		if len(s.values) < nTypes || nTypes < 2 {
			continue
		}
		ns := time.Duration(s.values[1]) // samples/count, cpu/nanoseconds
		total += ns
		class := -1
		for _, loc := range s.locs {
			for _, fn := range locFuncs[loc] {
				i := funcNames[fn]
				if i < 0 || int(i) >= len(strs) {
					continue
				}
				for c := range cbCPUClasses {
					if (class < 0 || c < class) && cbCPUClasses[c].re.MatchString(strs[i]) {
						class = c
					}
				}
			}
		}
		if class >= 0 {
			per[class] += ns
		}
	}
	return total, per, nil
}

// cbResult is what one load measured.
type cbResult struct {
	Spec        cbSpec
	Window      time.Duration
	AllTried    bool // every number tried before the window's end
	Placed      int  // Placing events in the window
	Progress    map[string]int
	Final       map[campaign.CallStatus]int // statuses once the calls in progress ended
	Stuck       []campaign.Call             // calls still in progress after the drain
	Tried       int                         // numbers tried (one try each)
	ByKind      map[string][2]int           // customer behaviour -> tried, answered
	Answered    int                         // calls placed in the window and answered (before or after its end)
	Connected   int                         // of those, reached an agent
	LateJoin    int                         // reached an agent more than 2 s after joining the queue
	LateAnswer  int                         // ... more than 2 s after the answer
	Never       int                         // answered, never reached an agent
	WaitJoin    []time.Duration             // join -> link start, sorted
	WaitAnswer  []time.Duration             // answer -> link start, sorted
	Setup       []time.Duration             // originate -> answer, sorted
	Talk        []time.Duration             // link start -> link end, sorted
	LoggedIn    time.Duration
	InState     map[string]time.Duration
	PeakLegs    int
	PBXCPU      time.Duration
	SIPpCPU     map[string]time.Duration
	OtherCPU    time.Duration
	ProfTotal   time.Duration // CPU in the profile
	ProfClasses []time.Duration
	ProfErr     string
	NumbersHeap int64 // live heap the numbers added
	RSSKB       int64
	HWMKB       int64
	HeapLive    uint64
	GCShare     float64
	Goroutines  int
	Drops       int64
	SIPp        map[string]testkit.Result
	LoadStart   string
	LoadEnd     string
	Lagged      bool
}

// cbRun runs one load and returns what it measured.
func cbRun(tb testing.TB, s cbSpec) cbResult {
	tb.Helper()
	if s.RFCTimers {
		sipmsg.SetTimers(500*time.Millisecond, 4*time.Second, 5*time.Second)
		defer sipmsg.SetTimers(100*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond)
	}
	sippTimeout := s.Window + s.Drain + 90*time.Second

	customersPort, agentsPort := testkit.FreeUDPPort(tb), testkit.FreeUDPPort(tb)
	n, stopPBX := qbStartPBX(tb, cbConfig(s, customersPort, agentsPort))
	cc, camps, e := n.Queues(), n.Campaigns(), n.Engine()
	rec := cbRecord(tb, e)
	res := cbResult{Spec: s, SIPp: map[string]testkit.Result{}, SIPpCPU: map[string]time.Duration{}}

	agents := qbStartSIPp(tb, "agents", testkit.SIPp{Scenario: testkit.ScenarioPath("queue_agent.xml"), LocalIP: "127.0.0.1", LocalPort: agentsPort,
		Args: []string{"-d", strconv.Itoa(int(s.Talk / time.Millisecond)), "-l", "100000"}, Timeout: sippTimeout})
	customers := qbStartSIPp(tb, "customers", testkit.SIPp{Scenario: testkit.ScenarioPath("campaign_customer.xml"), LocalIP: "127.0.0.3", LocalPort: customersPort,
		Args: []string{"-l", "100000"}, Timeout: sippTimeout})
	sipps := []*qbSIPp{agents, customers}
	defer func() {
		// However the run ends, the SIPps end with it.
		for _, p := range sipps {
			syscall.Kill(p.pid, syscall.SIGTERM)
		}
	}()

	for i := range s.Agents {
		if err := cc.Login(ctxTimeout(tb, 5*time.Second), qbAgentID(i), queue.LoginOptions{}); err != nil {
			tb.Fatalf("login %s: %v", qbAgentID(i), err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		idle := 0
		for _, st := range cc.Agents() {
			if st.State == queue.StateIdle {
				idle++
			}
		}
		if idle == s.Agents {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d agents idle 10 s after they logged in", idle, s.Agents)
		}
	}

	cp, err := camps.CreateCampaign(campaign.Campaign{
		Kind: campaign.Outgoing, Name: "bench", Queue: cbQueue, Status: campaign.Inactive,
		Trunk: "customers", CallerID: "5550100", MaxChannels: s.MaxChannels, Retries: 0,
		RingTimeout: s.RingTimeout, Mode: campaign.Predictive, AbandonCap: 0.03,
	})
	if err != nil {
		tb.Fatalf("create campaign: %v", err)
	}
	runtime.GC()
	heap0 := qbRuntime()[qbHeapLive]
	rows := cbNumbers(s.Numbers)
	if added, err := camps.AddNumbers(cp.ID, rows); err != nil || added != s.Numbers {
		tb.Fatalf("add numbers: %d added, %v", added, err)
	}
	runtime.GC()
	res.NumbersHeap = int64(qbRuntime()[qbHeapLive] - heap0)
	kinds := map[string]string{}
	for _, r := range rows {
		kinds[r.Phone] = cbKind(r.Phone)
	}

	// Sample the legs while dialing.
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
			res.PeakLegs = max(res.PeakLegs, e.LegCount())
		}
	}()

	// The window: from the campaign's start to every number tried, or
	// the window's length.
	var profFile string
	profDir := os.Getenv("CAMPAIGN_BENCH_PROFILE")
	if s.Profile {
		dir := profDir
		if dir == "" {
			dir = tb.TempDir()
		}
		profFile = filepath.Join(dir, "campaign.cpu.pb.gz")
		f, err := os.Create(profFile)
		if err != nil {
			tb.Fatalf("profile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			tb.Fatalf("profile: %v", err)
		}
		defer func() {
			if profFile != "" {
				pprof.StopCPUProfile()
				f.Close()
			}
		}()
	}
	res.LoadStart = qbLoadAvg()
	rt0 := qbRuntime()
	cpu0, busy0 := qbSelfCPU(), qbMachineBusy()
	sipp0 := map[string]time.Duration{}
	for _, p := range sipps {
		sipp0[p.role], _ = qbProcCPU(p.pid)
	}
	a := time.Now()
	if err := camps.Start(cp.ID); err != nil {
		tb.Fatalf("start campaign: %v", err)
	}
	// No retries: every number is tried once the recorder has seen as
	// many Placing events (the Center is not polled meanwhile, so that
	// the profile holds only the dialer's own work).
	for end := a.Add(s.Window); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		rec.mu.Lock()
		placed := len(rec.placing)
		rec.mu.Unlock()
		if placed >= s.Numbers {
			res.AllTried = true
			break
		}
	}
	if err := camps.Stop(cp.ID); err != nil {
		tb.Errorf("stop campaign: %v", err)
	}
	b := time.Now()
	res.Window = b.Sub(a)
	res.PBXCPU = qbSelfCPU() - cpu0
	for _, p := range sipps {
		if c, ok := qbProcCPU(p.pid); ok {
			res.SIPpCPU[p.role] = c - sipp0[p.role]
		}
	}
	res.OtherCPU = max(0, qbMachineBusy()-busy0-res.PBXCPU-res.SIPpCPU["agents"]-res.SIPpCPU["customers"])
	rt1 := qbRuntime()
	res.GCShare = (rt1[qbGCCPU] - rt0[qbGCCPU]) / res.PBXCPU.Seconds()
	res.RSSKB, res.HWMKB, res.HeapLive, res.Goroutines = qbStatusKB("VmRSS"), qbStatusKB("VmHWM"), uint64(rt1[qbHeapLive]), runtime.NumGoroutine()
	res.LoadEnd = qbLoadAvg()
	if profFile != "" {
		pprof.StopCPUProfile()
		res.ProfTotal, res.ProfClasses, err = cbProfileShares(profFile)
		if err != nil {
			res.ProfErr = err.Error()
		}
		if profDir != "" {
			if f, err := os.Create(filepath.Join(profDir, "campaign.heap.pb.gz")); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			tb.Logf("profiles: campaign.{cpu,heap}.pb.gz in %s", profDir)
		}
		profFile = ""
	}
	close(stopSampling)
	<-sampled

	// The calls in progress end: customers ringing are cancelled or
	// answer, those answered reach an agent and talk.
	live := func() []campaign.Call {
		var out []campaign.Call
		for _, c := range camps.Calls(cp.ID) {
			switch c.Status {
			case campaign.Placing, campaign.Dialing, campaign.Ringing, campaign.OnQueue, campaign.OnHold, campaign.OffHold:
				out = append(out, c)
			}
		}
		return out
	}
	for deadline := time.Now().Add(s.Drain); ; time.Sleep(100 * time.Millisecond) {
		if len(live()) == 0 && e.LegCount() == 0 {
			break
		}
		if time.Now().After(deadline) {
			res.Stuck = live()
			break
		}
	}

	// What the calls say.
	res.Final, _ = camps.StatusCount(cp.ID)
	res.ByKind = map[string][2]int{}
	for _, c := range camps.Calls(cp.ID) {
		if c.Retries == 0 {
			continue
		}
		res.Tried++
		k := res.ByKind[kinds[c.Phone]]
		k[0]++
		if !c.OriginateResponse.IsZero() {
			k[1]++
		}
		res.ByKind[kinds[c.Phone]] = k
		if c.OriginateResponse.IsZero() {
			continue
		}
		res.Answered++
		res.Setup = append(res.Setup, c.OriginateResponse.Sub(c.Originate))
		if c.LinkStart.IsZero() {
			res.Never++
			continue
		}
		res.Connected++
		wj, wa := c.LinkStart.Sub(c.Join), c.LinkStart.Sub(c.OriginateResponse)
		res.WaitJoin, res.WaitAnswer = append(res.WaitJoin, wj), append(res.WaitAnswer, wa)
		if wj > 2*time.Second {
			res.LateJoin++
		}
		if wa > 2*time.Second {
			res.LateAnswer++
		}
		if !c.LinkEnd.IsZero() {
			res.Talk = append(res.Talk, c.LinkEnd.Sub(c.LinkStart))
		}
	}
	for _, ds := range [][]time.Duration{res.WaitJoin, res.WaitAnswer, res.Setup, res.Talk} {
		slices.Sort(ds)
	}
	res.LoggedIn, res.InState = rec.occupancy(a, b)
	rec.mu.Lock()
	for _, t := range rec.placing {
		if !t.Before(a) && !t.After(b) {
			res.Placed++
		}
	}
	res.Progress = map[string]int{}
	for k, v := range rec.states {
		res.Progress[k] = v
	}
	res.Lagged = rec.lagged
	rec.mu.Unlock()
	res.Drops = qbUDPDrops(n.SIPAddr("UDP").Port()) + qbUDPDrops(uint16(customersPort)) + qbUDPDrops(uint16(agentsPort))

	// Agents take no more calls, the PBX stops, the SIPps end.
	for i := range s.Agents {
		if err := cc.Pause(qbAgentID(i), "", "bench over"); err != nil {
			tb.Errorf("pause %s: %v", qbAgentID(i), err)
		}
	}
	stopPBX()
	for _, p := range sipps {
		syscall.Kill(p.pid, syscall.SIGTERM) // they answer until told; the PBX is gone
		r, err := p.run.Wait()
		if err != nil {
			tb.Errorf("sipp %s: %v", p.role, err)
		}
		res.SIPp[p.role] = r
	}
	return res
}

// occupancy is the share of the agents' logged-in time on a call
// (ringing, talking, on hold), and the share talking alone.
func (r cbResult) occupancy() (busy, talking float64) {
	if r.LoggedIn <= 0 {
		return 0, 0
	}
	on := r.InState[queue.StateRinging] + r.InState[queue.StateOnCall] + r.InState[queue.StateOnHold] + r.InState[queue.StateWrapup]
	return on.Seconds() / r.LoggedIn.Seconds(), r.InState[queue.StateOnCall].Seconds() / r.LoggedIn.Seconds()
}

// abandonRate is the share of answered calls that waited over 2 s for an
// agent (from the join, as the dialer measures it) or never reached one.
func (r cbResult) abandonRate() (fromJoin, fromAnswer float64) {
	if r.Answered == 0 {
		return 0, 0
	}
	return float64(r.LateJoin+r.Never) / float64(r.Answered), float64(r.LateAnswer+r.Never) / float64(r.Answered)
}

func (r cbResult) report(tb testing.TB, name string) {
	s := r.Spec
	var b strings.Builder
	secs := r.Window.Seconds()
	fmt.Fprintf(&b, "\n== %s: predictive campaign, %d numbers, %d agents (talk %s, no wrap-up), %d channels, ring timeout %s, abandon cap 3%%\n",
		name, s.Numbers, s.Agents, s.Talk, s.MaxChannels, s.RingTimeout)
	how := "every number tried"
	if !r.AllTried {
		how = "window over, numbers left"
	}
	fmt.Fprintf(&b, "dialing window %.1f s (%s); load average %s -> %s\n", secs, how, r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "calls placed: %d in the window, %.1f/s; numbers tried %d of %d; peak legs %d\n", r.Placed, float64(r.Placed)/secs, r.Tried, s.Numbers, r.PeakLegs)
	var kinds []string
	for _, k := range []string{"answers", "rings out", "busy"} {
		x := r.ByKind[k]
		kinds = append(kinds, fmt.Sprintf("%s %d (answered %d)", k, x[0], x[1]))
	}
	fmt.Fprintf(&b, "customers tried: %s\n", strings.Join(kinds, ", "))
	fmt.Fprintf(&b, "answered %d (%.1f/s; %.1f%% of calls placed), reached an agent %d, never reached one %d\n",
		r.Answered, float64(r.Answered)/secs, 100*float64(r.Answered)/float64(max(1, r.Placed)), r.Connected, r.Never)
	busy, talking := r.occupancy()
	fmt.Fprintf(&b, "agent occupancy: %.1f%% of logged-in time on a call (ringing or talking), %.1f%% talking; logged-in %.0f agent-s; by state %v\n",
		100*busy, 100*talking, r.LoggedIn.Seconds(), r.roundedStates())
	fj, fa := r.abandonRate()
	fmt.Fprintf(&b, "abandon rate (waited > 2 s for an agent, or never reached one): %.2f%% from the queue join (%d late + %d never), %.2f%% from the answer (%d late)\n",
		100*fj, r.LateJoin, r.Never, 100*fa, r.LateAnswer)
	fmt.Fprintf(&b, "wait join -> agent: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms; answer -> agent: p50 %s ms, p99 %s ms, max %s ms\n",
		qbMS(qbPct(r.WaitJoin, .5)), qbMS(qbPct(r.WaitJoin, .9)), qbMS(qbPct(r.WaitJoin, .99)), qbMS(qbPct(r.WaitJoin, 1)),
		qbMS(qbPct(r.WaitAnswer, .5)), qbMS(qbPct(r.WaitAnswer, .99)), qbMS(qbPct(r.WaitAnswer, 1)))
	var hist []string
	bounds := []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond, 3 * time.Second, 5 * time.Second}
	for i, lo := 0, time.Duration(0); i <= len(bounds); i++ {
		hi := time.Duration(1<<63 - 1)
		label := fmt.Sprintf(">=%.1fs", lo.Seconds())
		if i < len(bounds) {
			hi = bounds[i]
			label = fmt.Sprintf("%.1f-%.1fs", lo.Seconds(), hi.Seconds())
		}
		n := 0
		for _, w := range r.WaitJoin {
			if w >= lo && w < hi {
				n++
			}
		}
		hist = append(hist, fmt.Sprintf("%s %d", label, n))
		lo = hi
	}
	fmt.Fprintf(&b, "wait join -> agent, histogram: %s\n", strings.Join(hist, ", "))
	fmt.Fprintf(&b, "originate -> answer: p50 %s ms, p99 %s ms; talk p50 %s ms\n", qbMS(qbPct(r.Setup, .5)), qbMS(qbPct(r.Setup, .99)), qbMS(qbPct(r.Talk, .5)))
	fmt.Fprintf(&b, "final statuses: %v; progress events %v\n", r.Final, r.Progress)
	if len(r.Stuck) > 0 {
		fmt.Fprintf(&b, "STUCK: %d calls still in progress %s after the window:", len(r.Stuck), s.Drain)
		for i, c := range r.Stuck {
			if i == 10 {
				b.WriteString(" ...")
				break
			}
			fmt.Fprintf(&b, " %d %s %s leg %q;", c.ID, c.Phone, c.Status, c.LegID)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "CPU cores over the window: PBX %.2f (%.2f ms per call placed), SIPp agents %.2f, customers %.2f, other processes %.2f; GC %.1f%% of the PBX's\n",
		r.PBXCPU.Seconds()/secs, float64(r.PBXCPU)/1e6/float64(max(1, r.Placed)),
		r.SIPpCPU["agents"].Seconds()/secs, r.SIPpCPU["customers"].Seconds()/secs, r.OtherCPU.Seconds()/secs, 100*r.GCShare)
	switch {
	case r.ProfErr != "":
		fmt.Fprintf(&b, "CPU profile: %s\n", r.ProfErr)
	case r.ProfTotal > 0:
		var camp time.Duration
		var parts []string
		for i, c := range cbCPUClasses {
			if i < len(cbCPUClasses)-1 {
				camp += r.ProfClasses[i]
			}
			parts = append(parts, fmt.Sprintf("%s %.2f%% (%.3f cores)", c.name, 100*r.ProfClasses[i].Seconds()/r.ProfTotal.Seconds(), r.ProfClasses[i].Seconds()/secs))
		}
		fmt.Fprintf(&b, "CPU profile (%.1f s sampled): the campaign package %.2f%% of the PBX's (%.3f cores): %s\n",
			r.ProfTotal.Seconds(), 100*camp.Seconds()/r.ProfTotal.Seconds(), camp.Seconds()/secs, strings.Join(parts, "; "))
	}
	fmt.Fprintf(&b, "memory: RSS %.1f MB (peak %.1f MB), live heap %.1f MB, the %d numbers %.1f MB of live heap (%.0f B each); goroutines %d\n",
		float64(r.RSSKB)/1024, float64(r.HWMKB)/1024, float64(r.HeapLive)/(1<<20), s.Numbers, float64(r.NumbersHeap)/(1<<20),
		float64(r.NumbersHeap)/float64(max(1, s.Numbers)), r.Goroutines)
	fmt.Fprintf(&b, "SIP datagrams dropped by the kernel: %d\n", r.Drops)
	for _, role := range []string{"customers", "agents"} {
		if x, ok := r.SIPp[role]; ok {
			fmt.Fprintf(&b, "sipp %s: %d successful, %d failed, %d retransmissions, exit %d\n", role, x.Successful, x.Failed, x.Retransmissions, x.ExitCode)
		}
	}
	if _, ok := tb.(*testing.B); ok {
		fmt.Print(b.String())
		return
	}
	tb.Log(b.String())
}

func (r cbResult) roundedStates() map[string]string {
	out := map[string]string{}
	for k, v := range r.InState {
		out[k] = fmt.Sprintf("%.0fs", v.Seconds())
	}
	return out
}

func (r cbResult) metrics(b *testing.B) {
	secs := r.Window.Seconds()
	busy, _ := r.occupancy()
	fj, _ := r.abandonRate()
	b.ReportMetric(float64(r.Placed)/secs, "placed/s")
	b.ReportMetric(float64(r.Answered)/secs, "answered/s")
	b.ReportMetric(100*busy, "occupancy-%")
	b.ReportMetric(100*fj, "abandon-%")
	b.ReportMetric(r.PBXCPU.Seconds()/secs, "pbx-cores")
	if r.ProfTotal > 0 {
		var camp time.Duration
		for _, c := range r.ProfClasses[:len(r.ProfClasses)-1] {
			camp += c
		}
		b.ReportMetric(camp.Seconds()/secs, "campaign-cores")
	}
	b.ReportMetric(float64(r.RSSKB)/1024, "rss-MB")
	b.ReportMetric(float64(r.Tried), "numbers-tried")
}

// check fails a run that did not do what the load says.
func (r cbResult) check(tb testing.TB) {
	tb.Helper()
	if r.Placed == 0 || r.Connected == 0 {
		tb.Errorf("nothing measured: %d calls placed, %d reached an agent", r.Placed, r.Connected)
	}
	if len(r.Stuck) > 0 {
		tb.Errorf("%d campaign calls still in progress %s after dialing stopped, first %+v", len(r.Stuck), r.Spec.Drain, r.Stuck[0])
	}
	if r.Lagged {
		tb.Errorf("the event recorder fell behind the engine")
	}
	for k, x := range r.ByKind {
		switch {
		case k == "answers" && x[1] != x[0]:
			tb.Errorf("%d of %d customers who answer were answered", x[1], x[0])
		case k != "answers" && x[1] != 0:
			tb.Errorf("%d customers who %s were answered", x[1], k)
		}
	}
	if c := r.Final[campaign.Success] + r.Final[campaign.ShortCall]; c != r.ByKind["answers"][0] {
		tb.Errorf("%d successes, want one per customer who answers (%d): %v", c, r.ByKind["answers"][0], r.Final)
	}
	for role, x := range r.SIPp {
		if x.Failed > 0 {
			tb.Errorf("sipp %s: %d calls failed\n%s", role, x.Failed, x.Errors)
		}
	}
}

func BenchmarkCampaignPredictive(b *testing.B) {
	fmt.Println(qbMachine())
	r := cbRun(b, cbSpec{
		Numbers: 10000, Agents: 100, Talk: 3 * time.Second, RingTimeout: 5 * time.Second, MaxChannels: 300,
		Window: qbWindow(b, "CAMPAIGN_BENCH_WINDOW", 180*time.Second), Drain: 30 * time.Second, Profile: true, RFCTimers: true,
	})
	r.report(b, "BenchmarkCampaignPredictive")
	r.metrics(b)
	r.check(b)
}

// TestCampaignBenchSmoke runs the benchmark's rig small: 30 numbers, four
// agents, every number tried.
func TestCampaignBenchSmoke(t *testing.T) {
	r := cbRun(t, cbSpec{
		Numbers: 30, Agents: 4, Talk: 300 * time.Millisecond, RingTimeout: 3500 * time.Millisecond, MaxChannels: 20,
		Window: 40 * time.Second, Drain: 15 * time.Second,
	})
	if testing.Verbose() {
		r.report(t, "smoke")
	}
	r.check(t)
	if !r.AllTried || r.Tried != r.Spec.Numbers {
		t.Errorf("%d of %d numbers tried (all tried: %v)", r.Tried, r.Spec.Numbers, r.AllTried)
	}
}
