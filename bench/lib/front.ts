// S9: the app behind real nginx (Debian's, one worker), SCGI against HTTP. The same backend runs
// twice, `node app.js` with HANDOFF_PROTOCOL=scgi and with HANDOFF_PROTOCOL=http (base path /api),
// and one nginx serves both with the shipped sites adapted as the tests adapt them
// (test/helpers/nginx.ts): deploy/nginx/scgi.conf (`scgi_pass`, a new connection to the app per
// request: SCGI has no keep-alive) and deploy/nginx/http.conf (`proxy_pass` to an upstream with
// `keepalive`, HTTP/1.1, `Connection ""`), each on a port of its own. The app listens on a Unix
// socket, and for native and fastify on TCP too. oha loads nginx on 127.0.0.1 with 32 keep-alive
// connections: `GET /api/hello` and `POST /api/echo` with 4 KiB of JSON. Measured per run: req/s,
// p50/p99, and the CPU per request of the app process and of nginx (master and worker), whose
// sum is what a request costs. SCGI and HTTP to the same backend run one after the other, every
// pair `timing.rounds` times, interleaved; the report keeps the best run of each and gives
// SCGI ÷ HTTP. nginx is installed by scripts/install-system-deps.sh when missing; when it cannot
// be, S9 is skipped with a note.
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { type Nginx, nginxUnavailable, replaceOnce, startNginx } from '../../test/helpers/nginx';
import { freePort } from '../../test/helpers/util';
import type { Timing } from './direct';
import { type LoadSpec, runLoad } from './load';
import { measure, type RunRecord } from './measure';
import { parentOf, sampleProcess } from './proc';
import { REPO_ROOT, spawnLogged } from './servers';

type Protocol = 'scgi' | 'http';
type Transport = 'unix' | 'tcp';

/** Client connections to nginx, and the HTTP upstream's `keepalive` (so that no idle upstream
 * connection is ever closed for want of room: the shipped file says 16). */
const CONNECTIONS = 32;
const BASE_PATH = '/api';
const PROTOCOLS: readonly Protocol[] = ['scgi', 'http'];
/** Which backend runs on which transports (express on the Unix socket only: it would add a
 * minute and say nothing the others do not). */
const PAIRS: readonly { backend: string; transport: Transport }[] = [
  { backend: 'native', transport: 'unix' },
  { backend: 'fastify', transport: 'unix' },
  { backend: 'express', transport: 'unix' },
  { backend: 'native', transport: 'tcp' },
  { backend: 'fastify', transport: 'tcp' },
];
const START_TIMEOUT_MS = 20_000;

/** One S9 run: a RunRecord (`pid` = the app) plus nginx's share. */
export interface FrontRecord extends RunRecord {
  /** What nginx speaks to the app. */
  readonly protocol: Protocol;
  /** How nginx reaches the app. */
  readonly transport: Transport;
  /** nginx's CPU time (master and worker) per 1000 answered requests, in milliseconds. */
  readonly nginxCpuMsPer1000: number;
  /** nginx's average CPU use during the run, in cores. */
  readonly nginxCores: number;
}

/** A load without its address and duration. */
interface FrontScenario {
  readonly id: string;
  readonly spec: (base: string, bodyFile: string) => Omit<LoadSpec, 'seconds' | 'threads'>;
}

const SCENARIOS: readonly FrontScenario[] = [
  { id: 'S9 hello', spec: (base) => ({ url: `${base}/hello`, connections: CONNECTIONS }) },
  {
    id: 'S9 echo',
    spec: (base, bodyFile) => ({
      url: `${base}/echo`,
      method: 'POST',
      bodyFile,
      contentType: 'application/json',
      connections: CONNECTIONS,
    }),
  },
];

/** One app process behind one nginx server block. */
interface Path {
  readonly backend: string;
  readonly transport: Transport;
  readonly protocol: Protocol;
  /** The port nginx listens on for this path. */
  readonly port: number;
  readonly app: AppProcess;
}

/**
 * Runs S9, calling `onRecord` with every run. Returns the notes for the report: why it was
 * skipped, or how it ran.
 */
export async function runFront(
  dir: string,
  timing: Timing,
  onRecord: (record: FrontRecord) => void,
): Promise<string[]> {
  const missing = nginxUnavailable();
  if (missing !== undefined) return [`S9 was not run: ${missing}.`];
  const bodyFile = writeEchoBody(dir);
  const paths: Path[] = [];
  const notes: string[] = [
    'S9 ran through Debian’s nginx with one worker process and its access log on, the shipped ' +
      'deploy/nginx/scgi.conf and http.conf (the upstream’s `keepalive` raised from 16 to 32, the ' +
      'client connections), the app with its request log on.',
  ];
  let nginx: Nginx | undefined;
  try {
    for (const { backend, transport } of PAIRS) {
      for (const protocol of PROTOCOLS) {
        const app = await startApp(dir, backend, protocol, transport);
        paths.push({ backend, transport, protocol, port: await freePort(), app });
      }
    }
    nginx = await startNginx(siteFor(dir, paths), paths[0]?.port);
    await Promise.all(paths.map((p) => waitReady(p, nginx as Nginx)));
    // Refused connections while the apps were starting are no fault: only what comes after counts.
    const errorLogFrom = nginx.errorLog().length;
    if (nginx.child.pid === undefined) throw new Error('nginx has no pid');
    const nginxPids = pidsOf(nginx.child.pid);
    for (let round = 1; round <= timing.rounds; round += 1) {
      for (const scenario of SCENARIOS) {
        for (const p of paths) {
          const spec: LoadSpec = {
            ...scenario.spec(`http://127.0.0.1:${p.port}${BASE_PATH}`, bodyFile),
            seconds: timing.seconds,
            threads: 2,
          };
          // Once warm, a process stays warm: only the first round warms up.
          if (round === 1 && timing.warmupSeconds > 0) await runLoad({ ...spec, seconds: timing.warmupSeconds });
          const before = cpuMs(nginxPids);
          const started = performance.now();
          const run = await measure(spec, {
            scenario: scenario.id,
            server: p.backend,
            via: `nginx-${p.protocol}-${p.transport}`,
            pinned: false,
            pid: p.app.pid,
            warmupSeconds: 0,
          });
          const nginxMs = cpuMs(nginxPids) - before;
          const wallMs = performance.now() - started;
          onRecord({
            ...run,
            round,
            protocol: p.protocol,
            transport: p.transport,
            nginxCpuMsPer1000: run.requests > 0 ? (nginxMs * 1000) / run.requests : Number.NaN,
            nginxCores: nginxMs / wallMs,
          });
        }
      }
    }
    const errors =
      nginx
        .errorLog()
        .slice(errorLogFrom)
        .match(/\[(?:error|crit|alert|emerg)\].*/g) ?? [];
    if (errors.length > 0) notes.push(`nginx logged ${errors.length} errors during S9, the first: ${errors[0]}`);
  } finally {
    await nginx?.stop();
    await Promise.all(paths.map((p) => p.app.stop()));
  }
  return notes;
}

/** A 4 KiB JSON document for POST /echo, written into `dir`. */
function writeEchoBody(dir: string): string {
  const items: unknown[] = [];
  let json = '';
  for (let id = 1; json.length < 4 * 1024; id += 1) {
    items.push({ id, name: `item ${id}`, tags: ['alpha', 'beta'], price: id * 1.25, active: id % 2 === 0 });
    json = JSON.stringify({ items });
  }
  const file = path.join(dir, 'echo-4k.json');
  writeFileSync(file, json);
  return file;
}

/** The shipped sites, one server block per path, with their upstreams renamed apart. */
function siteFor(dir: string, paths: readonly Path[]): string {
  const scgiSite = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx', 'scgi.conf'), 'utf8');
  const httpSite = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx', 'http.conf'), 'utf8');
  const temp = path.join(dir, 'nginx-scgi-temp');
  mkdirSync(temp);
  chmodSync(temp, 0o755);
  const blocks = paths.map((p) => {
    const name = `handoff_${p.backend}_${p.protocol}_${p.transport}`;
    const upstream = p.transport === 'tcp' ? `127.0.0.1:${p.app.port}` : `unix:${p.app.socketPath}`;
    let site: string;
    if (p.protocol === 'scgi') {
      site = replaceOnce(scgiSite, 'upstream passenger_handoff_scgi {', `upstream ${name} {`);
      site = replaceOnce(site, 'scgi_pass passenger_handoff_scgi;', `scgi_pass ${name};`);
      site = replaceOnce(site, 'server unix:/run/passenger-handoff/scgi.sock;', `server ${upstream};`);
      // nginx runs from its own prefix: Debian's file by its full path.
      site = replaceOnce(site, 'include scgi_params;', 'include /etc/nginx/scgi_params;');
    } else {
      site = replaceOnce(httpSite, 'upstream passenger_handoff {', `upstream ${name} {`);
      site = replaceOnce(site, 'proxy_pass http://passenger_handoff;', `proxy_pass http://${name};`);
      site = replaceOnce(site, 'server unix:/run/passenger-handoff/http.sock;', `server ${upstream};`);
      site = replaceOnce(site, 'keepalive 16;', `keepalive ${CONNECTIONS};`);
    }
    site = replaceOnce(site, 'listen 80;', `listen 127.0.0.1:${p.port};`);
    return replaceOnce(site, 'listen [::]:80;', '');
  });
  return [`scgi_temp_path ${temp};`, ...blocks].join('\n');
}

/** `node app.js` on a Unix socket or on TCP, speaking `protocol`. */
interface AppProcess {
  readonly pid: number;
  readonly socketPath: string;
  readonly port: number;
  readonly logFile: string;
  exited(): boolean;
  stop(): Promise<void>;
}

async function startApp(dir: string, backend: string, protocol: Protocol, transport: Transport): Promise<AppProcess> {
  const name = `front-${backend}-${protocol}-${transport}`;
  const socketPath = path.join(dir, `${name}.sock`);
  const port = transport === 'tcp' ? await freePort() : 0;
  const logFile = path.join(dir, `${name}.log`);
  const app = spawnLogged(
    [process.execPath, path.join(REPO_ROOT, 'app.js')],
    {
      HANDOFF_BACKEND: backend,
      HANDOFF_PROTOCOL: protocol,
      HANDOFF_BASE_PATH: BASE_PATH,
      ...(transport === 'tcp' ? { HOST: '127.0.0.1', PORT: String(port) } : { HANDOFF_SOCKET: socketPath }),
      // As the shipped systemd unit runs it behind nginx (deploy/systemd): the request log
      // names the client nginx saw. SCGI passes it as REMOTE_ADDR.
      ...(protocol === 'http' ? { HANDOFF_TRUST_PROXY: transport === 'tcp' ? '127.0.0.1' : 'unix' } : {}),
    },
    logFile,
  );
  return { pid: app.pid, socketPath, port, logFile, exited: app.hasExited, stop: app.stop };
}

/** Waits until nginx answers GET /api/health with 200 on `p`'s port (so the app is up behind it),
 * and checks that the app serves with the backend asked for (the addon may not have loaded). */
async function waitReady(p: Path, nginx: Nginx): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const what = `${p.backend} over ${p.protocol} on ${p.transport}`;
  for (;;) {
    if (p.app.exited()) throw new Error(`${what} exited:\n${tail(p.app.logFile)}`);
    if ((await getStatus(p.port, `${BASE_PATH}/health`).catch(() => 0)) === 200) break;
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: no 200 through nginx within ${START_TIMEOUT_MS} ms\n${tail(p.app.logFile)}\n${nginx.errorLog()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const started = new RegExp(
    `^\\[main\\] serving with ${p.backend} on .*${p.protocol === 'scgi' ? '\\(SCGI\\)' : ''}`,
    'm',
  );
  if (!started.test(readFileSync(p.app.logFile, 'utf8'))) {
    throw new Error(`${what} does not serve as asked:\n${tail(p.app.logFile)}`);
  }
}

function getStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** nginx's master and its workers (read once nginx is up: the workers stay for its life). */
function pidsOf(master: number): number[] {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => parentOf(pid) === master);
  if (children.length === 0) throw new Error(`nginx (${master}) has no worker process`);
  return [master, ...children];
}

function cpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + sampleProcess(pid).cpuMs, 0);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/** The best run (most req/s) of each scenario, backend, protocol and transport, in order of
 * first appearance. */
export function bestFront(runs: readonly FrontRecord[]): FrontRecord[] {
  const best = new Map<string, FrontRecord>();
  for (const run of runs) {
    const key = `${run.scenario}|${run.server}|${run.via}`;
    const kept = best.get(key);
    if (kept === undefined || run.rps > kept.rps) best.set(key, run);
  }
  return [...best.values()];
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const n1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');

/** S9's part of the report: the best runs, then SCGI ÷ HTTP for each backend and transport. */
export function frontMarkdown(runs: readonly FrontRecord[]): string[] {
  const out: string[] = [
    '**S9, through nginx: SCGI (`scgi_pass`) or HTTP (`proxy_pass`, keep-alive upstream) to the same app**',
    '',
    '| Scenario | Server | nginx → app | req/s | p50 ms | p99 ms | app CPU ms / 1000 req | nginx CPU | app + nginx | Generator cores |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const to = (r: FrontRecord) =>
    `${r.protocol === 'scgi' ? 'SCGI' : 'HTTP'}, ${r.transport === 'tcp' ? 'TCP' : 'Unix'}`;
  for (const r of runs) {
    const flags = [r.generatorSaturated ? ' ⚠' : '', r.failed > 0 ? ` (${r.failed} failed)` : ''].join('');
    out.push(
      `| ${r.scenario} | ${r.server} | ${to(r)} | ${n0(r.rps)}${flags} | ${n2(r.p50Ms)} | ${n2(r.p99Ms)} | ` +
        `${n1(r.cpuMsPer1000)} | ${n1(r.nginxCpuMsPer1000)} | ${n1(r.cpuMsPer1000 + r.nginxCpuMsPer1000)} | ` +
        `${n2(r.generatorCores)} |`,
    );
  }
  out.push(
    '',
    '**S9, SCGI ÷ HTTP** (req/s: above 1, SCGI serves more; latency and CPU per request: below 1, SCGI costs less)',
    '',
    '| Scenario | Server | nginx → app | req/s | p50 | p99 | app CPU | nginx CPU | app + nginx CPU |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|',
  );
  for (const scgi of runs.filter((r) => r.protocol === 'scgi')) {
    const http = runs.find(
      (r) =>
        r.protocol === 'http' &&
        r.scenario === scgi.scenario &&
        r.server === scgi.server &&
        r.transport === scgi.transport,
    );
    if (http === undefined) continue;
    const x = (a: number, b: number) => `${n2(a / b)}×`;
    out.push(
      `| ${scgi.scenario} | ${scgi.server} | ${scgi.transport === 'tcp' ? 'TCP' : 'Unix'} | ${x(scgi.rps, http.rps)} | ` +
        `${x(scgi.p50Ms, http.p50Ms)} | ${x(scgi.p99Ms, http.p99Ms)} | ${x(scgi.cpuMsPer1000, http.cpuMsPer1000)} | ` +
        `${x(scgi.nginxCpuMsPer1000, http.nginxCpuMsPer1000)} | ` +
        `${x(scgi.cpuMsPer1000 + scgi.nginxCpuMsPer1000, http.cpuMsPer1000 + http.nginxCpuMsPer1000)} |`,
    );
  }
  out.push(
    '',
    'S9 hello: `GET /api/hello`; S9 echo: `POST /api/echo`, 4 KiB of JSON; both with 32 keep-alive ' +
      'client connections to nginx on 127.0.0.1. CPU: the app process’s own and nginx’s (master and ' +
      'worker), from /proc, per 1000 answered requests.',
  );
  return out;
}
