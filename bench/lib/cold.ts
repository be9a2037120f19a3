// S8: cold start straight, without Passenger: from spawning the process to its first answered
// GET /hello on its Unix socket, for native, fastify and express (`node app.js`) and a bare
// node:http server (bare-node.cjs), the floor. The servers take turns, run after run, so that
// the machine's background load hits them alike; the report keeps the median of each. The
// process's CPU time up to that answer (/proc, 10 ms ticks) is kept too: on a busy machine it
// is the steadier figure.
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sampleProcess } from './proc';
import { REPO_ROOT } from './servers';

/** The servers S8 starts. */
export const COLD_SERVERS = ['native', 'fastify', 'express', 'bare-node'] as const;

/** One direct cold start. */
export interface DirectColdStart {
  readonly server: string;
  /** From spawn() to the first 200 answer to GET /hello, in milliseconds. */
  readonly spawnToFirstResponseMs: number;
  /** The process's CPU time (user + system) by then, in milliseconds. */
  readonly cpuMs: number;
}

const GIVE_UP_MS = 20_000;

/** Starts each server `runs` times (in turns) and measures each start. */
export async function runColdDirect(
  dir: string,
  runs: number,
  onCold: (cold: DirectColdStart) => void,
): Promise<DirectColdStart[]> {
  const all: DirectColdStart[] = [];
  for (let run = 0; run < runs; run += 1) {
    for (const server of COLD_SERVERS) {
      const cold = await coldStart(dir, server);
      all.push(cold);
      onCold(cold);
    }
  }
  return all;
}

async function coldStart(dir: string, server: (typeof COLD_SERVERS)[number]): Promise<DirectColdStart> {
  const socketPath = path.join(dir, `cold-${server}.sock`);
  rmSync(socketPath, { force: true });
  const command =
    server === 'bare-node' ? [path.join(__dirname, 'bare-node.cjs'), socketPath] : [path.join(REPO_ROOT, 'app.js')];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    ...(server === 'bare-node' ? {} : { HANDOFF_BACKEND: server, HANDOFF_SOCKET: socketPath }),
  };
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, command, { cwd: REPO_ROOT, env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => {});
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${server} exited before answering`);
      if (performance.now() - started > GIVE_UP_MS) throw new Error(`${server} did not answer within ${GIVE_UP_MS} ms`);
      const status = await getHello(socketPath).catch(() => 0);
      if (status === 200) {
        const took = performance.now() - started;
        return { server, spawnToFirstResponseMs: took, cpuMs: sampleProcess(child.pid ?? 0).cpuMs };
      }
      // Connecting fails at once while nothing listens: wait a millisecond, not a busy loop.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
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
