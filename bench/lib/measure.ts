// One measured load run against one server process: a short warm-up, then the run itself with
// the server's CPU, RSS and threads read from /proc before and after, and the machine's load.
import { type LoadResult, type LoadSpec, runLoad } from './load';
import { busyShare, type ProcSample, sampleMachine, sampleProcess } from './proc';

/** The generator counts as saturated from this share of one core on. */
const SATURATED_CORE_SHARE = 0.9;

/** One row of the results. */
export interface RunRecord {
  readonly scenario: string;
  readonly server: string;
  /** `unix` (straight to the server's socket) or `passenger-standalone` / `apache`. */
  readonly via: string;
  /** The server ran on one core only (`taskset -c 0`), the generator on the other. */
  readonly pinned: boolean;
  readonly connections: number;
  readonly seconds: number;
  readonly requests: number;
  readonly failed: number;
  readonly errors: Record<string, number>;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The server's CPU time per 1000 answered requests, in milliseconds. */
  readonly cpuMsPer1000: number;
  /** The server's average CPU use during the run, in cores. */
  readonly serverCores: number;
  readonly rssMiB: number;
  readonly threads: number;
  readonly generatorCpuMsPer1000: number;
  /** The generator's average CPU use, in cores. */
  readonly generatorCores: number;
  /** The generator used most of a core: the server may have been waiting on it. */
  readonly generatorSaturated: boolean;
  /** Share of the whole machine (all cores) busy during the run, whoever used it. */
  readonly machineBusy: number;
  /** Which of the rounds (1 when there is one). */
  readonly round?: number;
  /** Behind Passenger: Passenger's own CPU time per 1000 requests (its core process). */
  readonly passengerCpuMsPer1000?: number;
}

/** What to measure, beyond the load itself. */
export interface MeasureOptions {
  readonly scenario: string;
  readonly server: string;
  readonly via: string;
  readonly pinned: boolean;
  /** The server process whose CPU, RSS and threads count. */
  readonly pid: number;
  /** Another process whose CPU is reported alongside (Passenger's core). */
  readonly passengerPid?: number | undefined;
  readonly warmupSeconds: number;
}

/** Warms up, then runs `spec` and measures. */
export async function measure(spec: LoadSpec, options: MeasureOptions): Promise<RunRecord> {
  if (options.warmupSeconds > 0) await runLoad({ ...spec, seconds: options.warmupSeconds });
  const before = sampleProcess(options.pid);
  const passengerBefore = options.passengerPid === undefined ? undefined : sampleProcess(options.passengerPid);
  const machineBefore = sampleMachine();
  const load = await runLoad(spec);
  const machineAfter = sampleMachine();
  const after = sampleProcess(options.pid);
  const passengerAfter = options.passengerPid === undefined ? undefined : sampleProcess(options.passengerPid);
  return toRecord(
    spec,
    options,
    load,
    before,
    after,
    busyShare(machineBefore, machineAfter),
    passengerBefore,
    passengerAfter,
  );
}

function toRecord(
  spec: LoadSpec,
  options: MeasureOptions,
  load: LoadResult,
  before: ProcSample,
  after: ProcSample,
  machineBusy: number,
  passengerBefore: ProcSample | undefined,
  passengerAfter: ProcSample | undefined,
): RunRecord {
  const per1000 = (ms: number) => (load.ok > 0 ? (ms * 1000) / load.ok : Number.NaN);
  const serverCpuMs = after.cpuMs - before.cpuMs;
  const generatorCores = load.generatorCpuMs / load.wallMs;
  return {
    scenario: options.scenario,
    server: options.server,
    via: options.via,
    pinned: options.pinned,
    connections: spec.connections,
    seconds: spec.seconds,
    requests: load.ok,
    failed: load.failed,
    errors: load.errors,
    rps: load.rps,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    cpuMsPer1000: per1000(serverCpuMs),
    serverCores: serverCpuMs / load.wallMs,
    rssMiB: after.rssKiB / 1024,
    threads: after.threads,
    generatorCpuMsPer1000: per1000(load.generatorCpuMs),
    generatorCores,
    generatorSaturated: generatorCores >= SATURATED_CORE_SHARE,
    machineBusy,
    ...(passengerBefore && passengerAfter
      ? { passengerCpuMsPer1000: per1000(passengerAfter.cpuMs - passengerBefore.cpuMs) }
      : {}),
  };
}

/**
 * One run per scenario and server: the one with the most req/s among the rounds, i.e. the one
 * least disturbed by whatever else the machine was doing. Order of first appearance is kept.
 */
export function bestRuns(runs: readonly RunRecord[]): RunRecord[] {
  const best = new Map<string, RunRecord>();
  for (const run of runs) {
    const key = `${run.scenario}|${run.server}|${run.via}|${run.pinned}`;
    const kept = best.get(key);
    if (kept === undefined || run.rps > kept.rps) best.set(key, run);
  }
  return [...best.values()];
}
