// The load generator: oha (https://github.com/hatoo/oha, Rust, tokio), which speaks HTTP/1.1
// over a Unix socket (`--unix-socket`), can open one connection per request
// (`--disable-keepalive`) and prints its summary as JSON. It is installed from crates.io into
// native/target/bench-tools on first use. Its own CPU time is measured too (bash's `times`, which
// reports exited children exactly), so a run where it was the bottleneck can be flagged.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './servers';

const OHA_VERSION = '1.16.0';
const TOOLS_ROOT = path.join(REPO_ROOT, 'native', 'target', 'bench-tools');
/** Where the load generator is installed (by ensureOha). */
export const OHA = path.join(TOOLS_ROOT, 'bin', 'oha');

/** One load run. */
export interface LoadSpec {
  /** `http://localhost/hello` (over `unixSocket`) or `http://127.0.0.1:<port>/hello`. */
  readonly url: string;
  readonly unixSocket?: string | undefined;
  readonly method?: 'GET' | 'POST';
  /** A file whose bytes are the request body. */
  readonly bodyFile?: string;
  readonly contentType?: string;
  /** One connection per request, as Passenger does. */
  readonly connectionClose?: boolean;
  readonly connections: number;
  readonly seconds: number;
  /** Runs the generator on these cores only (`taskset -c`). */
  readonly cpus?: string | undefined;
  /** Tokio worker threads of the generator. */
  readonly threads: number;
}

/** What a load run measured, from the generator's side. */
export interface LoadResult {
  /** Answers with a 2xx status. */
  readonly ok: number;
  /** Everything else: other statuses and failed requests. */
  readonly failed: number;
  readonly wallMs: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The generator's own CPU time (user + system), in milliseconds. */
  readonly generatorCpuMs: number;
  /** First failures, for the report. */
  readonly errors: Record<string, number>;
}

/** Makes sure oha is there, building it from crates.io (a few minutes, once) when it is not. */
export function ensureOha(): string {
  if (existsSync(OHA)) return OHA;
  process.stderr.write(
    `[bench] installing the load generator: cargo install oha ${OHA_VERSION} (once, a few minutes)\n`,
  );
  const installed = spawnSync('cargo', ['install', 'oha', '--version', OHA_VERSION, '--locked', '--root', TOOLS_ROOT], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (installed.error || installed.status !== 0 || !existsSync(OHA)) {
    throw new Error(`cannot install oha with cargo (exit ${installed.status ?? installed.error?.message})`);
  }
  return OHA;
}

/** Runs oha once with `spec` and parses its summary. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const args = [
    '--no-tui',
    '--output-format',
    'json',
    '-z',
    `${spec.seconds}s`,
    '-c',
    String(spec.connections),
    '--worker-threads',
    String(spec.threads),
    // Requests still in flight at the deadline are finished and counted, not dropped.
    '-w',
    '-m',
    spec.method ?? 'GET',
  ];
  if (spec.unixSocket !== undefined) args.push('--unix-socket', spec.unixSocket);
  if (spec.bodyFile !== undefined) args.push('-D', spec.bodyFile);
  if (spec.contentType !== undefined) args.push('-T', spec.contentType);
  if (spec.connectionClose) args.push('--disable-keepalive');
  args.push(spec.url);
  const command = spec.cpus === undefined ? [OHA, ...args] : ['taskset', '-c', spec.cpus, OHA, ...args];
  // bash's `times` prints the CPU time of its finished children on its last line.
  const script = '"$@"; status=$?; times >&2; exit $status';
  const started = performance.now();
  const { code, stdout, stderr } = await capture('bash', ['-c', script, 'oha', ...command]);
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`oha exited ${code}: ${stderr.trim()}`);
  const summary = JSON.parse(stdout) as OhaSummary;
  const statuses = summary.statusCodeDistribution ?? {};
  let ok = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  for (const [status, count] of Object.entries(statuses)) {
    if (status.startsWith('2')) ok += count;
    else {
      failed += count;
      errors[`HTTP ${status}`] = count;
    }
  }
  for (const [error, count] of Object.entries(summary.errorDistribution ?? {})) {
    failed += count;
    errors[error] = count;
  }
  return {
    ok,
    failed,
    wallMs,
    rps: summary.summary.requestsPerSec,
    p50Ms: (summary.latencyPercentiles?.p50 ?? Number.NaN) * 1000,
    p99Ms: (summary.latencyPercentiles?.p99 ?? Number.NaN) * 1000,
    generatorCpuMs: childrenCpuMs(stderr),
    errors,
  };
}

interface OhaSummary {
  summary: { requestsPerSec: number };
  latencyPercentiles?: Record<string, number | null>;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
}

/** Parses the second line of bash's `times` (children: `0m1.234s 0m0.567s`). */
function childrenCpuMs(stderr: string): number {
  const lines = stderr.trim().split('\n');
  const children = lines[lines.length - 1] ?? '';
  const times = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60_000 + Number(m[2]) * 1000);
  return times.length === 2 ? (times[0] ?? 0) + (times[1] ?? 0) : Number.NaN;
}

function capture(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
