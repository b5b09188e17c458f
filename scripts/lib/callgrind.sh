# Callgrind instruction counts of benches/src/bin/codec_count (and of
# benches/buffa's buffa_count), shared by
# scripts/bench-codec.sh (protocall against prost, and buffa), scripts/bench-json.sh
# (ProtoJSON, against prost + pbjson) and scripts/bench-gate.sh
# (protocall against the record, benches/codec-counts.txt). Sourced from the
# repository root, not run.
#
# cg_per_op IMPL OP DATASET runs `codec_count IMPL OP DATASET N` under
# `valgrind --tool=callgrind` and again with 2N; (count(2N) - count(N)) / N
# is the cost of one operation with start-up (reading the dataset, the one
# decode before encoding) cancelled out. Callgrind counts are deterministic,
# so one run is enough even on a busy VM.
#
# cg_per_op_cmd NAME DATASET CMD... does the same for any counting binary
# that takes the iterations as its last argument (`CMD... N`, `CMD... 2N`):
# cg_per_op is it on codec_count, cg_buffa_per_op on benches/buffa's
# buffa_count (the third contender of scripts/bench-codec.sh, BUFFA=1,
# built by cg_buffa_build).
#
# Environment: N_M1 (GoogleMessage1 iterations, default 2000), N_M2
# (GoogleMessage2 and the logs and media payloads, default 100), CALLGRIND_OUT (a directory: the 2N profile
# of each run is kept there as callgrind.out.IMPL.OP.DATASET, for
# `callgrind_annotate`), CARGO_TARGET_DIR (buffa_count goes to
# target/buffa without it: benches/buffa is a workspace of its own).

CG_BIN="${CARGO_TARGET_DIR:-target}/release/codec_count"
CG_BUFFA_TARGET="${CARGO_TARGET_DIR:-target/buffa}"
CG_BUFFA_BIN="$CG_BUFFA_TARGET/release/buffa_count"

# cg_require_debian COMMAND PACKAGE: COMMAND on PATH, installed from the
# Debian PACKAGE with apt-get under CI=true as root (as
# scripts/setup-peers.sh installs its Debian packages), a clear failure
# otherwise.
cg_require_debian() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null && return 0
    if [[ "${CI:-}" == "true" && "$(id -u)" == 0 ]]; then
        echo "callgrind: apt-get install $pkg" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
        command -v "$cmd" >/dev/null && return 0
        echo "callgrind: apt-get install $pkg did not provide $cmd" >&2
        exit 1
    fi
    echo "$cmd is required (apt-get install $pkg; scripts do it themselves with CI=true as root)" >&2
    exit 1
}

# valgrind on PATH.
cg_require_valgrind() {
    cg_require_debian valgrind valgrind
}

# Builds codec_count in release (cargo's output on stderr).
cg_build() {
    cargo build --release -p protocall-benches --bin codec_count >&2
}

# GoogleMessage1 is 228 bytes, GoogleMessage2 84.6 KB: fewer iterations there.
cg_iterations() {
    case "$1" in
        m2 | logs | media) echo "${N_M2:-100}" ;;
        *) echo "${N_M1:-2000}" ;;
    esac
}

# cg_run OUTFILE CMD... -> total instructions collected running CMD; fails
# (with the end of CMD's own output on stderr) when CMD does, as a failed
# start-up check would otherwise still give a count, of the start-up alone
cg_run() {
    local out=$1 log
    shift
    if ! log=$(valgrind --tool=callgrind --callgrind-out-file="$out" "$@" 2>&1); then
        echo "callgrind: $* failed:" >&2
        grep -v '^==[0-9]*==' <<<"$log" | tail -n 5 >&2
        return 1
    fi
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' <<<"$log"
}

# cg_count IMPL OP DATASET N [OUTFILE] -> total instructions collected
cg_count() {
    cg_run "${5:-/dev/null}" "$CG_BIN" "$1" "$2" "$3" "$4"
}

# cg_per_op_cmd NAME DATASET CMD... -> instructions per operation of
# `CMD... N` (the profile kept as callgrind.out.NAME under CALLGRIND_OUT)
cg_per_op_cmd() {
    local name=$1 ds=$2 n a b out=/dev/null
    shift 2
    n=$(cg_iterations "$ds")
    if [[ -n "${CALLGRIND_OUT:-}" ]]; then
        mkdir -p "$CALLGRIND_OUT"
        out="$CALLGRIND_OUT/callgrind.out.$name"
    fi
    a=$(cg_run /dev/null "$@" "$n") || exit 1
    b=$(cg_run "$out" "$@" $((2 * n))) || exit 1
    if [[ -z "$a" || -z "$b" ]]; then
        echo "callgrind gave no count for $name" >&2
        exit 1
    fi
    echo $(((b - a) / n))
}

# cg_per_op IMPL OP DATASET -> instructions per operation
cg_per_op() {
    cg_per_op_cmd "$1.$2.$3" "$3" "$CG_BIN" "$1" "$2" "$3"
}

# Builds benches/buffa's buffa_count in release (its own workspace and
# Cargo.lock; buffa-build needs protoc, from Debian's protobuf-compiler),
# runs its start-up check on every dataset (buffa_count check), then
# checks that it measures the very bytes codec_count does: every
# dataset's payload, and the payload's re-encoding, as buffa_count dumps
# them against protocall-benches' bench_payloads (the payloads and prost's
# re-encodings). Cargo's output and the payloads' sha256 go to stderr.
cg_buffa_build() {
    cg_require_debian protoc protobuf-compiler
    cargo build --release --manifest-path benches/buffa/Cargo.toml \
        --target-dir "$CG_BUFFA_TARGET" --bin buffa_count >&2
    cargo build --release -p protocall-benches --bin bench_payloads >&2
    local dir f name
    dir=$(mktemp -d)
    "${CARGO_TARGET_DIR:-target}/release/bench_payloads" "$dir/prost"
    # buffa_count's start-up check, on every dataset, where a failure stops
    # the script (inside cg_buffa_per_op it would only stop that figure).
    "$CG_BUFFA_BIN" check >&2
    "$CG_BUFFA_BIN" dump "$dir/buffa"
    for f in "$dir"/prost/*; do
        name=${f##*/}
        if ! cmp -s "$f" "$dir/buffa/$name"; then
            echo "buffa: $name differs from protocall-benches' (prost's) bytes:" >&2
            (cd "$dir" && sha256sum "prost/$name" "buffa/$name") >&2
            rm -rf "$dir"
            exit 1
        fi
    done
    echo "buffa: payloads and re-encodings identical to protocall-benches' (prost's):" >&2
    (cd "$dir/prost" && sha256sum ./*) >&2
    rm -rf "$dir"
}

# cg_buffa_per_op OP DATASET -> instructions per buffa operation
cg_buffa_per_op() {
    cg_per_op_cmd "buffa.$1.$2" "$2" "$CG_BUFFA_BIN" "$1" "$2"
}
