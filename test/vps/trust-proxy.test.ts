// HANDOFF_TRUST_PROXY on every backend: the request log names the client from X-Forwarded-For
// and X-Forwarded-Proto only when the peer is trusted; otherwise the peer, whatever the headers
// say. The same line on every backend.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';
import { send } from '../helpers/http';

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

const FORWARDED = { 'x-forwarded-for': '198.51.100.1, 203.0.113.7', 'x-forwarded-proto': 'https' };

async function logged(backend: string, trust: string | undefined): Promise<string> {
  const app = startApp({
    HANDOFF_BACKEND: backend,
    PORT: '0',
    ...(trust === undefined ? {} : { HANDOFF_TRUST_PROXY: trust }),
  });
  running.push(app);
  const line = await app.waitForLine(/^\[main\] serving with /);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
  assert.ok(port > 0, line);
  assert.equal((await send({ host: '127.0.0.1', port }, { path: '/health?x=1', headers: FORWARDED })).status, 200);
  const request = await app.waitForLine(new RegExp(`^\\[${backend}\\] \\S+ GET /health 200 \\d+\\.\\d{2}ms$`));
  app.kill('SIGTERM');
  await app.exited;
  return request.replace(/ \d+\.\d{2}ms$/, '');
}

describe('HANDOFF_TRUST_PROXY', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: forwarded headers name the client only from a trusted peer`, async (t) => {
      if (!requireBackend(t, backend)) return;
      assert.equal(await logged(backend, undefined), `[${backend}] 127.0.0.1 GET /health 200`);
      assert.equal(await logged(backend, '10.1.2.3'), `[${backend}] 127.0.0.1 GET /health 200`);
      assert.equal(await logged(backend, '127.0.0.1'), `[${backend}] 203.0.113.7/https GET /health 200`);
      assert.equal(await logged(backend, 'on'), `[${backend}] 198.51.100.1/https GET /health 200`);
    });
  }
});
