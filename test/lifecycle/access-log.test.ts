// HANDOFF_ACCESS_LOG on every backend: request lines are written in batches, yet after a burst
// of requests and a graceful stop (SIGTERM) every one of them is in the log, once, in the order
// the requests were answered; off, there are none. And the variable is validated.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';

const REQUEST_LINE = /^\[(native|fastify|express)\] (\S+) ([A-Z]+) (\S+) (\d{3}) (\d+\.\d{2})ms$/;
const BURST = 400;
const IN_ORDER = 60;

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** GET `urlPath` through `agent`, resolving with the status once the body is read. */
function get(agent: Agent, socketPath: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: urlPath, agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

/** Starts the app on a socket with `env`, sends a burst of BURST requests over 16 keep-alive
 * connections at once, then IN_ORDER one after the other on one connection, stops it with
 * SIGTERM right after the last answer, and returns the request lines it wrote. */
async function burstThenStop(backend: string, env: Record<string, string>): Promise<string[]> {
  const socketPath = path.join(tempDir(), 'app.sock');
  const app = startApp({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath, ...env });
  running.push(app);
  await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on `));
  const many = new Agent({ keepAlive: true, maxSockets: 16 });
  const statuses = await Promise.all(
    Array.from({ length: BURST }, (_, i) => get(many, socketPath, `/burst/${i}?q=${i}`)),
  );
  many.destroy();
  assert.deepEqual(new Set(statuses), new Set([404]));
  const one = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < IN_ORDER; i += 1) assert.equal(await get(one, socketPath, `/seq/${i}`), 404);
  one.destroy();
  app.kill('SIGTERM');
  assert.deepEqual(await app.exited, { code: 0, signal: null });
  return app.lines().filter((line) => REQUEST_LINE.test(line));
}

describe('HANDOFF_ACCESS_LOG', () => {
  for (const backend of BACKENDS) {
    it(`on (the default), ${backend} logs every request of a burst by the graceful stop, in order`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const lines = await burstThenStop(backend, {});
      const paths = lines.map((line) => {
        const match = REQUEST_LINE.exec(line);
        assert.ok(match !== null);
        assert.deepEqual([match[1], match[2], match[3], match[5]], [backend, '-', 'GET', '404'], line);
        return match[4] ?? '';
      });
      const burst = paths.filter((p) => p.startsWith('/burst/')).sort();
      const expected = Array.from({ length: BURST }, (_, i) => `/burst/${i}`).sort();
      assert.deepEqual(burst, expected, 'each request of the burst once, without its query');
      assert.deepEqual(
        paths.filter((p) => p.startsWith('/seq/')),
        Array.from({ length: IN_ORDER }, (_, i) => `/seq/${i}`),
        'requests answered one after the other are logged in that order',
      );
      assert.equal(paths.length, BURST + IN_ORDER);
    });

    it(`off, ${backend} logs no request`, async (t) => {
      if (!requireBackend(t, backend)) return;
      assert.deepEqual(await burstThenStop(backend, { HANDOFF_ACCESS_LOG: 'off' }), []);
    });
  }

  it('is on or off, and nothing else', () => {
    assert.equal(loadConfig({}).accessLog, true);
    assert.equal(loadConfig({ HANDOFF_ACCESS_LOG: 'OFF' }).accessLog, false);
    assert.equal(loadConfig({ HANDOFF_ACCESS_LOG: '0' }).accessLog, false);
    assert.equal(loadConfig({ HANDOFF_ACCESS_LOG: 'on' }).accessLog, true);
    assert.throws(
      () => loadConfig({ HANDOFF_ACCESS_LOG: 'sometimes' }),
      (error: unknown) =>
        error instanceof ConfigError && error.message === 'HANDOFF_ACCESS_LOG must be on or off (got "sometimes").',
    );
  });
});
