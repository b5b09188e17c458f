#!/usr/bin/env bash
# Instructions per codec operation, protocall against prost, under callgrind.
#
#   bash scripts/bench-codec.sh                 # all datasets, decode/encode/encoded_len
#   OPS="decode encode" DATASETS=m2 bash scripts/bench-codec.sh
#   CALLGRIND_OUT=target/callgrind bash scripts/bench-codec.sh   # keep profiles
#
# Each combination runs `codec_count IMPL OP DATASET N` and again with 2N;
# (count(2N) - count(N)) / N is the cost of one operation with start-up
# (reading the dataset, the one decode before encoding) cancelled out.
# Callgrind counts are deterministic, so one run is enough even on a busy VM.
#
# With CALLGRIND_OUT set, the 2N profile of each run is kept there as
# callgrind.out.IMPL.OP.DATASET, for `callgrind_annotate`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

DATASETS=${DATASETS:-"m1p2 m1p3 m2"}
OPS=${OPS:-"decode encode encoded_len"}
IMPLS="protocall prost"

# GoogleMessage1 is 228 bytes, GoogleMessage2 84.6 KB: fewer iterations there.
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

echo "| dataset | op | protocall instr/op | prost instr/op | protocall/prost |"
echo "| --- | --- | ---: | ---: | ---: |"
for ds in $DATASETS; do
    for op in $OPS; do
        pc=$(per_op protocall "$op" "$ds")
        pb=$(per_op prost "$op" "$ds")
        ratio=$(awk -v a="$pc" -v b="$pb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        printf '| %s | %s | %d | %d | %s |\n' "$ds" "$op" "$pc" "$pb" "$ratio"
    done
done
