#!/usr/bin/env bash
# Instructions per ProtoJSON operation, protocall against prost + pbjson,
# under callgrind (the JSON counterpart of scripts/bench-codec.sh).
#
#   bash scripts/bench-json.sh                  # all datasets, json_encode/json_decode/json_to_vec
#   OPS=json_decode DATASETS=m2 bash scripts/bench-json.sh
#   CALLGRIND_OUT=target/callgrind bash scripts/bench-json.sh     # keep profiles
#
# Each combination runs `codec_count IMPL OP DATASET N` and again with 2N;
# (count(2N) - count(N)) / N is the cost of one operation with start-up
# (reading the dataset, the binary decode of the message to print, the
# JSON cross-check codec_count makes before a json_* op) cancelled out.
# Callgrind counts are deterministic, so one run is enough even on a busy VM.
#
# json_encode: message -> JSON into a reused Vec (serde_json::to_writer);
# json_to_vec: the same into a new Vec (protocall::json::to_vec, serde_json::to_vec);
# json_decode: protocall's JSON text -> a new message (protocall::json::from_slice,
# serde_json::from_slice). The prost side uses pbjson's serde impls.
#
# With CALLGRIND_OUT set, the 2N profile of each run is kept there as
# callgrind.out.IMPL.OP.DATASET, for `callgrind_annotate`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

DATASETS=${DATASETS:-"m1p2 m1p3 m2"}
OPS=${OPS:-"json_encode json_decode json_to_vec"}

# GoogleMessage1 is 228 bytes (about 430 of JSON), GoogleMessage2 84.6 KB
# (175 KB of JSON): fewer iterations there.
iterations() {
    case "$1" in
        m2) echo "${N_M2:-100}" ;;
        *) echo "${N_M1:-2000}" ;;
    esac
}

cargo build --release -p protocall-benches --bin codec_count >&2
BIN=target/release/codec_count

if [[ -n "${CALLGRIND_OUT:-}" ]]; then
    mkdir -p "$CALLGRIND_OUT"
fi

# count IMPL OP DATASET N [OUTFILE] -> total instructions collected
count() {
    local out=${5:-/dev/null}
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" "$1" "$2" "$3" "$4" 2>&1 \
        | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

per_op() {
    local imp=$1 op=$2 ds=$3 n a b out=/dev/null
    n=$(iterations "$ds")
    if [[ -n "${CALLGRIND_OUT:-}" ]]; then
        out="$CALLGRIND_OUT/callgrind.out.$imp.$op.$ds"
    fi
    a=$(count "$imp" "$op" "$ds" "$n")
    b=$(count "$imp" "$op" "$ds" $((2 * n)) "$out")
    if [[ -z "$a" || -z "$b" ]]; then
        echo "callgrind gave no count for $imp $op $ds" >&2
        exit 1
    fi
    echo $(((b - a) / n))
}

echo "| dataset | op | protocall instr/op | prost+pbjson instr/op | protocall/pbjson |"
echo "| --- | --- | ---: | ---: | ---: |"
for ds in $DATASETS; do
    for op in $OPS; do
        pc=$(per_op protocall "$op" "$ds")
        pb=$(per_op pbjson "$op" "$ds")
        ratio=$(awk -v a="$pc" -v b="$pb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        printf '| %s | %s | %d | %d | %s |\n' "$ds" "$op" "$pc" "$pb" "$ratio"
    done
done
