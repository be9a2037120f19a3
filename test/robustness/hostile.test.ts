// Every hostile case of hostile-cases.ts against every backend over a raw socket: the answer is
// the one the table gives (a 4xx or a closed connection), the process survives, and the next
// request succeeds. HOSTILE_REPORT=1 prints each backend's answers as a Markdown table.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { BACKENDS, backendUnavailable, type StartedBackend, startBackend } from '../helpers/backends';
import { send } from '../helpers/http';
import { type Answer, HOSTILE_CASES } from './hostile-cases';

/** Sends `bytes` and returns the status of the first answer, or 'closed' if none came. */
function rawExchange(socketPath: string, bytes: Buffer, hangUp: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    const settle = () => {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve(match ? Number(match[1]) : 'closed');
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (/^HTTP\/1\.[01] 1\d\d /.test(received))
        received = received.replace(/^HTTP\/1\.[01] 1\d\d [^\r]*\r\n\r\n/, '');
      if (/^HTTP\/1\.[01] \d{3}/.test(received)) {
        socket.destroy();
        settle();
      }
    });
    socket.on('error', () => {}); // a reset is an answer too: 'closed'
    socket.on('close', settle);
    socket.write(bytes, () => {
      if (hangUp) socket.end();
    });
    setTimeout(() => socket.destroy(), 5_000);
  });
}

const report = new Map<string, Partial<Record<BackendName, Answer>>>();

describe('hostile input', () => {
  const started = new Map<BackendName, StartedBackend>();
  before(async () => {
    for (const backend of BACKENDS) {
      if (backendUnavailable(backend) !== undefined) continue;
      started.set(backend, await startBackend(backend, 'unix', { HANDOFF_BODY_LIMIT: String(1024 * 1024) }));
    }
  });
  after(async () => {
    for (const server of started.values()) await server.stop();
    if (process.env.HOSTILE_REPORT === '1') {
      const rows = [...report].map(([name, answers]) => `| ${name} | ${BACKENDS.map((b) => answers[b]).join(' | ')} |`);
      const rule = `|---|${BACKENDS.map(() => '---|').join('')}`;
      process.stdout.write(`| Case | ${BACKENDS.join(' | ')} |\n${rule}\n${rows.join('\n')}\n`);
    }
  });

  it('a request smuggled behind Content-Length + Transfer-Encoding never runs', async () => {
    for (const [backend, server] of started) {
      const socketPath = (server.endpoint as { socketPath: string }).socketPath;
      const count = async () =>
        ((await send(server.endpoint, { path: '/__test/count' })).json() as { value: number }).value;
      const before = await count();
      const hidden = 'POST /__test/count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';
      const smuggled = Buffer.from(
        `POST /__test/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${5 + hidden.length}\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`,
      );
      const replies = await new Promise<string>((resolve) => {
        const socket = connect(socketPath);
        let received = '';
        socket.on('data', (chunk: Buffer) => {
          received += chunk.toString('latin1');
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve(received));
        socket.end(smuggled);
        setTimeout(() => socket.destroy(), 3_000);
      });
      assert.ok((replies.match(/^HTTP\/1\.1 /gm) ?? []).length <= 1, `${backend} answered once at most: ${replies}`);
      assert.equal(await count(), before, `${backend} did not run the smuggled POST /__test/count`);
    }
  });

  for (const hostile of HOSTILE_CASES) {
    it(hostile.name, async () => {
      for (const [backend, server] of started) {
        const socketPath = (server.endpoint as { socketPath: string }).socketPath;
        const answer = await rawExchange(socketPath, hostile.request(), hostile.hangUp ?? false);
        report.set(hostile.name, { ...report.get(hostile.name), [backend]: answer });
        const expected = [hostile.expect[backend]].flat();
        assert.ok(expected.includes(answer), `${backend} answered ${answer}, expected ${expected.join(' or ')}`);
        const next = await send(server.endpoint, { path: '/health' });
        assert.equal(next.status, 200, `${backend} still serves after it`);
      }
    });
  }
});
