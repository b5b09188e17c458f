#!/usr/bin/env bash
# Runs one cargo-fuzz target for a while, in one process, then prints what it did.
#   bash scripts/fuzz.sh TARGET SECONDS
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# The fuzzer grows fuzz/corpus/TARGET in place (new inputs are not checked in
# unless someone means to: `git status fuzz/corpus`); a crash lands in
# fuzz/artifacts/TARGET/ — minimise it with `cargo +nightly fuzz tmin` and
# keep it in fuzz/regressions/TARGET/, which tests/tests/fuzz_corpus.rs
# replays on stable.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

target=${1:?usage: fuzz.sh TARGET SECONDS}
seconds=${2:?usage: fuzz.sh TARGET SECONDS}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# A scratch copy of the checked-in seeds, so a run does not litter the tree.
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "$log"' EXIT
cp -r "corpus/$target/." "$work/"
cp -r "regressions/$target/." "$work/" 2>/dev/null || true
rm -f "$work/.gitkeep"

status=0
# -close_fd_mask=1: the code under test may print to stdout; libFuzzer
# reports on stderr. One process, in-process (no -jobs, whose worker writes
# fuzz-0.log in fuzz/): two runs of different targets can go side by side.
cargo +nightly fuzz run -O "$target" "$work" -- \
    -max_total_time="$seconds" -close_fd_mask=1 \
    -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 2>&1 | tee "$log" || status=$?

echo "== $target: last status line"
grep -aE '^#[0-9]+' "$log" | tail -1 || true
echo "== $target: executions"
grep -aE '^stat::' "$log" || true
echo "== $target: corpus now $(ls "$work" | wc -l) files, $(du -sh "$work" | cut -f1)"
exit "$status"
