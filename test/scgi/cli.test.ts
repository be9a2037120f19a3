// `passenger-handoff scgi …` (src/scgi/client.ts) against the real app (`node app.js` with
// HANDOFF_PROTOCOL=scgi) on every backend that speaks SCGI: it prints the answer `-i` style and
// exits 0; a 64 MiB upload from a file streams through to POST /hash (its peak memory is not
// asserted: over HTTP too, the garbage collector lets it grow by about the upload's size before
// collecting); the request log names REMOTE_ADDR; exit 1 when no answer comes. Also: a
// socket-activated socket named `scgi` is served as SCGI. And the `[scgi]` lines the server logs
// for what it refuses: one line each, the same words on every backend, no secret of the request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto'; // [examples]
import { closeSync, openSync, writeSync } from 'node:fs'; // [examples]
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { ALL_BACKENDS } from '../helpers/backends';
import { encodeScgi, nginxPairs, type Pair, parseCgi, scgiUnavailable, sendRaw } from '../helpers/scgi';
import { socketActivationUnavailable, startActivated } from '../helpers/vps';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const UPLOAD_BYTES = 64 * 1024 * 1024; // [examples]

/** Runs the CLI; resolves with its exit status, stdout (bytes) and stderr. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'scgi', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

// [examples] begin
/** A 64 MiB file of pseudo-random bytes, and its SHA-256. */
function bigFile(): { file: string; sha256: string } {
  const file = path.join(tempDir(), 'upload.bin');
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < UPLOAD_BYTES / block.length; i++) {
    for (let j = 0; j < block.length; j += 4) block.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
    hash.update(block);
    writeSync(fd, block);
  }
  closeSync(fd);
  return { file, sha256: hash.digest('hex') };
}

/** A request secret that must never reach the log. */
const SECRET = 's3cret-token';
const GET: readonly Pair[] = [
  ['CONTENT_LENGTH', '0'],
  ['SCGI', '1'],
  ['REQUEST_METHOD', 'GET'],
  ['REQUEST_URI', '/__test/params/a/b'],
];
/** What the server refuses, sent raw on a Unix socket (the peer is `-`), and the `[scgi]`
 * line each one gets (docs/scgi.md, "Bad input"). */
const REFUSED: readonly { readonly bytes: Buffer; readonly line?: string }[] = [
  { bytes: Buffer.from('-1:'), line: 'byte 0x2d in the length prefix from -' },
  { bytes: Buffer.from('0:,'), line: 'length prefix starting with 0 from -' },
  { bytes: Buffer.from('123456'), line: 'length prefix longer than 5 digits from -' },
  { bytes: Buffer.from('65537:'), line: 'header block of 65537 bytes (at most 65536) from -' },
  { bytes: Buffer.from('63:CONTENT_LENGTH\0'), line: 'connection closed before the header block was complete from -' },
  { bytes: Buffer.from('3:A\0B;'), line: 'no comma after the header block from -' },
  { bytes: Buffer.from('5:ABCDE,'), line: 'header block not ending with NUL from -' },
  { bytes: Buffer.from('6:A\0B\0C\0,'), line: 'header block with a name and no value from -' },
  { bytes: Buffer.alloc(0) }, // a port check: no line
  {
    bytes: encodeScgi([...GET, ['HTTP_AUTHORIZATION', `Bearer ${SECRET}\r\nX-Injected: 1`]]),
    line: 'HTTP_AUTHORIZATION: a control byte, or not UTF-8 from -: 400',
  },
  {
    bytes: encodeScgi([...GET, ['HTTP_COOKIE', `session=${SECRET}`], ['REQUEST_URI', `/?key=${SECRET}`]]),
    line: 'REQUEST_URI given twice from -: 400',
  },
  {
    bytes: encodeScgi([['CONTENT_LENGTH', '2'], ...GET.slice(1), ['HTTP_CONTENT_LENGTH', '3']], 'ab'),
    line: "CONTENT_LENGTH 2 is not the client's Content-Length 3 (nginx with scgi_request_buffering off?) from -: 400",
  },
  {
    bytes: encodeScgi([...GET.slice(0, 3), ['REQUEST_URI', `/a<b>?key=${SECRET}`]]),
    line: 'REQUEST_URI has a character a URI refuses from -: 400',
  },
  { bytes: encodeScgi(GET.filter(([name]) => name !== 'SCGI')), line: 'SCGI missing or not 1 from -: 400' },
];

/** Sends each of `requests`, then one served request marked `mark`, and returns the lines the
 * app logged meanwhile (every line of the requests before is in the pipe before the marker's). */
async function linesOf(
  app: AppProcess,
  socketPath: string,
  backend: string,
  requests: readonly Buffer[],
  mark: string,
): Promise<string[]> {
  const from = app.lines().length;
  for (const bytes of requests) {
    const got = await sendRaw({ socketPath }, bytes, { end: true, timeoutMs: 10_000 });
    assert.ok(got.closed, 'the server closed the connection');
  }
  const marker = await sendRaw({ socketPath }, encodeScgi(nginxPairs({ path: `/__test/params/log/${mark}` })));
  assert.equal(parseCgi(marker.bytes).status, 200);
  await app.waitForLine(new RegExp(`^\\[${backend}\\] 127\\.0\\.0\\.1 GET /__test/params/log/${mark} 200 `));
  return app.lines().slice(from);
}

let upload: { file: string; sha256: string } | undefined;
before(() => {
  upload = bigFile();
});
// [examples] end

for (const backend of ALL_BACKENDS) {
  describe(`passenger-handoff scgi against ${backend}`, { skip: scgiUnavailable(backend) ?? false }, () => {
    let app: AppProcess | undefined;
    const socketPath = path.join(tempDir(), 'scgi.sock');
    before(async () => {
      app = startApp({
        HANDOFF_BACKEND: backend,
        HANDOFF_PROTOCOL: 'scgi',
        HANDOFF_SOCKET: socketPath,
        HANDOFF_HASH_LIMIT: String(UPLOAD_BYTES), // [examples]
      });
      await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on ${socketPath} \\(SCGI\\)$`));
    });
    after(() => app?.kill());

    it('logs one [scgi] line per refused request, in the same words on every backend, without its secrets', async () => {
      assert.ok(app);
      const lines = await linesOf(
        app,
        socketPath,
        backend,
        REFUSED.map(({ bytes }) => bytes),
        'refused',
      );
      assert.deepEqual(
        lines.filter((line) => line.startsWith('[scgi] ')),
        REFUSED.flatMap(({ line }) => (line === undefined ? [] : [`[scgi] ${line}`])),
      );
      assert.deepEqual(
        lines.filter((line) => line.includes(SECRET)),
        [],
        'no secret in the log',
      );
    });

    it('keeps a variable name with a line feed on its one line', async () => {
      assert.ok(app);
      const bytes = encodeScgi([...GET, ['HTTP_X\n[main] forged', 'v']]);
      const lines = await linesOf(app, socketPath, backend, [bytes], 'name');
      assert.deepEqual(
        lines.filter((line) => !/^\[(native|fastify|express)\] 127\.0\.0\.1 /.test(line)),
        ['[scgi] HTTP_X [main] forged is not a header name from -: 400'],
      );
    });

    it('GET prints the Status line, the headers and the body, and exits 0', async () => {
      const { code, stdout, stderr } = await cli([socketPath, 'GET', '/__test/params/a/b?x=1', '-H', 'X-Tag: a']);
      assert.equal(code, 0, stderr);
      const reply = parseCgi(stdout);
      assert.match(reply.statusLine, /^Status: 200 OK$/);
      assert.deepEqual(reply.json(), { a: 'a', b: 'b', path: '/__test/params/a/b' });
      assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
      assert.ok(app);
      await app.waitForLine(new RegExp(`^\\[${backend}\\] 127\\.0\\.0\\.1 GET /__test/params/a/b 200 `));
    });

    it('-d sends a body with its length; errors come back as the API answers them', async () => {
      const sent = await cli([socketPath, 'POST', '/__test/upload', '-d', 'hello']);
      assert.equal(sent.code, 0, sent.stderr);
      assert.deepEqual(parseCgi(sent.stdout).json(), { bytes: 5 });
      const missing = await cli([socketPath, 'GET', '/nope']);
      assert.equal(missing.code, 0, 'an answer came, whatever its status');
      assert.equal(parseCgi(missing.stdout).status, 404);
    });

    // [examples] begin
    it('--data-binary @file streams 64 MiB to POST /hash', async () => {
      assert.ok(upload !== undefined);
      const { code, stdout, stderr } = await cli([socketPath, 'POST', '/hash', '--data-binary', `@${upload.file}`]);
      assert.equal(code, 0, stderr);
      assert.deepEqual(parseCgi(stdout).json(), { sha256: upload.sha256, bytes: UPLOAD_BYTES });
    });
    // [examples] end
  });
}

describe('passenger-handoff scgi without an answer', () => {
  it('exits 1 when nothing listens, or the server closes without answering; 2 on bad usage', async () => {
    const nobody = await cli([path.join(tempDir(), 'none.sock'), 'GET', '/']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /^\[scgi\] no answer: (ENOENT|ECONNREFUSED)/);
    const socketPath = path.join(tempDir(), 'closer.sock');
    const closer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closer.listen(socketPath, resolve));
    try {
      const closed = await cli([socketPath, 'GET', '/']);
      assert.equal(closed.code, 1);
      assert.match(
        closed.stderr,
        /^\[scgi\] (the server closed the connection without an answer|no answer: (ECONNRESET|EPIPE))/,
      );
    } finally {
      closer.close();
    }
    const usage = await cli(['127.0.0.1', 'GET', '/']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /not a socket path nor host:port/);
  });
});

describe('a socket-activated socket named scgi', { skip: socketActivationUnavailable() ?? false }, () => {
  it('is served as SCGI', async () => {
    const socketPath = path.join(tempDir(), 'activated.sock');
    const app = startActivated({ HANDOFF_BACKEND: 'fastify' }, { listen: [socketPath], names: ['scgi'] });
    try {
      // The first connection makes the activator start the app; it waits in the queue meanwhile.
      const { code, stdout, stderr } = await cli([socketPath, 'GET', '/__test/params/a/b']);
      assert.equal(code, 0, stderr);
      assert.equal(parseCgi(stdout).status, 200);
      await app.waitForLine(
        /^\[main\] serving with fastify on .*\(SCGI\) \(socket activation: fd 3, named scgi, 1 passed\)$/,
      );
    } finally {
      app.kill();
    }
  });
});
