"""Shared by interop_server.py and interop_client.py: the grpc.testing
modules, generated at startup, and detection of compressed messages; and by
auth_client.py and auth_server.py: the `user` modules (load_user).

The modules are generated with grpc_tools.protoc (what
`python -m grpc_tools.protoc -I proto --python_out=D --grpc_python_out=D`
runs) from the repository's proto/grpc/testing into a temporary directory
that is removed at exit. Their package, `grpc.testing`, lies inside grpcio's
own `grpc` package, so the directory is added to `grpc.__path__`.

Compression: grpcio tells an application neither whether a request message
arrived compressed (server) nor whether a response did (client). Both peers
therefore open their server or channel with `grpc.per_message_decompression`
off, so compressed messages reach the deserializer as sent, and decompress
them there. A gzip stream starts with 0x1f 0x8b; a serialized protobuf
message never starts with 0x1f (field 3 with the invalid wire type 7), so
the first two bytes tell the two apart. Only gzip is recognised, which is
what both interop clients send.
"""

import atexit
import gzip
import os
import pathlib
import shutil
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "proto" / "grpc" / "testing"

GZIP_MAGIC = b"\x1f\x8b"

# The channel and server option that leaves compressed messages compressed.
NO_DECOMPRESSION = ("grpc.per_message_decompression", 0)


class Received:
    """A deserialized message and whether it arrived compressed."""

    __slots__ = ("message", "compressed")

    def __init__(self, message, compressed):
        self.message = message
        self.compressed = compressed


def deserializer(message_class):
    """A deserializer returning `Received`, for use with NO_DECOMPRESSION."""

    def parse(data):
        compressed = data[:2] == GZIP_MAGIC
        if compressed:
            data = gzip.decompress(data)
        return Received(message_class.FromString(data), compressed)

    return parse


def _generate(include, protos, out=None):
    """Runs grpc_tools.protoc on `protos` (under `include`) into `out`, or
    into a temporary directory removed at exit, and returns that directory."""
    from grpc_tools import protoc

    if out is None:
        out = tempfile.mkdtemp(prefix="protocall-interop-py-")
        atexit.register(shutil.rmtree, out, True)
    else:
        os.makedirs(out, exist_ok=True)
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{include}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        sys.exit(f"grpc_tools.protoc failed on {', '.join(protos)}")
    return out


def load():
    """Generates and imports the grpc.testing modules: (empty_pb2, messages_pb2)."""
    import grpc

    protos = sorted(str(p) for p in SCHEMAS.glob("*.proto"))
    out = _generate(REPO / "proto", protos)
    grpc.__path__.append(os.path.join(out, "grpc"))
    from grpc.testing import empty_pb2, messages_pb2

    return empty_pb2, messages_pb2


def load_user(out=None):
    """Generates and imports the `user` package of examples/proto/user.proto
    (user.UserService): (user_pb2, user_pb2_grpc). Into `out` when given —
    a directory its caller removes, for a process that is killed rather
    than left to exit (no atexit handler runs then)."""
    include = REPO / "examples" / "proto"
    out = _generate(include, [str(include / "user.proto")], out)
    sys.path.insert(0, out)
    import user_pb2
    import user_pb2_grpc

    return user_pb2, user_pb2_grpc


def parse_bool(flag, value):
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise SystemExit(f"--{flag}: expected true or false, got {value!r}")
