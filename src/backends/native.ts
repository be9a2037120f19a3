// Loading the native addon. A binary that cannot load (never built, wrong architecture, a glibc
// too old for it, a corrupt file) is a result with the real cause, never a crash.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Config, platformTriple } from '../config';
import { findPassenger } from '../targets/passenger';
import type { Backend, ListenTarget, RunningServer } from './types';

/** The addon's exports (generated: native/index.d.ts). */
type Addon = typeof import('../../native/index');
type PreparedServer = import('../../native/index').PreparedServer;

/** How the native server's error starts when your setup hook failed. */
const SETUP_FAILED = 'setup failed:';

/** What `prepare` takes, as JSON: native/src/api/config.rs's Config (camelCase; `app` is
 * native/src/app/mod.rs's AppSettings). */
export function nativeConfig(config: Config) {
  return {
    threads: config.threads,
    blockingThreads: config.blockingThreads,
    basePath: config.basePath,
    version: config.version,
    testRoutes: config.testRoutes,
    trustProxy: config.trustProxy,
    accessLog: config.accessLog,
    headerTimeoutMs: config.headerTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    maxConnections: config.maxConnections,
    bodyLimit: config.bodyLimit,
    // Only when not the default: an addon built before SCGI refuses unknown fields, and `auto`
    // then falls back rather than serving HTTP where a front server speaks SCGI.
    ...(config.protocol === 'http' ? {} : { protocol: config.protocol }),
    app: config.app,
  };
}

/** The outcome of loading the addon. */
export type NativeLoad =
  | { readonly ok: true; readonly backend: Backend }
  | { readonly ok: false; readonly reason: string };

/** Loads the `.node` file named by the config and wraps it as a Backend. Throws (rather than
 * returning a failure to fall back from) when your setup hook failed: `setup failed: …`. */
export function loadNativeBackend(config: Config): NativeLoad {
  const file = config.nativePath;
  if (!existsSync(file)) {
    const others = addonsBeside(file);
    const beside = others.length > 0 ? `; next to it only ${others.join(', ')}` : '';
    return {
      ok: false,
      reason: `no native binary at ${file} for this machine (${platformTriple()})${beside} (build it with \`npm run build:native\`)`,
    };
  }
  let addon: Addon;
  try {
    addon = require(file) as Addon;
  } catch (error) {
    const arch = elfArch(file);
    const mismatch =
      arch !== undefined && arch !== process.arch ? ` (a binary for ${arch}; this machine is ${platformTriple()})` : '';
    return { ok: false, reason: `cannot load ${file}: ${firstLine(error)}${mismatch}` };
  }
  if (typeof addon.prepare !== 'function') {
    return { ok: false, reason: `${file} is not the passenger-handoff addon (no prepare export)` };
  }
  // Threads start here, before anything is bound: a host that refuses them (CloudLinux NPROC,
  // EAGAIN) is a load failure that `auto` answers with the fallback, not a dead app. Your setup
  // hook runs here too (native/src/app/mod.rs); its failure stops the start in every mode.
  let prepared: PreparedServer;
  try {
    // prepare(configJson) deserializes native/src/api/config.rs's Config.
    prepared = addon.prepare(JSON.stringify(nativeConfig(config)));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith(SETUP_FAILED)) throw new Error(message);
    return { ok: false, reason: `cannot start the native server: ${firstLine(error)}` };
  }
  return { ok: true, backend: createNativeBackend(prepared) };
}

/** The addon's error catalogue, for the parity test. */
export function nativeErrorCatalogue(config: Config): unknown {
  const addon = require(config.nativePath) as Addon;
  return JSON.parse(addon.errorCatalogue());
}

function createNativeBackend(prepared: PreparedServer): Backend {
  return {
    name: 'native',
    listen(target: ListenTarget): RunningServer {
      const server = prepared.listen({
        ...toNativeTarget(target),
        behindPassenger: target.kind === 'path' && findPassenger() !== undefined,
      });
      // Asking for `closed` now is what keeps Node running while only native threads serve.
      const closed = server.closed();
      return {
        address: server.address,
        port: server.port ?? undefined,
        listening: Promise.resolve(),
        closed,
        drain: () => server.drain(),
        close: (graceMs) => server.close(graceMs),
      };
    },
  };
}

function toNativeTarget(target: ListenTarget): { path?: string; host?: string; port?: number; fd?: number } {
  switch (target.kind) {
    case 'path':
      return { path: target.path };
    case 'tcp':
      return { host: target.host, port: target.port };
    case 'fd':
      return { fd: target.fd };
  }
}

/** The CPU (Node's name for it) an ELF file is built for, or undefined when it is no ELF file.
 * Only a failed load asks, so the ELF reader is loaded only then. */
function elfArch(file: string): string | undefined {
  try {
    const { readElf } = require('../doctor/elf') as typeof import('../doctor/elf');
    return readElf(readFileSync(file)).arch;
  } catch {
    return undefined;
  }
}

/** The other `handoff.*.node` files in the folder of `file` (an upload for another machine). */
function addonsBeside(file: string): string[] {
  try {
    return readdirSync(path.dirname(file))
      .filter((name) => /^handoff\..+\.node$/.test(name))
      .sort();
  } catch {
    return [];
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim() !== '') ?? message;
}
