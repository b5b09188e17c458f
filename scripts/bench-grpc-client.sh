#!/usr/bin/env bash
# gRPC client benchmark: protocall's generated client against tonic's,
# calling one server, side by side (issue 15, PERF.md).
#
#   bash scripts/bench-grpc-client.sh                    # 4 scenarios x 3 runs, 5 s each
#   RUNS=5 DUR=10 SCENARIOS="getuser single" bash scripts/bench-grpc-client.sh
#   SERVER=tonic bash scripts/bench-grpc-client.sh       # against tonic's server
#   CALLGRIND=1 N=2000 bash scripts/bench-grpc-client.sh # client instructions per call
#
# One server (`grpc_server $SERVER PORT`, default protocall: a 2-worker
# tokio runtime, see scripts/bench-grpc.sh) serves benches/proto/bench.proto
# on loopback. The load generator `grpc_load run --client C` (one thread, a
# current-thread tokio runtime) makes the scenario's calls through client C:
#   protocall  the generated `BenchClient` over a `protocall::Channel`
#   tonic      tonic-prost-build's `BenchClient` over a `tonic` `Channel`
#   raw        h2 by hand (no framework: the floor a client can reach on h2)
# each connection with 1 MiB stream / 2 MiB connection windows and
# TCP_NODELAY. The figure that matters is the client's CPU time per call
# (clock_gettime(CLOCK_PROCESS_CPUTIME_ID) in grpc_load, over the calls
# made); req/s, latency percentiles and the server's CPU per call
# (/proc/PID/stat) come with it. For every scenario and run the clients
# take turns, the order rotating from run to run; each turn is WARM seconds
# of warm-up, then DUR seconds measured. The summary holds the medians over
# runs and the ratios protocall/tonic of the medians.
#
# Scenarios (CONNS x STREAMS: connections, concurrent calls on each):
#   getuser  unary GetUser (2-byte request, 33-byte reply)   50 x 10
#   echo     unary Echo of a 1 KiB bytes payload             50 x 10
#   stream   server streaming, 100 messages of 32 B per call 50 x 10
#   single   unary GetUser, one connection, one call at a time 1 x 1
#
# CALLGRIND=1 counts instead the client's user-space instructions per call
# under valgrind --tool=callgrind: grpc_load makes N and then 2N calls
# (CONC="CONNECTIONS STREAMS", default "1 1") against the running server,
# and (count(2N) - count(N)) / N cancels start-up and connecting out.
# Deterministic up to how calls batch per wake-up; kernel time not counted.
#
# Raw outputs, results.tsv and summary.md go to $OUT (target/bench-grpc-client).
# Every process started here is stopped on exit, and every load is bounded
# in time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/grpc-bench.sh

DUR=${DUR:-5}
WARM=${WARM:-1}
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"getuser echo stream single"}
SERVER=${SERVER:-protocall}
CLIENTS=${CLIENTS:-"protocall tonic raw"}
PORT=${PORT:-50731}
OUT=${OUT:-target/bench-grpc-client}
CALLGRIND=${CALLGRIND:-0}
N=${N:-2000}
CONC=${CONC:-"1 1"}

if [[ "$CALLGRIND" = 1 ]]; then
    command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
fi
cargo build --release -p protocall-benches --bin grpc_server --bin grpc_load >&2
BIN=target/release

rm -rf "$OUT"
mkdir -p "$OUT/raw"

SERVER_PID=
LOAD_PID=
stop_all() {
    if [[ -n "$LOAD_PID" ]]; then
        kill "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
    [[ -z "$SERVER_PID" ]] || gb_stop "$SERVER_PID"
    SERVER_PID=
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$BIN/grpc_server" "$SERVER" "$PORT" 2>"$OUT/raw/server.log" &
SERVER_PID=$!
gb_wait_listening "$PORT" "$SERVER_PID"

# bounded OUTFILE SECS CMD...: runs CMD in the background (so the EXIT trap
# can stop it), killed after SECS.
bounded() {
    local out=$1 secs=$2
    shift 2
    timeout --kill-after=5 "$secs" "$@" >"$out" 2>&1 &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=
    return "$rc"
}

scenario_call() { # scenario -> request, connections, streams
    case "$1" in
        getuser) echo "getuser 50 10" ;;
        echo) echo "echo 50 10" ;;
        stream) echo "stream 50 10" ;;
        single) echo "getuser 1 1" ;;
        *) echo "unknown scenario $1" >&2; exit 2 ;;
    esac
}

if [[ "$CALLGRIND" = 1 ]]; then
    read -r conns streams <<<"$CONC"
    # count CLIENT REQUEST CALLS -> the client's instructions collected
    count() {
        local log="$OUT/raw/callgrind.$1.$2.$3.log"
        bounded "$log" 900 valgrind --tool=callgrind --callgrind-out-file="$OUT/raw/callgrind.out.$1.$2.$3" \
            "$BIN/grpc_load" run "$PORT" "$2" -c "$conns" -m "$streams" -n "$3" --client "$1" \
            || { echo "grpc_load failed ($1 $2 $3)" >&2; cat "$log" >&2; exit 1; }
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$log"
    }
    read -ra clients <<<"$CLIENTS"
    {
        echo "Client instructions per call (callgrind, ${conns} x ${streams}, N = $N), server: $SERVER, commit $(git rev-parse --short HEAD)"
        echo
        header="| call |"
        rule="| --- |"
        for client in "${clients[@]}"; do header="$header $client |"; rule="$rule ---: |"; done
        echo "$header protocall/tonic |"
        echo "$rule ---: |"
        for request in $SCENARIOS; do
            [[ "$request" = single ]] && continue
            declare -A per=()
            row="| $request |"
            for client in "${clients[@]}"; do
                a=$(count "$client" "$request" "$N")
                b=$(count "$client" "$request" $((2 * N)))
                per[$client]=$(((b - a) / N))
                row="$row ${per[$client]} |"
            done
            echo "$row $(gb_ratio "${per[protocall]:-0}" "${per[tonic]:-0}") |"
        done
    } | tee "$OUT/summary.md"
    exit 0
fi

printf 'scenario\tclient\trun\trps\tcalls\tclient_cpu_us\tserver_cpu_us\tp50_us\tp90_us\tp99_us\tload1\n' >"$OUT/results.tsv"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt" >&2
read -ra clients <<<"$CLIENTS"
for scenario in $SCENARIOS; do
    read -r request conns streams <<<"$(scenario_call "$scenario")"
    for run in $(seq "$RUNS"); do
        for client in $(gb_rotate "$run" "${clients[@]}"); do
            tag="$scenario.$client.$run"
            load1=$(cut -d' ' -f1 /proc/loadavg)
            bounded "$OUT/raw/warmup.$tag.txt" $((WARM + 30)) "$BIN/grpc_load" run "$PORT" "$request" \
                -c "$conns" -m "$streams" -D "$WARM" --client "$client" || true
            t0=$(gb_cpu_ticks "$SERVER_PID")
            bounded "$OUT/raw/grpc_load.$tag.txt" $((DUR + 30)) "$BIN/grpc_load" run "$PORT" "$request" \
                -c "$conns" -m "$streams" -D "$DUR" --client "$client" \
                || { echo "grpc_load failed ($tag)" >&2; cat "$OUT/raw/grpc_load.$tag.txt" >&2; exit 1; }
            t1=$(gb_cpu_ticks "$SERVER_PID")
            line=$(grep '^calls=' "$OUT/raw/grpc_load.$tag.txt")
            calls=$(gb_field "$line" calls)
            server_cpu=$(gb_per_call $((t1 - t0)) "$calls")
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$client" "$run" \
                "$(gb_field "$line" rps)" "$calls" "$(gb_field "$line" cpu_us)" "$server_cpu" \
                "$(gb_field "$line" p50_us)" "$(gb_field "$line" p90_us)" "$(gb_field "$line" p99_us)" \
                "$load1" >>"$OUT/results.tsv"
            printf '%-8s %-9s run %s: %9s req/s, client %6s µs CPU/call, server %6s, p50 %s p90 %s p99 %s µs (load %s)\n' \
                "$scenario" "$client" "$run" "$(gb_field "$line" rps)" "$(gb_field "$line" cpu_us)" \
                "$server_cpu" "$(gb_field "$line" p50_us)" "$(gb_field "$line" p90_us)" \
                "$(gb_field "$line" p99_us)" "$load1" >&2
        done
    done
done
stop_all
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2

COLS="rps client_cpu_us server_cpu_us p50_us p90_us p99_us"
{
    echo "Medians of $RUNS runs, ${DUR} s each (warm-up ${WARM} s), server: $SERVER, commit $(git rev-parse --short HEAD); $(tr '\n' ';' <"$OUT/load.txt")"
    echo
    echo "| scenario | client | req/s | client CPU µs/call | server CPU µs/call | p50 µs | p90 µs | p99 µs |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for scenario in $SCENARIOS; do
        for client in "${clients[@]}"; do
            row="| $scenario | $client |"
            for col in $COLS; do row="$row $(gb_median "$OUT/results.tsv" "$col" "$scenario" "$client") |"; done
            echo "$row"
        done
        row="| $scenario | **protocall/tonic** |"
        for col in $COLS; do
            row="$row $(gb_ratio "$(gb_median "$OUT/results.tsv" "$col" "$scenario" protocall)" \
                "$(gb_median "$OUT/results.tsv" "$col" "$scenario" tonic)") |"
        done
        echo "$row"
    done
} | tee "$OUT/summary.md"
