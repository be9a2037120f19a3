// A client that sends a body the server refuses without reading it all (a 413 from the test
// route POST /__test/upload) must get the answer, not a reset connection: every backend closes
// such connections lingering. The race
// only shows between two processes and not every time, so this runs the real app and repeats.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend, TEST_ENV } from '../helpers/backends';
import { expectError } from '../helpers/expect';
import { send } from '../helpers/http';

const ROUNDS = 20;
const BODY_LIMIT = Number(TEST_ENV.HANDOFF_BODY_LIMIT);

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

describe('refused bodies still get their answer', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: ${ROUNDS} oversize uploads written in pieces all see the 413`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const socketPath = path.join(tempDir(), 'app.sock');
      const app = startApp({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath });
      running.push(app);
      await app.waitForLine(/^\[main\] serving with /);
      const body = Buffer.alloc(BODY_LIMIT * 4, 0x20);
      const headers = { 'content-length': body.length };
      for (let round = 0; round < ROUNDS; round++) {
        const reply = await send(
          { socketPath },
          { method: 'POST', path: '/__test/upload', headers, body, pieceSize: 16 * 1024 },
        );
        expectError(reply, 'payload_too_large', { limit: BODY_LIMIT }, { connection: 'close' });
      }
      assert.equal((await send({ socketPath }, { path: '/health' })).status, 200);
      app.kill('SIGTERM');
      assert.deepEqual(await app.exited, { code: 0, signal: null });
    });
  }
});
