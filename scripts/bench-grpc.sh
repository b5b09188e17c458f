#!/usr/bin/env bash
# gRPC server benchmark: protocall against tonic and connect-rust's
# connectrpc, side by side (PERF.md).
#
#   bash scripts/bench-grpc.sh                         # 4 scenarios x 3 runs, 5 s each
#   RUNS=5 DUR=10 SCENARIOS="getuser single" bash scripts/bench-grpc.sh
#   CONNECTRPC=0 bash scripts/bench-grpc.sh            # protocall and tonic only
#
# The servers (`grpc_server protocall|tonic PORT`, benches/src/bin, and
# `connectrpc_server PORT` from benches/connectrpc, a standalone crate built
# into target/connectrpc) serve benches/proto/bench.proto on loopback with
# the same handlers, a 2-worker multi-thread tokio runtime and the same
# HTTP/2 settings. CONNECTRPC=auto (the default) measures connectrpc when
# benches/connectrpc builds and says so when it does not; CONNECTRPC=1
# makes a failed build an error. Before measuring, `grpc_load probe` makes
# one call of each scenario on every server and the replies (status,
# message bytes) must be identical. For every scenario and run, the servers
# take turns, the order rotating from run to run; each turn is
#   1. a warm-up load of WARM seconds (not measured),
#   2. h2load for DUR seconds: req/s, and the server's CPU time
#      (utime+stime from /proc/PID/stat) divided by the calls completed,
#   3. grpc_load (benches/src/bin/grpc_load.rs, raw h2, one thread) for DUR
#      seconds at the same concurrency: latency p50/p90/p99 (h2load prints
#      only min/max/mean/sd), req/s and CPU per call again; it also checks
#      that every call ends with grpc-status 0 and the expected messages.
# The summary holds the median over runs of each figure, and the ratios of
# the medians protocall/tonic and protocall/connectrpc.
#
# Scenarios (CONC is h2load's -c/-m):
#   getuser  unary GetUser (2-byte request, 33-byte reply)   -c50 -m10
#   echo     unary Echo of a 1 KiB bytes payload             -c50 -m10
#   stream   server streaming, 100 messages of 32 B per call -c50 -m10
#   single   unary GetUser, one connection, one stream       -c1 -m1
#
# Raw outputs, results.tsv and summary.md go to $OUT (target/bench-grpc).
# Every process started here is stopped on exit, and every load is bounded
# in time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/grpc-bench.sh

DUR=${DUR:-5}
WARM=${WARM:-1}
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"getuser echo stream single"}
PORT_PROTOCALL=${PORT_PROTOCALL:-50711}
PORT_TONIC=${PORT_TONIC:-50712}
PORT_CONNECTRPC=${PORT_CONNECTRPC:-50713}
OUT=${OUT:-target/bench-grpc}
CONNECTRPC=${CONNECTRPC:-auto}

for tool in h2load awk sort; do
    command -v "$tool" >/dev/null || { echo "$tool is required (h2load: apt-get install nghttp2-client)" >&2; exit 1; }
done

gb_build_servers
BIN=target/release

rm -rf "$OUT"
mkdir -p "$OUT/raw" "$OUT/requests"
"$BIN/grpc_load" write-requests "$OUT/requests"

declare -A SERVER_PID=()
LOAD_PID=

stop_all() {
    if [[ -n "$LOAD_PID" ]]; then
        kill "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
    gb_stop "${SERVER_PID[@]}"
    SERVER_PID=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_of() {
    case "$1" in
        protocall) echo "$PORT_PROTOCALL" ;;
        tonic) echo "$PORT_TONIC" ;;
        connectrpc) echo "$PORT_CONNECTRPC" ;;
    esac
}

start_server() {
    local impl=$1 port
    port=$(port_of "$impl")
    gb_server_command "$impl" "$port"
    "${GB_SERVER[@]}" 2>"$OUT/raw/server.$impl.log" &
    SERVER_PID[$impl]=$!
    gb_wait_listening "$port" "${SERVER_PID[$impl]}" || { echo "$impl did not start" >&2; exit 1; }
}

# Runs a load command in the background (so the EXIT trap can stop it),
# bounded in time; its output goes to the file $1.
bounded() {
    local out=$1
    shift
    timeout --kill-after=5 $((DUR + WARM + 30)) "$@" >"$out" 2>&1 &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=
    return "$rc"
}

scenario_call() { # scenario -> request name, h2load/grpc_load concurrency
    case "$1" in
        getuser) echo "getuser 50 10" ;;
        echo) echo "echo 50 10" ;;
        stream) echo "stream 50 10" ;;
        single) echo "getuser 1 1" ;;
        *) echo "unknown scenario $1" >&2; exit 2 ;;
    esac
}

method_of() {
    case "$1" in
        getuser) echo GetUser ;;
        echo) echo Echo ;;
        stream) echo Stream ;;
    esac
}

h2load_run() { # impl request conns streams secs outfile
    local port
    port=$(port_of "$1")
    bounded "$6" h2load -t1 -c"$3" -m"$4" -D"$5" -d "$OUT/requests/$2.bin" \
        -H content-type:application/grpc -H te:trailers \
        "http://127.0.0.1:$port/bench.Bench/$(method_of "$2")"
}

# µs from h2load's "time for request" mean (printed as us, ms or s).
to_us() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
        else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000000 }
        else print "nan"
    }'
}

printf 'scenario\tserver\trun\th2_rps\th2_calls\th2_cpu_us\th2_mean_us\tgl_rps\tgl_calls\tgl_cpu_us\tp50_us\tp90_us\tp99_us\tload1\n' >"$OUT/results.tsv"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt" >&2
for impl in "${SERVERS[@]}"; do start_server "$impl"; done

# The same replies from every server, before any figure is taken.
for request in $(for scenario in $SCENARIOS; do scenario_call "$scenario" | cut -d' ' -f1; done | sort -u); do
    for impl in "${SERVERS[@]}"; do
        "$BIN/grpc_load" probe "$(port_of "$impl")" "$request" >"$OUT/raw/probe.$request.$impl.txt" \
            || { echo "$impl does not answer $request" >&2; exit 1; }
        # content-type may be application/grpc or application/grpc+proto.
        diff <(grep -v '^content-type=' "$OUT/raw/probe.$request.protocall.txt") \
            <(grep -v '^content-type=' "$OUT/raw/probe.$request.$impl.txt") >/dev/null \
            || { echo "$impl answers $request differently from protocall ($OUT/raw/probe.$request.*)" >&2; exit 1; }
    done
done

for scenario in $SCENARIOS; do
    read -r request conns streams <<<"$(scenario_call "$scenario")"
    for run in $(seq "$RUNS"); do
        # Rotate who goes first: run r starts with server r mod n.
        for impl in $(gb_rotate "$run" "${SERVERS[@]}"); do
            pid=${SERVER_PID[$impl]}
            port=$(port_of "$impl")
            tag="$scenario.$impl.$run"
            load1=$(cut -d' ' -f1 /proc/loadavg)

            h2load_run "$impl" "$request" "$conns" "$streams" "$WARM" "$OUT/raw/warmup.$tag.txt" || true

            t0=$(gb_cpu_ticks "$pid")
            h2load_run "$impl" "$request" "$conns" "$streams" "$DUR" "$OUT/raw/h2load.$tag.txt" \
                || { echo "h2load failed ($tag)" >&2; cat "$OUT/raw/h2load.$tag.txt" >&2; exit 1; }
            t1=$(gb_cpu_ticks "$pid")
            h2_rps=$(sed -nE 's/^finished in .*, ([0-9.]+) req\/s.*/\1/p' "$OUT/raw/h2load.$tag.txt")
            h2_calls=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' "$OUT/raw/h2load.$tag.txt")
            h2_mean=$(to_us "$(awk '/^time for request:/ { print $6 }' "$OUT/raw/h2load.$tag.txt")")
            h2_cpu=$(gb_per_call $((t1 - t0)) "$h2_calls")

            t0=$(gb_cpu_ticks "$pid")
            bounded "$OUT/raw/grpc_load.$tag.txt" "$BIN/grpc_load" run "$port" "$request" \
                -c "$conns" -m "$streams" -D "$DUR" \
                || { echo "grpc_load failed ($tag)" >&2; cat "$OUT/raw/grpc_load.$tag.txt" >&2; exit 1; }
            t1=$(gb_cpu_ticks "$pid")
            line=$(grep '^calls=' "$OUT/raw/grpc_load.$tag.txt")
            field() { gb_field "$line" "$1"; }
            gl_calls=$(field calls)
            gl_cpu=$(gb_per_call $((t1 - t0)) "$gl_calls")

            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$scenario" "$impl" "$run" "$h2_rps" "$h2_calls" "$h2_cpu" "$h2_mean" \
                "$(field rps)" "$gl_calls" "$gl_cpu" "$(field p50_us)" "$(field p90_us)" "$(field p99_us)" \
                "$load1" >>"$OUT/results.tsv"
            printf '%-8s %-9s run %s: h2load %9s req/s %7s µs CPU/call | grpc_load %9s req/s p50 %s p90 %s p99 %s µs, %s µs CPU/call (load %s)\n' \
                "$scenario" "$impl" "$run" "$h2_rps" "$h2_cpu" "$(field rps)" "$(field p50_us)" \
                "$(field p90_us)" "$(field p99_us)" "$gl_cpu" "$load1" >&2
        done
    done
done

stop_all
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt" >&2

# Medians over runs, then the ratios of the medians.
median() { gb_median "$OUT/results.tsv" "$@"; }
ratio() { gb_ratio "$@"; }

COLS="h2_rps h2_cpu_us h2_mean_us gl_rps gl_cpu_us p50_us p90_us p99_us"
{
    echo "Medians of $RUNS runs, ${DUR} s each (warm-up ${WARM} s); $(cat "$OUT/load.txt" | tr '\n' ';')"
    echo
    echo "| scenario | server | h2load req/s | CPU µs/call | h2load mean µs | grpc_load req/s | CPU µs/call | p50 µs | p90 µs | p99 µs |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for scenario in $SCENARIOS; do
        for impl in "${SERVERS[@]}"; do
            row="| $scenario | $impl |"
            for col in $COLS; do row="$row $(median "$col" "$scenario" "$impl") |"; done
            echo "$row"
        done
        for peer in "${SERVERS[@]:1}"; do
            row="| $scenario | **protocall/$peer** |"
            for col in $COLS; do
                row="$row $(ratio "$(median "$col" "$scenario" protocall)" "$(median "$col" "$scenario" "$peer")") |"
            done
            echo "$row"
        done
    done
} | tee "$OUT/summary.md"
