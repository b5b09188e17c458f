#!/usr/bin/env bash
# The runtime's codec tests under Miri (undefined behaviour, out-of-bounds
# access, use after free, leaks) — in our code and in what the codec calls
# in `bytes`, `simdutf8`, `itoa`, `serde_json` and the standard library.
#   bash scripts/miri.sh            # the codec modules (a few minutes)
#   bash scripts/miri.sh json::     # any other filter of the lib's tests
# Needs nightly with the miri and rust-src components
# (`rustup component add --toolchain nightly miri rust-src`).
#
# Only the protocol-free part of the runtime runs: without the `transport`
# feature there is no tokio, hyper or rustls, whose sockets and timers Miri
# cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "Miri is not installed: rustup component add --toolchain nightly miri rust-src" >&2
    exit 1
fi
filters=("$@")
if [[ ${#filters[@]} -eq 0 ]]; then
    # the binary codec, the unknown-field store, the well-known types, and
    # JSON and text format on top of them, borrowed views (ViewOf's unsafe)
    filters=(codec:: decoder:: wire:: unknown:: message:: extension:: types:: json:: text:: view::)
fi
cargo +nightly miri setup
# Strict provenance also rejects integer-to-pointer casts. Isolation is off
# because proptest reads the working directory (for its regression files);
# its cases are cut to 16 per property (Miri runs ~100x slower).
MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance -Zmiri-disable-isolation}" \
PROPTEST_CASES="${PROPTEST_CASES:-16}" \
    cargo +nightly miri test -p protocall --lib --no-default-features --features json -- "${filters[@]}"
