// The page's own origin: a static file server (Node's http module only) for
// the built page, on loopback. run.mjs starts it in-process on a port of its
// own, so the page and the API are different origins and every call the
// page makes is a real cross-origin request, preflight and all.
//
// Standalone, for looking at the page by hand:
//
//   node tests/web/page-server.mjs [--port=N] [--root=DIR]
//
// serves DIR (default target/node-web/dist) until SIGINT or SIGTERM; open
// http://127.0.0.1:N/?api=http://127.0.0.1:API_PORT.

import * as fs from "node:fs/promises";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".png": "image/png",
};

/**
 * Serves the files of `root` on 127.0.0.1:`port` (0: any free port).
 * Resolves to `{ url, requests, close }`: `requests` lists every path
 * asked for, `close()` stops the server and drops its connections.
 */
export function startPageServer(root, port = 0) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://page.invalid");
    requests.push(`${req.method} ${url.pathname}`);
    const name = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname.slice(1));
    const file = path.resolve(root, name);
    // Only files directly under root: nothing else of the disk is served.
    if (req.method !== "GET" || path.dirname(file) !== path.resolve(root)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = arg("root") ?? path.join(here, "..", "..", "target", "node-web", "dist");
  const page = await startPageServer(root, Number(arg("port") ?? 0));
  console.log(`page-server serving ${root} on ${page.url}`);
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => page.close().then(() => process.exit(0)));
  }
}
