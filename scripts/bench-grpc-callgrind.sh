#!/usr/bin/env bash
# Server instructions per gRPC call, protocall against tonic and connect-rust's
# connectrpc, under callgrind.
#
#   bash scripts/bench-grpc-callgrind.sh
#   SCENARIOS="getuser" N=2000 CONC="1 1" bash scripts/bench-grpc-callgrind.sh
#   CALLGRIND_OUT=target/callgrind-grpc bash scripts/bench-grpc-callgrind.sh  # keep profiles
#
# For each server and scenario, the server (`grpc_server protocall|tonic
# PORT`, or `connectrpc_server PORT` from benches/connectrpc, measured when
# it builds unless CONNECTRPC=0, as in scripts/bench-grpc.sh) runs under
# `valgrind --tool=callgrind` and `grpc_load` (outside valgrind) makes N
# calls, then the server is stopped with SIGTERM (it exits cleanly, so
# callgrind writes its totals); the same again with 2N calls.
# (count(2N) - count(N)) / N is the server's user-space instructions per call,
# with start-up, connection set-up and shutdown cancelled out. The counts
# are deterministic up to how calls batch per wake-up, which concurrency
# (CONC = "CONNECTIONS STREAMS", default "1 1": one call at a time) changes.
# Kernel time (syscalls) is not counted: see the CPU figures of
# scripts/bench-grpc.sh for that, and scripts/bench-grpc-syscalls.sh for
# syscalls and context switches per call. The same profiles give heap
# allocations per call: calls to malloc, calloc, realloc, posix_memalign
# and aligned_alloc (scripts/lib/callgrind_calls.py), (2N - N) / N again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/grpc-bench.sh

command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

SCENARIOS=${SCENARIOS:-"getuser echo stream"}
N=${N:-2000}
CONC=${CONC:-"1 1"}
PORT=${PORT:-50721}
read -r CONNS STREAMS <<<"$CONC"
CONNECTRPC=${CONNECTRPC:-auto}

gb_build_servers
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
trap 'exit 130' INT TERM

PROFILES=$(mktemp -d)
trap 'stop_all; rm -rf "$PROFILES"' EXIT
ALLOC='^(malloc|calloc|realloc|posix_memalign|aligned_alloc)$'

# count IMPL SCENARIO CALLS OUTFILE -> server instructions collected
count() {
    local impl=$1 scenario=$2 calls=$3 out=$4 log
    log=$(mktemp)
    gb_server_command "$impl" "$PORT"
    valgrind --tool=callgrind --callgrind-out-file="$out" "${GB_SERVER[@]}" 2>"$log" &
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

header="| scenario |"
rule="| --- |"
for impl in "${SERVERS[@]}"; do header="$header $impl instr/call |"; rule="$rule ---: |"; done
for impl in "${SERVERS[@]:1}"; do header="$header protocall/$impl |"; rule="$rule ---: |"; done
for impl in "${SERVERS[@]}"; do header="$header $impl allocs/call |"; rule="$rule ---: |"; done
echo "$header"
echo "$rule"
for scenario in $SCENARIOS; do
    declare -A per=() allocs=()
    for impl in "${SERVERS[@]}"; do
        first="$PROFILES/callgrind.out.$impl.$scenario.n"
        second="$PROFILES/callgrind.out.$impl.$scenario.2n"
        a=$(count "$impl" "$scenario" "$N" "$first")
        b=$(count "$impl" "$scenario" $((2 * N)) "$second")
        [[ -n "$a" && -n "$b" ]] || { echo "no count for $impl $scenario" >&2; exit 1; }
        per[$impl]=$(((b - a) / N))
        allocs[$impl]=$(awk -v a="$(python3 scripts/lib/callgrind_calls.py "$first" "$ALLOC")" \
            -v b="$(python3 scripts/lib/callgrind_calls.py "$second" "$ALLOC")" -v n="$N" \
            'BEGIN { printf "%.1f", (b - a) / n }')
        [[ -z "${CALLGRIND_OUT:-}" ]] || cp "$second" "$CALLGRIND_OUT/callgrind.out.$impl.$scenario"
    done
    row="| $scenario |"
    for impl in "${SERVERS[@]}"; do row="$row ${per[$impl]} |"; done
    for impl in "${SERVERS[@]:1}"; do
        row="$row $(awk -v a="${per[protocall]}" -v b="${per[$impl]}" 'BEGIN { printf "%.2f", a / b }') |"
    done
    for impl in "${SERVERS[@]}"; do row="$row ${allocs[$impl]} |"; done
    echo "$row"
done
