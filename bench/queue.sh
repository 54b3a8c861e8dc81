#!/usr/bin/env bash
# bench/queue.sh: the contact-center benchmarks (issue 9), once the
# machine is quiet.
#
#   bench/queue.sh [BENCH_REGEXP]...
#
# Runs the benchmarks of e2e/queue_bench_test.go, each in a process of its
# own (so that memory figures start from an idle PBX): by default
#   QueueLoad$  QueueFreeToRing/agents=20$  QueueFreeToRing/agents=200$  QueueFreeToRing/agents=2000$
# The one-command equivalent, all in one process (memory per leg then
# measured for the first run only), is
#   go test -run XXX -bench Queue -benchtime 1x ./e2e/
# The PBX runs in the test process, SIPp callers and agent phones
# (sipp/queue_caller.xml, sipp/queue_agent.xml) on loopback.
# BenchmarkQueueLoad: 2,000 callers waiting in 10 queues with music and
# announcements, 200 agents taking 20 calls a second.
# BenchmarkQueueFreeToRing: free-agent-to-ring time at 20, 200 and 2,000
# agents in 50 queues. Every figure is printed; the output is also kept
# in $BENCH_WORK/queue.log.
#
# Knobs (environment): QUEUE_BENCH_WINDOW (a Go duration: the measuring
# window of each run; default 60s for the load, 30s for each size),
# QUEUE_BENCH_PROFILE=DIR (CPU profile of each window and heap profile at
# its end, read with go tool pprof -sample_index=inuse_space
# $BENCH_WORK/e2e.test FILE), BENCH_WORK (default /tmp/pbx-bench-queue),
# BENCH_QUIET_WAIT (seconds to wait, before each run, for other processes
# to leave the CPUs; default 120), BENCH_MAX_SECS (bound of each run;
# default 600). Everything the benchmarks start stops with them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/pbx-bench-queue}
if (($# > 0)); then BENCHES=("$@"); else BENCHES=('QueueLoad$' 'QueueFreeToRing/agents=20$' 'QueueFreeToRing/agents=200$' 'QueueFreeToRing/agents=2000$'); fi
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
BENCH_MAX_SECS=${BENCH_MAX_SECS:-600}
HZ=$(getconf CLK_TCK)

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
command -v sipp >/dev/null || { log "sipp is not installed (apt-get install -y sip-tester)"; exit 1; }
mkdir -p "$WORK"

# busy_cores SECONDS: cores the whole machine used over that long.
busy_cores() {
	local a b
	a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
	sleep "$1"
	b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
	awk -v a="$a" -v b="$b" -v hz="$HZ" -v s="$1" 'BEGIN { printf "%.2f", (b - a) / hz / s }'
}

# wait_quiet: wait (at most BENCH_QUIET_WAIT s) until other processes use
# less than a quarter of a core.
wait_quiet() {
	local waited=0 busy
	while :; do
		busy=$(busy_cores 2)
		awk -v b="$busy" 'BEGIN { exit !(b < 0.25) }' && return 0
		if ((waited >= BENCH_QUIET_WAIT)); then
			log "the machine is still busy ($busy cores in use by other processes): measuring anyway"
			return 0
		fi
		((waited == 0)) && log "the machine is busy ($busy cores in use by other processes): waiting up to ${BENCH_QUIET_WAIT}s"
		sleep 3
		waited=$((waited + 5))
	done
}

cd "$ROOT"
log "building the benchmarks: go test -c -o $WORK/e2e.test ./e2e/ (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
go test -c -o "$WORK/e2e.test" ./e2e/
: >"$WORK/queue.log"
rc=0
for bench in "${BENCHES[@]}"; do
	wait_quiet
	log "e2e.test -test.run XXX -test.bench '$bench' -test.benchtime 1x"
	# Run in e2e/: the scenarios are found from the working directory.
	(cd "$ROOT/e2e" && timeout --signal=INT "$BENCH_MAX_SECS" "$WORK/e2e.test" -test.run XXX -test.bench "$bench" \
		-test.benchtime 1x -test.timeout "${BENCH_MAX_SECS}s") 2>&1 | grep -v '^[[:space:]]*$' | tee -a "$WORK/queue.log" || rc=1
done
exit "$rc"
