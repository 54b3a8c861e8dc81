#!/usr/bin/env bash
# bench/eccp.sh: the ECCP event fan-out benchmark (issue 12), once the
# machine is quiet.
#
#   bench/eccp.sh [RUNS]
#
# Runs BenchmarkECCPEvents of e2e/eccp_bench_test.go RUNS times (default
# 1), each in a process of its own: 500 ECCP sessions logged in,
# unfiltered, while 100 agents (SIPp phones) take queue calls from SIPp
# callers at 20 a second; every call's agentlinked and agentunlinked
# reach every session. The one-command equivalent is
#   go test -run XXX -bench ECCPEvents -benchtime 1x ./e2e/
# It reports the latency from the PBX's bus to each session's read
# (p50, p90, p99, p99.9, max), events missed, memory (RSS before and
# with the sessions, at the end; live heap) and the process's CPU. The
# sessions' client side runs in the test process with the PBX; SIPp does
# not. Every figure is printed; the output is also kept in
# $BENCH_WORK/eccp.log.
#
# Knobs (environment): ECCP_BENCH_SESSIONS (default 500),
# ECCP_BENCH_AGENTS (default 100), ECCP_BENCH_WINDOW (default 30s),
# ECCP_BENCH_PROFILE=DIR (a heap profile at the window's end:
# go tool pprof -sample_index=inuse_space $BENCH_WORK/e2e.test DIR/eccp.heap.pb.gz),
# BENCH_WORK (default /tmp/pbx-bench-eccp), BENCH_QUIET_WAIT (seconds to
# wait, before each run, for other processes to leave the CPUs; default
# 120), BENCH_MAX_SECS (bound of each run; default 300). Everything the
# benchmark starts stops with it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/pbx-bench-eccp}
RUNS=${1:-1}
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
BENCH_MAX_SECS=${BENCH_MAX_SECS:-300}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_sipp
mkdir -p "$WORK"

build_e2e_bench
run_e2e_bench_runs 'ECCPEvents$' "$WORK/eccp.log" "$RUNS"
