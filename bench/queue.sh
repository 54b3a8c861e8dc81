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
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_sipp
mkdir -p "$WORK"

build_e2e_bench
: >"$WORK/queue.log"
rc=0
for bench in "${BENCHES[@]}"; do
	run_e2e_bench "$bench" "$WORK/queue.log" || rc=1
done
exit "$rc"
