// Runs an app (by default this repository's app.js) under real Phusion Passenger Standalone with the
// builtin engine, so tests see the real Node loader, socket handoff and shutdown (docs/hosting.md).
//
// Everything Passenger writes (log, pid file, instance registry with the app's socket, its TMPDIR)
// goes into one fresh temporary folder: the app root stays clean. The folder is removed when the
// test process exits.
//
// No `--user`: Standalone's builtin engine starts its watchdog with `--no-user-switching` and
// `--default-user <whoever ran passenger start>`, so the app runs as the test's own user (root in CI,
// HOME=/root). `--user nobody` was tried as root: it drops the whole of Passenger, not just the app,
// so the log file and registry folder must be chowned first, the app gets HOME=/nonexistent, and it
// only works while every folder down to the app root is world-readable; nothing a test needs.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeError } from '../../src/log';
import { descendants, isAlive, isPassengerAgent, marksOf, mentioning, readText, signalAll } from './processes';
import { freePort, getStatus, sleep, tail } from './util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const INSTALL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'install-system-deps.sh');
const START_TIMEOUT_MS = 30_000;
// Passenger's watchdog kills agents that have not exited 30 s after the stop; a little longer here
// lets that happen, and be logged, before we resort to SIGKILL ourselves.
const STOP_TIMEOUT_MS = 40_000;
const FAILED_START_STOP_MS = 3_000;
/** Inherited variables that would change what the app does behind the test's back. */
const DROPPED_ENV = /^(HANDOFF_.*|PORT|HOST|PASSENGER_BASE_URI|NODE_TEST_CONTEXT)$/;

// A test that forgets stop(), or fails before it, must not leave Passenger running (its watchdog is a
// daemon), nor temp folders behind. Keyed by temp folder.
const instances = new Map<string, ChildProcess | undefined>();
process.on('exit', () => {
  for (const [dir, child] of instances) {
    // A Passenger still shutting down needs its folder: that one is left behind.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    else rmSync(dir, { recursive: true, force: true });
  }
});

/** Whether Passenger can be used, and if not why (for `t.skip(reason)` or a CI failure). */
export type PassengerCheck = { ok: true } | { ok: false; reason: string };

/** What `startPassenger` runs. */
export interface PassengerOptions {
  /** The app's own variables, passed as `--envvar K=V` (on top of the test's environment, minus HANDOFF_*). */
  env?: Record<string, string>;
  /** Folder holding the startup file `app.js`. @default the repository root */
  appRoot?: string;
  /** Path that must answer 200 before the instance counts as started. @default `${HANDOFF_BASE_PATH}/health` */
  healthPath?: string;
}

/** How the `passenger start` process ended. */
export interface PassengerExit {
  code: number | null;
  signal: string | null;
}

/** One Passenger Standalone serving one app on 127.0.0.1:`port`. */
export interface PassengerInstance {
  readonly port: number;
  /** Passenger's log; the app's stdout and stderr are copied into it as `App <pid> output: <line>`. */
  readonly logFile: string;
  /** The whole log so far ('' before it exists). */
  readLog(): string;
  /** Pids of the app processes Passenger runs now (one with `--max-pool-size 1`, none after stop). */
  appPids(): number[];
  /**
   * SIGTERM to `passenger start` (what Ctrl-C does): Passenger waits for in-flight requests, closes the
   * app's stdin, the loader emits `exit` and the app drains and exits by itself. Waits up to 40 s for
   * `passenger start` to exit and for the app processes to be gone, then SIGKILLs what is left.
   * Safe to call twice.
   *
   * Resolves with the exit of `passenger start`: `{ code: 2 }` after a graceful stop, since it exits 2
   * on every SIGTERM or SIGINT (start_command.rb); the code says nothing about the app.
   *
   * A clean stop of the app leaves these lines in the log, in this order (`<pid>` is the app's):
   * ```
   * [ N <time> <core>/<thread> age/Cor/CoreMain.cpp:670 ]: Signal received. Gracefully shutting down... (...)
   * [ N <time> <core>/T1 age/Cor/CoreMain.cpp:1245 ]: Received command to shutdown gracefully. Waiting until ...
   * App <pid> output: [main] Passenger asked the app to exit: finishing in-flight requests (up to 10000 ms)
   * App <pid> output: [main] stopped
   * [ N <time> <core>/T1 age/Cor/CoreMain.cpp:1325 ]: Passenger core shutdown finished
   * ```
   * Only `App <pid> output: [main] stopped` proves that the app drained and exited 0: Passenger logs
   * nothing about the app's exit status (an app exiting 3 on `exit` leaves the same Passenger lines).
   * `[main] shutdown failed: ...` means it exited 1. An app that never exits is killed by Passenger's
   * watchdog after 30 s, which logs `Some Phusion Passenger(R) agent processes did not exit in time,
   * forcefully shutting down all.` instead of `Passenger core shutdown finished`.
   */
  stop(): Promise<PassengerExit>;
}

let passengerCheck: PassengerCheck | undefined;

/** Why Passenger cannot be had here (installing it if needed), or undefined; for a suite's
 * `skip` with unlessMissing (test/helpers/util.ts). */
export function passengerUnavailable(): string | undefined {
  const available = ensurePassenger();
  return available.ok ? undefined : available.reason;
}

/**
 * Makes sure `passenger` is on PATH, running scripts/install-system-deps.sh (output shown) if it is
 * not. The answer is kept for the rest of the process, so the install is tried at most once.
 */
export function ensurePassenger(): PassengerCheck {
  if (passengerCheck) return passengerCheck;
  if (findOnPath('passenger')) {
    passengerCheck = { ok: true };
    return passengerCheck;
  }
  const install = spawnSync('bash', [INSTALL_SCRIPT], { stdio: 'inherit' });
  if (findOnPath('passenger')) {
    passengerCheck = { ok: true };
  } else {
    const outcome = install.error
      ? `could not be run (${install.error.message})`
      : `exited with ${install.status ?? install.signal}`;
    passengerCheck = {
      ok: false,
      reason: `Phusion Passenger is not installed (no \`passenger\` on PATH) and ${INSTALL_SCRIPT} ${outcome}`,
    };
  }
  return passengerCheck;
}

/**
 * Starts `passenger start --engine=builtin` for `appRoot` on a free port of 127.0.0.1, as a child
 * process of the test (not daemonized), and resolves once `GET healthPath` answers 200. Rejects
 * after 30 s, or as soon as Passenger exits, with the tail of its log; nothing is left running then.
 */
export async function startPassenger(options: PassengerOptions = {}): Promise<PassengerInstance> {
  const appRoot = path.resolve(options.appRoot ?? REPO_ROOT);
  const appEnv = options.env ?? {};
  const healthPath = options.healthPath ?? `${(appEnv.HANDOFF_BASE_PATH ?? '').replace(/\/+$/, '')}/health`;
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-passenger-'));
  instances.set(dir, undefined);
  const registryDir = path.join(dir, 'registry');
  const tmpDir = path.join(dir, 'tmp');
  // Passenger does not create the registry folder itself (its watchdog fails with ENOENT).
  mkdirSync(registryDir);
  mkdirSync(tmpDir);
  const logFile = path.join(dir, 'passenger.log');
  const pidFile = path.join(dir, 'passenger.pid');
  const consoleFile = path.join(dir, 'console.log');
  const port = await freePort();

  const args = [
    'start',
    '--engine=builtin',
    '--port',
    String(port),
    '--address',
    '127.0.0.1',
    '--app-type',
    'node',
    '--startup-file',
    'app.js',
    '--environment',
    'production',
    // Without these two Passenger phones home (docs/hosting.md); tests stay on loopback.
    '--disable-security-update-check',
    '--disable-anonymous-telemetry',
    '--max-pool-size',
    '1',
    '--min-instances',
    '1',
    '--log-file',
    logFile,
    '--pid-file',
    pidFile,
    '--instance-registry-dir',
    registryDir,
  ];
  for (const [name, value] of Object.entries(appEnv)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not an environment variable name: ${name}`);
    args.push('--envvar', `${name}=${value}`);
  }

  // `passenger start` prints a banner and then `tail -f`s the log to stdout: a file, not a pipe,
  // so nobody has to drain it.
  const output = openSync(consoleFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('passenger', args, { cwd: appRoot, env: passengerEnv(tmpDir), stdio: ['ignore', output, output] });
  } finally {
    closeSync(output);
  }
  let spawnError: Error | undefined;
  const exited = new Promise<PassengerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      spawnError = error;
      resolve({ code: null, signal: null });
    });
  });
  instances.set(dir, child);
  // A test that forgets stop() must still end; the exit hook then stops Passenger.
  child.unref();

  const readLog = () => readText(logFile);
  // The watchdog daemonizes away from `passenger start`; its pid file is how we find it (and, under
  // it, the core and the app). Kept once read, since it stays valid until the watchdog exits.
  let watchdog: number | undefined;
  const watchdogPid = () => {
    if (watchdog === undefined) {
      const pid = Number.parseInt(readText(pidFile), 10);
      if (pid > 0) watchdog = pid;
    }
    return watchdog;
  };
  const appPids = () => {
    const root = watchdogPid();
    if (root === undefined) return [];
    // The app is a grandchild of the watchdog (under the core); Passenger's own agents are all one binary.
    return descendants(root).filter((pid) => !isPassengerAgent(pid));
  };

  let stopping: Promise<PassengerExit> | undefined;
  const stop = (timeoutMs = STOP_TIMEOUT_MS) => {
    stopping ??= stopAll(child, exited, dir, watchdogPid, appPids, timeoutMs);
    return stopping;
  };

  try {
    await waitForHealth(port, healthPath, exited);
  } catch (error) {
    // Briefly: an app that never listened keeps Passenger's graceful shutdown waiting for 30 s.
    await stop(FAILED_START_STOP_MS);
    const detail = spawnError ? ` (${spawnError.message})` : '';
    throw new Error(
      `Passenger did not serve GET http://127.0.0.1:${port}${healthPath} with 200${detail}: ${describeError(error)}\n` +
        `--- output of passenger start (tail):\n${tail(readText(consoleFile), 15)}\n` +
        `--- ${logFile} (tail):\n${tail(readLog(), 40)}`,
    );
  }
  watchdogPid();
  return { port, logFile, readLog, appPids, stop: () => stop() };
}

async function stopAll(
  child: ChildProcess,
  exited: Promise<PassengerExit>,
  dir: string,
  watchdogPid: () => number | undefined,
  appPids: () => number[],
  timeoutMs: number,
): Promise<PassengerExit> {
  const deadline = Date.now() + timeoutMs;
  const watchdog = watchdogPid();
  const passenger = marksOf([...(watchdog === undefined ? [] : [watchdog, ...descendants(watchdog)]), ...appPids()]);
  // Helpers that `passenger start` normally ends itself: its `tail -f` of the log, and the daemonized
  // temp-dir-toucher, which after a forced shutdown was seen living on (found by our folder in its argv).
  const helpers = marksOf([...(child.pid === undefined ? [] : descendants(child.pid)), ...mentioning(`${dir}/`)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, deadline - Date.now(), undefined);
  });
  let result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (result === undefined) {
    child.kill('SIGKILL');
    signalAll(passenger, 'SIGKILL');
    result = await exited;
  }
  while (passenger.some(isAlive) && Date.now() < deadline) await sleep(50);
  signalAll(passenger, 'SIGKILL');
  signalAll(helpers, 'SIGTERM');
  const helpersDeadline = Date.now() + 2_000;
  while (helpers.some(isAlive) && Date.now() < helpersDeadline) await sleep(50);
  signalAll(helpers, 'SIGKILL');
  // SIGKILL takes effect at once unless the process is stuck in the kernel; do not hang the test on it.
  const killDeadline = Date.now() + 5_000;
  while ([...passenger, ...helpers].some(isAlive) && Date.now() < killDeadline) await sleep(50);
  return result;
}

async function waitForHealth(port: number, healthPath: string, exited: Promise<PassengerExit>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone: PassengerExit | undefined;
  void exited.then((result) => {
    gone = result;
  });
  let last = 'no answer yet';
  for (;;) {
    if (gone) throw new Error(`passenger start exited (code ${gone.code}, signal ${gone.signal}); last: ${last}`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`not within ${START_TIMEOUT_MS / 1000} s; last: ${last}`);
    try {
      // While the app spawns Passenger holds the request: the wait may take most of the remaining time.
      const status = await Promise.race([getStatus(port, healthPath, remaining), exited.then(() => 0)]);
      if (status === 200) return;
      if (status !== 0) last = `status ${status}`;
    } catch (error) {
      last = describeError(error);
    }
    await sleep(100);
  }
}

function passengerEnv(tmpDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!DROPPED_ENV.test(name)) env[name] = value;
  }
  // Passenger Standalone's work dir and the spawn handshake dirs go to TMPDIR: keep them in our folder
  // so that a crash leaves nothing in /tmp. The app sees this TMPDIR too.
  env.TMPDIR = tmpDir;
  return env;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}
