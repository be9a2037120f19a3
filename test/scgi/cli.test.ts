// `passenger-handoff scgi …` (src/scgi/client.ts) against the real app (`node app.js` with
// HANDOFF_PROTOCOL=scgi) on every backend that speaks SCGI: it prints the answer `-i` style and
// exits 0; a 64 MiB upload from a file streams through to POST /hash (its peak memory is not
// asserted: over HTTP too, the garbage collector lets it grow by about the upload's size before
// collecting); the request log names REMOTE_ADDR; exit 1 when no answer comes. Also: a
// socket-activated socket named `scgi` is served as SCGI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto'; // [examples]
import { closeSync, openSync, writeSync } from 'node:fs'; // [examples]
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { ALL_BACKENDS } from '../helpers/backends';
import { parseCgi, scgiUnavailable } from '../helpers/scgi';
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
