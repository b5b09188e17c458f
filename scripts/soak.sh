#!/usr/bin/env bash
# Soak: one protocall server, CALLS mixed RPCs (all four kinds, 64 at a time,
# random gzip, ~10% deadlines that expire, ~5% client cancels), then a check
# that the server's RSS, open file descriptors and live tokio tasks come back
# to their baseline (taken after a warm-up run).
#
#   bash scripts/soak.sh                    # 1,000,000 calls
#   CALLS=50000 bash scripts/soak.sh        # what CI runs
#
# The server samples itself every second into $OUT/samples.tsv
# (seconds, rss_kib, fds, tasks); loopback only; every process started here
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

CALLS=${CALLS:-1000000}
WARMUP=${WARMUP:-5000}
CONCURRENCY=${CONCURRENCY:-64}
SEED=${SEED:-1}
OUT=${OUT:-target/soak}
# RSS may stay above the baseline by the allocator's retained pages: this much.
RSS_SLACK_KIB=${RSS_SLACK_KIB:-16384}
mkdir -p "$OUT"

cargo build -q --release -p protocall-examples --bin soak
bin=target/release/soak

"$bin" server --port=0 --samples="$OUT/samples.tsv" >"$OUT/server.out" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q "listening on" "$OUT/server.out" 2>/dev/null && break
    sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$OUT/server.out")
[ -n "$addr" ] || { echo "soak: the server did not start" >&2; exit 1; }

sample() { tail -n 1 "$OUT/samples.tsv"; }
settle() { sleep 3; }

timeout 600 "$bin" client --target="http://$addr" --calls="$WARMUP" --concurrency="$CONCURRENCY" --seed="$SEED" >"$OUT/warmup.json"
settle
read -r _ base_rss base_fds base_tasks <<<"$(sample)"
start=$(date +%s)
timeout 3600 "$bin" client --target="http://$addr" --calls="$CALLS" --concurrency="$CONCURRENCY" --seed="$((SEED + 1))" | tee "$OUT/run.json"
elapsed=$(( $(date +%s) - start ))
settle
read -r _ rss fds tasks <<<"$(sample)"
peak_rss=$(awk 'NR > 1 && $2 > m { m = $2 } END { print m }' "$OUT/samples.tsv")

printf '| | RSS KiB | fds | tokio tasks |\n| --- | ---: | ---: | ---: |\n' | tee "$OUT/summary.md"
printf '| baseline (after %s warm-up calls) | %s | %s | %s |\n' "$WARMUP" "$base_rss" "$base_fds" "$base_tasks" | tee -a "$OUT/summary.md"
printf '| peak during %s calls (%s s) | %s | | |\n' "$CALLS" "$elapsed" "$peak_rss" | tee -a "$OUT/summary.md"
printf '| 3 s after the run | %s | %s | %s |\n' "$rss" "$fds" "$tasks" | tee -a "$OUT/summary.md"

fail=0
[ "$fds" -le "$base_fds" ] || { echo "soak: open fds grew: $base_fds -> $fds" >&2; fail=1; }
[ "$tasks" -le "$base_tasks" ] || { echo "soak: live tasks grew: $base_tasks -> $tasks" >&2; fail=1; }
[ "$rss" -le $((base_rss + RSS_SLACK_KIB)) ] || { echo "soak: RSS did not come back: $base_rss -> $rss KiB" >&2; fail=1; }
[ "$fail" = 0 ] && echo "soak: ok"
exit "$fail"
