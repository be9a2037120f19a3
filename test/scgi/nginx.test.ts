// deploy/nginx/scgi.conf with Debian's nginx in front of the app over SCGI, under the base path
// /api, on native and fastify: the app on a Unix socket and on TCP, with the shipped
// `scgi_request_buffering on`. Through each: the contract suite, a 64 MiB upload to POST /hash,
// the debugging client on the socket nginx uses, and the request log naming the client nginx saw
// (REMOTE_ADDR). With `scgi_request_buffering off`, nginx 1.22 sends a CONTENT_LENGTH short of
// the body: the app must never take the truncated body for the whole (a 400 instead).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto'; // [examples]
import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { scgiCli } from '../../src/scgi/client';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { ALL_BACKENDS } from '../helpers/backends';
import { expectError } from '../helpers/expect';
import { send } from '../helpers/http';
import { type Nginx, nginxUnavailable, replaceOnce, startNginx } from '../helpers/nginx';
import { parseCgi, scgiUnavailable } from '../helpers/scgi';
import { freePort } from '../helpers/util';

const VERSION = loadConfig({}).version;
const SITE = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx', 'scgi.conf'), 'utf8');
const UPLOAD_BYTES = 64 * 1024 * 1024; // [examples]

/** The shipped site with the test's upstream, port, temporary folder and buffering. */
function siteFor(upstream: string, port: number, buffering: 'on' | 'off'): string {
  const temp = tempDir();
  chmodSync(temp, 0o755);
  let site = replaceOnce(SITE, 'server unix:/run/passenger-handoff/scgi.sock;', `server ${upstream};`);
  site = replaceOnce(site, 'listen 80;', `listen 127.0.0.1:${port};`);
  site = replaceOnce(site, 'listen [::]:80;', '');
  // The test's nginx runs from its own prefix: Debian's file by its full path.
  site = replaceOnce(site, 'include scgi_params;', 'include /etc/nginx/scgi_params;');
  site = replaceOnce(site, 'scgi_request_buffering on;', `scgi_request_buffering ${buffering};`);
  return `scgi_temp_path ${temp};\n${site}`;
}

const RUNS = [
  { name: 'a Unix socket', tcp: false },
  { name: 'TCP', tcp: true },
] as const;

for (const backend of ALL_BACKENDS.filter((name) => name !== 'express')) {
  for (const run of RUNS) {
    describe(`${backend} behind nginx over SCGI on ${run.name}`, {
      skip: nginxUnavailable() ?? scgiUnavailable(backend) ?? false,
    }, () => {
      let app: AppProcess | undefined;
      let nginx: Nginx | undefined;
      let target: ContractTarget | undefined;
      let upstream = '';

      before(async () => {
        const env: Record<string, string> = {
          HANDOFF_BACKEND: backend,
          HANDOFF_PROTOCOL: 'scgi',
          HANDOFF_BASE_PATH: '/api',
          HANDOFF_HASH_LIMIT: String(UPLOAD_BYTES), // [examples]
        };
        if (run.tcp) {
          const appPort = await freePort();
          Object.assign(env, { HOST: '127.0.0.1', PORT: String(appPort) });
          upstream = `127.0.0.1:${appPort}`;
        } else {
          const dir = tempDir();
          chmodSync(dir, 0o755);
          upstream = path.join(dir, 'scgi.sock');
          env.HANDOFF_SOCKET = upstream;
        }
        app = startApp(env);
        await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on .*\\(SCGI\\)$`));
        const port = await freePort();
        nginx = await startNginx(siteFor(run.tcp ? upstream : `unix:${upstream}`, port, 'on'), port);
        target = {
          endpoint: { host: '127.0.0.1', port },
          backend,
          basePath: '/api',
          version: VERSION,
          direct: false,
          behindNginx: true,
        };
      });
      after(async () => {
        await nginx?.stop();
        app?.kill();
      });

      defineContractTests(() => {
        if (target === undefined) throw new Error('not started');
        return target;
      });

      // [examples] begin
      it('streams a 64 MiB upload to POST /hash', async () => {
        assert.ok(target);
        const body = Buffer.alloc(UPLOAD_BYTES);
        for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
        const reply = await send(target.endpoint, { method: 'POST', path: '/api/hash', body, timeoutMs: 120_000 });
        assert.equal(reply.status, 200, reply.text);
        const sha256 = createHash('sha256').update(body).digest('hex');
        assert.deepEqual(reply.json(), { sha256, bytes: UPLOAD_BYTES });
      });
      // [examples] end

      it('logs the client nginx saw; the debugging client asks the app on the same socket', async () => {
        assert.ok(app && target);
        assert.equal((await send(target.endpoint, { path: '/api/__test/params/x/y' })).status, 200);
        await app.waitForLine(new RegExp(`^\\[${backend}\\] 127\\.0\\.0\\.1 GET /api/__test/params/x/y 200 `));
        const out: Buffer[] = [];
        const sink = new PassThrough();
        sink.on('data', (chunk: Buffer) => out.push(chunk));
        const status = await scgiCli([upstream, 'GET', '/api/__test/params/a/b'], sink, sink);
        assert.equal(status, 0, Buffer.concat(out).toString());
        assert.deepEqual(parseCgi(Buffer.concat(out)).json(), { a: 'a', b: 'b', path: '/__test/params/a/b' });
        assert.doesNotMatch(nginx?.errorLog() ?? '', /upstream sent|too big header|invalid header/);
      });

      it('with scgi_request_buffering off, a body is never taken truncated', async () => {
        assert.ok(app);
        const port = await freePort();
        const unbuffered = await startNginx(siteFor(run.tcp ? upstream : `unix:${upstream}`, port, 'off'), port);
        try {
          const body = Buffer.alloc(256 * 1024, 0x61);
          const reply = await send({ host: '127.0.0.1', port }, { method: 'POST', path: '/api/__test/upload', body });
          // nginx may have read it all before passing the request on; else its CONTENT_LENGTH
          // is short of the client's Content-Length, and the app refuses it.
          if (reply.status === 200) assert.deepEqual(reply.json(), { bytes: body.length });
          else expectError(reply, 'bad_request');
        } finally {
          await unbuffered.stop();
        }
      });
    });
  }
}
