#!/usr/bin/env bash
# bench/run.sh: SIPp load against the PBX, and the same signalling load
# through Kamailio in the same run so the figures come with a ratio.
#
#   bench/run.sh [all | calls | register | rtp | moh | kamailio | direct | overload | flood]...
#
#   calls     signalling calls/s through the PBX: SIPp uac_noauth.xml on
#             127.0.0.2 -> PBX 127.0.0.1:5060 -> number 2000 -> trunk sippuas
#             -> SIPp built-in uas on 127.0.0.1:5090; 10 s hold; rate ramp
#   register  REGISTER with digest per second (register.xml, users 1001-1010)
#   rtp       concurrent relayed calls with PCMU RTP (uac_rtp.xml streaming,
#             uas_answer.xml -rtp_echo); 1,000 calls, stepping down if needed
#   moh       hold-music listeners: SIPp calls number 7000 (target
#             music:default) until 2,000 are up, then the PBX's CPU and
#             the RTP it sends are measured while all listen
#   kamailio  the "calls" load through Kamailio (/work/shared/bench/kamailio-proxy.cfg)
#   direct    the "calls" load SIPp to SIPp, no server: the rig's own ceiling
#   overload  calls at three times what the PBX can serve (1,500 calls/s for
#             10 s, sipp/uac_overload.xml, which takes 503 as a refusal), then
#             a normal rate (300 calls/s for 10 s) while the first calls
#             still hold: calls completed and refused, failures, the PBX's
#             peak RSS and its RSS 60 s after the load
#   flood     bench/flood sends malformed, unknown-method and unauthenticated
#             requests over UDP and TCP (12,500/s for 20 s) while SIPp
#             registers a user now and then: log lines the PBX wrote (by
#             level), its peak RSS, and the registrations that went through
#   all       calls, register, rtp, moh and kamailio (default; overload and
#             flood run only when named)
#
# Everything stays on loopback. Every SIPp run is bounded by -m and -timeout,
# the whole script by BENCH_MAX_SECS, and every process it starts is stopped
# on exit. The PBX is restarted before each step so memory deltas start from
# an idle process. Results: a Markdown table on stdout and in bench/results.md.
#
# Knobs (environment): CALL_RATES, STEP_SECS, HOLD_MS, REG_RATES, REG_SECS,
# RTP_TARGETS, RTP_HOLD_MS, RTP_MAX_LOSS_PCT, MOH_LISTENERS, MOH_HOLD_MS,
# OVERLOAD_RATE, OVERLOAD_SECS, NORMAL_RATE, NORMAL_SECS, AFTER_SECS,
# FLOOD_RATE, FLOOD_SECS, FLOOD_TCP, FLOOD_IDLE, FLOOD_LOG_LEVEL, FLOOD_KINDS
# (comma-separated, see go run ./bench/flood -h; default all),
# BENCH_WORK, BENCH_RESULTS, BENCH_PROFILE=1 (at the moments memory is
# measured, save the PBX's heap profile, runtime memory statistics,
# goroutine counts and /proc memory figures in BENCH_WORK: <step>.heap.pb.gz,
# <step>.memstats.txt, <step>.goroutines.txt, <step>.proc.txt; read with
# go tool pprof -sample_index=inuse_space PBX_BIN FILE),
# BENCH_MAX_SECS, BENCH_QUIET_WAIT (seconds to wait before a step for other
# processes to leave the CPUs; default 120), BENCH_SYSCTL=1 (raise UDP socket
# buffer defaults while running, restored on exit; needs root).
#
# The machine is shared: each step also reports "other cores", the CPU used
# during its window by processes that are neither the server nor SIPp. A
# step with a high figure there measured a busy machine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIPP_DIR=$ROOT/sipp
CONFIG=${BENCH_CONFIG:-$ROOT/bench/pbx-bench.yaml}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results.md}
WORK=${BENCH_WORK:-/tmp/pbx-bench-run}
PBX_BIN=${PBX_BIN:-/tmp/pbx-bench}
KAM_CFG_SRC=${KAM_CFG:-$ROOT/../shared/bench/kamailio-proxy.cfg}

PBX_SIP=127.0.0.1:5060
PBX_HTTP=127.0.0.1:18088
KAM_SIP=127.0.0.1:5070
# Media ports below the PBX's RTP range and the kernel's ephemeral range, and
# away from SIPp's default 6000 that tests running meanwhile may hold.
UAS_IP=127.0.0.1 UAS_PORT=5090 UAS_MEDIA=16000
UAC_IP=127.0.0.2 UAC_PORT=5091 UAC_MEDIA=17000
REG_IP=127.0.0.3 REG_PORT=5092

CALL_RATES=${CALL_RATES:-"200 300 400 500 1000"}
STEP_SECS=${STEP_SECS:-20}
HOLD_MS=${HOLD_MS:-10000}
REG_RATES=${REG_RATES:-"1000 2000 3000"}
REG_SECS=${REG_SECS:-10}
RTP_TARGETS=${RTP_TARGETS:-"1000 750 500 250"}
RTP_HOLD_MS=${RTP_HOLD_MS:-20000}
RTP_MAX_LOSS_PCT=${RTP_MAX_LOSS_PCT:-0.01}
MOH_LISTENERS=${MOH_LISTENERS:-2000}
MOH_HOLD_MS=${MOH_HOLD_MS:-30000}
OVERLOAD_RATE=${OVERLOAD_RATE:-1500}
OVERLOAD_SECS=${OVERLOAD_SECS:-10}
NORMAL_RATE=${NORMAL_RATE:-300}
NORMAL_SECS=${NORMAL_SECS:-10}
AFTER_SECS=${AFTER_SECS:-60}
FLOOD_RATE=${FLOOD_RATE:-12500}
FLOOD_SECS=${FLOOD_SECS:-20}
FLOOD_TCP=${FLOOD_TCP:-4}
FLOOD_IDLE=${FLOOD_IDLE:-300}
FLOOD_LOG_LEVEL=${FLOOD_LOG_LEVEL:-info}
FLOOD_KINDS=${FLOOD_KINDS:-}
BENCH_MAX_SECS=${BENCH_MAX_SECS:-2400}
BENCH_QUIET_WAIT=${BENCH_QUIET_WAIT:-120}

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh" # log, need_sipp, sys_ticks, wait_quiet, HZ
SIPP_LOAD_OPTS=(-nostdin -max_recv_loops 10000 -max_sched_loops 10000 -buff_size 1048576)

# ---------------------------------------------------------------- plumbing

die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
# calc 'expr': the value, as an integer when it is one.
calc() { awk "BEGIN { x = ($1); if (x == int(x) && x < 1e15 && x > -1e15) printf \"%d\", x; else printf \"%.6f\", x }" </dev/null; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { if (x == "" || x == "-") print "-"; else printf f, x }' </dev/null; }

STARTED=()      # pids to stop on exit, newest last
KAM_PIDFILE=""
SYSCTL_SAVED=()
WATCHDOG=""

cleanup() {
	local i p
	trap - EXIT INT TERM
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
		p=${STARTED[i]}
		kill -TERM "$p" 2>/dev/null || true
	done
	if [[ -n $KAM_PIDFILE && -s $KAM_PIDFILE ]]; then
		kill -TERM "$(cat "$KAM_PIDFILE")" 2>/dev/null || true
	fi
	sleep 0.5
	for p in "${STARTED[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${SYSCTL_SAVED[@]}"; do
		sysctl -q -w "$p" >/dev/null 2>&1 || true
	done
	if [[ -n $WATCHDOG ]]; then
		pkill -TERM -P "$WATCHDOG" 2>/dev/null || true
		kill -TERM "$WATCHDOG" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

started() { STARTED+=("$1"); }
forget() { # forget PID: it has been stopped
	local p keep=()
	for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	STARTED=("${keep[@]}")
}
stop_pid() { # stop_pid PID: TERM, then KILL after 5 s
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || { forget "$p"; return 0; }
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	forget "$p"
}

udp_port_busy() { ss -Hlun "sport = :$2" 2>/dev/null | awk -v a="$1:$2" '$4 == a || $4 ~ /^(0\.0\.0\.0|\*|\[::\]):/ { found = 1 } END { exit !found }'; }
require_free() { # require_free IP PORT WHAT
	if udp_port_busy "$1" "$2"; then die "$3: UDP $1:$2 is in use by another process; stop it first"; fi
}

# ----------------------------------------------------------- measurements

# descendants PID: PID and all its descendants (Kamailio runs one main
# process and its forked workers).
descendants() {
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p" 2>/dev/null || true); do descendants "$c"; done
}
# cpu_ticks PID...: utime+stime summed, in clock ticks.
cpu_ticks() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
# other_cores SYS_DELTA OURS_DELTA SECONDS: cores used by everybody else.
other_cores() { calc "($1 - $2) / $HZ / $3 < 0 ? 0 : ($1 - $2) / $HZ / $3"; }

# udp_drops LO HI: datagrams the kernel dropped on UDP sockets bound to
# ports LO..HI (the receive queue was full), from /proc/net/udp.
udp_drops() {
	awk -v lo="$1" -v hi="$2" '
	function hex(h,   i, n) { n = 0; for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789ABCDEF", toupper(substr(h, i, 1))) - 1; return n }
	NR > 1 { split($2, a, ":"); p = hex(a[2]); if (p >= lo && p <= hi) d += $NF }
	END { print d + 0 }' /proc/net/udp
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# peak_rss_kb PID: the highest RSS the process has had (VmHWM).
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# log_lines: lines in the PBX log so far.
log_lines() { wc -l <"$WORK/pbx.log"; }
# log_levels FROM: "N ERROR, N WARN, ..." for the PBX log lines after line
# FROM: slog text lines (level=X), and lines of Go's default logger
# ("2006/01/02 15:04:05 WARN ...", what libraries write through slog.Default).
log_levels() {
	tail -n +"$(($1 + 1))" "$WORK/pbx.log" | awk '
	match($0, /level=[A-Z]+/) { n[substr($0, RSTART + 6, RLENGTH - 6)]++; next }
	$1 ~ /^[0-9]+\/[0-9]+\/[0-9]+$/ && $3 ~ /^(DEBUG|INFO|WARN|ERROR)$/ { n[$3 " (default logger)"]++; next }
	{ n["other"]++ }
	END { s = ""; for (l in n) s = s (s == "" ? "" : ", ") n[l] " " l; print (s == "" ? "none" : s) }'
}
# count_col FILE SUFFIX: from a SIPp -trace_counts file, the last value of
# the column whose name ends with SUFFIX (such as _503_Recv).
count_col() {
	awk -F';' -v s="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if (substr($i, length($i) - length(s) + 1) == s) c = i; next }
		NF > 1 { last = $0 } END { if (c && last != "") { split(last, f, ";"); print f[c] + 0 } else print 0 }' "$1" 2>/dev/null || echo 0
}
# snapshot TAG: with BENCH_PROFILE=1, the PBX's memory as it stands, for a
# breakdown of what an RSS figure is made of (see BENCH_PROFILE above).
# Taken after the figures it explains: fetching profiles allocates.
snapshot() {
	[[ ${BENCH_PROFILE:-0} == 1 && -n $PBX_PID ]] || return 0
	local tag=$1 base="http://$PBX_HTTP/debug/pprof"
	curl -fsS --max-time 20 -o "$WORK/$tag.heap.pb.gz" "$base/heap" 2>/dev/null || true
	curl -fsS --max-time 20 "$base/heap?debug=1" 2>/dev/null | sed -n '/^# runtime.MemStats/,$p' >"$WORK/$tag.memstats.txt" || true
	curl -fsS --max-time 20 -o "$WORK/$tag.goroutines.txt" "$base/goroutine?debug=1" 2>/dev/null || true
	{
		# GC share of the CPU: GCCPUFraction (memstats) x GOMAXPROCS x elapsed / cpu.
		echo "elapsed_s cpu_s: $(ps -o etimes=,times= -p "$PBX_PID")"
		grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|VmStk|Threads):' "/proc/$PBX_PID/status"
		cat "/proc/$PBX_PID/smaps_rollup"
	} >"$WORK/$tag.proc.txt" 2>/dev/null || true
	log "snapshot $tag: $WORK/$tag.{heap.pb.gz,memstats.txt,goroutines.txt,proc.txt}"
}

pss_kb() { # pss_kb PID...: proportional set size summed (shared memory counted once)
	local p t=0 v
	for p in "$@"; do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
# metric NAME: one value from the PBX's /metrics ("" when absent).
metric() { curl -fsS --max-time 2 "http://$PBX_HTTP/metrics" 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }' || true; }
# stat_col FILE NAME: a column of the last line of a SIPp -trace_stat file.
# rtp_counters: packets in, out and lost, from one scrape of /metrics so
# the three are read at the same instant.
rtp_counters() {
	curl -fsS --max-time 2 "http://$PBX_HTTP/metrics" 2>/dev/null | awk '
	$1 == "pbx_rtp_packets_in_total" { i = $2 } $1 == "pbx_rtp_packets_out_total" { o = $2 }
	$1 == "pbx_rtp_packets_lost_total" { l = $2 } END { print i, o, l }'
}

stat_col() {
	awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next } NF > 1 { last = $0 }
		END { if (c && last != "") { split(last, f, ";"); v = f[c]; gsub(/ /, "", v); print v } else print "" }' "$1" 2>/dev/null || true
}

# --------------------------------------------------------------- programs

# sipp_bg LOG ARGS...: starts sipp in the background, sets SIPP_PID.
# It runs in $WORK, where -trace_counts writes its file.
sipp_bg() {
	local out=$1
	shift
	(cd "$WORK" && exec sipp "$@") >"$out" 2>&1 </dev/null &
	SIPP_PID=$!
	started "$SIPP_PID"
}

# start_uas NAME TIMEOUT_S ARGS...: a SIPp callee on 127.0.0.1:5090.
start_uas() {
	local name=$1 secs=$2
	shift 2
	require_free "$UAS_IP" "$UAS_PORT" "SIPp UAS"
	require_free "$UAS_IP" "$UAS_MEDIA" "SIPp UAS media"
	require_free "$UAS_IP" $((UAS_MEDIA + 2)) "SIPp UAS media"
	sipp_bg "$WORK/$name.uas.log" -i "$UAS_IP" -p "$UAS_PORT" -timeout "${secs}s" \
		-trace_err -error_file "$WORK/$name.uas.err" "${SIPP_LOAD_OPTS[@]}" "$@"
	UAS_PID=$SIPP_PID
	sleep 0.5
	kill -0 "$UAS_PID" 2>/dev/null || die "SIPp UAS did not start: $(tail -5 "$WORK/$name.uas.log")"
}

PBX_BUILT=""
build_pbx() {
	[[ -n $PBX_BUILT ]] && return "$PBX_BUILT"
	log "building the PBX: go build -o $PBX_BIN ./cmd/pbx"
	if (cd "$ROOT" && go build -o "$PBX_BIN" ./cmd/pbx) >"$WORK/build.log" 2>&1 &&
		"$PBX_BIN" check-config "$CONFIG" >>"$WORK/build.log" 2>&1; then
		PBX_BUILT=0
	else
		log "the PBX does not build or rejects $CONFIG:"
		tail -20 "$WORK/build.log" >&2
		PBX_BUILT=1
	fi
	return "$PBX_BUILT"
}

PBX_PID=""
# start_pbx [CONFIG]: the PBX with the bench config, or the one given.
start_pbx() {
	local cfg=${1:-$CONFIG}
	require_free 127.0.0.1 5060 "PBX"
	rm -rf "$WORK/pbx-data"
	"$PBX_BIN" -config "$cfg" -data "$WORK/pbx-data" -log-format text >>"$WORK/pbx.log" 2>&1 </dev/null &
	PBX_PID=$!
	started "$PBX_PID"
	local i
	for ((i = 0; i < 100; i++)); do
		if curl -fsS --max-time 1 "http://$PBX_HTTP/healthz" >/dev/null 2>&1; then return 0; fi
		kill -0 "$PBX_PID" 2>/dev/null || break
		sleep 0.2
	done
	tail -20 "$WORK/pbx.log" >&2
	die "the PBX did not become healthy on http://$PBX_HTTP/healthz"
}
stop_pbx() {
	[[ -n $PBX_PID ]] || return 0
	stop_pid "$PBX_PID"
	PBX_PID=""
}

KAM_PID=""
start_kamailio() {
	if ! command -v kamailio >/dev/null; then
		log "installing kamailio"
		apt-get install -y kamailio >"$WORK/apt-kamailio.log" 2>&1 || die "kamailio is not installed and apt-get failed"
	fi
	require_free 127.0.0.1 5070 "Kamailio"
	cp "$KAM_CFG_SRC" "$WORK/kamailio-proxy.cfg"
	KAM_PIDFILE=$WORK/kamailio.pid
	rm -f "$KAM_PIDFILE"
	# It forks into the background; the pid file names the main process.
	(cd "$WORK" && kamailio -f "$WORK/kamailio-proxy.cfg" -P "$KAM_PIDFILE" -w "$WORK" -m 1024 -M 32) \
		>"$WORK/kamailio.log" 2>&1 </dev/null || die "kamailio failed: $(tail -5 "$WORK/kamailio.log")"
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $KAM_PIDFILE ]] && udp_port_busy 127.0.0.1 5070 && break
		sleep 0.2
	done
	[[ -s $KAM_PIDFILE ]] || die "kamailio wrote no pid file"
	KAM_PID=$(cat "$KAM_PIDFILE")
	sleep 0.5
}
stop_kamailio() {
	[[ -n $KAM_PID ]] || return 0
	kill -TERM "$KAM_PID" 2>/dev/null || true
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$KAM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$KAM_PID" 2>/dev/null || true
	KAM_PID="" KAM_PIDFILE=""
}

# ---------------------------------------------------------------- results

# Each step appends one tab-separated line to $WORK/steps.tsv:
# section rate calls ok failed retrans exit cpu_s cpu_ms_per_call steady_cores
# sipp_cores concurrent mem_kb kb_per_call loss_pct pps_in/out clean other_cores
record() { printf '%s\n' "$(IFS=$'\t'; echo "$*")" >>"$WORK/steps.tsv"; }

# ------------------------------------------------------- signalling steps

# call_step SECTION REMOTE RATE: one rate of the signalling load. The
# server's processes are in $TARGET_PIDS_FN (a function printing pids) and
# its memory in $TARGET_MEM_FN.
call_step() {
	local section=$1 remote=$2 rate=$3
	local calls=$((rate * STEP_SECS)) hold_s=$((HOLD_MS / 1000))
	local tag=$section.$rate stf=$WORK/$section.$rate.csv
	local bound=$((STEP_SECS + hold_s + 40))
	local mem0 mem1 cpu0 cpu1 t0 t1 c_a c_b t_a t_b s_a s_b y_a y_b conc active rc=0
	local -a pids
	rm -f "$stf"
	mapfile -t pids < <($TARGET_PIDS_FN)
	mem0=$($TARGET_MEM_FN "${pids[@]}")
	cpu0=$(cpu_ticks "${pids[@]}")
	t0=$(now)
	log "$section: $rate calls/s for ${STEP_SECS}s, ${hold_s}s hold ($calls calls)"
	sipp_bg "$WORK/$tag.uac.log" "$remote" -sf "$SIPP_DIR/uac_noauth.xml" -s 2000 \
		-i "$UAC_IP" -p "$UAC_PORT" -mi "$UAC_IP" -mp "$UAC_MEDIA" \
		-r "$rate" -d "$HOLD_MS" -m "$calls" -timeout "${bound}s" \
		-trace_stat -stf "$stf" -fd 1 -trace_err -error_file "$WORK/$tag.uac.err" "${SIPP_LOAD_OPTS[@]}"
	local uac=$SIPP_PID
	# Steady state: from the end of the first hold to the end of arrivals.
	local w_start=$hold_s w_end=$STEP_SECS
	((w_end - w_start >= 4)) || { w_start=$((STEP_SECS / 2)); w_end=$STEP_SECS; }
	sleep "$(calc "$t0 + $w_start + 1 - $(now)")" 2>/dev/null || true
	mapfile -t pids < <($TARGET_PIDS_FN)
	c_a=$(cpu_ticks "${pids[@]}") s_a=$(cpu_ticks "$uac" "$UAS_PID") y_a=$(sys_ticks) t_a=$(now)
	sleep "$(calc "$t0 + ($w_start + $w_end) / 2 - $(now)")" 2>/dev/null || true
	mem1=$($TARGET_MEM_FN "${pids[@]}")
	active=""
	if [[ $section == calls ]]; then active=$(metric pbx_calls_active); fi
	sleep "$(calc "$t0 + $w_end - 1 - $(now)")" 2>/dev/null || true
	c_b=$(cpu_ticks "${pids[@]}") s_b=$(cpu_ticks "$uac" "$UAS_PID") y_b=$(sys_ticks) t_b=$(now)
	wait "$uac" || rc=$?
	forget "$uac"
	mapfile -t pids < <($TARGET_PIDS_FN)
	cpu1=$(cpu_ticks "${pids[@]}")
	t1=$(now)

	local ok failed retrans
	ok=$(stat_col "$stf" 'SuccessfulCall(C)') failed=$(stat_col "$stf" 'FailedCall(C)')
	retrans=$(stat_col "$stf" 'Retransmissions(C)')
	ok=${ok:-0} failed=${failed:-0} retrans=${retrans:-0}
	conc=${active:-$((rate * hold_s))}
	local cpu_s per_call steady sipp_cores mem_kb kb_call other clean=no
	cpu_s=$(calc "($cpu1 - $cpu0) / $HZ")
	per_call=$(calc "$ok > 0 ? 1000 * $cpu_s / $ok : 0")
	steady=$(calc "($c_b - $c_a) / $HZ / ($t_b - $t_a)")
	sipp_cores=$(calc "($s_b - $s_a) / $HZ / ($t_b - $t_a)")
	other=$(other_cores "$((y_b - y_a))" "$((c_b - c_a + s_b - s_a))" "$(calc "$t_b - $t_a")")
	mem_kb=$((mem1 - mem0))
	kb_call=$(calc "$conc > 0 ? $mem_kb / $conc : 0")
	[[ $rc == 0 && $failed == 0 && $ok == "$calls" ]] && clean=yes
	record "$section" "$rate" "$calls" "$ok" "$failed" "$retrans" "$rc" "$cpu_s" "$per_call" "$steady" \
		"$sipp_cores" "$conc" "$mem_kb" "$kb_call" "-" "-" "$clean" "$other"
	log "$section $rate/s: $ok ok, $failed failed, $retrans retrans, exit $rc; $(fmt "$steady" %.2f) cores, $(fmt "$per_call" %.3f) ms CPU/call, $(fmt "$kb_call" %.1f) KB/call at $conc calls; other processes $(fmt "$other" %.2f) cores"
	[[ $clean == yes ]]
}

# ramp SECTION REMOTE: the rates in CALL_RATES until one is not clean.
ramp() {
	local section=$1 remote=$2 rate
	for rate in $CALL_RATES; do
		wait_quiet
		[[ $section == calls ]] && start_pbx
		start_uas "$section.$rate" $((STEP_SECS + HOLD_MS / 1000 + 60)) -sn uas -mi "$UAS_IP" -mp "$UAS_MEDIA"
		local clean=0
		call_step "$section" "$remote" "$rate" || clean=1
		stop_pid "$UAS_PID"
		[[ $section == calls ]] && stop_pbx
		if ((clean != 0)); then
			log "$section: stopping the ramp at $rate calls/s"
			break
		fi
		sleep 2
	done
}

pbx_pids() { echo "$PBX_PID"; }
pbx_mem() { rss_kb "$1"; }
kam_pids() { descendants "$KAM_PID"; }
kam_mem() { pss_kb "$@"; }
no_pids() { :; }
no_mem() { echo 0; }

section_calls() {
	build_pbx || { record calls - - - - - - - - - - - - - - - "not run: the PBX does not build" -; return 0; }
	TARGET_PIDS_FN=pbx_pids TARGET_MEM_FN=pbx_mem
	ramp calls "$PBX_SIP"
}

section_kamailio() {
	start_kamailio
	TARGET_PIDS_FN=kam_pids TARGET_MEM_FN=kam_mem
	ramp kamailio "$KAM_SIP"
	stop_kamailio
}

section_direct() {
	TARGET_PIDS_FN=no_pids TARGET_MEM_FN=no_mem
	ramp direct "$UAS_IP:$UAS_PORT"
}

# --------------------------------------------------------------- REGISTER

# make_users USERS_CSV: the bench users as SIPp -inf (extension;password).
make_users() {
	{
		echo SEQUENTIAL
		awk '/^users:/ { u = 1; next } /^[a-z]/ { u = 0 }
			u && /extension:/ { gsub(/[" ]/, "", $0); sub(/.*extension:/, ""); e = $0 }
			u && /password:/ { gsub(/[" ]/, "", $0); sub(/.*password:/, ""); print e ";" $0 }' "$CONFIG"
	} >"$1"
	(($(wc -l <"$1") > 1)) || die "no users in $CONFIG"
}

section_register() {
	build_pbx || { record register - - - - - - - - - - - - - - - "not run: the PBX does not build" -; return 0; }
	# One line per bench user: extension;password, from the config.
	local users=$WORK/register_users.csv
	make_users "$users"
	local rate
	for rate in $REG_RATES; do
		wait_quiet
		start_pbx
		local n=$((rate * REG_SECS)) stf=$WORK/register.$rate.csv tag=register.$rate rc=0
		local cpu0 cpu1 t0 t1 mem0 mem1 y0 y1 s1
		rm -f "$stf"
		mem0=$(rss_kb "$PBX_PID") cpu0=$(cpu_ticks "$PBX_PID") y0=$(sys_ticks) t0=$(now)
		log "register: $rate/s for ${REG_SECS}s ($n registrations)"
		sipp_bg "$WORK/$tag.uac.log" "$PBX_SIP" -sf "$SIPP_DIR/register.xml" -inf "$users" \
			-i "$REG_IP" -p "$REG_PORT" -r "$rate" -m "$n" -timeout "$((REG_SECS + 40))s" \
			-trace_stat -stf "$stf" -fd 1 -trace_err -error_file "$WORK/$tag.uac.err" "${SIPP_LOAD_OPTS[@]}"
		local uac=$SIPP_PID
		# SIPp's CPU just before it ends (its /proc entry goes with it).
		while kill -0 "$uac" 2>/dev/null; do
			s1=$(cpu_ticks "$uac")
			sleep 0.2
		done
		wait "$uac" || rc=$?
		forget "$uac"
		cpu1=$(cpu_ticks "$PBX_PID") y1=$(sys_ticks) t1=$(now) mem1=$(rss_kb "$PBX_PID")
		local ok failed retrans cpu_s per cores sipp_cores other clean=no
		ok=$(stat_col "$stf" 'SuccessfulCall(C)') failed=$(stat_col "$stf" 'FailedCall(C)')
		retrans=$(stat_col "$stf" 'Retransmissions(C)')
		ok=${ok:-0} failed=${failed:-0} retrans=${retrans:-0}
		cpu_s=$(calc "($cpu1 - $cpu0) / $HZ")
		per=$(calc "$ok > 0 ? 1000 * $cpu_s / $ok : 0")
		cores=$(calc "$cpu_s / ($t1 - $t0)")
		sipp_cores=$(calc "${s1:-0} / $HZ / ($t1 - $t0)")
		other=$(other_cores "$((y1 - y0))" "$((cpu1 - cpu0 + ${s1:-0}))" "$(calc "$t1 - $t0")")
		[[ $rc == 0 && $failed == 0 && $ok == "$n" ]] && clean=yes
		record register "$rate" "$n" "$ok" "$failed" "$retrans" "$rc" "$cpu_s" "$per" "$cores" "$sipp_cores" "-" \
			"$((mem1 - mem0))" "-" "-" "-" "$clean" "$other"
		log "register $rate/s: $ok ok, $failed failed, $retrans retrans, exit $rc; $(fmt "$cores" %.2f) cores, $(fmt "$per" %.3f) ms CPU/registration; other processes $(fmt "$other" %.2f) cores"
		stop_pbx
		[[ $clean == yes ]] || { log "register: stopping at $rate/s"; break; }
		sleep 1
	done
}

# -------------------------------------------------------------------- RTP

make_tone() {
	TONE=$WORK/tone_440_pcmu.raw
	[[ -s $TONE ]] && return 0
	if ! command -v sox >/dev/null; then
		apt-get install -y sox >"$WORK/apt-sox.log" 2>&1 || true
	fi
	if command -v sox >/dev/null; then
		sox -n -r 8000 -c 1 -e u-law -t raw "$TONE" synth 10 sine 440 vol 0.3
	else
		# 10 s of mu-law silence (0xFF) will do for a relay.
		head -c 80000 /dev/zero | tr '\0' '\377' >"$TONE"
	fi
}

# rtp_step N: N concurrent calls with RTP both ways through the PBX.
rtp_step() {
	local n=$1 hold_s=$((RTP_HOLD_MS / 1000))
	local rate calls=$((2 * n)) tag=rtp.$n stf=$WORK/rtp.$n.csv rc=0
	rate=$(calc "$n / $hold_s")
	wait_quiet
	start_pbx
	start_uas "$tag" $((2 * hold_s + hold_s + 90)) -sf "$SIPP_DIR/uas_answer.xml" -mi "$UAS_IP" -mp "$UAS_MEDIA" -rtp_echo
	rm -f "$stf"
	local mem0 t0
	mem0=$(rss_kb "$PBX_PID") t0=$(now)
	log "rtp: $n concurrent calls ($rate calls/s, ${hold_s}s each, $calls calls)"
	sipp_bg "$WORK/$tag.uac.log" "$PBX_SIP" -sf "$SIPP_DIR/uac_rtp.xml" -key tone "$TONE,-1,0" -s 2000 \
		-i "$UAC_IP" -p "$UAC_PORT" -mi "$UAC_IP" -mp "$UAC_MEDIA" \
		-r "$rate" -d "$RTP_HOLD_MS" -m "$calls" -l $((n + n / 5 + 10)) -timeout "$((3 * hold_s + 60))s" \
		-trace_stat -stf "$stf" -fd 1 -trace_err -error_file "$WORK/$tag.uac.err" "${SIPP_LOAD_OPTS[@]}"
	local uac=$SIPP_PID
	# Steady state: N calls from one hold after the start to two holds.
	local c_a c_b t_a t_b s_a s_b y_a y_b in_a in_b out_a out_b lost_a lost_b mem1 active
	sleep "$(calc "$t0 + $hold_s + 2 - $(now)")" 2>/dev/null || true
	c_a=$(cpu_ticks "$PBX_PID") s_a=$(cpu_ticks "$uac" "$UAS_PID") y_a=$(sys_ticks) t_a=$(now)
	read -r in_a out_a lost_a < <(rtp_counters)
	local pd_a pd_b sd_a sd_b
	pd_a=$(udp_drops 20000 59999) sd_a=$(udp_drops "$UAS_MEDIA" $((UAC_MEDIA + 3)))
	sleep "$(calc "$t0 + 2 * $hold_s - 2 - $(now)")" 2>/dev/null || true
	c_b=$(cpu_ticks "$PBX_PID") s_b=$(cpu_ticks "$uac" "$UAS_PID") y_b=$(sys_ticks) t_b=$(now)
	read -r in_b out_b lost_b < <(rtp_counters)
	pd_b=$(udp_drops 20000 59999) sd_b=$(udp_drops "$UAS_MEDIA" $((UAC_MEDIA + 3)))
	mem1=$(rss_kb "$PBX_PID")
	active=$(metric pbx_calls_active)
	snapshot "$tag"
	wait "$uac" || rc=$?
	forget "$uac"
	stop_pid "$UAS_PID"
	stop_pbx

	local ok failed retrans cores sipp_cores loss pps conc kb_call other clean=no
	ok=$(stat_col "$stf" 'SuccessfulCall(C)') failed=$(stat_col "$stf" 'FailedCall(C)')
	retrans=$(stat_col "$stf" 'Retransmissions(C)')
	ok=${ok:-0} failed=${failed:-0} retrans=${retrans:-0}
	cores=$(calc "($c_b - $c_a) / $HZ / ($t_b - $t_a)")
	sipp_cores=$(calc "($s_b - $s_a) / $HZ / ($t_b - $t_a)")
	other=$(other_cores "$((y_b - y_a))" "$((c_b - c_a + s_b - s_a))" "$(calc "$t_b - $t_a")")
	if [[ -n $in_a && -n $in_b && -n $lost_a && -n $lost_b ]]; then
		loss=$(calc "($in_b - $in_a + $lost_b - $lost_a) > 0 ? 100 * ($lost_b - $lost_a) / ($in_b - $in_a + $lost_b - $lost_a) : 100")
		pps="$(calc "int(($in_b - $in_a) / ($t_b - $t_a))") / $(calc "int(($out_b - $out_a) / ($t_b - $t_a))")"
	else
		loss=- pps=-
	fi
	conc=${active:-$n}
	kb_call=$(calc "$conc > 0 ? ($mem1 - $mem0) / $conc : 0")
	# The PBX loses nothing when its sockets drop nothing and it sends on
	# what it receives. Gaps in what the far ends send (the loss column)
	# also count SIPp's own drops: its echo serves every call from one socket.
	local pbx_drops=$((pd_b - pd_a)) sipp_drops=$((sd_b - sd_a)) relay_gap=-
	if [[ $pps != - ]]; then
		relay_gap=$(calc "($in_b - $in_a) > 0 ? 100 * (($in_b - $in_a) - ($out_b - $out_a)) / ($in_b - $in_a) : 100")
	fi
	if [[ $rc == 0 && $failed == 0 && $ok == "$calls" && $pbx_drops == 0 && $relay_gap != - ]] && awk -v l="$relay_gap" -v m="$RTP_MAX_LOSS_PCT" 'BEGIN { exit !(l <= m && l >= -m) }'; then
		clean=yes
	fi
	echo "$n	$pbx_drops	$sipp_drops	$relay_gap" >>"$WORK/rtp_drops.tsv"
	record rtp "$n" "$calls" "$ok" "$failed" "$retrans" "$rc" "-" "-" "$cores" "$sipp_cores" "$conc" \
		"$((mem1 - mem0))" "$kb_call" "$loss" "$pps" "$clean" "$other"
	log "rtp $n calls: $ok ok, $failed failed, exit $rc; PBX $(fmt "$cores" %.2f) cores, far-end gaps $(fmt "$loss" %.4f) %, PBX socket drops $pbx_drops, SIPp socket drops $sipp_drops, in-out gap $(fmt "$relay_gap" %.4f) %, $pps pps in/out, $(fmt "$kb_call" %.1f) KB/call at $conc calls; other processes $(fmt "$other" %.2f) cores"
	[[ $clean == yes ]]
}

section_rtp() {
	build_pbx || { record rtp - - - - - - - - - - - - - - - "not run: the PBX does not build" -; return 0; }
	make_tone
	local n
	for n in $RTP_TARGETS; do
		if rtp_step "$n"; then break; fi
		log "rtp: $n calls not clean, stepping down"
		sleep 2
	done
}

# moh_step N: N callers of the music number at once. They arrive over
# a third of the hold; the window is the middle of the time all are up.
moh_step() {
	local n=$1 hold_s=$((MOH_HOLD_MS / 1000))
	local ramp_s=$((hold_s / 3)) tag=moh.$n stf=$WORK/moh.$n.csv rc=0 rate
	rate=$(calc "int($n / $ramp_s) + 1")
	wait_quiet
	start_pbx
	rm -f "$stf"
	# The callers' media port: a socket that never reads, so the music is
	# dropped by the kernel when its buffer is full, as a phone would take
	# it, rather than answered with ICMP "port unreachable".
	require_free "$UAC_IP" "$UAC_MEDIA" "music sink"
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
time.sleep(float(sys.argv[3]))' "$UAC_IP" "$UAC_MEDIA" $((2 * hold_s + 60)) &
	local sink=$!
	started "$sink"
	local mem0 t0
	mem0=$(rss_kb "$PBX_PID") t0=$(now)
	log "moh: $n listeners ($rate calls/s, ${hold_s}s each)"
	sipp_bg "$WORK/$tag.uac.log" "$PBX_SIP" -sf "$SIPP_DIR/uac_noauth.xml" -s 7000 \
		-i "$UAC_IP" -p "$UAC_PORT" -mi "$UAC_IP" -mp "$UAC_MEDIA" \
		-r "$rate" -d "$MOH_HOLD_MS" -m "$n" -l $((n + 10)) -timeout "$((2 * hold_s + 60))s" \
		-trace_stat -stf "$stf" -fd 1 -trace_err -error_file "$WORK/$tag.uac.err" "${SIPP_LOAD_OPTS[@]}"
	local uac=$SIPP_PID
	local c_a c_b t_a t_b y_a y_b in_a in_b out_a out_b lost_a lost_b mem1 active pd_a pd_b
	sleep "$(calc "$t0 + $ramp_s + 3 - $(now)")" 2>/dev/null || true
	c_a=$(cpu_ticks "$PBX_PID") y_a=$(sys_ticks) t_a=$(now)
	read -r in_a out_a lost_a < <(rtp_counters)
	pd_a=$(udp_drops 20000 59999)
	sleep "$(calc "$t0 + $hold_s - 2 - $(now)")" 2>/dev/null || true
	c_b=$(cpu_ticks "$PBX_PID") y_b=$(sys_ticks) t_b=$(now)
	read -r in_b out_b lost_b < <(rtp_counters)
	pd_b=$(udp_drops 20000 59999)
	mem1=$(rss_kb "$PBX_PID")
	active=$(metric pbx_calls_active)
	snapshot "$tag"
	wait "$uac" || rc=$?
	forget "$uac"
	stop_pid "$sink"
	stop_pbx

	local ok failed retrans cores pps want other kb clean=no
	ok=$(stat_col "$stf" 'SuccessfulCall(C)') failed=$(stat_col "$stf" 'FailedCall(C)')
	retrans=$(stat_col "$stf" 'Retransmissions(C)')
	ok=${ok:-0} failed=${failed:-0} retrans=${retrans:-0}
	cores=$(calc "($c_b - $c_a) / $HZ / ($t_b - $t_a)")
	other=$(other_cores "$((y_b - y_a))" "$((c_b - c_a))" "$(calc "$t_b - $t_a")")
	pps=$(calc "int(($out_b - $out_a) / ($t_b - $t_a))")
	want=$((${active:-$n} * 50))
	kb=$(calc "${active:-$n} > 0 ? ($mem1 - $mem0) / ${active:-$n} : 0")
	# Clean: every call set up, every listener sent 50 packets a second
	# (within 1 %), no PBX socket dropped anything.
	if [[ $rc == 0 && $failed == 0 && $ok == "$n" && $((pd_b - pd_a)) == 0 ]] && awk -v p="$pps" -v w="$want" 'BEGIN { exit !(p >= 0.99 * w) }'; then
		clean=yes
	fi
	record moh "$n" "$n" "$ok" "$failed" "$retrans" "$rc" "-" "-" "$cores" "-" "${active:-$n}" \
		"$((mem1 - mem0))" "$kb" "-" "$pps / $want" "$clean" "$other"
	log "moh $n listeners: $ok ok, $failed failed, exit $rc; PBX $(fmt "$cores" %.2f) cores, $pps RTP packets/s sent (want $want), $(fmt "$kb" %.1f) KB/listener; other processes $(fmt "$other" %.2f) cores"
}
section_moh() {
	build_pbx || { record moh - - - - - - - - - - - - - - - "not run: the PBX does not build" -; return 0; }
	moh_step "$MOH_LISTENERS"
}

# --------------------------------------------------------------- overload

# overload_phase TAG PORT MEDIA RATE SECS: one SIPp caller of number 2000
# with uac_overload.xml; sets SIPP_PID.
overload_phase() {
	local tag=$1 port=$2 media=$3 rate=$4 secs=$5
	local calls=$((rate * secs)) hold_s=$((HOLD_MS / 1000))
	require_free "$UAC_IP" "$port" "SIPp UAC"
	rm -f "$WORK/$tag.csv"
	sipp_bg "$WORK/$tag.uac.log" "$PBX_SIP" -sf "$SIPP_DIR/uac_overload.xml" -s 2000 \
		-i "$UAC_IP" -p "$port" -mi "$UAC_IP" -mp "$media" \
		-r "$rate" -d "$HOLD_MS" -m "$calls" -l $((rate * (hold_s + 5))) -timeout "$((secs + hold_s + 40))s" \
		-trace_stat -stf "$WORK/$tag.csv" -fd 1 -trace_counts -trace_err -error_file "$WORK/$tag.uac.err" "${SIPP_LOAD_OPTS[@]}"
}

# overload_result TAG PID RATE SECS: a Markdown row for one phase.
overload_result() {
	local tag=$1 pid=$2 rate=$3 secs=$4
	local counts=$WORK/uac_overload_${pid}_counts.csv ok failed refused completed
	ok=$(stat_col "$WORK/$tag.csv" 'SuccessfulCall(C)') failed=$(stat_col "$WORK/$tag.csv" 'FailedCall(C)')
	ok=${ok:-0} failed=${failed:-0}
	refused=$(count_col "$counts" _503_Recv)
	completed=$((ok - refused))
	echo "| $tag | $rate | $((rate * secs)) | $completed | $refused | $failed |"
	log "overload $tag: $((rate * secs)) calls at $rate/s: $completed completed, $refused refused with 503, $failed failed"
}

section_overload() {
	build_pbx || { echo "Overload: not run, the PBX does not build." >"$WORK/overload.md"; return 0; }
	local hold_s=$((HOLD_MS / 1000))
	wait_quiet
	start_pbx
	start_uas overload $((OVERLOAD_SECS + NORMAL_SECS + hold_s + 60)) -sn uas -mi "$UAS_IP" -mp "$UAS_MEDIA"
	local mem0 lines0 t0 peak_calls=0 active
	rm -f "$WORK"/uac_overload_*_counts.csv
	mem0=$(rss_kb "$PBX_PID") lines0=$(log_lines) t0=$(now)
	log "overload: $OVERLOAD_RATE calls/s for ${OVERLOAD_SECS}s, then $NORMAL_RATE calls/s for ${NORMAL_SECS}s, ${hold_s}s hold"
	overload_phase overload "$UAC_PORT" "$UAC_MEDIA" "$OVERLOAD_RATE" "$OVERLOAD_SECS"
	local p1=$SIPP_PID
	while (($(calc "$(now) < $t0 + $OVERLOAD_SECS"))); do
		active=$(metric pbx_calls_active) active=${active%.*}
		((${active:-0} > peak_calls)) && peak_calls=$active
		sleep 1
	done
	overload_phase normal $((UAC_PORT + 2)) $((UAC_MEDIA + 100)) "$NORMAL_RATE" "$NORMAL_SECS"
	local p2=$SIPP_PID rc1=0 rc2=0
	while kill -0 "$p1" 2>/dev/null || kill -0 "$p2" 2>/dev/null; do
		active=$(metric pbx_calls_active) active=${active%.*}
		((${active:-0} > peak_calls)) && peak_calls=$active
		sleep 1
	done
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	forget "$p1"
	forget "$p2"
	stop_pid "$UAS_PID"
	local peak end_rss after_rss after_active lines
	peak=$(peak_rss_kb "$PBX_PID") end_rss=$(rss_kb "$PBX_PID")
	snapshot overload.end
	log "overload: load over; waiting ${AFTER_SECS}s for the PBX to settle"
	sleep "$AFTER_SECS"
	after_rss=$(rss_kb "$PBX_PID") after_active=$(metric pbx_calls_active)
	snapshot overload.after
	lines=$(($(log_lines) - lines0))
	{
		echo "## Overload: $OVERLOAD_RATE calls/s for ${OVERLOAD_SECS}s, then $NORMAL_RATE calls/s for ${NORMAL_SECS}s (${hold_s}s hold)"
		echo
		echo "| phase | calls/s | calls | completed | refused (503) | failed |"
		echo "|---|---|---|---|---|---|"
		overload_result overload "$p1" "$OVERLOAD_RATE" "$OVERLOAD_SECS"
		overload_result normal "$p2" "$NORMAL_RATE" "$NORMAL_SECS"
		echo
		echo "| PBX | |"
		echo "|---|---|"
		echo "| RSS before | $((mem0 / 1024)) MB |"
		echo "| peak RSS (VmHWM) | $((peak / 1024)) MB |"
		echo "| RSS when the last call ended | $((end_rss / 1024)) MB |"
		echo "| RSS ${AFTER_SECS}s later | $((after_rss / 1024)) MB |"
		echo "| peak calls in progress (sampled each second) | $peak_calls |"
		echo "| calls in progress ${AFTER_SECS}s later | ${after_active:--} |"
		echo "| log lines written | $lines ($(log_levels "$lines0")) |"
		echo "| SIPp exit codes | $rc1, $rc2 |"
		echo
		echo "Completed: SIPp's successful calls less the refused ones (uac_overload.xml ends a refused call without error). A refusal is the PBX's admission control at work; a failure is anything else (timeout, unexpected answer)."
		echo
	} >"$WORK/overload.md"
	stop_pbx
}

# ------------------------------------------------------------------ flood

section_flood() {
	build_pbx || { echo "Flood: not run, the PBX does not build." >"$WORK/flood.md"; return 0; }
	log "building the flood sender: go build -o $WORK/flood ./bench/flood"
	(cd "$ROOT" && go build -o "$WORK/flood" ./bench/flood) >>"$WORK/build.log" 2>&1 ||
		{ echo "Flood: not run, bench/flood does not build." >"$WORK/flood.md"; return 0; }
	# The bench config with TCP on and the log level the operator would run.
	local cfg=$WORK/pbx-flood.yaml users=$WORK/register_users.csv
	sed -e 's/^  tcp: ""/  tcp: "127.0.0.1:5060"/' -e "s/^  level: warn/  level: $FLOOD_LOG_LEVEL/" "$CONFIG" >"$cfg"
	grep -q '^  tcp: "127.0.0.1:5060"' "$cfg" || die "could not enable TCP in $cfg"
	make_users "$users"
	wait_quiet
	start_pbx "$cfg"
	local mem0 lines0 n=$((FLOOD_RATE * FLOOD_SECS)) peak_sampled=0 r
	mem0=$(rss_kb "$PBX_PID") lines0=$(log_lines)
	log "flood: $n requests at $FLOOD_RATE/s over UDP and $FLOOD_TCP TCP connections, $FLOOD_IDLE idle TCP connections"
	"$WORK/flood" -target "$PBX_SIP" -n "$n" -rate "$FLOOD_RATE" -max "$((FLOOD_SECS + 10))s" \
		-tcp "$FLOOD_TCP" -idle "$FLOOD_IDLE" ${FLOOD_KINDS:+-kinds "$FLOOD_KINDS"} >"$WORK/flood.out" 2>&1 </dev/null &
	local fl=$!
	started "$fl"
	# A user registers twice a second meanwhile (digest, from 127.0.0.3).
	local regs=$((2 * FLOOD_SECS)) rc=0
	sipp_bg "$WORK/flood.register.log" "$PBX_SIP" -sf "$SIPP_DIR/register.xml" -inf "$users" \
		-i "$REG_IP" -p "$REG_PORT" -r 2 -m "$regs" -timeout "$((FLOOD_SECS + 30))s" \
		-trace_stat -stf "$WORK/flood.register.csv" -fd 1 -trace_err -error_file "$WORK/flood.register.err" "${SIPP_LOAD_OPTS[@]}"
	local reg=$SIPP_PID
	while kill -0 "$fl" 2>/dev/null; do
		r=$(rss_kb "$PBX_PID")
		((r > peak_sampled)) && peak_sampled=$r
		sleep 0.5
	done
	wait "$fl" || rc=$?
	forget "$fl"
	wait "$reg" || true
	forget "$reg"
	local peak end_rss after_rss lines ok
	peak=$(peak_rss_kb "$PBX_PID") end_rss=$(rss_kb "$PBX_PID")
	lines=$(($(log_lines) - lines0))
	ok=$(stat_col "$WORK/flood.register.csv" 'SuccessfulCall(C)')
	sleep 10
	after_rss=$(rss_kb "$PBX_PID")
	{
		echo "## Flood: hostile requests at $FLOOD_RATE/s for ${FLOOD_SECS}s over UDP and TCP (log level $FLOOD_LOG_LEVEL)"
		echo
		echo "| | |"
		echo "|---|---|"
		echo "| sender | $(tail -1 "$WORK/flood.out") (exit $rc) |"
		echo "| kinds of request | ${FLOOD_KINDS:-all} |"
		echo "| log lines written during the flood | $lines ($(log_levels "$lines0")) |"
		echo "| RSS before | $((mem0 / 1024)) MB |"
		echo "| peak RSS (VmHWM) | $((peak / 1024)) MB |"
		echo "| RSS at the end of the flood | $((end_rss / 1024)) MB |"
		echo "| RSS 10 s later | $((after_rss / 1024)) MB |"
		echo "| registrations with digest meanwhile | ${ok:-0} of $regs |"
		echo
		echo "The loopback sources are on the guard's allow list in the bench config, so nothing is banned: every request is parsed and answered (or refused), the worst case for the PBX."
		echo
	} >"$WORK/flood.md"
	log "flood: $lines log lines, peak RSS $((peak / 1024)) MB, ${ok:-0} of $regs registrations ok"
	stop_pbx
}

# ----------------------------------------------------------------- report

report() {
	local steps=$WORK/steps.tsv
	local cpu_model
	cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	{
		echo "# PBX load figures"
		echo
		echo "Run $(date -u +%Y-%m-%dT%H:%M:%SZ) by \`bench/run.sh ${SECTIONS[*]}\` on loopback, SIPp and servers on the same machine."
		echo
		echo "| machine | |"
		echo "|---|---|"
		echo "| CPUs (nproc) | $(nproc) |"
		echo "| CPU model | ${cpu_model:-unknown} |"
		echo "| kernel | $(uname -r) |"
		echo "| SIPp | $(sipp -v 2>/dev/null | awk '/SIPp v/ { sub(/\.$/, "", $2); print $2; exit }') |"
		command -v kamailio >/dev/null && echo "| Kamailio | $(kamailio -v 2>/dev/null | awk '/^version:/ { print $3; exit }') |"
		echo "| Go | $(go version 2>/dev/null | awk '{ print $3 }') |"
		echo "| fd limit | $(ulimit -n) |"
		echo
		awk -F'\t' -v hold="$((HOLD_MS / 1000))" -v step="$STEP_SECS" -v regsecs="$REG_SECS" -v rtphold="$((RTP_HOLD_MS / 1000))" '
		function f(x, p) { return (x == "-" || x == "") ? "-" : sprintf(p, x) }
		{ n++; sec[n] = $1; for (i = 1; i <= NF; i++) v[n, i] = $i }
		$1 == "calls" && $17 == "yes" && $2 + 0 > best["calls"] + 0 { best["calls"] = $2; bcpu["calls"] = $9 }
		$1 == "kamailio" && $17 == "yes" && $2 + 0 > best["kamailio"] + 0 { best["kamailio"] = $2 }
		$1 == "direct" && $17 == "yes" && $2 + 0 > best["direct"] + 0 { best["direct"] = $2 }
		$1 == "register" && $17 == "yes" && $2 + 0 > best["register"] + 0 { best["register"] = $2 }
		$1 == "rtp" && $17 == "yes" && $2 + 0 > best["rtp"] + 0 { best["rtp"] = $2 }
		$1 == "calls" || $1 == "kamailio" { cpc[$1, $2] = $9; clean[$1, $2] = $17 }
		END {
			hdr = 0
			for (i = 1; i <= n; i++) if (sec[i] == "calls" || sec[i] == "kamailio" || sec[i] == "direct") {
				if (!hdr) {
					printf "## Signalling: calls/s, %d s hold, %d s of arrivals per rate\n\n", hold, step
					print "| server | calls/s | calls | ok | failed | retrans | exit | server cores (steady) | CPU ms/call | SIPp cores | other cores | concurrent | memory delta | KB/call | clean |"
					print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
					hdr = 1
				}
				name = sec[i] == "calls" ? "PBX" : (sec[i] == "kamailio" ? "Kamailio" : "none (SIPp to SIPp)")
				if (v[i, 2] == "-") { printf "| %s | %s |\n", name, v[i, 17]; continue }
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, v[i, 2], v[i, 3], v[i, 4], v[i, 5], v[i, 6], v[i, 7],
					(sec[i] == "direct" ? "-" : f(v[i, 10], "%.2f")), (sec[i] == "direct" ? "-" : f(v[i, 9], "%.3f")), f(v[i, 11], "%.2f"), f(v[i, 18], "%.2f"), v[i, 12],
					(sec[i] == "direct" ? "-" : f(v[i, 13] / 1024, "%.1f MB")), (sec[i] == "direct" ? "-" : f(v[i, 14], "%.1f")), v[i, 17]
			}
			if (hdr) {
				print ""
				print "Cores are averaged over the steady state (all calls of the first hold up, arrivals still going); CPU ms/call is the server CPU of the whole step over its calls. Other cores: CPU used meanwhile by processes that are neither the server nor SIPp (a busy machine skews a step). Memory: PBX RSS (Kamailio: PSS of all its processes) at mid-step minus before the step, divided by the calls in progress then."
				print ""
			}
			if ("calls" in best || "kamailio" in best) {
				print "| highest clean rate | calls/s |"
				print "|---|---|"
				printf "| PBX | %s |\n", ("calls" in best) ? best["calls"] : "none"
				printf "| Kamailio | %s |\n", ("kamailio" in best) ? best["kamailio"] : "none"
				if ("direct" in best) printf "| SIPp to SIPp | %s |\n", best["direct"]
				if (("calls" in best) && ("kamailio" in best)) {
					printf "| **ratio PBX / Kamailio** | **%.2f** |\n", best["calls"] / best["kamailio"]
					r = best["calls"]
					if (clean["kamailio", r] == "yes" && cpc["kamailio", r] > 0)
						printf "| CPU per call at %s calls/s, PBX / Kamailio | %.2f (%.3f ms / %.3f ms) |\n", r, cpc["calls", r] / cpc["kamailio", r], cpc["calls", r], cpc["kamailio", r]
				}
				print ""
				print "A rate ratio of the highest clean rates is a lower bound for a server that passed the top rate tried; the CPU-per-call ratio compares both servers at the same load. Kamailio is a stateful proxy; the PBX is a B2BUA (two dialogs per call, SDP rewritten, RTP ports allocated)."
				print ""
			}
			hdr = 0
			for (i = 1; i <= n; i++) if (sec[i] == "register") {
				if (!hdr) {
					printf "## REGISTER with digest (REGISTER, 401, REGISTER with Authorization, 200), %d s per rate\n\n", regsecs
					print "| registrations/s | count | ok | failed | retrans | exit | PBX cores | CPU ms/registration | SIPp cores | other cores | clean |"
					print "|---|---|---|---|---|---|---|---|---|---|---|"
					hdr = 1
				}
				if (v[i, 2] == "-") { printf "| %s |\n", v[i, 17]; continue }
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v[i, 2], v[i, 3], v[i, 4], v[i, 5], v[i, 6], v[i, 7], f(v[i, 10], "%.2f"), f(v[i, 9], "%.3f"), f(v[i, 11], "%.2f"), f(v[i, 18], "%.2f"), v[i, 17]
			}
			if (hdr) { printf "\nHighest clean REGISTER rate: **%s/s**\n\n", ("register" in best) ? best["register"] : "none" }
			hdr = 0
			for (i = 1; i <= n; i++) if (sec[i] == "rtp") {
				if (!hdr) {
					printf "## Relayed calls with RTP (PCMU 20 ms both ways, %d s calls, measured while all are up)\n\n", rtphold
					print "| concurrent calls | calls | ok | failed | exit | PBX cores | RTP pps in / out of PBX | loss % | SIPp cores | other cores | memory delta | KB/call | clean |"
					print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
					hdr = 1
				}
				if (v[i, 2] == "-") { printf "| %s |\n", v[i, 17]; continue }
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v[i, 2], v[i, 3], v[i, 4], v[i, 5], v[i, 7], f(v[i, 10], "%.2f"), v[i, 16], f(v[i, 15], "%.4f"),
					f(v[i, 11], "%.2f"), f(v[i, 18], "%.2f"), f(v[i, 13] / 1024, "%.1f MB"), f(v[i, 14], "%.1f"), v[i, 17]
			}
			if (hdr) { printf "\nHighest clean concurrent relayed calls: **%s**. A step is clean when no PBX socket dropped a datagram and the PBX sent on what it received. The loss column is the PBX counter pbx_rtp_packets_lost_total (sequence gaps in what the far ends sent), which also counts what SIPp itself dropped: its -rtp_echo serves every call from one socket.\n\n", ("rtp" in best) ? best["rtp"] : "none" }
			hdrm = 0
			for (i = 1; i <= n; i++) if (sec[i] == "moh") {
				if (!hdrm) {
					print "## Hold-music listeners (callers of a music: number, all on one class)\n"
					print "| listeners | calls | ok | failed | exit | PBX cores | RTP packets/s sent / expected | other cores | memory delta | KB/listener | clean |"
					print "|---|---|---|---|---|---|---|---|---|---|---|"
					hdrm = 1
				}
				if (v[i, 2] == "-") { printf "| %s |\n", v[i, 17]; continue }
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v[i, 2], v[i, 3], v[i, 4], v[i, 5], v[i, 7], f(v[i, 10], "%.2f"), v[i, 16],
					f(v[i, 18], "%.2f"), f(v[i, 13] / 1024, "%.1f MB"), f(v[i, 14], "%.1f"), v[i, 17]
			}
			if (hdrm) { print "\nKamailio plays no media, so this load has no peer figure to compare with.\n" }
		}' "$steps"
		for f in overload flood; do
			[[ " ${SECTIONS[*]} " == *" $f "* && -s $WORK/$f.md ]] && cat "$WORK/$f.md"
		done
		if [[ -s $WORK/rtp_drops.tsv ]]; then
			echo "| concurrent calls | PBX socket drops | SIPp socket drops | PBX in minus out % |"
			echo "|---|---|---|---|"
			awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$WORK/rtp_drops.tsv"
			echo
		fi
		echo "Raw SIPp statistics and logs: \`$WORK\`."
	} >"$WORK/results.md"
	cp "$WORK/results.md" "$RESULTS"
	cat "$RESULTS"
}

# ------------------------------------------------------------------- main

SECTIONS=("$@")
((${#SECTIONS[@]})) || SECTIONS=(all)
for s in "${SECTIONS[@]}"; do
	case $s in
	all | calls | register | rtp | moh | kamailio | direct | overload | flood) ;;
	*) die "unknown section $s (all, calls, register, rtp, moh, kamailio, direct, overload, flood)" ;;
	esac
done
[[ " ${SECTIONS[*]} " == *" all "* ]] && SECTIONS=(calls register rtp moh kamailio)

need_sipp
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd) # SIPp runs in it: the paths handed to it must not be relative
# One run at a time: the ports are fixed and the work directory is shared.
exec 9>"$WORK/.lock"
flock -n 9 || die "another bench/run.sh is using $WORK (and the bench ports); wait for it to finish"
: >"$WORK/steps.tsv"
: >"$WORK/pbx.log"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ ${BENCH_SYSCTL:-0} == 1 ]]; then
	for k in net.core.rmem_default net.core.wmem_default net.core.rmem_max net.core.wmem_max; do
		old=$(sysctl -n "$k" 2>/dev/null) || continue
		if sysctl -q -w "$k=4194304" >/dev/null 2>&1; then SYSCTL_SAVED+=("$k=$old"); fi
	done
fi
exec 3>&2
(
	sleep "$BENCH_MAX_SECS"
	echo "bench/run.sh: stopped after BENCH_MAX_SECS=$BENCH_MAX_SECS s" >&3
	kill -TERM $$
) 2>/dev/null &
WATCHDOG=$!
disown "$WATCHDOG"

for s in "${SECTIONS[@]}"; do
	"section_$s"
done
report
