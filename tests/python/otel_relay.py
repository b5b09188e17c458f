#!/usr/bin/env python3
"""A grpcio server instrumented with OpenTelemetry (the SDK's tracer and
opentelemetry-instrumentation-grpc, W3C trace context) that relays
`demo.Echo/Say` to another server. Driven by tests/tests/observability.rs
to show a trace crossing protocall -> grpcio -> protocall.

    otel_relay.py --port=0 --downstream=HOST:PORT

Say(StringValue) calls Say on the downstream server with the same value
(through an instrumented grpcio channel) and answers with the downstream
reply followed by " relay_trace=<trace id> relay_span=<span id>" of its
own server span. Prints `otel-relay listening on 127.0.0.1:PORT`, serves
until killed.
"""

import argparse
import sys
import time
from concurrent import futures

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient, GrpcInstrumentorServer

trace.set_tracer_provider(TracerProvider())
GrpcInstrumentorServer().instrument()
GrpcInstrumentorClient().instrument()

import grpc  # noqa: E402  (instrumented above)
from google.protobuf import wrappers_pb2  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--downstream", required=True)
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.downstream)
    say = channel.unary_unary(
        "/demo.Echo/Say",
        request_serializer=wrappers_pb2.StringValue.SerializeToString,
        response_deserializer=wrappers_pb2.StringValue.FromString,
    )

    def relay(request, context):
        reply = say(request, timeout=10)
        span = trace.get_current_span().get_span_context()
        return wrappers_pb2.StringValue(
            value=f"{reply.value} relay_trace={span.trace_id:032x} relay_span={span.span_id:016x}"
        )

    handler = grpc.method_handlers_generic_handler(
        "demo.Echo",
        {
            "Say": grpc.unary_unary_rpc_method_handler(
                relay,
                request_deserializer=wrappers_pb2.StringValue.FromString,
                response_serializer=wrappers_pb2.StringValue.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"otel-relay listening on 127.0.0.1:{port}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
