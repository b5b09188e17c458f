#!/usr/bin/env python3
"""grpcio peer: a TLS user.UserService that wants bearer tokens, and the
OAuth 2.0 token endpoint that issues them.

Driven by tests/tests/interop_auth.rs. Usage:

    auth_server.py --port=PORT --tls_cert_file=F --tls_key_file=F \
        --client_id=ID --client_secret=SECRET --state_dir=DIR

The token endpoint (Python http.server, plain HTTP on 127.0.0.1, a free
port written to DIR/token_port before the gRPC server reports its own)
answers `POST /token` with the client-credentials grant (RFC 6749 §4.4):
`grant_type=client_credentials` as a form, the client authenticated with
HTTP basic (both parts form-encoded, §2.3.1). A good request gets
`{"access_token", "token_type": "Bearer", "expires_in": 3600}` with a fresh
random token; a wrong client `401 {"error": "invalid_client"}`; another
grant `400 {"error": "unsupported_grant_type"}`.

The gRPC server listens on 127.0.0.1 (`--port=0` picks a free port) over TLS
and prints `auth_server.py listening on 127.0.0.1:PORT`. A server
interceptor lets a call through only with `authorization: Bearer <token>`
for a token the endpoint issued, and answers UNAUTHENTICATED otherwise.
GetUser(1) is Grace Hopper, any other id NOT_FOUND.

The `user` modules are generated into DIR/stubs. DIR/state.json is rewritten after every token request and every call:
{"token_requests", "issued", "grants", "authorized_calls", "refused_calls"}.
"""

import argparse
import base64
import json
import os
import secrets
import threading
import urllib.parse
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

import interop_stubs

# Generated in main(), into DIR/stubs: this process is killed, not left to
# exit, so a temporary directory of its own would be left behind.
user_pb2 = user_pb2_grpc = None


class State:
    """What the peer saw, kept in DIR/state.json for the Rust test."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "state.json")
        self.lock = threading.Lock()
        self.tokens = set()
        self.counts = {
            "token_requests": 0,
            "issued": 0,
            "grants": [],
            "authorized_calls": 0,
            "refused_calls": 0,
        }
        self.save()

    def save(self):
        temporary = self.path + ".tmp"
        with open(temporary, "w") as f:
            json.dump(self.counts, f)
        os.replace(temporary, self.path)

    def update(self, change):
        with self.lock:
            result = change(self.counts)
            self.save()
            return result

    def issue(self, scope):
        token = secrets.token_urlsafe(32)

        def change(counts):
            self.tokens.add(token)
            counts["issued"] += 1
            counts["grants"].append({"scope": scope})

        self.update(change)
        return token

    def known(self, token):
        with self.lock:
            return token in self.tokens


def basic_credentials(header):
    """(client_id, client_secret) of an HTTP basic `Authorization`, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except ValueError:
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


def token_handler(state, client):
    class TokenEndpoint(BaseHTTPRequestHandler):
        def answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            state.update(lambda counts: counts.__setitem__("token_requests", counts["token_requests"] + 1))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            if self.path != "/token":
                return self.answer(404, {"error": "not_found"})
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if kind != "application/x-www-form-urlencoded":
                return self.answer(400, {"error": "invalid_request"})
            form = urllib.parse.parse_qs(body, keep_blank_values=True)
            if basic_credentials(self.headers.get("Authorization")) != client:
                return self.answer(
                    401, {"error": "invalid_client"}, [("WWW-Authenticate", 'Basic realm="token"')]
                )
            if form.get("grant_type") != ["client_credentials"]:
                return self.answer(400, {"error": "unsupported_grant_type"})
            scope = form.get("scope", [""])[0]
            token = state.issue(scope)
            self.answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

        def log_message(self, format, *args):
            pass

    return TokenEndpoint


class BearerCheck(grpc.ServerInterceptor):
    """Lets a call through only with a token the endpoint issued."""

    def __init__(self, state):
        self.state = state

    def intercept_service(self, continuation, details):
        values = [v for k, v in details.invocation_metadata if k == "authorization"]
        scheme, _, token = (values[0] if len(values) == 1 else "").partition(" ")
        if scheme.lower() == "bearer" and self.state.known(token.strip()):
            self.state.update(
                lambda counts: counts.__setitem__("authorized_calls", counts["authorized_calls"] + 1)
            )
            return continuation(details)
        self.state.update(lambda counts: counts.__setitem__("refused_calls", counts["refused_calls"] + 1))
        message = "no bearer token" if not values else "unknown bearer token"

        def refuse(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        return grpc.unary_unary_rpc_method_handler(refuse)


class Users:
    """user.UserService."""

    def GetUser(self, request, context):
        if request.id == 1:
            return user_pb2.GetUserResponse(id=1, name="Grace Hopper", email="grace@example.com")
        context.abort(grpc.StatusCode.NOT_FOUND, f"no user {request.id}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("port", "tls_cert_file", "tls_key_file", "client_id", "client_secret", "state_dir"):
        parser.add_argument(f"--{flag}", required=True)
    args = parser.parse_args()
    global user_pb2, user_pb2_grpc
    user_pb2, user_pb2_grpc = interop_stubs.load_user(os.path.join(args.state_dir, "stubs"))
    state = State(args.state_dir)

    http = ThreadingHTTPServer(("127.0.0.1", 0), token_handler(state, (args.client_id, args.client_secret)))
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    with open(os.path.join(args.state_dir, "token_port"), "w") as f:
        f.write(str(http.server_address[1]))

    with open(args.tls_cert_file, "rb") as f:
        cert = f.read()
    with open(args.tls_key_file, "rb") as f:
        key = f.read()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[BearerCheck(state)])
    user_pb2_grpc.add_UserServiceServicer_to_server(Users(), server)
    port = server.add_secure_port(f"127.0.0.1:{args.port}", grpc.ssl_server_credentials([(key, cert)]))
    if port == 0:
        raise SystemExit(f"auth_server.py: cannot listen on 127.0.0.1:{args.port}")
    server.start()
    print(f"auth_server.py listening on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
