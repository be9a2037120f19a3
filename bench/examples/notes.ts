// N1–N6 of `npm run bench` (`--only notes`; alone, without the rest: `npx tsx bench/examples/notes.ts`,
// `--quick` to check that it works): the notes example on a real database, native vs
// fastify, straight over each server's Unix socket. N1–N3 on SQLite (a file per server), N4–N6 on
// a throwaway MariaDB (test/helpers/mariadb.ts: its own data directory, socket and port; a
// database per server, reached over the Unix socket as on cPanel). Each server starts on a fresh
// database holding 100 notes:
//   N1/N4  GET /notes/{id}           one note, 32 connections
//   N2/N5  GET /notes?limit=20       a page of 20, 32 connections
//   N3/N6  POST /notes               a new note each, 8 connections
// The fallback's SQLite needs node:sqlite (Node.js 22.13+): the servers run under Node 22 (from
// npm, as test/helpers/node-versions.ts fetches it) when this Node is older, both of them, so the
// two compare under the same Node. Without Node 22, fastify on SQLite is left out and said so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ensureMariaDb, MARIADB_USER, type MariaDbInstance, startMariaDb } from '../../test/helpers/mariadb';
import { obtainNode } from '../../test/helpers/node-versions';
import type { Timing } from '../lib/direct';
import { ensureOha, type LoadSpec } from '../lib/load';
import { bestRuns, measure, type RunRecord } from '../lib/measure';
import { type Results, toMarkdown, toSvg } from '../lib/report';
import { REPO_ROOT, spawnLogged } from '../lib/servers';
import { computeRatios } from '../lib/targets';

/** What `--only` takes for all of these. */
export const NOTES_SCENARIOS = 'notes';

type Server = 'native' | 'fastify';
const SERVERS: readonly Server[] = ['native', 'fastify'];
const SEEDED = 100;
const START_TIMEOUT_MS = 30_000;

interface Running {
  readonly name: Server;
  readonly pid: number;
  readonly socketPath: string;
  readonly logFile: string;
  /** The id of a note in the middle of the seeded ones. */
  readonly readId: number;
  stop(): Promise<void>;
}

/** One line per scenario, for the report's notes. */
export const NOTES_LEGEND =
  'N1–N3: the notes example on SQLite (a file per server), N4–N6 on MariaDB over its Unix socket ' +
  '(a database per server), each seeded with 100 notes: N1/N4 `GET /notes/{id}` (32 connections), ' +
  'N2/N5 `GET /notes?limit=20` (32 connections), N3/N6 `POST /notes` (8 connections).';

/**
 * Runs N1–N6, `timing.rounds` times over, interleaved server after server; returns the lines for
 * the report's notes (what ran under which Node, what was left out and why).
 */
export async function runNotes(dir: string, timing: Timing, onRecord: (record: RunRecord) => void): Promise<string[]> {
  const notes = [NOTES_LEGEND];
  const node = Number(process.versions.node.split('.')[0]) >= 23 ? undefined : obtainNode(22);
  const nodeBinary = node?.ok ? node.node : process.execPath;
  const nodeVersion = node?.ok ? node.version : process.versions.node;
  const hasSqlite = node === undefined || node.ok;
  notes.push(`N1–N6 ran both servers under Node ${nodeVersion}.`);
  if (!hasSqlite && node !== undefined && !node.ok) {
    notes.push(
      `fastify was left out of N1–N3: this Node has no node:sqlite and Node 22 could not be had (${node.reason}).`,
    );
  }
  const body = path.join(dir, 'note.json');
  writeFileSync(body, JSON.stringify({ title: 'bench', body: 'a note written by the benchmark' }));

  const sqliteServers = hasSqlite ? SERVERS : (['native'] as const);
  await runSet(
    ['N1', 'N2', 'N3'],
    timing,
    body,
    onRecord,
    (server) => startNotesServer(server, dir, nodeBinary, `sqlite:${path.join(dir, `notes-${server}.db`)}`, 'sqlite'),
    sqliteServers,
  );

  const mariadb = ensureMariaDb();
  if (!mariadb.ok) {
    notes.push(`N4–N6 were not run: ${mariadb.reason}`);
    return notes;
  }
  const instance = await startMariaDb();
  try {
    const urls = await databasesFor(instance);
    await runSet(['N4', 'N5', 'N6'], timing, body, onRecord, (server) =>
      startNotesServer(server, dir, nodeBinary, urls[server], 'mariadb'),
    );
  } finally {
    await instance.remove();
  }
  return notes;
}

/** A fresh database per server on `instance`, both with the account-prefixed user. */
async function databasesFor(instance: MariaDbInstance): Promise<Record<Server, string>> {
  const other = `${instance.database}_fastify`;
  await instance.query(
    [
      `CREATE DATABASE \`${other}\``,
      `GRANT ALL PRIVILEGES ON \`${other}\`.* TO '${MARIADB_USER}'@'localhost'`,
      `GRANT ALL PRIVILEGES ON \`${other}\`.* TO '${MARIADB_USER}'@'127.0.0.1'`,
    ].join('; '),
  );
  const named = (database: string) => instance.socketUrl.replace(`/${instance.database}?`, `/${database}?`);
  return { native: instance.socketUrl, fastify: named(other) };
}

/** Starts the servers, seeds them, runs the three scenarios `ids` (get, list, create) and stops them. */
async function runSet(
  ids: readonly [string, string, string],
  timing: Timing,
  bodyFile: string,
  onRecord: (record: RunRecord) => void,
  start: (server: Server) => Promise<Running>,
  servers: readonly Server[] = SERVERS,
): Promise<void> {
  const running: Running[] = [];
  try {
    for (const server of servers) running.push(await start(server));
    for (let round = 1; round <= timing.rounds; round += 1) {
      for (const [index, id] of ids.entries()) {
        for (const server of running) {
          const spec: Omit<LoadSpec, 'seconds' | 'threads'> =
            index === 0
              ? { url: `http://localhost/notes/${server.readId}`, connections: 32 }
              : index === 1
                ? { url: 'http://localhost/notes?limit=20', connections: 32 }
                : {
                    url: 'http://localhost/notes',
                    method: 'POST',
                    bodyFile,
                    contentType: 'application/json',
                    connections: 8,
                  };
          const warmupSeconds = round === 1 ? timing.warmupSeconds : 0;
          const record = await measure(
            { ...spec, unixSocket: server.socketPath, seconds: timing.seconds, threads: 2 },
            { scenario: id, server: server.name, via: 'unix', pinned: false, pid: server.pid, warmupSeconds },
          );
          onRecord({ ...record, round });
        }
      }
    }
  } finally {
    await Promise.all(running.map((server) => server.stop()));
  }
}

/** `node app.js` with `backend` on a socket of its own and `databaseUrl`; resolves once /health
 * reports the database up and 100 notes are in. */
async function startNotesServer(
  name: Server,
  dir: string,
  node: string,
  databaseUrl: string,
  kind: string,
): Promise<Running> {
  const socketPath = path.join(dir, `notes-${kind}-${name}.sock`);
  const logFile = path.join(dir, `notes-${kind}-${name}.log`);
  const { pid, hasExited, stop } = spawnLogged(
    [node, path.join(REPO_ROOT, 'app.js')],
    { HANDOFF_BACKEND: name, HANDOFF_SOCKET: socketPath, DATABASE_URL: databaseUrl },
    logFile,
  );
  try {
    await waitForDatabase(socketPath, hasExited);
    let readId = 0;
    for (let i = 1; i <= SEEDED; i += 1) {
      const reply = await call(socketPath, 'POST', '/notes', JSON.stringify({ title: `note ${i}`, body: 'seeded' }));
      if (reply.status !== 201) throw new Error(`POST /notes answered ${reply.status}: ${reply.text}`);
      if (i === SEEDED / 2) readId = (JSON.parse(reply.text) as { id: number }).id;
    }
    return { name, pid, socketPath, logFile, readId, stop };
  } catch (error) {
    await stop();
    throw new Error(`${name} on ${kind} did not start: ${(error as Error).message}\n${tail(logFile)}`);
  }
}

async function waitForDatabase(socketPath: string, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error('it exited');
    if (existsSync(socketPath)) {
      const reply = await call(socketPath, 'GET', '/health').catch(() => undefined);
      if (reply?.status === 200 && /"database":"up"/.test(reply.text)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the database was not up on ${socketPath} within ${START_TIMEOUT_MS} ms`);
}

function call(
  socketPath: string,
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = request({ socketPath, method, path: urlPath, headers, agent: false, timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/** `npx tsx bench/examples/notes.ts [--quick]`: N1–N6 alone (without the limit binary and S1–S7), written as
 * `npm run bench` writes a run: bench/results/<date>-notes.{json,md,svg}. */
async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const timing: Timing = quick
    ? { seconds: 1, warmupSeconds: 0.3, rounds: 1 }
    : { seconds: 4, warmupSeconds: 1, rounds: 2 };
  const started = Date.now();
  const oha = ensureOha();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-notes-'));
  const runs: RunRecord[] = [];
  let notes: string[] = [];
  try {
    notes = await runNotes(dir, timing, (record) => {
      runs.push(record);
      process.stderr.write(
        `[bench] ${record.scenario} ${record.server}: ${Math.round(record.rps)} req/s, ` +
          `${record.cpuMsPer1000.toFixed(1)} CPU ms/1000${record.failed > 0 ? `, FAILED ${record.failed}: ${JSON.stringify(record.errors)}` : ''}\n`,
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const best = bestRuns(runs);
  const cpus = os.cpus();
  const results: Results = {
    date: new Date().toISOString().slice(0, 10),
    set: quick ? 'quick-notes' : 'notes',
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(),
      node: process.versions.node,
      rustc: spawnSync('rustc', ['--version'], { encoding: 'utf8' }).stdout.trim(),
      generator: spawnSync(oha, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    },
    timing: { ...timing, totalSeconds: Math.round((Date.now() - started) / 1000) },
    runs: best,
    allRuns: runs,
    afterLoad: [],
    coldStarts: [],
    notes,
    ratios: computeRatios(best),
    targets: [],
  };
  const base = path.join(REPO_ROOT, 'bench', 'results', `${results.date}-${results.set}`);
  mkdirSync(path.dirname(base), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  const markdown = toMarkdown(results);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.svg`, toSvg(results));
  process.stdout.write(`\n${markdown}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
