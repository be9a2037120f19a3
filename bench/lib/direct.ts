// S1–S4 and S7: every server in its own process, loaded straight over its Unix socket; then S1
// and S4 again with the server pinned to one core (as a one-core shared account runs it).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadSpec } from './load';
import { measure, type RunRecord } from './measure';
import { sampleProcess } from './proc';
import { HELLO_ONLY, SERVERS, type ServerName, type ServerProcess, startServer } from './servers';

/** How long each part runs. */
export interface Timing {
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** How many times each server runs each scenario (interleaved); the report keeps the best. */
  readonly rounds: number;
}

/** A load over a Unix socket, without the socket (each server has its own). */
interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly spec: Omit<LoadSpec, 'unixSocket' | 'seconds' | 'threads' | 'cpus'>;
}

/** S7: memory and threads of each server once S1–S4 are over. */
export interface AfterLoad {
  readonly server: ServerName;
  readonly rssMiB: number;
  readonly threads: number;
}

/** Writes the request bodies into `dir`: a 16 KiB JSON document and 1 MiB of bytes. */
export function writeBodies(dir: string): { json: string; blob: string } {
  const items: unknown[] = [];
  let json = '';
  for (let id = 1; json.length < 16 * 1024; id += 1) {
    items.push({ id, name: `item ${id}`, tags: ['alpha', 'beta'], price: id * 1.25, active: id % 2 === 0 });
    json = JSON.stringify({ items });
  }
  const blob = randomBytes(1024 * 1024);
  const files = { json: path.join(dir, 'echo-16k.json'), blob: path.join(dir, 'hash-1m.bin') };
  writeFileSync(files.json, json);
  writeFileSync(files.blob, blob);
  return files;
}

function scenarios(bodies: { json: string; blob: string }): Scenario[] {
  return [
    {
      id: 'S1',
      title: 'GET /hello, keep-alive',
      spec: { url: 'http://localhost/hello', connections: 32 },
    },
    {
      id: 'S2',
      title: 'GET /hello, one connection per request',
      spec: { url: 'http://localhost/hello', connections: 32, connectionClose: true },
    },
    {
      id: 'S3',
      title: 'POST /echo, 16 KiB JSON',
      spec: {
        url: 'http://localhost/echo',
        method: 'POST',
        bodyFile: bodies.json,
        contentType: 'application/json',
        connections: 32,
      },
    },
    {
      id: 'S4',
      title: 'POST /hash, 1 MiB, concurrency 8',
      spec: {
        url: 'http://localhost/hash',
        method: 'POST',
        bodyFile: bodies.blob,
        contentType: 'application/octet-stream',
        connections: 8,
      },
    },
  ];
}

/** Titles of the scenarios, for the report. */
export const SCENARIO_TITLES: Readonly<Record<string, string>> = {
  S1: 'GET /hello, keep-alive',
  S2: 'GET /hello, one connection per request',
  S3: 'POST /echo, 16 KiB JSON',
  S4: 'POST /hash, 1 MiB, concurrency 8',
  S5: 'through Passenger (one app process)',
  S6: 'cold start through Passenger',
  S7: 'after load',
};

/**
 * Runs S1–S4 with all four servers up at once, scenario by scenario and server after server
 * within each, `timing.rounds` times over, so that a change in the machine's background load
 * hits every server alike. Returns S7: each server's memory and threads once it is all over.
 */
export async function runDirect(
  dir: string,
  timing: Timing,
  only: ReadonlySet<string>,
  onRecord: (record: RunRecord) => void,
): Promise<AfterLoad[]> {
  const chosen = scenarios(writeBodies(dir)).filter((s) => only.has(s.id));
  const servers = await startAll(dir, undefined);
  try {
    await runRounds(chosen, servers, timing, false, onRecord);
    return servers.map((server) => {
      const sample = sampleProcess(server.pid);
      return { server: server.name, rssMiB: sample.rssKiB / 1024, threads: sample.threads };
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/**
 * S1 and S4 with every server pinned to core 0 (all four up, only one loaded at a time) and the
 * generator pinned to core 1.
 */
export async function runPinned(
  dir: string,
  timing: Timing,
  only: ReadonlySet<string>,
  onRecord: (record: RunRecord) => void,
): Promise<void> {
  const chosen = scenarios(writeBodies(dir)).filter((s) => (s.id === 'S1' || s.id === 'S4') && only.has(s.id));
  if (chosen.length === 0) return;
  const servers = await startAll(dir, '0');
  try {
    await runRounds(chosen, servers, timing, true, onRecord);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function runRounds(
  chosen: readonly Scenario[],
  servers: readonly ServerProcess[],
  timing: Timing,
  pinned: boolean,
  onRecord: (record: RunRecord) => void,
): Promise<void> {
  for (let round = 1; round <= timing.rounds; round += 1) {
    for (const scenario of chosen) {
      for (const server of servers) {
        if (HELLO_ONLY.has(server.name) && scenario.id !== 'S1' && scenario.id !== 'S2') continue;
        // Once warm, a server stays warm: only the first round warms up.
        const warmupSeconds = round === 1 ? timing.warmupSeconds : 0;
        onRecord({ ...(await runOne(scenario, server, { ...timing, warmupSeconds }, pinned)), round });
      }
    }
  }
}

async function startAll(dir: string, cpus: string | undefined): Promise<ServerProcess[]> {
  const started: ServerProcess[] = [];
  try {
    for (const name of SERVERS) started.push(await startServer(name, { dir, cpus }));
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()));
    throw error;
  }
  return started;
}

function runOne(scenario: Scenario, server: ServerProcess, timing: Timing, pinned: boolean): Promise<RunRecord> {
  const spec: LoadSpec = {
    ...scenario.spec,
    unixSocket: server.socketPath,
    seconds: timing.seconds,
    // Pinned: the generator gets the other core to itself. Otherwise it shares both.
    threads: pinned ? 1 : 2,
    cpus: pinned ? '1' : undefined,
  };
  return measure(spec, {
    scenario: scenario.id,
    server: server.name,
    via: 'unix',
    pinned,
    pid: server.pid,
    warmupSeconds: timing.warmupSeconds,
  });
}
