// The servers under test, each in a process of its own so that its /proc figures are its
// alone: the app (`node app.js` with HANDOFF_BACKEND and HANDOFF_SOCKET) for native, fastify and
// express (and native again with HANDOFF_ACCESS_LOG=off), the limit binary
// (native/src/bin/handoff-limit.rs: the same router, log and middleware with no Node at all) and
// the bare limit (native/src/bin/handoff-bare.rs: plain hyper answering GET /hello, nothing else).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Every server the benchmark compares. */
export type ServerName = 'native' | 'fastify' | 'express' | 'limit' | 'bare' | 'native-nolog';

/** The order of every table and chart. */
export const SERVERS: readonly ServerName[] = ['native', 'fastify', 'express', 'limit', 'bare', 'native-nolog'];

/** Servers that run GET /hello only (S1 and S2): the bare limit answers nothing else, and the
 * access log's cost shows there. */
export const HELLO_ONLY: ReadonlySet<ServerName> = new Set(['bare', 'native-nolog']);

/** The Rust binaries the benchmark builds (not `npm install`). */
const BINARIES = { limit: 'handoff-limit', bare: 'handoff-bare' } as const;

/** Worker threads of every Rust server (the app's default, HANDOFF_THREADS=2), set explicitly on
 * each so the native ones and the bare limit always compare like with like. */
const THREADS = 2;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** A server process listening on a Unix socket. */
export interface ServerProcess {
  readonly name: ServerName;
  readonly pid: number;
  readonly socketPath: string;
  /** Its stderr (the request log goes there, as it would to Passenger's log). */
  readonly logFile: string;
  /** Stops it gracefully (SIGTERM, or closing stdin for the limit) and waits for its exit. */
  stop(): Promise<void>;
}

/** How to start a server. */
export interface StartOptions {
  /** Folder for the socket and the log. */
  readonly dir: string;
  /** Runs the server on these cores only (`taskset -c`), e.g. "0". */
  readonly cpus?: string | undefined;
}

let binDir = '';

/**
 * Builds the limit binary as `npm run build:native` builds the addon (release, for the host's
 * target triple, in the same folder), so after `npm install` there is nothing left to build.
 * Throws on failure.
 */
export function buildLimit(): void {
  const rustc = spawnSync('rustc', ['-vV'], { encoding: 'utf8' });
  const host = /^host: (\S+)$/m.exec(rustc.stdout ?? '')?.[1];
  if (host === undefined) throw new Error('cannot tell the host target: `rustc -vV` failed');
  const built = spawnSync(
    'cargo',
    [
      'build',
      '--release',
      '--locked',
      '--manifest-path',
      'native/Cargo.toml',
      '--target',
      host,
      '--bin',
      BINARIES.limit,
      '--bin',
      BINARIES.bare,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (built.error || built.status !== 0) {
    throw new Error(
      `cannot build the limit binaries (cargo build --bin handoff-limit --bin handoff-bare): ${built.error ?? built.status}`,
    );
  }
  binDir = path.join(REPO_ROOT, 'native', 'target', host, 'release');
}

/** A process the bench started (spawnLogged). */
export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** Asks it to stop (SIGTERM, or closing its stdin for `stopWithStdin`), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/** Starts `command` in the repository with only PATH, HOME, NODE_ENV=production and `env` in its
 * environment (nothing inherited can change what it does), stdout and stderr appended to
 * `logFile`. `stopWithStdin`: it reads stdin and stops when stdin closes (the limit binaries);
 * otherwise stdin is closed from the start, as the app must never read it (Passenger's). */
export function spawnLogged(
  command: readonly string[],
  env: Readonly<Record<string, string>>,
  logFile: string,
  stopWithStdin = false,
): Spawned {
  const [file, ...args] = command;
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file ?? '', args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...env },
      stdio: [stopWithStdin ? 'pipe' : 'ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${command.join(' ')}`);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid,
    exited,
    hasExited,
    async stop() {
      if (hasExited()) return;
      if (stopWithStdin) child.stdin?.end();
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts `name` on a fresh socket in `options.dir` and resolves once it answers GET /health. */
export async function startServer(name: ServerName, options: StartOptions): Promise<ServerProcess> {
  const binary = name === 'limit' || name === 'bare' ? BINARIES[name] : undefined;
  if (binary !== undefined && binDir === '') throw new Error('buildLimit() must run before the limits start');
  const socketPath = path.join(options.dir, `${name}.sock`);
  const logFile = path.join(options.dir, `${name}.log`);
  const command =
    binary !== undefined
      ? [path.join(binDir, binary), socketPath, '--threads', String(THREADS)]
      : [process.execPath, path.join(REPO_ROOT, 'app.js')];
  const app: Record<string, string> =
    name === 'native-nolog'
      ? { HANDOFF_BACKEND: 'native', HANDOFF_SOCKET: socketPath, HANDOFF_ACCESS_LOG: 'off' }
      : { HANDOFF_BACKEND: name, HANDOFF_SOCKET: socketPath };
  // The limits stop when their stdin closes.
  const spawned = spawnLogged(
    options.cpus === undefined ? command : ['taskset', '-c', options.cpus, ...command],
    { HANDOFF_THREADS: String(THREADS), ...(binary !== undefined ? {} : app) },
    logFile,
    binary !== undefined,
  );
  try {
    await waitForHealth(socketPath, spawned.exited, name === 'bare' ? '/hello' : '/health');
  } catch (error) {
    spawned.child.kill('SIGKILL');
    throw new Error(`${name} did not start: ${(error as Error).message}\n${tail(logFile)}`);
  }
  return { name, pid: spawned.pid, socketPath, logFile, stop: spawned.stop };
}

async function waitForHealth(socketPath: string, exited: Promise<void>, urlPath: string): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) throw new Error('it exited');
    if (existsSync(socketPath) && (await getStatus(socketPath, urlPath).catch(() => 0)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no answer on ${socketPath} within ${START_TIMEOUT_MS} ms`);
}

function getStatus(socketPath: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: urlPath, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}
