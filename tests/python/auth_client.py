#!/usr/bin/env python3
"""grpcio peer: bearer-token calls to protocall's secure-server.

Driven by tests/tests/interop_auth.rs. Usage:

    auth_client.py --port=PORT --ca_file=F --key_file=F --kid=KID \
        --issuer=I --audience=A [--stubs_dir=DIR]

Signs JWTs (ES256) with PyPI pyjwt (and cryptography) using the P-256 key in
--key_file (PEM), whose public JWK the server holds under --kid, and for
each case calls user.UserService/GetUser(1) and grpc.health.v1.Health/Check
over TLS (the server trusted through --ca_file) with the token as
grpc.access_token_call_credentials composed with the channel's SSL
credentials (the `none` case: the SSL credentials alone). Prints one line
per call, in a fixed order:

    CASE GetUser: OK id=1 name='Grace Hopper'
    CASE GetUser: CODE: message
    CASE Health: OK SERVING

and exits 0 once every call has answered (whatever it answered: the Rust
test judges the lines).
"""

import argparse
import sys
import time

import grpc

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as error:  # pragma: no cover - a setup problem
    sys.exit(
        f"auth_client.py: PyPI pyjwt and cryptography are needed ({error}); "
        "scripts/setup-peers.sh installs them"
    )

from grpc_health.v1 import health_pb2, health_pb2_grpc

import interop_stubs

# Generated in main(), into --stubs_dir when given (the test's own temporary
# directory, removed even if this process is killed).
user_pb2 = user_pb2_grpc = None

TIMEOUT = 10  # seconds, per call


def token(key, kid, claims):
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def cases(args, key):
    """(name, token or None): the tokens tried, in order."""
    now = int(time.time())
    other_key = ec.generate_private_key(ec.SECP256R1())

    def claims(**change):
        base = {
            "iss": args.issuer,
            "aud": args.audience,
            "sub": "grpcio-client",
            "scope": "users.read profile",
            "iat": now,
            "exp": now + 600,
        }
        base.update(change)
        return base

    return [
        ("valid", token(key, args.kid, claims())),
        ("expired", token(key, args.kid, claims(iat=now - 900, exp=now - 300))),
        ("wrong_audience", token(key, args.kid, claims(aud="another-api"))),
        ("wrong_issuer", token(key, args.kid, claims(iss="https://evil.test"))),
        # Same kid, another key: the signature cannot verify.
        ("other_key", token(other_key, args.kid, claims())),
        ("readonly_scope", token(key, args.kid, claims(scope="users.readonly"))),
        ("none", None),
    ]


def describe(error):
    return f"{error.code().name}: {error.details()}"


def call(ssl, name, bearer, port):
    credentials = ssl
    if bearer is not None:
        credentials = grpc.composite_channel_credentials(
            ssl, grpc.access_token_call_credentials(bearer)
        )
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        users = user_pb2_grpc.UserServiceStub(channel)
        try:
            user = users.GetUser(user_pb2.GetUserRequest(id=1), timeout=TIMEOUT)
            print(f"{name} GetUser: OK id={user.id} name={user.name!r}", flush=True)
        except grpc.RpcError as error:
            print(f"{name} GetUser: {describe(error)}", flush=True)
        health = health_pb2_grpc.HealthStub(channel)
        try:
            reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT)
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            print(f"{name} Health: OK {status}", flush=True)
        except grpc.RpcError as error:
            print(f"{name} Health: {describe(error)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("port", "ca_file", "key_file", "kid", "issuer", "audience"):
        parser.add_argument(f"--{flag}", required=True)
    parser.add_argument("--stubs_dir")
    args = parser.parse_args()
    global user_pb2, user_pb2_grpc
    user_pb2, user_pb2_grpc = interop_stubs.load_user(args.stubs_dir)
    with open(args.ca_file, "rb") as f:
        ssl = grpc.ssl_channel_credentials(root_certificates=f.read())
    with open(args.key_file, "rb") as f:
        key = f.read()
    for name, bearer in cases(args, key):
        call(ssl, name, bearer, args.port)


if __name__ == "__main__":
    main()
