// `npm run dev` (scripts/dev.cjs) in a temporary copy of the repository, as a developer uses it:
// it serves with native after a debug build; a Rust edit and a TypeScript edit are served without
// restarting the command; a Rust syntax error prints the compiler error and serves with the
// fastify fallback; a TypeScript error keeps the last good server; fixing Rust serves native
// again; SIGTERM stops the app and the loop, leaving no dev build behind.
// It edits only the core (`/health`), so it holds once the demo is removed too.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, watchLines } from '../helpers/app-process';
import { send } from '../helpers/http';
import { descendants } from '../helpers/processes';
import { freePort, sleep } from '../helpers/util';

/** The first build may compile every crate (debug) on a busy machine. */
const FIRST_BUILD_MS = 15 * 60_000;
/** A rebuild after one edit. */
const REBUILD_MS = 5 * 60_000;

interface Health {
  status: string;
  backend: string;
  version: string;
  pid: number;
}

function cargoMissing(): string | undefined {
  const cargo = spawnSync('cargo', ['--version']);
  return cargo.error || cargo.status !== 0 ? 'Rust is not installed (no `cargo` on PATH)' : undefined;
}

/** A copy of the repository's files (tracked and new, not ignored) with node_modules linked. */
function copyRepository(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-dev-'));
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(listed.status, 0, `git ls-files: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0')) {
    if (!file || !existsSync(path.join(REPO_ROOT, file))) continue;
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(REPO_ROOT, file), path.join(dir, file));
  }
  symlinkSync(realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(dir, 'node_modules'));
  return dir;
}

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const full = path.join(dir, file);
  const text = readFileSync(full, 'utf8');
  const changed = text.replace(from, to);
  assert.notEqual(changed, text, `${file} contains ${from}`);
  writeFileSync(full, changed);
}

describe('npm run dev', { timeout: FIRST_BUILD_MS + 8 * REBUILD_MS }, () => {
  let dir = '';
  let port = 0;
  let dev: ChildProcess | undefined;
  let lines: () => string[] = () => [];
  let skipped: string | undefined;

  const health = async (): Promise<Health> =>
    (await send({ host: '127.0.0.1', port }, { path: '/health' })).json() as Health;

  /** Waits for the next `[dev] serving` line after the `seen` first lines. */
  const nextServing = async (seen: number, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = lines()
        .slice(seen)
        .find((l) => l.startsWith('[dev] serving on '));
      if (line !== undefined) return line;
      if (dev?.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`no new [dev] serving line within ${timeoutMs} ms; output:\n${lines().join('\n')}`);
  };

  const waitForLine = async (pattern: RegExp, seen: number, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = lines()
        .slice(seen)
        .find((l) => pattern.test(l));
      if (line !== undefined) return line;
      await sleep(100);
    }
    throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines().join('\n')}`);
  };

  before(async () => {
    skipped = cargoMissing();
    if (skipped !== undefined) {
      if (process.env.CI === 'true') throw new Error(`CI must test npm run dev: ${skipped}`);
      return;
    }
    dir = copyRepository();
    port = await freePort();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port) };
    for (const name of ['CARGO_HOME', 'RUSTUP_HOME', 'RUSTUP_TOOLCHAIN']) {
      if (process.env[name] !== undefined) env[name] = process.env[name];
    }
    // The repository's own build folder: the dependencies `cargo test` compiled (debug) are reused,
    // as they are in a developer's checkout; only the crate itself is built for the copy.
    env.CARGO_TARGET_DIR = path.join(REPO_ROOT, 'native', 'target');
    // Its own process group, so that nothing it starts outlives the test.
    dev = spawn(process.execPath, ['scripts/dev.cjs'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    lines = watchLines(dev).lines;
  });

  after(async () => {
    if (dev?.pid !== undefined && dev.exitCode === null && dev.signalCode === null) {
      const pids = [dev.pid, ...descendants(dev.pid)];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves with native after a debug build, and says so in one line', async (t) => {
    if (skipped !== undefined) return t.skip(skipped);
    const line = await nextServing(0, FIRST_BUILD_MS);
    assert.match(
      line,
      new RegExp(
        `^\\[dev\\] serving on http://127\\.0\\.0\\.1:${port} with native \\(debug build\\), ready in [\\d.]+ s$`,
      ),
    );
    const reply = await health();
    assert.equal(reply.backend, 'native');
    assert.equal(reply.status, 'ok');
  });

  it('serves a Rust edit without restarting the command', async (t) => {
    if (skipped !== undefined) return t.skip(skipped);
    const seen = lines().length;
    // `version`, not `status`: the app's checks make `status` "degraded" when one is down.
    edit(dir, 'native/src/api/health.rs', '"version": state.config.version,', '"version": "edited in Rust",');
    const line = await nextServing(seen, REBUILD_MS);
    assert.match(line, /with native \(debug build\), native\/src\/api\/health\.rs changed, ready in [\d.]+ s$/);
    const reply = await health();
    assert.deepEqual([reply.backend, reply.version], ['native', 'edited in Rust']);
  });

  it('prints the compiler error of a broken Rust build and serves with fastify', async (t) => {
    if (skipped !== undefined) return t.skip(skipped);
    const seen = lines().length;
    edit(dir, 'native/src/api/health.rs', '"version": "edited in Rust",', '"version": "edited in Rust" oops,');
    const line = await nextServing(seen, REBUILD_MS);
    assert.match(line, /with fastify: the Rust build failed/);
    const output = lines().slice(seen).join('\n');
    assert.match(output, /^error/m, 'the compiler error is printed');
    assert.match(output, /src\/api\/health\.rs:\d+:\d+/, 'with its place');
    assert.doesNotMatch(output, /^\s+at /m, 'without a JavaScript stack trace');
    assert.equal((await health()).backend, 'fastify');
  });

  it('serves a TypeScript edit without restarting the command', async (t) => {
    if (skipped !== undefined) return t.skip(skipped);
    const seen = lines().length;
    edit(dir, 'src/api/health.ts', 'version: context.version,', "version: 'edited in TypeScript',");
    const line = await nextServing(seen, REBUILD_MS);
    assert.match(line, /with fastify: the Rust build failed.*src\/api\/health\.ts changed, ready in [\d.]+ s$/);
    const reply = await health();
    assert.deepEqual([reply.backend, reply.version], ['fastify', 'edited in TypeScript']);
  });

  it('keeps the last good server when TypeScript does not compile', async (t) => {
    if (skipped !== undefined) return t.skip(skipped);
    const before = await health();
    const seen = lines().length;
    edit(dir, 'src/api/health.ts', "version: 'edited in TypeScript',", 'version: 42 * "x",');
    await waitForLine(
      /^\[dev\] TypeScript did not compile \(\d+ errors? above\): still serving the last good build$/,
      seen,
      REBUILD_MS,
    );
    assert.match(lines().slice(seen).join('\n'), /src\/api\/health\.ts\(\d+,\d+\): error TS/);
    const reply = await health();
    assert.deepEqual([reply.pid, reply.version], [before.pid, 'edited in TypeScript'], 'the same process');
    assert.equal(
      lines()
        .slice(seen)
        .some((l) => l.startsWith('[dev] serving on ')),
      false,
    );
    edit(dir, 'src/api/health.ts', 'version: 42 * "x",', "version: 'edited in TypeScript',");
    await nextServing(seen, REBUILD_MS);
  });

  it('serves with native again once the Rust build is fixed', async (t) => {
    if (skipped !== undefined) return t.skip(skipped);
    const seen = lines().length;
    edit(dir, 'native/src/api/health.rs', '"version": "edited in Rust" oops,', '"version": "fixed in Rust",');
    const line = await nextServing(seen, REBUILD_MS);
    assert.match(line, /with native \(debug build\), native\/src\/api\/health\.rs changed/);
    const reply = await health();
    assert.deepEqual([reply.backend, reply.version], ['native', 'fixed in Rust']);
    // One dev build is kept: the one the app has loaded.
    const builds = readdirSync(path.join(dir, 'native', 'target', 'dev-addon')).filter((f) => f.endsWith('.node'));
    assert.equal(builds.length, 1, builds.join(', '));
  });

  it('stops the app and itself on SIGTERM, leaving no dev build behind', async (t) => {
    if (skipped !== undefined || dev === undefined) return t.skip(skipped ?? 'not started');
    const exited = new Promise<number | null>((resolve) => dev?.once('exit', (code) => resolve(code)));
    dev.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines().includes('[dev] stopped'), lines().join('\n'));
    await assert.rejects(health(), /ECONNREFUSED/);
    const left = readdirSync(path.join(dir, 'native', 'target', 'dev-addon'));
    assert.deepEqual(left, []);
  });
});
