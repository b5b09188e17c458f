// The browser half of tests/tests/web_chromium.rs: connect-web's three
// browser transports against grpc.testing.TestService at `?api=URL`.
//
// The page is served from another origin than the API, so every call here
// is a cross-origin fetch: the browser sends a CORS preflight for the
// non-simple content types and the custom headers, and only shows the
// response headers the server exposes. That is the point of running it in
// a real browser rather than in Node.
//
// Results go three ways: a table row per case, a banner whose colour is the
// verdict (what the screenshot shows), and `window.__webInterop`, which the
// driver (run.mjs) reads into results.json.
//
// build.mjs copies this file next to the stubs protoc-gen-es generates
// from proto/grpc/testing at build time, hence the `../gen` imports.

import {
  Code,
  ConnectError,
  createClient,
  decodeBinaryHeader,
  encodeBinaryHeader,
  type CallOptions,
  type Client,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { TestService } from "../gen/grpc/testing/test_pb";
import { EchoStatusSchema } from "../gen/grpc/testing/messages_pb";

/** One case's outcome, as results.json records it. */
interface CaseResult {
  transport: string;
  case: string;
  pass: boolean;
  detail: string;
  ms: number;
}

/** What the driver reads; `done` flips last. */
interface Report {
  done: boolean;
  api: string;
  origin: string;
  userAgent: string;
  expected: number;
  results: CaseResult[];
  /** The unary case's reply payload length per transport (null: no reply). */
  unaryPayloadLength: Record<string, number | null>;
  fatal: string | null;
}

declare global {
  interface Window {
    __webInterop: Report;
  }
}

type TestClient = Client<typeof TestService>;

interface TransportSpec {
  name: string;
  /** gRPC-Web (trailers in the body) rather than Connect. */
  grpcWeb: boolean;
  /** Which timeout header the protocol uses (for the server-side deadline case). */
  timeoutHeader: [string, string];
  /** The transport; `fetch` replaces the browser's (to see raw responses). */
  make(baseUrl: string, fetch?: typeof globalThis.fetch): Transport;
}

// The three browser transports of connect-web. grpc-web is binary only here:
// connect-web's JSON flavour of gRPC-Web is not something servers are
// expected to speak.
const TRANSPORTS: TransportSpec[] = [
  {
    name: "grpc-web",
    grpcWeb: true,
    timeoutHeader: ["grpc-timeout", "500m"],
    make: (baseUrl, fetch) => createGrpcWebTransport({ baseUrl, fetch, useBinaryFormat: true }),
  },
  {
    name: "connect-proto",
    grpcWeb: false,
    timeoutHeader: ["connect-timeout-ms", "500"],
    make: (baseUrl, fetch) => createConnectTransport({ baseUrl, fetch, useBinaryFormat: true }),
  },
  {
    name: "connect-json",
    grpcWeb: false,
    timeoutHeader: ["connect-timeout-ms", "500"],
    make: (baseUrl, fetch) => createConnectTransport({ baseUrl, fetch, useBinaryFormat: false }),
  },
];

// Values of the official interop cases (grpc/grpc doc/interop-test-descriptions.md).
const REQUEST_SIZE = 271828;
const RESPONSE_SIZE = 314159;
const STREAM_SIZES = [31415, 9, 2653, 58979];
const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE = "test_initial_metadata_value";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE = new Uint8Array([0xab, 0xab, 0xab]);
const ERROR_STATUS = { code: 2, message: "test status message" };

/** Bound on any one case, so a hung call becomes a FAIL row, not a stuck page. */
const CASE_LIMIT_MS = 15_000;
/** The backstop of the server-side deadline case: the server must answer first. */
const SERVER_DEADLINE_BACKSTOP_MS = 3_000;

/** A mismatch a case found; the message is the row's detail. */
class Mismatch extends Error {}

/** Collects every mismatch of a case, so one row names all of them. */
class Checks {
  readonly problems: string[] = [];
  eq(what: string, got: unknown, want: unknown): void {
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    if (g !== w) this.problems.push(`${what}: got ${g}, want ${w}`);
  }
  ok(what: string, cond: boolean): void {
    if (!cond) this.problems.push(what);
  }
  finish(): void {
    if (this.problems.length > 0) throw new Mismatch(this.problems.join("; "));
  }
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A binary metadata value as hex, or a description of why it is not one. */
function binaryValue(headers: Headers | undefined, key: string): string {
  const value = headers?.get(key);
  if (value == null) return "<absent>";
  try {
    return hex(decodeBinaryHeader(value));
  } catch (e) {
    return `<not base64: ${JSON.stringify(value)}: ${String(e)}>`;
  }
}

function echoHeaders(): Record<string, string> {
  return {
    [ECHO_INITIAL]: ECHO_INITIAL_VALUE,
    // Binary metadata travels base64-encoded in every one of these protocols.
    [ECHO_TRAILING]: encodeBinaryHeader(ECHO_TRAILING_VALUE),
  };
}

/**
 * Runs `call`, which must fail, and returns its error as a ConnectError;
 * a Mismatch `call` raised itself is passed on.
 */
async function expectError(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (e) {
    if (e instanceof Mismatch) throw e;
    return ConnectError.from(e);
  }
  throw new Mismatch("the call succeeded; an error was expected");
}

function describe(err: ConnectError): string {
  return `code ${Code[err.code]} (${err.code}), message ${JSON.stringify(err.rawMessage)}`;
}

/** What a case runs with: a client over the transport, and its own time bound. */
interface CaseContext {
  client: TestClient;
  transport: TransportSpec;
  api: string;
  signal: AbortSignal;
}

type CaseFn = (cx: CaseContext) => Promise<string>;

/** A response as the browser handed it to connect-web: headers and whole body. */
interface RawResponse {
  headers: Headers;
  body: Uint8Array;
}

/**
 * A fetch that hands a copy of each response to `onResponse`, so a case
 * can look at the wire beneath connect-web (which merges an error's headers
 * and trailers, hiding where the server put each). The copy's body is read
 * whole before connect-web gets the response, because connect-web aborts
 * the call's signal when the call ends, and that errors every copy of the
 * body still being read; so this is for unary calls only.
 */
function recordingFetch(onResponse: (raw: RawResponse) => void): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await globalThis.fetch(input, init);
    const copy = response.clone();
    onResponse({ headers: copy.headers, body: new Uint8Array(await copy.arrayBuffer()) });
    return response;
  };
}

/** The trailer frame (flag 0x80) of a gRPC-Web body, parsed; null if there is none. */
function grpcWebTrailer(body: Uint8Array): Headers | null {
  for (let at = 0; at + 5 <= body.length; ) {
    const flag = body[at];
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    const data = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if ((flag & 0x80) === 0) continue;
    const trailer = new Headers();
    for (const line of new TextDecoder().decode(data).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return trailer;
  }
  return null;
}

const CASES: [string, CaseFn][] = [
  [
    "unary",
    async ({ client, transport, signal }) => {
      const reply = await client.unaryCall(
        { responseSize: RESPONSE_SIZE, payload: { body: new Uint8Array(REQUEST_SIZE) } },
        { signal },
      );
      const body = reply.payload?.body;
      report.unaryPayloadLength[transport.name] = body?.length ?? null;
      const checks = new Checks();
      checks.eq("response payload length", body?.length ?? null, RESPONSE_SIZE);
      checks.ok("response payload is not all zero bytes", body?.every((b) => b === 0) ?? false);
      checks.finish();
      return `response payload ${body?.length} bytes`;
    },
  ],
  [
    "server_streaming",
    async ({ client, signal }) => {
      const sizes: (number | null)[] = [];
      for await (const reply of client.streamingOutputCall(
        { responseParameters: STREAM_SIZES.map((size) => ({ size })) },
        { signal },
      )) {
        sizes.push(reply.payload?.body.length ?? null);
      }
      const checks = new Checks();
      checks.eq("response payload sizes", sizes, STREAM_SIZES);
      checks.finish();
      return `responses of ${sizes.join(", ")} bytes`;
    },
  ],
  [
    // The interop spec's custom_metadata on a successful call: initial
    // metadata must arrive as headers and trailing metadata as trailers
    // (Connect unary: `trailer-` headers), each only where it belongs.
    "custom_metadata",
    async ({ client, signal }) => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      const options: CallOptions = {
        signal,
        headers: echoHeaders(),
        onHeader: (h) => (header = h),
        onTrailer: (t) => (trailer = t),
      };
      const reply = await client.unaryCall(
        { responseSize: RESPONSE_SIZE, payload: { body: new Uint8Array(REQUEST_SIZE) } },
        options,
      );
      const checks = new Checks();
      checks.eq("response payload length", reply.payload?.body.length ?? null, RESPONSE_SIZE);
      checks.eq(`header ${ECHO_INITIAL}`, header?.get(ECHO_INITIAL) ?? null, ECHO_INITIAL_VALUE);
      checks.eq(`trailer ${ECHO_TRAILING}`, binaryValue(trailer, ECHO_TRAILING), hex(ECHO_TRAILING_VALUE));
      checks.ok(`${ECHO_TRAILING} is among the headers, not only the trailers`, !header?.has(ECHO_TRAILING));
      checks.ok(`${ECHO_INITIAL} is among the trailers, not only the headers`, !trailer?.has(ECHO_INITIAL));
      checks.finish();
      return `header ${ECHO_INITIAL}=${header?.get(ECHO_INITIAL)}, trailer ${ECHO_TRAILING}=${binaryValue(trailer, ECHO_TRAILING)}`;
    },
  ],
  [
    // A failing call carrying everything an error can: code, message,
    // echoed initial and (binary) trailing metadata, and the request's
    // EchoStatus as a google.rpc.Status detail.
    "error_details_metadata",
    async ({ client, signal }) => {
      const err = await expectError(() =>
        client.unaryCall({ responseStatus: ERROR_STATUS }, { signal, headers: echoHeaders() }),
      );
      const checks = new Checks();
      checks.eq("code", Code[err.code], Code[Code.Unknown]);
      checks.eq("message", err.rawMessage, ERROR_STATUS.message);
      // connect-es gathers an error's headers and trailers into `metadata`.
      checks.eq(`metadata ${ECHO_INITIAL}`, err.metadata.get(ECHO_INITIAL), ECHO_INITIAL_VALUE);
      checks.eq(`metadata ${ECHO_TRAILING}`, binaryValue(err.metadata, ECHO_TRAILING), hex(ECHO_TRAILING_VALUE));
      checks.eq("number of error details", err.details.length, 1);
      const echoed = err.findDetails(EchoStatusSchema).map((d) => ({ code: d.code, message: d.message }));
      checks.eq("grpc.testing.EchoStatus details", echoed, [ERROR_STATUS]);
      checks.finish();
      return `${describe(err)}, ${err.details.length} detail(s), metadata ok`;
    },
  ],
  [
    // The same failing call, looked at on the wire: initial metadata must be
    // a response header and trailing metadata a trailer — for gRPC-Web in
    // the body's trailer frame (or all in the headers of a trailers-only
    // response, grpc-status included), for Connect unary a `trailer-`
    // header (the Connect protocol's Prefixed-Trailing-Metadata).
    "error_metadata_placement",
    async ({ transport, api, signal }) => {
      const fetched: RawResponse[] = [];
      const client = createClient(TestService, transport.make(api, recordingFetch((r) => fetched.push(r))));
      await expectError(() => client.unaryCall({ responseStatus: ERROR_STATUS }, { signal, headers: echoHeaders() }));
      if (fetched.length !== 1) throw new Mismatch(`${fetched.length} responses were fetched, not 1`);
      const { headers, body } = fetched[0];
      const checks = new Checks();
      const trailingValue = hex(ECHO_TRAILING_VALUE);
      // A gRPC error is trailers-only, so protocall's handlers send all of
      // an error's metadata as trailing: the echoed initial value may come
      // as a header or a trailer; the trailing one must be a trailer.
      let where: string;
      if (transport.grpcWeb) {
        const trailer = grpcWebTrailer(body);
        if (headers.has("grpc-status")) {
          where = "trailers-only response (status and metadata in the headers)";
          checks.ok("a trailers-only response carries a body", trailer === null);
          checks.eq(`header ${ECHO_TRAILING}`, binaryValue(headers, ECHO_TRAILING), trailingValue);
        } else {
          where = "trailer frame";
          checks.ok("no trailer frame and no grpc-status header", trailer !== null);
          checks.eq(`trailer-frame ${ECHO_TRAILING}`, binaryValue(trailer ?? undefined, ECHO_TRAILING), trailingValue);
          checks.ok(
            `${ECHO_TRAILING} is a response header while grpc-status is in the trailer frame`,
            !headers.has(ECHO_TRAILING),
          );
          checks.eq(
            `${ECHO_INITIAL} in the headers or the trailer frame`,
            headers.get(ECHO_INITIAL) ?? trailer?.get(ECHO_INITIAL) ?? null,
            ECHO_INITIAL_VALUE,
          );
        }
      } else {
        where = "trailer- header";
        checks.eq(`header trailer-${ECHO_TRAILING}`, binaryValue(headers, `trailer-${ECHO_TRAILING}`), trailingValue);
        checks.ok(`${ECHO_TRAILING} is an unprefixed response header`, !headers.has(ECHO_TRAILING));
        checks.eq(
          `${ECHO_INITIAL} as a header or a trailer- header`,
          headers.get(ECHO_INITIAL) ?? headers.get(`trailer-${ECHO_INITIAL}`),
          ECHO_INITIAL_VALUE,
        );
      }
      checks.finish();
      return `${ECHO_TRAILING} in the ${where}`;
    },
  ],
  [
    // connect-es's own timeout: the client sends the timeout header and
    // also aborts by itself after 500 ms, so this passes whichever side
    // gives up first ("the operation timed out" is the client's message).
    "deadline",
    async ({ client, signal }) => {
      const start = performance.now();
      const err = await expectError(async () => {
        for await (const _ of client.streamingOutputCall(
          { responseParameters: [{ size: 1, intervalUs: 5_000_000 }] },
          { signal, timeoutMs: 500 },
        )) {
          throw new Mismatch("a response arrived before the deadline");
        }
      });
      const ms = Math.round(performance.now() - start);
      const checks = new Checks();
      checks.eq("code", Code[err.code], Code[Code.DeadlineExceeded]);
      checks.ok(`took ${ms} ms for a 500 ms deadline`, ms < SERVER_DEADLINE_BACKSTOP_MS);
      checks.finish();
      return `${describe(err)} after ${ms} ms`;
    },
  ],
  [
    // The same call with the timeout header set by hand and no client-side
    // timeout: only the server can end it with DeadlineExceeded. If it
    // ignored the header, the backstop aborts the call (code Canceled).
    "deadline_server",
    async ({ client, transport }) => {
      const start = performance.now();
      const [key, value] = transport.timeoutHeader;
      const err = await expectError(async () => {
        for await (const _ of client.streamingOutputCall(
          { responseParameters: [{ size: 1, intervalUs: 5_000_000 }] },
          { signal: AbortSignal.timeout(SERVER_DEADLINE_BACKSTOP_MS), headers: { [key]: value } },
        )) {
          throw new Mismatch("a response arrived before the deadline");
        }
      });
      const ms = Math.round(performance.now() - start);
      const checks = new Checks();
      checks.eq("code", Code[err.code], Code[Code.DeadlineExceeded]);
      checks.finish();
      return `${key}: ${value} -> ${describe(err)} after ${ms} ms`;
    },
  ],
];

const report: Report = {
  done: false,
  api: "",
  origin: location.origin,
  userAgent: navigator.userAgent,
  expected: TRANSPORTS.length * CASES.length,
  results: [],
  unaryPayloadLength: {},
  fatal: null,
};
window.__webInterop = report;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found;
}

function addRow(result: CaseResult): void {
  const row = document.createElement("tr");
  const verdict = result.pass ? "PASS" : "FAIL";
  for (const [text, cls] of [
    [result.transport, ""],
    [result.case, ""],
    [verdict, verdict],
    [`${result.detail} (${result.ms} ms)`, "detail"],
  ]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    if (cls) cell.className = cls;
    row.appendChild(cell);
  }
  element("rows").appendChild(row);
}

function finish(): void {
  const passed = report.results.filter((r) => r.pass).length;
  const allPassed = report.fatal === null && passed === report.expected && report.results.length === report.expected;
  const banner = element("banner");
  banner.className = allPassed ? "pass" : "fail";
  banner.textContent = report.fatal
    ? `ERROR: ${report.fatal}`
    : `${allPassed ? "PASS" : "FAIL"} ${passed}/${report.expected}`;
  element("unary-lengths").textContent =
    "unary reply payload length: " +
    TRANSPORTS.map((t) => `${t.name} ${report.unaryPayloadLength[t.name] ?? "none"}`).join(", ");
  document.title = `protocall web interop: ${allPassed ? "PASS" : "FAIL"}`;
  report.done = true;
}

async function run(): Promise<void> {
  const api = new URLSearchParams(location.search).get("api");
  if (!api) throw new Error("no ?api=URL given");
  report.api = api;
  element("api").textContent = api;
  element("origin").textContent = location.origin;
  for (const transport of TRANSPORTS) {
    const client = createClient(TestService, transport.make(api));
    for (const [name, fn] of CASES) {
      const start = performance.now();
      let result: CaseResult;
      try {
        const detail = await fn({ client, transport, api, signal: AbortSignal.timeout(CASE_LIMIT_MS) });
        result = { transport: transport.name, case: name, pass: true, detail, ms: 0 };
      } catch (e) {
        // The stack goes to the console, which results.json keeps.
        if (!(e instanceof Mismatch)) console.error(`${transport.name} ${name}: ${(e as Error)?.stack ?? e}`);
        const detail =
          e instanceof Mismatch ? e.message : `unexpected error: ${describe(ConnectError.from(e))}`;
        result = { transport: transport.name, case: name, pass: false, detail, ms: 0 };
      }
      result.ms = Math.round(performance.now() - start);
      report.results.push(result);
      addRow(result);
    }
  }
}

run()
  .catch((e: unknown) => {
    report.fatal = e instanceof Error ? e.message : String(e);
  })
  .finally(finish);
