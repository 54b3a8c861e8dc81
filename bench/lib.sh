# bench/lib.sh: what the bench scripts share; they source it after setting
# ROOT, WORK, BENCH_QUIET_WAIT and BENCH_MAX_SECS.
#
# log, need_sipp, sys_ticks, wait_quiet (run a measurement only once the
# machine is quiet), and for the e2e benchmarks build_e2e_bench and
# run_e2e_bench (each run in a process of its own, bounded, its output
# kept in a log) with run_e2e_bench_runs to repeat it.

HZ=$(getconf CLK_TCK)

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

need_sipp() { command -v sipp >/dev/null || { log "error: sipp is not installed (apt-get install -y sip-tester)"; exit 1; }; }

# sys_ticks: CPU time used by the whole machine (user, nice, system, irq,
# softirq, steal), in clock ticks.
sys_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# wait_quiet: before a step, wait (at most BENCH_QUIET_WAIT s) until the
# machine's other processes use less than a quarter of a core.
wait_quiet() {
	local waited=0 a b busy
	while :; do
		a=$(sys_ticks)
		sleep 2
		b=$(sys_ticks)
		busy=$(awk -v a="$a" -v b="$b" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz / 2 }')
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

# build_e2e_bench: compile the e2e package's tests to $WORK/e2e.test.
build_e2e_bench() {
	log "building the benchmarks: go test -c -o $WORK/e2e.test ./e2e/ (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
	(cd "$ROOT" && go test -c -o "$WORK/e2e.test" ./e2e/)
}

# run_e2e_bench BENCH_REGEXP LOG: once the machine is quiet, run the
# benchmarks BENCH_REGEXP matches once (-benchtime 1x), bounded by
# BENCH_MAX_SECS; the output is printed and appended to LOG.
run_e2e_bench() {
	wait_quiet
	log "e2e.test -test.run XXX -test.bench '$1' -test.benchtime 1x"
	# Run in e2e/: the scenarios are found from the working directory.
	(cd "$ROOT/e2e" && timeout --signal=INT "$BENCH_MAX_SECS" "$WORK/e2e.test" -test.run XXX -test.bench "$1" \
		-test.benchtime 1x -test.timeout "${BENCH_MAX_SECS}s") 2>&1 | grep -v '^[[:space:]]*$' | tee -a "$2"
}

# run_e2e_bench_runs BENCH_REGEXP LOG RUNS: empty LOG, then run_e2e_bench
# RUNS times; fails when any run failed.
run_e2e_bench_runs() {
	: >"$2"
	local rc=0 i
	for ((i = 1; i <= $3; i++)); do
		log "run $i of $3"
		run_e2e_bench "$1" "$2" || rc=1
	done
	return "$rc"
}
