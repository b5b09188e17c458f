#!/usr/bin/env bash
# Server instructions per gRPC call, protocall against tonic, under callgrind.
#
#   bash scripts/bench-grpc-callgrind.sh
#   SCENARIOS="getuser" N=2000 CONC="1 1" bash scripts/bench-grpc-callgrind.sh
#   CALLGRIND_OUT=target/callgrind-grpc bash scripts/bench-grpc-callgrind.sh  # keep profiles
#
# For each server and scenario, `grpc_server IMPL PORT` runs under
# `valgrind --tool=callgrind` and `grpc_load` (outside valgrind) makes N
# calls, then the server is stopped with SIGTERM (it exits cleanly, so
# callgrind writes its totals); the same again with 2N calls.
# (count(2N) - count(N)) / N is the server's user-space instructions per call,
# with start-up, connection set-up and shutdown cancelled out. The counts
# are deterministic up to how calls batch per wake-up, which concurrency
# (CONC = "CONNECTIONS STREAMS", default "1 1": one call at a time) changes.
# Kernel time (syscalls) is not counted: see the CPU figures of
# scripts/bench-grpc.sh for that.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

SCENARIOS=${SCENARIOS:-"getuser echo stream"}
N=${N:-2000}
CONC=${CONC:-"1 1"}
PORT=${PORT:-50721}
read -r CONNS STREAMS <<<"$CONC"

cargo build --release -p protocall-benches --bin grpc_server --bin grpc_load >&2
BIN=target/release
if [[ -n "${CALLGRIND_OUT:-}" ]]; then
    mkdir -p "$CALLGRIND_OUT"
fi

SERVER=
LOAD=
stop_all() {
    [[ -n "$LOAD" ]] && { kill "$LOAD" 2>/dev/null || true; wait "$LOAD" 2>/dev/null || true; }
    if [[ -n "$SERVER" ]]; then
        kill -TERM "$SERVER" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    SERVER=
    LOAD=
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# count IMPL SCENARIO CALLS [OUTFILE] -> server instructions collected
count() {
    local impl=$1 scenario=$2 calls=$3 out=${4:-/dev/null} log
    log=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN/grpc_server" "$impl" "$PORT" 2>"$log" &
    SERVER=$!
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    timeout 600 "$BIN/grpc_load" run "$PORT" "$scenario" -c "$CONNS" -m "$STREAMS" -n "$calls" >/dev/null &
    LOAD=$!
    wait "$LOAD" || { echo "grpc_load failed ($impl $scenario $calls)" >&2; exit 1; }
    LOAD=
    kill -TERM "$SERVER"
    wait "$SERVER" || true
    SERVER=
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$log"
    rm -f "$log"
}

echo "| scenario | protocall instr/call | tonic instr/call | protocall/tonic |"
echo "| --- | ---: | ---: | ---: |"
for scenario in $SCENARIOS; do
    declare -A per=()
    for impl in protocall tonic; do
        out=/dev/null
        [[ -n "${CALLGRIND_OUT:-}" ]] && out="$CALLGRIND_OUT/callgrind.out.$impl.$scenario"
        a=$(count "$impl" "$scenario" "$N")
        b=$(count "$impl" "$scenario" $((2 * N)) "$out")
        [[ -n "$a" && -n "$b" ]] || { echo "no count for $impl $scenario" >&2; exit 1; }
        per[$impl]=$(((b - a) / N))
    done
    ratio=$(awk -v a="${per[protocall]}" -v b="${per[tonic]}" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %d | %d | %s |\n' "$scenario" "${per[protocall]}" "${per[tonic]}" "$ratio"
done
