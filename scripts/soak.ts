// Soak: runs the real app (`node app.js` on a Unix socket) under mixed load for N minutes and
// watches its resident memory and open descriptors, so a leak shows before a host finds it.
// Not part of `npm test`. Usage:
//   npx tsx scripts/soak.ts [--minutes 10] [--backend native|fastify|express] [--connections 8]
//                           [--rps 300] [--warmup-seconds 60] [--sample-seconds 5] [--seed 1]
// Exits 1 on any error (an unexpected status or a transport failure), on RSS growth of 10 % or
// more after warm-up, or when the app holds more descriptors at the end than at the start.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

interface Options {
  readonly minutes: number;
  readonly backend: string;
  readonly connections: number;
  /** Requests per second across all connections: the machine is shared, so load is paced. */
  readonly rps: number;
  readonly warmupSeconds: number;
  readonly sampleSeconds: number;
  readonly seed: number;
  /** Hard cap on the number of requests. @default rps × duration × 2 */
  readonly maxRequests: number;
}

/** Largest `POST /echo` body the soaked app accepts, in bytes (small, so 413s are cheap). */
const BODY_LIMIT = 16 * 1024;
const HASH_BODY_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const RSS_GROWTH_LIMIT = 0.1; // 10 %

function parseOptions(argv: readonly string[]): Options {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i] ?? '';
    const value = argv[i + 1];
    if (!name.startsWith('--') || value === undefined) throw new Error(`usage: see the head of scripts/soak.ts`);
    values.set(name.slice(2), value);
  }
  const number = (name: string, fallback: number): number => {
    const raw = values.get(name);
    values.delete(name);
    const parsed = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number (got ${raw})`);
    return parsed;
  };
  const minutes = number('minutes', 10);
  const rps = number('rps', 300);
  const backend = values.get('backend') ?? 'native';
  values.delete('backend');
  if (!['native', 'fastify', 'express'].includes(backend)) throw new Error(`--backend must be native|fastify|express`);
  const options: Options = {
    minutes,
    backend,
    rps,
    connections: Math.floor(number('connections', 8)),
    warmupSeconds: number('warmup-seconds', Math.min(60, minutes * 6)),
    sampleSeconds: number('sample-seconds', 5),
    seed: Math.floor(number('seed', 1)),
    maxRequests: Math.floor(number('max-requests', rps * minutes * 60 * 2)),
  };
  if (values.size > 0) throw new Error(`unknown option(s): ${[...values.keys()].map((k) => `--${k}`).join(' ')}`);
  return options;
}

/** mulberry32: a small seeded PRNG, so a run's request sequence can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One kind of request in the mix, with what a correct answer looks like. */
interface Kind {
  readonly name: string;
  readonly weight: number;
  build(random: () => number): Planned;
}

interface Planned {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  readonly status: number;
  /** Checks the answer's body; returns a problem, or undefined when it is right. */
  check?(body: Buffer): string | undefined;
}

const hashBody = Buffer.alloc(HASH_BODY_BYTES, 'soak-');
const hashHex = createHash('sha256').update(hashBody).digest('hex');
const jsonType = { 'content-type': 'application/json' };
const NAMES = ['Ann', 'été', 'a b', '😀', 'x'.repeat(100), 'O%27Brien'];

const expectJson =
  (expected: string) =>
  (body: Buffer): string | undefined =>
    body.toString('utf8') === expected ? undefined : `expected ${expected}, got ${body.toString('utf8').slice(0, 200)}`;

const expectCode =
  (code: string) =>
  (body: Buffer): string | undefined => {
    const text = body.toString('utf8');
    return text.includes(`"code":"${code}"`) ? undefined : `expected error ${code}, got ${text.slice(0, 200)}`;
  };

const MIX: readonly Kind[] = [
  { name: 'GET /health', weight: 20, build: () => ({ method: 'GET', path: '/health', status: 200 }) },
  { name: 'HEAD /health', weight: 2, build: () => ({ method: 'HEAD', path: '/health', status: 200 }) },
  {
    name: 'GET /hello',
    weight: 20,
    build: (random) => {
      const name = NAMES[Math.floor(random() * NAMES.length)] ?? 'Ann';
      return {
        method: 'GET',
        path: `/hello?name=${encodeURIComponent(name)}`,
        status: 200,
        check: expectJson(JSON.stringify({ message: `Hello, ${name}!` })),
      };
    },
  },
  {
    name: 'GET /hello (invalid name)',
    weight: 2,
    build: () => ({ method: 'GET', path: '/hello?name=', status: 400, check: expectCode('invalid_name') }),
  },
  {
    name: 'POST /echo',
    weight: 20,
    build: (random) => {
      const value = { n: Math.floor(random() * 1e9), f: random(), s: 'héllo\n', a: [true, null, { '2': 2, '1': 1 }] };
      const text = JSON.stringify(value);
      return {
        method: 'POST',
        path: '/echo',
        headers: jsonType,
        body: Buffer.from(text),
        status: 200,
        check: expectJson(JSON.stringify(JSON.parse(text))),
      };
    },
  },
  {
    name: 'POST /echo (invalid JSON)',
    weight: 2,
    build: () => ({
      method: 'POST',
      path: '/echo',
      headers: jsonType,
      body: Buffer.from('{"a":'),
      status: 400,
      check: expectCode('invalid_json'),
    }),
  },
  {
    name: 'POST /echo (not JSON)',
    weight: 2,
    build: () => ({
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('{}'),
      status: 415,
      check: expectCode('unsupported_media_type'),
    }),
  },
  {
    name: 'POST /echo (too large)',
    weight: 2,
    build: () => ({
      method: 'POST',
      path: '/echo',
      headers: jsonType,
      body: Buffer.alloc(BODY_LIMIT + 4096, 0x20),
      status: 413,
      check: expectCode('payload_too_large'),
    }),
  },
  {
    name: 'POST /hash 64 KiB',
    weight: 8,
    build: () => ({
      method: 'POST',
      path: '/hash',
      body: hashBody,
      status: 200,
      check: expectJson(JSON.stringify({ sha256: hashHex, bytes: HASH_BODY_BYTES })),
    }),
  },
  { name: 'POST /counter', weight: 10, build: () => ({ method: 'POST', path: '/counter', status: 200 }) },
  { name: 'GET /counter', weight: 5, build: () => ({ method: 'GET', path: '/counter', status: 200 }) },
  {
    name: 'GET (404)',
    weight: 4,
    build: () => ({ method: 'GET', path: '/nope', status: 404, check: expectCode('not_found') }),
  },
  {
    name: 'DELETE /hello (405)',
    weight: 3,
    build: () => ({ method: 'DELETE', path: '/hello', status: 405, check: expectCode('method_not_allowed') }),
  },
];

const TOTAL_WEIGHT = MIX.reduce((sum, kind) => sum + kind.weight, 0);

function pickKind(random: () => number): Kind {
  let roll = random() * TOTAL_WEIGHT;
  for (const kind of MIX) {
    roll -= kind.weight;
    if (roll < 0) return kind;
  }
  return MIX[0] as Kind;
}

/** Sends one planned request; resolves with a problem, or undefined when the answer is right. */
function exchange(socketPath: string, agent: Agent | false, planned: Planned): Promise<string | undefined> {
  const headers: Record<string, string | number> = { ...planned.headers };
  if (agent === false) headers.connection = 'close';
  if (planned.body !== undefined) headers['content-length'] = planned.body.length;
  return new Promise((resolve) => {
    const req = httpRequest(
      { socketPath, agent, method: planned.method, path: planned.path, headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => resolve(`response error: ${error.message}`));
        res.on('end', () => {
          if (res.statusCode !== planned.status) {
            resolve(`status ${res.statusCode}, expected ${planned.status}`);
            return;
          }
          resolve(planned.check?.(Buffer.concat(chunks)));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (error) => resolve(`transport error: ${error.message}`));
    req.end(planned.body);
  });
}

interface Sample {
  readonly atSeconds: number;
  readonly rssKiB: number;
  readonly fds: number;
}

function readRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

function countFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the app and resolves once it logs that it serves. */
async function startApp(backend: string, socketPath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['app.js'], {
    cwd: path.resolve(__dirname, '..'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HANDOFF_BACKEND: backend,
      HANDOFF_SOCKET: socketPath,
      HANDOFF_BODY_LIMIT: String(BODY_LIMIT),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The request log is one line a request: keep only the lines that are not request lines.
  const notable: string[] = [];
  let partial = '';
  let serving: (() => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    serving = resolve;
    child.once('exit', (code) => reject(new Error(`the app exited (${code}) before serving:\n${notable.join('\n')}`)));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (/^\[(native|fastify|express)\] \S+ [A-Z]+ \S+ \d{3} [\d.]+ms$/.test(line)) continue;
      notable.push(line);
      process.stderr.write(`  app: ${line}\n`);
      if (line.startsWith('[main] serving with ')) serving?.();
    }
  });
  await ready;
  return child;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const durationMs = options.minutes * 60_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-soak-'));
  const socketPath = path.join(dir, 'app.sock');
  console.log(
    `soak: ${options.backend}, ${options.minutes} min, ${options.connections} connections, ` +
      `${options.rps} req/s, warm-up ${options.warmupSeconds} s, seed ${options.seed}`,
  );
  const app = await startApp(options.backend, socketPath);
  const pid = app.pid ?? Number.NaN;
  try {
    const fdsStart = countFds(pid);
    const rssStartKiB = readRssKiB(pid);
    const random = seededRandom(options.seed);
    const keepAlive = new Agent({ keepAlive: true, maxSockets: options.connections });
    const started = Date.now();
    const deadline = started + durationMs;
    let issued = 0;
    let completed = 0;
    const errors = new Map<string, number>();
    const perKind = new Map<string, number>();
    const firstErrors: string[] = [];

    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      samples.push({ atSeconds: (Date.now() - started) / 1000, rssKiB: readRssKiB(pid), fds: countFds(pid) });
      const last = samples[samples.length - 1];
      if (last && samples.length % 12 === 0) {
        console.log(`  ${last.atSeconds.toFixed(0)} s: ${completed} requests, RSS ${last.rssKiB} KiB, ${last.fds} fds`);
      }
    }, options.sampleSeconds * 1000);

    const worker = async () => {
      for (;;) {
        if (Date.now() >= deadline || issued >= options.maxRequests) return;
        // Paced: request k goes out no earlier than k / rps seconds after the start.
        const due = started + (issued / options.rps) * 1000;
        issued++;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const kind = pickKind(random);
        const planned = kind.build(random);
        // One in five goes on its own connection with `connection: close`.
        const agent = random() < 0.2 ? false : keepAlive;
        const problem = await exchange(socketPath, agent, planned);
        completed++;
        perKind.set(kind.name, (perKind.get(kind.name) ?? 0) + 1);
        if (problem !== undefined) {
          const key = `${kind.name}: ${problem}`;
          errors.set(key, (errors.get(key) ?? 0) + 1);
          if (firstErrors.length < 10) firstErrors.push(`${new Date().toISOString()} ${key}`);
        }
      }
    };
    await Promise.all(Array.from({ length: options.connections }, worker));
    const elapsedS = (Date.now() - started) / 1000;
    clearInterval(sampler);
    keepAlive.destroy();

    // Descriptors are compared with no client connected: give the app a moment to see the
    // closed keep-alive connections.
    let fdsEnd = countFds(pid);
    for (let i = 0; i < 50 && fdsEnd > fdsStart; i++) {
      await sleep(100);
      fdsEnd = countFds(pid);
    }
    const afterWarmup = samples.filter((s) => s.atSeconds >= options.warmupSeconds);
    if (afterWarmup.length < 6) throw new Error(`too few samples after warm-up (${afterWarmup.length}); run longer`);
    const rssWarmKiB = median(afterWarmup.slice(0, 3).map((s) => s.rssKiB));
    const rssEndKiB = median(afterWarmup.slice(-3).map((s) => s.rssKiB));
    const growth = (rssEndKiB - rssWarmKiB) / rssWarmKiB;
    const rssPeakKiB = Math.max(...afterWarmup.map((s) => s.rssKiB));
    const fdsPeak = Math.max(...samples.map((s) => s.fds));
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);

    console.log(`\nsoak result (${options.backend}):`);
    console.log(`  duration        ${elapsedS.toFixed(0)} s`);
    console.log(`  requests        ${completed} (${(completed / elapsedS).toFixed(0)} req/s)`);
    for (const kind of MIX) console.log(`    ${kind.name.padEnd(28)} ${perKind.get(kind.name) ?? 0}`);
    console.log(`  errors          ${errorCount}`);
    for (const [key, count] of errors) console.log(`    ${count} × ${key}`);
    for (const line of firstErrors) console.log(`    first: ${line}`);
    console.log(`  RSS at start    ${rssStartKiB} KiB`);
    console.log(`  RSS after warm-up ${rssWarmKiB} KiB (median of 3 samples from ${options.warmupSeconds} s)`);
    console.log(`  RSS at end      ${rssEndKiB} KiB (median of the last 3 samples); peak ${rssPeakKiB} KiB`);
    console.log(`  RSS growth      ${(growth * 100).toFixed(2)} % (limit < ${RSS_GROWTH_LIMIT * 100} %)`);
    console.log(`  fds             ${fdsStart} at start (idle), ${fdsEnd} at end (idle), peak ${fdsPeak} under load`);
    console.log(`  samples         ${samples.map((s) => s.rssKiB).join(' ')}`);

    const failures: string[] = [];
    if (errorCount > 0) failures.push(`${errorCount} errors`);
    if (growth >= RSS_GROWTH_LIMIT) failures.push(`RSS grew ${(growth * 100).toFixed(1)} %`);
    if (fdsEnd > fdsStart) failures.push(`descriptors grew from ${fdsStart} to ${fdsEnd}`);
    console.log(failures.length === 0 ? '  PASS' : `  FAIL: ${failures.join('; ')}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    const exited = new Promise((resolve) => app.once('exit', resolve));
    app.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`soak: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
