"""grpcio peer for protocall's health and reflection services.

    python health_reflection_peer.py check HOST:PORT SERVICE...
    python health_reflection_peer.py watch HOST:PORT SERVICE=COUNT...
    python health_reflection_peer.py reflect HOST:PORT v1|v1alpha

`check` calls grpc.health.v1.Health/Check for each service (PyPI
grpcio-health-checking's HealthStub) and prints `check 'NAME': STATUS` (the
serving status, or the gRPC status code of a failed call).

`watch` opens one Health/Watch per service, each on a thread of its own, and
prints `watch 'NAME': STATUS` as each message arrives (flushed at once, so the
Rust test can answer each line with its next change); a watch ends (is
cancelled) after COUNT messages, and the process exits 0 when all have.

`reflect` talks to grpc.reflection.<version>.ServerReflection: raw requests on
one stream (list, symbols, files, an unknown symbol, then a list again), then
PyPI grpcio-reflection's ProtoReflectionDescriptorDatabase under a
DescriptorPool, resolving the test schemas through it. Every observation is a
line in a fixed format that tests/tests/health_reflection.rs compares line by
line. grpcio-reflection ships v1alpha stubs (v1 ones only in newer releases):
v1 is called with the raw method path and the same messages, the two
versions sharing one wire format.
"""

import sys
import threading
import types

import grpc

TIMEOUT = 10  # seconds, per call


def out(line):
    with _print_lock:
        print(line, flush=True)


_print_lock = threading.Lock()


# ------------------------------------------------------------------ health


def health_stub(channel):
    from grpc_health.v1 import health_pb2_grpc

    return health_pb2_grpc.HealthStub(channel)


def status_name(status):
    from grpc_health.v1 import health_pb2

    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


def check(target, services):
    from grpc_health.v1 import health_pb2

    with grpc.insecure_channel(target) as channel:
        stub = health_stub(channel)
        for service in services:
            try:
                reply = stub.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT
                )
                out(f"check '{service}': {status_name(reply.status)}")
            except grpc.RpcError as e:
                out(f"check '{service}': {e.code().name}")


def watch(target, specs):
    from grpc_health.v1 import health_pb2

    failures = []

    def one(stub, service, count):
        call = stub.Watch(health_pb2.HealthCheckRequest(service=service))
        seen = 0
        try:
            for reply in call:
                out(f"watch '{service}': {status_name(reply.status)}")
                seen += 1
                if seen == count:
                    call.cancel()
                    return
            failures.append(f"watch {service!r} ended after {seen} messages")
        except grpc.RpcError as e:
            failures.append(f"watch {service!r}: {e.code().name} {e.details()}")

    with grpc.insecure_channel(target) as channel:
        stub = health_stub(channel)
        threads = []
        for spec in specs:
            service, count = spec.rsplit("=", 1)
            thread = threading.Thread(target=one, args=(stub, service, int(count)))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    if failures:
        sys.exit("; ".join(failures))


# -------------------------------------------------------------- reflection


def reflection_stub(channel, version):
    from grpc_reflection.v1alpha import reflection_pb2 as pb

    if version == "v1alpha":
        from grpc_reflection.v1alpha import reflection_pb2_grpc

        return pb, reflection_pb2_grpc.ServerReflectionStub(channel)
    try:
        from grpc_reflection.v1 import reflection_pb2 as pb1
        from grpc_reflection.v1 import reflection_pb2_grpc as grpc1

        return pb1, grpc1.ServerReflectionStub(channel)
    except ImportError:
        method = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=pb.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb.ServerReflectionResponse.FromString,
        )
        return pb, types.SimpleNamespace(ServerReflectionInfo=method)


def code_name(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.name
    return str(number)


def describe_response(request, response):
    """One line per response; checks it answers `request`."""
    if response.original_request != request:
        sys.exit(f"original_request {response.original_request} != {request}")
    kind = response.WhichOneof("message_response")
    if kind == "list_services_response":
        return "services: " + ",".join(s.name for s in response.list_services_response.service)
    if kind == "file_descriptor_response":
        from google.protobuf import descriptor_pb2

        names = []
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto()
            proto.ParseFromString(raw)
            names.append(proto.name)
        if len(set(names)) != len(names):
            sys.exit(f"a file sent twice in one response: {names}")
        return f"files: {names[0]} + {','.join(sorted(names[1:]))}"
    if kind == "all_extension_numbers_response":
        r = response.all_extension_numbers_response
        return f"extension numbers of {r.base_type_name}: {','.join(map(str, r.extension_number))}"
    if kind == "error_response":
        return f"error: {code_name(response.error_response.error_code)}"
    return f"unexpected response {kind}"


def raw_requests(pb, stub):
    """Every request on one stream, in order, each answered in order."""
    requests = [
        ("list", pb.ServerReflectionRequest(list_services="")),
        ("symbol service", pb.ServerReflectionRequest(file_containing_symbol="protocall.test.Echo")),
        ("symbol method", pb.ServerReflectionRequest(file_containing_symbol="protocall.test.Echo.Echo")),
        ("symbol message", pb.ServerReflectionRequest(file_containing_symbol="protocall.test.Everything")),
        (
            "symbol nested message",
            pb.ServerReflectionRequest(file_containing_symbol="protocall.test.Everything.Nested"),
        ),
        ("symbol enum value", pb.ServerReflectionRequest(file_containing_symbol="protocall.test.COLOR_RED")),
        (
            "symbol nested enum value",
            pb.ServerReflectionRequest(file_containing_symbol="grpc.health.v1.HealthCheckResponse.SERVING"),
        ),
        ("symbol field", pb.ServerReflectionRequest(file_containing_symbol="protocall.test.Everything.f_int32")),
        (
            "symbol well-known",
            pb.ServerReflectionRequest(file_containing_symbol="google.protobuf.Timestamp"),
        ),
        (
            "symbol inline service",
            pb.ServerReflectionRequest(file_containing_symbol="protocall.test.reflected.Clock"),
        ),
        ("symbol unknown", pb.ServerReflectionRequest(file_containing_symbol="protocall.test.Nope")),
        ("file", pb.ServerReflectionRequest(file_by_filename="test/everything.proto")),
        ("file unknown", pb.ServerReflectionRequest(file_by_filename="test/nope.proto")),
        (
            "extension",
            pb.ServerReflectionRequest(
                file_containing_extension=pb.ExtensionRequest(
                    containing_type="protocall.test2.Legacy", extension_number=101
                )
            ),
        ),
        (
            "extension unknown",
            pb.ServerReflectionRequest(
                file_containing_extension=pb.ExtensionRequest(
                    containing_type="protocall.test2.Legacy", extension_number=150
                )
            ),
        ),
        (
            "extension numbers",
            pb.ServerReflectionRequest(all_extension_numbers_of_type="protocall.test2.Legacy"),
        ),
        ("list again", pb.ServerReflectionRequest(list_services="")),
    ]
    # Each request is sent only after the previous answer arrived: the
    # stream stays open across requests, errors included.
    import queue

    pending = queue.Queue()

    def feed():
        while True:
            item = pending.get()
            if item is None:
                return
            yield item

    call = stub.ServerReflectionInfo(feed(), timeout=TIMEOUT)
    for label, request in requests:
        pending.put(request)
        out(f"{label}: {describe_response(request, next(call))}")
    pending.put(None)
    rest = list(call)
    if rest:
        sys.exit(f"unexpected extra responses: {rest}")


def database(channel, stub):
    """grpcio-reflection's client, over `stub` (its own is v1alpha)."""
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    db = ProtoReflectionDescriptorDatabase(channel)
    db._stub = stub
    return db


def method_line(method):
    arrow = lambda streaming: "stream " if streaming else ""  # noqa: E731
    return (
        f"{method.name}({arrow(method.client_streaming)}{method.input_type.full_name}) "
        f"returns ({arrow(method.server_streaming)}{method.output_type.full_name})"
    )


def through_pool(target, db):
    from google.protobuf import descriptor_pool, json_format, message_factory

    listed = db.get_services()
    out("db services: " + ",".join(listed))
    pool = descriptor_pool.DescriptorPool(db)
    # What `grpcurl describe` / `buf curl --list-methods` do: every listed
    # service must resolve.
    out(
        "every listed service resolves: "
        + ",".join(f"{name}/{len(pool.FindServiceByName(name).methods)}" for name in listed)
    )
    for name in ["protocall.test.Echo", "protocall.test.reflected.Clock"]:
        service = pool.FindServiceByName(name)
        out(f"pool {name} in {service.file.name}: " + "; ".join(method_line(m) for m in service.methods))
    everything = pool.FindMessageTypeByName("protocall.test.Everything")
    for field in ["wk_timestamp", "wk_any", "wk_struct", "f_nested", "f_color"]:
        f = everything.fields_by_name[field]
        target_type = f.message_type or f.enum_type
        out(f"pool field {field}: {target_type.full_name} from {target_type.file.name}")
    out(
        "pool dependencies of test/everything.proto: "
        + ",".join(d.name for d in pool.FindFileByName("test/everything.proto").dependencies)
    )
    legacy = pool.FindMessageTypeByName("protocall.test2.Legacy")
    out("db extension numbers: " + ",".join(map(str, sorted(db.FindAllExtensionNumbers(legacy.full_name)))))
    # By name (FindFileContainingSymbol): grpcio-reflection's
    # FindFileContainingExtension never asks the server while protobuf's base
    # DescriptorDatabase returns None for it instead of raising KeyError, so
    # the pool's FindExtensionByNumber only sees extensions already loaded.
    # The raw `extension` request above covers the server's side of that.
    for name in ["protocall.test.ext.ext_tag", "protocall.test.ext.Holder.nested_ext"]:
        extension = pool.FindExtensionByName(name)
        out(
            f"pool extension {name}: {extension.containing_type.full_name} "
            f"{extension.number} in {extension.file.name}"
        )
    numbers = sorted(e.number for e in pool.FindAllExtensions(legacy))
    out(f"pool extensions of {legacy.full_name}: {','.join(map(str, numbers))}")
    try:
        pool.FindMessageTypeByName("protocall.test.Nope")
        out("pool unknown: found?!")
    except KeyError:
        out("pool unknown: KeyError")

    # Source info survived the round trip through the Rust side.
    file = db.FindFileByName("test/everything.proto")
    comments = {tuple(loc.path): loc.leading_comments.strip() for loc in file.source_code_info.location}
    out(f"comment of the first enum: {comments.get((5, 0), '(none)')}")
    out(f"comment of the first message: {comments.get((4, 0), '(none)')}")

    # A message class made from the reflected descriptors, sent to Echo.
    Everything = message_factory.GetMessageClass(everything)
    request = Everything(f_int32=7)
    request.f_nested.b = "nested"
    request.wk_timestamp.seconds = 5
    request.r_color.append(pool.FindEnumTypeByName("protocall.test.Color").values_by_name["COLOR_BLUE"].number)
    with grpc.insecure_channel(target) as channel:
        echo = channel.unary_unary(
            "/protocall.test.Echo/Echo",
            request_serializer=Everything.SerializeToString,
            response_deserializer=Everything.FromString,
        )
        reply = echo(request, timeout=TIMEOUT)
    out("echo: " + json_format.MessageToJson(reply, indent=None, sort_keys=True))


def reflect(target, version):
    with grpc.insecure_channel(target) as channel:
        pb, stub = reflection_stub(channel, version)
        raw_requests(pb, stub)
        through_pool(target, database(channel, stub))


def main():
    command, target, *rest = sys.argv[1:]
    if command == "check":
        check(target, rest)
    elif command == "watch":
        watch(target, rest)
    elif command == "reflect":
        reflect(target, rest[0])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
