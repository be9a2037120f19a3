// The contract suite through the socket LiteSpeed passes on descriptor 0, for every backend,
// with app.js started the way LiteSpeed's lsnode.js starts it (emulated: test/helpers/lsnode.ts);
// then LiteSpeed's stop (SIGTERM and SIGUSR1), which must let a request in flight finish.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type ClientRequest, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { BACKENDS, backendUnavailable } from '../helpers/backends';
import { send } from '../helpers/http';
import { type LsnodeApp, startUnderLsnode } from '../helpers/lsnode';

const VERSION = loadConfig({}).version;

/** Starts a chunked `POST /__test/upload` with `Expect: 100-continue` and resolves once the server asks
 * for the body, that is once a handler reads it: from then on the request is in flight. */
function startUpload(
  socketPath: string,
): Promise<{ req: ClientRequest; answer: Promise<{ status: number; text: string }> }> {
  return new Promise((resolveStarted, rejectStarted) => {
    let resolveAnswer: (answer: { status: number; text: string }) => void = () => {};
    let rejectAnswer: (error: Error) => void = () => {};
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      resolveAnswer = resolve;
      rejectAnswer = reject;
    });
    const headers = { 'transfer-encoding': 'chunked', expect: '100-continue' };
    const req = request({ socketPath, method: 'POST', path: '/__test/upload', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, text }));
    });
    req.on('information', (info) => {
      if (info.statusCode === 100) resolveStarted({ req, answer });
    });
    req.on('error', (error) => {
      rejectStarted(error);
      rejectAnswer(error);
    });
    req.flushHeaders();
  });
}

for (const backend of BACKENDS) {
  describe(`${backend} under LiteSpeed's loader (lsnode.js, emulated)`, {
    skip: backendUnavailable(backend) ?? false,
  }, () => {
    let app: LsnodeApp | undefined;
    let target: ContractTarget | undefined;

    before(async () => {
      app = startUnderLsnode({ HANDOFF_BACKEND: backend });
      await app.waitForLine(/^\[main\] serving with /);
      target = { endpoint: { socketPath: app.socketPath }, backend, basePath: '', version: VERSION, direct: true };
    });
    after(() => app?.kill());

    defineContractTests(() => {
      if (target === undefined) throw new Error('the app did not start (see the skip reason above)');
      return target;
    });

    it("serves on LiteSpeed's socket, says so, and logs each request", async () => {
      assert.ok(app, 'the app is running');
      await send({ socketPath: app.socketPath }, { path: '/health' });
      const lines = app.lines();
      assert.ok(
        lines.includes(`[main] serving with ${backend} on LiteSpeed's socket ${app.socketPath}`),
        lines.join('\n'),
      );
      assert.ok(!lines.some((line) => /Passenger/.test(line)), lines.join('\n'));
      // lsnode.js makes `socket.remoteAddress` read 127.0.0.1 on the server it listened for
      // (the fallback's); the native server sees the Unix socket's peer, which has no address.
      const client = backend === 'native' ? '-' : '127\\.0\\.0\\.1';
      await app.waitForLine(new RegExp(`^\\[${backend}\\] ${client} GET /health 200 \\d+\\.\\d{2}ms$`));
    });

    // Last: it stops the app.
    it('stops as LiteSpeed stops it (SIGTERM and SIGUSR1): the request in flight completes, exit 0', async () => {
      assert.ok(app, 'the app is running');
      // Together within TEST_ENV's HANDOFF_BODY_LIMIT (64 KiB).
      const first = randomBytes(16 * 1024);
      const second = randomBytes(16 * 1024);
      const upload = await startUpload(app.socketPath);
      upload.req.write(first);

      app.stopLikeLiteSpeed();
      await app.waitForLine(/^\[main\] SIGTERM: finishing in-flight requests/);
      upload.req.end(second);

      const reply = await upload.answer;
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(JSON.parse(reply.text), { bytes: first.length + second.length });
      assert.deepEqual(await app.exited, { code: 0, signal: null });
      const lines = app.lines();
      assert.ok(lines.includes('[main] stopped'), lines.join('\n'));
      // Node's default for SIGUSR1 would have opened its inspector ("Debugger listening on
      // ws://127.0.0.1:9229/..."); and SIGUSR1 must not count as a second signal ("exiting now").
      assert.ok(!lines.some((line) => /Debugger listening|exiting now/.test(line)), lines.join('\n'));
    });
  });
}

describe('under LiteSpeed without LSNODE_SOCKET', () => {
  let app: LsnodeApp | undefined;
  after(() => app?.kill());

  it('serves on descriptor 0 all the same, and the log names it', async () => {
    app = startUnderLsnode({ HANDOFF_BACKEND: 'fastify', LSNODE_SOCKET: '' });
    await app.waitForLine(/^\[main\] serving with fastify on LiteSpeed's socket fd 0$/);
    const reply = await send({ socketPath: app.socketPath }, { path: '/health' });
    assert.equal(reply.status, 200);
  });
});
