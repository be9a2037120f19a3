// Starts `app.js` the way LiteSpeed does, without LiteSpeed: the harness creates a listening
// Unix socket and passes it to `node lsnode-loader.cjs` as descriptor 0 (stdin), with the
// LSNODE_* variables set; the loader mimics LiteSpeed's lsnode.js (see lsnode-loader.cjs).
// Requests then go to the socket's path, as LiteSpeed's own connections do.
import { type ChildProcess, spawn } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { appEnv, REPO_ROOT, tempDir, watchLines } from './app-process';

const LOADER = path.join(__dirname, 'lsnode-loader.cjs');

/** An app started under the emulated lsnode.js. */
export interface LsnodeApp {
  readonly child: ChildProcess;
  /** The listening socket's path, also in LSNODE_SOCKET. */
  readonly socketPath: string;
  /** Where the loader sends the app's stdout (LSNODE_CONSOLE_LOG). */
  readonly consoleLog: string;
  /** Everything written to stderr so far, as lines. */
  lines(): string[];
  /** Resolves with the first stderr line matching `pattern` (already seen or to come). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What LiteSpeed sends to stop an app: SIGTERM and at once SIGUSR1 (killProcess in
   * litespeedtech/openlitespeed src/extensions/localworker.cpp). */
  stopLikeLiteSpeed(): void;
  /** Kills the process if still running and removes its temporary folder. */
  kill(): void;
}

/** Starts `app.js` under the emulated lsnode.js with `env` (on top of the test limits). */
export function startUnderLsnode(env: Readonly<Record<string, string>> = {}): LsnodeApp {
  const dir = tempDir();
  const socketPath = path.join(dir, 'lsnode.sock');
  const consoleLog = path.join(dir, 'console.log');
  // LiteSpeed keeps its listening socket open without accepting on it. A net.Server here would
  // accept on its next turn of the event loop, and closing it unlinks its path; so, all within
  // this tick: listen, hand the descriptor to the child, move the file to its final name (the
  // socket stays reachable there) and close our copy (libuv's unlink finds no file).
  const binding = path.join(dir, 'binding.sock');
  const listener = createServer().listen(binding);
  // Node has no public way to get a server's descriptor; `_handle.fd` is what net.js itself uses.
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  const child = spawn(process.execPath, [LOADER], {
    cwd: REPO_ROOT,
    env: appEnv({
      LSNODE_ROOT: REPO_ROOT,
      LSNODE_STARTUP_FILE: 'app.js',
      LSNODE_SOCKET: socketPath,
      LSNODE_CONSOLE_LOG: consoleLog,
      ...env,
    }),
    stdio: [fd, 'ignore', 'pipe'],
  });
  renameSync(binding, socketPath);
  listener.close();

  const { lines, waitForLine } = watchLines(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = (name: NodeJS.Signals) => {
    if (running()) child.kill(name);
  };
  return {
    child,
    socketPath,
    consoleLog,
    lines,
    waitForLine,
    exited,
    stopLikeLiteSpeed() {
      signal('SIGTERM');
      signal('SIGUSR1');
    },
    kill() {
      signal('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
