#!/usr/bin/env bash
# gRPC-Web and Connect against gRPC on the same protocall server (issue
# "Browsers and curl", BENCHMARKS.md "Web protocols").
#
#   bash scripts/bench-web.sh                 # 3 runs x 5 s per protocol
#   RUNS=5 DUR=10 bash scripts/bench-web.sh
#
# One `grpc_server protocall PORT` (benches/src/bin, release) serves
# bench.Bench. h2load (HTTP/2 prior knowledge, -c50 -m10, one thread) calls
# unary GetUser as
#   grpc     application/grpc, the framed request, te: trailers
#   grpcweb  application/grpc-web+proto, the framed request
#   connect  application/proto, the bare request, connect-protocol-version: 1
# taking turns within each run. Each turn: a 1 s warm-up, then DUR seconds
# measured: req/s, and the server's CPU time (utime+stime from
# /proc/PID/stat) per completed call. The summary has the median of each
# figure over the runs and the ratio to gRPC. Everything started here is
# stopped on exit; every load is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

DUR=${DUR:-5}
RUNS=${RUNS:-3}
PORT=${PORT:-50713}
OUT=${OUT:-target/bench-web}
command -v h2load >/dev/null || { echo "h2load is required (apt-get install nghttp2-client)" >&2; exit 1; }

cargo build --release -p protocall-benches --bin grpc_server --bin grpc_load >&2
rm -rf "$OUT"
mkdir -p "$OUT/requests" "$OUT/raw"
target/release/grpc_load write-requests "$OUT/requests"
tail -c +6 "$OUT/requests/getuser.bin" >"$OUT/requests/getuser.bare"

target/release/grpc_server protocall "$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

cpu() { sed -E 's/^.*\) //' "/proc/$SERVER/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)
URL="http://127.0.0.1:$PORT/bench.Bench/GetUser"

load() { # protocol secs outfile
    local args
    case "$1" in
        grpc) args=(-d "$OUT/requests/getuser.bin" -H content-type:application/grpc -H te:trailers) ;;
        grpcweb) args=(-d "$OUT/requests/getuser.bin" -H content-type:application/grpc-web+proto -H x-grpc-web:1) ;;
        connect) args=(-d "$OUT/requests/getuser.bare" -H content-type:application/proto -H connect-protocol-version:1) ;;
    esac
    timeout $(($2 + 20)) h2load -t1 -c50 -m10 -D"$2" "${args[@]}" "$URL" >"$3"
}

printf 'protocol\trun\treq_s\tcpu_us_per_call\n' >"$OUT/results.tsv"
for run in $(seq "$RUNS"); do
    for protocol in grpc grpcweb connect; do
        load "$protocol" 1 "$OUT/raw/warm.$protocol.$run.txt"
        before=$(cpu)
        load "$protocol" "$DUR" "$OUT/raw/$protocol.$run.txt"
        after=$(cpu)
        rps=$(sed -nE 's/^finished in .*, ([0-9.]+) req\/s.*/\1/p' "$OUT/raw/$protocol.$run.txt")
        calls=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' "$OUT/raw/$protocol.$run.txt")
        status2xx=$(sed -nE 's/^status codes: ([0-9]+) 2xx.*/\1/p' "$OUT/raw/$protocol.$run.txt")
        [ "$calls" = "$status2xx" ] || { echo "$protocol: non-2xx answers" >&2; cat "$OUT/raw/$protocol.$run.txt" >&2; exit 1; }
        per_call=$(awk -v a="$after" -v b="$before" -v t="$CLK_TCK" -v n="$calls" 'BEGIN { printf "%.2f", (a - b) / t * 1e6 / n }')
        printf '%s\t%s\t%s\t%s\n' "$protocol" "$run" "$rps" "$per_call" | tee -a "$OUT/results.tsv"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
{
    echo "| protocol | req/s | CPU µs/call | req/s vs gRPC | CPU vs gRPC |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    base_rps=$(awk -F'\t' '$1 == "grpc" { print $3 }' "$OUT/results.tsv" | median)
    base_cpu=$(awk -F'\t' '$1 == "grpc" { print $4 }' "$OUT/results.tsv" | median)
    for protocol in grpc grpcweb connect; do
        rps=$(awk -F'\t' -v p="$protocol" '$1 == p { print $3 }' "$OUT/results.tsv" | median)
        cpu=$(awk -F'\t' -v p="$protocol" '$1 == p { print $4 }' "$OUT/results.tsv" | median)
        awk -v p="$protocol" -v r="$rps" -v c="$cpu" -v br="$base_rps" -v bc="$base_cpu" \
            'BEGIN { printf "| %s | %.0f | %.2f | %.2f× | %.2f× |\n", p, r, c, r / br, c / bc }'
    done
} | tee "$OUT/summary.md"
