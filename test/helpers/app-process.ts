// Runs the real app (`node app.js`, or any command) as a child process and watches its stderr,
// as Passenger or a terminal would.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_ENV } from './backends';

/** The repository root (where app.js lives). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A running app process. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far, as lines. */
  lines(): string[];
  /** Resolves with the first stderr line matching `pattern` (already seen or to come). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process (and, with `group`, its children) if still running. */
  kill(signal?: NodeJS.Signals): void;
}

/** Environment for the app: only what a test sets, on top of PATH and the test limits. */
export function appEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...TEST_ENV, ...env };
}

/** Starts `command` (default `node app.js`) in the repository root with `env`. */
export function startApp(env: Readonly<Record<string, string>>, command = [process.execPath, 'app.js']): AppProcess {
  const [file, ...args] = command;
  if (file === undefined) throw new Error('empty command');
  // Its own process group, so npm and the node it starts can be signalled together.
  const child = spawn(file, args, {
    cwd: REPO_ROOT,
    env: appEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const { lines, waitForLine } = watchLines(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    lines,
    waitForLine,
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // Already gone.
        }
      }
    },
  };
}

/** Collects a child's stderr and stdout as lines, and waits for one that matches. */
export function watchLines(child: ChildProcess): Pick<AppProcess, 'lines' | 'waitForLine'> {
  const seen: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let partial = '';
  const onData = (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      seen.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stderr?.on('data', onData);
  child.stdout?.on('data', onData);
  return {
    lines: () => [...seen],
    waitForLine(pattern, timeoutMs = 20_000) {
      const found = seen.find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const fail = (why: string) =>
          reject(new Error(`${why} before a line matched ${pattern}; got:\n${seen.join('\n')}`));
        const timer = setTimeout(() => fail(`${timeoutMs} ms passed`), timeoutMs);
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        // Lines still in the pipe arrive before 'close', so a line printed just before the
        // exit still matches.
        child.once('close', () => {
          clearTimeout(timer);
          fail('the process exited');
        });
      });
    },
  };
}

/** A fresh temporary folder for sockets and files of one test. */
export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'handoff-life-'));
}
