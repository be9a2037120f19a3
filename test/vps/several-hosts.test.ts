// Several hosts behind nginx: three network namespaces, each an app "host" on its own address
// (198.18.<i>.2, RFC 2544's benchmark range, on veth pairs to a fourth namespace and nowhere
// else), Debian's nginx in that fourth one as the load balancer with deploy/nginx/http.conf's
// settings and one upstream line per host. Under load (GETs and POSTs through the balancer), a
// rolling restart: for each host in turn SIGTERM, /ready turns 503 while the app keeps accepting
// for HANDOFF_DRAIN_DELAY_MS, it exits 0, a new process starts, and the next host waits until
// its /ready answers 200. No GET may fail; what happens to POSTs is measured (docs/vps.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, REPO_ROOT, startApp, tempDir } from '../helpers/app-process';
import { backendUnavailable } from '../helpers/backends';
import { type Endpoint, send, waitUntilServing } from '../helpers/http';
import { type LoadFigures, startLoad } from '../helpers/load';
import { createNetwork, type Network, netnsUnavailable } from '../helpers/netns';
import { type Nginx, nginxUnavailable, replaceOnce, startNginx } from '../helpers/nginx';
import { sleep } from '../helpers/util';

const BACKEND = 'native';
const PORT = 3000;
const DRAIN_DELAY_MS = 2000;
const CLIENTS = 4; // of each kind
const SITE = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx', 'http.conf'), 'utf8');

let network: Network | undefined;
let nginx: Nginx | undefined;
const apps: AppProcess[] = [];
after(async () => {
  for (const app of apps) app.kill();
  await Promise.all(apps.map((app) => app.exited));
  await nginx?.stop();
  network?.destroy();
});

/** The shipped site with the hosts as upstreams, listening on a Unix socket (which reaches
 * across namespaces); plus, for the test's own checks, each host's /ready at /_host/<i>/ready. */
function balancerSite(hosts: Network['hosts'], socketPath: string, probePath: string): string {
  const servers = hosts.map((host) => `server ${host.address}:${PORT} max_fails=0;`).join('\n    ');
  let site = replaceOnce(SITE, 'server unix:/run/passenger-handoff/http.sock;', servers);
  site = replaceOnce(site, 'listen 80;', `listen unix:${socketPath};`);
  site = replaceOnce(site, 'listen [::]:80;', '');
  const probes = hosts
    .map((host, i) => `  location = /_host/${i + 1}/ready { proxy_pass http://${host.address}:${PORT}/api/ready; }`)
    .join('\n');
  return `${site}\nserver {\n  listen unix:${probePath};\n${probes}\n}\n`;
}

function startHost(host: Network['hosts'][number]): AppProcess {
  const app = startApp(
    {
      HANDOFF_BACKEND: BACKEND,
      HOST: host.address,
      PORT: String(PORT),
      HANDOFF_BASE_PATH: '/api',
      HANDOFF_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      HANDOFF_TRUST_PROXY: host.address.replace(/\.2$/, '.1'),
    },
    ['ip', 'netns', 'exec', host.netns, process.execPath, 'app.js'],
  );
  apps.push(app);
  return app;
}

/** Polls a host's /ready through the balancer until it answers `status` (at most 400 × 50 ms). */
async function readyBecomes(probe: Endpoint, host: number, status: number): Promise<void> {
  let last = '';
  for (let i = 0; i < 400; i++) {
    const reply = await send(probe, { path: `/_host/${host}/ready`, timeoutMs: 5000 }).catch((e: Error) => e);
    last = reply instanceof Error ? reply.message : String(reply.status);
    if (!(reply instanceof Error) && reply.status === status) return;
    await sleep(50);
  }
  throw new Error(`host ${host}: /ready never answered ${status} (last: ${last})`);
}

const line = (kind: string, f: LoadFigures) =>
  `${kind}: ${f.sent} sent, ${f.ok} ok, ${f.failed} failed, ${f.refused} refused, longest ${Math.round(f.longestMs)} ms${
    f.samples.length > 0 ? ` (${[...new Set(f.samples)].join('; ')})` : ''
  }`;

describe('several hosts behind nginx', {
  skip: netnsUnavailable() ?? nginxUnavailable() ?? backendUnavailable(BACKEND) ?? false,
}, () => {
  it('a rolling restart of three hosts under load with a /ready-aware drain: 0 failed GETs', async (t) => {
    network = createNetwork(3);
    const dir = tempDir();
    const entry = { socketPath: path.join(dir, 'lb.sock') };
    const probe = { socketPath: path.join(dir, 'probe.sock') };
    const current = network.hosts.map((host) => startHost(host));
    await Promise.all(current.map((app) => app.waitForLine(/^\[main\] serving with /)));
    nginx = await startNginx(
      balancerSite(network.hosts, entry.socketPath, probe.socketPath),
      undefined,
      network.balancer,
    );
    await waitUntilServing(entry, '/api/health');
    for (let i = 1; i <= 3; i++) await readyBecomes(probe, i, 200);

    const gets = startLoad(entry, CLIENTS, () => ({ request: { path: '/api/health' }, status: 200 }));
    const body = JSON.stringify({ note: 'x'.repeat(512) });
    const posts = startLoad(entry, CLIENTS, () => ({
      request: { method: 'POST', path: '/api/__test/upload', body, headers: { 'content-type': 'application/json' } },
      status: 200,
    }));
    const until = async (count: number) => {
      for (let i = 0; i < 400 && gets.figures.sent < count; i++) await sleep(50);
    };
    await until(100);
    for (const [i, host] of network.hosts.entries()) {
      const old = current[i] as AppProcess;
      old.kill('SIGTERM');
      await old.waitForLine(/^\[main\] SIGTERM: \/ready answers 503; still accepting for /);
      await readyBecomes(probe, i + 1, 503); // the drain: a balancer polling /ready stops here
      assert.deepEqual(await old.exited, { code: 0, signal: null }, `host ${i + 1} exits 0`);
      const next = startHost(host);
      current[i] = next;
      await next.waitForLine(/^\[main\] serving with /);
      await readyBecomes(probe, i + 1, 200); // only then the next host
      await until(gets.figures.sent + 100);
    }
    const [got, posted] = await Promise.all([gets.stop(), posts.stop()]);
    t.diagnostic(line('GET', got));
    t.diagnostic(line('POST', posted));
    const upstreamErrors = (nginx.errorLog().match(/\[error\].*/g) ?? []).map((e) => e.replace(/^.*?\*\d+ /, ''));
    t.diagnostic(
      `nginx errors: ${upstreamErrors.length}; ${[...new Set(upstreamErrors.map((e) => e.split(',')[0]))].join('; ')}`,
    );
    assert.equal(got.failed + got.refused, 0, line('GET', got));
    assert.equal(got.ok, got.sent);
    assert.equal(posted.refused, 0, line('POST', posted));

    // Every new process serves, each on its own host, and logs the client nginx saw.
    const pids = new Set<number>();
    for (let i = 0; i < 12; i++) pids.add(((await send(entry, { path: '/api/health' })).json() as { pid: number }).pid);
    assert.deepEqual([...pids].sort(), current.map((app) => app.child.pid).sort());
    for (const app of current) await app.waitForLine(/^\[native\] 198\.18\.\d\.1\/http GET \/api\/health 200 /);
  });
});
