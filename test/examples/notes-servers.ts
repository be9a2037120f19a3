// What the notes' fault and concurrency tests share: `node app.js` processes serving the notes on a
// database (the fallback on SQLite runs under Node 22, which has node:sqlite), requests to them,
// and the file systems the fault tests mount (root only: tmpfs mounts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { type Endpoint, type Reply, type RequestOptions, send } from '../helpers/http';
import { obtainNode } from '../helpers/node-versions';

export interface Note {
  id: number;
  title: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

/** A `node app.js` serving one backend on a Unix socket of its own. */
export interface Served {
  readonly backend: BackendName;
  readonly endpoint: Endpoint;
  readonly app: AppProcess;
  call(options: RequestOptions): Promise<Reply>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

/** Everything a test file starts, for its `after`. */
export class Fixtures {
  private readonly apps: AppProcess[] = [];
  private readonly dirs: string[] = [];
  private readonly mounts: string[] = [];

  scratch(): string {
    const dir = tempDir();
    this.dirs.push(dir);
    return dir;
  }

  /** An app process started elsewhere, killed by `cleanUp` too. */
  track(app: AppProcess): AppProcess {
    this.apps.push(app);
    return app;
  }

  /** Starts `node app.js` for `backend` with `env` (DATABASE_URL and more) and waits until it
   * serves; `command` runs it (default: the Node `nodeFor` picks), from `root` (default: the
   * repository). */
  async serve(
    backend: BackendName,
    env: Readonly<Record<string, string>>,
    { command, root = REPO_ROOT }: { command?: readonly string[]; root?: string } = {},
  ): Promise<Served> {
    const socketPath = path.join(this.scratch(), 'app.sock');
    const app = startApp({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath, ...env }, [
      ...(command ?? nodeFor(backend, env.DATABASE_URL ?? 'sqlite:')),
      path.join(root, 'app.js'),
    ]);
    this.apps.push(app);
    const line = await app.waitForLine(/^\[main\] (serving with|cannot start)/, 60_000);
    assert.match(line, new RegExp(`serving with ${backend} `), app.lines().join('\n'));
    const endpoint = { socketPath };
    return {
      backend,
      endpoint,
      app,
      call: (options) => send(endpoint, options),
      async stop() {
        app.kill('SIGTERM');
        await app.exited;
      },
    };
  }

  /** A tmpfs of `size` (e.g. `1m`) mounted on a new folder; unmounted by `cleanUp`. */
  mountTmpfs(size: string): string {
    const dir = path.join(this.scratch(), 'mnt');
    mkdirSync(dir);
    run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
    this.mounts.push(dir);
    return dir;
  }

  cleanUp(): void {
    for (const app of this.apps) app.kill();
    for (const dir of this.mounts) spawnSync('umount', ['-l', dir]);
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Remounts a tmpfs read-only (no file on it may be open for writing) or read-write. */
export function remount(dir: string, mode: 'ro' | 'rw'): void {
  run('mount', ['-o', `remount,${mode}`, dir]);
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
}

/** Whether this process may mount a tmpfs (root, and a kernel that lets it); skips the test if not,
 * except in CI, which runs as root. */
export function requireMounts(t: Pick<TestContext, 'skip'>): boolean {
  let why: string | undefined;
  if (process.getuid?.() !== 0) why = 'mounting a tmpfs needs root';
  else {
    const dir = tempDir();
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (mounted.status !== 0) why = `cannot mount a tmpfs here: ${mounted.stderr || mounted.error?.message}`;
    else spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(why);
  t.skip(why);
  return false;
}

/** The command that runs app.js for `backend` on `databaseUrl`: the fallback on SQLite needs Node 22. */
export function nodeFor(backend: BackendName, databaseUrl: string): readonly string[] {
  if (backend === 'native' || !databaseUrl.startsWith('sqlite:')) return [process.execPath];
  const node = obtainNode(22);
  if (!node.ok) throw new Error(`Node 22 for the fallback on SQLite: ${node.reason}`);
  return node.command;
}

/** The first column of the rows `sql` reads from a SQLite file (joined by commas), read with Node
 * 22's node:sqlite. */
export function sqliteScalar(file: string, sql: string): string {
  const node = obtainNode(22);
  if (!node.ok) throw new Error(`Node 22 to read ${file}: ${node.reason}`);
  const [command, ...args] = node.command;
  const script =
    "const { DatabaseSync } = require('node:sqlite');" +
    'const db = new DatabaseSync(process.argv[1]);' +
    "process.stdout.write(db.prepare(process.argv[2]).all().map((r) => String(Object.values(r)[0])).join(','));";
  const result = spawnSync(command ?? 'node', [...args, '--no-warnings', '-e', script, file, sql], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`${sql} on ${file}: ${result.stderr}`);
  return result.stdout;
}

/** `PRAGMA integrity_check` of a SQLite file: `ok` when sound. */
export function sqliteIntegrity(file: string): string {
  return sqliteScalar(file, 'PRAGMA integrity_check');
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

export function postNote(title: string, body: string): RequestOptions {
  return { method: 'POST', path: '/notes', headers: JSON_HEADERS, body: JSON.stringify({ title, body }) };
}

/** Every note, newest first, read page by page (100 a page) from `server`. */
export async function allNotes(server: Served): Promise<Note[]> {
  const notes: Note[] = [];
  let after: number | null = null;
  // Bounded: a page per 100 notes, and no test writes 100 000.
  for (let page = 0; page < 1000; page++) {
    const reply = await server.call({ path: `/notes?limit=100${after === null ? '' : `&after=${after}`}` });
    assert.equal(reply.status, 200, reply.text);
    const { notes: found, next } = reply.json() as { notes: Note[]; next: number | null };
    notes.push(...found);
    if (next === null) return notes;
    after = next;
  }
  throw new Error('more than 1000 pages of notes');
}

/** Repeats `attempt` (at most `tries` times, `pauseMs` apart) until it returns true; returns how
 * many attempts it took, or fails the test. */
export async function eventually(
  what: string,
  attempt: () => Promise<boolean>,
  tries = 40,
  pauseMs = 250,
): Promise<number> {
  for (let i = 1; i <= tries; i++) {
    if (await attempt()) return i;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  assert.fail(`${what}: not after ${tries} attempts`);
}
