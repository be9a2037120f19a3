// The Markdown table and the SVG chart of one run (the chart is plain SVG written here: bars on
// a logarithmic axis, so 2× and ½× are the same length either side of 1×).

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DirectColdStart } from './cold';
import type { AfterLoad } from './direct';
import { type FrontRecord, frontMarkdown } from './front';
import type { RunRecord } from './measure';
import type { ColdStart } from './passenger';
import { coldByNode, median, type Ratio, type Verdict } from './targets';

/** Everything one run produced. */
export interface Results {
  readonly date: string;
  readonly set: string;
  readonly machine: Record<string, string | number>;
  readonly timing: Record<string, number>;
  /** The best run of each scenario and server (see bestRuns). */
  readonly runs: readonly RunRecord[];
  /** Every run, every round. */
  readonly allRuns?: readonly RunRecord[];
  readonly afterLoad: readonly AfterLoad[];
  readonly coldStarts: readonly ColdStart[];
  /** S8 (absent in runs from before it existed). */
  readonly coldStartsDirect?: readonly DirectColdStart[];
  /** S9, the best run of each (absent in runs from before it existed). */
  readonly front?: readonly FrontRecord[];
  readonly notes: readonly string[];
  readonly ratios: readonly Ratio[];
  readonly targets: readonly Verdict[];
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const n1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');

/** What a run measured and through what, as the tables name it. */
function label(run: { scenario: string; pinned: boolean; via: string }): string {
  const through: Record<string, string> = { 'passenger-standalone': 'Standalone', apache: 'Apache' };
  const where = [run.pinned ? '1 core' : '', through[run.via] ?? ''].filter((s) => s !== '');
  return where.length > 0 ? `${run.scenario} (${where.join(', ')})` : run.scenario;
}

/** The whole report in Markdown. */
export function toMarkdown(results: Results): string {
  const out: string[] = [];
  out.push(`Run ${results.date} (${results.set}), ${describeMachine(results.machine)}.`, '');
  out.push(
    '| Scenario | Server | req/s | p50 ms | p99 ms | CPU ms / 1000 req | RSS MiB | Threads | Generator cores |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const run of results.runs) {
    const flags = [run.generatorSaturated ? ' ⚠' : '', run.failed > 0 ? ` (${run.failed} failed)` : ''].join('');
    out.push(
      `| ${label(run)} | ${run.server} | ${n0(run.rps)}${flags} | ${n2(run.p50Ms)} | ${n2(run.p99Ms)} | ` +
        `${n1(run.cpuMsPer1000)}${run.passengerCpuMsPer1000 === undefined ? '' : ` (+${n1(run.passengerCpuMsPer1000)} Passenger)`} | ` +
        `${n1(run.rssMiB)} | ${run.threads} | ${n2(run.generatorCores)} |`,
    );
  }
  out.push(
    '',
    '⚠: the generator used ≥ 0.9 of a core; the server may have waited on it. ' +
      'CPU is the server process’s own (user + system, from /proc), per 1000 answered requests.',
  );
  out.push('', '**native ÷ other** (req/s: above 1 is better; CPU per request: below 1 is better)', '');
  out.push(
    '| Scenario | ÷ fastify req/s | CPU | ÷ express req/s | CPU | ÷ limit req/s | CPU | ÷ bare req/s | CPU | ÷ log off req/s | CPU |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const key of scenarioKeys(results.ratios)) {
    const cells = ['fastify', 'express', 'limit', 'bare', 'native-nolog'].map((other) => {
      const r = results.ratios.find((x) => label(x) === key && x.other === other);
      return r ? `${n2(r.rps)}× | ${n2(r.cpu)}×` : '– | –';
    });
    out.push(`| ${key} | ${cells.join(' | ')} |`);
  }
  out.push(
    '',
    'limit: the same router, request log and middleware in a plain Rust process (no Node). ' +
      'bare: plain hyper answering GET /hello only (no router, no log, no middleware), the floor. ' +
      'log off: native with HANDOFF_ACCESS_LOG=off.',
  );
  if (results.afterLoad.length > 0) {
    out.push('', '**S7, after S1–S4**', '', '| Server | RSS MiB | Threads |', '|---|--:|--:|');
    for (const a of results.afterLoad) out.push(`| ${a.server} | ${n1(a.rssMiB)} | ${a.threads} |`);
  }
  if (results.coldStarts.length > 0) {
    out.push(
      '',
      '**S6, cold start through Passenger** (median of the runs)',
      '',
      '| Server | Spawn to first response, ms | First request waited, ms | Runs |',
      '|---|--:|--:|--:|',
    );
    for (const server of [...new Set(results.coldStarts.map((c) => c.server))]) {
      const mine = results.coldStarts.filter((c) => c.server === server);
      out.push(
        `| ${server} | ${n0(median(mine.map((c) => c.spawnToFirstResponseMs)))} | ` +
          `${n0(median(mine.map((c) => c.firstRequestMs)))} | ${mine.length} |`,
      );
    }
  }
  const direct = results.coldStartsDirect ?? [];
  if (direct.length > 0) {
    out.push(
      '',
      '**S8, cold start straight (no Passenger)**: spawn to the first answered GET /hello, median of the runs; ' +
        'every server and the bare one under the same Node, ÷ that Node’s bare server',
      '',
      '| Node | Server | Compile cache | ms | ÷ bare node:http | CPU ms by then | ÷ bare | Runs |',
      '|---|---|---|--:|--:|--:|--:|--:|',
    );
    for (const { node, starts } of coldByNode(direct, String(results.machine.node ?? ''))) {
      const bare = starts.filter((c) => c.server === 'bare-node' && c.compileCache !== 'cold');
      const bareMs = median(bare.map((c) => c.spawnToFirstResponseMs));
      const bareCpu = median(bare.map((c) => c.cpuMs));
      const kinds = [...new Set(starts.map((c) => `${c.server}\t${c.compileCache ?? '–'}`))];
      for (const kind of kinds) {
        const mine = starts.filter((c) => `${c.server}\t${c.compileCache ?? '–'}` === kind);
        const [server, cache] = kind.split('\t');
        const ms = median(mine.map((c) => c.spawnToFirstResponseMs));
        const cpu = median(mine.map((c) => c.cpuMs));
        out.push(
          `| ${node} | ${server} | ${cache} | ${n0(ms)} | ${n2(ms / bareMs)}× | ${n0(cpu)} | ${n2(cpu / bareCpu)}× | ${mine.length} |`,
        );
      }
    }
    out.push(
      '',
      'Compile cache: warm, filled by an earlier start of the same server under the same Node (a host’s ' +
        'usual start); cold, empty (the first start after a deploy); none, not used (the bare server, or a ' +
        'Node before 22.1, which has none).',
    );
  }
  if (results.front !== undefined && results.front.length > 0) out.push('', ...frontMarkdown(results.front));
  out.push('', '**Targets**', '', '| | Target | Met | Figure |', '|---|---|---|---|');
  for (const t of results.targets) {
    const met = t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**';
    out.push(`| ${t.id} | ${t.target} | ${met} | ${t.figure} |`);
  }
  for (const note of results.notes) out.push('', note);
  return `${out.join('\n')}\n`;
}

function describeMachine(machine: Record<string, string | number>): string {
  return (
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, ` +
    `${machine.rustc}; load generator ${machine.generator}`
  );
}

function scenarioKeys(ratios: readonly Ratio[]): string[] {
  return [...new Set(ratios.map(label))];
}

const OTHERS = [
  { name: 'fastify', color: '#2b6cb0' },
  { name: 'express', color: '#9c4221' },
  { name: 'limit', color: '#4a5568' },
  { name: 'bare', color: '#2f855a' },
] as const;

/**
 * Two panels of grouped bars, one group per scenario: how many times the req/s of native is
 * that of each other server, and how many times less CPU per request it needs.
 */
export function toSvg(results: Results): string {
  const ratios = results.ratios;
  const keys = scenarioKeys(ratios);
  const barH = 9;
  const groupH = OTHERS.length * barH + 10;
  const top = 58;
  const labelW = 150;
  const panelW = 300;
  const gap = 40;
  const height = top + keys.length * groupH + 44;
  const width = labelW + 2 * panelW + gap + 36;
  // Log axis from 1/8× to 16×.
  const minLog = Math.log2(1 / 8);
  const maxLog = Math.log2(16);
  const xOf = (panelX: number, v: number) => {
    const clamped = Math.min(Math.max(Math.log2(v), minLog), maxLog);
    return panelX + ((clamped - minLog) / (maxLog - minLog)) * panelW;
  };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">native compared with fastify, express, the limit and the bare limit (log scale)</text>`,
  );
  const panels = [
    { title: 'req/s: native ÷ other (more is better)', value: (r: Ratio) => r.rps },
    { title: 'CPU per request: other ÷ native (more is better)', value: (r: Ratio) => 1 / r.cpu },
  ];
  panels.forEach((panel, p) => {
    const panelX = labelW + p * (panelW + gap);
    parts.push(`<text x="${panelX + panelW / 2}" y="36" text-anchor="middle" font-weight="bold">${panel.title}</text>`);
    for (const tick of [0.125, 0.25, 0.5, 1, 2, 4, 8, 16]) {
      const x = xOf(panelX, tick).toFixed(1);
      const strong = tick === 1;
      parts.push(
        `<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${top + keys.length * groupH}" stroke="${strong ? '#000' : '#ddd'}" stroke-width="${strong ? 1.2 : 1}"/>`,
        `<text x="${x}" y="${top + keys.length * groupH + 14}" text-anchor="middle" fill="#555">${tick < 1 ? `1/${1 / tick}` : tick}×</text>`,
      );
    }
    keys.forEach((key, g) => {
      OTHERS.forEach((other, o) => {
        const r = ratios.find((x) => label(x) === key && x.other === other.name);
        if (!r) return;
        const v = panel.value(r);
        if (!Number.isFinite(v)) return;
        const y = top + g * groupH + o * barH;
        const x1 = xOf(panelX, 1);
        const x2 = xOf(panelX, v);
        parts.push(
          `<rect x="${Math.min(x1, x2).toFixed(1)}" y="${y}" width="${Math.max(Math.abs(x2 - x1), 1).toFixed(1)}" height="${barH - 1}" fill="${other.color}"><title>${key} native/${other.name}: ${v.toFixed(2)}×</title></rect>`,
          `<text x="${(v >= 1 ? Math.max(x1, x2) + 3 : Math.min(x1, x2) - 3).toFixed(1)}" y="${y + barH - 1.5}" text-anchor="${v >= 1 ? 'start' : 'end'}" font-size="8" fill="#333">${v.toFixed(2)}</text>`,
        );
      });
    });
  });
  keys.forEach((key, g) => {
    parts.push(
      `<text x="${labelW - 8}" y="${top + g * groupH + (OTHERS.length * barH) / 2 + 4}" text-anchor="end">${escapeXml(key)}</text>`,
    );
  });
  const legendY = height - 12;
  OTHERS.forEach((other, o) => {
    const x = labelW + o * 150;
    parts.push(
      `<rect x="${x}" y="${legendY - 9}" width="10" height="10" fill="${other.color}"/>`,
      `<text x="${x + 14}" y="${legendY}">vs ${other.name}</text>`,
    );
  });
  parts.push(
    `<text x="${width - 8}" y="${legendY}" text-anchor="end" fill="#555">${escapeXml(
      `${results.date}, ${results.machine.cpus} cores (shared), median of ${results.timing.rounds ?? 1} rounds’ ratios`,
    )}</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Where a run's files go in `dir`: `<stem>.{json,md,svg}`, or `<stem>-2`, `-3`… when an earlier
 * run of the same day and set is there already (a run never overwrites another). */
export function freshBase(dir: string, stem: string): string {
  let base = path.join(dir, stem);
  for (let n = 2; existsSync(`${base}.json`); n += 1) base = path.join(dir, `${stem}-${n}`);
  return base;
}
