#!/usr/bin/env bash
# Installs the third-party peers the tests talk to, idempotently:
#  - Debian: grpc-proto (official schemas), protobuf-compiler (protoc),
#    nghttp2-client (h2load) — with apt-get when root;
#  - PyPI: grpcio, grpcio-tools, protobuf… into a venv under target/.
# Sourced by scripts/test.sh; exports PROTOCALL_PYTHON.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_apt=()
[ -d /usr/share/grpc-proto/grpc ] || need_apt+=(grpc-proto)
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
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
