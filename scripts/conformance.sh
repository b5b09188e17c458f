#!/usr/bin/env bash
# Protobuf's official conformance suite against protocall's testee
# (the workspace crate conformance/, binary `protocall-conformance`).
#   bash scripts/conformance.sh [VERSION...]      (default: 3.21.12 27.2)
#
# Builds protobuf's conformance_test_runner for each version once and caches
# it outside the clone, in ${XDG_CACHE_HOME:-$HOME/.cache}/protocall/conformance/<version>/
# (rebuilt only when missing, when its recipe changed, or when it no longer
# loads):
#  - 3.21.12: from Debian's `protobuf` source package (the version of the
#    installed libprotobuf-dev), only the runner's own sources plus the .pb.cc
#    of its schemas (system protoc), against the system libprotobuf;
#  - 27.2: from the protobuf sources the `protobuf-src` crate vendors
#    (fetched with cargo), with cmake, abseil from the same tree and jsoncpp
#    from Debian's libjsoncpp-dev.
# Then runs the testee under each runner with --enforce_recommended (27.2:
# also --maximum_edition 2023), with the failure lists conformance/failing_tests_<v>.txt
# and conformance/text_format_failing_tests_<v>.txt, which must stay empty:
# every test passes. Each suite runs three times: with the generated types,
# with dynamic messages (PROTOCALL_CONFORMANCE_MODE=dynamic), and with binary
# requests decoded through the generated types' borrowed views
# (PROTOCALL_CONFORMANCE_MODE=views). It fails on
# any failure or unexpected success the runner reports, and on any test the
# testee skipped. Logs (--verbose) go to target/conformance/<v>-<mode>.log.
#
# Missing Debian packages are installed with apt-get when root; otherwise a
# version is skipped, except with CI=true, where that fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.21.12 27.2)
for version in "${versions[@]}"; do
    case "$version" in
    3.21.12 | 27.2) ;;
    *)
        echo "conformance: unknown version $version (known: 3.21.12 27.2)" >&2
        exit 2
        ;;
    esac
done

cache_root="${XDG_CACHE_HOME:-${HOME:?neither XDG_CACHE_HOME nor HOME is set}/.cache}/protocall/conformance"
log_dir="$root/target/conformance"
mkdir -p "$log_dir"

in_ci() {
    case "${CI:-}" in "" | false | 0) return 1 ;; *) return 0 ;; esac
}

say() { echo "conformance: $*"; }

# A version cannot be run here: fails under CI, else skips it.
unavailable() {
    if in_ci; then
        echo "conformance: CI=true and $1" >&2
        exit 1
    fi
    echo "conformance: skipping $version: $1" >&2
    return 1
}

apt_updated=
# Installs the Debian packages in "$@" that are not installed yet.
need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ "$(id -u)" != 0 ]; then
        unavailable "missing Debian packages (${missing[*]}), and not root to install them"
        return 1
    fi
    say "apt-get install ${missing[*]}"
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Makes sure apt has a deb-src entry (for `apt-get source`), adding one for
# this Debian release when root.
need_deb_src() {
    if grep -rqsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
        /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        unavailable "apt has no deb-src entry, and not root to add one"
        return 1
    fi
    local codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:?}")"
    say "adding deb-src entries for $codename (/etc/apt/sources.list.d/protocall-deb-src.sources)"
    cat >/etc/apt/sources.list.d/protocall-deb-src.sources <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update -qq >/dev/null
    apt_updated=1
}

# The cached runner is usable: present, built by the same recipe, loads.
cached() {
    local dir="$1" recipe="$2"
    [ -x "$dir/conformance_test_runner" ] \
        && [ "$(cat "$dir/recipe" 2>/dev/null)" = "$recipe" ] \
        && ! ldd "$dir/conformance_test_runner" 2>/dev/null | grep -q "not found"
}

# ------------------------------------------------------------------ 3.21.12

# Only the runner's sources (conformance_test*.cc, the two suites, the
# jsoncpp amalgamation it bundles) and the .pb.cc of conformance.proto and
# test_messages_proto{2,3}.proto from the system protoc, against the system
# libprotobuf (pkg-config protobuf).
build_3_21_12() {
    local dir="$1" recipe="$2" deb_version="$3"
    local work="$dir/build.tmp"
    rm -rf "$work"
    mkdir -p "$work/gen" "$work/obj"
    say "3.21.12: apt-get source protobuf=$deb_version"
    if ! (cd "$work" && apt-get source -qq "protobuf=$deb_version" >"$work/apt-source.log" 2>&1); then
        # The source lists may be older than the deb-src entry: update once.
        if [ -n "$apt_updated" ] || [ "$(id -u)" != 0 ]; then
            cat "$work/apt-source.log" >&2
            return 1
        fi
        apt-get update -qq >/dev/null
        apt_updated=1
        (cd "$work" && apt-get source -qq "protobuf=$deb_version" >"$work/apt-source.log" 2>&1) \
            || { cat "$work/apt-source.log" >&2; return 1; }
    fi
    local src
    src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'protobuf-*' | head -n1)"
    [ -f "$src/conformance/conformance_test_runner.cc" ] || {
        echo "conformance: no conformance/ in $src" >&2
        return 1
    }
    protoc --cpp_out="$work/gen" -I"$src/conformance" "$src/conformance/conformance.proto"
    protoc --cpp_out="$work/gen" -I"$src/src" \
        "$src/src/google/protobuf/test_messages_proto2.proto" \
        "$src/src/google/protobuf/test_messages_proto3.proto"
    local sources=(
        "$src/conformance/conformance_test.cc"
        "$src/conformance/conformance_test_runner.cc"
        "$src/conformance/conformance_test_main.cc"
        "$src/conformance/binary_json_conformance_suite.cc"
        "$src/conformance/text_format_conformance_suite.cc"
        "$src/conformance/third_party/jsoncpp/jsoncpp.cpp"
        "$work/gen/conformance.pb.cc"
        "$work/gen/google/protobuf/test_messages_proto2.pb.cc"
        "$work/gen/google/protobuf/test_messages_proto3.pb.cc"
    )
    local cflags
    cflags="$(pkg-config --cflags protobuf)"
    say "3.21.12: compiling ${#sources[@]} files"
    # Two at a time (CI has 2 cores), each to obj/<n>.o. The installed
    # headers come first; -idirafter lends the source tree's only for the
    # internal ones libprotobuf-dev leaves out (stubs/stringprintf.h, whose
    # functions the library does export).
    local i=0 f
    for f in "${sources[@]}"; do
        echo "$i $f"
        i=$((i + 1))
    done | xargs -P 2 -L 1 sh -c 'exec nice -n 10 g++ -std=c++17 -O2 '"$cflags"' \
        -I"$0/gen" -I"$1/conformance" -idirafter "$1/src" -c "$3" -o "$0/obj/$2.o"' "$work" "$src"
    # (xargs appends "<n> <file>": $2 and $3 of the inline script.)
    [ "$(find "$work/obj" -name '*.o' | wc -l)" -eq ${#sources[@]} ] || {
        echo "conformance: 3.21.12: not every file compiled" >&2
        return 1
    }
    # shellcheck disable=SC2046
    g++ -o "$work/conformance_test_runner" "$work"/obj/*.o $(pkg-config --libs protobuf) -lpthread
    mv "$work/conformance_test_runner" "$dir/conformance_test_runner"
    echo "$recipe" >"$dir/recipe"
    rm -rf "$work"
}

# -------------------------------------------------------------------- 27.2

# The protobuf tree protobuf-src vendors, through cargo: a throwaway
# project depending on it, and cargo metadata for where cargo unpacked it.
protobuf_src_crate=2.1.1+27.1   # vendors protobuf 27.2 (its version.json)

build_27_2() {
    local dir="$1" recipe="$2"
    local work="$dir/build.tmp"
    rm -rf "$work"
    mkdir -p "$work/fetch/src"
    : >"$work/fetch/src/lib.rs"
    cat >"$work/fetch/Cargo.toml" <<EOF
[package]
name = "fetch-protobuf-src"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
protobuf-src = "=$protobuf_src_crate"

[workspace]
EOF
    say "27.2: fetching protobuf-src $protobuf_src_crate with cargo"
    local manifest
    manifest="$(cargo metadata --quiet --format-version 1 --manifest-path "$work/fetch/Cargo.toml" \
        | grep -o '"manifest_path":"[^"]*/protobuf-src-[^"/]*/Cargo.toml"' | head -n1 \
        | sed 's/^"manifest_path":"//; s/"$//')"
    local src
    src="$(dirname "$manifest")/protobuf"
    grep -q '"protoc_version": "27.2"' "$src/version.json" || {
        echo "conformance: $src is not protobuf 27.2" >&2
        return 1
    }
    say "27.2: cmake (Release, conformance_test_runner only, -j2)"
    cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
        -Dprotobuf_BUILD_CONFORMANCE=ON -Dprotobuf_BUILD_TESTS=OFF -DCMAKE_CXX_STANDARD=17 \
        -Dprotobuf_ABSL_PROVIDER=module -Dprotobuf_JSONCPP_PROVIDER=package \
        -DCMAKE_CXX_FLAGS=-I/usr/include/jsoncpp >"$work/cmake.log" 2>&1 \
        || { tail -n 40 "$work/cmake.log" >&2; return 1; }
    nice -n 10 cmake --build "$work/build" --target conformance_test_runner -j2 \
        >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; return 1; }
    mv "$work/build/conformance_test_runner" "$dir/conformance_test_runner"
    echo "$recipe" >"$dir/recipe"
    rm -rf "$work"
}

# ----------------------------------------------------------------- running

# Lines of a failure list that name a test (no comments, no blanks).
listed() { sed 's/#.*//; s/[[:space:]]//g' "$1" | grep -v '^$' || true; }

# A binary test: protobuf input, and protobuf output (or none: the
# invalid-input tests end at the test's name).
is_binary() { grep '\.ProtobufInput\.' | grep -Ev '\.(JsonOutput|TextFormatOutput)$' || true; }

run_version() {
    local version="$1" mode="$2" runner="$3"
    shift 3
    local failure_list="conformance/failing_tests_$version.txt"
    local text_failure_list="conformance/text_format_failing_tests_$version.txt"
    local f
    for f in "$failure_list" "$text_failure_list"; do
        [ -f "$f" ] || { echo "conformance: $f is missing" >&2; return 1; }
        if [ -n "$(listed "$f")" ]; then
            echo "conformance: $f lists tests; every test must pass:" >&2
            listed "$f" >&2
            return 1
        fi
    done
    local out="$log_dir/$version-$mode" log="$log_dir/$version-$mode.log"
    rm -rf "$out"
    mkdir -p "$out"
    local start=$SECONDS status=0
    PROTOCALL_CONFORMANCE_MODE="$mode" "$runner" --verbose --enforce_recommended "$@" \
        --failure_list "$failure_list" --text_format_failure_list "$text_failure_list" \
        --output_dir "$out" "$testee" >"$log" 2>&1 || status=$?
    local took=$((SECONDS - start))

    version="$version ($mode)"
    say "$version: ran in ${took}s, log in ${log#"$root/"}"
    grep '^CONFORMANCE SUITE' "$log" | sed "s/^/  $version: /" || true
    # Per suite (the binary+JSON one, then the text format one): tests by
    # format, from the names the runner gives each request.
    awk -v v="$version" '
        /^CONFORMANCE TEST BEGIN/ { suite++ }
        /^conformance test: name=/ {
            name = $0; sub(/^conformance test: name=/, "", name); sub(/, request=.*/, "", name)
            if (name == "FindFailures") next
            total[suite]++
            if (name ~ /JsonInput|JsonOutput$/) json[suite]++
            else if (name ~ /TextFormatInput|TextFormatOutput$/) text[suite]++
            else if (name ~ /\.ProtobufInput\./) binary[suite]++
            else other[suite]++
        }
        END {
            for (s = 1; s <= suite; s++)
                printf "  %s: suite %d: %d tests: %d binary, %d JSON, %d text format, %d other\n",
                    v, s, total[s], binary[s], json[s], text[s], other[s]
        }' "$log"

    local problems=()
    [ "$status" -eq 0 ] || problems+=("the runner exited with status $status")
    [ "$(grep -c '^CONFORMANCE SUITE PASSED' "$log")" -eq 2 ] \
        || problems+=("not both suites ran and passed")
    local skipped
    skipped="$(grep '^SKIPPED, test=' "$log" | sed 's/^SKIPPED, test=//; s/ request=.*//' || true)"
    if [ -n "$skipped" ]; then
        problems+=("the testee skipped $(echo "$skipped" | wc -l) tests")
        echo "$skipped" | head -n 20 | sed "s/^/conformance: $version: skipped: /" >&2
    fi
    local binary_run
    binary_run="$(grep '^conformance test: name=' "$log" | sed 's/^conformance test: name=//; s/, request=.*//' | is_binary | wc -l)"
    [ "$binary_run" -gt 0 ] || problems+=("no binary test ran")
    if [ ${#problems[@]} -gt 0 ]; then
        grep -E '^(ERROR|WARNING), test=' "$log" | cut -c1-400 | head -n 40 >&2 || true
        for f in "$out"/*.txt; do
            [ -f "$f" ] && { echo "conformance: $version: ${f#"$root/"}:" >&2; head -n 40 "$f" >&2; }
        done
        local IFS=';'
        echo "conformance: $version FAILED: ${problems[*]}" >&2
        return 1
    fi
    say "$version: passed ($binary_run binary tests; none skipped, none failing)"
}

# ------------------------------------------------------------------- main

say "building the testee"
cargo build -q -p protocall-conformance --bin protocall-conformance
testee="${CARGO_TARGET_DIR:-$root/target}/debug/protocall-conformance"
case "$testee" in /*) ;; *) testee="$root/$testee" ;; esac
[ -x "$testee" ] || { echo "conformance: $testee was not built" >&2; exit 1; }

failed=()
for version in "${versions[@]}"; do
    dir="$cache_root/$version"
    mkdir -p "$dir"
    # One build per version at a time (several clones share the cache).
    exec 9>"$dir/.lock"
    flock 9
    case "$version" in
    3.21.12)
        need_packages g++ pkg-config libprotobuf-dev protobuf-compiler dpkg-dev || continue
        deb_version="$(dpkg-query -W -f='${Version}' libprotobuf-dev)"
        case "$deb_version" in
            3.21.12-*) ;;
            *) unavailable "libprotobuf-dev is $deb_version, not 3.21.12" || continue ;;
        esac
        recipe="3.21.12 from Debian protobuf $deb_version; runner sources + jsoncpp amalgamation, g++ -std=c++17 -O2, system libprotobuf"
        if ! cached "$dir" "$recipe"; then
            need_deb_src || continue
            start=$SECONDS
            build_3_21_12 "$dir" "$recipe" "$deb_version"
            say "3.21.12: runner built in $((SECONDS - start))s"
        fi
        for mode in generated dynamic views; do
            run_version 3.21.12 "$mode" "$dir/conformance_test_runner" || failed+=("3.21.12 $mode")
        done
        ;;
    27.2)
        need_packages g++ make cmake libjsoncpp-dev || continue
        recipe="27.2 from crate protobuf-src $protobuf_src_crate; cmake Release conformance_test_runner, absl module, jsoncpp package"
        if ! cached "$dir" "$recipe"; then
            start=$SECONDS
            build_27_2 "$dir" "$recipe"
            say "27.2: runner built in $((SECONDS - start))s"
        fi
        for mode in generated dynamic views; do
            run_version 27.2 "$mode" "$dir/conformance_test_runner" --maximum_edition 2023 \
                || failed+=("27.2 $mode")
        done
        ;;
    esac
    exec 9>&-
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "conformance: FAILED: ${failed[*]}" >&2
    exit 1
fi
