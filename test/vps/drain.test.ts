// The drain, for every backend: at SIGTERM `GET /ready` turns 503 `draining` while the server
// keeps accepting for HANDOFF_DRAIN_DELAY_MS (new connections are served meanwhile, and told
// `connection: close`); then the listener closes, the request in flight finishes, exit 0.
// SIGINT does the same (Nomad and Fly stop with it).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type ClientRequest, request } from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';
import { expectError, expectJson } from '../helpers/expect';
import { send } from '../helpers/http';
import { sleep } from '../helpers/util';

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** Starts a chunked POST /__test/upload; resolves once its head is in the server's hands. */
function openUpload(socketPath: string): { req: ClientRequest; answer: Promise<{ status: number; text: string }> } {
  let req: ClientRequest | undefined;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req = request(
      { socketPath, method: 'POST', path: '/__test/upload', headers: { 'transfer-encoding': 'chunked' }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
  });
  if (req === undefined) throw new Error('request not created');
  return { req, answer };
}

describe('the drain', () => {
  for (const backend of BACKENDS) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${backend}, ${signal}: /ready turns 503 at once, new connections served during HANDOFF_DRAIN_DELAY_MS, in-flight finishes, exit 0`, async (t) => {
        if (!requireBackend(t, backend)) return;
        const socketPath = path.join(tempDir(), 'app.sock');
        const app = startApp({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath, HANDOFF_DRAIN_DELAY_MS: '2000' });
        running.push(app);
        await app.waitForLine(/^\[main\] serving with /);
        // Ready, unless one of the app's checks is down (the demo's database, on a Node without
        // node:sqlite for the fallback): then not_ready, not draining.
        const checked = expectJson(await send({ socketPath }, { path: '/health' }), 200) as { status: string };
        const before = await send({ socketPath }, { path: '/ready' });
        if (checked.status === 'ok') assert.deepEqual(expectJson(before, 200), { status: 'ready' });
        else assert.equal((before.json() as { error: { code: string } }).error.code, 'not_ready');

        const first = randomBytes(8 * 1024);
        const upload = openUpload(socketPath);
        upload.req.write(first);
        await sleep(200); // the request is now in the server's hands

        app.kill(signal);
        await app.waitForLine(new RegExp(`^\\[main\\] ${signal}: /ready answers 503; still accepting for 2000 ms$`));
        // A new connection during the delay: served, told that the server is draining.
        const ready = await send({ socketPath }, { path: '/ready' });
        expectError(ready, 'draining', {}, { connection: 'close' });
        const health = await send({ socketPath }, { path: '/health' });
        assert.equal(health.status, 200, 'still serving during the delay');
        assert.equal(health.headers.connection, 'close');

        // After the delay the listener closes; the upload is still in flight.
        await app.waitForLine(new RegExp(`^\\[main\\] ${signal}: finishing in-flight requests`));
        let refused = false;
        for (let i = 0; i < 50 && !refused; i++) {
          refused = await send({ socketPath }, { path: '/health', timeoutMs: 1000 }).then(
            () => false,
            () => true,
          );
          if (!refused) await sleep(50);
        }
        assert.ok(refused, 'no new connection once the delay is over');

        const second = randomBytes(8 * 1024);
        upload.req.end(second);
        const reply = await upload.answer;
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(JSON.parse(reply.text), { bytes: first.length + second.length });
        assert.deepEqual(await app.exited, { code: 0, signal: null });
        assert.ok(app.lines().includes('[main] stopped'), app.lines().join('\n'));
      });
    }
  }
});
