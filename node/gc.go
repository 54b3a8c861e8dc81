package node

import (
	"os"
	"runtime/debug"
	"strconv"
)

// gcPercent is the GOGC a node runs with when the environment sets none.
// Go's default, 100, lets the heap grow to twice what the last collection
// left before the next one starts. With 1,000 relayed calls
// (bench/run.sh rtp) the RSS per call was 77.0 KB at 100, 61.5 KB at 50
// and 59.6 KB at 40. Collections come 2.5 times as often as at 100, but
// once a call is up it allocates next to nothing (the relay path
// allocates nothing per packet): in that load the collector's share went
// from 0.4 % to 0.75 % of the two cores. Where calls are set up at a high
// rate it costs more: in the overload bench (1,500 calls/s) the collector
// took 17 % of the PBX's CPU at 40, where 100 would take about 7 % (the
// pacer's arithmetic, not measured). See README, Performance.
//
// A soft memory limit (debug.SetMemoryLimit) is not set: it does not
// lower the memory per call unless it sits below the heap the load
// would reach anyway (live data plus GOGC percent), and a limit that low makes the collector run flat out (up
// to half the CPU) exactly when the PBX is busiest. The admission limit
// on legs already bounds the live heap. GOMEMLIMIT in the environment
// still applies, as with any Go program.
const gcPercent = 40

// tuneGC sets the collector's target to gcPercent, unless GOGC is set in
// the environment: an operator's GOGC is theirs to choose. It returns the
// GOGC in effect. The setting is process-wide; every node of a process
// sets the same.
func tuneGC() (gogc string) {
	if v := os.Getenv("GOGC"); v != "" {
		return v
	}
	debug.SetGCPercent(gcPercent)
	return strconv.Itoa(gcPercent)
}
