#!/usr/bin/env python3
"""A grpcio `grpc.testing.TestService` backend for fleet tests, with faults
set by flags. Driven by tests/tests/fleet.rs.

    fleet_server.py --port=0 [--host=127.0.0.N] [--server_id=ID]
        [--fail_every=K] [--fail_code=UNAVAILABLE] [--pushback_ms=MS]
        [--delay_ms=D]

UnaryCall answers with `server_id` (when asked) after `delay_ms`; every
K-th call (K=1: every call) fails with `fail_code` instead, with
`grpc-retry-pushback-ms: MS` in its trailers when given. Prints
`fleet-server listening on HOST:PORT` once serving, and serves until
killed.
"""

import argparse
import sys
import threading
import time
from concurrent import futures

import grpc

import interop_stubs

empty_pb2, messages_pb2 = interop_stubs.load()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--server_id", default=None)
    parser.add_argument("--fail_every", type=int, default=0)
    parser.add_argument("--fail_code", default="UNAVAILABLE")
    parser.add_argument("--pushback_ms", default=None)
    parser.add_argument("--delay_ms", type=int, default=0)
    args = parser.parse_args()
    code = getattr(grpc.StatusCode, args.fail_code)
    lock = threading.Lock()
    calls = [0]

    def unary_call(request, context):
        with lock:
            calls[0] += 1
            n = calls[0]
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        if args.fail_every and n % args.fail_every == 0:
            if args.pushback_ms is not None:
                context.set_trailing_metadata((("grpc-retry-pushback-ms", args.pushback_ms),))
            context.abort(code, "fault injected by fleet_server.py")
        response = messages_pb2.SimpleResponse()
        if request.fill_server_id:
            response.server_id = server_id
        return response

    handler = grpc.method_handlers_generic_handler(
        "grpc.testing.TestService",
        {
            "UnaryCall": grpc.unary_unary_rpc_method_handler(
                unary_call,
                request_deserializer=messages_pb2.SimpleRequest.FromString,
                response_serializer=messages_pb2.SimpleResponse.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    server_id = args.server_id or f"{args.host}:{port}"
    server.start()
    print(f"fleet-server listening on {args.host}:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(main())
