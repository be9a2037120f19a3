// Slow and greedy clients in TCP mode, where no front server protects the app: a trickled head
// (slowloris) and a trickled body hit their timeouts, the connection cap holds, and other clients
// are served meanwhile — on every backend.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { BACKENDS, requireBackend, startBackend } from '../helpers/backends';
import { send } from '../helpers/http';

const SETTINGS = {
  HANDOFF_HEADER_TIMEOUT_MS: '800',
  HANDOFF_REQUEST_TIMEOUT_MS: '1200',
  HANDOFF_MAX_CONNECTIONS: '6',
};

/** Opens a raw connection and resolves once connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server sent once it closed the connection (or after `waitMs`). */
function untilClosed(socket: Socket, waitMs: number): Promise<{ closed: boolean; received: string }> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => resolve({ closed: false, received }), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received });
    });
  });
}

/** Writes `text` a byte every `everyMs` until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[at++] ?? '');
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('slow and greedy clients (TCP)', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: a trickled head is cut off while other clients are served`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const server = await startBackend(backend, 'tcp', SETTINGS);
      try {
        const port = server.server.port ?? 0;
        const slow = await Promise.all([open(port), open(port), open(port)]);
        const ends = slow.map((socket) => untilClosed(socket, 8_000));
        for (const socket of slow)
          trickle(socket, `GET /health HTTP/1.1\r\nHost: x\r\n${'X-Slow: 1\r\n'.repeat(100)}`, 100);
        // Meanwhile an ordinary client is served.
        for (let i = 0; i < 3; i++) {
          assert.equal((await send(server.endpoint, { path: '/health' })).status, 200);
          await pause(100);
        }
        for (const end of await Promise.all(ends)) {
          assert.ok(end.closed, 'the slow connection was closed by the server');
          assert.match(end.received, /^(|HTTP\/1\.1 408 [^\r]*\r\n[\s\S]*)$/, 'a 408 or nothing');
        }
      } finally {
        await server.stop();
      }
    });

    it(`${backend}: a trickled body gets a 408`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const server = await startBackend(backend, 'tcp', SETTINGS);
      try {
        const socket = await open(server.server.port ?? 0);
        const end = untilClosed(socket, 8_000);
        socket.write('POST /__test/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
        trickle(socket, 'a'.repeat(1000), 100);
        const { closed, received } = await end;
        assert.ok(closed, 'the connection was closed');
        assert.match(received, /^HTTP\/1\.1 408 /, `answered 408 (got ${JSON.stringify(received.slice(0, 80))})`);
        assert.equal((await send(server.endpoint, { path: '/health' })).status, 200);
      } finally {
        await server.stop();
      }
    });

    it(`${backend}: HANDOFF_MAX_CONNECTIONS holds, and frees up as connections end`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const server = await startBackend(backend, 'tcp', { ...SETTINGS, HANDOFF_HEADER_TIMEOUT_MS: '60000' });
      try {
        const port = server.server.port ?? 0;
        const held = await Promise.all(Array.from({ length: 6 }, () => open(port)));
        await pause(200); // let the server count them
        const extra = await open(port);
        const refused = await untilClosed(extra, 3_000);
        assert.ok(refused.closed, 'a connection over the cap is closed at once');
        assert.equal(refused.received, '', 'without an answer');
        for (const socket of held.slice(0, 2)) socket.destroy();
        await pause(300);
        assert.equal((await send(server.endpoint, { path: '/health' })).status, 200, 'served again below the cap');
        for (const socket of held) socket.destroy();
      } finally {
        await server.stop();
      }
    });
  }
});
