// S5 and S6 through real Phusion Passenger with one app process: Apache + mod_passenger (Debian's
// packages, set up as a cPanel account, test/helpers/apache.ts) where it can run, else Passenger
// Standalone (test/helpers/passenger.ts). Each record says which (`via`).
import { chmodSync, copyFileSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureApache, startApache } from '../../test/helpers/apache';
import { ensurePassenger, startPassenger } from '../../test/helpers/passenger';
import type { Timing } from './direct';
import type { LoadSpec } from './load';
import { measure, type RunRecord } from './measure';
import { parentOf, processStartMs, sampleProcess } from './proc';
import { REPO_ROOT } from './servers';

/** The Node backends (the limit is no Node app: Passenger cannot run it). */
const APP_BACKENDS = ['native', 'fastify', 'express'] as const;

/** What S5 and S6 need of a Passenger in front of the app. */
interface Front {
  readonly port: number;
  appPids(): number[];
  stop(): Promise<unknown>;
}

/** S6's floor: bench/lib/bare-node.cjs as a Passenger app of its own (Passenger's loader takes
 * over its listen()), answering GET /hello and nothing else. */
const BARE = 'bare-node';

/** Where Passenger finds an app: the repository for the app's backends, a folder holding only
 * bare-node.cjs as `app.js` for the bare server. */
function appFor(server: string): { appRoot: string; env: Record<string, string>; done: () => void } {
  if (server !== BARE) return { appRoot: REPO_ROOT, env: { HANDOFF_BACKEND: server }, done: () => {} };
  const appRoot = mkdtempSync(path.join(tmpdir(), 'handoff-bare-app-'));
  // The app runs as the account's user, not as the bench's.
  chmodSync(appRoot, 0o755);
  copyFileSync(path.join(__dirname, 'bare-node.cjs'), path.join(appRoot, 'app.js'));
  chmodSync(path.join(appRoot, 'app.js'), 0o644);
  return { appRoot, env: {}, done: () => rmSync(appRoot, { recursive: true, force: true }) };
}

/** Apache + mod_passenger if it can be had, else Passenger Standalone; undefined with a reason if neither. */
function chooseFront(): { via: string; start: (server: string) => Promise<Front> } | { reason: string } {
  const withApp = (start: (app: ReturnType<typeof appFor>) => Promise<Front>) => async (server: string) => {
    const app = appFor(server);
    const front = await start(app).catch((error: unknown) => {
      app.done();
      throw error;
    });
    return { ...front, appPids: () => front.appPids(), stop: () => front.stop().finally(app.done) };
  };
  const apache = ensureApache();
  if (apache.ok) {
    return {
      via: 'apache',
      start: withApp(({ appRoot, env }) => startApache({ appRoot, env, healthPath: '/hello' })),
    };
  }
  const standalone = ensurePassenger();
  if (standalone.ok) {
    return {
      via: 'passenger-standalone',
      start: withApp(({ appRoot, env }) => startPassenger({ appRoot, env, healthPath: '/hello' })),
    };
  }
  return { reason: `${apache.reason}; ${standalone.reason}` };
}

/** S6: one cold start, from the app process's creation to its first answer. */
export interface ColdStart {
  readonly server: string;
  readonly via: string;
  /** From the process's start (/proc, 10 ms resolution) to the first 200 answer. */
  readonly spawnToFirstResponseMs: number;
  /** The first request's own wait, as a client of a stopped app sees it. */
  readonly firstRequestMs: number;
  /** The app process's CPU time (user + system, /proc, 10 ms ticks) by its first answer. */
  readonly cpuMs?: number;
}

/**
 * Runs S5 (hello and hash) and S6 for every Node backend, each under a Passenger (an Apache) of
 * its own, all up at once so that the S5 runs can be interleaved (`timing.rounds` times). Says
 * which Passenger it used, or why it skipped.
 */
export async function runPassenger(
  timing: Timing,
  coldStarts: number,
  blobFile: string,
  only: ReadonlySet<string>,
  onRecord: (record: RunRecord) => void,
  onColdStart: (cold: ColdStart) => void,
): Promise<{ via: string } | { skipped: string } | undefined> {
  if (!only.has('S5') && !only.has('S6')) return undefined;
  const front = chooseFront();
  if ('reason' in front) return { skipped: front.reason };
  const instances: { backend: string; instance: Front }[] = [];
  try {
    for (const backend of APP_BACKENDS) instances.push({ backend, instance: await front.start(backend) });
    // The bare server is S6's floor only: it has no /hash, and its throughput is not the question.
    if (only.has('S6')) instances.push({ backend: BARE, instance: await front.start(BARE) });
    if (only.has('S5')) {
      for (let round = 1; round <= timing.rounds; round += 1) {
        const warmupSeconds = round === 1 ? timing.warmupSeconds : 0;
        for (const load of [helloLoad, hashLoad(blobFile)]) {
          for (const { backend, instance } of instances.filter((i) => i.backend !== BARE)) {
            const record = await runThroughput(instance, backend, front.via, { ...timing, warmupSeconds }, load);
            onRecord({ ...record, round });
          }
        }
      }
    }
    if (only.has('S6')) {
      for (let i = 0; i < coldStarts; i += 1) {
        for (const { backend, instance } of instances) onColdStart(await coldStart(instance, backend, front.via));
      }
    }
  } finally {
    await Promise.all(instances.map(({ instance }) => instance.stop()));
  }
  return { via: front.via };
}

/** A load through Passenger, without its address and duration. */
interface PassengerLoad {
  readonly scenario: string;
  readonly spec: (base: string) => Omit<LoadSpec, 'seconds' | 'threads'>;
}

const helloLoad: PassengerLoad = {
  scenario: 'S5 hello',
  spec: (base) => ({ url: `${base}/hello`, connections: 32 }),
};

function hashLoad(blobFile: string): PassengerLoad {
  return {
    scenario: 'S5 hash',
    spec: (base) => ({
      url: `${base}/hash`,
      method: 'POST',
      bodyFile: blobFile,
      contentType: 'application/octet-stream',
      connections: 8,
    }),
  };
}

function runThroughput(
  instance: Front,
  backend: string,
  via: string,
  timing: Timing,
  load: PassengerLoad,
): Promise<RunRecord> {
  const pid = onlyApp(instance);
  const core = parentOf(pid);
  const passengerPid = core !== undefined && isPassengerAgent(core) ? core : undefined;
  const spec = { ...load.spec(`http://127.0.0.1:${instance.port}`), seconds: timing.seconds, threads: 2 };
  return measure(spec, {
    scenario: load.scenario,
    server: backend,
    via,
    pinned: false,
    pid,
    passengerPid,
    warmupSeconds: timing.warmupSeconds,
  });
}

/** Stops the app (SIGTERM: it drains and exits), then times Passenger spawning a new one for a
 * request: GET /hello, as S8 does, which every server answers (/health would not be the bare one's). */
async function coldStart(instance: Front, backend: string, via: string): Promise<ColdStart> {
  const old = onlyApp(instance);
  process.kill(old, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (instance.appPids().includes(old)) {
    if (Date.now() > deadline) throw new Error(`app ${old} did not exit on SIGTERM`);
    await sleep(20);
  }
  const asked = performance.now();
  let status = 0;
  while (status !== 200) {
    if (Date.now() > deadline + 30_000) throw new Error(`no 200 from a new ${backend} app within 30 s`);
    status = await getStatus(instance.port, '/hello').catch(() => 0);
    if (status !== 200) await sleep(10);
  }
  const answeredAt = Date.now();
  const firstRequestMs = performance.now() - asked;
  const fresh = onlyApp(instance);
  return {
    server: backend,
    via,
    spawnToFirstResponseMs: answeredAt - processStartMs(fresh),
    firstRequestMs,
    cpuMs: sampleProcess(fresh).cpuMs,
  };
}

function onlyApp(instance: Front): number {
  const pids = instance.appPids();
  if (pids.length !== 1 || pids[0] === undefined) throw new Error(`expected one app process, got ${pids.join(', ')}`);
  return pids[0];
}

function isPassengerAgent(pid: number): boolean {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`)) === 'PassengerAgent';
  } catch {
    return false;
  }
}

function getStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
