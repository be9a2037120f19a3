// S8: cold start straight, without Passenger: from spawning the process to its first answered
// GET /hello on its Unix socket, for native, fastify and express (`node app.js`) and a bare
// node:http server (bare-node.cjs), the floor. The servers take turns, run after run, so that
// the machine's background load hits them alike; the report keeps the median of each. The
// process's CPU time up to that answer (/proc, 10 ms ticks) is kept too: on a busy machine it
// is the steadier figure.
//
// S8 runs under this Node and under Node 22 and 24 (the official builds from npm, as
// test/helpers/node-versions.ts fetches them; what hosts offer now), every server and the bare
// one under the same Node, each Node's turn interleaved with the others'. Where the Node has a
// module compile cache (22.1 and later: app.js keeps it in node_modules/.cache/handoff-compile),
// each app server is started once, unmeasured, before the runs, so that every measured start finds
// the cache as a host's second start does (`warm`); and each also starts with an empty cache of its
// own (`cold`, the first start after a deploy: NODE_COMPILE_CACHE names a fresh folder, which
// app.js's enableCompileCache then keeps). The bare server uses no compile cache (`none`), nor
// does any server under a Node without one.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { obtainNode } from '../../test/helpers/node-versions';
import { sampleProcess } from './proc';
import { REPO_ROOT } from './servers';

/** The servers S8 starts. */
export const COLD_SERVERS = ['native', 'fastify', 'express', 'bare-node'] as const;
type ColdServer = (typeof COLD_SERVERS)[number];

/** The Node majors S8 runs under besides this one. */
export const COLD_NODE_MAJORS = [22, 24] as const;

/** The state of Node's module compile cache at a start: filled by an earlier start of the same
 * server under the same Node (`warm`), empty (`cold`), or not used (`none`). */
export type CompileCacheState = 'warm' | 'cold' | 'none';

/** One direct cold start. */
export interface DirectColdStart {
  readonly server: string;
  /** From spawn() to the first 200 answer to GET /hello, in milliseconds. */
  readonly spawnToFirstResponseMs: number;
  /** The process's CPU time (user + system) by then, in milliseconds. */
  readonly cpuMs: number;
  /** The Node version that ran it (absent in runs from before S8 ran under several: the machine's). */
  readonly node?: string;
  /** The compile cache at this start (absent in runs from before S8 said). */
  readonly compileCache?: CompileCacheState;
}

/** A Node to run S8 under. */
interface ColdNode {
  readonly version: string;
  readonly binary: string;
}

const GIVE_UP_MS = 20_000;

/** Whether Node `version` has `module.enableCompileCache` (22.1 and later), as app.js asks. */
export function hasCompileCache(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 1);
}

/** This Node and those of COLD_NODE_MAJORS that can be had; a note for each that cannot. */
function coldNodes(): { nodes: ColdNode[]; notes: string[] } {
  const nodes: ColdNode[] = [{ version: process.versions.node, binary: process.execPath }];
  const notes: string[] = [];
  for (const major of COLD_NODE_MAJORS) {
    const node = obtainNode(major);
    if (!node.ok) notes.push(`S8 did not run under Node ${major}: ${node.reason}`);
    else if (!nodes.some((n) => n.version === node.version)) nodes.push({ version: node.version, binary: node.node });
  }
  return { nodes, notes };
}

/**
 * Starts each server `runs` times under each Node (in turns) and measures each start; returns
 * the starts and the lines for the report's notes (a Node that could not be had, and why).
 */
export async function runColdDirect(
  dir: string,
  runs: number,
  onCold: (cold: DirectColdStart) => void,
): Promise<{ starts: DirectColdStart[]; notes: string[] }> {
  const { nodes, notes } = coldNodes();
  // One start of each, not counted: the compile cache filled where there is one, and the Node
  // binary and the app's files in the page cache, as on a host that ran the app before.
  for (const node of nodes) {
    for (const server of COLD_SERVERS) await coldStart(dir, node, server, 'warm');
  }
  const all: DirectColdStart[] = [];
  for (let run = 0; run < runs; run += 1) {
    for (const node of nodes) {
      const cache = hasCompileCache(node.version);
      for (const server of COLD_SERVERS) {
        const starts = [await coldStart(dir, node, server, 'warm')];
        if (cache && server !== 'bare-node') starts.push(await coldStart(dir, node, server, 'cold'));
        for (const cold of starts) {
          all.push(cold);
          onCold(cold);
        }
      }
    }
  }
  return { starts: all, notes };
}

async function coldStart(
  dir: string,
  node: ColdNode,
  server: ColdServer,
  wanted: 'warm' | 'cold',
): Promise<DirectColdStart> {
  const socketPath = path.join(dir, `cold-${server}.sock`);
  rmSync(socketPath, { force: true });
  const command =
    server === 'bare-node' ? [path.join(__dirname, 'bare-node.cjs'), socketPath] : [path.join(REPO_ROOT, 'app.js')];
  const compileCache: CompileCacheState = server === 'bare-node' || !hasCompileCache(node.version) ? 'none' : wanted;
  // An empty cache of this start's own: the app's usual one stays warm for the next starts.
  const emptyCache = compileCache === 'cold' ? mkdtempSync(path.join(dir, 'compile-cache-')) : undefined;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    ...(server === 'bare-node' ? {} : { HANDOFF_BACKEND: server, HANDOFF_SOCKET: socketPath }),
    ...(emptyCache === undefined ? {} : { NODE_COMPILE_CACHE: emptyCache }),
  };
  const started = performance.now();
  const child: ChildProcess = spawn(node.binary, command, { cwd: REPO_ROOT, env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${server} exited before answering`);
      if (performance.now() - started > GIVE_UP_MS) throw new Error(`${server} did not answer within ${GIVE_UP_MS} ms`);
      const status = await getHello(socketPath).catch(() => 0);
      if (status === 200) {
        const took = performance.now() - started;
        const cpuMs = sampleProcess(child.pid ?? 0).cpuMs;
        return { server, spawnToFirstResponseMs: took, cpuMs, node: node.version, compileCache };
      }
      // Connecting fails at once while nothing listens: wait a millisecond, not a busy loop.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    if (emptyCache !== undefined) rmSync(emptyCache, { recursive: true, force: true });
  }
}

function getHello(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/hello', agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
