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
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_sipp
mkdir -p "$WORK"

build_e2e_bench
run_e2e_bench_runs 'AgentRPC$' "$WORK/agentrpc.log" "$RUNS"
