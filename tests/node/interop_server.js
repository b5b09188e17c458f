#!/usr/bin/env node
'use strict';
/**
 * grpc-js peer: the gRPC interop test server (grpc.testing.TestService),
 * driven by tests/tests/interop_node.rs. Usage:
 *
 *     node interop_server.js --port=PORT [--use_tls=false]
 *
 * Listens on 127.0.0.1 (`--port=0` picks a free port) and prints
 * `interop_server.js listening on 127.0.0.1:PORT` once it serves.
 * Implements the server features of grpc/grpc
 * doc/interop-test-descriptions.md that grpc-js can express: EmptyCall,
 * UnaryCall, StreamingOutputCall (with interval_us), StreamingInputCall,
 * FullDuplexCall, HalfDuplexCall, Echo Status and Echo Metadata.
 * UnimplementedCall is deliberately not implemented, so grpc-js answers
 * UNIMPLEMENTED for it. TLS is not supported.
 *
 * Not implemented, because grpc-js cannot (as with grpc-node's own interop
 * server, which leaves them out too):
 *  - CompressedRequest (`expect_compressed`): grpc-js decompresses request
 *    messages before the handler sees them and removes `grpc-encoding`
 *    from the metadata it hands over, so a handler cannot tell whether a
 *    message arrived compressed. `expect_compressed` is ignored.
 *  - CompressedResponse (`response_compressed`, `ResponseParameters.compressed`):
 *    grpc-js's server never compresses a response message (it always
 *    writes the compressed flag 0). Those fields are ignored.
 * tests/tests/interop_node.rs therefore skips the four compression cases
 * against this server.
 */

const {
  grpc,
  loadTesting,
  parseFlags,
  parseBool,
  usageError,
  zeros,
  ECHO_INITIAL,
  ECHO_TRAILING,
} = require('./interop_common');

const PROGRAM = 'interop_server.js';
const USAGE = 'usage: node interop_server.js --port=PORT [--use_tls=false]';

/** A status error as grpc-js handlers report it. */
function statusError(code, details, metadata) {
  return { code, details, metadata };
}

/** Echo Metadata, initial half: sends the initial echo key back, if any. */
function echoInitial(call) {
  const values = call.metadata.get(ECHO_INITIAL);
  if (values.length > 0) {
    const metadata = new grpc.Metadata();
    metadata.set(ECHO_INITIAL, values[0]);
    call.sendMetadata(metadata);
  }
}

/** Echo Metadata, trailing half: the trailers to end the call with. */
function echoTrailer(call) {
  const trailer = new grpc.Metadata();
  const values = call.metadata.get(ECHO_TRAILING);
  if (values.length > 0) {
    trailer.set(ECHO_TRAILING, values[0]);
  }
  return trailer;
}

/** Echo Status: the error a request's `response_status` asks for, or null. */
function requestedStatus(responseStatus, call) {
  if (responseStatus && responseStatus.code !== 0) {
    return statusError(responseStatus.code, responseStatus.message, echoTrailer(call));
  }
  return null;
}

/** A payload of `size` zero bytes, or throws an INVALID_ARGUMENT status. */
function payload(type, size) {
  if (type !== 'COMPRESSABLE') {
    throw statusError(grpc.status.INVALID_ARGUMENT, `unsupported response_type ${type}`);
  }
  if (size < 0) {
    throw statusError(grpc.status.INVALID_ARGUMENT, `negative response size ${size}`);
  }
  return { type, body: zeros(size) };
}

function sleepMicros(us) {
  return us > 0 ? new Promise(resolve => setTimeout(resolve, us / 1000)) : Promise.resolve();
}

/**
 * Writes one response per ResponseParameters of `request`, each after its
 * interval_us, unless the call was cancelled meanwhile.
 */
async function respond(call, request) {
  for (const params of request.response_parameters) {
    await sleepMicros(params.interval_us);
    if (call.cancelled) return;
    call.write({ payload: payload(request.response_type, params.size) });
  }
}

/** Ends a streaming call with `error` (a status or an exception). */
function fail(call, error) {
  if (error && typeof error.code === 'number') {
    if (!error.metadata) error.metadata = echoTrailer(call);
    call.emit('error', error);
  } else {
    call.emit('error', statusError(grpc.status.INTERNAL, String(error), echoTrailer(call)));
  }
}

function emptyCall(call, callback) {
  echoInitial(call);
  callback(null, {}, echoTrailer(call));
}

function unaryCall(call, callback) {
  echoInitial(call);
  const request = call.request;
  const status = requestedStatus(request.response_status, call);
  if (status) {
    callback(status);
    return;
  }
  try {
    const body = payload(request.response_type, request.response_size);
    callback(null, { payload: body }, echoTrailer(call));
  } catch (error) {
    callback(error);
  }
}

function streamingOutputCall(call) {
  echoInitial(call);
  const request = call.request;
  const status = requestedStatus(request.response_status, call);
  if (status) {
    call.emit('error', status);
    return;
  }
  respond(call, request).then(
    () => call.cancelled || call.end(echoTrailer(call)),
    error => fail(call, error)
  );
}

function streamingInputCall(call, callback) {
  echoInitial(call);
  let total = 0;
  call.on('data', request => {
    total += request.payload ? request.payload.body.length : 0;
  });
  call.on('end', () => {
    callback(null, { aggregated_payload_size: total }, echoTrailer(call));
  });
  call.on('error', () => {}); // a cancelled call; nothing to answer
}

/**
 * FullDuplexCall (`bufferAll` false) answers each request as it arrives;
 * HalfDuplexCall (`bufferAll` true) reads every request first. A request
 * with `response_status` ends the call with that status.
 */
function duplex(bufferAll) {
  return call => {
    echoInitial(call);
    let done = false;
    let chain = Promise.resolve();
    const requests = [];
    const failOnce = error => {
      if (done) return;
      done = true;
      fail(call, error);
    };
    const handle = request => {
      chain = chain
        .then(async () => {
          if (done || call.cancelled) return;
          const status = requestedStatus(request.response_status, call);
          if (status) {
            failOnce(status);
            return;
          }
          await respond(call, request);
        })
        .catch(failOnce);
    };
    call.on('data', request => {
      if (bufferAll) requests.push(request);
      else handle(request);
    });
    call.on('end', () => {
      requests.forEach(handle);
      chain = chain
        .then(() => {
          if (!done && !call.cancelled) call.end(echoTrailer(call));
        })
        .catch(failOnce);
    });
    call.on('error', () => {}); // a cancelled call; nothing to answer
  };
}

function main() {
  const flags = parseFlags(PROGRAM, USAGE, ['port', 'use_tls']);
  if (flags.port === undefined || !/^\d+$/.test(flags.port) || Number(flags.port) > 65535) {
    usageError(PROGRAM, `--port: a port number is required\n${USAGE}`);
  }
  if (flags.use_tls !== undefined && parseBool(PROGRAM, 'use_tls', flags.use_tls)) {
    usageError(PROGRAM, '--use_tls=true: this test server has no TLS credentials; use --use_tls=false');
  }
  const testing = loadTesting();
  const server = new grpc.Server();
  server.addService(testing.TestService.service, {
    EmptyCall: emptyCall,
    UnaryCall: unaryCall,
    StreamingOutputCall: streamingOutputCall,
    StreamingInputCall: streamingInputCall,
    FullDuplexCall: duplex(false),
    HalfDuplexCall: duplex(true),
    // UnimplementedCall: left out on purpose (UNIMPLEMENTED).
    // CacheableUnaryCall: needs a caching proxy; not part of these tests.
  });
  server.bindAsync(`127.0.0.1:${flags.port}`, grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`${PROGRAM}: cannot listen on 127.0.0.1:${flags.port}: ${error.message}\n`);
      process.exit(1);
    }
    // Tests wait for this line; grpc-js serves once bindAsync reports.
    process.stdout.write(`${PROGRAM} listening on 127.0.0.1:${port}\n`);
  });
}

main();
