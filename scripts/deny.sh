#!/usr/bin/env bash
# cargo-deny over the whole workspace (policy in deny.toml): licenses, bans
# (wildcard versions) and sources (crates.io only); and
# security advisories against the RustSec database.
#   bash scripts/deny.sh                        # licenses, bans, sources
#   ADVISORY_DB=~/advisory-db bash scripts/deny.sh   # and advisories, from a
#                                               # checkout of rustsec/advisory-db
#   FETCH=1 bash scripts/deny.sh                # and advisories, fetched
# cargo-deny is built once from crates.io and kept outside the clone, in
# ${XDG_CACHE_HOME:-~/.cache}/protocall/cargo-deny/<version>.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
root="${XDG_CACHE_HOME:-$HOME/.cache}/protocall/cargo-deny/$version"
deny="$root/bin/cargo-deny"
if [[ ! -x "$deny" ]]; then
    echo "== building cargo-deny $version into $root"
    cargo install -q cargo-deny --locked --version "$version" --root "$root"
fi

echo "== cargo deny check licenses bans sources"
"$deny" check licenses bans sources

if [[ -n "${ADVISORY_DB:-}" ]]; then
    # cargo-deny keeps each database in db-path under a name derived from
    # its URL; give it the checkout under that name, and do not fetch.
    db_path=$(mktemp -d)
    trap 'rm -rf "$db_path"' EXIT
    ln -s "$(cd "$ADVISORY_DB" && pwd)" "$db_path/advisory-db-3157b0e258782691"
    echo "== cargo deny check advisories (database at $ADVISORY_DB, $(git -C "$ADVISORY_DB" log -1 --format=%cs 2>/dev/null || echo 'date unknown'))"
    sed "s|^\[advisories\]|[advisories]\ndb-path = \"$db_path\"|" deny.toml >"$db_path/deny.toml"
    "$deny" --offline --config "$db_path/deny.toml" check advisories
elif [[ -n "${FETCH:-}" ]]; then
    echo "== cargo deny check advisories (fetching the RustSec database)"
    "$deny" check advisories
else
    echo "(advisories not checked: set ADVISORY_DB to a checkout of rustsec/advisory-db, or FETCH=1)"
fi
