#!/usr/bin/env bash
# Syscalls and context switches per gRPC call on the server: protocall
# against tonic and connect-rust's connectrpc (issue 15, PERF.md).
#
#   bash scripts/bench-grpc-syscalls.sh
#   SCENARIOS="getuser" N=20000 CONC="50 10" bash scripts/bench-grpc-syscalls.sh
#
# For each server (`grpc_server protocall|tonic PORT`, `connectrpc_server
# PORT` from benches/connectrpc when it builds, unless CONNECTRPC=0) and
# scenario, the server is started, warmed up with N/10 calls, then:
#   1. context switches: the sum of voluntary and involuntary switches over
#      the server's threads (/proc/PID/task/*/status) before and after
#      `grpc_load run -n N`, per call: how often a worker thread parked
#      (a wake-up) or was preempted;
#   2. syscalls: `strace -c -f` attached to the server while grpc_load makes
#      another N calls: calls per syscall and in all, per call. strace slows
#      every syscall, which can change how calls batch per wake-up; at one
#      call at a time (CONC="1 1", the default) there is nothing to batch.
# CONC = "CONNECTIONS STREAMS" is grpc_load's concurrency. Loopback only;
# every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/grpc-bench.sh

SCENARIOS=${SCENARIOS:-"getuser echo stream"}
N=${N:-5000}
CONC=${CONC:-"1 1"}
PORT=${PORT:-50741}
CONNECTRPC=${CONNECTRPC:-auto}
OUT=${OUT:-target/bench-grpc-syscalls}
read -r CONNS STREAMS <<<"$CONC"

command -v strace >/dev/null || { echo "strace is required (apt-get install strace)" >&2; exit 1; }
gb_build_servers
BIN=target/release
rm -rf "$OUT"
mkdir -p "$OUT"

SERVER=
TRACER=
stop_all() {
    [[ -z "$TRACER" ]] || { kill -INT "$TRACER" 2>/dev/null || true; wait "$TRACER" 2>/dev/null || true; }
    [[ -z "$SERVER" ]] || gb_stop "$SERVER"
    SERVER=
    TRACER=
}
trap stop_all EXIT
trap 'exit 130' INT TERM

switches() { # PID -> context switches of all its threads so far
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

load() { # SCENARIO CALLS
    timeout 600 "$BIN/grpc_load" run "$PORT" "$1" -c "$CONNS" -m "$STREAMS" -n "$2" >/dev/null \
        || { echo "grpc_load failed ($1)" >&2; exit 1; }
}

{
    echo "Server syscalls and context switches per call (${CONNS} x ${STREAMS}, N = $N), commit $(git rev-parse --short HEAD)"
    echo
    echo "| scenario | server | context switches/call | syscalls/call | of which (per call) |"
    echo "| --- | --- | ---: | ---: | --- |"
} | tee "$OUT/summary.md"
for scenario in $SCENARIOS; do
    for impl in "${SERVERS[@]}"; do
        gb_server_command "$impl" "$PORT"
        "${GB_SERVER[@]}" 2>"$OUT/server.$impl.log" &
        SERVER=$!
        gb_wait_listening "$PORT" "$SERVER"
        load "$scenario" $((N / 10))

        before=$(switches "$SERVER")
        load "$scenario" "$N"
        after=$(switches "$SERVER")
        per_switch=$(awk -v a="$before" -v b="$after" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')

        trace="$OUT/strace.$impl.$scenario.txt"
        strace -c -f -q -p "$SERVER" -o "$trace" &
        TRACER=$!
        sleep 0.5 # strace attaches to every thread
        load "$scenario" "$N"
        kill -INT "$TRACER"
        wait "$TRACER" 2>/dev/null || true
        TRACER=
        # strace -c: "% time seconds usecs/call calls [errors] syscall", then "total".
        total=$(awk -v n="$N" '$NF == "total" { printf "%.2f", $4 / n }' "$trace")
        top=$(awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
                printf "%s %.2f\n", $NF, $4 / n }' "$trace" |
            sort -k2 -gr | head -5 | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')
        printf '| %s | %s | %s | %s | %s |\n' "$scenario" "$impl" "$per_switch" "$total" "$top" | tee -a "$OUT/summary.md"
        gb_stop "$SERVER"
        SERVER=
    done
done
