'use strict';
/**
 * Shared by interop_server.js and interop_client.js: grpc-js and
 * proto-loader, the grpc.testing schemas, and flag parsing.
 *
 * The npm packages (pinned in package.json beside this file) are installed
 * outside the repository: into the directory named by PROTOCALL_NODE_MODULES
 * (a `node_modules` directory), else `target/node-grpc/node_modules` of
 * this repository; tests/tests/interop_node.rs and scripts/setup-peers.sh
 * install them there with `npm ci`.
 *
 * The schemas are the repository's own `proto/grpc/testing/*.proto`,
 * loaded by proto-loader at startup (nothing is generated ahead of time).
 */

const path = require('path');
const { createRequire } = require('module');

const REPO = path.resolve(__dirname, '..', '..');
const MODULES =
  process.env.PROTOCALL_NODE_MODULES || path.join(REPO, 'target', 'node-grpc', 'node_modules');

/** Loads an npm package from MODULES, or exits 3 saying how to install it. */
function dependency(name) {
  const from = createRequire(path.join(path.dirname(MODULES), 'package.json'));
  try {
    return from(name);
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      `cannot load ${name} from ${MODULES}: run scripts/setup-peers.sh ` +
        `(or npm ci in a copy of tests/node), or set PROTOCALL_NODE_MODULES\n`
    );
    process.exit(3);
  }
}

const grpc = dependency('@grpc/grpc-js');
const protoLoader = dependency('@grpc/proto-loader');

/** The `grpc.testing` package: services (client constructors) and their definitions. */
function loadTesting() {
  const definition = protoLoader.loadSync('grpc/testing/test.proto', {
    includeDirs: [path.join(REPO, 'proto')],
    keepCase: true, // field names as in the .proto: response_size, not responseSize
    enums: String, // payload types as 'COMPRESSABLE'
    longs: String,
    defaults: true, // unset scalars read as their default, unset messages as null
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).grpc.testing;
}

/**
 * Parses `--flag=value` arguments into an object; `known` lists every
 * accepted flag. Exits 2 on anything else.
 */
function parseFlags(program, usage, known) {
  const flags = {};
  for (const arg of process.argv.slice(2)) {
    const match = /^--([a-z_]+)=(.*)$/s.exec(arg);
    if (!match || !known.includes(match[1])) {
      usageError(program, `unexpected argument ${JSON.stringify(arg)}\n${usage}`);
    }
    flags[match[1]] = match[2];
  }
  return flags;
}

function parseBool(program, flag, value) {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  usageError(program, `--${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

function usageError(program, message) {
  process.stderr.write(`${program}: ${message}\n`);
  process.exit(2);
}

/** A Buffer of `size` zero bytes. */
function zeros(size) {
  return Buffer.alloc(size);
}

const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';

module.exports = {
  grpc,
  loadTesting,
  parseFlags,
  parseBool,
  usageError,
  zeros,
  ECHO_INITIAL,
  ECHO_TRAILING,
};
