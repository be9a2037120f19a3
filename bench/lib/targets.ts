// Ratios between servers and the targets, judged from the figures of one run. A target
// is reported as met or missed with its figure; nothing here fails a build.

import type { DirectColdStart } from './cold';
import type { AfterLoad } from './direct';
import type { RunRecord } from './measure';
import type { ColdStart } from './passenger';

/** native compared with another server in one scenario. */
export interface Ratio {
  readonly scenario: string;
  readonly pinned: boolean;
  /** `unix`, or the Passenger in front (see RunRecord). */
  readonly via: string;
  readonly other: string;
  /** native's req/s ÷ the other's: above 1, native serves more. */
  readonly rps: number;
  /** native's CPU per request ÷ the other's: below 1, native uses less. */
  readonly cpu: number;
}

/** One target with its verdict. */
export interface Verdict {
  readonly id: string;
  readonly target: string;
  /** undefined when the run did not measure it. */
  readonly met: boolean | undefined;
  readonly figure: string;
}

/**
 * Every native/other ratio the run allows. `runs` may hold several rounds: in each, native and the
 * other server were measured one after the other, so each ratio is the median of the rounds'
 * ratios (paired by round), which drifts in the machine's background load move less than a
 * ratio of two best runs taken from different rounds.
 */
export function computeRatios(runs: readonly RunRecord[]): Ratio[] {
  const paired = new Map<string, { first: Omit<Ratio, 'rps' | 'cpu'>; rps: number[]; cpu: number[] }>();
  for (const native of runs.filter((r) => r.server === 'native')) {
    for (const other of runs) {
      if (other.server === 'native' || other.scenario !== native.scenario || other.pinned !== native.pinned) continue;
      if (other.via !== native.via || (other.round ?? 1) !== (native.round ?? 1)) continue;
      const key = `${native.scenario}|${native.pinned}|${native.via}|${other.server}`;
      const entry = paired.get(key) ?? {
        first: { scenario: native.scenario, pinned: native.pinned, via: native.via, other: other.server },
        rps: [],
        cpu: [],
      };
      entry.rps.push(native.rps / other.rps);
      entry.cpu.push(native.cpuMsPer1000 / other.cpuMsPer1000);
      paired.set(key, entry);
    }
  }
  return [...paired.values()].map(({ first, rps, cpu }) => ({ ...first, rps: median(rps), cpu: median(cpu) }));
}

/** Judges the targets. */
export function judgeTargets(
  runs: readonly RunRecord[],
  afterLoad: readonly AfterLoad[],
  coldStarts: readonly ColdStart[],
  coldDirect: readonly DirectColdStart[] = [],
  machineNode = '',
): Verdict[] {
  const ratios = computeRatios(runs);
  const find = (scenario: string, other: string) =>
    ratios.find((r) => r.scenario === scenario && r.other === other && !r.pinned);
  const verdicts: Verdict[] = [];
  const x = (n: number) => `${n.toFixed(2)}×`;

  const s1f = find('S1', 'fastify');
  const s1e = find('S1', 'express');
  verdicts.push({
    id: 'S1',
    target: 'native ≥ 2× fastify req/s at ≤ ½ its CPU per request; ≥ 8× express req/s',
    met: s1f && s1e ? s1f.rps >= 2 && s1f.cpu <= 0.5 && s1e.rps >= 8 : undefined,
    figure: s1f && s1e ? `${x(s1f.rps)} fastify at ${x(s1f.cpu)} its CPU/req; ${x(s1e.rps)} express` : 'not run',
  });
  const s2f = find('S2', 'fastify');
  verdicts.push({
    id: 'S2',
    target: 'native ≥ 1.5× fastify req/s at ≤ ½ its CPU per request',
    met: s2f ? s2f.rps >= 1.5 && s2f.cpu <= 0.5 : undefined,
    figure: s2f ? `${x(s2f.rps)} req/s at ${x(s2f.cpu)} CPU/req` : 'not run',
  });
  const s4f = find('S4', 'fastify');
  verdicts.push({
    id: 'S4',
    target: 'native ≥ 1.5× fastify req/s (concurrency 8)',
    met: s4f ? s4f.rps >= 1.5 : undefined,
    figure: s4f ? `${x(s4f.rps)} req/s` : 'not run',
  });
  for (const scenario of ['S1', 'S2']) {
    const limit = find(scenario, 'limit');
    verdicts.push({
      id: `${scenario} limit`,
      target: `${scenario}: native within 10% of the limit binary in req/s and CPU per request`,
      met: limit ? limit.rps >= 0.9 && limit.cpu <= 1.1 : undefined,
      figure: limit ? `${x(limit.rps)} the limit's req/s, ${x(limit.cpu)} its CPU/req` : 'not run',
    });
  }
  const bareTargets = { S1: { cpu: 1.15, rps: 0.9 }, S2: { cpu: 1.1, rps: undefined } } as const;
  for (const [scenario, want] of Object.entries(bareTargets)) {
    const bare = find(scenario, 'bare');
    const rpsOk = (r: Ratio) => want.rps === undefined || r.rps >= want.rps;
    verdicts.push({
      id: `${scenario} bare`,
      target:
        `${scenario}: native CPU per request ≤ ${want.cpu}× the bare limit's` +
        (want.rps === undefined ? '' : `, req/s ≥ ${want.rps}×`),
      met: bare ? bare.cpu <= want.cpu && rpsOk(bare) : undefined,
      figure: bare ? `${x(bare.cpu)} its CPU/req, ${x(bare.rps)} its req/s` : 'not run',
    });
  }
  for (const scenario of ['S1', 'S2']) {
    const off = find(scenario, 'native-nolog');
    verdicts.push({
      id: `${scenario} log`,
      target: `${scenario}: with the access log on (the default), within 5% of it off (req/s and CPU per request)`,
      met: off ? off.rps >= 0.95 && off.cpu <= 1.05 : undefined,
      figure: off ? `${x(off.rps)} req/s, ${x(off.cpu)} CPU/req of log off` : 'not run',
    });
  }
  const s5hello = find('S5 hello', 'fastify');
  const s5hash = find('S5 hash', 'fastify');
  verdicts.push({
    id: 'S5',
    target: 'through Passenger: native ≥ fastify on hello, ≥ 1.5× on hash',
    met: s5hello && s5hash ? s5hello.rps >= 1 && s5hash.rps >= 1.5 : undefined,
    figure: s5hello && s5hash ? `hello ${x(s5hello.rps)}, hash ${x(s5hash.rps)}` : 'not run',
  });
  const cold = (server: string) =>
    median(coldStarts.filter((c) => c.server === server).map((c) => c.spawnToFirstResponseMs));
  const coldNative = cold('native');
  const coldFastify = cold('fastify');
  verdicts.push({
    id: 'S6',
    target: 'native cold start ≤ fastify’s',
    met: Number.isNaN(coldNative) || Number.isNaN(coldFastify) ? undefined : coldNative <= coldFastify,
    figure: Number.isNaN(coldNative)
      ? 'not run'
      : `native ${coldNative.toFixed(0)} ms, fastify ${coldFastify.toFixed(0)} ms`,
  });
  const bareApp = cold('bare-node');
  for (const [server, most] of [
    ['native', 1.2],
    ['fastify', 1.5],
  ] as const) {
    const mine = cold(server);
    const ratio = mine / bareApp;
    verdicts.push({
      id: `S6 ${server}`,
      target: `${server} cold start through Passenger ≤ ${most}× a bare node:http app's`,
      met: Number.isNaN(ratio) ? undefined : ratio <= most,
      figure: Number.isNaN(ratio) ? 'not run' : `${x(ratio)} (${mine.toFixed(0)} ms against ${bareApp.toFixed(0)} ms)`,
    });
  }
  const byNode = coldByNode(coldDirect, machineNode);
  if (byNode.length === 0) byNode.push({ node: machineNode, starts: [] });
  for (const { node, starts } of byNode) {
    const direct = (server: string, cache: 'cold' | 'usual') =>
      median(
        starts
          .filter((c) => c.server === server && (cache === 'cold') === (c.compileCache === 'cold'))
          .map((c) => c.spawnToFirstResponseMs),
      );
    const bareNode = direct('bare-node', 'usual');
    const major = node.split('.')[0] ?? '';
    // The app's usual start: its compile cache filled by an earlier start, where the Node has one.
    const cache = starts.some((c) => c.compileCache === 'warm')
      ? ', compile cache filled'
      : starts.some((c) => c.server !== 'bare-node' && c.compileCache === 'none')
        ? ', no compile cache'
        : '';
    const under = node === '' ? '' : `, Node ${node}${cache}`;
    for (const [server, most] of [
      ['native', 1.1],
      ['fastify', 1.5],
    ] as const) {
      const mine = direct(server, 'usual');
      const ratio = mine / bareNode;
      const empty = direct(server, 'cold') / bareNode;
      verdicts.push({
        id: node === '' ? `S8 ${server}` : `S8 ${server}, Node ${major}`,
        target: `${server} cold start (straight${under}) ≤ ${most}× a bare node:http server's under the same Node`,
        met: Number.isNaN(ratio) ? undefined : ratio <= most,
        figure: Number.isNaN(ratio)
          ? 'not run'
          : `${x(ratio)} (${mine.toFixed(0)} ms against ${bareNode.toFixed(0)} ms)` +
            (Number.isNaN(empty) ? '' : `; with an empty compile cache ${x(empty)}`),
      });
    }
  }
  const rss = (server: string) => afterLoad.find((a) => a.server === server)?.rssMiB;
  const rssNative = rss('native');
  const rssFastify = rss('fastify');
  verdicts.push({
    id: 'S7',
    target: 'native RSS ≤ fastify’s after load',
    met: rssNative === undefined || rssFastify === undefined ? undefined : rssNative <= rssFastify,
    figure:
      rssNative === undefined || rssFastify === undefined
        ? 'not run'
        : `native ${rssNative.toFixed(1)} MiB, fastify ${rssFastify.toFixed(1)} MiB`,
  });
  return verdicts;
}

/** S8's starts by the Node that ran them, in the order the run first met each; `machineNode` for
 * the starts of runs from before S8 named it. */
export function coldByNode(
  starts: readonly DirectColdStart[],
  machineNode: string,
): { node: string; starts: DirectColdStart[] }[] {
  const groups: { node: string; starts: DirectColdStart[] }[] = [];
  for (const start of starts) {
    const node = start.node ?? machineNode;
    let group = groups.find((g) => g.node === node);
    if (group === undefined) {
      group = { node, starts: [] };
      groups.push(group);
    }
    group.starts.push(start);
  }
  return groups;
}

/** The median, NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
