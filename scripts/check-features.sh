#!/usr/bin/env bash
# Feature hygiene of the runtime crate `protocall`:
#  - it builds with no default features, with each feature alone, and with
#    the defaults, so `cfg(not(feature = …))` code is compiled at least once;
#  - the default build contains no C code (no `*-sys` crate, no ring or
#    aws-lc among its normal dependencies);
#  - the declared MSRV (`rust-version` in Cargo.toml) holds.
#   bash scripts/check-features.sh
set -euo pipefail
cd "$(dirname "$0")/.."

features=(transport gzip zstd tls macros auth dns opentelemetry)
echo "== protocall --no-default-features"
cargo check -q -p protocall --no-default-features
for feature in "${features[@]}"; do
    echo "== protocall --no-default-features --features $feature"
    cargo check -q -p protocall --no-default-features --features "$feature"
done
echo "== protocall (defaults)"
cargo check -q -p protocall

echo "== no C code in the default build"
tree=$(cargo tree -q -p protocall -e normal --prefix none | awk '{print $1}' | sort -u)
c_crates=$(grep -E -- '-sys$|^ring$|^aws-lc' <<<"$tree" || true)
if [[ -n "$c_crates" ]]; then
    echo "the default build of protocall pulls in C code:" >&2
    echo "$c_crates" >&2
    exit 1
fi
echo "$(wc -l <<<"$tree") crates, none with C code"
# The check must be able to fail: with zstd on, zstd-sys is there.
if ! cargo tree -q -p protocall -e normal --prefix none --features zstd | grep -q '^zstd-sys '; then
    echo "the C-code check cannot see zstd-sys with --features zstd: it is broken" >&2
    exit 1
fi

msrv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
echo "== MSRV $msrv"
if rustup toolchain list 2>/dev/null | grep -q "^$msrv"; then
    cargo "+$msrv" check -q -p protocall --all-features
else
    # No $msrv toolchain on this machine (and none can be downloaded here):
    # clippy's incompatible_msrv lint checks every std API used against the
    # declared rust-version instead; edition 2024 itself needs 1.85.
    echo "no $msrv toolchain installed: checking std API use against rust-version with clippy"
    cargo clippy -q -p protocall --all-features -- -D clippy::incompatible_msrv
fi
echo "features: ok"
