#!/usr/bin/env bash
# The codec regression gate (a step of scripts/test.sh): protocall's callgrind
# instructions per codec operation against the record, benches/codec-counts.txt.
#
#   bash scripts/bench-gate.sh                  # measure, compare, fail on a rise
#   UPDATE=1 bash scripts/bench-gate.sh         # measure and rewrite the record
#   GATE_TOLERANCE=1 bash scripts/bench-gate.sh # tighter than the default 3%
#
# Every `DATASET OP COUNT` line of the record is measured as scripts/bench-codec.sh
# measures it (scripts/lib/callgrind.sh: (count(2N) - count(N)) / N of
# `codec_count protocall OP DATASET N`, with the record's N) and the gate fails
# when a figure is more than GATE_TOLERANCE percent above its record. A fall
# passes, with a note to record it. UPDATE=1 keeps the record's comment header
# and rewrites its `measured:` line (commit, rustc, valgrind, glibc) and its
# figures; N_M1/N_M2 given with UPDATE=1 become the record's iterations.
#
# Counts repeat exactly for one binary run the same way, so one run decides
# (another checkout path or environment size moves m2 decode by a few
# instructions in 1.5 M, far inside the tolerance). They are absolute,
# though: another rustc, glibc or dependency version moves them, and then
# UPDATE=1 (after checking the rise is not the code's) is the answer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/callgrind.sh

RECORD=${GATE_RECORD:-benches/codec-counts.txt}
TOLERANCE=${GATE_TOLERANCE:-3}
UPDATE=${UPDATE:-}
start=$SECONDS

if ! [[ "$TOLERANCE" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "codec gate: GATE_TOLERANCE must be a percentage (a number), not '$TOLERANCE'" >&2
    exit 2
fi

# What to measure, and with which iterations: the record's lines and its
# `# iterations:` line; without a record (UPDATE=1 only), every dataset and op.
entries=()
if [[ -f "$RECORD" ]]; then
    while read -r ds op count; do
        if ! [[ "$ds" =~ ^(m1p2|m1p3|m2)$ && "$op" =~ ^[a-z_]+$ && "$count" =~ ^[0-9]+$ ]]; then
            echo "codec gate: $RECORD: malformed line '$ds $op $count' (want DATASET OP COUNT)" >&2
            exit 2
        fi
        entries+=("$ds $op $count")
    done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$RECORD")
    iters=$(sed -n 's/^# iterations: *//p' "$RECORD")
    rec_m1=$(sed -n 's/.*N_M1=\([0-9]*\).*/\1/p' <<<"$iters")
    rec_m2=$(sed -n 's/.*N_M2=\([0-9]*\).*/\1/p' <<<"$iters")
    if [[ -z "$UPDATE" ]]; then
        # The record's figures hold for its iterations only.
        [[ -n "$rec_m1" ]] && N_M1=$rec_m1
        [[ -n "$rec_m2" ]] && N_M2=$rec_m2
    else
        N_M1=${N_M1:-${rec_m1:-2000}}
        N_M2=${N_M2:-${rec_m2:-100}}
    fi
elif [[ -n "$UPDATE" ]]; then
    for ds in m1p2 m1p3 m2; do
        for op in decode encode encoded_len; do
            entries+=("$ds $op -")
        done
    done
else
    echo "codec gate: no record at $RECORD (create it with UPDATE=1 bash scripts/bench-gate.sh)" >&2
    exit 2
fi
if [[ ${#entries[@]} -eq 0 ]]; then
    echo "codec gate: $RECORD lists no figures" >&2
    exit 2
fi
export N_M1=${N_M1:-2000} N_M2=${N_M2:-100}

cg_require_valgrind
cg_build

measured=()
rises=()
falls=()
echo "| dataset | op | recorded | measured | change |"
echo "| --- | --- | ---: | ---: | ---: |"
for entry in "${entries[@]}"; do
    read -r ds op rec <<<"$entry"
    got=$(cg_per_op protocall "$op" "$ds")
    measured+=("$ds $op $got")
    if [[ "$rec" == "-" ]]; then
        printf '| %s | %s | - | %d | new |\n' "$ds" "$op" "$got"
        continue
    fi
    change=$(awk -v r="$rec" -v m="$got" 'BEGIN {
        if (m == r) print "0"; else if (r > 0) printf "%+.3f%%", (m - r) * 100 / r; else print "n/a" }')
    printf '| %s | %s | %d | %d | %s |\n' "$ds" "$op" "$rec" "$got" "$change"
    # A rise above the tolerance (an instruction more than rec * (1 + t/100)).
    if awk -v r="$rec" -v m="$got" -v t="$TOLERANCE" 'BEGIN { exit !(m > r * (1 + t / 100)) }'; then
        rises+=("$ds $op: $rec -> $got ($change)")
    elif ((got < rec)); then
        falls+=("$ds $op: $rec -> $got ($change)")
    fi
done

if [[ -n "$UPDATE" ]]; then
    commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    # Tracked changes that can move the counts (not docs, scripts or the record).
    if ! git diff --quiet HEAD -- . ':(exclude)*.md' ':(exclude)scripts' ":(exclude)$RECORD" 2>/dev/null; then
        commit="$commit + uncommitted changes"
    fi
    glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || echo "glibc unknown")
    tmp=$(mktemp)
    {
        if [[ -f "$RECORD" ]]; then
            grep '^#' "$RECORD" | grep -v -e '^# measured:' -e '^# iterations:'
        else
            cat <<'HEADER'
# protocall's callgrind instructions per codec operation: the record that
# scripts/bench-gate.sh (the "codec gate" step of scripts/test.sh, so CI)
# measures against. The gate fails when a figure rises more than
# GATE_TOLERANCE percent (default 3) above its line here; a fall passes.
# A figure is (count(2N) - count(N)) / N of `codec_count protocall OP DATASET N`
# under valgrind --tool=callgrind (scripts/lib/callgrind.sh); N_M1 is N for
# m1p2 and m1p3, N_M2 for m2. Counts repeat exactly for one build run the
# same way (another checkout path or environment moves m2 decode by a few
# instructions in 1.5 M), but another rustc, glibc or dependency version
# can move them by more: then UPDATE=1, once the rise is known not to be
# the code's.
#
# To update (a rise that is intended, a fall, a new toolchain):
#   UPDATE=1 bash scripts/bench-gate.sh
# rewrites the figures and the `measured:` line below; commit this file
# with the change that moved them, saying why in the commit message.
#
# Lines: DATASET OP INSTRUCTIONS_PER_OP
HEADER
        fi
        echo "# measured: commit $commit, $(rustc --version), $(valgrind --version), $glibc"
        echo "# iterations: N_M1=$N_M1 N_M2=$N_M2"
        printf '%s\n' "${measured[@]}"
    } >"$tmp"
    mv "$tmp" "$RECORD"
    echo "codec gate: wrote ${#measured[@]} figures to $RECORD ($((SECONDS - start)) s)"
    exit 0
fi

for f in ${falls[@]+"${falls[@]}"}; do
    echo "codec gate: fell: $f"
done
if [[ ${#falls[@]} -gt 0 ]]; then
    echo "codec gate: figures fell; record them with UPDATE=1 bash scripts/bench-gate.sh (and commit $RECORD)"
fi
if [[ ${#rises[@]} -gt 0 ]]; then
    for r in "${rises[@]}"; do
        echo "codec gate: FAIL: rose more than ${TOLERANCE}%: $r" >&2
    done
    echo "codec gate: if the rise is intended (or the toolchain changed), UPDATE=1 bash scripts/bench-gate.sh and commit $RECORD with the reason" >&2
    exit 1
fi
echo "codec gate: ${#measured[@]} figures within ${TOLERANCE}% of $RECORD ($((SECONDS - start)) s)"
