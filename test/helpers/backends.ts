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

/** Every backend the contract must hold for. */
export const BACKENDS: readonly BackendName[] = ['native', 'fastify', 'express'];

/** How a test reaches the server. */
export type Transport = 'unix' | 'tcp';

/** Limits small enough to test cheaply; every contract run uses them, Passenger's too. */
export const TEST_ENV: Readonly<Record<string, string>> = {
  HANDOFF_BODY_LIMIT: String(64 * 1024),
  HANDOFF_HASH_LIMIT: String(2 * 1024 * 1024),
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

/** Skips (or, in CI, fails) a native test when the binary was not built. */
export function requireBackend(t: TestContext, backend: BackendName): boolean {
  const missing = backend === 'native' ? nativeMissing() : undefined;
  if (missing === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`CI must test the native backend: ${missing}`);
  t.skip(missing);
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

/** Inside a `describe`: starts `backends` on Unix sockets before its tests (none when native is
 * missing outside CI, see requireBackend) and stops them after. The map fills in `before`. */
export function useBackends(backends: readonly BackendName[]): Map<BackendName, StartedBackend> {
  const servers = new Map<BackendName, StartedBackend>();
  before(async (t) => {
    if (backends.includes('native') && !requireBackend(t as never, 'native')) return;
    for (const backend of backends) servers.set(backend, await startBackend(backend, 'unix'));
  });
  after(async () => {
    for (const server of servers.values()) await server.stop();
  });
  return servers;
}
