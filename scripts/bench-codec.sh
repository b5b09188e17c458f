#!/usr/bin/env bash
# Instructions per codec operation, protocall against prost, under callgrind.
#
#   bash scripts/bench-codec.sh                 # all datasets, decode/view_decode/encode/encoded_len
#   OPS="decode encode" DATASETS=m2 bash scripts/bench-codec.sh
#   CALLGRIND_OUT=target/callgrind bash scripts/bench-codec.sh   # keep profiles
#   BUFFA=1 bash scripts/bench-codec.sh         # and buffa, a third contender
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
# With BUFFA=1, buffa (the published crate, benches/buffa: a workspace of
# its own, built into target/buffa or CARGO_TARGET_DIR; buffa-build needs
# protoc) is measured in the same run by `buffa_count OP DATASET N`, which
# does for each op what codec_count does; `view_decode` is buffa's own view,
# compared with prost's owned decode as protocall's is. Two more columns:
# `buffa instr/op` and `buffa/prost`. Before measuring, the build checks that
# buffa_count's payloads and its re-encodings of them are byte for byte
# those of protocall-benches (prost's); see cg_buffa_build. Without BUFFA the
# output is protocall and prost alone.
#
# With CALLGRIND_OUT set, the 2N profile of each run is kept there as
# callgrind.out.IMPL.OP.DATASET, for `callgrind_annotate`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/callgrind.sh

cg_require_valgrind

DATASETS=${DATASETS:-"m1p2 m1p3 m2 logs media"}
OPS=${OPS:-"decode view_decode encode encoded_len"}

# BUFFA=1 adds buffa; unset or 0, the table is protocall and prost alone.
BUFFA=${BUFFA:-0}
if [[ "$BUFFA" != 0 && "$BUFFA" != 1 ]]; then
    echo "bench-codec: BUFFA must be 0 or 1, not '$BUFFA'" >&2
    exit 2
fi

cg_build
if [[ "$BUFFA" == 1 ]]; then
    cg_buffa_build
fi

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

if [[ "$BUFFA" == 1 ]]; then
    echo "| dataset | op | protocall instr/op | prost instr/op | protocall/prost | buffa instr/op | buffa/prost |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
else
    echo "| dataset | op | protocall instr/op | prost instr/op | protocall/prost |"
    echo "| --- | --- | ---: | ---: | ---: |"
fi
for ds in $DATASETS; do
    for op in $OPS; do
        pc=$(cg_per_op protocall "$op" "$ds")
        pb=$(cg_per_op prost "${op#view_}" "$ds")
        if [[ "$BUFFA" == 1 ]]; then
            bf=$(cg_buffa_per_op "$op" "$ds")
            printf '| %s | %s | %d | %d | %s | %d | %s |\n' "$ds" "$op" "$pc" "$pb" "$(ratio "$pc" "$pb")" "$bf" "$(ratio "$bf" "$pb")"
        else
            printf '| %s | %s | %d | %d | %s |\n' "$ds" "$op" "$pc" "$pb" "$(ratio "$pc" "$pb")"
        fi
    done
done
