#!/usr/bin/env python3
"""A minimal OTLP/gRPC metrics receiver (grpcio + PyPI opentelemetry-proto):
what a collector would see of an exporter. Driven by
tests/tests/observability.rs.

    otlp_receiver.py --port=0 --out=FILE

Each `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`
appends one JSON line to FILE: a list of metrics, each with its scope,
name, unit, kind and data points (attributes, count/sum/bounds for
histograms, value for sums). Prints `otlp-receiver listening on
127.0.0.1:PORT`, serves until killed.
"""

import argparse
import json
import threading
import time
from concurrent import futures

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc


def attributes(kvs):
    out = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


def describe(request):
    metrics = []
    for resource in request.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                points = []
                if kind == "histogram":
                    for p in metric.histogram.data_points:
                        points.append({
                            "attributes": attributes(p.attributes),
                            "count": p.count,
                            "sum": p.sum,
                            "bounds": list(p.explicit_bounds),
                        })
                elif kind == "sum":
                    for p in metric.sum.data_points:
                        value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        points.append({"attributes": attributes(p.attributes), "value": value})
                metrics.append({
                    "scope": scope.scope.name,
                    "name": metric.name,
                    "unit": metric.unit,
                    "kind": kind,
                    "points": points,
                })
    return metrics


class Receiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()

    def Export(self, request, context):
        line = json.dumps(describe(request))
        with self.lock, open(self.out, "a") as f:
            f.write(line + "\n")
        return metrics_service_pb2.ExportMetricsServiceResponse()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Receiver(args.out), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"otlp-receiver listening on 127.0.0.1:{port}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
