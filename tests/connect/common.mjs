/**
 * Shared by client.mjs and server.mjs: the connect-node packages, the
 * generated grpc.testing stubs, flag parsing and the interop constants.
 *
 * The npm packages (pinned in package.json beside this file) live outside
 * the repository, in `target/node-connect` (PROTOCALL_CONNECT_DIR names
 * another such directory); tests/tests/interop_connect.rs and
 * scripts/setup-peers.sh install them there with `npm ci`, whose
 * postinstall step generates the stubs of proto/grpc/testing/*.proto with
 * protoc-gen-es into `gen/` of that directory.
 *
 * Everything is loaded with a `require` rooted in that directory: bare
 * ESM imports from this file would resolve against tests/connect, where no
 * node_modules is. The stubs are generated as CommonJS so that they, the
 * runtime and connect share one (CommonJS) copy of @bufbuild/protobuf.
 */

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PEER_DIR = process.env.PROTOCALL_CONNECT_DIR || path.join(REPO, 'target', 'node-connect');

const peerRequire = createRequire(path.join(PEER_DIR, 'package.json'));

/** Loads `name` from PEER_DIR, or exits 3 saying how to install it. */
function dependency(name) {
  try {
    return peerRequire(name);
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    process.stderr.write(
      `cannot load ${name} from ${PEER_DIR} (${error.message.split('\n')[0]}): run ` +
        `scripts/setup-peers.sh (or npm ci in a copy of tests/connect placed in target/node-connect)\n`
    );
    process.exit(3);
  }
}

export const connect = dependency('@connectrpc/connect');
export const connectProtocol = dependency('@connectrpc/connect/protocol');
export const connectNode = dependency('@connectrpc/connect-node');
/** The three protocols' client and handler implementations, by --protocol name. */
export const protocols = {
  connect: dependency('@connectrpc/connect/protocol-connect'),
  grpc: dependency('@connectrpc/connect/protocol-grpc'),
  grpcweb: dependency('@connectrpc/connect/protocol-grpc-web'),
};
export const testPb = dependency('./gen/grpc/testing/test_pb.js');
export const messagesPb = dependency('./gen/grpc/testing/messages_pb.js');
export const emptyPb = dependency('./gen/grpc/testing/empty_pb.js');

/**
 * Parses `--flag=value` arguments into an object; `known` lists every
 * accepted flag. Exits 2 on anything else.
 */
export function parseFlags(program, usage, known) {
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

/** `flags[name]`, which must be one of `choices` (the first is the default). */
export function choice(program, flags, name, choices) {
  const value = flags[name] ?? choices[0];
  if (!choices.includes(value)) {
    usageError(program, `--${name}: expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function parseBool(program, flag, value) {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  usageError(program, `--${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

export function usageError(program, message) {
  process.stderr.write(`${program}: ${message}\n`);
  process.exit(2);
}

export const ECHO_INITIAL = 'x-grpc-test-echo-initial';
export const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';
