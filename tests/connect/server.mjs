#!/usr/bin/env node
/**
 * connect-node peer: the gRPC interop test server (grpc.testing.TestService
 * as grpc/grpc doc/interop-test-descriptions.md describes it), serving
 * Connect, gRPC and gRPC-Web on one port, driven by
 * tests/tests/interop_connect_client.rs. Usage:
 *
 *     node server.mjs --port=PORT [--http_version=2|1.1] [--protocols=LIST] [--use_tls=false]
 *
 * Listens on 127.0.0.1 (`--port=0` picks a free port) over cleartext
 * HTTP/2 with prior knowledge (`--http_version=2`, the default) or
 * HTTP/1.1 (`--http_version=1.1`; Node serves one or the other on a
 * cleartext port, not both, and gRPC itself needs HTTP/2), and prints
 * `connect-server listening on 127.0.0.1:PORT` once it serves.
 * `--protocols` (a comma-separated subset of connect,grpc,grpcweb; all
 * three by default) limits what it answers: a call in another protocol
 * gets HTTP 415, so a matrix that means to test one protocol fails if the
 * client under test speaks another.
 *
 * Implements EmptyCall, UnaryCall, StreamingOutputCall (with interval_us),
 * StreamingInputCall, FullDuplexCall, HalfDuplexCall, Echo Status (on
 * UnaryCall also with the request's EchoStatus as an error detail, as
 * protocall's server does) and Echo Metadata. UnimplementedCall is left
 * out, so connect answers UNIMPLEMENTED for it; UnimplementedService is
 * not served at all (HTTP 404, which clients read as UNIMPLEMENTED).
 *
 * Not implemented, because connect-node's handlers cannot (the interop
 * tests skip the four compression cases against this server):
 *  - CompressedRequest (`expect_compressed`): request messages are
 *    decompressed before the handler sees them, and for gRPC and every
 *    streaming call the compressed flag is per message, which connect does
 *    not expose; `expect_compressed` is ignored.
 *  - CompressedResponse (`response_compressed`, `ResponseParameters.compressed`):
 *    connect compresses every response message of a call (at least
 *    compressMinBytes long) whenever the client accepts gzip, and a handler
 *    cannot choose per message; those fields are ignored.
 */

import http from 'node:http';
import http2 from 'node:http2';

import {
  connect,
  connectNode,
  testPb,
  messagesPb,
  parseFlags,
  parseBool,
  choice,
  usageError,
  ECHO_INITIAL,
  ECHO_TRAILING,
} from './common.mjs';

const { Code, ConnectError } = connect;
const { PayloadType, EchoStatusSchema } = messagesPb;

const PROGRAM = 'connect-server';
const USAGE =
  'usage: node server.mjs --port=PORT [--http_version=2|1.1] [--protocols=connect,grpc,grpcweb] [--use_tls=false]';
const PROTOCOLS = ['connect', 'grpc', 'grpcweb'];

/** Echo Metadata: the echo keys of the request go back as header and trailer. */
function echoMetadata(context) {
  const initial = context.requestHeader.get(ECHO_INITIAL);
  if (initial !== null) context.responseHeader.set(ECHO_INITIAL, initial);
  // A -bin value stays base64 on both sides; it goes back as it came.
  const trailing = context.requestHeader.get(ECHO_TRAILING);
  if (trailing !== null) context.responseTrailer.set(ECHO_TRAILING, trailing);
}

/** Echo Status: the error a request's `response_status` asks for, or null. */
function requestedStatus(status) {
  if (!status || status.code === 0) return null;
  return new ConnectError(status.message, status.code, undefined, [
    { desc: EchoStatusSchema, value: { code: status.code, message: status.message } },
  ]);
}

/** A payload of `size` zero bytes, or an INVALID_ARGUMENT error. */
function payload(type, size) {
  if (type !== PayloadType.COMPRESSABLE) {
    throw new ConnectError(`unsupported response_type ${type}`, Code.InvalidArgument);
  }
  if (size < 0) throw new ConnectError(`negative response size ${size}`, Code.InvalidArgument);
  return { type, body: new Uint8Array(size) };
}

/** Sleeps `us` microseconds, or rejects once the call is cancelled. */
function sleepMicros(us, signal) {
  if (us <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, us / 1000);
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
  });
}

/** One response per ResponseParameters of `request`, each after its interval_us. */
async function* respond(request, signal) {
  for (const params of request.responseParameters) {
    await sleepMicros(params.intervalUs, signal);
    yield { payload: payload(request.responseType, params.size) };
  }
}

const service = {
  emptyCall(_request, context) {
    echoMetadata(context);
    return {};
  },

  unaryCall(request, context) {
    echoMetadata(context);
    const status = requestedStatus(request.responseStatus);
    if (status) throw status;
    return { payload: payload(request.responseType, request.responseSize) };
  },

  async *streamingOutputCall(request, context) {
    echoMetadata(context);
    const status = requestedStatus(request.responseStatus);
    if (status) throw status;
    yield* respond(request, context.signal);
  },

  async streamingInputCall(requests, context) {
    echoMetadata(context);
    let total = 0;
    for await (const request of requests) total += request.payload ? request.payload.body.length : 0;
    return { aggregatedPayloadSize: total };
  },

  /** Answers each request as it arrives; `response_status` ends the call. */
  async *fullDuplexCall(requests, context) {
    echoMetadata(context);
    for await (const request of requests) {
      const status = requestedStatus(request.responseStatus);
      if (status) throw status;
      yield* respond(request, context.signal);
    }
  },

  /** Reads every request first, then answers them in order. */
  async *halfDuplexCall(requests, context) {
    echoMetadata(context);
    const all = [];
    for await (const request of requests) all.push(request);
    for (const request of all) {
      const status = requestedStatus(request.responseStatus);
      if (status) throw status;
      yield* respond(request, context.signal);
    }
  },

  // unimplementedCall: left out on purpose (UNIMPLEMENTED).
  // cacheableUnaryCall: needs a caching proxy; not part of these tests.
};

function main() {
  const flags = parseFlags(PROGRAM, USAGE, ['port', 'http_version', 'protocols', 'use_tls']);
  if (flags.port === undefined || !/^\d+$/.test(flags.port) || Number(flags.port) > 65535) {
    usageError(PROGRAM, `--port: a port number is required\n${USAGE}`);
  }
  if (flags.use_tls !== undefined && parseBool(PROGRAM, 'use_tls', flags.use_tls)) {
    usageError(PROGRAM, '--use_tls=true: this test server has no TLS credentials; use --use_tls=false');
  }
  const httpVersion = choice(PROGRAM, flags, 'http_version', ['2', '1.1']);
  const protocols = (flags.protocols ?? PROTOCOLS.join(',')).split(',');
  const unknown = protocols.filter(p => !PROTOCOLS.includes(p));
  if (unknown.length > 0 || protocols.length === 0) {
    usageError(PROGRAM, `--protocols: unknown protocol(s) ${unknown.join(', ')}; known: ${PROTOCOLS.join(', ')}`);
  }
  const handler = connectNode.connectNodeAdapter({
    connect: protocols.includes('connect'),
    grpc: protocols.includes('grpc'),
    grpcWeb: protocols.includes('grpcweb'),
    acceptCompression: [connectNode.compressionGzip],
    routes: router => router.service(testPb.TestService, service),
  });
  const server = httpVersion === '2' ? http2.createServer(handler) : http.createServer(handler);
  server.on('error', error => {
    process.stderr.write(`${PROGRAM}: cannot listen on 127.0.0.1:${flags.port}: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(Number(flags.port), '127.0.0.1', () => {
    // Tests wait for this line.
    process.stdout.write(`${PROGRAM} listening on 127.0.0.1:${server.address().port}\n`);
  });
}

main();
