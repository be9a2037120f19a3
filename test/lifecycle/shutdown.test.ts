// Graceful shutdown on SIGTERM, for every backend: a request in flight (a slow upload to the test
// route POST /__test/upload) finishes, new connections are refused meanwhile, the grace period
// bounds the wait, idle keep-alive connections do not hold the process, and it exits 0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, type ClientRequest, request } from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';
import { type Reply, send } from '../helpers/http';

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

async function launch(
  backend: string,
  env: Record<string, string> = {},
): Promise<{ app: AppProcess; socketPath: string }> {
  const socketPath = path.join(tempDir(), 'app.sock');
  const app = startApp({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath, ...env });
  running.push(app);
  await app.waitForLine(/^\[main\] serving with /);
  return { app, socketPath };
}

/** Starts a chunked POST /__test/upload and returns the request (body still open) and its answer. */
function openUpload(socketPath: string, agent?: Agent): { req: ClientRequest; answer: Promise<Reply> } {
  let req: ClientRequest | undefined;
  const answer = new Promise<Reply>((resolve, reject) => {
    const headers = { 'transfer-encoding': 'chunked' };
    req = request({ socketPath, method: 'POST', path: '/__test/upload', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text,
          bodySent: true,
          json: () => JSON.parse(text),
        });
      });
    });
    req.on('error', reject);
  });
  if (req === undefined) throw new Error('request not created');
  return { req, answer };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SIGTERM', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: lets a slow in-flight request finish, refuses new ones, exits 0`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const { app, socketPath } = await launch(backend);
      // Together within TEST_ENV's HANDOFF_BODY_LIMIT (64 KiB).
      const first = randomBytes(16 * 1024);
      const second = randomBytes(16 * 1024);
      const agent = new Agent({ keepAlive: true });
      const upload = openUpload(socketPath, agent);
      upload.req.write(first);
      await pause(200); // the request is now in the server's hands

      app.kill('SIGTERM');
      await app.waitForLine(/^\[main\] SIGTERM: finishing in-flight requests/);
      await pause(200);
      await assert.rejects(send({ socketPath }, { path: '/health' }), /ENOENT|ECONNREFUSED/, 'no new connections');

      upload.req.end(second);
      const reply = await upload.answer;
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.connection, 'close', 'a keep-alive client is told the connection ends');
      assert.deepEqual(reply.json(), { bytes: first.length + second.length });
      assert.deepEqual(await app.exited, { code: 0, signal: null });
      assert.ok(app.lines().includes('[main] stopped'));
      agent.destroy();
    });

    it(`${backend}: stops waiting after HANDOFF_SHUTDOWN_TIMEOUT_MS`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const { app, socketPath } = await launch(backend, { HANDOFF_SHUTDOWN_TIMEOUT_MS: '300' });
      const upload = openUpload(socketPath);
      upload.req.write(randomBytes(1024));
      const outcome = upload.answer.then(
        (reply) => `answered ${reply.status}`,
        (error: NodeJS.ErrnoException) => `failed ${error.code ?? error.message}`,
      );
      await pause(200);
      app.kill('SIGTERM');
      assert.deepEqual(await app.exited, { code: 0, signal: null });
      assert.ok(
        app.lines().some((l) => /shutdown grace of 300 ms over/.test(l)),
        app.lines().join('\n'),
      );
      assert.match(await outcome, /^failed (ECONNRESET|EPIPE|socket hang up)/);
    });

    it(`${backend}: an idle keep-alive connection does not hold the shutdown`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const { app, socketPath } = await launch(backend, { HANDOFF_SHUTDOWN_TIMEOUT_MS: '60000' });
      const agent = new Agent({ keepAlive: true });
      await new Promise<void>((resolve, reject) => {
        request({ socketPath, path: '/health', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      app.kill('SIGTERM');
      // Within the test's own timeout, far below the 60 s grace.
      assert.deepEqual(await app.exited, { code: 0, signal: null });
      assert.ok(!app.lines().some((l) => /shutdown grace/.test(l)), 'it did not wait for the grace period');
      agent.destroy();
    });
  }
});
