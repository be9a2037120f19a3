// The contract suite through real Apache 2.4 + mod_passenger (Debian's packages), configured as a
// cPanel account is: the `.htaccess` written by `passenger-handoff htaccess` (the built CLI), the
// app running as an unprivileged user, PassengerBaseURI as the only source of the base path.
// Then Apache stops, and the app must exit cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type ApacheInstance, apacheUnavailable, DEFAULT_APP_USER, ensureUser, startApache } from '../helpers/apache';
import { BACKENDS, backendUnavailable, TEST_ENV } from '../helpers/backends';
import { send } from '../helpers/http';
import { unlessMissing } from '../helpers/util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const VERSION = loadConfig({}).version;

/** Writes an .htaccess with the built CLI, as a user runs it on the host; returns its path. */
function writeHtaccess(dir: string, baseUri: string): string {
  const out = path.join(dir, '.htaccess');
  const args = ['htaccess', '--app-root', REPO_ROOT, '--base-uri', baseUri, '--node', process.execPath];
  const cli = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), ...args, '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, `passenger-handoff htaccess failed: ${cli.stderr}`);
  return out;
}

const CASES: [BackendName, string][] = [
  ...BACKENDS.map((backend): [BackendName, string] => [backend, '/api']),
  ['native', '/'],
];

for (const [backend, baseUri] of CASES) {
  describe(`${backend} under Apache + mod_passenger at ${baseUri}`, {
    skip: backendUnavailable(backend) ?? unlessMissing(apacheUnavailable()),
  }, () => {
    let apache: ApacheInstance | undefined;
    let target: ContractTarget | undefined;
    let htaccessDir: string | undefined;
    const basePath = baseUri === '/' ? '' : baseUri;

    before(async () => {
      htaccessDir = mkdtempSync(path.join(tmpdir(), 'handoff-htaccess-'));
      const htaccess = writeHtaccess(htaccessDir, baseUri);
      apache = await startApache({
        appRoot: REPO_ROOT,
        baseUri,
        htaccess,
        env: { ...TEST_ENV, HANDOFF_BACKEND: backend },
      });
      target = {
        endpoint: { host: '127.0.0.1', port: apache.port },
        backend,
        basePath,
        version: VERSION,
        behindApache: true,
        direct: false,
      };
    });
    after(async () => {
      await apache?.stop('stop');
      if (htaccessDir) rmSync(htaccessDir, { recursive: true, force: true });
    });

    defineContractTests(() => {
      if (target === undefined) throw new Error('Apache did not start (see the skip reason above)');
      return target;
    });

    it('runs the app as the unprivileged user, and logs the client Apache saw', async () => {
      assert.ok(apache && target, 'Apache is running');
      await send(target.endpoint, { path: `${basePath}/health` });
      const [pid] = apache.appPids();
      assert.ok(pid, 'the app process is known');
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      assert.equal(Number(uid), ensureUser(DEFAULT_APP_USER).uid);
      const log = apache.readLog();
      assert.match(log, /\[main\] took over Passenger's socket \/\S+/);
      assert.match(log, new RegExp(`\\[${backend}\\] 127\\.0\\.0\\.1 GET ${basePath}/health 200 \\d+\\.\\d{2}ms`));
    });

    it('exits cleanly when Apache stops gracefully', async () => {
      assert.ok(apache, 'Apache is running');
      const pids = apache.appPids();
      assert.ok(pids.length > 0, 'the app process is known');
      const { clean } = await apache.stop('graceful-stop');
      assert.ok(clean, 'Apache, Passenger and the app exited without being killed');
      const log = apache.readLog();
      assert.match(log, /\[main\] Passenger asked the app to exit: finishing in-flight requests/);
      assert.match(log, /\[main\] stopped/);
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `app process ${pid} is gone`);
    });
  });
}
