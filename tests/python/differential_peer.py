#!/usr/bin/env python3
"""Python `protobuf` (upb) side of protocall's differential fuzz test.

Driven by tests/tests/python_differential.rs. Usage:

    differential_peer.py GEN_DIR generate SEED COUNT OUT
        Builds COUNT random protocall.test.Everything (proto3) and COUNT
        random protocall.test2.Legacy (proto2) messages from SEED and writes
        their serializations to OUT as one batch.

    differential_peer.py GEN_DIR check VALID RUST_VALID INPUTS RUST_INPUTS REPORT
        VALID is the batch `generate` wrote, RUST_VALID what Rust re-encoded
        from it (same order): each Rust encoding must parse to the original
        (`==` unless it holds a NaN, and the same deterministic
        serialization), and without maps must be byte for byte Python's
        deterministic serialization. INPUTS are arbitrary inputs (mutated
        encodings) and RUST_INPUTS what Rust made of each (its re-encoding,
        or its error). Writes one REPORT line per record (format below) and
        prints a summary.

The Python modules come from tests/python/protobuf_peer.py's `generate`
(grpc_tools.protoc over proto/test/*.proto, once per GEN_DIR).

Batch files are records back to back, each

    kind: u8   flags: u8   length: u32 little-endian   payload

For messages (VALID, INPUTS) `kind` is the schema (0 Everything, 1 Legacy)
and `flags` says what the message holds (bit 0: a NaN, bit 1: a non-empty
map). For Rust's answers (RUST_VALID, RUST_INPUTS) `kind` is 1 when Rust
decoded the input (payload: its re-encoding) and 0 when it rejected it
(payload: the error, UTF-8).

REPORT lines are tab-separated, text fields escaped (backslash, \\n, \\t):

    valid  INDEX  ok
    valid  INDEX  fail  WHAT
    input  INDEX  PY  CMP  DETAIL

where PY is 1 when Python's FromString accepts the input. When both accept,
CMP compares Python's parse of the input with its parse of Rust's
re-encoding, by their deterministic serializations:

    same       identical
    REASONS    identical once the known reasons (joined by '+') are applied:
                 required  the proto2 required fields Python's parse lacks are
                           set to their defaults (protocall's required fields
                           have no presence: it always writes them)
                 mapentry  map entries are read as protobuf C++ reads them
                           (upb keeps an entry holding unknown fields whole,
                           as an unknown field)
                 canon     keys and varints in minimal form (upb keeps the
                           bytes of unknown fields, protocall re-encodes them)
    eqbytes    `==` holds but the serializations differ, unexplained
    differ     different, unexplained (DETAIL: a diff of the text formats)
    unparsable Python cannot parse Rust's re-encoding (DETAIL: its error)

When only Rust accepts, CMP is `overlong` (or `overlong+REASONS`) if Python
accepts the input once its keys and lengths are in minimal form (upb reads
at most five bytes for those) and then agrees with Rust; when only Python
accepts, CMP is `zerogroup` if the input holds a record with field number 0
inside a group (upb does not check those). Otherwise CMP is `-` and DETAIL
Python's error, if any.

Exit codes: 0 ran (whatever the verdicts), 2 usage or environment error.
"""

import difflib
import itertools
import math
import pathlib
import random
import struct
import sys

import google.protobuf
from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor as FD
from google.protobuf.internal import api_implementation

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import protobuf_peer  # noqa: E402  (module generation, shared)

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U32_MAX, U64_MAX = 2**32 - 1, 2**64 - 1

EVERYTHING, LEGACY = 0, 1
FLAG_NAN, FLAG_MAP = 1, 2


def fail(message):
    print(f"differential_peer: {message}", file=sys.stderr)
    sys.exit(2)


# ------------------------------------------------------------------ batches


def read_batch(path):
    data = pathlib.Path(path).read_bytes()
    out, pos = [], 0
    while pos < len(data):
        if pos + 6 > len(data):
            fail(f"{path}: truncated record header at {pos}")
        kind, flags, length = struct.unpack_from("<BBI", data, pos)
        pos += 6
        if pos + length > len(data):
            fail(f"{path}: truncated record at {pos}")
        out.append((kind, flags, data[pos : pos + length]))
        pos += length
    return out


def write_batch(path, records):
    chunks = []
    for kind, flags, payload in records:
        chunks.append(struct.pack("<BBI", kind, flags, len(payload)))
        chunks.append(payload)
    pathlib.Path(path).write_bytes(b"".join(chunks))


# ------------------------------------------------------------ wire helpers


def varint(value):
    value &= U64_MAX
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number, wire_type):
    return varint(number << 3 | wire_type)


def ld(number, payload):
    return key(number, 2) + varint(len(payload)) + payload


# ---------------------------------------------------------- random values


class State:
    """What a generated message holds, for the flags."""

    def __init__(self):
        self.nan = False
        self.map = False


RANGES = {
    "int32": (I32_MIN, I32_MAX),
    "sint32": (I32_MIN, I32_MAX),
    "sfixed32": (I32_MIN, I32_MAX),
    "int64": (I64_MIN, I64_MAX),
    "sint64": (I64_MIN, I64_MAX),
    "sfixed64": (I64_MIN, I64_MAX),
    "uint32": (0, U32_MAX),
    "fixed32": (0, U32_MAX),
    "uint64": (0, U64_MAX),
    "fixed64": (0, U64_MAX),
}

INT_EDGES = [
    0, 1, -1, 2, -2, 63, -64, 64, 127, 128, -129, 255, 300, 16383, 16384,
    I32_MIN, I32_MAX, I32_MIN + 1, I32_MAX - 1, U32_MAX, 2**31, 2**32,
    I64_MIN, I64_MAX, I64_MIN + 1, U64_MAX, 2**63, 2**56, -(2**56),
]


def rint(r, kind):
    lo, hi = RANGES[kind]
    c = r.random()
    if c < 0.45:
        return r.choice([v for v in INT_EDGES if lo <= v <= hi])
    if c < 0.75:
        return r.randint(max(lo, -1000), min(hi, 1000))
    if c < 0.9:
        bits = r.choice([7, 14, 21, 28, 35, 42, 49, 56, 63, 64])
        return max(lo, min(hi, r.getrandbits(bits) * r.choice([1, -1])))
    return r.randint(lo, hi)


NAN_PAYLOAD = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]
NEG_NAN = struct.unpack("<d", b"\x00\x00\x00\x00\x00\x00\xf8\xff")[0]
DOUBLE_EDGES = [
    0.0, -0.0, 1.0, -1.0, 0.1, 1.5, -2.5, math.inf, -math.inf, 5e-324, -5e-324,
    2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
    9007199254740993.0, 1e-300,
]
F32_EDGES = [
    0.0, -0.0, 1.0, -1.0, 1.5, -0.25, math.inf, -math.inf,
    3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45,
    1.1754943508222875e-38, 16777217.0,
]


def note_nan(st, value):
    if math.isnan(value):
        st.nan = True
    return value


def rdouble(r, st):
    c = r.random()
    if c < 0.08:
        return note_nan(st, r.choice([math.nan, NAN_PAYLOAD, NEG_NAN]))
    if c < 0.5:
        return r.choice(DOUBLE_EDGES)
    if c < 0.8:
        return r.uniform(-1e6, 1e6)
    return note_nan(st, struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0])


def rfloat(r, st):
    c = r.random()
    if c < 0.08:
        return note_nan(st, r.choice([math.nan, NAN_PAYLOAD, NEG_NAN]))
    if c < 0.5:
        return r.choice(F32_EDGES)
    if c < 0.8:
        return struct.unpack("<f", struct.pack("<f", r.uniform(-1e6, 1e6)))[0]
    return note_nan(st, struct.unpack("<f", r.getrandbits(32).to_bytes(4, "little"))[0])


STRINGS = [
    "", "a", "abc", "h\u00e9llo w\u00f6rld", "\u65e5\u672c\u8a9e", "\U0001f680",
    "\U0010ffff", "\x00", "\x00\x01\x7f", "\ufeff", "\u2028\u2029", "\ufffd",
    "\u0000\U0001f600\u0000", "x" * 130, "\u00ff" * 70,
]


def rchar(r):
    c = r.random()
    if c < 0.5:
        return chr(r.randint(0x20, 0x7E))
    if c < 0.6:
        return chr(r.randint(0, 0x1F))
    if c < 0.75:
        return chr(r.randint(0x80, 0x7FF))
    if c < 0.9:
        cp = r.randint(0x800, 0xFFFF - 0x800)
        return chr(cp if cp < 0xD800 else cp + 0x800)  # no surrogates
    return chr(r.randint(0x10000, 0x10FFFF))


def rstring(r):
    if r.random() < 0.5:
        return r.choice(STRINGS)
    return "".join(rchar(r) for _ in range(r.choice([1, 2, 3, 8, 20, 140])))


def rbytes(r):
    c = r.random()
    if c < 0.3:
        return r.choice([b"", b"\x00", b"\xff", bytes(range(256)), b"\x80" * 3])
    if c < 0.99:
        return r.randbytes(r.choice([1, 2, 5, 16, 40, 200]))
    return r.randbytes(r.choice([20000, 70000]))  # large


def rbool(r):
    return r.random() < 0.5


OPEN_ENUM = [0, 1, 2, -3, 3, 99, -100, I32_MIN, I32_MAX]
SIZES = [1, 2, 3]  # protocall.test2.Size (closed)
LEVELS = [0, 1, 2]  # protocall.test2.Level (closed)


def value_of(r, st, kind):
    if kind in RANGES:
        return rint(r, kind)
    return {
        "float": rfloat,
        "double": rdouble,
        "bool": lambda r, st: rbool(r),
        "string": lambda r, st: rstring(r),
        "bytes": lambda r, st: rbytes(r),
        "color": lambda r, st: r.choice(OPEN_ENUM),
    }[kind](r, st)


def count(r):
    c = r.random()
    if c < 0.15:
        return 0
    if c < 0.85:
        return r.randint(1, 4)
    if c < 0.97:
        return r.randint(5, 20)
    return r.randint(50, 200)


def unknown_records(r, numbers):
    """Raw records for field numbers the schema does not declare."""
    out = b""
    for _ in range(r.randint(1, 3)):
        number = r.choice(numbers)
        wire_type = r.choice([0, 0, 1, 2, 2, 3, 5])
        if wire_type == 0:
            out += key(number, 0) + varint(r.choice([0, 1, 150, U64_MAX, 2**63, r.getrandbits(64)]))
        elif wire_type == 1:
            out += key(number, 1) + r.randbytes(8)
        elif wire_type == 5:
            out += key(number, 5) + r.randbytes(4)
        elif wire_type == 2:
            out += ld(number, r.randbytes(r.choice([0, 1, 7, 30])))
        else:
            inner = key(r.randint(1, 20), 0) + varint(r.getrandbits(20))
            if r.random() < 0.3:
                inner += key(7, 3) + ld(1, b"g") + key(7, 4)  # a group in the group
            out += key(number, 3) + inner + key(number, 4)
    return out


# ------------------------------------------------------------ Everything

SCALARS = [
    ("int32", "int32"), ("int64", "int64"), ("uint32", "uint32"), ("uint64", "uint64"),
    ("sint32", "sint32"), ("sint64", "sint64"), ("fixed32", "fixed32"), ("fixed64", "fixed64"),
    ("sfixed32", "sfixed32"), ("sfixed64", "sfixed64"), ("float", "float"), ("double", "double"),
    ("bool", "bool"), ("string", "string"), ("bytes", "bytes"), ("color", "color"),
]
OPTIONALS = [("o_int32", "int32"), ("o_string", "string"), ("o_color", "color"), ("o_bytes", "bytes"), ("o_double", "double")]
MAPS = [
    ("m_int32_string", "int32", "string"), ("m_int64_int64", "int64", "int64"),
    ("m_uint32_bytes", "uint32", "bytes"), ("m_uint64_double", "uint64", "double"),
    ("m_sint32_float", "sint32", "float"), ("m_sint64_bool", "sint64", "bool"),
    ("m_fixed32_color", "fixed32", "color"), ("m_fixed64_nested", "fixed64", None),
    ("m_sfixed32_uint32", "sfixed32", "uint32"), ("m_sfixed64_sint64", "sfixed64", "sint64"),
    ("m_bool_string", "bool", "string"), ("m_string_nested", "string", None),
]
UNKNOWN_EVERYTHING = [18, 19, 20, 39, 40, 46, 50, 63, 70, 76, 80, 87, 89, 92, 1000, 19999, 536870911]


def map_key(r, kind):
    if r.random() < 0.25:
        return {"string": "", "bool": False}.get(kind, 0)
    return value_of(r, None, kind)


def gen_nested(r, st, m, depth, density):
    n = m.Everything.Nested()
    if r.random() < density:
        n.a = rint(r, "int32")
    if r.random() < density:
        n.b = rstring(r)
    if depth > 0 and r.random() < 0.25:
        n.back.CopyFrom(gen_everything(r, st, m, depth - 1))
    return n


def fill_value(r, st, value, depth):
    c = r.randrange(6 if depth > 0 else 4)
    if c == 0:
        value.null_value = 0
    elif c == 1:
        value.number_value = rdouble(r, st)
    elif c == 2:
        value.string_value = rstring(r)
    elif c == 3:
        value.bool_value = rbool(r)
    elif c == 4:
        value.struct_value.SetInParent()
        fill_struct(r, st, value.struct_value, depth - 1)
    else:
        value.list_value.SetInParent()
        for _ in range(r.randint(0, 3)):
            fill_value(r, st, value.list_value.values.add(), depth - 1)


def fill_struct(r, st, s, depth):
    for _ in range(r.randint(0, 3)):
        st.map = True
        fill_value(r, st, s.fields[map_key(r, "string")], depth)


def gen_everything(r, st, m, depth):
    e = m.Everything()
    density = r.choice([0.05, 0.2, 0.5, 0.9])
    for name, kind in SCALARS:
        if r.random() < density:
            setattr(e, "f_" + name, value_of(r, st, kind))
    if r.random() < density:
        e.f_nested.CopyFrom(gen_nested(r, st, m, depth, density))
    for name, kind in SCALARS:
        if r.random() < density:
            getattr(e, "r_" + name).extend(value_of(r, st, kind) for _ in range(count(r)))
    if r.random() < density:
        e.r_nested.extend(gen_nested(r, st, m, depth - 1, density) for _ in range(count(r) % 5))
    if r.random() < density:
        e.r_unpacked.extend(rint(r, "int32") for _ in range(count(r)))
    for name, kind in OPTIONALS:
        if r.random() < density:
            # zero values half the time: presence must survive
            zero = {"int32": 0, "string": "", "color": 0, "bytes": b"", "double": 0.0}[kind]
            setattr(e, name, zero if r.random() < 0.3 else value_of(r, st, kind))
    for name, key_kind, value_kind in MAPS:
        if r.random() < density * 0.6:
            field = getattr(e, name)
            for _ in range(r.randint(1, 4)):
                k = map_key(r, key_kind)
                st.map = True
                if value_kind is None:
                    field[k].CopyFrom(gen_nested(r, st, m, depth - 1, density))
                else:
                    field[k] = value_of(r, st, value_kind)
    choice = r.randrange(7)
    if choice == 1:
        e.c_string = rstring(r)
    elif choice == 2:
        e.c_int64 = rint(r, "int64")
    elif choice == 3:
        e.c_nested.CopyFrom(gen_nested(r, st, m, depth - 1, density))
    elif choice == 4:
        e.c_color = r.choice(OPEN_ENUM)
    elif choice == 5:
        e.c_bytes = rbytes(r)
    if r.random() < density * 0.5:
        e.wk_timestamp.seconds = rint(r, "int64")
        e.wk_timestamp.nanos = rint(r, "int32")
    if r.random() < density * 0.5:
        e.wk_duration.SetInParent()
        e.wk_duration.seconds = rint(r, "int64")
    if r.random() < density * 0.5:
        e.wk_any.type_url = "type.googleapis.com/" + rstring(r)
        e.wk_any.value = rbytes(r)
    if r.random() < density * 0.4:
        e.wk_struct.SetInParent()
        fill_struct(r, st, e.wk_struct, 3)
    if r.random() < density * 0.5:
        e.wk_int32.value = rint(r, "int32")
    if r.random() < density * 0.5:
        e.wk_string.SetInParent()
        if r.random() < 0.7:
            e.wk_string.value = rstring(r)
    if depth > 0 and r.random() < 0.35:
        e.child.CopyFrom(gen_everything(r, st, m, depth - 1))
    if depth > 0 and r.random() < 0.25:
        e.children.extend(gen_everything(r, st, m, depth - 1) for _ in range(r.randint(1, 3)))
    if r.random() < 0.15:
        e.MergeFromString(unknown_records(r, UNKNOWN_EVERYTHING))
    return e


# ---------------------------------------------------------------- Legacy

UNKNOWN_LEGACY = [19, 21, 22, 31, 53, 62, 99, 100, 150, 199, 1000, 536870911]
# Values of the closed enums' fields that Python can only hold as unknown
# fields: (number, packed)
CLOSED_ENUM_FIELDS = [(9, False), (10, False), (11, False), (12, True), (17, False), (51, False), (60, False)]


def unknown_enum_records(r):
    out = b""
    for _ in range(r.randint(1, 2)):
        number, packed = r.choice(CLOSED_ENUM_FIELDS)
        values = [r.choice([0, 4, 99, -1, 2**31, U64_MAX]) for _ in range(r.randint(1, 3))]
        if packed:
            out += ld(number, b"".join(varint(v) for v in values))
        else:
            out += b"".join(key(number, 0) + varint(v) for v in values)
    if r.random() < 0.3:  # a map entry whose closed-enum value is unknown
        out += ld(18, ld(1, rstring(r).encode()) + key(2, 0) + varint(r.choice([3, 7, -1])))
    return out


def gen_legacy(r, st, m, depth):
    msg = m.Legacy()
    density = r.choice([0.05, 0.2, 0.5, 0.9])
    # required: always set, so the message is initialized
    msg.id = rint(r, "int32")
    msg.code = rstring(r)
    msg.required_size = r.choice(SIZES)
    setters = [
        ("count", lambda: rint(r, "int32")),
        ("label", lambda: rstring(r)),
        ("blob", lambda: rbytes(r)),
        ("ratio", lambda: rdouble(r, st)),
        ("scale", lambda: rfloat(r, st)),
        ("flag", lambda: rbool(r)),
        ("size", lambda: r.choice(SIZES)),
        ("plain_size", lambda: r.choice(SIZES)),
        ("big", lambda: rint(r, "uint64")),
        ("neg", lambda: rint(r, "sint32")),
        ("aliased", lambda: r.choice([1, 2])),
        ("old", lambda: rint(r, "int32")),
    ]
    for name, make in setters:
        if r.random() < density:
            setattr(msg, name, make())
    for name, make in [
        ("sizes", lambda: r.choice(SIZES)),
        ("packed_sizes", lambda: r.choice(SIZES)),
        ("numbers", lambda: rint(r, "int32")),
        ("packed_numbers", lambda: rint(r, "int32")),
    ]:
        if r.random() < density:
            getattr(msg, name).extend(make() for _ in range(count(r)))
    if r.random() < density * 0.6:
        for _ in range(r.randint(1, 4)):
            st.map = True
            msg.level_map[map_key(r, "string")] = r.choice(LEVELS)
    if r.random() < density:
        msg.settings.SetInParent()
        if r.random() < 0.6:
            msg.settings.level = rint(r, "int32")
        if r.random() < 0.6:
            msg.settings.name = rstring(r)
    if r.random() < density:
        for _ in range(r.randint(1, 3)):
            entry = msg.entry.add()
            if r.random() < 0.6:
                entry.key = rint(r, "int32")
            if depth > 0 and r.random() < 0.4:
                entry.nested.CopyFrom(gen_legacy(r, st, m, depth - 1))
    if depth > 0 and r.random() < 0.35:
        msg.child.CopyFrom(gen_legacy(r, st, m, depth - 1))
    pick = r.randrange(4)
    if pick == 1:
        msg.pick_int = rint(r, "int32")
    elif pick == 2:
        msg.pick_size = r.choice(SIZES)
    elif pick == 3:
        msg.pick_string = rstring(r)
    if r.random() < 0.15:
        msg.MergeFromString(unknown_records(r, UNKNOWN_LEGACY))
    if r.random() < 0.15:
        msg.MergeFromString(unknown_enum_records(r))
    return msg


# --------------------------------------------------------------- commands


def classes():
    return {
        EVERYTHING: protobuf_peer.module("everything").Everything,
        LEGACY: protobuf_peer.module("proto2").Legacy,
    }


def cmd_generate(seed, n, out):
    r = random.Random(seed)
    records = []
    modules = [(EVERYTHING, protobuf_peer.module("everything"), gen_everything), (LEGACY, protobuf_peer.module("proto2"), gen_legacy)]
    for kind, m, gen in modules:
        for _ in range(n):
            st = State()
            msg = gen(r, st, m, r.choice([0, 1, 1, 2, 3]))
            flags = (FLAG_NAN if st.nan else 0) | (FLAG_MAP if st.map else 0)
            records.append((kind, flags, det(msg)))
    write_batch(out, records)
    size = sum(len(p) for _, _, p in records)
    print(f"generated {len(records)} messages ({size} bytes) from seed {seed} with protobuf {google.protobuf.__version__} (upb)")
    return 0


def parse(cls, data):
    try:
        return cls.FromString(data), None
    except Exception as e:  # DecodeError, and anything else upb raises
        return None, f"{type(e).__name__}: {e}"


def det(msg):
    return msg.SerializePartialToString(deterministic=True)


def text(msg):
    try:
        return text_format.MessageToString(msg, as_utf8=True, print_unknown_fields=True)
    except Exception as e:  # e.g. strings that are not UTF-8 (proto2)
        return f"<no text format: {e}>\n{det(msg).hex()}"


def diff(label_a, a, label_b, b):
    lines = list(difflib.unified_diff(text(a).splitlines(), text(b).splitlines(), label_a, label_b, lineterm="", n=1))
    if len(lines) > 60:
        lines = lines[:60] + [f"... ({len(lines) - 60} more diff lines)"]
    return "\n".join(lines + [f"{label_a} deterministic: {det(a).hex()[:2000]}", f"{label_b} deterministic: {det(b).hex()[:2000]}"])


def fill_required(msg):
    """Sets the required fields Python's parse lacks to their defaults, as
    protocall (whose required fields have no presence) always writes them."""
    if not msg.HasField("id"):
        msg.id = 0
    if not msg.HasField("code"):
        msg.code = "abc"
    if not msg.HasField("required_size"):
        msg.required_size = 3  # SIZE_LARGE
    if msg.HasField("child"):
        fill_required(msg.child)
    for entry in msg.entry:
        if entry.HasField("nested"):
            fill_required(entry.nested)


# ------------------------------------------------------------ explanations
#
# When Python's parse of an input and its parse of Rust's re-encoding differ
# (or Python rejects what Rust accepts), these rewrites test the known
# reasons: a reason explains the difference when applying it makes the two
# identical.

WIRE_TYPE = {
    FD.TYPE_DOUBLE: 1, FD.TYPE_FLOAT: 5, FD.TYPE_INT64: 0, FD.TYPE_UINT64: 0, FD.TYPE_INT32: 0,
    FD.TYPE_FIXED64: 1, FD.TYPE_FIXED32: 5, FD.TYPE_BOOL: 0, FD.TYPE_STRING: 2, FD.TYPE_GROUP: 3,
    FD.TYPE_MESSAGE: 2, FD.TYPE_BYTES: 2, FD.TYPE_UINT32: 0, FD.TYPE_ENUM: 0, FD.TYPE_SFIXED32: 5,
    FD.TYPE_SFIXED64: 1, FD.TYPE_SINT32: 0, FD.TYPE_SINT64: 0,
}


class Malformed(Exception):
    pass


def read_varint(data, pos):
    value = 0
    for i in range(10):
        if pos >= len(data):
            raise Malformed()
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return value & U64_MAX, pos
    raise Malformed()


def is_map(field):
    return field.type == FD.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def rewrite(desc, data, canon, cpp_maps):
    """`data` (a message of type `desc`) rewritten: with `canon`, every key,
    length and varint in minimal form; with `cpp_maps`, map entries read as
    protobuf C++ (and protocall) read them."""
    return rewrite_records(desc, data, 0, None, canon, cpp_maps)[0]


def rewrite_records(desc, data, pos, group, canon, cpp_maps):
    """Records from `pos` to the end, or to the end key of `group`:
    (rewritten records, the end key, position after it)."""
    out = bytearray()
    while pos < len(data):
        start = pos
        tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0 and group is not None:
            raise Malformed("field number 0 in a group")
        if number == 0 or number >= 1 << 29:
            raise Malformed()
        key_bytes = key(number, wire_type) if canon else data[start:pos]
        field = desc.fields_by_number.get(number) if desc is not None else None
        if wire_type == 0:
            value, end = read_varint(data, pos)
            out += key_bytes + (varint(value) if canon else data[pos:end])
            pos = end
        elif wire_type in (1, 5):
            end = pos + (8 if wire_type == 1 else 4)
            if end > len(data):
                raise Malformed()
            out += key_bytes + data[pos:end]
            pos = end
        elif wire_type == 2:
            length, body_start = read_varint(data, pos)
            end = body_start + length
            if end > len(data):
                raise Malformed()
            body = data[body_start:end]
            new = body
            if field is not None and field.type == FD.TYPE_MESSAGE:
                if cpp_maps and is_map(field):
                    new = cpp_map_entry(field.message_type, body, canon)
                else:
                    new = rewrite_records(field.message_type, body, 0, None, canon, cpp_maps)[0]
            prefix = data[pos:body_start] if new == body and not canon else varint(len(new))
            out += key_bytes + prefix + new
            pos = end
        elif wire_type == 3:
            inner = field.message_type if field is not None and field.type == FD.TYPE_GROUP else None
            body, end_key, pos = rewrite_records(inner, data, pos, number, canon, cpp_maps)
            out += key_bytes + body + end_key
        elif wire_type == 4:
            if group != number:
                raise Malformed()
            return bytes(out), key_bytes, pos
        else:
            raise Malformed()
    if group is not None:
        raise Malformed()
    return bytes(out), b"", pos


def to_int32(value):
    value &= U32_MAX
    return value - 2**32 if value >= 2**31 else value


def cpp_map_entry(entry, body, canon):
    """A map entry as protobuf C++ reads it: key and value records of the
    right wire type kept, anything else in the entry dropped; an unknown
    closed-enum value keeps the whole entry (as an unknown field). upb
    instead keeps any entry with unknown fields whole, as an unknown field."""
    kept, pos, enum_value = bytearray(), 0, None
    key_field, value_field = entry.fields_by_number[1], entry.fields_by_number[2]
    while pos < len(body):
        tag, value_start = read_varint(body, pos)
        number, wire_type = tag >> 3, tag & 7
        end = skip(body, value_start, wire_type, number)
        field = {1: key_field, 2: value_field}.get(number)
        if field is not None and WIRE_TYPE[field.type] == wire_type:
            if field.type == FD.TYPE_MESSAGE:
                length, inner_start = read_varint(body, value_start)
                inner = rewrite_records(field.message_type, body[inner_start:end], 0, None, canon, True)[0]
                kept += key(number, 2) + varint(len(inner)) + inner
            else:
                kept += key(number, wire_type) + body[value_start:end]
                if field.type == FD.TYPE_ENUM and number == 2:
                    enum_value = read_varint(body, value_start)[0]
        pos = end
    if (
        enum_value is not None
        and value_field.enum_type.is_closed
        and to_int32(enum_value) not in value_field.enum_type.values_by_number
    ):
        return body
    return bytes(kept)


def skip(data, pos, wire_type, number):
    """The position after the value of a record whose key ends at `pos`."""
    if wire_type == 0:
        return read_varint(data, pos)[1]
    if wire_type in (1, 5):
        end = pos + (8 if wire_type == 1 else 4)
        if end > len(data):
            raise Malformed()
        return end
    if wire_type == 2:
        length, start = read_varint(data, pos)
        if start + length > len(data):
            raise Malformed()
        return start + length
    if wire_type == 3:
        return rewrite_records(None, data, pos, number, False, False)[2]
    raise Malformed()


def explain(kind, cls, data, msg, target):
    """The smallest set of known reasons that makes Python's parse `msg` of
    `data` serialize as `target` (the deterministic serialization of its
    parse of Rust's re-encoding), joined by '+', or None."""
    desc = cls.DESCRIPTOR
    reasons = ["required", "mapentry", "canon"] if kind == LEGACY else ["mapentry", "canon"]
    remapped = None
    for size in range(1, len(reasons) + 1):
        for combo in itertools.combinations(reasons, size):
            try:
                base = msg
                if "mapentry" in combo:
                    if remapped is None:
                        remapped = cls.FromString(rewrite(desc, data, False, True))
                    base = remapped
                if "required" in combo:
                    filled = cls()
                    filled.CopyFrom(base)
                    fill_required(filled)
                    base = filled
                a, b = det(base), target
                if "canon" in combo:
                    a, b = rewrite(desc, a, True, False), rewrite(desc, b, True, False)
            except Exception:  # Malformed, or Python rejecting a rewrite
                continue
            if a == b:
                return "+".join(combo)
    return None


def escape(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def check_valid(cls, flags, original, rust):
    """Problems with Rust's re-encoding `rust` of Python's `original` bytes."""
    want = cls.FromString(original)
    got, err = parse(cls, rust)
    if got is None:
        return f"Python cannot parse Rust's re-encoding: {err}\nrust bytes: {rust.hex()[:4000]}"
    problems = []
    if not flags & FLAG_NAN and want != got:
        problems.append("messages differ (==)")
    if det(want) != det(got):
        problems.append("deterministic serializations differ")
    if not flags & FLAG_MAP and rust != det(want):
        # Without maps (whose order Rust does not fix), Rust writes exactly
        # what Python's deterministic serializer writes.
        problems.append("Rust's bytes are not Python's deterministic serialization")
    if not problems:
        return None
    return "; ".join(problems) + "\n" + diff("python", want, "rust", got)


def cmd_check(valid_path, rust_valid_path, inputs_path, rust_inputs_path, report_path):
    cls = classes()
    valid, rust_valid = read_batch(valid_path), read_batch(rust_valid_path)
    inputs, rust_inputs = read_batch(inputs_path), read_batch(rust_inputs_path)
    if len(valid) != len(rust_valid) or len(inputs) != len(rust_inputs):
        fail("batch sizes disagree")
    lines, bad_valid = [], 0
    for i, ((kind, flags, original), (status, _, rust)) in enumerate(zip(valid, rust_valid)):
        if status != 1:
            problem = "Rust rejected it: " + rust.decode("utf-8", "replace")
        else:
            problem = check_valid(cls[kind], flags, original, rust)
        if problem is None:
            lines.append(f"valid\t{i}\tok")
        else:
            bad_valid += 1
            lines.append(f"valid\t{i}\tfail\t{escape(problem)}")
    tally = {}
    for i, ((kind, _, data), (status, _, rust)) in enumerate(zip(inputs, rust_inputs)):
        msg, err = parse(cls[kind], data)
        if status != 1:
            cmp, detail = "-", err or ""
            if msg is not None:
                # Python accepts what Rust rejects: a record with field
                # number 0 inside a group (upb does not check those)?
                try:
                    rewrite(cls[kind].DESCRIPTOR, data, False, False)
                except Malformed as e:
                    if e.args == ("field number 0 in a group",):
                        cmp = "zerogroup"
        elif msg is None:
            # Python rejects what Rust accepts: is it only the overlong keys
            # or lengths (upb reads at most five bytes for those)?
            cmp, detail = "-", err
            desc = cls[kind].DESCRIPTOR
            fixed = again = None
            try:
                canonical = rewrite(desc, data, True, False)
                fixed, _ = parse(cls[kind], canonical)
                # Rust keeps the bytes of what it stores as unknown fields
                # (e.g. a map entry with an unknown closed-enum value), so
                # its re-encoding may hold overlong varints too.
                again, _ = parse(cls[kind], rust)
                if again is None:
                    again, _ = parse(cls[kind], rewrite(desc, rust, True, False))
            except Malformed:
                pass
            if fixed is not None and again is not None:
                if det(fixed) == det(again):
                    cmp = "overlong"
                else:
                    why = explain(kind, cls[kind], canonical, fixed, det(again))
                    if why is not None:
                        cmp = "overlong+" + why
        else:
            again, err = parse(cls[kind], rust)
            if again is None:
                cmp, detail = "unparsable", f"{err}\nrust bytes: {rust.hex()[:4000]}"
            elif det(msg) == det(again):
                cmp, detail = "same", ""
            else:
                cmp = explain(kind, cls[kind], data, msg, det(again))
                if cmp is None:
                    cmp = "eqbytes" if msg == again else "differ"
                detail = diff("python(input)", msg, "python(rust re-encoding)", again)
        key_ = (msg is not None, status == 1, cmp)
        tally[key_] = tally.get(key_, 0) + 1
        lines.append(f"input\t{i}\t{int(msg is not None)}\t{cmp}\t{escape(detail)}")
    pathlib.Path(report_path).write_text("\n".join(lines) + "\n")
    print(f"checked {len(valid)} valid messages ({bad_valid} failing) and {len(inputs)} inputs")
    for (py, rs, cmp), n in sorted(tally.items()):
        print(f"  python {'accepts' if py else 'rejects'}, rust {'accepts' if rs else 'rejects'}, {cmp}: {n}")
    return 0


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    gen_dir, command, args = pathlib.Path(argv[1]), argv[2], argv[3:]
    if api_implementation.Type() != "upb":
        # The divergence classes are upb's behaviour.
        fail(f"needs protobuf's upb backend, not {api_implementation.Type()!r} (PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION?)")
    protobuf_peer.generate(gen_dir)
    if command == "generate" and len(args) == 3:
        return cmd_generate(int(args[0], 0), int(args[1]), args[2])
    if command == "check" and len(args) == 5:
        return cmd_check(*args)
    fail(f"bad command line: {argv[2:]}\n{__doc__}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
