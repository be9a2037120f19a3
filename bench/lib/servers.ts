// The servers under test, each in a process of its own so that its /proc figures are its
// alone: the app (`node app.js` with HANDOFF_BACKEND and HANDOFF_SOCKET) for native, fastify and
// express, and the limit binary (native/src/bin/handoff-limit.rs) with no Node at all.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Every server the benchmark compares. */
export type ServerName = 'native' | 'fastify' | 'express' | 'limit';

/** The order of every table and chart. */
export const SERVERS: readonly ServerName[] = ['native', 'fastify', 'express', 'limit'];

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

let limitBinary = '';

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
      'handoff-limit',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (built.error || built.status !== 0) {
    throw new Error(`cannot build the limit binary (cargo build --bin handoff-limit): ${built.error ?? built.status}`);
  }
  limitBinary = path.join(REPO_ROOT, 'native', 'target', host, 'release', 'handoff-limit');
}

/** Starts `name` on a fresh socket in `options.dir` and resolves once it answers GET /health. */
export async function startServer(name: ServerName, options: StartOptions): Promise<ServerProcess> {
  if (name === 'limit' && limitBinary === '') throw new Error('buildLimit() must run before the limit starts');
  const socketPath = path.join(options.dir, `${name}.sock`);
  const logFile = path.join(options.dir, `${name}.log`);
  const log = openSync(logFile, 'a');
  const command = name === 'limit' ? [limitBinary, socketPath] : [process.execPath, path.join(REPO_ROOT, 'app.js')];
  const [file, ...args] = options.cpus === undefined ? command : ['taskset', '-c', options.cpus, ...command];
  let child: ChildProcess;
  try {
    child = spawn(file ?? '', args, {
      cwd: REPO_ROOT,
      // Only what the app needs: nothing inherited can change what it does.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        ...(name === 'limit' ? {} : { HANDOFF_BACKEND: name, HANDOFF_SOCKET: socketPath }),
      },
      // The limit stops when its stdin closes; the app must never read stdin (Passenger's).
      stdio: [name === 'limit' ? 'pipe' : 'ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${name}: ${file}`);
  try {
    await waitForHealth(socketPath, exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not start: ${(error as Error).message}\n${tail(logFile)}`);
  }
  return {
    name,
    pid,
    socketPath,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (name === 'limit') child.stdin?.end();
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForHealth(socketPath: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) throw new Error('it exited');
    if (existsSync(socketPath) && (await getStatus(socketPath).catch(() => 0)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no answer on ${socketPath} within ${START_TIMEOUT_MS} ms`);
}

function getStatus(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/health', agent: false, timeout: 2_000 }, (res) => {
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
