#!/usr/bin/env python3
"""Reads a binary log file — length-delimited grpc.binarylog.v1.GrpcLogEntry
records (varint length, then the entry) — with Python protobuf and modules
generated from binarylog.proto by grpc_tools.protoc. Driven by
tests/tests/binlog.rs.

    binlog_read.py FILE

Prints one JSON list: each entry's call_id, sequence, type, logger,
truncation, peer and payload (metadata keys and values as text, message
length and data as hex, status).
"""

import json
import os
import sys

import grpc
from google.protobuf.internal.decoder import _DecodeVarint32

import interop_stubs


def load():
    out = interop_stubs._generate(
        interop_stubs.REPO / "proto",
        [str(interop_stubs.REPO / "proto" / "grpc" / "binlog" / "v1" / "binarylog.proto")],
    )
    grpc.__path__.append(os.path.join(out, "grpc"))
    from grpc.binlog.v1 import binarylog_pb2

    return binarylog_pb2


def metadata(m):
    return [[e.key, e.value.decode("latin-1")] for e in m.entry]


def main():
    pb = load()
    data = open(sys.argv[1], "rb").read()
    entries = []
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        entry = pb.GrpcLogEntry.FromString(data[pos:pos + size])
        pos += size
        out = {
            "call_id": entry.call_id,
            "seq": entry.sequence_id_within_call,
            "type": pb.GrpcLogEntry.EventType.Name(entry.type),
            "logger": pb.GrpcLogEntry.Logger.Name(entry.logger),
            "truncated": entry.payload_truncated,
            "has_timestamp": entry.HasField("timestamp"),
        }
        if entry.HasField("peer"):
            out["peer"] = {"type": pb.Address.Type.Name(entry.peer.type), "address": entry.peer.address, "port": entry.peer.ip_port}
        which = entry.WhichOneof("payload")
        if which == "client_header":
            h = entry.client_header
            out["method"] = h.method_name
            out["authority"] = h.authority
            out["metadata"] = metadata(h.metadata)
            out["timeout_s"] = h.timeout.seconds if h.HasField("timeout") else None
        elif which == "server_header":
            out["metadata"] = metadata(entry.server_header.metadata)
        elif which == "message":
            out["length"] = entry.message.length
            out["data"] = entry.message.data.hex()
        elif which == "trailer":
            t = entry.trailer
            out["status_code"] = t.status_code
            out["status_message"] = t.status_message
            out["metadata"] = metadata(t.metadata)
        entries.append(out)
    print(json.dumps(entries))


if __name__ == "__main__":
    sys.exit(main())
