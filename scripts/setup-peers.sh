#!/usr/bin/env bash
# Installs the third-party peers the tests talk to, idempotently:
#  - Debian: grpc-proto (official schemas), protobuf-compiler (protoc),
#    nghttp2-client (h2load) — with apt-get when root;
#  - PyPI: grpcio, grpcio-tools, protobuf…, pyjwt and cryptography (the
#    token tests, tests/tests/interop_auth.rs) into a venv under target/;
#  - npm: @grpc/grpc-js, @grpc/proto-loader (tests/node) into target/node-grpc,
#    @connectrpc/connect-node, protoc-gen-es, buf (tests/connect) into
#    target/node-connect, with Debian's nodejs and npm when node or npm is
#    missing;
#  - Debian chromium and npm connect-web, puppeteer-core… (tests/web) into
#    target/node-web, for the browser test (tests/tests/web_chromium.rs).
# Sourced by scripts/test.sh; exports PROTOCALL_PYTHON.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_apt=()
[ -d /usr/share/grpc-proto/grpc ] || need_apt+=(grpc-proto)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v node >/dev/null && command -v npm >/dev/null || need_apt+=(nodejs npm)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup-peers: apt-get install ${need_apt[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "setup-peers: missing Debian packages (${need_apt[*]}); not root, skipping" >&2
    fi
fi

venv="$root/target/py"
requirements="$root/scripts/requirements.txt"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
    echo "setup-peers: creating Python venv in target/py"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi
export PROTOCALL_PYTHON="$venv/bin/python"

# npm: @grpc/grpc-js and @grpc/proto-loader, pinned in tests/node, into
# target/node-grpc (tests/tests/interop_node.rs does the same when needed).
node_dir="$root/target/node-grpc"
if command -v npm >/dev/null; then
    if ! cmp -s "$root/tests/node/package.json" "$node_dir/package.json" \
        || ! cmp -s "$root/tests/node/package-lock.json" "$node_dir/package-lock.json" \
        || [ ! -f "$node_dir/node_modules/@grpc/grpc-js/package.json" ]; then
        echo "setup-peers: npm ci of tests/node into target/node-grpc"
        mkdir -p "$node_dir"
        cp "$root/tests/node/package.json" "$root/tests/node/package-lock.json" "$node_dir/"
        npm ci --prefix "$node_dir" --no-audit --no-fund --loglevel=error
    fi
else
    echo "setup-peers: npm not found; the grpc-js interop tests will skip (fail in CI)" >&2
fi

# npm: connect-web, protoc-gen-es, buf, esbuild, puppeteer-core…, pinned in
# tests/web, into target/node-web (tests/tests/web_chromium.rs does the same
# when needed).
web_dir="$root/target/node-web"
if command -v npm >/dev/null; then
    if ! cmp -s "$root/tests/web/package.json" "$web_dir/package.json" \
        || ! cmp -s "$root/tests/web/package-lock.json" "$web_dir/package-lock.json" \
        || [ ! -f "$web_dir/node_modules/puppeteer-core/package.json" ]; then
        echo "setup-peers: npm ci of tests/web into target/node-web"
        mkdir -p "$web_dir"
        cp "$root/tests/web/package.json" "$root/tests/web/package-lock.json" "$web_dir/"
        npm ci --prefix "$web_dir" --no-audit --no-fund --loglevel=error
    fi
fi

# npm: @connectrpc/connect-node, protoc-gen-es and buf, pinned in
# tests/connect, into target/node-connect; npm ci's postinstall generates
# the grpc.testing stubs into its gen/ (tests/tests/support/connect_peer.rs
# does the same when needed).
connect_dir="$root/target/node-connect"
if command -v npm >/dev/null; then
    if ! cmp -s "$root/tests/connect/package.json" "$connect_dir/package.json" \
        || ! cmp -s "$root/tests/connect/package-lock.json" "$connect_dir/package-lock.json" \
        || [ ! -f "$connect_dir/node_modules/@connectrpc/connect-node/package.json" ] \
        || [ ! -e "$connect_dir/node_modules/.bin/buf" ] \
        || [ ! -f "$connect_dir/gen/grpc/testing/test_pb.js" ]; then
        echo "setup-peers: npm ci of tests/connect into target/node-connect"
        mkdir -p "$connect_dir"
        cp "$root/tests/connect/package.json" "$root/tests/connect/package-lock.json" "$connect_dir/"
        npm ci --prefix "$connect_dir" --no-audit --no-fund --loglevel=error >/dev/null
    fi
else
    echo "setup-peers: npm not found; the connect-node interop tests will skip (fail in CI)" >&2
fi
