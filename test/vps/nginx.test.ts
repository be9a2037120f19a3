// deploy/nginx/http.conf with Debian's nginx in front of every backend, the app on a Unix
// socket passed as the .socket unit passes it (named http), under the base path /api with the
// unit's HANDOFF_TRUST_PROXY=unix: the contract suite through nginx, and the request log names
// the client nginx saw (X-Forwarded-For), not one a client claims.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type AppProcess, REPO_ROOT, tempDir } from '../helpers/app-process';
import { BACKENDS, backendUnavailable } from '../helpers/backends';
import { send, waitUntilServing } from '../helpers/http';
import { type Nginx, nginxUnavailable, replaceOnce, startNginx } from '../helpers/nginx';
import { freePort } from '../helpers/util';
import { socketActivationUnavailable, startActivated } from '../helpers/vps';

const VERSION = loadConfig({}).version;
const SITE = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx', 'http.conf'), 'utf8');
const UNIT = readFileSync(path.join(REPO_ROOT, 'deploy', 'systemd', 'passenger-handoff.service'), 'utf8');
const TRUST = /^Environment=HANDOFF_TRUST_PROXY=(.*)$/m.exec(UNIT)?.[1] ?? 'off';

/** The shipped site, with the test's socket and port instead of /run/… and :80. */
export function siteFor(socketPath: string, port: number): string {
  let site = replaceOnce(SITE, 'server unix:/run/passenger-handoff/http.sock;', `server unix:${socketPath};`);
  site = replaceOnce(site, 'listen 80;', `listen 127.0.0.1:${port};`);
  return replaceOnce(site, 'listen [::]:80;', '');
}

for (const backend of BACKENDS) {
  describe(`${backend} behind nginx (deploy/nginx/http.conf)`, {
    skip: nginxUnavailable() ?? socketActivationUnavailable() ?? backendUnavailable(backend) ?? false,
  }, () => {
    let app: AppProcess | undefined;
    let nginx: Nginx | undefined;
    let target: ContractTarget | undefined;

    before(async () => {
      const socketPath = path.join(tempDir(), 'http.sock');
      app = startActivated(
        { HANDOFF_BACKEND: backend, HANDOFF_BASE_PATH: '/api', HANDOFF_TRUST_PROXY: TRUST },
        { listen: [socketPath], names: ['http'] },
      );
      await waitUntilServing({ socketPath }, '/api/health');
      const port = await freePort();
      nginx = await startNginx(siteFor(socketPath, port), port);
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

    it('logs the client nginx saw, not the one a client claims', async () => {
      assert.ok(target && app);
      const reply = await send(target.endpoint, {
        path: '/api/health?probe=1',
        headers: { 'x-forwarded-for': '192.0.2.66' },
      });
      assert.equal(reply.status, 200);
      await app.waitForLine(new RegExp(`^\\[${backend}\\] 127\\.0\\.0\\.1/http GET /api/health 200 \\d+\\.\\d{2}ms$`));
      assert.ok(!app.lines().some((line) => line.includes('192.0.2.66')), app.lines().join('\n'));
    });
  });
}
