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
# The counting is scripts/lib/callgrind.sh, shared with scripts/bench-codec.sh.
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

source scripts/lib/callgrind.sh

cg_require_valgrind

DATASETS=${DATASETS:-"m1p2 m1p3 m2"}
OPS=${OPS:-"json_encode json_decode json_to_vec"}

# GoogleMessage1 is 228 bytes (about 430 of JSON), GoogleMessage2 84.6 KB
# (175 KB of JSON): N_M1 (default 2000) and N_M2 (default 100) iterations,
# scripts/lib/callgrind.sh.
cg_build

echo "| dataset | op | protocall instr/op | prost+pbjson instr/op | protocall/pbjson |"
echo "| --- | --- | ---: | ---: | ---: |"
for ds in $DATASETS; do
    for op in $OPS; do
        pc=$(cg_per_op protocall "$op" "$ds")
        pb=$(cg_per_op pbjson "$op" "$ds")
        ratio=$(awk -v a="$pc" -v b="$pb" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        printf '| %s | %s | %d | %d | %s |\n' "$ds" "$op" "$pc" "$pb" "$ratio"
    done
done
