#!/usr/bin/env bash
# Instructions per codec operation, protocall against prost, under callgrind.
#
#   bash scripts/bench-codec.sh                 # all datasets, decode/view_decode/encode/encoded_len
#   OPS="decode encode" DATASETS=m2 bash scripts/bench-codec.sh
#   CALLGRIND_OUT=target/callgrind bash scripts/bench-codec.sh   # keep profiles
#
# Each combination runs `codec_count IMPL OP DATASET N` and again with 2N;
# (count(2N) - count(N)) / N is the cost of one operation with start-up
# (reading the dataset, the one decode before encoding) cancelled out.
# Callgrind counts are deterministic, so one run is enough even on a busy VM.
# The counting is scripts/lib/callgrind.sh, shared with scripts/bench-gate.sh
# (the CI gate on protocall's figures); N_M1 and N_M2 set the iterations.
#
# `view_decode` is protocall's borrowed view (protocall::view), compared with
# prost's owned `decode`: prost has no views. Datasets: m1p2, m1p3, m2
# (protobuf's), logs and media (string- and bytes-heavy payloads built in
# code, benches/proto/payloads.proto).
#
# With CALLGRIND_OUT set, the 2N profile of each run is kept there as
# callgrind.out.IMPL.OP.DATASET, for `callgrind_annotate`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/callgrind.sh

cg_require_valgrind

DATASETS=${DATASETS:-"m1p2 m1p3 m2 logs media"}
OPS=${OPS:-"decode view_decode encode encoded_len"}

cg_build

echo "| dataset | op | protocall instr/op | prost instr/op | protocall/prost |"
echo "| --- | --- | ---: | ---: | ---: |"
for ds in $DATASETS; do
    for op in $OPS; do
        pc=$(cg_per_op protocall "$op" "$ds")
        pb=$(cg_per_op prost "${op#view_}" "$ds")
        ratio=$(awk -v a="$pc" -v b="$pb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        printf '| %s | %s | %d | %d | %s |\n' "$ds" "$op" "$pc" "$pb" "$ratio"
    done
done
