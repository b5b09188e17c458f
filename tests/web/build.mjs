// Builds the browser page (and the development stand-in server) into the
// npm install of this package, target/node-web, never into the repository:
//
//   1. stages the sources of tests/web (page/, standin-server.mjs) into
//      target/node-web/build, so that they and the generated stubs resolve
//      their imports from target/node-web/node_modules like any package;
//   2. generates the grpc.testing stubs from the repository's
//      proto/grpc/testing/{test,messages,empty}.proto with protoc-gen-es,
//      run by `buf generate`, into build/gen;
//   3. type-checks the page and the stubs with tsc;
//   4. bundles them with esbuild into target/node-web/dist: index.html and
//      app.js (for the browser), standin-server.mjs (for Node).
//
// Usage: node tests/web/build.mjs
// PROTOCALL_NODE_WEB names another install directory (default
// <repo>/target/node-web). Exits 3 when the packages are not installed.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const home = process.env.PROTOCALL_NODE_WEB ?? path.join(repo, "target", "node-web");
const modules = path.join(home, "node_modules");
const stage = path.join(home, "build");
const dist = path.join(home, "dist");
const started = Date.now();

if (!fs.existsSync(path.join(modules, "esbuild", "package.json"))) {
  process.stderr.write(
    `build.mjs: no packages in ${modules}: npm ci a copy of tests/web/package*.json there ` +
      `(scripts/setup-peers.sh or tests/tests/web_chromium.rs do)\n`,
  );
  process.exit(3);
}
const require = createRequire(path.join(home, "package.json"));

/** Runs a tool to completion (bounded), failing the build with its output. */
function run(what, command, args, env = {}) {
  const result = spawnSync(command, args, {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.error || result.status !== 0) {
    process.stderr.write(`build.mjs: ${what} failed (${result.error ?? `exit ${result.status}`}):\n`);
    process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}\n`);
    process.exit(1);
  }
}

// 1. A fresh stage, so nothing removed from tests/web lingers.
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
fs.cpSync(path.join(here, "page"), path.join(stage, "page"), { recursive: true });
fs.copyFileSync(path.join(here, "standin-server.mjs"), path.join(stage, "standin-server.mjs"));

// 2. Stubs. buf compiles the whole directory input but generates only the
// --path files; its cache stays inside the install.
const protoDir = path.join(repo, "proto");
const testing = ["test", "messages", "empty"].map((name) =>
  path.join(protoDir, "grpc", "testing", `${name}.proto`),
);
const template = {
  version: "v2",
  plugins: [
    {
      local: path.join(modules, ".bin", "protoc-gen-es"),
      out: path.join(stage, "gen"),
      opt: ["target=ts"],
    },
  ],
};
run(
  "buf generate",
  path.join(modules, ".bin", "buf"),
  ["generate", protoDir, ...testing.flatMap((file) => ["--path", file]), "--template", JSON.stringify(template)],
  { BUF_CACHE_DIR: path.join(home, ".buf-cache") },
);

// 3. Types: a mistake in the page should fail here, not as a puzzling row.
fs.writeFileSync(
  path.join(stage, "tsconfig.json"),
  JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: [],
        strict: true,
        noUnusedLocals: true,
        isolatedModules: true,
        noEmit: true,
      },
      include: ["page/**/*.ts", "gen/**/*.ts"],
    },
    null,
    2,
  ),
);
run("tsc", process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(stage, "tsconfig.json")]);

// 4. Bundles.
const esbuild = require("esbuild");
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(stage, "page", "main.ts")],
  outfile: path.join(dist, "app.js"),
  bundle: true,
  format: "iife",
  target: "chrome110",
  logLevel: "warning",
});
fs.copyFileSync(path.join(stage, "page", "index.html"), path.join(dist, "index.html"));
await esbuild.build({
  entryPoints: [path.join(stage, "standin-server.mjs")],
  outfile: path.join(dist, "standin-server.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
});

console.log(`build.mjs: built ${dist} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
