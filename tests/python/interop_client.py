#!/usr/bin/env python3
"""grpcio peer: the gRPC interop test client.

Driven by tests/tests/interop.rs. Usage, with the official client's flags:

    interop_client.py --server_host=HOST --server_port=PORT --test_case=NAME
                      [--server_host_override=HOST] [--use_tls=false]

NAME is one case of grpc/grpc doc/interop-test-descriptions.md (listed in
CASES), `all`, or several separated by commas. Prints `NAME: PASS` or
`NAME: FAIL: why` per case; exits 0 when every case passed, 1 otherwise, 2
on a bad command line. The cases assert what the spec asserts, including
the compressed flag of responses (see interop_stubs.py for how grpcio is
made to show it). Request compression in grpcio is per call, so the second
message of client_compressed_streaming goes compressed as well; servers only
check `expect_compressed: true`, so the assertions are unchanged.
"""

import argparse
import queue
import sys

import grpc

import interop_stubs

empty_pb2, messages_pb2 = interop_stubs.load()
m = messages_pb2

ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


class Failure(Exception):
    pass


def ensure(condition, message):
    if not condition:
        raise Failure(message)


def zeros(size):
    return m.Payload(body=b"\0" * size)


def check_payload(what, payload, size):
    ensure(len(payload.body) == size, f"{what}: payload of {len(payload.body)} bytes, expected {size}")
    ensure(payload.body.count(0) == size, f"{what}: payload is not all zeros")


def expect_status(what, call, code, message=None):
    """Runs `call` and asserts it fails with `code` (and `message`)."""
    try:
        call()
    except grpc.RpcError as error:
        ensure(error.code() == code, f"{what}: got {error.code()}: {error.details()!r}, expected {code}")
        if message is not None:
            ensure(
                error.details() == message,
                f"{what}: status message {error.details()!r}, expected {message!r}",
            )
        return
    raise Failure(f"{what}: succeeded, expected {code}")


class Pipe:
    """A request iterator fed one message at a time; close() half-closes."""

    _END = object()

    def __init__(self):
        self._queue = queue.Queue()

    def add(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def output_request(sizes, body=None, compressed=None):
    params = [m.ResponseParameters(size=size) for size in sizes]
    for p, flag in zip(params, compressed or []):
        p.compressed.value = flag
    request = m.StreamingOutputCallRequest(response_parameters=params)
    if body is not None:
        request.payload.CopyFrom(zeros(body))
    return request


def large_request(**fields):
    return m.SimpleRequest(response_size=314159, payload=zeros(271828), **fields)


class Client:
    def __init__(self, channel):
        def method(kind, service, name, request_class, response_class):
            return kind(
                f"/grpc.testing.{service}/{name}",
                request_serializer=request_class.SerializeToString,
                response_deserializer=interop_stubs.deserializer(response_class),
            )

        test = "TestService"
        uu, us = channel.unary_unary, channel.unary_stream
        su, ss = channel.stream_unary, channel.stream_stream
        self.empty = method(uu, test, "EmptyCall", empty_pb2.Empty, empty_pb2.Empty)
        self.unary = method(uu, test, "UnaryCall", m.SimpleRequest, m.SimpleResponse)
        self.output = method(
            us, test, "StreamingOutputCall", m.StreamingOutputCallRequest, m.StreamingOutputCallResponse
        )
        self.input = method(
            su, test, "StreamingInputCall", m.StreamingInputCallRequest, m.StreamingInputCallResponse
        )
        self.duplex = method(
            ss, test, "FullDuplexCall", m.StreamingOutputCallRequest, m.StreamingOutputCallResponse
        )
        self.unimplemented_call = method(uu, test, "UnimplementedCall", empty_pb2.Empty, empty_pb2.Empty)
        self.unimplemented_service_call = method(
            uu, "UnimplementedService", "UnimplementedCall", empty_pb2.Empty, empty_pb2.Empty
        )

    def still_healthy(self, what):
        try:
            self.empty(empty_pb2.Empty(), timeout=10)
        except grpc.RpcError as error:
            raise Failure(f"EmptyCall after {what} failed: {error.code()}: {error.details()}")

    def empty_unary(self):
        response = self.empty(empty_pb2.Empty())
        ensure(response.message == empty_pb2.Empty(), f"EmptyCall: non-empty response {response.message}")

    def large_unary(self):
        check_payload("UnaryCall", self.unary(large_request()).message.payload, 314159)

    def client_compressed_unary(self):
        probe = large_request(expect_compressed=m.BoolValue(value=True))
        expect_status(
            "UnaryCall probe (uncompressed, expect_compressed=true)",
            lambda: self.unary(probe),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        response = self.unary(probe, compression=grpc.Compression.Gzip)
        check_payload("compressed UnaryCall", response.message.payload, 314159)
        plain = large_request(expect_compressed=m.BoolValue(value=False))
        response = self.unary(plain, compression=grpc.Compression.NoCompression)
        check_payload("uncompressed UnaryCall", response.message.payload, 314159)

    def server_compressed_unary(self):
        for compressed in (True, False):
            what = f"UnaryCall with response_compressed={compressed}"
            response = self.unary(large_request(response_compressed=m.BoolValue(value=compressed)))
            ensure(
                response.compressed == compressed,
                f"{what}: the response's compressed flag is {response.compressed}",
            )
            check_payload(what, response.message.payload, 314159)

    def client_streaming(self):
        requests = [m.StreamingInputCallRequest(payload=zeros(n)) for n in (27182, 8, 1828, 45904)]
        size = self.input(iter(requests)).message.aggregated_payload_size
        ensure(size == 74922, f"aggregated_payload_size {size}, expected 74922")

    def client_compressed_streaming(self):
        first = m.StreamingInputCallRequest(
            expect_compressed=m.BoolValue(value=True), payload=zeros(27182)
        )
        expect_status(
            "StreamingInputCall probe (uncompressed, expect_compressed=true)",
            lambda: self.input(iter([first])),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        second = m.StreamingInputCallRequest(
            expect_compressed=m.BoolValue(value=False), payload=zeros(45904)
        )
        response = self.input(iter([first, second]), compression=grpc.Compression.Gzip)
        size = response.message.aggregated_payload_size
        ensure(size == 73086, f"aggregated_payload_size {size}, expected 73086")

    def check_sizes(self, what, responses, sizes):
        ensure(len(responses) == len(sizes), f"{what}: {len(responses)} responses, expected {len(sizes)}")
        for i, (response, size) in enumerate(zip(responses, sizes)):
            check_payload(f"{what} response {i}", response.message.payload, size)

    def server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        self.check_sizes("StreamingOutputCall", list(self.output(output_request(sizes))), sizes)

    def server_compressed_streaming(self):
        what = "StreamingOutputCall"
        request = output_request([31415, 92653], compressed=[True, False])
        responses = list(self.output(request))
        self.check_sizes(what, responses, [31415, 92653])
        flags = [r.compressed for r in responses]
        ensure(flags == [True, False], f"{what}: compressed flags {flags}, expected [True, False]")

    def ping_pong(self):
        what = "FullDuplexCall"
        steps = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        with Pipe() as pipe:
            responses = self.duplex(pipe, timeout=30)
            for i, (size, body) in enumerate(steps):
                pipe.add(output_request([size], body=body))
                response = next(responses, None)
                ensure(response is not None, f"{what}: stream ended after {i} responses")
                check_payload(f"{what} response {i}", response.message.payload, size)
            pipe.close()
            rest = list(responses)
            ensure(not rest, f"{what}: {len(rest)} responses too many")

    def empty_stream(self):
        responses = list(self.duplex(iter([])))
        ensure(not responses, f"FullDuplexCall: {len(responses)} responses, expected none")

    def custom_metadata(self):
        metadata = (ECHO_INITIAL, ECHO_TRAILING)

        def check(what, call):
            initial = dict(call.initial_metadata())
            trailing = dict(call.trailing_metadata())
            key, value = ECHO_INITIAL
            ensure(initial.get(key) == value, f"{what}: initial metadata {key} = {initial.get(key)!r}")
            key, value = ECHO_TRAILING
            ensure(trailing.get(key) == value, f"{what}: trailing metadata {key} = {trailing.get(key)!r}")

        response, call = self.unary.with_call(large_request(), metadata=metadata)
        check_payload("UnaryCall", response.message.payload, 314159)
        check("UnaryCall", call)

        responses = self.duplex(iter([output_request([314159], body=271828)]), metadata=metadata)
        self.check_sizes("FullDuplexCall", list(responses), [314159])
        check("FullDuplexCall", responses)

    def echo_status(self, message, duplex_too):
        status = m.EchoStatus(code=2, message=message)
        expect_status(
            "UnaryCall",
            lambda: self.unary(m.SimpleRequest(response_status=status)),
            grpc.StatusCode.UNKNOWN,
            message,
        )
        if duplex_too:
            request = m.StreamingOutputCallRequest(response_status=status)
            expect_status(
                "FullDuplexCall",
                lambda: list(self.duplex(iter([request]))),
                grpc.StatusCode.UNKNOWN,
                message,
            )

    def status_code_and_message(self):
        self.echo_status("test status message", True)

    def special_status_message(self):
        self.echo_status(SPECIAL_MESSAGE, False)

    def unimplemented_method(self):
        expect_status(
            "TestService/UnimplementedCall",
            lambda: self.unimplemented_call(empty_pb2.Empty()),
            grpc.StatusCode.UNIMPLEMENTED,
        )

    def unimplemented_service(self):
        expect_status(
            "UnimplementedService/UnimplementedCall",
            lambda: self.unimplemented_service_call(empty_pb2.Empty()),
            grpc.StatusCode.UNIMPLEMENTED,
        )

    def cancel_after_begin(self):
        with Pipe() as pipe:
            future = self.input.future(pipe)
            future.cancel()
            ensure(future.cancelled(), "StreamingInputCall: cancel() did not cancel the call")
            code = future.code()
            ensure(code == grpc.StatusCode.CANCELLED, f"StreamingInputCall: status {code}, expected CANCELLED")
        self.still_healthy("a cancelled call")

    def cancel_after_first_response(self):
        what = "FullDuplexCall"
        with Pipe() as pipe:
            responses = self.duplex(pipe, timeout=30)
            pipe.add(output_request([31415], body=27182))
            first = next(responses, None)
            ensure(first is not None, f"{what}: the stream ended without a response")
            check_payload(f"{what} first response", first.message.payload, 31415)
            responses.cancel()
            expect_status(what, lambda: next(responses), grpc.StatusCode.CANCELLED)
        self.still_healthy("a cancelled call")

    def timeout_on_sleeping_server(self):
        with Pipe() as pipe:
            responses = self.duplex(pipe, timeout=0.001)
            pipe.add(m.StreamingOutputCallRequest(payload=zeros(27182)))
            expect_status("FullDuplexCall", lambda: list(responses), grpc.StatusCode.DEADLINE_EXCEEDED)


CASES = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
]

# Flags of the official client that only matter for TLS or cloud credentials.
IGNORED = ["use_test_ca", "default_service_account", "oauth_scope", "service_account_key_file", "service_config_json"]


def main():
    parser = argparse.ArgumentParser(description="gRPC interop test client (grpcio)")
    parser.add_argument("--server_host", default="localhost")
    parser.add_argument("--server_host_override")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument("--test_case", required=True)
    parser.add_argument("--use_tls", default="false")
    for flag in IGNORED:
        parser.add_argument(f"--{flag}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if interop_stubs.parse_bool("use_tls", args.use_tls):
        parser.exit(2, "--use_tls=true: this test client has no TLS setup; use --use_tls=false\n")
    cases = CASES if args.test_case == "all" else args.test_case.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.exit(2, f"unknown test case(s) {', '.join(unknown)}; known: all, {', '.join(CASES)}\n")

    options = [interop_stubs.NO_DECOMPRESSION]
    if args.server_host_override:
        options.append(("grpc.default_authority", args.server_host_override))
    failed = False
    with grpc.insecure_channel(f"{args.server_host}:{args.server_port}", options=options) as channel:
        client = Client(channel)
        for case in cases:
            try:
                getattr(client, case)()
                print(f"{case}: PASS", flush=True)
            except (Failure, grpc.RpcError) as error:
                if isinstance(error, grpc.RpcError):
                    error = f"unexpected status {error.code()}: {error.details()!r}"
                print(f"{case}: FAIL: {error}", flush=True)
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
