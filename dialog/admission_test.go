package dialog

import (
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// The limits follow the open-file limit and the RTP port range, whichever
// is tighter, and the calls being set up are a quarter of the legs, never
// fewer than 16 nor more than the legs.
func TestAdmissionLimitsFor(t *testing.T) {
	tests := []struct {
		name               string
		nofile             uint64
		portMin, portMax   int
		wantLegs, wantSetp int
	}{
		// 20000 fds: reserve 256+2000, (20000-2256)/2 = 8872 legs; the
		// default range 20000-29999 has 5000 pairs.
		{"default range is tighter", 20000, 20000, 29999, 5000, 1250},
		{"fds are tighter", 4096, 20000, 29999, (4096 - 256 - 409) / 2, (4096 - 256 - 409) / 2 / 4},
		{"os-chosen ports: fds only", 20000, 0, 0, 8872, 2218},
		{"small soft limit", 1024, 20000, 29999, (1024 - 256 - 102) / 2, (1024 - 256 - 102) / 2 / 4},
		{"tiny range", 1 << 16, 40000, 40009, 5, 5},
		{"range of one pair", 1 << 16, 40000, 40001, 1, 1},
		{"setup never below 16", 1 << 16, 40000, 40099, 50, 16},
		{"fds below the reserve still allow one call", 100, 0, 0, 2, 2},
		{"unlimited rlimit is capped", ^uint64(0), 0, 0, (1<<20 - 256 - (1<<20)/10) / 2, (1<<20 - 256 - (1<<20)/10) / 2 / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legs, setup := limitsFor(tt.nofile, tt.portMin, tt.portMax)
			if legs != tt.wantLegs || setup != tt.wantSetp {
				t.Fatalf("limitsFor(%d, %d, %d) = %d legs, %d setup; want %d, %d",
					tt.nofile, tt.portMin, tt.portMax, legs, setup, tt.wantLegs, tt.wantSetp)
			}
		})
	}
}

// Configured limits win; a setup limit left to derive follows a configured
// legs limit.
func TestAdmissionLimitsFromConfig(t *testing.T) {
	derivedLegs, derivedSetup := defaultLimits(20000, 29999)
	tests := []struct {
		name                string
		maxLegs, maxSetup   int
		wantLegs, wantSetup int
	}{
		{"both derived", 0, 0, derivedLegs, derivedSetup},
		{"legs given, setup follows", 400, 0, 400, 100},
		{"small legs given, setup at least 16", 40, 0, 40, 16},
		{"tiny legs given, setup at most legs", 6, 0, 6, 6},
		{"setup given, legs derived", 0, 77, derivedLegs, 77},
		{"both given", 1000, 50, 1000, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legs, setup := admissionLimits(tt.maxLegs, tt.maxSetup, 20000, 29999)
			if legs != tt.wantLegs || setup != tt.wantSetup {
				t.Fatalf("admissionLimits(%d, %d) = %d, %d; want %d, %d", tt.maxLegs, tt.maxSetup, legs, setup, tt.wantLegs, tt.wantSetup)
			}
		})
	}
}

// defaultLimits reads the process's own open-file limit.
func TestAdmissionDefaultLimitsReadRlimit(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	wantLegs, wantSetup := limitsFor(rl.Cur, 20000, 29999)
	if legs, setup := defaultLimits(20000, 29999); legs != wantLegs || setup != wantSetup {
		t.Fatalf("defaultLimits = %d, %d; want %d, %d (RLIMIT_NOFILE %d)", legs, setup, wantLegs, wantSetup, rl.Cur)
	}
}

// Up to the limit every try succeeds, past it every try fails, and a done
// makes room for exactly one more. A limit of 0 means none.
func TestAdmissionTryAndDone(t *testing.T) {
	tests := []struct {
		name        string
		legs, setup int
		tries       int
		wantLegs    int
		wantSetup   int
	}{
		{"within both", 10, 4, 3, 3, 3},
		{"legs limit", 2, 8, 5, 2, 5},
		{"setup limit", 8, 2, 5, 5, 2},
		{"no limits", 0, 0, 50, 50, 50},
		{"negative is no limit", -1, -1, 7, 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdmission(tt.legs, tt.setup)
			gotLegs, gotSetup := 0, 0
			for range tt.tries {
				if a.tryLeg() {
					gotLegs++
				}
				if a.trySetup() {
					gotSetup++
				}
			}
			if gotLegs != tt.wantLegs || gotSetup != tt.wantSetup {
				t.Fatalf("admitted %d legs, %d setups; want %d, %d", gotLegs, gotSetup, tt.wantLegs, tt.wantSetup)
			}
			if l, s := a.inUse(); l != gotLegs || s != gotSetup {
				t.Fatalf("inUse = %d, %d; want %d, %d", l, s, gotLegs, gotSetup)
			}
			if want := uint64(2*tt.tries - gotLegs - gotSetup); a.refusals() != want {
				t.Fatalf("refusals = %d, want %d", a.refusals(), want)
			}
			if tt.legs > 0 && gotLegs == tt.legs {
				a.doneLeg()
				if !a.tryLeg() {
					t.Fatal("a done leg did not make room for one more")
				}
				if a.tryLeg() {
					t.Fatal("a done leg made room for two")
				}
			}
			for range gotLegs {
				a.doneLeg()
			}
			for range gotSetup {
				a.doneSetup()
			}
			if l, s := a.inUse(); l != 0 || s != 0 {
				t.Fatalf("after every done: %d legs, %d setups in use", l, s)
			}
		})
	}
}

// A done without a try does not open room beyond the limit.
func TestAdmissionDoneWithoutTry(t *testing.T) {
	a := newAdmission(1, 1)
	a.doneLeg()
	a.doneSetup()
	if !a.tryLeg() || a.tryLeg() {
		t.Fatal("a stray doneLeg changed the legs limit")
	}
	if !a.trySetup() || a.trySetup() {
		t.Fatal("a stray doneSetup changed the setup limit")
	}
}

// Many goroutines racing for places never hold more than the limit at
// once, and when they all try together exactly the limit get in.
func TestAdmissionConcurrent(t *testing.T) {
	const limit, workers, rounds = 8, 32, 500
	a := newAdmission(limit, limit)

	var inside, peak atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if !a.tryLeg() {
					continue
				}
				n := inside.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				inside.Add(-1)
				a.doneLeg()
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > limit || p < 1 {
		t.Fatalf("peak %d legs at once, limit %d", p, limit)
	}
	if l, _ := a.inUse(); l != 0 {
		t.Fatalf("%d legs left in use", l)
	}

	// All at once, nobody giving back: exactly limit succeed.
	start := make(chan struct{})
	var admitted atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if a.trySetup() {
				admitted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if admitted.Load() != limit {
		t.Fatalf("%d setups admitted at once, want %d", admitted.Load(), limit)
	}
}

// The refusal is a 503 that tells the caller when to come back.
func TestAdmissionOverloadedResponse(t *testing.T) {
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "2000", Host: "127.0.0.1"})
	via := &sipmsg.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5070, Params: sipmsg.NewParams()}
	via.Params.Add("branch", "z9hG4bK1")
	req.AppendHeader(via)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.INVITE})
	res := overloaded(req)
	if res.StatusCode != 503 {
		t.Fatalf("status %d", res.StatusCode)
	}
	h := res.GetHeader("Retry-After")
	if h == nil || h.Value() != strconv.Itoa(admissionRetryAfter) {
		t.Fatalf("Retry-After %v", h)
	}
}
