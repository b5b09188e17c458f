#!/usr/bin/env python3
"""grpcio peer: the gRPC interop test server (grpc.testing.TestService).

Driven by tests/tests/interop.rs. Usage:

    interop_server.py --port=PORT [--use_tls=false]

Listens on 127.0.0.1 (`--port=0` picks a free port) and prints
`interop_server.py listening on 127.0.0.1:PORT` once it serves. Implements
the server features of grpc/grpc doc/interop-test-descriptions.md:
EmptyCall, UnaryCall, StreamingOutputCall (with interval_us), StreamingInputCall,
FullDuplexCall, HalfDuplexCall, CompressedRequest (expect_compressed),
CompressedResponse (response_compressed, per message in streams), Echo
Status and Echo Metadata. UnimplementedCall is deliberately not registered,
so grpcio answers UNIMPLEMENTED for it. TLS is not supported.
"""

import argparse
import sys
import time
from concurrent import futures

import grpc

import interop_stubs

empty_pb2, messages_pb2 = interop_stubs.load()

SERVICE = "grpc.testing.TestService"
ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"
CODES = {code.value[0]: code for code in grpc.StatusCode}


def echo_metadata(context):
    """Echo Metadata: the two test keys go back as initial and trailing metadata."""
    metadata = dict(context.invocation_metadata())
    if ECHO_INITIAL in metadata:
        context.send_initial_metadata([(ECHO_INITIAL, metadata[ECHO_INITIAL])])
    if ECHO_TRAILING in metadata:
        context.set_trailing_metadata([(ECHO_TRAILING, metadata[ECHO_TRAILING])])


def echo_status(status, context):
    """Echo Status: ends the call with the status asked for, if any."""
    if status.code != 0:
        context.abort(CODES.get(status.code, grpc.StatusCode.UNKNOWN), status.message)


def check_compressed(expect_compressed, received, context):
    """CompressedRequest: a message that should have been compressed was not."""
    if expect_compressed.value and not received.compressed:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "expected a compressed request message, got an uncompressed one",
        )


def payload(response_type, size, context):
    if response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported response_type {response_type}")
    if size < 0:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"negative response size {size}")
    return messages_pb2.Payload(type=response_type, body=b"\0" * size)


def stream_response(response_type, params, context):
    if params.interval_us > 0:
        time.sleep(params.interval_us / 1e6)
    return messages_pb2.StreamingOutputCallResponse(
        payload=payload(response_type, params.size, context)
    )


def empty_call(received, context):
    echo_metadata(context)
    return empty_pb2.Empty()


def unary_call(received, context):
    request = received.message
    echo_metadata(context)
    check_compressed(request.expect_compressed, received, context)
    echo_status(request.response_status, context)
    if request.HasField("response_compressed"):
        context.set_compression(
            grpc.Compression.Gzip
            if request.response_compressed.value
            else grpc.Compression.NoCompression
        )
    return messages_pb2.SimpleResponse(
        payload=payload(request.response_type, request.response_size, context)
    )


def streaming_output_call(received, context):
    request = received.message
    echo_metadata(context)
    echo_status(request.response_status, context)
    if any(p.compressed.value for p in request.response_parameters):
        context.set_compression(grpc.Compression.Gzip)
    for params in request.response_parameters:
        response = stream_response(request.response_type, params, context)
        if not params.compressed.value:
            context.disable_next_message_compression()
        yield response


def streaming_input_call(request_iterator, context):
    echo_metadata(context)
    total = 0
    for received in request_iterator:
        check_compressed(received.message.expect_compressed, received, context)
        total += len(received.message.payload.body)
    return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)


def full_duplex_call(request_iterator, context):
    echo_metadata(context)
    for received in request_iterator:
        request = received.message
        echo_status(request.response_status, context)
        for params in request.response_parameters:
            yield stream_response(request.response_type, params, context)


def half_duplex_call(request_iterator, context):
    echo_metadata(context)
    requests = [received.message for received in request_iterator]
    for request in requests:
        echo_status(request.response_status, context)
        for params in request.response_parameters:
            yield stream_response(request.response_type, params, context)


def handlers():
    def method(kind, behaviour, request_class, response_class):
        return kind(
            behaviour,
            request_deserializer=interop_stubs.deserializer(request_class),
            response_serializer=response_class.SerializeToString,
        )

    unary, server_streaming = grpc.unary_unary_rpc_method_handler, grpc.unary_stream_rpc_method_handler
    client_streaming, bidi = grpc.stream_unary_rpc_method_handler, grpc.stream_stream_rpc_method_handler
    m = messages_pb2
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "EmptyCall": method(unary, empty_call, empty_pb2.Empty, empty_pb2.Empty),
            "UnaryCall": method(unary, unary_call, m.SimpleRequest, m.SimpleResponse),
            "StreamingOutputCall": method(
                server_streaming,
                streaming_output_call,
                m.StreamingOutputCallRequest,
                m.StreamingOutputCallResponse,
            ),
            "StreamingInputCall": method(
                client_streaming,
                streaming_input_call,
                m.StreamingInputCallRequest,
                m.StreamingInputCallResponse,
            ),
            "FullDuplexCall": method(
                bidi, full_duplex_call, m.StreamingOutputCallRequest, m.StreamingOutputCallResponse
            ),
            "HalfDuplexCall": method(
                bidi, half_duplex_call, m.StreamingOutputCallRequest, m.StreamingOutputCallResponse
            ),
        },
    )


def main():
    parser = argparse.ArgumentParser(description="gRPC interop test server (grpcio)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--use_tls", default="false")
    args = parser.parse_args()
    if interop_stubs.parse_bool("use_tls", args.use_tls):
        sys.exit("--use_tls=true: this test server has no TLS credentials; use --use_tls=false")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        handlers=[handlers()],
        options=[interop_stubs.NO_DECOMPRESSION],
    )
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    if port == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.port}")
    server.start()
    print(f"interop_server.py listening on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
