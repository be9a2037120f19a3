// What the app loads to serve: only the chosen backend's code. The fallback's frameworks and
// their dependencies are most of its cold start (docs/performance.md, "Cold start"), so each
// start must leave out the backends it does not serve with and the packages for features it does
// not use. Every case starts the real app (`node app.js`) with a require hook that lists, at
// exit, every module the process loaded; the case answers one request first.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { requireBackend } from '../helpers/backends';
import { send } from '../helpers/http';

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** A module of the app's own, as built into dist/. */
const own = (file: string) => path.join(REPO_ROOT, 'dist', file);
/** Any file of an npm package (node_modules may be a symlink: Node lists real paths). */
const pkg = (name: string) => `/node_modules/${name}/`;

/** The frameworks, each as our adapter (which holds the framework when it is bundled) and as the package. */
const FASTIFY = [own('backends/fastify.js'), pkg('fastify')];
const EXPRESS = [own('backends/express.js'), pkg('express')];
/** What only the JavaScript backends use. */
const FALLBACK_CORE = [own('backends/node-server.js'), own('api/router.js'), pkg('find-my-way')];
/** What fastify loads only for features the app never uses: its logger, schema compilers, inject(). */
const FASTIFY_UNUSED = [pkg('pino'), pkg('@fastify/ajv-compiler'), pkg('ajv'), pkg('light-my-request')];
/** Node's modules fastify requires at load time for its own listen() and HTTPS/HTTP2 servers,
 * which the app never uses: the build makes them load on first use (scripts/build-ts.cjs). Only
 * when dist/ is bundled, as `npm run build` makes it. */
const FASTIFY_UNUSED_BUILTINS = ['node:https', 'node:http2', 'node:dns'];
/** Never needed to serve: the doctor's code, SCGI when HANDOFF_PROTOCOL is http. */
const NOT_SERVING = [
  path.join(REPO_ROOT, 'dist', 'doctor') + path.sep,
  path.join(REPO_ROOT, 'dist', 'scgi') + path.sep,
];

/** Starts the app with `env`, asks for /health once, stops it; returns the files it loaded. */
async function loadedModules(env: Record<string, string>): Promise<string[]> {
  return (await startOnce(env)).files;
}

/** Starts the app with `env`, asks for /health once, stops it; returns the files it loaded and
 * every line it wrote. */
async function startOnce(env: Record<string, string>): Promise<{ files: string[]; lines: string[] }> {
  const dir = tempDir();
  const socketPath = path.join(dir, 'app.sock');
  const list = path.join(dir, 'modules.txt');
  const hook = path.join(REPO_ROOT, 'test', 'helpers', 'loaded-modules.cjs');
  const app = startApp({ HANDOFF_SOCKET: socketPath, LOADED_MODULES_FILE: list, ...env }, [
    process.execPath,
    '--require',
    hook,
    'app.js',
  ]);
  running.push(app);
  await app.waitForLine(/^\[main\] serving with /);
  // Any answer will do (a database that is down makes it 503): what the first request loads counts too.
  await send({ socketPath }, { path: '/health' });
  app.kill('SIGTERM');
  assert.deepEqual(await app.exited, { code: 0, signal: null }, app.lines().join('\n'));
  const files = readFileSync(list, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  return { files, lines: app.lines() };
}

/** Fails naming each loaded file that matches one of `patterns` (a path prefix or a part of one,
 * or one of Node's modules by its whole name). */
function assertNoneLoaded(files: readonly string[], patterns: readonly string[], why: string): void {
  const found = files.filter((file) =>
    patterns.some((pattern) => (pattern.startsWith('node:') ? file === pattern : file.includes(pattern))),
  );
  assert.deepEqual(found, [], `${why}; loaded:\n${found.join('\n')}`);
}

function assertLoaded(files: readonly string[], file: string): void {
  assert.ok(files.includes(file), `${file} is loaded; the list:\n${files.join('\n')}`);
}

describe('modules loaded at start', () => {
  it('fastify: neither express nor what fastify never uses here', async () => {
    // semver, when it runs, writes a line for each of its regular expressions with NODE_DEBUG=semver.
    const { files, lines } = await startOnce({ HANDOFF_BACKEND: 'fastify', NODE_DEBUG: 'semver' });
    assertLoaded(files, own('backends/fastify.js'));
    assertNoneLoaded(files, EXPRESS, 'express is loaded only when it serves');
    assertNoneLoaded(files, FASTIFY_UNUSED, 'no logger, schema compiler or inject() is used');
    assertNoneLoaded(files, FASTIFY_UNUSED_BUILTINS, 'fastify never listens or serves HTTPS/HTTP2 here');
    // In the bundle (scripts/build-ts.cjs, LAZY_PACKAGES) or from node_modules: fastify checks a
    // plugin's fastify version with it, and no plugin here asks for one.
    assertNoneLoaded(files, [pkg('semver')], 'semver runs only for a plugin that names a fastify version');
    assert.deepEqual(
      lines.filter((line) => line.startsWith('SEMVER')),
      [],
      'semver runs only for a plugin that names a fastify version',
    );
    assertNoneLoaded(files, [pkg('mysql2')], 'mysql2 is loaded only for a MySQL DATABASE_URL'); // [examples]
    // About 6% of a fastify start when it was loaded there (docs/performance.md, "Cold start"). // [examples]
    assertNoneLoaded(files, ['node:crypto'], 'node:crypto is loaded by the first POST /hash, not at start'); // [examples]
    assertNoneLoaded(files, NOT_SERVING, 'serving needs no doctor and, over HTTP, no SCGI');
  });

  it('express: not fastify', async () => {
    const files = await loadedModules({ HANDOFF_BACKEND: 'express' });
    assertLoaded(files, own('backends/express.js'));
    assertNoneLoaded(files, FASTIFY, 'fastify is loaded only when it serves');
    assertNoneLoaded(files, [pkg('mysql2')], 'mysql2 is loaded only for a MySQL DATABASE_URL'); // [examples]
    assertNoneLoaded(files, NOT_SERVING, 'serving needs no doctor and, over HTTP, no SCGI');
  });

  it('auto without an addon: fastify, not express, and no ELF reading for a file that is not there', async () => {
    const files = await loadedModules({ HANDOFF_NATIVE_PATH: path.join(tempDir(), 'handoff.none.node') });
    assertLoaded(files, own('backends/fastify.js'));
    assertNoneLoaded(files, EXPRESS, 'express is loaded only when it serves');
    assertNoneLoaded(files, NOT_SERVING, 'serving needs no doctor and, over HTTP, no SCGI');
  });

  it('native: none of the fallback', async (t) => {
    if (!requireBackend(t, 'native')) return;
    const files = await loadedModules({ HANDOFF_BACKEND: 'native' });
    assert.ok(
      files.some((file) => file.endsWith('.node')),
      `the addon is listed too; the list:\n${files.join('\n')}`,
    );
    assertNoneLoaded(files, [...FASTIFY, ...EXPRESS, ...FALLBACK_CORE], 'the native server needs no JavaScript server');
    assertNoneLoaded(files, [pkg('mysql2')], 'mysql2 is the fallback’s'); // [examples]
    assertNoneLoaded(files, NOT_SERVING, 'serving needs no doctor and, over HTTP, no SCGI');
  });

  // [examples] begin
  it('the notes example with a MySQL DATABASE_URL: mysql2 (the hook sees a package loaded on demand)', async () => {
    // Nothing listens on port 1: the pool connects on first use, so the start does not wait for it.
    const files = await loadedModules({ HANDOFF_BACKEND: 'fastify', DATABASE_URL: 'mysql://u:p@127.0.0.1:1/notes' });
    assert.ok(
      files.some((file) => file.includes(pkg('mysql2'))),
      `mysql2 is loaded; the list:\n${files.join('\n')}`,
    );
    assertNoneLoaded(files, EXPRESS, 'express is loaded only when it serves');
  });
  // [examples] end
});
