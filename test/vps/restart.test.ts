// Restarts with the listening socket held, as systemd holds a .socket unit's: a holder
// (test/helpers/socket-holder.sh under systemd-socket-activate) keeps the socket and runs the
// app, for every backend:
// - restarted 5 times under load (SIGTERM, the drain, exit, 1 s as RestartSec=1, the next
//   process): no request fails, none is refused; one sent while no process accepts waits in the
//   socket's queue and is answered by the next process;
// - two processes on the one socket (passenger-handoff@.service's model): both serve, and
//   killing one (SIGKILL) loses only the requests it had in flight.
// The figures go to the test's diagnostics (docs/vps.md records them).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, REPO_ROOT, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';
import { type Reply, send, waitUntilServing } from '../helpers/http';
import { type LoadFigures, startLoad } from '../helpers/load';
import { sleep } from '../helpers/util';
import { socketActivationUnavailable, startActivated } from '../helpers/vps';

const HOLDER = path.join(REPO_ROOT, 'test', 'helpers', 'socket-holder.sh');
const CONCURRENCY = 8;
const RESTARTS = 5;
const UPLOAD = 'x'.repeat(2048);

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** The holder with `slots` processes of the app on a Unix socket named http. */
async function startHeld(backend: string, slots: number, env: Record<string, string> = {}) {
  const dir = tempDir();
  const socketPath = path.join(dir, 'http.sock');
  const holder = startActivated(
    { HANDOFF_BACKEND: backend, HOLDER_DIR: dir, SLOTS: String(slots), ...env },
    { listen: [socketPath], names: ['http'], command: ['sh', HOLDER, process.execPath, 'app.js'] },
  );
  running.push(holder);
  await waitUntilServing({ socketPath });
  const slot = (n: number) => {
    const file = path.join(dir, `slot-${n}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  };
  const stopRestarting = () => writeFileSync(path.join(dir, 'stop'), '');
  return { holder, socketPath, slot, stopRestarting };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (at most 400 × 50 ms) until `condition` holds. */
async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(50);
  }
  throw new Error(`gave up waiting until ${what}`);
}

/** Half GET /health, half POST /__test/upload. */
const mixed = (i: number) =>
  i % 2 === 0
    ? { request: { path: '/health' }, status: 200 }
    : { request: { method: 'POST', path: '/__test/upload', body: UPLOAD }, status: 200 };

const describeFigures = (f: LoadFigures) =>
  `${f.sent} sent, ${f.ok} ok, ${f.failed} failed, ${f.refused} refused, longest ${Math.round(f.longestMs)} ms${
    f.samples.length > 0 ? `; ${f.samples.join('; ')}` : ''
  }`;

describe('restart with the socket held', { skip: socketActivationUnavailable() ?? false }, () => {
  for (const backend of BACKENDS) {
    it(`${backend}: ${RESTARTS} restarts under load, 0 failed, 0 refused; a request waits in the queue for the next process`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const held = await startHeld(backend, 1, { RESTART_SEC: '1' });
      const load = startLoad({ socketPath: held.socketPath }, CONCURRENCY, mixed);
      const queued: Promise<Reply>[] = [];
      const pids = [held.slot(1)];
      for (let restart = 1; restart <= RESTARTS; restart++) {
        const old = held.slot(1);
        const before = load.figures.sent;
        process.kill(old, 'SIGTERM');
        await until(`process ${old} exits`, () => !alive(old));
        // Nobody accepts now (the next process starts after RestartSec): this one waits.
        queued.push(send({ socketPath: held.socketPath }, { path: '/health', timeoutMs: 30_000 }));
        await until('the next process is up', () => held.slot(1) !== old);
        pids.push(held.slot(1));
        await until('requests go on', () => load.figures.sent > before + 4 * CONCURRENCY);
      }
      const figures = await load.stop();
      t.diagnostic(`${backend}: ${describeFigures(figures)}`);
      assert.deepEqual(
        { failed: figures.failed, refused: figures.refused },
        { failed: 0, refused: 0 },
        describeFigures(figures),
      );
      assert.equal(figures.ok, figures.sent);
      for (const [i, reply] of (await Promise.all(queued)).entries()) {
        assert.equal(reply.status, 200);
        assert.equal((reply.json() as { pid: number }).pid, pids[i + 1], 'answered by the next process');
      }
      held.stopRestarting();
      process.kill(held.slot(1), 'SIGTERM');
      assert.equal((await held.holder.exited).code, 0);
    });

    it(`${backend}: two processes on one socket share the load; killing one loses only its in-flight requests`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const held = await startHeld(backend, 2);
      await until('both processes are up', () => held.slot(1) > 0 && held.slot(2) > 0);
      const [first, second] = [held.slot(1), held.slot(2)];
      await waitUntilServing({ socketPath: held.socketPath });
      let late = false;
      const servedBy = new Map<number, number>();
      const servedLate = new Set<number>();
      const load = startLoad(
        { socketPath: held.socketPath },
        CONCURRENCY,
        () => ({ request: { path: '/health' }, status: 200 }),
        200_000,
        (reply) => {
          const pid = (reply.json() as { pid: number }).pid;
          servedBy.set(pid, (servedBy.get(pid) ?? 0) + 1);
          if (late) servedLate.add(pid);
        },
      );
      await until(
        'both processes have served',
        () => (servedBy.get(first) ?? 0) > 0 && (servedBy.get(second) ?? 0) > 0,
      );
      await until('some load', () => load.figures.sent > 50 * CONCURRENCY);
      held.stopRestarting();
      const before = { ...load.figures };
      process.kill(first, 'SIGKILL');
      await until(`process ${first} is gone`, () => !alive(first));
      const atKill = load.figures.sent;
      // Answers the killed process wrote before it died may still be read just after: from here
      // on (every client has sent again since) none can be.
      await until('every client sent again', () => load.figures.sent > atKill + 2 * CONCURRENCY);
      late = true;
      await until('load goes on', () => load.figures.sent > atKill + 50 * CONCURRENCY);
      const figures = await load.stop();
      t.diagnostic(
        `${backend}: ${describeFigures(figures)}; before the kill ${before.sent} sent, served by the two: ${[...servedBy.values()].join(' and ')}`,
      );
      assert.equal(figures.refused, 0, describeFigures(figures));
      assert.ok(
        figures.failed <= CONCURRENCY,
        `at most the ${CONCURRENCY} requests in flight fail: ${describeFigures(figures)}`,
      );
      assert.ok(
        figures.samples.every((sample) => /ECONNRESET|EPIPE|socket hang up/.test(sample)),
        `only connections cut by the kill: ${figures.samples.join('; ')}`,
      );
      assert.deepEqual([...servedLate], [second], 'the survivor serves the rest');
      process.kill(second, 'SIGTERM');
      assert.equal((await held.holder.exited).code, 0);
    });
  }
});
