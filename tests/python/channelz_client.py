#!/usr/bin/env python3
"""Reads a server's channelz (`grpc.channelz.v1.Channelz`) with grpcio and
stubs generated from channelz.proto by grpc_tools.protoc, as grpc's own
tools would. Driven by tests/tests/channelz.rs.

    channelz_client.py --target=HOST:PORT

Walks GetServers -> GetServerSockets -> GetSocket and GetTopChannels ->
GetSubchannel (paging with max_results=1 to exercise `end`), and prints one
JSON object: {"servers": [...], "channels": [...], "not_found": CODE}.
"""

import argparse
import json
import os
import sys

import grpc

import interop_stubs


def load():
    out = interop_stubs._generate(
        interop_stubs.REPO / "proto",
        [str(interop_stubs.REPO / "proto" / "grpc" / "channelz" / "v1" / "channelz.proto")],
    )
    grpc.__path__.append(os.path.join(out, "grpc"))
    from grpc.channelz.v1 import channelz_pb2, channelz_pb2_grpc

    return channelz_pb2, channelz_pb2_grpc


def address(a):
    if a.HasField("tcpip_address"):
        ip = a.tcpip_address.ip_address
        return {"ip": ".".join(str(b) for b in ip) if len(ip) == 4 else ip.hex(), "port": a.tcpip_address.port}
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    args = parser.parse_args()
    pb, pb_grpc = load()
    with grpc.insecure_channel(args.target) as channel:
        stub = pb_grpc.ChannelzStub(channel)
        servers = []
        start = 0
        while True:
            page = stub.GetServers(pb.GetServersRequest(start_server_id=start, max_results=1), timeout=10)
            for server in page.server:
                sid = server.ref.server_id
                one = stub.GetServer(pb.GetServerRequest(server_id=sid), timeout=10).server
                listen = [stub.GetSocket(pb.GetSocketRequest(socket_id=r.socket_id), timeout=10).socket
                          for r in one.listen_socket]
                sockets = []
                for ref in stub.GetServerSockets(pb.GetServerSocketsRequest(server_id=sid), timeout=10).socket_ref:
                    s = stub.GetSocket(pb.GetSocketRequest(socket_id=ref.socket_id), timeout=10).socket
                    sockets.append({
                        "id": ref.socket_id,
                        "local": address(s.local),
                        "remote": address(s.remote),
                        "streams_started": s.data.streams_started,
                        "streams_succeeded": s.data.streams_succeeded,
                        "streams_failed": s.data.streams_failed,
                        "messages_sent": s.data.messages_sent,
                        "messages_received": s.data.messages_received,
                    })
                servers.append({
                    "id": sid,
                    "calls_started": one.data.calls_started,
                    "calls_succeeded": one.data.calls_succeeded,
                    "calls_failed": one.data.calls_failed,
                    "last_call": one.data.last_call_started_timestamp.seconds,
                    "listen": [address(s.local) for s in listen],
                    "sockets": sockets,
                })
                start = sid + 1
            if page.end or not page.server:
                break
        channels = []
        for ch in stub.GetTopChannels(pb.GetTopChannelsRequest(), timeout=10).channel:
            one = stub.GetChannel(pb.GetChannelRequest(channel_id=ch.ref.channel_id), timeout=10).channel
            subchannels = []
            for ref in one.subchannel_ref:
                sub = stub.GetSubchannel(pb.GetSubchannelRequest(subchannel_id=ref.subchannel_id), timeout=10).subchannel
                sockets = []
                for sref in sub.socket_ref:
                    s = stub.GetSocket(pb.GetSocketRequest(socket_id=sref.socket_id), timeout=10).socket
                    sockets.append({
                        "local": address(s.local),
                        "remote": address(s.remote),
                        "streams_started": s.data.streams_started,
                        "streams_succeeded": s.data.streams_succeeded,
                        "streams_failed": s.data.streams_failed,
                        "messages_sent": s.data.messages_sent,
                        "messages_received": s.data.messages_received,
                    })
                subchannels.append({
                    "sockets": sockets,
                    "target": sub.data.target,
                    "state": pb.ChannelConnectivityState.State.Name(sub.data.state.state),
                    "calls_started": sub.data.calls_started,
                    "calls_succeeded": sub.data.calls_succeeded,
                    "calls_failed": sub.data.calls_failed,
                })
            channels.append({
                "target": one.data.target,
                "state": pb.ChannelConnectivityState.State.Name(one.data.state.state),
                "calls_started": one.data.calls_started,
                "calls_succeeded": one.data.calls_succeeded,
                "calls_failed": one.data.calls_failed,
                "subchannels": subchannels,
            })
        try:
            stub.GetServer(pb.GetServerRequest(server_id=1 << 60), timeout=10)
            not_found = "OK"
        except grpc.RpcError as e:
            not_found = e.code().name
    print(json.dumps({"servers": servers, "channels": channels, "not_found": not_found}))


if __name__ == "__main__":
    sys.exit(main())
