// The hostile SCGI table (test/scgi/hostile-cases.ts, listed in docs/scgi.md) on every backend,
// raw bytes on a real socket: for each row no crash and no hang (the server answers or closes
// within the wait), the documented answer, and the next request served. Then parity: every
// backend's bytes for every row are the same (the date aside).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { ALL_BACKENDS, type StartedBackend, startBackend } from '../helpers/backends';
import { expectError, expectJson } from '../helpers/expect';
import { encodeScgi, parseCgi, scgiUnavailable, sendRaw } from '../helpers/scgi';
import { BASE, HOSTILE_CASES } from './hostile-cases';

/** Short header and body timeouts, so that the stalled rows end quickly. */
const ENV = { HANDOFF_PROTOCOL: 'scgi', HANDOFF_HEADER_TIMEOUT_MS: '1000', HANDOFF_REQUEST_TIMEOUT_MS: '1000' };
/** Longer than the header timeout: a row not closed by then hangs. */
const WAIT_MS = 5_000;

const answers = new Map<string, Map<BackendName, string>>();

for (const backend of ALL_BACKENDS) {
  describe(`hostile SCGI on ${backend}`, { skip: scgiUnavailable(backend) ?? false }, () => {
    let started: StartedBackend | undefined;
    before(async () => {
      started = await startBackend(backend, 'unix', ENV);
    });
    after(() => started?.stop());

    for (const row of HOSTILE_CASES) {
      it(row.name, async () => {
        assert.ok(started);
        const { endpoint } = started;
        const options = { ...(row.pieces ? { pieces: row.pieces } : {}), end: row.end ?? false, timeoutMs: WAIT_MS };
        const got = await sendRaw(endpoint, row.bytes, options);
        assert.ok(got.closed, 'the server closed the connection (no hang)');
        if (row.answer === 'close') {
          assert.equal(got.bytes.length, 0, `no answer, only the close: ${got.bytes.toString('latin1')}`);
        } else {
          const reply = parseCgi(got.bytes);
          if (typeof row.answer === 'string') expectError(reply, row.answer);
          else {
            assert.equal(reply.status, row.answer.status);
            if (row.answer.json !== undefined) assert.deepEqual(expectJson(reply, row.answer.status), row.answer.json);
            if (row.answer.bodyLength !== undefined) assert.equal(reply.body.length, row.answer.bodyLength);
          }
          assert.doesNotMatch(reply.statusLine, /^HTTP/);
          assert.ok(!('transfer-encoding' in reply.headers) && !('connection' in reply.headers), reply.lines.join('|'));
        }
        const byBackend = answers.get(row.name) ?? new Map<BackendName, string>();
        byBackend.set(backend, got.bytes.toString('latin1').replace(/\r\ndate: [^\r]*/, '\r\ndate: *'));
        answers.set(row.name, byBackend);
        // The next request is served.
        const next = await sendRaw(endpoint, encodeScgi(BASE), { timeoutMs: WAIT_MS });
        assert.equal(parseCgi(next.bytes).status, 200, 'the next request');
      });
    }
  });
}

describe('hostile SCGI parity', () => {
  it('every backend answers every row with the same bytes (the date aside)', (t) => {
    const tested = ALL_BACKENDS.filter((backend) => scgiUnavailable(backend) === undefined);
    if (tested.length < 2) {
      t.skip(`only ${tested.join(', ')} can be tested here`);
      return;
    }
    for (const row of HOSTILE_CASES) {
      const byBackend = answers.get(row.name);
      assert.ok(byBackend, row.name);
      const [first, ...others] = tested.map((backend) => [backend, byBackend.get(backend)] as const);
      for (const [backend, bytes] of others) {
        assert.equal(bytes, first?.[1], `${row.name}: ${backend} and ${first?.[0]}`);
      }
    }
  });
});

for (const backend of ALL_BACKENDS) {
  describe(`HANDOFF_MAX_CONNECTIONS over SCGI on ${backend}`, { skip: scgiUnavailable(backend) ?? false }, () => {
    let started: StartedBackend | undefined;
    before(async () => {
      started = await startBackend(backend, 'unix', { ...ENV, HANDOFF_MAX_CONNECTIONS: '2' });
    });
    after(() => started?.stop());

    it('closes a connection over the cap at once; serves again once one is free', async () => {
      assert.ok(started);
      const { endpoint } = started;
      const endpointPath = 'socketPath' in endpoint ? endpoint.socketPath : '';
      const partial = encodeScgi(BASE).subarray(0, 10);
      // Two connections held open in the middle of their head (the header timeout is 1 s).
      const held = [connect(endpointPath), connect(endpointPath)];
      for (const socket of held) {
        socket.on('error', () => {});
        await new Promise<void>((resolve) => socket.write(partial, () => resolve()));
      }
      const over = await sendRaw(endpoint, encodeScgi(BASE), { timeoutMs: WAIT_MS });
      assert.ok(over.closed, 'closed');
      assert.equal(over.bytes.length, 0, 'no answer over the cap');
      for (const socket of held) socket.destroy();
      // The server sees the two close in its own time: a bounded number of tries.
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        const next = await sendRaw(endpoint, encodeScgi(BASE), { timeoutMs: WAIT_MS });
        status = next.bytes.length > 0 ? parseCgi(next.bytes).status : 0;
      }
      assert.equal(status, 200, 'served once a connection is free');
    });
  });
}
