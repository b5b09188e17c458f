# Callgrind instruction counts of benches/src/bin/codec_count, shared by
# scripts/bench-codec.sh (protocall against prost), scripts/bench-json.sh
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
# Environment: N_M1 (GoogleMessage1 iterations, default 2000), N_M2
# (GoogleMessage2 and the logs and media payloads, default 100), CALLGRIND_OUT (a directory: the 2N profile
# of each run is kept there as callgrind.out.IMPL.OP.DATASET, for
# `callgrind_annotate`), CARGO_TARGET_DIR.

CG_BIN="${CARGO_TARGET_DIR:-target}/release/codec_count"

# valgrind on PATH: installed with apt-get under CI=true as root (as
# scripts/setup-peers.sh installs its Debian packages), a clear failure
# otherwise.
cg_require_valgrind() {
    command -v valgrind >/dev/null && return 0
    if [[ "${CI:-}" == "true" && "$(id -u)" == 0 ]]; then
        echo "callgrind: apt-get install valgrind" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
        command -v valgrind >/dev/null && return 0
        echo "callgrind: apt-get install valgrind did not provide valgrind" >&2
        exit 1
    fi
    echo "valgrind is required (apt-get install valgrind; scripts do it themselves with CI=true as root)" >&2
    exit 1
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

# cg_count IMPL OP DATASET N [OUTFILE] -> total instructions collected
cg_count() {
    local out=${5:-/dev/null}
    valgrind --tool=callgrind --callgrind-out-file="$out" "$CG_BIN" "$1" "$2" "$3" "$4" 2>&1 \
        | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

# cg_per_op IMPL OP DATASET -> instructions per operation
cg_per_op() {
    local imp=$1 op=$2 ds=$3 n a b out=/dev/null
    n=$(cg_iterations "$ds")
    if [[ -n "${CALLGRIND_OUT:-}" ]]; then
        mkdir -p "$CALLGRIND_OUT"
        out="$CALLGRIND_OUT/callgrind.out.$imp.$op.$ds"
    fi
    a=$(cg_count "$imp" "$op" "$ds" "$n")
    b=$(cg_count "$imp" "$op" "$ds" $((2 * n)) "$out")
    if [[ -z "$a" || -z "$b" ]]; then
        echo "callgrind gave no count for $imp $op $ds" >&2
        exit 1
    fi
    echo $(((b - a) / n))
}
