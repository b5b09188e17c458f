// A development stand-in for protocall's interop server: connect-node's
// implementation of the parts of grpc.testing.TestService the browser page
// calls, behind the same CORS policy, so the harness (page, driver) can be
// checked against a known-good server. The Rust test never uses it.
//
// build.mjs bundles it (with the generated stubs and connect-node) into
// target/node-web/dist/standin-server.mjs; run that:
//
//   node target/node-web/dist/standin-server.mjs --port=0 [--exit-after-s=N]
//
// It prints `standin-server listening on 127.0.0.1:PORT` (the interop
// server's format) and serves gRPC, gRPC-Web and Connect over HTTP/1.1 on
// loopback until SIGINT or SIGTERM.
//
// `--break=WHAT[,WHAT…]` makes it misbehave on purpose, to see the harness
// fail the cases it should: `cors` (no CORS headers at all), `expose` (the
// echoed metadata not exposed to scripts), `trailers` (no trailing
// metadata echoed), `placement` (trailing metadata sent as a header),
// `details` (errors without details), `deadline` (the streaming handler
// ignores the deadline), `sizes` (payloads one byte short).

import * as http from "node:http";
import { ConnectError, cors } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { TestService } from "./gen/grpc/testing/test_pb";
import { EchoStatusSchema } from "./gen/grpc/testing/messages_pb";

const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const broken = new Set((flag("break") ?? "").split(",").filter(Boolean));
for (const what of broken) {
  if (!["cors", "expose", "trailers", "placement", "details", "deadline", "sizes"].includes(what)) {
    console.error(`standin-server: unknown --break=${what}`);
    process.exit(2);
  }
}

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";

/** Interop metadata echo: initial metadata back as a header, trailing as a trailer. */
function echo(context) {
  const initial = context.requestHeader.get(ECHO_INITIAL);
  if (initial !== null) context.responseHeader.set(ECHO_INITIAL, initial);
  const trailing = context.requestHeader.get(ECHO_TRAILING);
  if (trailing === null || broken.has("trailers")) return;
  if (broken.has("placement")) context.responseHeader.set(ECHO_TRAILING, trailing);
  else context.responseTrailer.set(ECHO_TRAILING, trailing);
}

/** The error a request's `response_status` asks for, with that status as its detail. */
function requestedError(status) {
  if (!status || status.code === 0) return null;
  const details = broken.has("details") ? [] : [{ desc: EchoStatusSchema, value: status }];
  return new ConnectError(status.message, status.code, undefined, details);
}

/** A payload of `size` zero bytes. */
const payload = (size) => ({ body: new Uint8Array(broken.has("sizes") ? Math.max(0, size - 1) : size) });

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function routes(router) {
  router.service(TestService, {
    async unaryCall(request, context) {
      echo(context);
      const error = requestedError(request.responseStatus);
      if (error) throw error;
      return { payload: payload(request.responseSize) };
    },
    async *streamingOutputCall(request, context) {
      echo(context);
      for (const parameters of request.responseParameters) {
        // The context's signal fires at the request's deadline.
        const signal = broken.has("deadline") ? new AbortController().signal : context.signal;
        if (parameters.intervalUs > 0) await sleep(parameters.intervalUs / 1000, signal);
        yield { payload: payload(parameters.size) };
      }
      const error = requestedError(request.responseStatus);
      if (error) throw error;
    },
  });
}

// The CORS policy the real server promises: any origin; the protocols'
// own headers plus the interop echo headers, both ways.
const allowHeaders = [...cors.allowedHeaders, ECHO_INITIAL, ECHO_TRAILING].join(", ");
const exposeHeaders = [
  ...cors.exposedHeaders,
  ...(broken.has("expose") ? [] : [ECHO_INITIAL, ECHO_TRAILING, `trailer-${ECHO_TRAILING}`]),
].join(", ");

const adapter = connectNodeAdapter({ routes });

const server = http.createServer((req, res) => {
  if (broken.has("cors")) {
    adapter(req, res);
    return;
  }
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-expose-headers", exposeHeaders);
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "access-control-allow-methods": cors.allowedMethods.join(", "),
      "access-control-allow-headers": allowHeaders,
      "access-control-max-age": "600",
    });
    res.end();
    return;
  }
  adapter(req, res);
});

server.listen(Number(flag("port") ?? 0), "127.0.0.1", () => {
  console.log(`standin-server listening on 127.0.0.1:${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
// A stand-in left behind by a crashed caller should not serve forever.
if (flag("exit-after-s")) setTimeout(() => process.exit(0), Number(flag("exit-after-s")) * 1000).unref();
