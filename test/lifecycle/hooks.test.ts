// Your resource hooks on the fallback's side (src/app/hooks.ts): `setup` runs before the server
// listens, and a failure stops the start in one line with exit 1; `close` runs on graceful
// shutdown after the request in flight has finished, before `[main] stopped`. The app runs from a
// copy of the build whose dist/app/hooks.js is replaced by hooks written here. (The native side's
// hooks are Rust's: native/src/app/mod.rs, tested by cargo test.)
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, backendUnavailable } from '../helpers/backends';

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** A copy of the built app (app.js, package.json, dist/) whose hooks are `hooksSource`. */
function appWithHooks(hooksSource: string): string {
  const root = path.join(tempDir(), 'app');
  mkdirSync(root);
  for (const entry of ['app.js', 'package.json', 'dist']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const hooks = path.join(root, 'dist', 'app', 'hooks.js');
  assert.ok(existsSync(hooks), 'the build has dist/app/hooks.js (run `npm run build:ts`)');
  writeFileSync(hooks, hooksSource);
  return root;
}

/** Starts the copy at `root` with `env`. */
function launch(root: string, env: Record<string, string>): AppProcess {
  const app = startApp(env, [process.execPath, path.join(root, 'app.js')]);
  running.push(app);
  return app;
}

const FAILING = `'use strict';
exports.setup = async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  throw new Error('cannot reach the database at db.example:5432');
};
exports.close = async () => {};
`;

const LOGGING = `'use strict';
const say = (line) => process.stderr.write('[hooks] ' + line + '\\n');
exports.setup = async (config) => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  say('setup with hashLimit in config.app: ' + ('hashLimit' in config.app)); // [examples]
  say('setup done');
  return { pool: 'a pool' };
};
exports.close = async (resources) => {
  say('close ' + resources.pool);
  await new Promise((resolve) => setTimeout(resolve, 100));
  say('close done');
};
`;

/** Starts a chunked upload to the test route and returns it (body open) and its status. */
function openUpload(socketPath: string): { req: ClientRequest; status: Promise<number> } {
  let req: ClientRequest | undefined;
  const status = new Promise<number>((resolve, reject) => {
    req = request(
      { socketPath, method: 'POST', path: '/__test/upload', headers: { 'transfer-encoding': 'chunked' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
  });
  if (req === undefined) throw new Error('request not created');
  return { req, status };
}

describe('the hooks of src/app/hooks.ts', () => {
  for (const backend of (['fastify', 'express'] as const).filter((name) => BACKENDS.includes(name))) {
    it(`${backend}: a failing setup stops the start in one line, exit 1, nothing served`, async () => {
      const socketPath = path.join(tempDir(), 'app.sock');
      const app = launch(appWithHooks(FAILING), { HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath });
      assert.equal((await app.exited).code, 1);
      const lines = app.lines();
      assert.ok(
        lines.includes('[main] cannot start: setup failed: cannot reach the database at db.example:5432'),
        lines.join('\n'),
      );
      assert.ok(!lines.some((l) => l.startsWith('[main] serving with')), lines.join('\n'));
      assert.ok(!existsSync(socketPath), 'no socket was created');
    });

    it(`${backend}: setup runs before it listens; close runs after the request in flight, before it stops`, async () => {
      const socketPath = path.join(tempDir(), 'app.sock');
      const app = launch(appWithHooks(LOGGING), { HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath });
      await app.waitForLine(/^\[main\] serving with /);
      const upload = openUpload(socketPath);
      upload.req.write('first piece');
      await new Promise((resolve) => setTimeout(resolve, 200));
      app.kill('SIGTERM');
      await app.waitForLine(/^\[main\] SIGTERM: finishing in-flight requests/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(!app.lines().includes('[hooks] close a pool'), 'close waits for the request in flight');
      upload.req.end('last piece');
      assert.equal(await upload.status, 200);
      assert.deepEqual(await app.exited, { code: 0, signal: null });
      const order = app
        .lines()
        .filter((l) => /^\[hooks\] (setup done|close)|^\[main\] (serving with|stopped)/.test(l))
        .map((l) => l.replace(/ on .*$/, ''));
      assert.deepEqual(order, [
        '[hooks] setup done',
        `[main] serving with ${backend}`,
        '[hooks] close a pool',
        '[hooks] close done',
        '[main] stopped',
      ]);
      assert.ok(app.lines().includes('[hooks] setup with hashLimit in config.app: true'), 'setup gets config.app'); // [examples]
    });
  }

  it('HANDOFF_BACKEND=auto: a failing setup of the fallback stops the start too (no silent start)', async (t) => {
    if (backendUnavailable('fastify') !== undefined) return t.skip('fastify is not in HANDOFF_TEST_BACKENDS');
    const app = launch(appWithHooks(FAILING), {
      HANDOFF_NATIVE_PATH: '/nonexistent/handoff.node',
      HANDOFF_SOCKET: path.join(tempDir(), 'app.sock'),
    });
    assert.equal((await app.exited).code, 1);
    assert.ok(
      app.lines().includes('[main] cannot start: setup failed: cannot reach the database at db.example:5432'),
      app.lines().join('\n'),
    );
  });
});
