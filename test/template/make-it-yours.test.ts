// The README's "Make it yours" steps, done verbatim on a copy of the project: remove the demo,
// build, and check the core still serves on native and fastify; then add the README's
// `GET /items/{id}` route on both sides (its code blocks are applied as written: `file=` names
// the file, `after=` the line they go under) and check both backends answer it alike, and that
// the route took exactly four source files and one test.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { platformTriple } from '../../src/config';
import { REPO_ROOT, startApp } from '../helpers/app-process';
import { send } from '../helpers/http';
import { freePort } from '../helpers/util';

const cargo = spawnSync('cargo', ['--version']);
const noRust = cargo.error || cargo.status !== 0 ? 'cargo is not installed here' : undefined;
if (noRust !== undefined && process.env.CI === 'true') throw new Error(`CI must run this test: ${noRust}`);

/** A code block of the README's "Make it yours" section that names its file. */
export interface ReadmeBlock {
  readonly file: string;
  /** Insert under the first line containing this text; absent: the block is the whole file. */
  readonly after: string | undefined;
  readonly code: string;
}

/** The blocks with `file=` in their info string, in README order, from the "Make it yours" section. */
export function makeItYoursBlocks(readme: string): ReadmeBlock[] {
  const start = readme.indexOf('## Make it yours\n');
  assert.ok(start >= 0, 'the README has a "Make it yours" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const blocks: ReadmeBlock[] = [];
  for (const match of section.matchAll(/^```(\w+) ([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const info = match[2] ?? '';
    const file = /(?:^| )file=(\S+)/.exec(info)?.[1];
    if (file === undefined) continue;
    blocks.push({ file, after: /(?:^| )after="([^"]+)"/.exec(info)?.[1], code: match[3] ?? '' });
  }
  return blocks;
}

/** Applies `blocks` under `root`: new files written, insertions put under their anchor line. */
function applyBlocks(root: string, blocks: readonly ReadmeBlock[]): void {
  for (const block of blocks) {
    const file = path.join(root, block.file);
    if (block.after === undefined) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, block.code);
      continue;
    }
    const lines = readFileSync(file, 'utf8').split('\n');
    const anchor = lines.findIndex((line) => line.includes(block.after as string));
    assert.ok(anchor >= 0, `${block.file} has a line with "${block.after}" (the README says to add the line under it)`);
    lines.splice(anchor + 1, 0, ...block.code.replace(/\n$/, '').split('\n'));
    writeFileSync(file, lines.join('\n'));
  }
}

function run(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  // Without NODE_TEST_CONTEXT: with it, a test runner started here takes itself for a child of
  // this one and runs nothing.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...inherited, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`.slice(-6000),
  );
  return result;
}

/** Compiles the copy: TypeScript, and a debug build of the addon as `npm run dev` makes it
 * (`cargo build --lib`), its dependencies reused from the project's own build folder (compiled
 * by `cargo test`), copied to where the app loads it. */
function build(root: string): void {
  run(root, 'npm', ['run', '--silent', 'build:ts']);
  const targetDir = path.join(REPO_ROOT, 'native', 'target');
  run(root, 'cargo', ['build', '--manifest-path', 'native/Cargo.toml', '--lib'], { CARGO_TARGET_DIR: targetDir });
  const built = process.platform === 'darwin' ? 'libhandoff.dylib' : 'libhandoff.so';
  copyFileSync(path.join(targetDir, 'debug', built), path.join(root, 'native', `handoff.${platformTriple()}.node`));
}

/** Runs test files of the copy with its own runner, on native and fastify. */
function runCopyTests(root: string, files: string[]): string {
  const result = run(root, process.execPath, ['scripts/test.cjs', ...files], {
    HANDOFF_TEST_BACKENDS: 'native,fastify',
  });
  const output = result.stdout + result.stderr;
  // The summary of the spec reporter (`ℹ fail 0`) or of TAP (`# fail 0`).
  const count = (name: string) => Number(new RegExp(`^(?:ℹ|#) ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? Number.NaN);
  assert.equal(count('fail'), 0, output.slice(-3000));
  assert.ok(count('pass') > 0, `the copy ran some tests:\n${output.slice(-3000)}`);
  assert.equal(count('skipped'), 0, `nothing was skipped:\n${output.slice(-3000)}`);
  return output;
}

/** Serves the copy with `backend` on a free port, hands its base URL to `use`, then stops it. */
async function withApp<T>(root: string, backend: BackendName, use: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const app = startApp({ PORT: String(port), HANDOFF_BACKEND: backend, HANDOFF_TEST_ROUTES: '1' }, [
    process.execPath,
    path.join(root, 'app.js'),
  ]);
  try {
    await app.waitForLine(new RegExp(`serving with ${backend} on`));
    return await use(port);
  } finally {
    app.kill('SIGTERM');
    await app.exited;
  }
}

/** What a client sees of `paths`: status, content type and body, per path. */
async function answers(port: number, paths: readonly string[]): Promise<string[]> {
  const seen: string[] = [];
  for (const urlPath of paths) {
    const reply = await send({ host: '127.0.0.1', port }, { path: urlPath });
    seen.push(`${urlPath} -> ${reply.status} ${reply.headers['content-type']} ${reply.text}`);
  }
  return seen;
}

describe('Make it yours, as the README says', { skip: noRust }, () => {
  let root = '';
  let work = '';

  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'handoff-yours-'));
    root = path.join(work, 'app');
    // The project as a user has it: tracked files and new ones not ignored.
    const listed = run(REPO_ROOT, 'git', ['ls-files', '-co', '--exclude-standard', '-z']).stdout;
    for (const file of listed.split('\0').filter(Boolean)) {
      const from = path.join(REPO_ROOT, file);
      const to = path.join(root, file);
      mkdirSync(path.dirname(to), { recursive: true });
      try {
        copyFileSync(from, to);
      } catch (error) {
        // A file deleted in the working tree but still tracked.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
    run(root, 'git', ['init', '-q']);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('1. removing the demo leaves a core that builds and passes its contract', async () => {
    const removed = run(root, 'npm', ['run', '--silent', 'examples:remove']);
    assert.match(removed.stdout + removed.stderr, /src\/examples/, 'it says what it removed');
    build(root);
    runCopyTests(root, ['test/contract/api.test.ts']);
    for (const backend of ['native', 'fastify'] as const) {
      await withApp(root, backend, async (port) => {
        const health = await send({ host: '127.0.0.1', port }, { path: '/health' });
        assert.equal(health.status, 200);
        assert.equal((health.json() as { backend: string }).backend, backend);
        const hello = await send({ host: '127.0.0.1', port }, { path: '/hello' });
        assert.equal(hello.status, 404, `${backend}: the demo is gone`);
      });
    }
  });

  it('3. a route with a path parameter takes four source files and one test, and both backends agree', async () => {
    run(root, 'git', ['add', '-A']);
    run(root, 'git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'without the demo']);
    const blocks = makeItYoursBlocks(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
    applyBlocks(root, blocks);
    const changed = run(root, 'git', ['status', '--porcelain', '-uall'])
      .stdout.split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3))
      .sort();
    assert.deepEqual(changed, [
      'native/src/app/items.rs',
      'native/src/app/mod.rs',
      'src/app/items.ts',
      'src/app/routes.ts',
      'test/app/items.test.ts',
    ]);
    build(root);
    runCopyTests(root, ['test/app/items.test.ts']);
    const paths = [
      '/items/1',
      '/items/%C3%A9',
      '/items/3',
      '/items/%zz',
      '/items/%FF',
      '/items/',
      '/items/1/',
      '/items/a%2Fb',
    ];
    const native = await withApp(root, 'native', (port) => answers(port, paths));
    const fastify = await withApp(root, 'fastify', (port) => answers(port, paths));
    assert.deepEqual(
      fastify,
      native.map((line) => line),
    );
    const json = 'application/json; charset=utf-8';
    assert.deepEqual(native.slice(0, 4), [
      `/items/1 -> 200 ${json} {"id":"1","name":"apple"}`,
      `/items/%C3%A9 -> 200 ${json} {"id":"é","name":"crème"}`,
      `/items/3 -> 404 ${json} {"error":{"code":"not_found","message":"No route matches this path."}}`,
      `/items/%zz -> 400 ${json} {"error":{"code":"invalid_path_parameter","message":"A path parameter is not valid."}}`,
    ]);
    assert.match(native[5] ?? '', /^\/items\/ -> 404 /, 'an empty id is no match');
    assert.match(native[6] ?? '', /^\/items\/1\/ -> 404 /, 'a trailing slash is no match');
  });
});
