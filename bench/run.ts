// `npm run bench`: native, fastify, express, the limit binaries, side by side in one run, on
// loopback only; S9 puts nginx in front and compares SCGI with HTTP to the same app
// (bench/lib/front.ts). About 8 minutes; `--quick` under 2 minutes (for checking that it works,
// not for figures). `--only S1,S4` runs some scenarios. Writes bench/results/<date>-<set>.{json,md,svg};
// `--report <file>.json` writes the .md and .svg of an earlier run again.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOTES_SCENARIOS, runNotes } from './examples/notes'; // [examples]
import { type DirectColdStart, runColdDirect } from './lib/cold';
import { type AfterLoad, runDirect, runPinned, type Timing, writeBodies } from './lib/direct';
import { bestFront, type FrontRecord, runFront } from './lib/front';
import { ensureOha, OHA } from './lib/load';
import { bestRuns, type RunRecord } from './lib/measure';
import { type ColdStart, runPassenger } from './lib/passenger';
import { freshBase, type Results, toMarkdown, toSvg } from './lib/report';
import { buildLimit, REPO_ROOT } from './lib/servers';
import { computeRatios, judgeTargets } from './lib/targets';

const ALL = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'pinned'];
/** The scenarios that start every server straight on its socket, the limit binaries with them. */
const DIRECT = ['S1', 'S2', 'S3', 'S4', 'S7'];
ALL.push(NOTES_SCENARIOS); // [examples]

interface Options {
  readonly quick: boolean;
  readonly only: ReadonlySet<string>;
}

function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let only = new Set(ALL);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--only' && argv[i + 1] !== undefined) {
      only = new Set((argv[i + 1] ?? '').split(',').map((s) => s.trim()));
      i += 1;
    } else {
      say(`unknown argument ${arg}; use --quick and/or --only ${ALL.join(',')}`);
      process.exit(2);
    }
  }
  return { quick, only };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--report' && process.argv[3] !== undefined) {
    rewriteReport(path.resolve(process.argv[3]));
    return;
  }
  // The scenarios measure the demo's routes (GET /hello, POST /echo): without them every run
  // would time 404s.
  const gone = ['src/examples', 'native/src/examples'].filter((dir) => !existsSync(path.join(REPO_ROOT, dir)));
  if (gone.length > 0) {
    say(
      `the benchmark measures the example routes GET /hello and POST /echo, which are gone here ` +
        `(no ${gone.join(', no ')}: \`npm run examples:remove\` removed them); it would only time 404s. ` +
        'Run it on a checkout that still has the demo, or point its scenarios (bench/lib/) at routes of your own.',
    );
    process.exit(2);
  }
  const options = parseArgs(process.argv.slice(2));
  ensureFreshDist();
  const timing: Timing = options.quick
    ? { seconds: 1, warmupSeconds: 0.3, rounds: 1 }
    : { seconds: 4, warmupSeconds: 1, rounds: 2 };
  const coldStarts = options.quick ? 1 : 5;
  const started = Date.now();
  const direct = DIRECT.some((id) => options.only.has(id));
  if (direct || options.only.has('pinned')) {
    say('building the limit binaries (cargo, release)');
    buildLimit();
  }
  // oha loads every scenario but S8 (cold starts).
  if ([...options.only].some((id) => id !== 'S8')) ensureOha();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-'));
  const runs: RunRecord[] = [];
  const colds: ColdStart[] = [];
  let coldDirect: DirectColdStart[] = [];
  const notes: string[] = [];
  let afterLoad: AfterLoad[] = [];
  const front: FrontRecord[] = [];
  const onRecord = (record: RunRecord) => {
    runs.push(record);
    say(describeRun(record));
  };
  try {
    if (direct) afterLoad = await runDirect(dir, timing, options.only, onRecord);
    if (options.only.has('pinned')) await runPinned(dir, timing, options.only, onRecord);
    if (options.only.has('S8')) {
      const s8 = await runColdDirect(dir, options.quick ? 2 : 7, (cold) => {
        say(
          `S8 Node ${cold.node} ${cold.server} (compile cache ${cold.compileCache}): ` +
            `spawn to first response ${cold.spawnToFirstResponseMs.toFixed(0)} ms`,
        );
      });
      coldDirect = s8.starts;
      notes.push(...s8.notes);
    }
    if (options.only.has('S9')) {
      notes.push(
        ...(await runFront(dir, timing, (record) => {
          front.push(record);
          say(`${describeRun(record)}; nginx ${record.nginxCpuMsPer1000.toFixed(1)} CPU ms/1000`);
        })),
      );
    }
    if (options.only.has(NOTES_SCENARIOS)) notes.push(...(await runNotes(dir, timing, onRecord))); // [examples]
    const { blob } = writeBodies(dir);
    const passenger = await runPassenger(timing, coldStarts, blob, options.only, onRecord, (cold) => {
      colds.push(cold);
      say(`S6 ${cold.server}: spawn to first response ${cold.spawnToFirstResponseMs.toFixed(0)} ms`);
    });
    if (passenger !== undefined && 'skipped' in passenger) notes.push(`S5 and S6 were not run: ${passenger.skipped}`);
    else if (passenger?.via === 'apache') {
      notes.push(
        `S5 and S6 ran through Apache 2.4 + mod_passenger (one app process, PassengerBufferUpload on) ` +
          `under this Node (${process.versions.node}).`,
      );
    } else if (passenger !== undefined) {
      notes.push(
        `S5 and S6 ran through Passenger Standalone (builtin engine, one app process) under this Node ` +
          `(${process.versions.node}): Apache + mod_passenger could not be used here.`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!options.only.has('S7')) afterLoad = [];
  if (timing.rounds > 1) {
    notes.push(
      `Each scenario ran ${timing.rounds} times per server, interleaved; the tables show the run with the most ` +
        'req/s (the least disturbed by the rest of the machine); each ratio is the median of the rounds’ ratios ' +
        '(native and the other measured back to back). Every run is in the JSON (`allRuns`).',
    );
  }
  const everyRun = [...runs, ...front];
  const saturated = everyRun.filter((r) => r.generatorSaturated).length;
  if (saturated > 0) notes.push(`The generator used ≥ 0.9 of a core in ${saturated} of ${everyRun.length} runs (⚠).`);

  const date = new Date().toISOString().slice(0, 10);
  const subset = ALL.every((id) => options.only.has(id)) ? '' : `-${[...options.only].join('-')}`;
  const set = `${options.quick ? 'quick' : 'full'}${subset}`;
  const results: Results = {
    date,
    set,
    machine: describeMachine(),
    timing: { ...timing, coldStarts, totalSeconds: Math.round((Date.now() - started) / 1000) },
    runs: bestRuns(runs),
    allRuns: everyRun,
    afterLoad,
    coldStarts: colds,
    coldStartsDirect: coldDirect,
    front: bestFront(front),
    notes,
    ratios: computeRatios(runs),
    targets: judgeTargets(runs, afterLoad, colds, coldDirect, process.versions.node),
  };
  const out = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const base = freshBase(out, `${date}-${set}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeReport(base, results);
  say(`wrote ${path.relative(REPO_ROOT, base)}.{json,md,svg} in ${results.timing.totalSeconds} s`);
}

/** Every scenario starts `node app.js`: compiles dist/ first when it is older than src/ or left
 * unbundled (as scripts/test.cjs does), so that no figure is of code that is not there any more. */
function ensureFreshDist(): void {
  const project = require('../scripts/lib/project.cjs') as {
    staleTypeScript(): string | undefined;
    npmRun(script: string): number;
  };
  const stale = project.staleTypeScript();
  if (stale === undefined) return;
  say(`compiling TypeScript first: ${stale}`);
  if (project.npmRun('build:ts') !== 0) {
    say('TypeScript did not compile; see the errors above.');
    process.exit(1);
  }
}

function writeReport(base: string, results: Results): void {
  const markdown = toMarkdown(results);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.svg`, toSvg(results));
  process.stdout.write(`\n${markdown}\n`);
}

/** `--report <file>.json`: writes the table and chart of an earlier run again (after a change to them). */
function rewriteReport(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Results;
  // The rounds of the scenarios the tables show (allRuns also holds the front servers' runs).
  const shown = new Set(saved.runs.map((r) => `${r.scenario}|${r.via}`));
  const rounds = (saved.allRuns ?? saved.runs).filter((r) => shown.has(`${r.scenario}|${r.via}`));
  const results: Results = {
    ...saved,
    ratios: computeRatios(rounds),
    targets: judgeTargets(
      rounds,
      saved.afterLoad,
      saved.coldStarts,
      saved.coldStartsDirect ?? [],
      String(saved.machine.node ?? ''),
    ),
  };
  writeReport(file.replace(/\.json$/, ''), results);
}

function describeRun(r: RunRecord): string {
  const where = r.pinned ? ' (1 core)' : r.via.startsWith('nginx-') ? ` (${r.via})` : '';
  const warn = r.generatorSaturated ? ' [generator saturated]' : '';
  const failed = r.failed > 0 ? ` FAILED ${r.failed}: ${JSON.stringify(r.errors)}` : '';
  return (
    `${r.scenario}${where} ${r.server}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, ` +
    `p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuMsPer1000.toFixed(1)} CPU ms/1000, ${r.rssMiB.toFixed(1)} MiB, ` +
    `${r.threads} threads; generator ${r.generatorCores.toFixed(2)} cores, machine ${(r.machineBusy * 100).toFixed(0)}% busy` +
    `${warn}${failed}`
  );
}

function describeMachine(): Record<string, string | number> {
  const cpus = os.cpus();
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
    } catch {
      return 'unknown';
    }
  };
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.versions.node,
    rustc: version('rustc', ['--version']),
    generator: version(OHA, ['--version']),
  };
}

function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

main().catch((error: unknown) => {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
