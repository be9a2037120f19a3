// The thread budget under a process limit, as on a CloudLinux account (NPROC counts the user's
// processes and threads): run the app as an unprivileged user under `prlimit --nproc`. With room
// for native's workers and blocking pool (HANDOFF_THREADS + HANDOFF_BLOCKING_THREADS) it serves
// natively; without, it says so in one line and serves with the fallback. No panic, no abort, no
// hang.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { requireBackend } from '../helpers/backends';
import { send, waitUntilServing } from '../helpers/http';

const USER = 'handoff-nproc';
const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** The test user's uid and gid, creating the user if needed (root only). */
function testUser(): { uid: number; gid: number } | string {
  if (process.getuid?.() !== 0) return 'needs root, to run the app as another user under a process limit';
  if (spawnSync('id', ['-u', USER]).status !== 0) {
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    if (made.status !== 0) return `cannot create the user ${USER}: ${made.stderr}`;
  }
  const id = (flag: string) => Number(spawnSync('id', [flag, USER], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs app.js as the test user, optionally under `prlimit --nproc=<limit>`; resolves once serving. */
async function launch(
  user: { uid: number; gid: number },
  env: Record<string, string>,
  nproc?: number,
): Promise<{ app: AppProcess; socketPath: string; threads: () => number; backend: () => Promise<string> }> {
  const dir = tempDir();
  chownSync(dir, user.uid, user.gid);
  const socketPath = path.join(dir, 'app.sock');
  const setpriv = ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'];
  const limit = nproc === undefined ? [] : ['prlimit', `--nproc=${nproc}`];
  const app = startApp({ HANDOFF_SOCKET: socketPath, ...env }, [...setpriv, ...limit, process.execPath, 'app.js']);
  running.push(app);
  await app.waitForLine(/^\[main\] serving with /);
  await waitUntilServing({ socketPath });
  return {
    app,
    socketPath,
    threads: () => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${app.child.pid}/status`, 'utf8'))?.[1]),
    backend: async () => ((await send({ socketPath }, { path: '/health' })).json() as { backend: string }).backend,
  };
}

async function stop(app: AppProcess): Promise<void> {
  app.kill('SIGTERM');
  assert.deepEqual(await app.exited, { code: 0, signal: null });
}

describe('under a process limit (NPROC)', () => {
  it('serves natively with room for its workers, and falls back in one line without', async (t) => {
    if (!requireBackend(t, 'native')) return;
    const user = testUser();
    if (typeof user === 'string') {
      t.skip(user);
      return;
    }
    // What each backend needs, measured without a limit.
    const fallback = await launch(user, { HANDOFF_BACKEND: 'fastify' });
    const fallbackThreads = fallback.threads();
    await stop(fallback.app);
    const native = await launch(user, { HANDOFF_BACKEND: 'native', HANDOFF_THREADS: '2' });
    const nativeThreads = native.threads();
    await stop(native.app);
    assert.ok(nativeThreads >= fallbackThreads + 2, `native ${nativeThreads} vs fallback ${fallbackThreads} threads`);

    // Just above what the native process needs: native.
    const roomy = await launch(user, { HANDOFF_THREADS: '2' }, nativeThreads + 1);
    assert.equal(await roomy.backend(), 'native');
    assert.ok(!roomy.app.lines().some((l) => l.startsWith('[native] not loaded')));
    await stop(roomy.app);

    // Room for Node's own threads but not for two workers: one line, then the fallback serves.
    const tight = await launch(user, { HANDOFF_THREADS: '2' }, fallbackThreads + 1);
    assert.equal(await tight.backend(), 'fastify');
    const notices = tight.app.lines().filter((l) => l.startsWith('[native]'));
    assert.deepEqual(notices.length, 1, notices.join('\n'));
    assert.match(
      notices[0] ?? '',
      /^\[native\] not loaded, serving with fastify instead: cannot start the native server: cannot start 2 worker threads: Resource temporarily unavailable/,
    );
    assert.equal(tight.threads(), fallbackThreads, 'no thread left behind by the failed start');
    await stop(tight.app);

    // The blocking pool counts too, though tokio starts its threads only when a task needs one:
    // room for 2 workers and 1 blocking thread is not room for 2 and 3.
    const blocking = { HANDOFF_THREADS: '2', HANDOFF_BLOCKING_THREADS: '3' };
    const short = await launch(user, blocking, nativeThreads + 1);
    assert.equal(await short.backend(), 'fastify');
    const why = short.app.lines().filter((l) => l.startsWith('[native]'));
    assert.equal(why.length, 1, why.join('\n'));
    assert.match(
      why[0] ?? '',
      /^\[native\] not loaded, serving with fastify instead: cannot start the native server: /,
    );
    assert.match(
      why[0] ?? '',
      /Resource temporarily unavailable.*3 blocking|3 blocking.*Resource temporarily unavailable/,
    );
    await stop(short.app);
    const enough = await launch(user, blocking, nativeThreads + 3);
    assert.equal(await enough.backend(), 'native', 'two more slots are room for the two more blocking threads');
    await stop(enough.app);
  });

  it('HANDOFF_BACKEND=native under the same limit exits 1 with the cause instead of hanging', async (t) => {
    if (!requireBackend(t, 'native')) return;
    const user = testUser();
    if (typeof user === 'string') {
      t.skip(user);
      return;
    }
    const dir = tempDir();
    chownSync(dir, user.uid, user.gid);
    const setpriv = ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'];
    // HANDOFF_THREADS=64 cannot fit under a limit of 20 whatever Node itself uses.
    const app = startApp({ HANDOFF_BACKEND: 'native', HANDOFF_THREADS: '64', HANDOFF_SOCKET: path.join(dir, 's') }, [
      ...setpriv,
      'prlimit',
      '--nproc=20',
      process.execPath,
      'app.js',
    ]);
    running.push(app);
    assert.equal((await app.exited).code, 1);
    assert.ok(
      app
        .lines()
        .some((l) => /addon did not load: cannot start the native server: cannot start 64 worker threads/.test(l)),
      app.lines().join('\n'),
    );
  });
});
