#!/usr/bin/env bash
# gRPC-Web and Connect against gRPC on the same protocall server (issue
# "Browsers and curl", BENCHMARKS.md "Web protocols"), and the same loads
# against connect-rust's published `connectrpc` crate serving the same proto.
#
#   bash scripts/bench-web.sh                 # 3 runs x 5 s per protocol
#   RUNS=5 DUR=10 bash scripts/bench-web.sh
#   CONNECTRPC=0 bash scripts/bench-web.sh    # protocall only
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
# figure over the runs and the ratio to gRPC on the same server.
#
# The peer: with CONNECTRPC=1 (the default when benches/connectrpc builds;
# CONNECTRPC=0 skips it) `connectrpc_server CPORT` from benches/connectrpc (a
# standalone project, built in release into $CARGO_TARGET_DIR or
# target/connectrpc) serves the same proto with the same handler on the same
# settings, and every protocol's turn runs on both servers, one after the
# other (which goes first alternates run by run). Before measuring, one curl
# call per protocol checks that connectrpc answers as protocall does (the same
# body bytes, HTTP 200, grpc-status 0 for gRPC and gRPC-Web); a protocol that
# fails that check, or any load of it on connectrpc that has failures or
# non-2xx answers, is left out of connectrpc's figures, with the reason, rather
# than reported. The summary then adds, per protocol, both servers' medians and
# the ratios protocall/connectrpc.
#
# Everything started here is stopped on exit; every load and probe is bounded
# in time; everything runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

DUR=${DUR:-5}
RUNS=${RUNS:-3}
PORT=${PORT:-50713}
CPORT=${CPORT:-$((PORT + 1))}
OUT=${OUT:-target/bench-web}
CONNECTRPC=${CONNECTRPC:-auto}
TARGET=${CARGO_TARGET_DIR:-target}
CRPC_TARGET=${CARGO_TARGET_DIR:-$PWD/target/connectrpc}
PROTOCOLS=(grpc grpcweb connect)
command -v h2load >/dev/null || { echo "h2load is required (apt-get install nghttp2-client)" >&2; exit 1; }

cargo build --release -p protocall-benches --bin grpc_server --bin grpc_load >&2
if [ "$CONNECTRPC" != 0 ]; then
    if cargo build --release --manifest-path benches/connectrpc/Cargo.toml --target-dir "$CRPC_TARGET" >&2; then
        CONNECTRPC=1
    elif [ "$CONNECTRPC" = auto ]; then
        echo "benches/connectrpc does not build: measuring protocall alone" >&2
        CONNECTRPC=0
    else
        exit 1
    fi
fi
if [ "$CONNECTRPC" = 1 ]; then
    command -v curl >/dev/null || { echo "curl is required to check connectrpc's answers (or CONNECTRPC=0)" >&2; exit 1; }
    SERVERS=(protocall connectrpc)
else
    SERVERS=(protocall)
fi

rm -rf "$OUT"
mkdir -p "$OUT/requests" "$OUT/raw" "$OUT/probe"
"$TARGET/release/grpc_load" write-requests "$OUT/requests"
tail -c +6 "$OUT/requests/getuser.bin" >"$OUT/requests/getuser.bare"

declare -A PID URL
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { # server port command...
    local server=$1 port=$2
    shift 2
    "$@" >"$OUT/$server.log" 2>&1 &
    PID[$server]=$!
    PIDS+=($!)
    URL[$server]="http://127.0.0.1:$port/bench.Bench/GetUser"
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
        kill -0 "${PID[$server]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "$server did not start listening on $port:" >&2
    cat "$OUT/$server.log" >&2
    exit 1
}
start protocall "$PORT" "$TARGET/release/grpc_server" protocall "$PORT"
[ "$CONNECTRPC" = 0 ] || start connectrpc "$CPORT" "$CRPC_TARGET/release/connectrpc_server" "$CPORT"

cpu() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)

headers() { # protocol: request body and headers as h2load/curl arguments
    case "$1" in
        grpc) echo "$OUT/requests/getuser.bin content-type:application/grpc te:trailers" ;;
        grpcweb) echo "$OUT/requests/getuser.bin content-type:application/grpc-web+proto x-grpc-web:1" ;;
        connect) echo "$OUT/requests/getuser.bare content-type:application/proto connect-protocol-version:1" ;;
    esac
}

load() { # server protocol secs outfile
    local body h args=()
    read -r body h <<<"$(headers "$2")"
    for h in $h; do args+=(-H "$h"); done
    timeout $(($3 + 20)) h2load -t1 -c50 -m10 -D"$3" -d "$body" "${args[@]}" "${URL[$1]}" >"$4"
}

probe() { # server protocol: one call; the body to $OUT/probe/S.P.body, headers and trailers to .head
    local body h args=()
    read -r body h <<<"$(headers "$2")"
    for h in $h; do args+=(-H "$h"); done
    curl -sS --http2-prior-knowledge --max-time 5 -o "$OUT/probe/$1.$2.body" -D "$OUT/probe/$1.$2.head" \
        "${args[@]}" --data-binary "@$body" "${URL[$1]}"
}

# Why a protocol is left out of connectrpc's figures (empty: it is measured).
declare -A EXCLUDED
if [ "$CONNECTRPC" = 1 ]; then
    for protocol in "${PROTOCOLS[@]}"; do
        why=
        probe protocall "$protocol" || { echo "protocall: $protocol probe failed" >&2; exit 1; }
        if ! probe connectrpc "$protocol" 2>"$OUT/probe/connectrpc.$protocol.err"; then
            why="curl failed: $(head -c 200 "$OUT/probe/connectrpc.$protocol.err")"
        elif ! head -1 "$OUT/probe/connectrpc.$protocol.head" | grep -q '^HTTP/2 200'; then
            why="answered $(head -1 "$OUT/probe/connectrpc.$protocol.head" | tr -d '\r')"
        elif ! cmp -s "$OUT/probe/protocall.$protocol.body" "$OUT/probe/connectrpc.$protocol.body"; then
            why="its reply body differs from protocall's"
        elif [ "$protocol" = grpc ] && ! grep -qi '^grpc-status: *0' "$OUT/probe/connectrpc.$protocol.head"; then
            why="no grpc-status 0 trailer"
        elif [ "$protocol" = grpcweb ] && ! grep -aqi 'grpc-status: *0' "$OUT/probe/connectrpc.$protocol.body"; then
            why="no grpc-status 0 in the gRPC-Web trailer frame"
        fi
        if [ -n "$why" ]; then
            EXCLUDED[$protocol]=$why
            echo "connectrpc: $protocol left out: $why" >&2
        else
            echo "connectrpc: $protocol answers as protocall does" >&2
        fi
    done
fi

# Completed calls in an h2load report, or nothing if any call failed, errored
# or timed out, or any answer was not 2xx. (The 2xx count itself may exceed
# the calls done: a call whose headers came in just before the stop but whose
# trailers did not is counted there, not as done.)
succeeded() {
    local line codes done ok
    line=$(grep -E '^requests: ' "$1") || return 1
    codes=$(grep -E '^status codes: ' "$1") || return 1
    done=$(sed -nE 's/.* ([0-9]+) done,.*/\1/p' <<<"$line")
    ok=$(sed -nE 's/.* ([0-9]+) succeeded,.*/\1/p' <<<"$line")
    [[ $line == *" 0 failed, 0 errored, 0 timeout"* ]] || return 1
    [[ $codes == *" 0 3xx, 0 4xx, 0 5xx"* ]] || return 1
    [ -n "$ok" ] && [ "$ok" -gt 0 ] && [ "$ok" = "$done" ] && echo "$ok"
}

printf 'server\tprotocol\trun\treq_s\tcpu_us_per_call\n' >"$OUT/results.tsv"
for run in $(seq "$RUNS"); do
    order=("${SERVERS[@]}")
    if [ $((run % 2)) = 0 ] && [ "${#SERVERS[@]}" = 2 ]; then order=(connectrpc protocall); fi
    for protocol in "${PROTOCOLS[@]}"; do
        for server in "${order[@]}"; do
            [ "$server" = connectrpc ] && [ -n "${EXCLUDED[$protocol]:-}" ] && continue
            raw="$OUT/raw/$server.$protocol.$run.txt"
            load "$server" "$protocol" 1 "$OUT/raw/warm.$server.$protocol.$run.txt" || true
            before=$(cpu "${PID[$server]}")
            load "$server" "$protocol" "$DUR" "$raw" || true
            after=$(cpu "${PID[$server]}")
            rps=$(sed -nE 's/^finished in .*, ([0-9.]+) req\/s.*/\1/p' "$raw")
            if ! calls=$(succeeded "$raw") || [ -z "$rps" ]; then
                if [ "$server" = protocall ]; then
                    echo "protocall: $protocol: failed or non-2xx answers" >&2
                    cat "$raw" >&2
                    exit 1
                fi
                EXCLUDED[$protocol]="run $run: h2load reported failed or non-2xx calls ($raw)"
                echo "connectrpc: $protocol left out: ${EXCLUDED[$protocol]}" >&2
                continue
            fi
            per_call=$(awk -v a="$after" -v b="$before" -v t="$CLK_TCK" -v n="$calls" 'BEGIN { printf "%.2f", (a - b) / t * 1e6 / n }')
            printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$protocol" "$run" "$rps" "$per_call" | tee -a "$OUT/results.tsv"
        done
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
figure() { # server protocol column(4 = req/s, 5 = CPU): the median over the runs
    awk -F'\t' -v s="$1" -v p="$2" -v c="$3" '$1 == s && $2 == p { print $c }' "$OUT/results.tsv" | median
}
measured() { # server protocol: true if it has figures
    [ "$1" = protocall ] || [ -z "${EXCLUDED[$2]:-}" ]
}
{
    echo "| server | protocol | req/s | CPU µs/call | req/s vs gRPC | CPU vs gRPC |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
    for server in "${SERVERS[@]}"; do
        base_rps= base_cpu=
        measured "$server" grpc && { base_rps=$(figure "$server" grpc 4); base_cpu=$(figure "$server" grpc 5); }
        for protocol in "${PROTOCOLS[@]}"; do
            if ! measured "$server" "$protocol"; then
                echo "| $server | $protocol | — | — | — | — |"
                continue
            fi
            awk -v s="$server" -v p="$protocol" -v r="$(figure "$server" "$protocol" 4)" \
                -v c="$(figure "$server" "$protocol" 5)" -v br="$base_rps" -v bc="$base_cpu" \
                'BEGIN { printf "| %s | %s | %.0f | %.2f | ", s, p, r, c
                         if (br == "") print "— | — |"; else printf "%.2f× | %.2f× |\n", r / br, c / bc }'
        done
    done
    if [ "$CONNECTRPC" = 1 ]; then
        echo
        echo "| protocol | protocall req/s | connectrpc req/s | req/s protocall/connectrpc | protocall CPU µs/call | connectrpc CPU µs/call | CPU protocall/connectrpc |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        for protocol in "${PROTOCOLS[@]}"; do
            if ! measured connectrpc "$protocol"; then
                awk -v p="$protocol" -v r="$(figure protocall "$protocol" 4)" -v c="$(figure protocall "$protocol" 5)" \
                    'BEGIN { printf "| %s | %.0f | not measured | — | %.2f | not measured | — |\n", p, r, c }'
                continue
            fi
            awk -v p="$protocol" -v r="$(figure protocall "$protocol" 4)" -v c="$(figure protocall "$protocol" 5)" \
                -v cr="$(figure connectrpc "$protocol" 4)" -v cc="$(figure connectrpc "$protocol" 5)" \
                'BEGIN { printf "| %s | %.0f | %.0f | %.2f× | %.2f | %.2f | %.2f× |\n", p, r, cr, r / cr, c, cc, c / cc }'
        done
        for protocol in "${PROTOCOLS[@]}"; do
            [ -z "${EXCLUDED[$protocol]:-}" ] || echo "connectrpc $protocol not measured: ${EXCLUDED[$protocol]}"
        done
    fi
} | tee "$OUT/summary.md"
