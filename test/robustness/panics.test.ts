// A handler that panics (Rust) or throws (TypeScript), before or while its body streams, must
// not take the server down: a 500 (or a response cut short), a log line naming the route, and
// the next requests served normally. The failing routes exist only with HANDOFF_TEST_ROUTES=1.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';
import { expectError } from '../helpers/expect';
import { send } from '../helpers/http';

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

async function launch(backend: string, env: Record<string, string>) {
  const socketPath = path.join(tempDir(), 'app.sock');
  const app = startApp({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath, HANDOFF_BASE_PATH: '/api', ...env });
  running.push(app);
  await app.waitForLine(/^\[main\] serving with /);
  return { app, socketPath };
}

/** GETs `path` and reports how the body ended: completely, or cut off by the server. */
function fetchStreamed(
  socketPath: string,
  urlPath: string,
): Promise<{ status: number; received: string; ended: string }> {
  return new Promise((resolve) => {
    request({ socketPath, path: urlPath, agent: false }, (res) => {
      let received = '';
      res.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, received, ended: 'complete' }));
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ status: res.statusCode ?? 0, received, ended: error.code ?? error.message }),
      );
    })
      .on('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, received: '', ended: error.code ?? 'error' }))
      .end();
  });
}

describe('handlers that fail', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: a panic or throw answers 500, is logged with its route, and the server goes on`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const { app, socketPath } = await launch(backend, { HANDOFF_TEST_ROUTES: '1' });
      for (let round = 0; round < 3; round++) {
        expectError(await send({ socketPath }, { path: '/api/__test/panic' }), 'internal_error');
        assert.equal((await send({ socketPath }, { path: '/api/health' })).status, 200);
      }
      const logged = app.lines().filter((l) => l.startsWith(`[${backend}] `) && /GET \/api\/__test\/panic\b/.test(l));
      assert.ok(
        logged.some((l) => /(panic while serving|handler for) GET \/api\/__test\/panic\b.*on purpose/.test(l)),
        `the failure is logged with its route:\n${app.lines().join('\n')}`,
      );
      app.kill('SIGTERM');
      assert.deepEqual(await app.exited, { code: 0, signal: null });
    });

    it(`${backend}: a failure while the body streams cuts that response short, and the server goes on`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const { app, socketPath } = await launch(backend, { HANDOFF_TEST_ROUTES: '1' });
      for (let round = 0; round < 3; round++) {
        const cut = await fetchStreamed(socketPath, '/api/__test/panic-in-body');
        assert.equal(cut.status, 200);
        assert.notEqual(cut.ended, 'complete', `the client can tell the body is incomplete (got ${cut.received})`);
        assert.equal((await send({ socketPath }, { path: '/api/health' })).status, 200);
      }
      assert.ok(
        app.lines().some((l) => l.startsWith(`[${backend}] `) && /on purpose while the body streams/.test(l)),
        app.lines().join('\n'),
      );
      app.kill('SIGTERM');
      assert.deepEqual(await app.exited, { code: 0, signal: null });
    });

    it(`${backend}: without HANDOFF_TEST_ROUTES the test routes do not exist`, async (t) => {
      if (!requireBackend(t, backend)) return;
      // Empty is unset: the default (TEST_ENV turns them on for every other test).
      const { app, socketPath } = await launch(backend, { HANDOFF_TEST_ROUTES: '' });
      for (const path of ['/api/__test/panic', '/api/__test/upload', '/api/__test/count', '/api/__test/params/a/b']) {
        expectError(await send({ socketPath }, { path }), 'not_found');
      }
      app.kill('SIGTERM');
      await app.exited;
    });
  }
});
