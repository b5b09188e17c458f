#!/usr/bin/env bash
# The whole test suite: what CI runs and what a contributor runs.
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup-peers.sh

# A CI build is built once: incremental caches would only take disk (several
# GB over the workspace's test binaries), which CI machines have little of.
if [[ "${CI:-}" == "true" ]]; then
    export CARGO_INCREMENTAL=0
    # Property tests draw the same cases on every CI run, so a gate's verdict
    # is the commit's; a contributor's run (no CI) draws new ones each time
    # and keeps exploring.
    export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261203}"
fi

echo "== fmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== features"
bash scripts/check-features.sh
echo "== rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== tests"
cargo test --workspace
echo "== codec gate"
# protocall's callgrind instructions per codec op against the record in
# benches/codec-counts.txt: fails on a rise of more than 3% (BENCHMARKS.md,
# "Regression gate"; UPDATE=1 bash scripts/bench-gate.sh re-records).
bash scripts/bench-gate.sh
echo "== conformance"
# protobuf's conformance suite (runners 3.21.12 and 27.2, built once and
# cached outside the clone; README, "Conformance").
bash scripts/conformance.sh
# scripts/soak.sh is not run here: two of the three causes of the
# intermittent UNAVAILABLE it found are fixed, the third is in h2 and out of
# protocall's reach through hyper (RELIABILITY.md, "Soak").
echo "== demos"
cargo run -q -p protocall-examples --bin user
cargo run -q -p protocall-examples --bin streaming
cargo run -q -p protocall-examples --bin inline
cargo run -q -p protocall-examples --bin axum
cargo run -q -p protocall-examples --bin formats
cargo run -q -p protocall-examples --bin web
echo "== disk"
# What the run left on disk (CI machines have little; see Cargo.toml's
# profile.dev).
du -sh target "${XDG_CACHE_HOME:-$HOME/.cache}/protocall" 2>/dev/null || true
