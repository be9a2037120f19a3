// Starting the real app: the README's `npm start`, each HANDOFF_BACKEND, the fallback when the
// addon cannot load (and the one line that says why), bad configuration, and socket safety.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, platformTriple } from '../../src/config';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, nativeMissing, requireBackend } from '../helpers/backends';
import { send, waitUntilServing } from '../helpers/http';

const REQUEST_LINE = /^\[(native|fastify|express)\] (\S+) ([A-Z]+) (\S+) (\d{3}) (\d+\.\d{2})ms$/;

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

function launch(env: Record<string, string>, command?: string[]): AppProcess {
  const app = startApp(env, command);
  running.push(app);
  return app;
}

async function stopAndExpectClean(app: AppProcess): Promise<void> {
  app.kill('SIGTERM');
  assert.deepEqual(await app.exited, { code: 0, signal: null });
}

describe('npm start', () => {
  it('serves on 127.0.0.1:3000 with the native backend', async (t) => {
    if (!requireBackend(t, 'native')) return;
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer().once('error', () => resolve(false));
      probe.listen(3000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    assert.ok(free, 'port 3000 is in use by another process; stop it to run this test');
    const app = launch({}, ['npm', 'start', '--silent']);
    await app.waitForLine(/^\[main\] serving with native on 127\.0\.0\.1:3000$/);
    const reply = await send({ host: '127.0.0.1', port: 3000 }, { path: '/health' });
    assert.equal(reply.status, 200);
    assert.equal((reply.json() as { backend: string }).backend, 'native');
    // Ctrl-C in a terminal signals npm and the app together.
    app.kill('SIGINT');
    await app.exited;
    assert.ok(app.lines().includes('[main] stopped'), app.lines().join('\n'));
    await assert.rejects(send({ host: '127.0.0.1', port: 3000 }, { path: '/health' }), /ECONNREFUSED/);
  });
});

describe('HANDOFF_BACKEND', () => {
  for (const backend of BACKENDS) {
    it(`=${backend} serves with ${backend} on HANDOFF_SOCKET and logs each request`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const socketPath = path.join(tempDir(), 'app.sock');
      const app = launch({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath });
      await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on ${socketPath}$`));
      const health = await send({ socketPath }, { path: '/health' });
      assert.equal((health.json() as { backend: string }).backend, backend);
      await send({ socketPath }, { path: '/nope?secret=1' });
      const line = await app.waitForLine(/ GET \/nope /);
      const match = REQUEST_LINE.exec(line);
      assert.ok(match, `request line has the common shape: ${line}`);
      assert.deepEqual(match.slice(1, 6), [backend, '-', 'GET', '/nope', '404'], 'the query is not logged');
      await stopAndExpectClean(app);
      assert.throws(() => readFileSync(socketPath), /ENOENT/, 'the socket file is removed on exit');
    });
  }

  it('=native runs HANDOFF_THREADS worker threads in the app process, blocking ones only when needed', async (t) => {
    if (!requireBackend(t, 'native')) return;
    const socketPath = path.join(tempDir(), 'app.sock');
    // tokio names its blocking threads as its workers, and starts them only when a task needs
    // one: nothing does here, so with a pool of up to 4 exactly the 3 workers run.
    const app = launch({
      HANDOFF_BACKEND: 'native',
      HANDOFF_SOCKET: socketPath,
      HANDOFF_THREADS: '3',
      HANDOFF_BLOCKING_THREADS: '4',
    });
    await app.waitForLine(/^\[main\] serving with native/);
    await waitUntilServing({ socketPath });
    const workers = () =>
      readdirSync(`/proc/${app.child.pid}/task`).filter(
        (task) => readFileSync(`/proc/${app.child.pid}/task/${task}/comm`, 'utf8').trim() === 'handoff-worker',
      ).length;
    // A thread takes its name itself, a moment after it starts: wait for the names, then count.
    for (let tries = 0; tries < 100 && workers() < 3; tries++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(workers(), 3);
    for (let i = 0; i < 20; i++) await send({ socketPath }, { method: 'POST', path: '/__test/upload', body: 'x' });
    assert.equal(workers(), 3, 'serving needs no blocking thread');
    await stopAndExpectClean(app);
  });

  it('=native fails to start when the addon cannot load, and says why', async () => {
    const app = launch({ HANDOFF_BACKEND: 'native', HANDOFF_NATIVE_PATH: '/nonexistent/handoff.node', PORT: '0' });
    const exit = await app.exited;
    assert.equal(exit.code, 1);
    assert.ok(
      app.lines().some((l) => l.includes('HANDOFF_BACKEND=native but the addon did not load: no native binary at')),
      app.lines().join('\n'),
    );
  });
});

describe('fallback when the addon cannot load', () => {
  const corrupt = (): string => {
    const file = path.join(tempDir(), 'handoff.linux-x64-gnu.node');
    writeFileSync(file, 'this is not a shared object');
    return file;
  };
  const wrongArchitecture = (t: import('node:test').TestContext): string | undefined => {
    const missing = nativeMissing();
    if (missing !== undefined) {
      t.skip(missing);
      return undefined;
    }
    const file = path.join(tempDir(), 'handoff.linux-arm64-gnu.node');
    copyFileSync(loadConfig({}).nativePath, file);
    const bytes = readFileSync(file);
    bytes.writeUInt16LE(0xb7, 18); // ELF e_machine: AArch64
    writeFileSync(file, bytes);
    return file;
  };
  // An upload holding addons for other machines only (say, an old x64-only bundle on an arm64 host).
  const otherMachinesOnly = (): string => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'handoff.linux-riscv64-gnu.node'), 'another machine');
    return path.join(dir, `handoff.${platformTriple()}.node`);
  };
  const machine = platformTriple().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: [string, (t: import('node:test').TestContext) => string | undefined, RegExp][] = [
    ['a missing binary', () => '/nonexistent/handoff.node', /no native binary at \/nonexistent\/handoff\.node/],
    [
      'no binary for this machine, only for others',
      otherMachinesOnly,
      new RegExp(
        `no native binary at \\S*handoff\\.${machine}\\.node for this machine \\(${machine}\\); next to it only handoff\\.linux-riscv64-gnu\\.node`,
      ),
    ],
    ['a corrupt binary', corrupt, /cannot load .*: .*(invalid ELF header|file too short)/],
    [
      'a binary for another architecture',
      wrongArchitecture,
      new RegExp(
        `cannot load .*handoff\\.linux-arm64-gnu\\.node: .*\\(a binary for arm64; this machine is ${machine}\\)`,
      ),
    ],
  ];
  for (const [what, makeFile, reason] of cases) {
    it(`serves with fastify after ${what}, logging the cause in one line`, async (t) => {
      const file = makeFile(t);
      if (file === undefined) return;
      const socketPath = path.join(tempDir(), 'app.sock');
      const app = launch({ HANDOFF_NATIVE_PATH: file, HANDOFF_SOCKET: socketPath });
      await app.waitForLine(/^\[main\] serving with fastify/);
      const notices = app.lines().filter((l) => l.startsWith('[native]'));
      assert.equal(notices.length, 1, `one [native] line: ${notices.join('\n')}`);
      assert.match(notices[0] ?? '', /^\[native\] not loaded, serving with fastify instead: /);
      assert.match(notices[0] ?? '', reason);
      const health = await send({ socketPath }, { path: '/health' });
      assert.equal((health.json() as { backend: string }).backend, 'fastify');
      await stopAndExpectClean(app);
    });
  }
});

describe('configuration errors', () => {
  const cases: [Record<string, string>, string][] = [
    [{ HANDOFF_THREADS: 'many' }, 'HANDOFF_THREADS must be a whole number from 1 to 64 (got "many").'],
    [{ HANDOFF_BLOCKING_THREADS: '0' }, 'HANDOFF_BLOCKING_THREADS must be a whole number from 1 to 64 (got "0").'],
    [{ HANDOFF_BACKEND: 'rust' }, 'HANDOFF_BACKEND must be one of auto, native, fastify, express (got "rust").'],
    [{ PORT: '70000' }, 'PORT must be a whole number from 0 to 65535 (got "70000").'],
    [{ HANDOFF_BASE_PATH: 'api' }, 'HANDOFF_BASE_PATH must be a URL path such as /api'],
    [{ HANDOFF_BASE_PATH: '/:v1' }, 'HANDOFF_BASE_PATH must be a URL path such as /api'],
    [{ HANDOFF_SOCKET_MODE: '999' }, 'HANDOFF_SOCKET_MODE must be octal permissions such as 660 or 0600 (got "999").'],
    [{ HANDOFF_TEST_ROUTES: 'yes' }, 'HANDOFF_TEST_ROUTES must be 1 or 0 (got "yes").'],
    [
      { HANDOFF_HEADER_TIMEOUT_MS: '5' },
      'HANDOFF_HEADER_TIMEOUT_MS must be a whole number from 100 to 600000 (got "5").',
    ],
    [{ HANDOFF_BASE_PATH: '/api/*rest' }, 'HANDOFF_BASE_PATH must be a URL path such as /api'],
  ];
  for (const [env, message] of cases) {
    it(`${Object.keys(env)[0]}=${Object.values(env)[0]} exits 1 naming the variable`, async () => {
      const app = launch(env);
      assert.equal((await app.exited).code, 1);
      assert.ok(
        app.lines().some((l) => l.startsWith(`[config] ${message}`)),
        app.lines().join('\n'),
      );
    });
  }
});

describe('HANDOFF_SOCKET', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: HANDOFF_SOCKET_MODE sets the socket file's permissions`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const socketPath = path.join(tempDir(), 'app.sock');
      const app = launch({ HANDOFF_BACKEND: backend, HANDOFF_SOCKET: socketPath, HANDOFF_SOCKET_MODE: '0600' });
      await app.waitForLine(/^\[main\] serving with /);
      assert.equal(statSync(socketPath).mode & 0o777, 0o600);
      await stopAndExpectClean(app);
    });
  }

  it('replaces a stale socket file left by a process that died', async () => {
    const socketPath = path.join(tempDir(), 'app.sock');
    const squatter = launch({}, [
      process.execPath,
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.error('up'))`,
    ]);
    await squatter.waitForLine(/^up$/);
    squatter.kill('SIGKILL');
    await squatter.exited;
    const app = launch({ HANDOFF_BACKEND: 'fastify', HANDOFF_SOCKET: socketPath });
    await app.waitForLine(/^\[main\] serving with fastify/);
    assert.equal((await waitUntilServing({ socketPath })).status, 200);
    await stopAndExpectClean(app);
  });

  it('refuses a path where another process is listening, and leaves it alone', async () => {
    const socketPath = path.join(tempDir(), 'app.sock');
    const owner = createServer((socket) => {
      socket.on('error', () => {}); // the app's probe hangs up at once
      socket.end('owner\n');
    });
    await new Promise<void>((resolve) => owner.listen(socketPath, resolve));
    try {
      const app = launch({ HANDOFF_SOCKET: socketPath });
      assert.equal((await app.exited).code, 1);
      assert.ok(
        app.lines().some((l) => l.includes(`another process is listening on ${socketPath}`)),
        app.lines().join('\n'),
      );
      const still = await new Promise<string>((resolve, reject) => {
        const c = connect(socketPath);
        c.on('data', (d: Buffer) => resolve(d.toString()));
        c.on('error', reject);
      });
      assert.equal(still, 'owner\n', 'the owner still has its socket');
    } finally {
      owner.close();
    }
  });

  it('refuses a path that is not a socket', async () => {
    const file = path.join(tempDir(), 'not-a-socket');
    writeFileSync(file, 'data');
    const app = launch({ HANDOFF_SOCKET: file });
    assert.equal((await app.exited).code, 1);
    assert.ok(
      app.lines().some((l) => l.includes('exists and is not a socket')),
      app.lines().join('\n'),
    );
    assert.equal(readFileSync(file, 'utf8'), 'data');
    rmSync(file);
  });
});
