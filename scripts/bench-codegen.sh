#!/usr/bin/env bash
# Generated code, protocall against tonic-build + prost-build: how many lines
# each generator writes for the same schemas, and how long rustc takes to
# build them.
#
#   bash scripts/bench-codegen.sh                    # 3 runs, debug and release
#   RUNS=5 PROFILES=release bash scripts/bench-codegen.sh
#   PROTO_ROOT=/usr/share/grpc-proto bash scripts/bench-codegen.sh   # Debian's copies
#   EXPANDED=1 bash scripts/bench-codegen.sh         # and lines after macro expansion
#   nice -n 19 bash scripts/bench-codegen.sh         # on a shared machine
#
# The corpus is the grpc-proto schemas: the interop test services
# grpc/testing/test.proto with its imports messages.proto and empty.proto,
# grpc/health/v1/health.proto and grpc/reflection/v1/reflection.proto, from
# PROTO_ROOT (the folder holding grpc/; default the vendored proto/, see
# proto/grpc/README.md). Their services, RPCs, messages and enums are
# counted from the protox descriptors and printed.
#
# PROTO_ROOT is relative to the repo root. benches/codegen is a workspace
# of its own (excluded from the main one), built into
# target/bench-codegen/target; its Cargo.lock began as a copy of the main
# one, so both sides build against the versions the workspace uses:
#   1. bench-codegen-gen (benches/codegen/gen) generates the corpus with
#      everything on, messages, servers and clients, both ways:
#      protocall_codegen::configure() with build_server(true) and
#      build_client(true) (and its defaults: descriptors, reflection, JSON),
#      and tonic_prost_build::configure() with build_server(true),
#      build_client(true), build_transport(false), fed the protox
#      FileDescriptorSet through compile_fds (no protoc), as
#      benches/build.rs does. Both write one file per package plus an
#      include file mod.rs, into target/bench-codegen/generated/{protocall,tonic}.
#   2. Lines: per generated file, total lines, and code lines (not blank,
#      not a // or /* */ comment, doc comments included, nor a
#      #[doc = "..."] line), and bytes. prost's messages are
#      #[derive(::prost::Message)] and tonic's servers #[async_trait]: their
#      code is written by proc macros at build time and is not in these
#      counts. EXPANDED=1 also counts the code rustc builds, each crate
#      printed after macro expansion (-Zunpretty=expanded, on the same stable
#      rustc through RUSTC_BOOTSTRAP=1, in target/bench-codegen/expand so
#      the timed target dir keeps its fingerprints; the first run builds the
#      dependencies there too).
#   3. Build time of the generated code alone: bench-codegen-protocall
#      (protocall, path dependency on runtime/, default features) and
#      bench-codegen-tonic (tonic 0.14.5 with server, router, codegen and
#      channel, prost 0.14, tonic-prost 0.14) only include! the generated
#      files and have no build.rs. For each profile of PROFILES (debug,
#      release; the main workspace's profile settings, copied into
#      benches/codegen/Cargo.toml), the dependencies are built first (warm,
#      each crate on its own, as it is timed); then RUNS times, the two sides
#      taking turns (the order swapping from run to run): `cargo clean -p
#      CRATE` and a timed `cargo build -p CRATE`, CARGO_INCREMENTAL=0. The
#      build log must show that crate alone compiled; when a dependency was
#      rebuilt too (runtime/ edited meanwhile), that build is void and is
#      taken again, up to 3 times. Wall time and CPU time (user + sys of
#      cargo and its rustc) are taken; the summary holds the median over
#      runs, and protocall/tonic ratios. A library build compiles (and in
#      release optimizes) the generated code's non-generic functions only;
#      generic ones (prost's encode and merge over any Buf, tonic's servers
#      over any T) are compiled where a binary instantiates them, which is
#      not timed here.
#
# Every cargo command is bounded by BUILD_TIMEOUT seconds (default 1800).
# Build noise goes to stderr; results.tsv (one line per timed build), the
# build logs (logs/), generated/ with generated/corpus.tsv, and summary.md
# go to target/bench-codegen. The
# summary, printed at the end, names the commit measured (with -dirty when
# runtime/, codegen/ or benches/codegen have uncommitted changes) and the
# command. Build times are only as steady as the machine: on a busy one,
# take more RUNS and read the CPU times.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
PROFILES=${PROFILES:-"debug release"}
PROTO_ROOT=${PROTO_ROOT:-proto}
EXPANDED=${EXPANDED:-0}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-1800}

# Fixed: the generated crates include! from target/bench-codegen/generated.
OUT=target/bench-codegen
GEN=$OUT/generated
TARGET=$PWD/$OUT/target
MANIFEST=benches/codegen/Cargo.toml
SIDES=(protocall tonic)
export CARGO_INCREMENTAL=0
# `time`: wall, user and sys seconds (cargo and the rustc it waits for).
TIMEFORMAT='%R %U %S'

for tool in awk sort timeout git; do
    command -v "$tool" >/dev/null || { echo "bench-codegen: $tool is required" >&2; exit 1; }
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-codegen: RUNS must be a positive integer, not '$RUNS'" >&2; exit 2; }
for profile in $PROFILES; do
    [[ "$profile" == debug || "$profile" == release ]] \
        || { echo "bench-codegen: PROFILES holds debug and/or release, not '$profile'" >&2; exit 2; }
done
if [[ "$EXPANDED" != 0 && "$EXPANDED" != 1 ]]; then
    echo "bench-codegen: EXPANDED must be 0 or 1, not '$EXPANDED'" >&2
    exit 2
fi

crate_of() { echo "bench-codegen-$1"; }
cargo_profile() { [[ "$1" == debug ]] && echo dev || echo release; }

bounded_cargo() {
    timeout --kill-after=10 "$BUILD_TIMEOUT" cargo "$@"
}

mkdir -p "$OUT/logs"
rm -f "$OUT"/logs/*.log

# 1. Generate both trees.
bounded_cargo build --manifest-path "$MANIFEST" --target-dir "$TARGET" -p bench-codegen-gen >&2
"$TARGET/debug/bench-codegen-gen" "$PROTO_ROOT" "$GEN" >&2

corpus=$(awk -F'\t' 'NR > 1 {
        files++; pkg[$2] = 1; s += $3; r += $4; m += $5; e += $6
    } END {
        for (p in pkg) n++
        printf "%d files, %d packages: %d services, %d RPCs, %d messages, %d enums", files, n, s, r, m, e
    }' "$GEN/corpus.tsv")
echo "corpus ($PROTO_ROOT): $corpus" >&2

# 2. Lines. count FILE -> "total code comment blank bytes".
count() {
    local bytes
    bytes=$(wc -c <"$1")
    awk -v bytes="$bytes" '
        {
            total++
            t = $0
            sub(/^[ \t]+/, "", t)
            sub(/[ \t\r]+$/, "", t)
            if (block) { comment++; if (index(t, "*/")) block = 0; next }
            if (t == "") { blank++; next }
            if (t ~ /^\/\//) { comment++; next }
            if (t ~ /^\/\*/) { comment++; if (!index(t, "*/")) block = 1; next }
            if (t ~ /^#!?\[doc *= *".*"\]$/) { comment++; next }
            code++
        }
        END { printf "%d %d %d %d %d\n", total, code, comment, blank, bytes }' "$1"
}

declare -A LINES=() CODE=() BYTES=() EXP_CODE=()
file_rows=
for side in "${SIDES[@]}"; do
    read -r t c cm b by <<<"0 0 0 0 0"
    for path in "$GEN/$side"/*.rs; do
        file=${path##*/}
        read -r ft fc fcm fb fby <<<"$(count "$path")"
        file_rows+="| $side | $file | $ft | $fc | $fcm | $fb | $fby |"$'\n'
        t=$((t + ft)); c=$((c + fc)); cm=$((cm + fcm)); b=$((b + fb)); by=$((by + fby))
    done
    file_rows+="| $side | **all** | $t | $c | $cm | $b | $by |"$'\n'
    LINES[$side]=$t CODE[$side]=$c BYTES[$side]=$by
done

if [[ "$EXPANDED" == 1 ]]; then
    for side in "${SIDES[@]}"; do
        RUSTC_BOOTSTRAP=1 bounded_cargo rustc --manifest-path "$MANIFEST" \
            --target-dir "$PWD/$OUT/expand" -p "$(crate_of "$side")" --profile check \
            -- -Zunpretty=expanded >"$OUT/expanded.$side.rs"
        read -r _ c _ <<<"$(count "$OUT/expanded.$side.rs")"
        EXP_CODE[$side]=$c
    done
fi

# 3. Build times.
printf 'profile\tside\trun\twall_s\tcpu_s\n' >"$OUT/results.tsv"
for profile in $PROFILES; do
    cp=$(cargo_profile "$profile")
    # Warm: the dependencies (and the crates once) in this profile, each
    # crate on its own as it is timed (built together, their dependencies'
    # features would be unified, and be other artifacts).
    for side in "${SIDES[@]}"; do
        bounded_cargo build --manifest-path "$MANIFEST" --target-dir "$TARGET" --profile "$cp" \
            -p "$(crate_of "$side")" >&2
    done
    for run in $(seq "$RUNS"); do
        order=("${SIDES[@]}")
        (( run % 2 == 0 )) && order=("${SIDES[1]}" "${SIDES[0]}")
        for side in "${order[@]}"; do
            crate=$(crate_of "$side")
            log="$OUT/logs/$profile.$side.$run.log"
            # A dependency rebuilt too (runtime/ edited meanwhile): the
            # figure is void; the dependencies are warm again, measure again.
            for attempt in 1 2 3; do
                bounded_cargo clean --manifest-path "$MANIFEST" --target-dir "$TARGET" --profile "$cp" -p "$crate" >&2
                times=$( { time bounded_cargo build --manifest-path "$MANIFEST" --target-dir "$TARGET" \
                    --profile "$cp" -p "$crate" >"$log" 2>&1; } 2>&1 ) \
                    || { echo "bench-codegen: building $crate ($profile) failed, see $log" >&2; cat "$log" >&2; exit 1; }
                compiled=$(grep -c '^ *Compiling ' "$log" || true)
                if [[ "$compiled" == 1 ]] && grep -q "Compiling $crate " "$log"; then
                    break
                fi
                echo "bench-codegen: the timed build of $crate ($profile) compiled $compiled crates, not $crate alone (attempt $attempt, $log)" >&2
                if [[ "$attempt" == 3 ]]; then exit 1; fi
            done
            read -r wall user sys <<<"$times"
            cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
            printf '%s\t%s\t%s\t%s\t%s\n' "$profile" "$side" "$run" "$wall" "$cpu" >>"$OUT/results.tsv"
            echo "$profile $side run $run: ${wall} s wall, ${cpu} s CPU" >&2
        done
    done
done

# Median of column $3 (4 wall, 5 cpu) for profile $1, side $2.
median() {
    awk -F'\t' -v p="$1" -v s="$2" -v col="$3" '$1 == p && $2 == s { print $col }' "$OUT/results.tsv" \
        | sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) print "n/a"
            else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]
            else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a != "n/a" && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

commit=$(git rev-parse --short HEAD)
if [[ -n "$(git status --porcelain -- runtime codegen benches/codegen)" ]]; then
    commit+="-dirty"
fi
command="RUNS=$RUNS PROFILES=\"$PROFILES\" PROTO_ROOT=$PROTO_ROOT EXPANDED=$EXPANDED bash scripts/bench-codegen.sh"

{
    echo "# Generated code: protocall vs tonic-build + prost-build"
    echo
    echo "commit $commit, $(rustc --version), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "\`$command\`"
    echo
    echo "Corpus: $corpus (grpc/testing/{test,messages,empty}.proto, grpc/health/v1/health.proto, grpc/reflection/v1/reflection.proto)."
    echo
    echo "| measure | protocall | tonic | protocall/tonic |"
    echo "| --- | ---: | ---: | ---: |"
    for row in total code; do
        if [[ "$row" == total ]]; then p=${LINES[protocall]} t=${LINES[tonic]}; else p=${CODE[protocall]} t=${CODE[tonic]}; fi
        echo "| lines, $row | $p | $t | $(ratio "$p" "$t") |"
    done
    echo "| bytes | ${BYTES[protocall]} | ${BYTES[tonic]} | $(ratio "${BYTES[protocall]}" "${BYTES[tonic]}") |"
    if [[ "$EXPANDED" == 1 ]]; then
        echo "| lines after macro expansion, code | ${EXP_CODE[protocall]} | ${EXP_CODE[tonic]} | $(ratio "${EXP_CODE[protocall]}" "${EXP_CODE[tonic]}") |"
    fi
    for profile in $PROFILES; do
        for col in 4 5; do
            [[ "$col" == 4 ]] && what="wall s" || what="CPU s"
            p=$(median "$profile" protocall "$col")
            t=$(median "$profile" tonic "$col")
            echo "| $profile build, $what (median of $RUNS) | $p | $t | $(ratio "$p" "$t") |"
        done
    done
    echo
    echo "Lines per file (code: not blank, not a comment; comment includes doc comments):"
    echo
    echo "| side | file | total | code | comment | blank | bytes |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    printf '%s' "$file_rows"
    echo
    echo "Build: the generated crate alone (cargo clean -p, then cargo build -p), dependencies warm, CARGO_INCREMENTAL=0; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} >"$OUT/summary.md"
cat "$OUT/summary.md"
