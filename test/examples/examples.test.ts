// The demo's contract against every backend, over a Unix socket and over TCP, with and without a
// base path; and /counter's state, which belongs to one server, not to the process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKENDS, requireBackend, startBackend } from '../helpers/backends';
import { expectJson } from '../helpers/expect';
import { send } from '../helpers/http';
import { describeEveryBackend } from '../helpers/matrix';
import { defineExampleTests } from './suite';

describeEveryBackend(defineExampleTests);

describe('/counter', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: each server counts on its own, from 0`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const first = await startBackend(backend, 'unix');
      try {
        const value = async (path: string, method = 'GET') =>
          (expectJson(await send(first.endpoint, { method, path }), 200) as { value: number }).value;
        assert.equal(await value('/counter'), 0, 'a new server starts at 0');
        await value('/counter', 'POST');
        assert.equal(await value('/counter', 'POST'), 2);
        // A second server in the same process, while the first still runs.
        const second = await startBackend(backend, 'unix');
        try {
          const reply = await send(second.endpoint, { path: '/counter' });
          assert.deepEqual(expectJson(reply, 200), { value: 0 }, 'the second server has a counter of its own');
          await send(second.endpoint, { method: 'POST', path: '/counter' });
          assert.equal(await value('/counter'), 2, "the second server's POST did not reach the first");
        } finally {
          await second.stop();
        }
      } finally {
        await first.stop();
      }
    });
  }
});
