// Over HANDOFF_MAX_CONNECTIONS every backend closes a new connection at once and says so once per
// stretch of refusals, in the same words: `[<backend>] N connections open: refusing new ones`.
// It keeps serving, and once it has taken a connection again, the next refusal starts a new
// stretch and says so again. Over HTTP and SCGI, each backend run as `node app.js` on a Unix
// socket, its stderr read as Passenger reads it.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { ALL_BACKENDS, backendUnavailable } from '../helpers/backends';
import { send } from '../helpers/http';
import { encodeScgi, nginxPairs, parseCgi, scgiUnavailable, sendRaw } from '../helpers/scgi';

const CAP = 2;
/** A deadline for what must happen, not a measurement. */
const WAIT_MS = 20_000;

type Protocol = 'http' | 'scgi';

/** The first bytes of a request, the rest never sent: the connection stays open (the header
 * timeout is set far off). */
const PARTIAL: Record<Protocol, Buffer> = {
  http: Buffer.from('GET /health HTTP/1.1\r\n'),
  scgi: encodeScgi(nginxPairs({ path: '/health' })).subarray(0, 10),
};

/** Opens a connection and writes `partial` on it. */
function hold(socketPath: string, partial: Buffer): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.on('error', () => {}); // closed by the server when refused: that is seen by the caller
    socket.write(partial, () => resolve(socket));
  });
}

/** Resolves once the server has closed `socket`; fails past the deadline. */
function closedByServer(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.closed) return resolve();
    const timer = setTimeout(() => reject(new Error('a connection over the cap was not closed')), WAIT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The status of one GET /health, or 0 when the connection was closed without an answer. */
async function status(protocol: Protocol, socketPath: string): Promise<number> {
  if (protocol === 'http') {
    return send({ socketPath }, { path: '/health' }).then(
      (reply) => reply.status,
      () => 0,
    );
  }
  const answer = await sendRaw({ socketPath }, encodeScgi(nginxPairs({ path: '/health' })), { timeoutMs: WAIT_MS });
  return answer.bytes.length > 0 ? parseCgi(answer.bytes).status : 0;
}

/** Sends GET /health until one is answered 200 (the server frees a connection's place in its own
 * time after the client closes it): a bounded number of tries. */
async function servedAgain(protocol: Protocol, socketPath: string): Promise<void> {
  let last = 0;
  for (let i = 0; i < 100 && last !== 200; i++) {
    last = await status(protocol, socketPath);
    if (last !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(last, 200, 'served again once a connection is free');
}

/** Resolves with the lines matching `pattern` once there are `count` of them. */
function untilLines(app: AppProcess, pattern: RegExp, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const stderr = app.child.stderr;
    const check = () => {
      const found = app.lines().filter((line) => pattern.test(line));
      if (found.length < count) return;
      done();
      resolve(found);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`fewer than ${count} lines matched ${pattern}:\n${app.lines().join('\n')}`));
    }, WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      stderr?.off('data', check);
    };
    // After the listener that collects the lines (registered when the app started).
    stderr?.on('data', check);
    check();
  });
}

for (const protocol of ['http', 'scgi'] as const) {
  for (const backend of ALL_BACKENDS) {
    const unavailable = protocol === 'scgi' ? scgiUnavailable(backend) : backendUnavailable(backend);
    describe(`${backend} over ${protocol}: the connection cap's log line`, { skip: unavailable ?? false }, () => {
      const socketPath = path.join(tempDir(), 'app.sock');
      const refusing = new RegExp(`^\\[${backend}\\] ${CAP} connections open: refusing new ones$`);
      let app: AppProcess | undefined;
      const sockets: Socket[] = [];

      before(async () => {
        app = startApp({
          HANDOFF_BACKEND: backend,
          HANDOFF_PROTOCOL: protocol,
          HANDOFF_SOCKET: socketPath,
          HANDOFF_MAX_CONNECTIONS: String(CAP),
          HANDOFF_HEADER_TIMEOUT_MS: '600000',
        });
        await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on `));
      });
      after(() => {
        for (const socket of sockets) socket.destroy();
        app?.kill();
      });

      it('says once per stretch of refusals that it refuses, and keeps serving', async () => {
        assert.ok(app);
        // The cap taken by two connections in the middle of their request; the two after them
        // (accepted in order) are closed at once.
        for (let i = 0; i < CAP; i++) sockets.push(await hold(socketPath, PARTIAL[protocol]));
        for (let i = 0; i < 2; i++) {
          const over = await hold(socketPath, PARTIAL[protocol]);
          sockets.push(over);
          await closedByServer(over);
        }
        await app.waitForLine(refusing, WAIT_MS);

        // One place freed: served again. Once its request line is out, every line the refusals
        // before it wrote is out too: one line for the whole stretch.
        sockets[0]?.destroy();
        await servedAgain(protocol, socketPath);
        await app.waitForLine(new RegExp(`^\\[${backend}\\] \\S+ GET /health 200 `), WAIT_MS);
        assert.deepEqual(
          app.lines().filter((line) => refusing.test(line)),
          [`[${backend}] ${CAP} connections open: refusing new ones`],
          app.lines().join('\n'),
        );

        // A new stretch: more connections than the places left; it says so again.
        for (let i = 0; i < CAP + 1; i++) sockets.push(await hold(socketPath, PARTIAL[protocol]));
        await untilLines(app, refusing, 2);

        for (const socket of sockets) socket.destroy();
        await servedAgain(protocol, socketPath);
      });
    });
  }
}
