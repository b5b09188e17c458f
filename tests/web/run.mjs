// Drives the built page (build.mjs) in headless Chromium against a server:
//
//   node tests/web/run.mjs --api=http://127.0.0.1:PORT --out=DIR
//       [--chromium=PATH] [--timeout-s=60]
//
// It serves the page from an origin of its own (page-server.mjs, another
// loopback port than the API's), opens ?api=URL in Chromium (puppeteer-core;
// the browser is PATH's `chromium` unless --chromium or PROTOCALL_CHROMIUM
// names one), waits until the page says it is done (bounded), then writes
// DIR/results.json (every case with its outcome, plus what the browser
// logged and the CORS preflights it sent) and DIR/screenshot.png, and
// prints one line per case.
//
// Exit status: 0 when every case passed; 1 when any failed, none ran, the
// page did not finish in time or no preflight was seen; 2 on bad usage;
// 3 when puppeteer-core is not installed. Chromium and the page server are
// stopped on every path, including SIGINT and SIGTERM, and a watchdog ends
// the run (Chromium first) if closing hangs.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { startPageServer } from "./page-server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const home = process.env.PROTOCALL_NODE_WEB ?? path.join(repo, "target", "node-web");
const dist = path.join(home, "dist");

function usage(problem) {
  process.stderr.write(
    `run.mjs: ${problem}\nusage: node tests/web/run.mjs --api=URL --out=DIR [--chromium=PATH] [--timeout-s=N]\n`,
  );
  process.exit(2);
}

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const match = /^--([a-z-]+)=(.*)$/s.exec(arg);
    if (!match) usage(`unexpected argument ${JSON.stringify(arg)}`);
    return [match[1], match[2]];
  }),
);
for (const key of Object.keys(args)) {
  if (!["api", "out", "chromium", "timeout-s"].includes(key)) usage(`unknown option --${key}`);
}
if (!args.api || !args.out) usage("--api and --out are required");
const api = new URL(args.api).origin;
const out = path.resolve(args.out);
const timeoutMs = Number(args["timeout-s"] ?? 60) * 1000;
if (!(timeoutMs > 0)) usage("--timeout-s must be a positive number");

/** `name` if it is a path, else the first executable of that name on PATH. */
function findExecutable(name) {
  if (name.includes("/")) return fs.existsSync(name) ? path.resolve(name) : null;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir || ".", name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

const chromiumName = args.chromium ?? process.env.PROTOCALL_CHROMIUM ?? "chromium";
const chromium = findExecutable(chromiumName);
if (!chromium) usage(`no Chromium at ${JSON.stringify(chromiumName)} (PATH or PROTOCALL_CHROMIUM)`);
if (!fs.existsSync(path.join(dist, "app.js"))) usage(`no page in ${dist}: run node tests/web/build.mjs`);

let puppeteer;
try {
  puppeteer = createRequire(path.join(home, "package.json"))("puppeteer-core");
} catch (error) {
  process.stderr.write(`run.mjs: cannot load puppeteer-core from ${home}: ${error.message}\n`);
  process.exit(3);
}

fs.mkdirSync(out, { recursive: true });
const started = Date.now();
let browser = null;
let browserClosed = false;
let page = null;

/** Kills Chromium outright: for the paths where puppeteer cannot close it. */
function killChromium() {
  const pid = browser?.process()?.pid;
  if (pid === undefined || browserClosed) return;
  for (const target of [-pid, pid]) {
    // puppeteer starts Chromium as its own process group: take the helpers too.
    try {
      process.kill(target, "SIGKILL");
    } catch {}
  }
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    killChromium();
    process.exit(1);
  });
}
process.on("exit", killChromium);
// However the run goes, it ends: Chromium killed, non-zero status.
setTimeout(() => {
  process.stderr.write(`run.mjs: still running after ${timeoutMs + 30_000} ms; killing Chromium\n`);
  killChromium();
  process.exit(1);
}, timeoutMs + 30_000).unref();

const record = {
  ok: false,
  api,
  page: null,
  chromium: { path: chromium, version: null },
  problems: [],
  report: null,
  preflights: [],
  console: [],
  pageErrors: [],
  failedRequests: [],
  pageRequests: [],
  ms: 0,
};

const pageServer = await startPageServer(dist);
try {
  record.page = `${pageServer.url}?api=${encodeURIComponent(api)}`;
  if (new URL(pageServer.url).origin === api) {
    throw new Error(`the page and the API share the origin ${api}; CORS would not be exercised`);
  }
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // Talk over a pipe, not a debugging port: nothing else listens, and
    // Chromium sees the pipe close if this process dies.
    pipe: true,
    args: [
      // Chromium's sandbox cannot start as root (containers, CI).
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "--disable-gpu",
      "--disable-dev-shm-usage",
      // Exact colours in the screenshot: the banner is checked pixel by pixel.
      "--force-color-profile=srgb",
      "--hide-scrollbars",
      "--no-first-run",
      "--no-default-browser-check",
    ],
    protocolTimeout: timeoutMs,
  });
  record.chromium.version = await browser.version();
  page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900, deviceScaleFactor: 1 });
  page.on("console", (message) => record.console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => record.pageErrors.push(String(error?.stack ?? error)));
  page.on("requestfailed", (request) =>
    record.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
  );
  // Preflights never reach puppeteer's request events; the DevTools
  // protocol reports them as requests of type "Preflight".
  const cdp = await page.createCDPSession();
  cdp.on("Network.requestWillBeSent", (event) => {
    if (event.type === "Preflight" || event.request.method === "OPTIONS") {
      record.preflights.push(`${event.request.method} ${event.request.url}`);
    }
  });
  await cdp.send("Network.enable");

  await page.goto(record.page, { waitUntil: "load", timeout: timeoutMs });
  const remaining = Math.max(1_000, timeoutMs - (Date.now() - started));
  try {
    await page.waitForFunction(() => window.__webInterop?.done === true, { timeout: remaining, polling: 100 });
  } catch (error) {
    record.problems.push(`the page did not finish within ${timeoutMs} ms: ${error.message}`);
  }
  // Whatever the page got to, even after a timeout.
  record.report = await page.evaluate(() => window.__webInterop ?? null);
} catch (error) {
  record.problems.push(`driver error: ${error?.stack ?? error}`);
} finally {
  if (page) {
    try {
      await page.screenshot({ path: path.join(out, "screenshot.png"), fullPage: true });
    } catch (error) {
      record.problems.push(`no screenshot: ${error.message}`);
    }
  }
  if (browser) {
    const closed = browser.close().then(
      () => true,
      () => false,
    );
    const inTime = await Promise.race([closed, new Promise((r) => setTimeout(() => r(false), 5_000))]);
    if (!inTime) killChromium();
    browserClosed = true;
  }
  record.pageRequests = pageServer.requests;
  await pageServer.close();
}

const report = record.report;
const results = report?.results ?? [];
if (!report) record.problems.push("the page left no report (window.__webInterop)");
if (report?.fatal) record.problems.push(`the page failed: ${report.fatal}`);
if (report && results.length !== report.expected) {
  record.problems.push(`${results.length} of ${report.expected} cases ran`);
}
if (results.length > 0 && record.preflights.length === 0) {
  record.problems.push("Chromium sent no CORS preflight: the calls were not cross-origin as intended");
}
const failed = results.filter((r) => !r.pass);
record.ok = record.problems.length === 0 && failed.length === 0 && results.length > 0;
record.ms = Date.now() - started;
fs.writeFileSync(path.join(out, "results.json"), JSON.stringify(record, null, 2) + "\n");

console.log(`connect-web in ${record.chromium.version ?? "Chromium"} against ${api} (page ${pageServer.url}):`);
for (const r of results) {
  console.log(`  ${r.transport} ${r.case}: ${r.pass ? "pass" : "FAIL"} (${r.ms} ms) ${r.detail}`);
}
for (const problem of record.problems) console.log(`  problem: ${problem}`);
for (const error of record.pageErrors) console.log(`  page error: ${error}`);
if (!record.ok) {
  // What the browser saw go wrong underneath the failed calls (CORS
  // refusals, network errors): the first of each, distinct.
  const distinct = (lines) => [...new Set(lines)].slice(0, 12);
  for (const line of distinct(record.failedRequests)) console.log(`  failed request: ${line}`);
  for (const line of distinct(record.console.filter((l) => !l.startsWith("log:")))) {
    console.log(`  browser console: ${line}`);
  }
}
console.log(
  `  ${results.length - failed.length} passed, ${failed.length} failed; ` +
    `${record.preflights.length} CORS preflights; ${record.ms} ms; ${out}`,
);
process.exit(record.ok ? 0 : 1);
