#!/usr/bin/env node
/**
 * connect-node peer: the gRPC interop test client (grpc/grpc
 * doc/interop-test-descriptions.md) over Connect, gRPC or gRPC-Web, driven
 * by tests/tests/interop_connect.rs. Usage:
 *
 *     node client.mjs --server_host=HOST --server_port=PORT --test_case=NAME[,NAME…]
 *                     [--protocol=connect|grpc|grpcweb] [--codec=proto|json]
 *                     [--http_version=2|1.1] [--use_tls=false]
 *
 * (`grpc-web` is accepted for `grpcweb`, the spelling of protocall's own
 * client.) Prints `NAME: PASS`, `NAME: PASS (partial: why)` or
 * `NAME: FAIL: why` per case; exits 0 when every case passed, 1 otherwise,
 * 2 on a bad command line, 3 when the packages are not installed.
 *
 * The cases make the assertions of protocall's own client
 * (examples/src/bin/interop-client.rs), with these differences:
 *
 *  - Bidirectional streaming needs HTTP/2 (connect-node cannot stream a
 *    request and a response at once over HTTP/1.1), and gRPC needs HTTP/2
 *    altogether. Over HTTP/1.1, ping_pong, empty_stream,
 *    cancel_after_first_response and timeout_on_sleeping_server fail
 *    saying so (the matrices skip them), and custom_metadata and
 *    status_code_and_message run their unary half only (partial).
 *  - client_compressed_streaming is PARTIAL: connect-node compresses every
 *    request message of a call or none, so the spec's second message
 *    (`expect_compressed: false`, to be sent uncompressed) goes compressed.
 *    The probe and the first, compressed message are as the spec says.
 *  - connect-node decompresses responses before the application sees
 *    them, so the HTTP client under the transport is wrapped (`Observed`)
 *    to read, from the bytes on the wire, the Content-Encoding of Connect
 *    unary responses and the compressed flag of every enveloped message;
 *    server_compressed_unary and server_compressed_streaming check them.
 *  - status_code_and_message also checks, on its unary call, what
 *    protocall's server adds to the spec: the echoed metadata and the
 *    request's grpc.testing.EchoStatus as an error detail.
 */

import {
  connect,
  connectNode,
  connectProtocol,
  protocols,
  testPb,
  messagesPb,
  parseFlags,
  parseBool,
  choice,
  usageError,
  ECHO_INITIAL,
  ECHO_TRAILING,
} from './common.mjs';

const { Code, ConnectError, createClient, encodeBinaryHeader, decodeBinaryHeader } = connect;
const { PayloadType, EchoStatusSchema } = messagesPb;

const PROGRAM = 'client.mjs';
const USAGE =
  'usage: node client.mjs --server_host=HOST --server_port=PORT --test_case=NAME[,NAME...] ' +
  '[--protocol=connect|grpc|grpcweb] [--codec=proto|json] [--http_version=2|1.1] [--use_tls=false]';

const ECHO_INITIAL_VALUE = 'test_initial_metadata_value';
const ECHO_TRAILING_VALUE = new Uint8Array([0xab, 0xab, 0xab]);
const SPECIAL_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n';

/** Cases that are one bidirectional stream: not expressible over HTTP/1.1. */
const BIDI_ONLY = ['ping_pong', 'empty_stream', 'cancel_after_first_response', 'timeout_on_sleeping_server'];

class Failure extends Error {}

function ensure(condition, message) {
  if (!condition) throw new Failure(message);
}

function codeName(code) {
  return code === 0 ? 'OK' : Code[code] ?? `code ${code}`;
}

function describe(error) {
  return `${codeName(error.code)}: ${JSON.stringify(error.rawMessage)}`;
}

function zeros(size) {
  return new Uint8Array(size);
}

function checkPayload(what, payload, size) {
  ensure(payload, `${what}: no payload`);
  const body = payload.body;
  ensure(body.length === size, `${what}: payload of ${body.length} bytes, expected ${size}`);
  ensure(
    body.every(b => b === 0),
    `${what}: payload is not all zeros`
  );
}

function checkSizes(what, responses, sizes) {
  ensure(responses.length === sizes.length, `${what}: ${responses.length} responses, expected ${sizes.length}`);
  responses.forEach((response, i) => checkPayload(`${what} response ${i}`, response.payload, sizes[i]));
}

/** Runs `call()`, which must fail with `code` (and `message`, when given); returns the error. */
async function expectError(what, code, call, message) {
  let error;
  try {
    await call();
  } catch (e) {
    error = ConnectError.from(e);
  }
  ensure(error, `${what}: succeeded, expected ${codeName(code)}`);
  ensure(error.code === code, `${what}: got ${describe(error)}, expected ${codeName(code)}`);
  if (message !== undefined) {
    ensure(
      error.rawMessage === message,
      `${what}: status message ${JSON.stringify(error.rawMessage)}, expected ${JSON.stringify(message)}`
    );
  }
  return error;
}

/** Any failure of `call()` becomes a Failure naming `what` and the status. */
async function ok(what, call) {
  try {
    return await call();
  } catch (e) {
    if (e instanceof Failure) throw e;
    throw new Failure(`${what} failed: ${describe(ConnectError.from(e))}`);
  }
}

async function collect(responses) {
  const all = [];
  for await (const response of responses) all.push(response);
  return all;
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Resolves `promise`, or fails after `ms` saying `what`. */
function bounded(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(what)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function largeRequest(fields) {
  return {
    responseType: PayloadType.COMPRESSABLE,
    responseSize: 314159,
    payload: { body: zeros(271828) },
    ...fields,
  };
}

function outputRequest(sizes, fields) {
  return {
    responseType: PayloadType.COMPRESSABLE,
    responseParameters: sizes.map(size => ({ size })),
    ...fields,
  };
}

// ------------------------------------------------------- the wire, observed

/**
 * What one response looked like on the wire: its Content-Encoding (what a
 * Connect unary response is compressed with) and the flags byte of every
 * enveloped message (bit 0: compressed), end-of-stream frames left out.
 */
class Wire {
  constructor(header) {
    this.contentType = header.get('content-type') ?? '';
    this.contentEncoding = header.get('content-encoding');
    this.flags = [];
  }

  /** gRPC, gRPC-Web and Connect streaming frame their messages. */
  get enveloped() {
    return /^application\/(grpc|connect\+)/.test(this.contentType);
  }

  /** Whether message `index` of the response arrived compressed. */
  compressed(index) {
    if (this.enveloped) {
      ensure(index < this.flags.length, `message ${index} was not seen on the wire`);
      return (this.flags[index] & 0x01) !== 0;
    }
    return this.contentEncoding !== null && this.contentEncoding !== 'identity';
  }
}

/**
 * Wraps a universal HTTP client (what connect-node's transports are built
 * on) so that the bytes of each response body pass a parser of the 5-byte
 * envelope prefixes on their way to connect. `observer.last` is the Wire
 * of the latest response; the cases that read it make one call at a time.
 */
function observed(httpClient) {
  const observer = {
    last: null,
    client: async request => {
      const response = await httpClient(request);
      const wire = new Wire(response.header);
      observer.last = wire;
      if (!wire.enveloped) return response;
      // Not messages: gRPC-Web's trailers frame (flag 0x80) and Connect's
      // end-of-stream frame (0x02); gRPC has neither.
      const type = wire.contentType;
      const endFlag = type.startsWith('application/grpc-web') ? 0x80 : type.startsWith('application/connect') ? 0x02 : 0;
      const body = envelopeTap(response.body, flags => {
        if ((flags & endFlag) === 0) wire.flags.push(flags);
      });
      return { ...response, body };
    },
  };
  return observer;
}

/**
 * The same chunks as `body`, calling `onEnvelope(flags)` for each envelope
 * whose 5-byte prefix has gone by; `throw` and `return` go to `body`'s
 * iterator as connect expects.
 */
function envelopeTap(body, onEnvelope) {
  const prefix = new Uint8Array(5);
  let have = 0; // bytes of the current prefix seen
  let remaining = 0; // bytes of the current message still to come
  const scan = chunk => {
    let i = 0;
    while (i < chunk.length) {
      if (remaining > 0) {
        const n = Math.min(remaining, chunk.length - i);
        remaining -= n;
        i += n;
        continue;
      }
      prefix[have++] = chunk[i++];
      if (have === 5) {
        onEnvelope(prefix[0]);
        remaining = new DataView(prefix.buffer).getUint32(1);
        have = 0;
      }
    }
  };
  return {
    [Symbol.asyncIterator]() {
      const inner = body[Symbol.asyncIterator]();
      return {
        async next() {
          const result = await inner.next();
          if (!result.done) scan(result.value);
          return result;
        },
        throw: inner.throw && (e => inner.throw(e)),
        return: inner.return && (v => inner.return(v)),
      };
    },
  };
}

// ------------------------------------------------------------ the transports

/**
 * One transport, built as connect-node's createConnectTransport,
 * createGrpcTransport and createGrpcWebTransport build theirs (the
 * protocol's createTransport over connect-node's HTTP client), so that the
 * HTTP client can be observed. `compress`: gzip every request message.
 */
function makeTransport({ protocol, json, baseUrl, httpClient, compress }) {
  return protocols[protocol].createTransport({
    httpClient,
    baseUrl,
    useBinaryFormat: !json,
    interceptors: [],
    acceptCompression: [connectNode.compressionGzip],
    sendCompression: compress ? connectNode.compressionGzip : null,
    ...connectProtocol.validateReadWriteMaxBytes(undefined, undefined, 0),
  });
}

class Client {
  constructor({ protocol, json, http2, baseUrl }) {
    this.protocol = protocol;
    this.http2 = http2;
    // One connection for every call, as one channel would be.
    this.session = http2 ? new connectNode.Http2SessionManager(baseUrl) : null;
    const http = http2
      ? connectNode.createNodeHttpClient({ httpVersion: '2', sessionProvider: () => this.session })
      : connectNode.createNodeHttpClient({ httpVersion: '1.1' });
    this.wire = observed(http);
    const transport = makeTransport({ protocol, json, baseUrl, httpClient: this.wire.client, compress: false });
    const compressed = makeTransport({ protocol, json, baseUrl, httpClient: this.wire.client, compress: true });
    this.service = createClient(testPb.TestService, transport);
    // connect-node sets compression per transport, not per call.
    this.compressed = createClient(testPb.TestService, compressed);
    this.unimplemented = createClient(testPb.UnimplementedService, transport);
  }

  close() {
    if (this.session) this.session.abort();
  }

  /** Fails a case that needs what this protocol or HTTP version lacks. */
  needsBidi(name) {
    ensure(
      this.http2,
      `${name} is one bidirectional stream, which connect-node cannot run over HTTP/1.1; ` +
        'run it with --http_version=2'
    );
  }

  /** The connection still serves calls (after a cancelled one). */
  async stillHealthy(what) {
    await ok(`EmptyCall after ${what}`, () => this.service.emptyCall({}, { timeoutMs: 10000 }));
  }

  async empty_unary() {
    const response = await ok('EmptyCall', () => this.service.emptyCall({}));
    ensure(response.$typeName === 'grpc.testing.Empty', `EmptyCall: a ${response.$typeName} response`);
  }

  async large_unary() {
    const response = await ok('UnaryCall', () => this.service.unaryCall(largeRequest()));
    checkPayload('UnaryCall', response.payload, 314159);
  }

  async client_compressed_unary() {
    const probe = largeRequest({ expectCompressed: { value: true } });
    await expectError('UnaryCall probe (uncompressed, expect_compressed=true)', Code.InvalidArgument, () =>
      this.service.unaryCall(probe)
    );
    let response = await ok('compressed UnaryCall', () => this.compressed.unaryCall(probe));
    checkPayload('compressed UnaryCall', response.payload, 314159);
    const plain = largeRequest({ expectCompressed: { value: false } });
    response = await ok('uncompressed UnaryCall', () => this.service.unaryCall(plain));
    checkPayload('uncompressed UnaryCall', response.payload, 314159);
  }

  async server_compressed_unary() {
    for (const compressed of [true, false]) {
      const what = `UnaryCall with response_compressed=${compressed}`;
      const request = largeRequest({ responseCompressed: { value: compressed } });
      const response = await ok(what, () => this.service.unaryCall(request));
      checkPayload(what, response.payload, 314159);
      const wire = this.wire.last;
      ensure(
        wire.compressed(0) === compressed,
        `${what}: the response arrived ${wire.compressed(0) ? 'compressed' : 'uncompressed'} ` +
          `(content-type ${wire.contentType}, content-encoding ${wire.contentEncoding}, flags ${wire.flags})`
      );
    }
  }

  async client_streaming() {
    const sizes = [27182, 8, 1828, 45904];
    const requests = sizes.map(size => ({ payload: { body: zeros(size) } }));
    const response = await ok('StreamingInputCall', () => this.service.streamingInputCall(fromArray(requests)));
    ensure(
      response.aggregatedPayloadSize === 74922,
      `aggregated_payload_size ${response.aggregatedPayloadSize}, expected 74922`
    );
  }

  /** PARTIAL: the second message goes compressed too (see the header). */
  async client_compressed_streaming() {
    const first = { expectCompressed: { value: true }, payload: { body: zeros(27182) } };
    await expectError(
      'StreamingInputCall probe (uncompressed, expect_compressed=true)',
      Code.InvalidArgument,
      () => this.service.streamingInputCall(fromArray([first]))
    );
    const second = { expectCompressed: { value: false }, payload: { body: zeros(45904) } };
    const response = await ok('compressed StreamingInputCall', () =>
      this.compressed.streamingInputCall(fromArray([first, second]))
    );
    ensure(
      response.aggregatedPayloadSize === 73086,
      `aggregated_payload_size ${response.aggregatedPayloadSize}, expected 73086`
    );
    return 'connect-node compresses every request message of a call, so the second message (expect_compressed=false) was sent compressed too';
  }

  async server_streaming() {
    const sizes = [31415, 9, 2653, 58979];
    const responses = await ok('StreamingOutputCall', () =>
      collect(this.service.streamingOutputCall(outputRequest(sizes)))
    );
    checkSizes('StreamingOutputCall', responses, sizes);
  }

  async server_compressed_streaming() {
    const request = {
      responseType: PayloadType.COMPRESSABLE,
      responseParameters: [
        { compressed: { value: true }, size: 31415 },
        { compressed: { value: false }, size: 92653 },
      ],
    };
    const responses = await ok('StreamingOutputCall', () => collect(this.service.streamingOutputCall(request)));
    checkSizes('StreamingOutputCall', responses, [31415, 92653]);
    const wire = this.wire.last;
    ensure(wire.enveloped, `StreamingOutputCall: content-type ${wire.contentType} is not a streaming one`);
    ensure(wire.compressed(0), `StreamingOutputCall: response 0 arrived uncompressed (flags ${wire.flags})`);
    ensure(!wire.compressed(1), `StreamingOutputCall: response 1 arrived compressed (flags ${wire.flags})`);
  }

  async ping_pong() {
    this.needsBidi('ping_pong');
    const steps = [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ];
    const requests = connectProtocol.createWritableIterable();
    const responses = this.service.fullDuplexCall(requests)[Symbol.asyncIterator]();
    await ok('FullDuplexCall', async () => {
      for (const [i, [size, body]] of steps.entries()) {
        await requests.write(outputRequest([size], { payload: { body: zeros(body) } }));
        const next = await responses.next();
        ensure(!next.done, `FullDuplexCall: the stream ended after ${i} responses`);
        checkPayload(`FullDuplexCall response ${i}`, next.value.payload, size);
      }
      requests.close();
      const end = await responses.next();
      ensure(end.done, 'FullDuplexCall: a response after the last request');
    });
  }

  async empty_stream() {
    this.needsBidi('empty_stream');
    const responses = await ok('FullDuplexCall', () => collect(this.service.fullDuplexCall(fromArray([]))));
    ensure(responses.length === 0, `FullDuplexCall: ${responses.length} responses to no request`);
  }

  async custom_metadata() {
    const headers = {
      [ECHO_INITIAL]: ECHO_INITIAL_VALUE,
      [ECHO_TRAILING]: encodeBinaryHeader(ECHO_TRAILING_VALUE),
    };
    const check = (what, header, trailer) => {
      ensure(
        header && header.get(ECHO_INITIAL) === ECHO_INITIAL_VALUE,
        `${what}: initial metadata ${ECHO_INITIAL} is ${JSON.stringify(header && header.get(ECHO_INITIAL))}, ` +
          `expected ${JSON.stringify(ECHO_INITIAL_VALUE)}`
      );
      const value = trailer && trailer.get(ECHO_TRAILING);
      ensure(value !== null && value !== undefined, `${what}: no trailing metadata ${ECHO_TRAILING}`);
      const bytes = decodeBinaryHeader(value);
      ensure(
        bytes.length === 3 && bytes.every(b => b === 0xab),
        `${what}: trailing metadata ${ECHO_TRAILING} is ${JSON.stringify(value)}, expected 0xababab`
      );
    };
    let header, trailer;
    const options = { headers, onHeader: h => (header = h), onTrailer: t => (trailer = t) };
    const response = await ok('UnaryCall', () => this.service.unaryCall(largeRequest(), options));
    checkPayload('UnaryCall', response.payload, 314159);
    check('UnaryCall', header, trailer);
    if (!this.http2) return 'over HTTP/1.1 the FullDuplexCall half cannot run; the UnaryCall half ran';
    header = trailer = undefined;
    const request = outputRequest([314159], { payload: { body: zeros(271828) } });
    const responses = await ok('FullDuplexCall', () => collect(this.service.fullDuplexCall(fromArray([request]), options)));
    checkSizes('FullDuplexCall', responses, [314159]);
    check('FullDuplexCall', header, trailer);
  }

  /**
   * Echo Status on UnaryCall and, over HTTP/2, FullDuplexCall. `extra`:
   * also check the echoed metadata and the EchoStatus error detail of the
   * unary call (protocall's server contract, beyond the spec).
   */
  async echoStatus(message, extra) {
    const responseStatus = { code: Code.Unknown, message };
    const headers = extra
      ? { [ECHO_INITIAL]: ECHO_INITIAL_VALUE, [ECHO_TRAILING]: encodeBinaryHeader(ECHO_TRAILING_VALUE) }
      : {};
    const error = await expectError(
      'UnaryCall',
      Code.Unknown,
      () => this.service.unaryCall({ responseStatus }, { headers }),
      message
    );
    if (extra) {
      ensure(
        error.metadata.get(ECHO_INITIAL) === ECHO_INITIAL_VALUE,
        `UnaryCall: the error's metadata has ${ECHO_INITIAL}=${JSON.stringify(error.metadata.get(ECHO_INITIAL))}, ` +
          `expected ${JSON.stringify(ECHO_INITIAL_VALUE)}`
      );
      const trailing = error.metadata.get(ECHO_TRAILING);
      ensure(
        trailing !== null && decodeBinaryHeader(trailing).every(b => b === 0xab),
        `UnaryCall: the error's metadata has ${ECHO_TRAILING}=${JSON.stringify(trailing)}, expected 0xababab`
      );
      const details = error.findDetails(EchoStatusSchema);
      ensure(
        details.length === 1 && details[0].code === Code.Unknown && details[0].message === message,
        `UnaryCall: error details ${JSON.stringify(details)} (of ${error.details.length}), ` +
          `expected one grpc.testing.EchoStatus equal to the request's`
      );
    }
    if (!this.http2) return 'over HTTP/1.1 the FullDuplexCall half cannot run; the UnaryCall half ran';
    await expectError(
      'FullDuplexCall',
      Code.Unknown,
      () => collect(this.service.fullDuplexCall(fromArray([{ responseStatus }]))),
      message
    );
  }

  async status_code_and_message() {
    return this.echoStatus('test status message', true);
  }

  async special_status_message() {
    // The spec's special message goes over UnaryCall only.
    const responseStatus = { code: Code.Unknown, message: SPECIAL_MESSAGE };
    await expectError(
      'UnaryCall',
      Code.Unknown,
      () => this.service.unaryCall({ responseStatus }),
      SPECIAL_MESSAGE
    );
  }

  async unimplemented_method() {
    await expectError('TestService/UnimplementedCall', Code.Unimplemented, () => this.service.unimplementedCall({}));
  }

  async unimplemented_service() {
    await expectError('UnimplementedService/UnimplementedCall', Code.Unimplemented, () =>
      this.unimplemented.unimplementedCall({})
    );
  }

  async cancel_after_begin() {
    // The call starts with no message to send, then is cancelled.
    const controller = new AbortController();
    const requests = connectProtocol.createWritableIterable();
    const call = this.service.streamingInputCall(requests, { signal: controller.signal });
    // Handled here, awaited below: an early failure is not an unhandled rejection.
    call.catch(() => {});
    await sleep(20);
    controller.abort();
    await expectError('StreamingInputCall', Code.Canceled, () => call);
    await this.stillHealthy('a cancelled call');
  }

  async cancel_after_first_response() {
    this.needsBidi('cancel_after_first_response');
    const what = 'FullDuplexCall';
    const controller = new AbortController();
    const requests = connectProtocol.createWritableIterable();
    const responses = this.service
      .fullDuplexCall(requests, { signal: controller.signal, timeoutMs: 30000 })
      [Symbol.asyncIterator]();
    await requests.write(outputRequest([31415], { payload: { body: zeros(27182) } }));
    const first = await ok(what, () => responses.next());
    ensure(!first.done, `${what}: the stream ended without a response`);
    checkPayload(`${what} first response`, first.value.payload, 31415);
    controller.abort();
    await expectError(what, Code.Canceled, () => responses.next());
    await this.stillHealthy('a cancelled call');
  }

  async timeout_on_sleeping_server() {
    this.needsBidi('timeout_on_sleeping_server');
    const what = 'FullDuplexCall';
    const requests = connectProtocol.createWritableIterable();
    // One message, then the stream stays open: the client waits.
    const responses = collect(this.service.fullDuplexCall(requests, { timeoutMs: 1 }));
    requests.write({ payload: { body: zeros(27182) } }).catch(() => {});
    await bounded(
      10000,
      `${what}: still running 10 s after a 1 ms deadline`,
      expectError(what, Code.DeadlineExceeded, () => responses)
    );
  }
}

/** An async iterable of `items`, ending after the last. */
async function* fromArray(items) {
  yield* items;
}

const CASES = [
  'empty_unary',
  'large_unary',
  'client_compressed_unary',
  'server_compressed_unary',
  'client_streaming',
  'client_compressed_streaming',
  'server_streaming',
  'server_compressed_streaming',
  'ping_pong',
  'empty_stream',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
  'cancel_after_begin',
  'cancel_after_first_response',
  'timeout_on_sleeping_server',
];

async function main() {
  const flags = parseFlags(PROGRAM, USAGE, [
    'server_host',
    'server_port',
    'test_case',
    'use_tls',
    'protocol',
    'codec',
    'http_version',
  ]);
  const host = flags.server_host || '127.0.0.1';
  const port = flags.server_port;
  if (port === undefined || !/^\d+$/.test(port) || Number(port) > 65535) {
    usageError(PROGRAM, `--server_port: a port number is required\n${USAGE}`);
  }
  if (flags.test_case === undefined) usageError(PROGRAM, `--test_case is required\n${USAGE}`);
  if (flags.use_tls !== undefined && parseBool(PROGRAM, 'use_tls', flags.use_tls)) {
    usageError(PROGRAM, '--use_tls=true: this test client has no TLS setup; use --use_tls=false');
  }
  if (flags.protocol === 'grpc-web') flags.protocol = 'grpcweb';
  const protocol = choice(PROGRAM, flags, 'protocol', ['connect', 'grpc', 'grpcweb']);
  const codec = choice(PROGRAM, flags, 'codec', ['proto', 'json']);
  const httpVersion = choice(PROGRAM, flags, 'http_version', ['2', '1.1']);
  if (protocol === 'grpc' && httpVersion !== '2') {
    usageError(PROGRAM, '--protocol=grpc needs --http_version=2 (gRPC is defined over HTTP/2 only)');
  }
  const cases = flags.test_case.split(',');
  const unknown = cases.filter(c => !CASES.includes(c));
  if (unknown.length > 0) {
    usageError(PROGRAM, `unknown test case(s) ${unknown.join(', ')}; known: ${CASES.join(', ')}`);
  }

  const hostPart = host.includes(':') ? `[${host}]` : host;
  const client = new Client({
    protocol,
    json: codec === 'json',
    http2: httpVersion === '2',
    baseUrl: `http://${hostPart}:${port}`,
  });
  let failed = false;
  for (const name of cases) {
    try {
      const partial = await client[name]();
      process.stdout.write(partial ? `${name}: PASS (partial: ${partial})\n` : `${name}: PASS\n`);
    } catch (error) {
      failed = true;
      const why = error instanceof Failure ? error.message : `unexpected error: ${error && error.stack}`;
      process.stdout.write(`${name}: FAIL: ${why}\n`);
    }
  }
  client.close();
  process.exit(failed ? 1 : 0);
}

main().catch(error => {
  process.stderr.write(`${PROGRAM}: ${error && error.stack}\n`);
  process.exit(1);
});
