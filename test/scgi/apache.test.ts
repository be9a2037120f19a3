// deploy/apache/scgi.conf with Debian's Apache 2.4 and mod_proxy_scgi in front of the app over
// SCGI, under the base path /api, on native and fastify: the shipped TCP form and the `unix:`
// form. Apache runs from a private config (its own ServerRoot, pid, logs and port in a temporary
// folder, explicit LoadModule lines: the `a2enmod proxy proxy_scgi` of a real install); the
// system's apache2 is never touched. Through each: the contract suite (with the answers Apache
// gives itself: ContractTarget.behindApacheScgi, listed in docs/scgi.md), a 64 MiB upload to
// POST /hash, and no "malformed header" in Apache's log (CGI-style answers, never `HTTP/1.1`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto'; // [examples]
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { ALL_BACKENDS } from '../helpers/backends';
import { send } from '../helpers/http';
import { accepts, replaceOnce } from '../helpers/nginx';
import { scgiUnavailable } from '../helpers/scgi';
import { freePort, sleep } from '../helpers/util';

const VERSION = loadConfig({}).version;
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const SITE = readFileSync(path.join(REPO_ROOT, 'deploy', 'apache', 'scgi.conf'), 'utf8');
const UPLOAD_BYTES = 64 * 1024 * 1024; // [examples]
const TCP_LINE = 'ProxyPass "scgi://127.0.0.1:4000/"';
const UNIX_LINE = '#     ProxyPass "unix:/run/passenger-handoff/scgi.sock|scgi://localhost/"';

function apacheUnavailable(): string | undefined {
  if (!existsSync(APACHE) || !existsSync(path.join(MODULES, 'mod_proxy_scgi.so'))) {
    const install = spawnSync(path.join(REPO_ROOT, 'scripts', 'install-system-deps.sh'), ['apache2'], {
      stdio: 'inherit',
    });
    if (install.status !== 0 || !existsSync(path.join(MODULES, 'mod_proxy_scgi.so'))) {
      return 'Apache with mod_proxy_scgi is not installed (scripts/install-system-deps.sh apache2)';
    }
  }
  return process.getuid?.() === 0 ? undefined : 'Apache tests run as root (its children switch to www-data)';
}

/** Starts Apache with the shipped file, pointed at `upstream` (`host:port` or a socket path). */
async function startApache(upstream: string): Promise<{ port: number; errorLog: () => string; stop: () => void }> {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const port = await freePort();
  const site = upstream.startsWith('/')
    ? replaceOnce(
        replaceOnce(SITE, TCP_LINE, `# ${TCP_LINE}`),
        UNIX_LINE,
        UNIX_LINE.replace('#     ', '').replace('/run/passenger-handoff/scgi.sock', upstream),
      )
    : replaceOnce(SITE, TCP_LINE, `ProxyPass "scgi://${upstream}/"`);
  writeFileSync(path.join(dir, 'scgi.conf'), site);
  const load = (name: string, file: string) => `LoadModule ${name} ${MODULES}/${file}`;
  const conf = path.join(dir, 'apache2.conf');
  writeFileSync(
    conf,
    [
      `ServerRoot "${dir}"`,
      'ServerName 127.0.0.1',
      `PidFile "${dir}/apache2.pid"`,
      `DefaultRuntimeDir "${dir}"`,
      `Mutex file:${dir} default`,
      `Listen 127.0.0.1:${port}`,
      'User www-data',
      'Group www-data',
      load('mpm_event_module', 'mod_mpm_event.so'),
      load('authz_core_module', 'mod_authz_core.so'),
      load('proxy_module', 'mod_proxy.so'),
      load('proxy_scgi_module', 'mod_proxy_scgi.so'),
      `ErrorLog "${dir}/error.log"`,
      'LogLevel warn',
      'LimitRequestBody 0',
      `Include "${dir}/scgi.conf"`,
      '',
    ].join('\n'),
  );
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
  const started = spawnSync(APACHE, ['-f', conf, '-k', 'start'], { encoding: 'utf8', env });
  const errorLog = () =>
    existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
  if (started.status !== 0) throw new Error(`apache2 did not start: ${started.stderr}${errorLog()}`);
  const stop = () => {
    spawnSync(APACHE, ['-f', conf, '-k', 'stop'], { env });
  };
  for (let i = 0; !(await accepts(port)); i++) {
    if (i === 50) {
      stop();
      throw new Error(`apache2 does not listen on ${port}: ${errorLog()}`);
    }
    await sleep(100);
  }
  return { port, errorLog, stop };
}

const RUNS = [
  { name: 'TCP (as shipped)', tcp: true },
  { name: 'a Unix socket (the unix: form)', tcp: false },
] as const;

for (const backend of ALL_BACKENDS.filter((name) => name !== 'express')) {
  for (const run of RUNS) {
    describe(`${backend} behind Apache mod_proxy_scgi on ${run.name}`, {
      skip: apacheUnavailable() ?? scgiUnavailable(backend) ?? false,
    }, () => {
      let app: AppProcess | undefined;
      let apache: Awaited<ReturnType<typeof startApache>> | undefined;
      let endpoint = { host: '127.0.0.1', port: 0 };
      let target: ContractTarget | undefined;

      before(async () => {
        const env: Record<string, string> = {
          HANDOFF_BACKEND: backend,
          HANDOFF_PROTOCOL: 'scgi',
          HANDOFF_BASE_PATH: '/api',
          HANDOFF_HASH_LIMIT: String(UPLOAD_BYTES), // [examples]
        };
        let upstream: string;
        if (run.tcp) {
          const appPort = await freePort();
          Object.assign(env, { HOST: '127.0.0.1', PORT: String(appPort) });
          upstream = `127.0.0.1:${appPort}`;
        } else {
          const dir = tempDir();
          chmodSync(dir, 0o755);
          upstream = path.join(dir, 'scgi.sock');
          Object.assign(env, { HANDOFF_SOCKET: upstream, HANDOFF_SOCKET_MODE: '666' });
        }
        app = startApp(env);
        await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on .*\\(SCGI\\)$`));
        apache = await startApache(upstream);
        endpoint = { host: '127.0.0.1', port: apache.port };
        target = { endpoint, backend, basePath: '/api', version: VERSION, direct: false, behindApacheScgi: true };
      });
      after(() => {
        apache?.stop();
        app?.kill();
      });

      defineContractTests(() => {
        if (target === undefined) throw new Error('not started');
        return target;
      });

      it('Apache finds every answer well formed', () => {
        assert.doesNotMatch(apache?.errorLog() ?? '', /malformed header|error reading/);
      });

      // [examples] begin
      it('streams a 64 MiB upload to POST /hash', async () => {
        const body = Buffer.alloc(UPLOAD_BYTES);
        for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
        const reply = await send(endpoint, { method: 'POST', path: '/api/hash', body, timeoutMs: 120_000 });
        assert.equal(reply.status, 200, reply.text);
        const sha256 = createHash('sha256').update(body).digest('hex');
        assert.deepEqual(reply.json(), { sha256, bytes: UPLOAD_BYTES });
        assert.ok(app);
        await app.waitForLine(new RegExp(`^\\[${backend}\\] 127\\.0\\.0\\.1 POST /api/hash 200 `));
        assert.doesNotMatch(apache?.errorLog() ?? '', /malformed header|error reading/);
      });
      // [examples] end
    });
  }
}
