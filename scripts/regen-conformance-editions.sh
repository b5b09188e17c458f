#!/usr/bin/env bash
# Rebuilds proto/conformance/editions.binpb: the descriptor set (imports
# included) of the three edition 2023 conformance schemas, which protox
# cannot parse. conformance/build.rs generates their Rust code from it.
#   bash scripts/regen-conformance-editions.sh [OUT]   (default: the checked-in file)
# protoc is the one of PyPI grpcio-tools (pinned in scripts/requirements.txt),
# run by $PROTOCALL_PYTHON, else the venv target/py, else the venv that
# scripts/setup-peers.sh creates. Imports resolve to proto/google/protobuf/.
# conformance/tests/editions_binpb.rs checks the checked-in file is current.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/proto/conformance/editions.binpb}"
case "$out" in
    /*) ;;
    *) out="$PWD/$out" ;;
esac

python="${PROTOCALL_PYTHON:-}"
if [ -z "$python" ] && [ -x "$root/target/py/bin/python" ]; then
    python="$root/target/py/bin/python"
fi
if [ -z "$python" ]; then
    # In a subshell: setup-peers.sh sets -euo pipefail and exports.
    python="$(source "$root/scripts/setup-peers.sh" >&2 && echo "$PROTOCALL_PYTHON")"
fi

cd "$root/proto"
"$python" -m grpc_tools.protoc -I. --include_imports --descriptor_set_out="$out" \
    conformance/test_messages_edition2023.proto \
    conformance/test_messages_proto2_editions.proto \
    conformance/test_messages_proto3_editions.proto
echo "wrote $out"
