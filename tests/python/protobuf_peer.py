#!/usr/bin/env python3
"""Python `protobuf` peer for protocall's cross-implementation tests.

Driven by tests/tests/python_protobuf.rs. Usage:

    protobuf_peer.py GEN_DIR gen              generate the Python modules only
    protobuf_peer.py GEN_DIR cases            list the cases, one a line
    protobuf_peer.py GEN_DIR build CASE OUT   write CASE, serialized by Python, to OUT
                                              (raw_* cases: hand-written bytes)
    protobuf_peer.py GEN_DIR check CASE IN    parse IN (bytes written by Rust) as CASE's
                                              message type and compare it with CASE;
                                              exit 1 with a diff when they differ

Every command first generates, once per GEN_DIR, Python modules with
grpc_tools.protoc from the repository's schemas (proto/test/everything.proto,
proto/test/proto2.proto) and from three variants of them written into GEN_DIR
(same messages, other packages):

  * everything_flipped / proto2_flipped: packed and unpacked swapped on every
    repeated scalar field, so Python writes the other encoding;
  * proto2_newer: the closed enums `Size` and `Level` gain SIZE_HUGE = 4 and
    LEVEL_THREE = 3, so Python can write values the repository's schema does
    not know.

The editions schemas (proto/test/editions/*.proto) are generated too, for
tests/tests/protoc_plugin.rs (cases ed2023_* and ed2024_*).

A case is a message built in Python by a fixed recipe. `check` compares
with `==` and with deterministic serializations (which also catches -0.0
versus 0.0, presence of fields set to default values, and unknown fields);
on mismatch it prints a unified diff of the text formats and exits 1.
Exit codes: 0 ok, 1 mismatch, 2 usage or environment error.
"""

import difflib
import importlib
import math
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "proto"
VARIANTS = "protocall_peer_variants"

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U32_MAX, U64_MAX = 2**32 - 1, 2**64 - 1
F32_MAX = 3.4028234663852886e38  # exactly f32::MAX
F32_TINY = 1.401298464324817e-45  # the smallest f32 subnormal


def fail(message):
    print(f"protobuf_peer: {message}", file=sys.stderr)
    sys.exit(2)


def substitute(text, pattern, replacement, expected, flags=re.M):
    """re.subn that insists on the number of replacements."""
    out, count = re.subn(pattern, replacement, text, flags=flags)
    if count not in (expected if isinstance(expected, tuple) else (expected,)):
        fail(f"variant: {pattern!r} matched {count} times, expected {expected}")
    return out


def write_variants(src):
    everything = (PROTO_ROOT / "test" / "everything.proto").read_text()
    proto2 = (PROTO_ROOT / "test" / "proto2.proto").read_text()
    out = src / VARIANTS
    out.mkdir(parents=True, exist_ok=True)

    flipped = substitute(everything, r"^package protocall\.test;", "package protocall.test.flipped;", 1)
    # r_unpacked becomes packed first, then every packable repeated field
    # without options becomes unpacked.
    flipped = substitute(flipped, r"\[packed = false\]", "[packed = true]", 1)
    scalar = r"int32|int64|uint32|uint64|sint32|sint64|fixed32|fixed64|sfixed32|sfixed64|float|double|bool|Color"
    flipped = substitute(
        flipped, rf"^(\s*repeated (?:{scalar}) \w+ = \d+);", r"\1 [packed = false];", 14
    )
    (out / "everything_flipped.proto").write_text(flipped)

    flipped2 = substitute(proto2, r"^package protocall\.test2;", "package protocall.test2.flipped;", 1)
    flipped2 = substitute(flipped2, r"^(\s*repeated (?:Size|int32) \w+ = \d+) \[packed = true\];", r"\1 [packed = false];", 2)
    flipped2 = substitute(flipped2, r"^(\s*repeated (?:Size|int32) \w+ = \d+);", r"\1 [packed = true];", 2)
    (out / "proto2_flipped.proto").write_text(flipped2)

    newer = substitute(proto2, r"^package protocall\.test2;", "package protocall.test2.newer;", 1)
    newer = substitute(newer, r"^(\s*)SIZE_LARGE = 3;", r"\1SIZE_LARGE = 3;\n\1SIZE_HUGE = 4;", 1)
    newer = substitute(newer, r"^(\s*)LEVEL_TWO = 2;", r"\1LEVEL_TWO = 2;\n\1LEVEL_THREE = 3;", 1)
    (out / "proto2_newer.proto").write_text(newer)


def generate(gen_dir):
    py = gen_dir / "py"
    done = py / ".complete"
    if not done.exists():
        try:
            from grpc_tools import protoc
            import importlib.resources as resources
        except ImportError as e:
            fail(f"grpc_tools is not installed: {e}")
        src = gen_dir / "src"
        write_variants(src)
        py.mkdir(parents=True, exist_ok=True)
        bundled = resources.files("grpc_tools") / "_proto"
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{src}",
            f"-I{bundled}",
            f"--python_out={py}",
            "test/everything.proto",
            "test/proto2.proto",
            "test/editions/editions2023.proto",
            "test/editions/editions2024.proto",
            f"{VARIANTS}/everything_flipped.proto",
            f"{VARIANTS}/proto2_flipped.proto",
            f"{VARIANTS}/proto2_newer.proto",
        ]
        if protoc.main(args) != 0:
            fail("grpc_tools.protoc failed: " + " ".join(args))
        # Regular packages, so that `test` wins over the standard library's.
        for package in ("test", "test/editions", VARIANTS):
            (py / package / "__init__.py").write_text("")
        done.write_text("ok\n")
    sys.path.insert(0, str(py))


MODULES = {}


def module(key):
    if key not in MODULES:
        name = {
            "everything": "test.everything_pb2",
            "everything_flipped": f"{VARIANTS}.everything_flipped_pb2",
            "proto2": "test.proto2_pb2",
            "proto2_flipped": f"{VARIANTS}.proto2_flipped_pb2",
            "proto2_newer": f"{VARIANTS}.proto2_newer_pb2",
            "editions2023": "test.editions.editions2023_pb2",
            "editions2024": "test.editions.editions2024_pb2",
        }[key]
        MODULES[key] = importlib.import_module(name)
    return MODULES[key]


# ---------------------------------------------------------------- proto3 cases


def nested(m, a=0, b="", back=None):
    n = m.Everything.Nested(a=a, b=b)
    if back is not None:
        n.back.CopyFrom(back)
    return n


def fill_everything_full(m, e):
    E = m.Everything
    e.f_int32 = -123456
    e.f_int64 = I64_MIN
    e.f_uint32 = U32_MAX
    e.f_uint64 = U64_MAX
    e.f_sint32 = I32_MIN
    e.f_sint64 = I64_MAX
    e.f_fixed32 = U32_MAX
    e.f_fixed64 = U64_MAX
    e.f_sfixed32 = I32_MIN
    e.f_sfixed64 = I64_MIN + 1
    e.f_float = -F32_MAX
    e.f_double = -0.0
    e.f_bool = True
    e.f_string = "h\u00e9llo w\u00f6rld \u2713 \U0001f680 \x00 end"
    e.f_bytes = b"\x00\x01\xfe\xff"
    e.f_color = 99
    e.f_nested.CopyFrom(nested(m, -1, "nested", E(f_int32=7, f_string="back", f_nested=nested(m, 8))))

    e.r_int32.extend([0, -1, I32_MAX, I32_MIN, 1])
    e.r_int64.extend([-1, I64_MIN, I64_MAX, 0])
    e.r_uint32.extend([0, 1, U32_MAX])
    e.r_uint64.extend([U64_MAX, 0, 2**63])
    e.r_sint32.extend([-1, 1, I32_MIN, I32_MAX, 0])
    e.r_sint64.extend([I64_MIN, I64_MAX, -1])
    e.r_fixed32.extend([0, U32_MAX, 12345])
    e.r_fixed64.extend([U64_MAX, 0])
    e.r_sfixed32.extend([I32_MIN, -1, I32_MAX])
    e.r_sfixed64.extend([I64_MIN, I64_MAX])
    e.r_float.extend([0.0, -0.0, 1.5, math.inf, -math.inf, F32_TINY])
    e.r_double.extend([-0.0, 5e-324, 1.7976931348623157e308, -math.inf, 0.1])
    e.r_bool.extend([True, False, True])
    e.r_string.extend(["", "a", "\u65e5\u672c\u8a9e", "\U0001f680"])
    e.r_bytes.extend([b"", b"\x00", b"\xff\xfe"])
    e.r_color.extend([m.COLOR_RED, m.COLOR_BLUE, 99, m.COLOR_UNSPECIFIED, -100])
    e.r_nested.extend([nested(m, 1), nested(m), nested(m, 0, "x", E(r_int32=[1, 2]))])
    e.r_unpacked.extend([-5, 0, 5, 300])

    e.o_int32 = -1
    e.o_string = "opt"
    e.o_color = m.COLOR_BLUE
    e.o_bytes = b"\x00"
    e.o_double = 2.5

    e.m_int32_string.update({-1: "minus one", 0: "", I32_MAX: "max \u2713"})
    e.m_int64_int64.update({I64_MIN: I64_MAX, 0: -1, 5: 0})
    e.m_uint32_bytes.update({0: b"", 1: b"\x00\xff", U32_MAX: b"max"})
    e.m_uint64_double.update({U64_MAX: -0.0, 0: 1.5, 7: -math.inf})
    e.m_sint32_float.update({I32_MIN: 1.5, -1: -2.5, 0: 0.0})
    e.m_sint64_bool.update({I64_MIN: True, I64_MAX: False, -1: True})
    e.m_fixed32_color.update({0: m.COLOR_RED, 1: 99, U32_MAX: m.COLOR_BLUE, 5: m.COLOR_UNSPECIFIED})
    e.m_fixed64_nested[U64_MAX].CopyFrom(nested(m, 1, "one"))
    e.m_fixed64_nested[0].CopyFrom(nested(m))
    e.m_fixed64_nested[9].CopyFrom(nested(m, back=E(f_bool=True)))
    e.m_sfixed32_uint32.update({I32_MIN: U32_MAX, -1: 0, 1: 1})
    e.m_sfixed64_sint64.update({I64_MIN: I64_MIN, I64_MAX: -1})
    e.m_bool_string.update({True: "yes", False: "no"})
    e.m_string_nested[""].CopyFrom(nested(m, -1))
    e.m_string_nested["\u043a\u043b\u044e\u0447"].CopyFrom(nested(m, 0, "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435"))
    e.m_string_nested["\U0001f680"].CopyFrom(nested(m))

    e.c_nested.CopyFrom(nested(m, 42, "chosen", E(c_string="inner")))

    e.wk_timestamp.seconds = -62135596800
    e.wk_timestamp.nanos = 999999999
    e.wk_duration.seconds = -315576000000
    e.wk_duration.nanos = -999999999
    # Written by hand rather than Any.Pack, so that the flipped variant (whose
    # Nested has another full name) holds the very same Any.
    e.wk_any.type_url = "type.googleapis.com/protocall.test.Everything.Nested"
    e.wk_any.value = b"\x08\x05\x12\x03any"
    e.wk_struct.update(
        {
            "null": None,
            "num": -1.5,
            "str": "s",
            "bool": True,
            "list": [1, "two", None, {"k": False}],
            "obj": {"inner": []},
        }
    )
    e.wk_int32.value = -7
    e.wk_string.value = "wrapped \u2713"

    e.child.CopyFrom(E(f_int32=1, child=E(f_int32=2, child=E(f_string="deepest", r_color=[99]))))
    e.children.extend([E(f_sint64=-1), E(children=[E(f_bool=True)]), E()])


def fill_subset_exact(m, e):
    """Field 1 and 14 and nothing else below 15, so that Python's bytes are
    exactly what EverythingSubset re-encodes: its two known fields first, then
    the rest verbatim."""
    e.f_int32 = -2
    e.f_string = "subset \u2713"
    e.f_bytes = b"\x00\xff"
    e.f_color = 99
    e.f_nested.CopyFrom(nested(m, 3, "n"))
    e.r_int32.extend([1, -1])
    e.r_double.extend([0.5, -0.0])
    e.r_string.extend(["x", ""])
    e.r_color.extend([99, m.COLOR_BLUE])
    e.r_unpacked.extend([7, 8])
    e.o_int32 = 0
    e.m_int32_string.update({3: "three", -3: "minus three"})
    e.m_string_nested["k"].CopyFrom(nested(m, 1))
    e.c_bytes = b"\x01"
    e.wk_timestamp.seconds = 1700000000
    e.wk_struct.update({"a": [1, None]})
    e.child.CopyFrom(m.Everything(f_int32=5, children=[m.Everything(f_string="c")]))


def fill_optional_zero(m, e):
    e.o_int32 = 0
    e.o_string = ""
    e.o_color = m.COLOR_UNSPECIFIED
    e.o_bytes = b""
    e.o_double = 0.0
    e.f_nested.SetInParent()
    e.wk_int32.SetInParent()
    e.wk_string.SetInParent()
    e.wk_timestamp.SetInParent()
    e.child.SetInParent()
    e.children.add()
    e.r_nested.add()


def fill_repeated_scalars(m, e):
    e.r_int32.extend([-1, 2])
    e.r_int64.extend([I64_MIN, 3])
    e.r_uint32.extend([U32_MAX])
    e.r_uint64.extend([U64_MAX, 4])
    e.r_sint32.extend([I32_MIN, 5])
    e.r_sint64.extend([I64_MAX, -6])
    e.r_fixed32.extend([7, U32_MAX])
    e.r_fixed64.extend([8])
    e.r_sfixed32.extend([-9])
    e.r_sfixed64.extend([-10, I64_MAX])
    e.r_float.extend([1.25, -0.0])
    e.r_double.extend([-2.5, math.inf])
    e.r_bool.extend([False, True, True])
    e.r_color.extend([m.COLOR_GREEN, 99, m.COLOR_BLUE])
    e.r_unpacked.extend([11, -12, 0])


def fill_repeated_scalars_doubled(m, e):
    fill_repeated_scalars(m, e)
    e.MergeFrom(e.__class__.FromString(e.SerializeToString()))


def oneof(field, value):
    def fill(m, e):
        if field == "c_nested":
            getattr(e, field).CopyFrom(value(m))
        else:
            setattr(e, field, value)

    return fill


# ---------------------------------------------------------------- proto2 cases


def legacy(m, id, code, required_size):
    msg = m.Legacy(id=id, code=code)
    msg.required_size = required_size
    return msg


def fill_legacy_full(m, l):
    l.id = -1
    l.code = "\u00dfcode"
    l.count = -7
    l.label = "label \u2713"
    l.blob = b"\x00\xffblob"
    l.ratio = 2.5e-300
    l.scale = -0.25
    l.flag = False
    l.size = m.SIZE_SMALL
    l.plain_size = m.SIZE_LARGE
    l.sizes.extend([m.SIZE_LARGE, m.SIZE_SMALL, m.SIZE_MEDIUM])
    l.packed_sizes.extend([m.SIZE_MEDIUM, m.SIZE_MEDIUM, m.SIZE_LARGE])
    l.numbers.extend([0, -1, I32_MAX])
    l.packed_numbers.extend([I32_MIN, 1, 300])
    l.big = 0
    l.neg = I32_MIN
    l.aliased = m.ALIASED_TWO
    l.level_map.update({"a": m.LEVEL_ONE, "": m.LEVEL_TWO, "\u00fc": m.LEVEL_ZERO})
    l.settings.level = -3
    l.settings.name = "cfg"
    first = l.entry.add()
    first.key = 1
    inner = legacy(m, 2, "n", m.SIZE_SMALL)
    inner.settings.level = 9
    first.nested.CopyFrom(inner)
    l.entry.add().key = 2
    l.entry.add()
    child = legacy(m, 3, "child", m.SIZE_MEDIUM)
    child.entry.add().key = 7
    child.child.CopyFrom(legacy(m, 4, "grandchild", m.SIZE_LARGE))
    l.child.CopyFrom(child)
    l.pick_string = "pick"
    l.required_size = m.SIZE_SMALL
    l.old = 61


def fill_legacy_defaults_explicit(m, l):
    """Every optional field set to its declared default: all must stay present."""
    l.id = 0
    l.code = "abc"
    l.count = 7
    l.label = 'hello "world"'
    l.blob = b"\x01\x02\x7fz"
    l.ratio = -math.inf
    l.scale = 1.5
    l.flag = True
    l.size = m.SIZE_MEDIUM
    l.plain_size = m.SIZE_SMALL
    l.big = U64_MAX
    l.neg = -42
    l.aliased = m.ALIASED_UNO
    l.settings.SetInParent()
    l.child.CopyFrom(legacy(m, 0, "abc", m.SIZE_LARGE))
    l.pick_int = 0
    l.required_size = m.SIZE_LARGE
    l.old = 0


def fill_legacy_minimal(m, l):
    l.id = 5
    l.code = "abc"
    l.required_size = m.SIZE_LARGE


HUGE = 4  # SIZE_HUGE, known only to proto2_newer
THREE = 3  # LEVEL_THREE, known only to proto2_newer


def fill_legacy_newer_enum(m, l):
    l.id = 1
    l.code = "c"
    l.size = HUGE
    l.plain_size = m.SIZE_SMALL
    l.sizes.extend([m.SIZE_SMALL, HUGE, m.SIZE_MEDIUM])
    l.packed_sizes.extend([HUGE, m.SIZE_LARGE])
    l.level_map.update({"x": THREE, "y": m.LEVEL_ONE})
    l.pick_size = HUGE
    l.required_size = m.SIZE_MEDIUM


def fill_legacy_newer_enum_roundtripped(m, l):
    """fill_legacy_newer_enum after a parse/serialize by the repository's
    schema: known values first, the unknown ones re-emitted after them."""
    fill_legacy_newer_enum(m, l)
    del l.sizes[:]
    l.sizes.extend([m.SIZE_SMALL, m.SIZE_MEDIUM, HUGE])
    del l.packed_sizes[:]
    l.packed_sizes.extend([m.SIZE_LARGE, HUGE])


def python_roundtrip_through_old_schema():
    """What Python itself makes of legacy_newer_enum through the old schema."""
    original = build("legacy_newer_enum").SerializeToString()
    old = module("proto2").Legacy.FromString(original)
    return module("proto2_newer").Legacy.FromString(old.SerializeToString())


def concatenated(first, second):
    """What Python parses from the bytes of `first` followed by those of
    `second`: the protobuf merge of the two."""

    def fill(m, e):
        e.MergeFromString(build(first).SerializeToString() + build(second).SerializeToString())

    return fill


# -------------------------------------------------------------- editions


def fill_ed2023_zeros(m, s):
    """Every singular field set to its zero value: the implicit-presence ones
    are not written, the explicit and required ones are."""
    s.i_int32 = 0
    s.i_string = ""
    s.i_bytes = b""
    s.i_color = m.COLOR_UNSPECIFIED
    s.i_double = 0.0
    s.i_bool = False
    s.e_int32 = 0
    s.e_string = ""
    s.e_color = m.COLOR_UNSPECIFIED
    s.e_size = m.SIZE_SMALL
    s.e_default = 0
    s.e_inner.SetInParent()
    s.r_id = 0


def fill_ed2023_full(m, s):
    s.i_int32 = -5
    s.i_string = "implicit \u2713"
    s.i_bytes = b"\x00\xff"
    s.i_color = 99  # open: an unknown value stays in the field
    s.i_double = -0.0  # written: implicit presence tests the bits, not == 0
    s.i_bool = True
    s.e_int32 = 7
    s.e_string = "explicit"
    s.e_color = m.COLOR_GREEN
    s.e_size = m.SIZE_LARGE
    s.e_default = 42
    s.e_inner.a = 1
    s.r_id = I32_MIN
    s.packed_int32.extend([1, -1, 300])
    s.expanded_int32.extend([2, -2, 400])
    s.packed_size.extend([m.SIZE_SMALL, m.SIZE_LARGE])
    s.expanded_size.extend([m.SIZE_MEDIUM, m.SIZE_SMALL])
    s.packed_color.extend([m.COLOR_RED, 99, m.COLOR_UNSPECIFIED])
    s.expanded_double.extend([1.5, -0.0])
    s.delimited.a = 3
    s.delimited.b = "group"
    s.delimited_list.add(a=4)
    s.delimited_list.add(b="five")
    s.prefixed_list.add(a=6)
    s.prefixed_list.add()
    s.inner_map["k"].a = 8
    s.raw_string = "raw \u2713"
    s.raw_strings.extend(["", "two"])
    s.raw_map[1] = "one"
    s.c_delimited.b = "oneof group"


def fill_ed2024_full(m, n):
    n.id = 0  # explicit presence (the edition default): written
    n.level = m.LEVEL_ZERO
    n.mood = m.MOOD_HAPPY
    n.values.extend([1, 2])
    n.packed_values.extend([3, 4])
    n.levels.extend([m.LEVEL_TWO, m.LEVEL_ZERO])
    n.moods.extend([m.MOOD_HAPPY, 7])
    n.child.label = "child"
    n.child.child.label = "grandchild"
    n.child.child.values.append(5)
    n.children.add(label="first", id=1)
    n.children.add(label="")
    n.leaf.name = "leaf"
    n.leaves["a"].name = "leaf a"
    n.levels_by_id[9] = m.LEVEL_ONE
    n.label = "root"


def fill_ed2024_implicit_zero(m, n):
    n.mood = m.MOOD_UNSPECIFIED  # implicit presence: not written
    n.label = ""  # required: written, even empty


# ------------------------------------------------------ hand-written bytes


def varint(value):
    value &= 2**64 - 1
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


VARINT, I64, LEN, SGROUP, EGROUP, I32 = range(6)


def ld(number, payload):
    return key(number, LEN) + varint(len(payload)) + payload


def group(number, payload):
    return key(number, SGROUP) + payload + key(number, EGROUP)


# Encodings Python never writes but must read, as must Rust. The expected
# message is what Python parses from them.
RAW_SCALARS = b"".join(
    [
        key(1, VARINT) + varint(2**32 + 5),  # f_int32: a 64-bit varint, truncated to 5
        key(3, VARINT) + b"\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00",  # f_uint32 = 1, in ten bytes
        key(13, VARINT) + varint(2),  # f_bool: any non-zero is true
        ld(14, b"a") + ld(14, b"b"),  # f_string: the last one wins
        ld(17, key(1, VARINT) + varint(1)) + ld(17, ld(2, b"hi")),  # f_nested: merged
        ld(21, b""),  # r_int32: an empty packed run
        ld(21, varint(1) + varint(2)) + key(21, VARINT) + varint(3),  # r_int32: packed then not
        key(16, VARINT) + varint(0xFFFFFFFF),  # f_color: 32-bit -1, unknown
        key(41, VARINT) + varint(0),  # o_int32 = 0, present
        ld(71, b"x") + key(72, VARINT) + varint(7),  # choice: c_string, then c_int64 wins
    ]
)

RAW_MAPS = b"".join(
    [
        ld(51, ld(2, b"v")),  # no key: 0
        ld(51, ld(2, b"r") + key(1, VARINT) + varint(5)),  # value before key
        # (No entry with an unknown field: upb keeps such an entry whole as an
        # unknown field of the map's message, C++ drops the unknown field.)
        ld(51, key(1, VARINT) + varint(7) + key(1, VARINT) + varint(8) + ld(2, b"d")),  # key twice: the last
        ld(51, key(1, VARINT) + varint(9) + ld(2, b"first")),
        ld(51, key(1, VARINT) + varint(9) + ld(2, b"second")),  # same key again: replaces
        ld(62, ld(1, b"n")),  # no value: an empty Nested
        ld(62, ld(1, b"m") + ld(2, key(1, VARINT) + varint(1)) + ld(2, ld(2, b"x"))),  # value twice: merged
        ld(57, key(1, I32) + b"\x01\x00\x00\x00"),  # no value: COLOR_UNSPECIFIED
        ld(61, b""),  # empty entry: false -> ""
    ]
)

RAW_LEGACY_GROUPS = b"".join(
    [
        key(1, VARINT) + varint(1),
        ld(2, b"c"),
        group(
            20,
            key(21, VARINT) + varint(5)
            + key(99, VARINT) + varint(7)  # unknown inside the group
            + group(98, key(1, VARINT) + varint(1)),  # unknown group inside the group
        ),
        key(60, VARINT) + varint(2),
        group(150, key(1, VARINT) + varint(42)),  # unknown group, in the extension range
    ]
)

# Closed-enum map entries with a part missing. The expectation is written
# out in fill_legacy_map_completed, and checked against Python's own parse.
RAW_LEGACY_MAP = b"".join(
    [
        key(1, VARINT) + varint(1),
        ld(2, b"c"),
        ld(18, ld(1, b"k")),  # no value: the first value, LEVEL_ZERO
        ld(18, key(2, VARINT) + varint(2)),  # no key: ""
        key(60, VARINT) + varint(2),
    ]
)


# Values the editions schemas' closed enums do not know, in each spelling:
# Python keeps them, like Rust, in the unknown fields.
RAW_ED2023_CLOSED = b"".join(
    [
        key(4, VARINT) + varint(99),  # i_color: open, stays in the field
        key(13, VARINT) + varint(9),  # e_size
        key(20, VARINT) + varint(1),  # r_id
        ld(32, varint(1) + varint(9) + varint(2)),  # packed_size: the 9 is kept as a lone varint
        key(33, VARINT) + varint(9),  # expanded_size
        ld(34, varint(1) + varint(99)),  # packed_color: open
        key(51, VARINT) + varint(9),  # c_size: the oneof stays unset
    ]
)

# Not UTF-8, in the fields that do not check it (Python parses them and
# hands out bytes) and, for the Rust side, in one that does.
RAW_ED2023_NOT_UTF8 = b"".join(
    [
        key(20, VARINT) + varint(0),  # r_id
        ld(60, b"\xff\xfe"),  # raw_string
        ld(61, b"ok") + ld(61, b"\xc3\x28"),  # raw_strings
        ld(62, key(1, VARINT) + varint(1) + ld(2, b"\x80")),  # raw_map
    ]
)

RAW_ED2024_CLOSED = b"".join(
    [
        key(2, VARINT) + varint(7),  # level
        key(6, VARINT) + varint(1) + key(6, VARINT) + varint(7),  # levels
        ld(12, key(1, VARINT) + varint(5) + key(2, VARINT) + varint(7)),  # levels_by_id: kept whole
        ld(13, b"x"),  # label
    ]
)


def from_raw(data):
    def fill(m, e):
        e.MergeFromString(data)

    return fill


def fill_legacy_map_completed(m, l):
    l.id = 1
    l.code = "c"
    l.level_map.update({"k": m.LEVEL_ZERO, "": m.LEVEL_TWO})
    l.required_size = m.SIZE_MEDIUM


# ---------------------------------------------------------------- the table


class Case:
    def __init__(self, module_key, message, fill, reference=None, raw=None):
        self.module_key = module_key
        self.message = message
        self.fill = fill
        # Optional: the bytes `build` writes, instead of serializing `fill`.
        self.raw = raw
        # Optional: a function computing the same message by Python's own
        # behaviour; `check` first verifies the hand-written case against it.
        self.reference = reference


CASES = {
    "empty": Case("everything", "Everything", lambda m, e: None),
    "everything_full": Case("everything", "Everything", fill_everything_full),
    "everything_full_flipped": Case("everything_flipped", "Everything", fill_everything_full),
    "subset_exact": Case("everything", "Everything", fill_subset_exact),
    "optional_zero": Case("everything", "Everything", fill_optional_zero),
    "repeated_scalars": Case("everything", "Everything", fill_repeated_scalars),
    "repeated_scalars_flipped": Case("everything_flipped", "Everything", fill_repeated_scalars),
    "repeated_scalars_doubled": Case("everything", "Everything", fill_repeated_scalars_doubled),
    "oneof_c_string": Case("everything", "Everything", oneof("c_string", "\u00fcn\u00efc\u00f6d\u00e9 \U0001f680")),
    "oneof_c_string_empty": Case("everything", "Everything", oneof("c_string", "")),
    "oneof_c_int64": Case("everything", "Everything", oneof("c_int64", I64_MIN)),
    "oneof_c_int64_zero": Case("everything", "Everything", oneof("c_int64", 0)),
    "oneof_c_nested": Case("everything", "Everything", oneof("c_nested", lambda m: nested(m, -5, "n", m.Everything(c_int64=1)))),
    "oneof_c_nested_empty": Case("everything", "Everything", oneof("c_nested", lambda m: nested(m))),
    "oneof_c_color_blue": Case("everything", "Everything", oneof("c_color", -3)),
    "oneof_c_color_unknown": Case("everything", "Everything", oneof("c_color", 99)),
    "oneof_c_color_zero": Case("everything", "Everything", oneof("c_color", 0)),
    "oneof_c_bytes": Case("everything", "Everything", oneof("c_bytes", b"\x00\xff\x80")),
    "oneof_c_bytes_empty": Case("everything", "Everything", oneof("c_bytes", b"")),
    "merge_full_full": Case("everything", "Everything", concatenated("everything_full", "everything_full")),
    "merge_full_oneof_string": Case("everything", "Everything", concatenated("everything_full", "oneof_c_string")),
    "merge_oneof_nested_full": Case("everything", "Everything", concatenated("oneof_c_nested", "everything_full")),
    "raw_scalars": Case("everything", "Everything", from_raw(RAW_SCALARS), raw=RAW_SCALARS),
    "raw_maps": Case("everything", "Everything", from_raw(RAW_MAPS), raw=RAW_MAPS),
    "raw_legacy_groups": Case("proto2", "Legacy", from_raw(RAW_LEGACY_GROUPS), raw=RAW_LEGACY_GROUPS),
    "raw_legacy_map": Case(
        "proto2", "Legacy", fill_legacy_map_completed, lambda: module("proto2").Legacy.FromString(RAW_LEGACY_MAP), RAW_LEGACY_MAP
    ),
    "legacy_full": Case("proto2", "Legacy", fill_legacy_full),
    "merge_legacy_full_full": Case("proto2", "Legacy", concatenated("legacy_full", "legacy_full")),
    "merge_legacy_full_minimal": Case("proto2", "Legacy", concatenated("legacy_full", "legacy_minimal")),
    "legacy_full_flipped": Case("proto2_flipped", "Legacy", fill_legacy_full),
    "legacy_defaults_explicit": Case("proto2", "Legacy", fill_legacy_defaults_explicit),
    "legacy_minimal": Case("proto2", "Legacy", fill_legacy_minimal),
    "legacy_newer_enum": Case("proto2_newer", "Legacy", fill_legacy_newer_enum),
    "legacy_newer_enum_roundtripped": Case(
        "proto2_newer", "Legacy", fill_legacy_newer_enum_roundtripped, python_roundtrip_through_old_schema
    ),
    "ed2023_zeros": Case("editions2023", "Sample", fill_ed2023_zeros),
    "ed2023_full": Case("editions2023", "Sample", fill_ed2023_full),
    "ed2023_closed_unknown": Case("editions2023", "Sample", from_raw(RAW_ED2023_CLOSED), raw=RAW_ED2023_CLOSED),
    "ed2023_not_utf8": Case("editions2023", "Sample", from_raw(RAW_ED2023_NOT_UTF8), raw=RAW_ED2023_NOT_UTF8),
    "ed2024_full": Case("editions2024", "Node", fill_ed2024_full),
    "ed2024_implicit_zero": Case("editions2024", "Node", fill_ed2024_implicit_zero),
    "ed2024_closed_unknown": Case("editions2024", "Node", from_raw(RAW_ED2024_CLOSED), raw=RAW_ED2024_CLOSED),
}


def message_class(case):
    return getattr(module(case.module_key), case.message)


def build(name):
    case = CASES[name]
    m = module(case.module_key)
    msg = message_class(case)()
    case.fill(m, msg)
    return msg


def text(msg):
    from google.protobuf import text_format

    return text_format.MessageToString(msg, as_utf8=True, print_unknown_fields=True)


def differences(label_a, a, label_b, b):
    """None when equal, else a human-readable description."""
    bytes_a = a.SerializeToString(deterministic=True)
    bytes_b = b.SerializeToString(deterministic=True)
    if a == b and bytes_a == bytes_b:
        return None
    lines = list(
        difflib.unified_diff(
            text(a).splitlines(), text(b).splitlines(), fromfile=label_a, tofile=label_b, lineterm=""
        )
    )
    if not lines:
        lines = [
            "(text formats are identical: the difference is in bits, e.g. -0.0 vs 0.0)",
            f"{label_a} deterministic bytes: {bytes_a.hex()}",
            f"{label_b} deterministic bytes: {bytes_b.hex()}",
        ]
    return "\n".join(lines)


def cmd_build(name, out):
    raw = CASES[name].raw
    data = raw if raw is not None else build(name).SerializeToString()
    pathlib.Path(out).write_bytes(data)
    print(f"built {name}: {len(data)} bytes")
    return 0


def cmd_check(name, path):
    case = CASES[name]
    expected = build(name)
    if case.reference is not None:
        reference = case.reference()
        diff = differences("python-reference", reference, f"case {name}", expected)
        if diff is not None:
            print(f"peer self-check failed: case {name} is not what Python itself does\n{diff}", file=sys.stderr)
            return 1
    data = pathlib.Path(path).read_bytes()
    try:
        got = message_class(case).FromString(data)
    except Exception as e:  # DecodeError and friends
        print(f"check {name}: Python cannot parse the {len(data)} bytes: {e}\nbytes: {data.hex()}", file=sys.stderr)
        return 1
    diff = differences(f"expected ({name})", expected, "parsed from rust", got)
    if diff is not None:
        print(f"check {name}: MISMATCH\n{diff}\nrust bytes: {data.hex()}", file=sys.stderr)
        return 1
    print(f"check {name}: ok ({len(data)} bytes)")
    return 0


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    gen_dir = pathlib.Path(argv[1])
    command, args = argv[2], argv[3:]
    generate(gen_dir)
    if command == "gen" and not args:
        return 0
    if command == "cases" and not args:
        print("\n".join(CASES))
        return 0
    if command in ("build", "check") and len(args) == 2:
        name = args[0]
        if name not in CASES:
            fail(f"unknown case {name!r}; known: {', '.join(CASES)}")
        return cmd_build(*args) if command == "build" else cmd_check(*args)
    fail(f"bad command line: {argv[2:]}\n{__doc__}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
