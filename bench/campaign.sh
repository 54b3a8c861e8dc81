#!/usr/bin/env bash
# bench/campaign.sh: the outbound dialer's benchmark (issue 11), once the
# machine is quiet.
#
#   bench/campaign.sh [RUNS]
#
# Runs BenchmarkCampaignPredictive of e2e/campaign_bench_test.go RUNS
# times (default 1), each in a process of its own: a predictive campaign
# of 10,000 numbers (abandon cap 3 %, 300 channels, no retries) against
# SIPp customers on 127.0.0.3 (sipp/campaign_customer.xml: by the
# number's last digit 60 % answer after 0.5-2.5 s, 20 % ring out, 20 %
# are busy), with 100 agents (dynamic members of the campaign's queue,
# SIPp phones, sipp/queue_agent.xml: 100 ms ringing, 3 s talk). The
# dialing window ends when every number has been tried or after
# CAMPAIGN_BENCH_WINDOW (default 180s); the calls in progress then end.
# The one-command equivalent is
#   go test -run XXX -bench CampaignPredictive -benchtime 1x ./e2e/
# It reports calls placed a second, agent occupancy, the abandon rate,
# the PBX's CPU and the campaign package's share of it (a CPU profile of
# the window), SIPp's CPU apart, and memory. Every figure is printed; the
# output is also kept in $BENCH_WORK/campaign.log.
#
# Knobs (environment): CAMPAIGN_BENCH_WINDOW (a Go duration),
# CAMPAIGN_BENCH_PROFILE=DIR (keep the window's CPU profile,
# campaign.cpu.pb.gz, and a heap profile at its end: go tool pprof
# -focus=pbx/campaign $BENCH_WORK/e2e.test DIR/campaign.cpu.pb.gz),
# BENCH_WORK (default /tmp/pbx-bench-campaign), BENCH_QUIET_WAIT (seconds
# to wait, before each run, for other processes to leave the CPUs;
# default 120), BENCH_MAX_SECS (bound of each run; default 400).
# Everything the benchmark starts stops with it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/pbx-bench-campaign}
RUNS=${1:-1}
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
BENCH_MAX_SECS=${BENCH_MAX_SECS:-400}
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_sipp
mkdir -p "$WORK"

build_e2e_bench
run_e2e_bench_runs 'CampaignPredictive$' "$WORK/campaign.log" "$RUNS"
