// Checks the harness itself, against the stand-in server (a development
// tool; tests/tests/web_chromium.rs runs the page against protocall):
// with a well-behaved stand-in every case must pass, and with each of its
// `--break=` modes exactly the cases that depend on the broken behaviour
// must fail, so every check of the page is seen to be able to fail.
//
//   node tests/web/build.mjs && node tests/web/selftest.mjs [--chromium=PATH]
//
// Takes about a minute (eight Chromium runs). Exits non-zero on any
// surprise; every stand-in and driver it starts is stopped.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const home = process.env.PROTOCALL_NODE_WEB ?? path.join(repo, "target", "node-web");
const standin = path.join(home, "dist", "standin-server.mjs");
const passThrough = process.argv.slice(2).filter((a) => a.startsWith("--chromium="));

const TRANSPORTS = ["grpc-web", "connect-proto", "connect-json"];
const ALL = [
  "unary",
  "server_streaming",
  "custom_metadata",
  "error_details_metadata",
  "error_metadata_placement",
  "deadline",
  "deadline_server",
];
const everywhere = (...cases) => TRANSPORTS.flatMap((t) => cases.map((c) => `${t} ${c}`));

/** Each mode and the cases it must fail ("transport case"). */
const MODES = [
  ["", []],
  ["cors", everywhere(...ALL)],
  ["expose", everywhere("custom_metadata", "error_details_metadata", "error_metadata_placement")],
  ["trailers", everywhere("custom_metadata", "error_details_metadata", "error_metadata_placement")],
  ["placement", everywhere("custom_metadata", "error_metadata_placement")],
  ["details", everywhere("error_details_metadata")],
  ["deadline", everywhere("deadline_server")],
  ["sizes", everywhere("unary", "server_streaming", "custom_metadata")],
];

if (!fs.existsSync(standin)) {
  console.error(`selftest.mjs: no ${standin}: run node tests/web/build.mjs`);
  process.exit(3);
}

/** Runs `args` with node to completion, bounded; resolves to its exit status. */
function node(args, limitMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGTERM"), limitMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Starts the stand-in and resolves to `{ url, stop }` once it listens. */
function startStandin(mode) {
  const args = [standin, "--port=0", "--exit-after-s=120", ...(mode ? [`--break=${mode}`] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the stand-in did not start within 10 s"));
    }, 10_000);
    child.on("exit", (code) => reject(new Error(`the stand-in exited (${code})`)));
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      const port = /127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      if (!port) reject(new Error(`the stand-in printed ${JSON.stringify(line)}`));
      resolve({
        url: `http://127.0.0.1:${port}`,
        stop: () => {
          child.removeAllListeners("exit");
          child.kill("SIGKILL");
        },
      });
    });
  });
}

const surprises = [];
for (const [mode, mustFail] of MODES) {
  const label = mode ? `--break=${mode}` : "well-behaved";
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "protocall-web-selftest-"));
  const server = await startStandin(mode);
  let status;
  try {
    status = await node([path.join(here, "run.mjs"), `--api=${server.url}`, `--out=${out}`, ...passThrough], 120_000);
  } finally {
    server.stop();
  }
  const resultsFile = path.join(out, "results.json");
  if (!fs.existsSync(resultsFile)) {
    surprises.push(`${label}: the driver wrote no results.json (exit ${status})`);
    continue;
  }
  const record = JSON.parse(fs.readFileSync(resultsFile, "utf8"));
  const results = record.report?.results ?? [];
  const failed = results.filter((r) => !r.pass).map((r) => `${r.transport} ${r.case}`);
  const expected = [...mustFail].sort();
  const wrong =
    results.length === 0 ||
    results.length !== record.report?.expected ||
    JSON.stringify([...failed].sort()) !== JSON.stringify(expected) ||
    status !== (expected.length === 0 ? 0 : 1);
  console.log(`${wrong ? "SURPRISE" : "ok"}: ${label}: ${failed.length} of ${results.length} failed, exit ${status}`);
  if (wrong) {
    surprises.push(`${label}: failed [${failed.join(", ")}], expected [${expected.join(", ")}], exit ${status}`);
  } else {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
for (const surprise of surprises) console.log(`  ${surprise}`);
console.log(`${MODES.length - surprises.length} passed, ${surprises.length} failed`);
process.exit(surprises.length === 0 ? 0 : 1);
