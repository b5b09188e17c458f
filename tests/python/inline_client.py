"""grpcio client for the inline (`#[protocall::service]`) KitchenSink service.

    python inline_client.py GEN_DIR HOST:PORT

GEN_DIR holds the modules `grpc_tools.protoc --python_out --grpc_python_out`
generated from the `.proto` source the Rust service exports. The script calls
every method (unary, server streaming, client streaming, bidi) and prints
every message it receives, field by field, in a fixed format that
`tests/tests/inline_service.rs` compares line by line; the requests it sends
are twins of the Rust test's values, which the Rust side checks on arrival.
It exits non-zero when a call fails or a check of its own fails.
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402
from google.protobuf.descriptor import FieldDescriptor as FD  # noqa: E402
from google.protobuf.unknown_fields import UnknownFieldSet  # noqa: E402

from protocall.test import inline_pb2 as pb  # noqa: E402
from protocall.test import inline_pb2_grpc as pb_grpc  # noqa: E402

TIMEOUT = 10  # seconds, per call

WIRE_TYPES = {0: "varint", 1: "fixed64", 2: "bytes", 3: "group", 5: "fixed32"}

# ------------------------------------------------------------------ printing

_synthetic = {}


def synthetic_oneofs(descriptor):
    """Names of the oneofs protoc made for proto3 `optional` fields."""
    if descriptor.full_name not in _synthetic:
        proto = descriptor_pb2.DescriptorProto()
        descriptor.CopyToProto(proto)
        _synthetic[descriptor.full_name] = {
            proto.oneof_decl[f.oneof_index].name
            for f in proto.field
            if f.proto3_optional
        }
    return _synthetic[descriptor.full_name]


def value(field, v):
    if field.type == FD.TYPE_STRING:
        return json.dumps(v, ensure_ascii=False)
    if field.type == FD.TYPE_BYTES:
        return "0x" + v.hex()
    if field.type == FD.TYPE_BOOL:
        return "true" if v else "false"
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return repr(v)
    if field.type == FD.TYPE_ENUM:
        known = field.enum_type.values_by_number.get(v)
        return known.name if known else f"{v}(unknown)"
    if field.type == FD.TYPE_MESSAGE:
        return "{" + ", ".join(render(v)) + "}"
    return str(v)


def unknown(message):
    out = []
    for f in UnknownFieldSet(message):
        data = "0x" + f.data.hex() if isinstance(f.data, bytes) else f.data
        out.append(f"{f.field_number} {WIRE_TYPES[f.wire_type]} {data}")
    return out


def render(message):
    """`name: value` for every field that is set, in schema order, like
    text format: an implicit (proto3) field at its default, an empty list or
    map, and an absent field with presence print nothing, while a present
    field prints even at its default (`o_int32: 0`). A oneof prints as
    `name: member = value`; unknown fields come last."""
    d = message.DESCRIPTOR
    synthetic = synthetic_oneofs(d)
    lines, done = [], set()
    for field in d.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.name not in synthetic:
            if oneof.name in done:
                continue
            done.add(oneof.name)
            which = message.WhichOneof(oneof.name)
            if which is not None:
                member = d.fields_by_name[which]
                lines.append(
                    f"{oneof.name}: {which} = {value(member, getattr(message, which))}"
                )
            continue
        v = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if len(v) == 0:
                continue
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            items = ", ".join(
                f"{value(key_field, k)}: {value(value_field, v[k])}" for k in sorted(v)
            )
            lines.append(f"{field.name}: {{{items}}}")
        elif field.is_repeated:
            if len(v) == 0:
                continue
            lines.append(f"{field.name}: [{', '.join(value(field, x) for x in v)}]")
        elif field.has_presence:
            if message.HasField(field.name):
                lines.append(f"{field.name}: {value(field, v)}")
        elif v != field.default_value:
            lines.append(f"{field.name}: {value(field, v)}")
    extra = unknown(message)
    if extra:
        lines.append(f"unknown: [{', '.join(extra)}]")
    return lines


def show(title, message):
    print(f"== {title}")
    for line in render(message):
        print(line)


def check(condition, what):
    if not condition:
        raise SystemExit(f"check failed: {what}")


# --------------------------------------------------------------- the values
# Twins of full(), open() and the other samples in inline_service.rs.


def full():
    m = pb.Everything(
        v_int32=-7,
        v_int64=-8_000_000_000,
        v_uint32=4_000_000_000,
        v_uint64=18_000_000_000_000_000_000,
        v_float=1.5,
        v_double=-0.25,
        v_bool=True,
        v_string="héllo ✓",
        v_bytes=bytes([0, 1, 0xFE, 0xFF]),
        v_shared=b"shared",
        v_sint32=-5,
        v_sint64=-6_000_000_000,
        v_fixed32=3_000_000_000,
        v_fixed64=9_000_000_000_000_000_000,
        v_sfixed32=-100,
        v_sfixed64=-200,
        color=pb.COLOR_INFRARED,
        o_int32=0,
        o_string="",
        o_bool=False,
        o_sint64=-1,
        o_bytes=b"",
        o_color=pb.COLOR_UNSPECIFIED,
        leaf=pb.Leaf(name="only", weight=-3),
        node=pb.Node(depth=1, label="a", next=pb.Node(depth=0, label="b")),
        r_int32=[1, -2, 300],
        r_sint64=[-1, 0, 1, -(2**63)],
        r_fixed32=[0, 2**32 - 1],
        r_double=[0.5, -1e300],
        r_bool=[True, False, True],
        r_color=[pb.COLOR_RED, pb.ULTRA_VIOLET, pb.COLOR_INFRARED],
        r_string=["x", "", "z"],
        r_bytes=[b"\x01", b""],
        r_leaf=[pb.Leaf(name="l1", weight=1), pb.Leaf(name="l2", weight=-2)],
        m_string_int32={"a": 1, "b": -2},
        m_int64_string={-1: "minus", 2**63 - 1: "max"},
        m_sint32_color={-3: pb.COLOR_GREEN, 4: pb.ULTRA_VIOLET},
        m_bool_bytes={True: b"\xaa", False: b""},
        number=-42,
        label="titled",
    )
    m.m_uint32_leaf[7].CopyFrom(pb.Leaf(name="seven", weight=-7))
    return m


def open_values():
    m = pb.Everything(
        color=77,
        o_color=-9,
        r_color=[pb.COLOR_GREEN, 99],
        m_sint32_color={0: 1000},
    )
    m.tree.CopyFrom(pb.Node(depth=5, label="t"))
    return m


def key(number, wire_type):
    return varint(number << 3 | wire_type)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# Fields 999 (varint 12345), 1000 (bytes "kept") and 1001 (fixed32 7): none
# is declared by Everything.
EXTRA = (
    key(999, 0)
    + varint(12345)
    + key(1000, 2)
    + varint(4)
    + b"kept"
    + key(1001, 5)
    + (7).to_bytes(4, "little")
)


def with_unknown(message_type, message):
    return message_type.FromString(message.SerializeToString() + EXTRA)


# ------------------------------------------------------------------ the calls


def main():
    with grpc.insecure_channel(sys.argv[2]) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        stub = pb_grpc.KitchenSinkStub(channel)

        # Unary.
        sent = full()
        reply = stub.Echo(sent, timeout=TIMEOUT)
        check(reply == sent, "Echo(full) answers what was sent")
        show("echo full", reply)
        show("echo empty", stub.Echo(pb.Everything(), timeout=TIMEOUT))
        show("echo open", stub.Echo(open_values(), timeout=TIMEOUT))
        sent = with_unknown(pb.Everything, pb.Everything(v_int32=1))
        check(len(unknown(sent)) == 3, "Python keeps the unknown fields it parsed")
        reply = stub.Echo(sent, timeout=TIMEOUT)
        check(reply.SerializeToString() == sent.SerializeToString(),
              "Echo keeps unknown fields byte for byte")
        show("echo unknown", reply)

        # Server streaming.
        for i, message in enumerate(stub.Scan(pb.Query(limit=100), timeout=TIMEOUT)):
            show(f"scan {i}", message)

        # Client streaming.
        leaves = [
            pb.Leaf(name="a", weight=-1),
            pb.Leaf(name="b", weight=5),
            pb.Leaf(name="a", weight=-10),
        ]
        show("collect", stub.Collect(iter(leaves), timeout=TIMEOUT))
        show("collect nothing", stub.Collect(iter([]), timeout=TIMEOUT))

        # Bidirectional streaming; the last node carries unknown fields,
        # which Node (no `_unknown_fields`) drops.
        nodes = [
            pb.Node(depth=0, label="x"),
            pb.Node(depth=3, label="y", next=pb.Node(depth=2, label="z")),
            with_unknown(pb.Node, pb.Node(depth=9, label="u")),
        ]
        for i, message in enumerate(stub.Chain(iter(nodes), timeout=TIMEOUT)):
            show(f"chain {i}", message)
    print("== done")


if __name__ == "__main__":
    main()
