// Runs a backend in this process on a real socket (a Unix path or TCP), exactly as start()
// would, so a contract suite can be run against every backend (h3's describeMatrix idea).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, type TestContext } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { prepareBackend } from '../../src/backends';
import type { RunningServer } from '../../src/backends/types';
import { type Config, loadConfig } from '../../src/config';
import type { Endpoint } from './http';

/** Every backend there is, in the order the tests run them. */
export const ALL_BACKENDS: readonly BackendName[] = ['native', 'fastify', 'express'];

/** The backends named in `value` (`HANDOFF_TEST_BACKENDS`: a comma list of native, fastify,
 * express; unset or empty means all of them), in ALL_BACKENDS order. Throws naming an unknown one. */
export function parseTestBackends(value: string | undefined): readonly BackendName[] {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.length === 0) return ALL_BACKENDS;
  for (const name of names) {
    if (!(ALL_BACKENDS as readonly string[]).includes(name)) {
      throw new Error(
        `HANDOFF_TEST_BACKENDS names an unknown backend ${JSON.stringify(name)}; use a comma list of ${ALL_BACKENDS.join(', ')}.`,
      );
    }
  }
  return ALL_BACKENDS.filter((backend) => names.includes(backend));
}

/** The backends every matrix runs: `HANDOFF_TEST_BACKENDS`, all three by default. A test of a
 * backend left out skips (requireBackend says why). */
export const BACKENDS: readonly BackendName[] = parseTestBackends(process.env.HANDOFF_TEST_BACKENDS);

/** How a test reaches the server. */
export type Transport = 'unix' | 'tcp';

/** What every app a test starts gets (in process, `node app.js`, under Passenger, Apache and
 * LiteSpeed): limits small enough to test cheaply, and the test-only routes the core contract and
 * the infrastructure tests use. A test that needs them off sets `HANDOFF_TEST_ROUTES: '0'`. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  HANDOFF_TEST_ROUTES: '1',
  /** readJson's limit and POST /__test/upload's. */
  HANDOFF_BODY_LIMIT: String(64 * 1024),
  HANDOFF_HASH_LIMIT: String(2 * 1024 * 1024), // [examples]
};

/** A backend serving on a socket of its own. */
export interface StartedBackend {
  readonly endpoint: Endpoint;
  readonly config: Config;
  readonly server: RunningServer;
  /** Closes the server and removes its temporary folder. */
  stop(): Promise<void>;
}

/** Builds a Config for tests from `env` (on top of TEST_ENV), never from the real environment. */
export function testConfig(backend: BackendName, env: Readonly<Record<string, string>> = {}): Config {
  return loadConfig({ ...TEST_ENV, HANDOFF_BACKEND: backend, ...env });
}

/** Whether the native binary exists; tests of native skip without it, except in CI. */
export function nativeMissing(): string | undefined {
  const file = loadConfig({}).nativePath;
  return existsSync(file) ? undefined : `no native binary at ${file}; run \`npm run build:native\``;
}

/** Why `backend` cannot be tested here, or undefined when it can: left out of
 * HANDOFF_TEST_BACKENDS, or (native) not built. In CI a missing native binary throws instead. */
export function backendUnavailable(backend: BackendName): string | undefined {
  if (!BACKENDS.includes(backend)) return `${backend} is not in HANDOFF_TEST_BACKENDS (${BACKENDS.join(',')})`;
  const missing = backend === 'native' ? nativeMissing() : undefined;
  if (missing !== undefined && process.env.CI === 'true')
    throw new Error(`CI must test the native backend: ${missing}`);
  return missing;
}

/** Skips a test of `backend` when it cannot run here (see backendUnavailable); true when it can. */
export function requireBackend(t: Pick<TestContext, 'skip'>, backend: BackendName): boolean {
  const why = backendUnavailable(backend);
  if (why === undefined) return true;
  t.skip(why);
  return false;
}

/** Prepares `backend` and serves it on a fresh Unix socket or TCP port on 127.0.0.1. */
export async function startBackend(
  backend: BackendName,
  transport: Transport,
  env: Readonly<Record<string, string>> = {},
): Promise<StartedBackend> {
  const config = testConfig(backend, env);
  const prepared = await prepareBackend(config);
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-test-'));
  const socketPath = path.join(dir, 'app.sock');
  const server =
    transport === 'unix'
      ? prepared.listen({ kind: 'path', path: socketPath })
      : prepared.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
  await server.listening;
  const endpoint: Endpoint =
    transport === 'unix' ? { socketPath } : { host: '127.0.0.1', port: server.port ?? Number.NaN };
  return {
    endpoint,
    config,
    server,
    async stop() {
      await server.close(1_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Inside a `describe`: starts `backends` on Unix sockets before its tests and stops them after.
 * All or none: when one of them cannot run here (see backendUnavailable) none starts, and the
 * tests skip on an empty map. The map fills in `before`. */
export function useBackends(backends: readonly BackendName[]): Map<BackendName, StartedBackend> {
  const servers = new Map<BackendName, StartedBackend>();
  before(async () => {
    if (backends.some((backend) => backendUnavailable(backend) !== undefined)) return;
    for (const backend of backends) servers.set(backend, await startBackend(backend, 'unix'));
  });
  after(async () => {
    for (const server of servers.values()) await server.stop();
  });
  return servers;
}
