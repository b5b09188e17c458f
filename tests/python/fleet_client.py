#!/usr/bin/env python3
"""grpcio's side of the fleet differential test: the same flags and output
as protocall's `fleet-client` example. Driven by tests/tests/fleet.rs.

    fleet_client.py --target=TARGET [--service_config=JSON] --calls=N
        --concurrency=C [--timeout_ms=5000]

Each call is a `UnaryCall` with `fill_server_id = true` on a channel given
the service config as `grpc.service_config` (retries on, as by default).
Prints one line:

    {"ok": N, "failed": {"UNAVAILABLE": n}, "by_server": {"ID": n}}
"""

import argparse
import collections
import json
import sys
import threading
from concurrent import futures

import grpc

import interop_stubs

empty_pb2, messages_pb2 = interop_stubs.load()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--service_config", default=None)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout_ms", type=int, default=5000)
    args = parser.parse_args()
    options = [("grpc.enable_retries", 1)]
    scheme, _, addresses = args.target.partition(":")
    if scheme in ("ipv4", "ipv6") and "," in addresses:
        # grpcio's default :authority for an address list is the whole list
        # ("a:1,b:2"), which h2 (under protocall's server, and hyper's
        # generally) rejects as a malformed authority with RST_STREAM
        # PROTOCOL_ERROR. Name the first address, as protocall's client does.
        first = addresses.split(",")[0]
        options.append(("grpc.default_authority", first))
    if args.service_config:
        options.append(("grpc.service_config", args.service_config))
    channel = grpc.insecure_channel(args.target, options=options)
    call = channel.unary_unary(
        "/grpc.testing.TestService/UnaryCall",
        request_serializer=messages_pb2.SimpleRequest.SerializeToString,
        response_deserializer=messages_pb2.SimpleResponse.FromString,
    )
    lock = threading.Lock()
    ok = [0]
    failed = collections.Counter()
    by_server = collections.Counter()
    remaining = [args.calls]

    def worker():
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            request = messages_pb2.SimpleRequest(fill_server_id=True)
            try:
                response = call(request, timeout=args.timeout_ms / 1000)
            except grpc.RpcError as error:
                with lock:
                    failed[error.code().name] += 1
                continue
            with lock:
                ok[0] += 1
                by_server[response.server_id] += 1

    with futures.ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
        for _ in range(max(1, args.concurrency)):
            pool.submit(worker)
    channel.close()
    print(json.dumps({"ok": ok[0], "failed": dict(failed), "by_server": dict(by_server)}))


if __name__ == "__main__":
    sys.exit(main())
