package dialog

import (
	"strconv"
	"sync/atomic"
	"syscall"

	sipmsg "github.com/emiago/sipgo/sip"
)

// admission decides whether the engine can take one more call. It counts
// two things: legs alive (each holds an RTP socket, an RTCP socket once
// media flows, and a share of the SIP sockets) and calls being set up (an
// INVITE received or sent and not yet answered or failed: the phase where
// the engine spends most of its work per call: parsing, authentication,
// routing, dialling). Past either limit the caller gets a quick 503 with
// Retry-After before any port is taken or any goroutine of the call
// starts, so an overload costs the engine little and ends by itself.
//
// The counters are atomic and the check-and-take is one compare-and-swap,
// so the INVITE path takes no lock here. A limit of 0 or less means no
// limit.
type admission struct {
	maxLegs, maxSetup int64
	legs, setup       atomic.Int64
	refused           atomic.Uint64 // tries refused, either limit
}

// admissionRetryAfter is the Retry-After, in seconds, of the 503 sent when
// a limit is reached: long enough for the calls being set up to finish,
// short enough that a caller retrying is not turned away for long.
const admissionRetryAfter = 5

// newAdmission makes the limits; 0 or less leaves one unlimited.
func newAdmission(maxLegs, maxSetup int) *admission {
	return &admission{maxLegs: int64(maxLegs), maxSetup: int64(maxSetup)}
}

// tryLeg takes a leg if the limit allows it. Each true must be matched by
// one doneLeg when the leg ends.
func (a *admission) tryLeg() bool { return a.take(&a.legs, a.maxLegs) }

// doneLeg gives back a leg taken by tryLeg.
func (a *admission) doneLeg() { admissionGive(&a.legs) }

// trySetup takes a place among the calls being set up. Each true must be
// matched by one doneSetup once the call is answered or has failed.
func (a *admission) trySetup() bool { return a.take(&a.setup, a.maxSetup) }

// doneSetup gives back a place taken by trySetup.
func (a *admission) doneSetup() { admissionGive(&a.setup) }

// inUse reports the legs alive and the calls being set up, for metrics.
func (a *admission) inUse() (legs, setup int) {
	return int(a.legs.Load()), int(a.setup.Load())
}

// refusals is the number of tries refused so far, for metrics.
func (a *admission) refusals() uint64 { return a.refused.Load() }

func (a *admission) take(n *atomic.Int64, limit int64) bool {
	if limit <= 0 {
		n.Add(1)
		return true
	}
	for {
		cur := n.Load()
		if cur >= limit {
			a.refused.Add(1)
			return false
		}
		if n.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// admissionGive decrements n but never below zero: a done without a try
// is a bug in the caller, and it must not open room beyond the limit.
func admissionGive(n *atomic.Int64) {
	for {
		cur := n.Load()
		if cur <= 0 || n.CompareAndSwap(cur, cur-1) {
			return
		}
	}
}

// overloaded is the 503 the engine answers when a limit is reached. Send
// it with sip.RespondStateless: a refused INVITE must not leave a
// transaction behind either.
func overloaded(req *sipmsg.Request) *sipmsg.Response {
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Service Unavailable", nil)
	res.AppendHeader(sipmsg.NewHeader("Retry-After", strconv.Itoa(admissionRetryAfter)))
	return res
}

// Reserve of file descriptors kept for what is not a leg: the SIP, HTTP
// and control-plane listeners, their clients, TCP and TLS phones, the
// store, recordings being written, log files. A fixed part covers a small
// PBX; a tenth of the limit covers the clients of a large one.
const (
	admissionFixedReserve = 256
	admissionReserveDiv   = 10
	admissionFDsPerLeg    = 2 // RTP and RTCP
	admissionSetupDiv     = 4 // calls being set up: at most a quarter of the legs
	admissionMinSetup     = 16
	admissionMaxNofile    = 1 << 20 // an unlimited or absurd rlimit counts as this
)

// defaultLimits derives the limits from the process's open-file limit
// (RLIMIT_NOFILE, which Go raises to the hard limit at start-up) and the
// RTP port range: a leg takes two descriptors and, with a port range, one
// even/odd port pair. A range of 0, 0 lets the operating system choose
// ports, so only descriptors bound the legs then.
func defaultLimits(rtpPortMin, rtpPortMax int) (maxLegs, maxSetup int) {
	var rl syscall.Rlimit
	nofile := uint64(1024) // the common soft limit, if it cannot be read
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		nofile = rl.Cur
	}
	return limitsFor(nofile, rtpPortMin, rtpPortMax)
}

// admissionLimits resolves calls.max_legs and calls.max_setup: a value
// above 0 is taken as given, 0 is derived (defaultLimits). A setup limit
// left at 0 next to a given legs limit is a quarter of it (at least 16, at
// most the legs), the same rule defaultLimits applies to derived legs.
func admissionLimits(maxLegs, maxSetup, rtpPortMin, rtpPortMax int) (legs, setup int) {
	legs, setup = defaultLimits(rtpPortMin, rtpPortMax)
	if maxLegs > 0 {
		legs = maxLegs
		setup = setupFor(legs)
	}
	if maxSetup > 0 {
		setup = maxSetup
	}
	return legs, setup
}

// setupFor is the setup limit derived from a legs limit.
func setupFor(maxLegs int) int {
	return min(max(maxLegs/admissionSetupDiv, admissionMinSetup), maxLegs)
}

// limitsFor is defaultLimits for a given open-file limit.
func limitsFor(nofile uint64, rtpPortMin, rtpPortMax int) (maxLegs, maxSetup int) {
	n := int(min(nofile, admissionMaxNofile))
	reserve := admissionFixedReserve + n/admissionReserveDiv
	maxLegs = max((n-reserve)/admissionFDsPerLeg, 2) // always room for one call
	if rtpPortMin != 0 || rtpPortMax != 0 {
		pairs := max((rtpPortMax-rtpPortMin+1)/2, 1)
		maxLegs = min(maxLegs, pairs)
	}
	return maxLegs, setupFor(maxLegs)
}
