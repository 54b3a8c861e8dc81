#!/usr/bin/env bash
# bench/agentrpc.sh: the Agent RPC benchmark (issue 10), once the machine
# is quiet.
#
#   bench/agentrpc.sh [RUNS]
#
# Runs BenchmarkAgentRPC of e2e/agentrpc_bench_test.go RUNS times (default
# 1), each in a process of its own: 500 concurrent bot-controlled calls,
# each playing a 1 s prompt and reading DTMF (12#). The one-command
# equivalent is
#   go test -run XXX -bench AgentRPC -benchtime 1x ./e2e/
# The PBX and the bots (two Agent RPC connections) run in the test
# process; the callers are SIPp (sipp/agentrpc_caller.xml) on loopback,
# keying RFC 2833 events from sip-tester's pcaps. Every figure is printed;
# the output is also kept in $BENCH_WORK/agentrpc.log.
#
# Knobs (environment): AGENTRPC_BENCH_CALLS (default 500),
# AGENTRPC_BENCH_RATE (calls/s, default 100), AGENTRPC_BENCH_PROFILE=DIR
# (CPU profile of the run, bot goroutines labelled side=bot: go tool pprof
# -tagignore=side=bot $BENCH_WORK/e2e.test DIR/agentrpc.cpu.pb.gz; heap
# profile with every call up), BENCH_WORK (default /tmp/pbx-bench-agentrpc),
# BENCH_QUIET_WAIT (seconds to wait, before each run, for other processes
# to leave the CPUs; default 120), BENCH_MAX_SECS (bound of each run;
# default 300). Everything the benchmark starts stops with it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/pbx-bench-agentrpc}
RUNS=${1:-1}
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
BENCH_MAX_SECS=${BENCH_MAX_SECS:-300}
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
log "building the benchmark: go test -c -o $WORK/e2e.test ./e2e/ (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
go test -c -o "$WORK/e2e.test" ./e2e/
: >"$WORK/agentrpc.log"
rc=0
for ((i = 1; i <= RUNS; i++)); do
	wait_quiet
	log "run $i of $RUNS: e2e.test -test.run XXX -test.bench 'AgentRPC\$' -test.benchtime 1x"
	# Run in e2e/: the scenario is found from the working directory.
	(cd "$ROOT/e2e" && timeout --signal=INT "$BENCH_MAX_SECS" "$WORK/e2e.test" -test.run XXX -test.bench 'AgentRPC$' \
		-test.benchtime 1x -test.timeout "${BENCH_MAX_SECS}s") 2>&1 | grep -v '^[[:space:]]*$' | tee -a "$WORK/agentrpc.log" || rc=1
done
exit "$rc"
