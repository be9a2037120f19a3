// deploy/systemd: the units are checked by systemd's own tools (systemd-analyze verify, and
// security --offline with a score threshold), their numbers against the app's (TimeoutStopSec
// above the drain and the shutdown grace, TasksMax at least the thread budget), and the app runs
// with the unit's environment on a socket passed as the .socket unit passes it (named http),
// within TasksMax threads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { NODE_THREADS } from '../../src/doctor/checks';
import { type AppProcess, REPO_ROOT, tempDir } from '../helpers/app-process';
import { send, waitUntilServing } from '../helpers/http';
import { ensureTool, socketActivationUnavailable, startActivated } from '../helpers/vps';

const UNITS = path.join(REPO_ROOT, 'deploy', 'systemd');
const ANALYZE = '/usr/bin/systemd-analyze';
/** The exposure systemd-analyze security gives the service (1.1, "OK"), and a tenth above: a
 * loosened setting fails the test. In tenths, as --threshold takes it. */
const SECURITY_THRESHOLD = 12;

const read = (name: string) => readFileSync(path.join(UNITS, name), 'utf8');
const SERVICE = read('passenger-handoff.service');
const TEMPLATE = read('passenger-handoff@.service');
const SOCKET = read('passenger-handoff.socket');

/** The values of `key=` in a unit's text, in order. */
function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
}

/** `Environment=K=V` lines as an object. */
function environment(unit: string): Record<string, string> {
  return Object.fromEntries(
    values(unit, 'Environment').map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

/** The units in a temporary folder, with ExecStart's node replaced by this one when the unit's
 * /usr/bin/node is not there (verify checks that the program exists). */
function unitsDir(): string {
  const dir = tempDir();
  for (const name of ['passenger-handoff.socket', 'passenger-handoff.service', 'passenger-handoff@.service']) {
    const text = read(name);
    writeFileSync(
      path.join(dir, name),
      existsSync('/usr/bin/node') ? text : text.replaceAll('/usr/bin/node', process.execPath),
    );
  }
  return dir;
}

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

describe('deploy/systemd units', { skip: ensureTool(ANALYZE, 'systemd') ?? false }, () => {
  it('pass systemd-analyze verify without a warning', () => {
    const dir = unitsDir();
    // The template is checked through an instance, as systemd loads it.
    copyFileSync(path.join(dir, 'passenger-handoff@.service'), path.join(dir, 'passenger-handoff@2.service'));
    for (const unit of ['passenger-handoff.socket', 'passenger-handoff.service', 'passenger-handoff@2.service']) {
      const result = spawnSync(ANALYZE, ['verify', path.join(dir, unit)], { encoding: 'utf8', cwd: dir });
      assert.equal(result.status, 0, `${unit}: ${result.stderr}`);
      assert.equal(`${result.stdout}${result.stderr}`.trim(), '', `${unit} has warnings`);
    }
  });

  it(`score at most ${SECURITY_THRESHOLD / 10} in systemd-analyze security --offline`, () => {
    const dir = unitsDir();
    for (const unit of ['passenger-handoff.service', 'passenger-handoff@.service']) {
      const result = spawnSync(
        ANALYZE,
        ['security', '--offline=true', `--threshold=${SECURITY_THRESHOLD}`, '--no-pager', path.join(dir, unit)],
        { encoding: 'utf8', cwd: dir },
      );
      const score = /Overall exposure level for \S+: (\d+\.\d)/.exec(result.stdout)?.[1];
      assert.ok(score !== undefined, result.stdout + result.stderr);
      assert.equal(result.status, 0, `${unit} scores ${score}, above ${SECURITY_THRESHOLD / 10}`);
    }
  });

  it('keep MemoryDenyWriteExecute off, saying why', () => {
    assert.deepEqual(values(SERVICE, 'MemoryDenyWriteExecute'), ['no']);
    assert.match(SERVICE, /# MemoryDenyWriteExecute must stay off: V8 [^\n]*\n#[^\n]*\(nodejs\/node#55509\)/);
  });

  it('the template serves the same way as the service, on the same socket', () => {
    const service = (unit: string) => unit.slice(unit.indexOf('\n[Service]'));
    assert.equal(service(TEMPLATE), service(SERVICE));
    assert.deepEqual(values(SERVICE, 'Sockets'), ['passenger-handoff.socket']);
    assert.deepEqual(values(SOCKET, 'FileDescriptorName'), ['http']);
    assert.deepEqual(values(SERVICE, 'Restart'), ['on-failure']);
    for (const key of ['DynamicUser', 'NoNewPrivileges', 'PrivateTmp']) assert.deepEqual(values(SERVICE, key), ['yes']);
    assert.deepEqual(values(SERVICE, 'ProtectSystem'), ['strict']);
    assert.equal(values(SERVICE, 'MemoryMax').length, 1);
  });

  it('give the drain and the grace time before SIGKILL, and the thread budget room', () => {
    const config = loadConfig(environment(SERVICE));
    const stopMs = Number(values(SERVICE, 'TimeoutStopSec')[0]) * 1000;
    assert.ok(
      stopMs > config.drainDelayMs + config.shutdownTimeoutMs,
      `TimeoutStopSec ${stopMs} ms must exceed HANDOFF_DRAIN_DELAY_MS + HANDOFF_SHUTDOWN_TIMEOUT_MS`,
    );
    const tasks = Number(values(SERVICE, 'TasksMax')[0]);
    const budget = NODE_THREADS + config.threads + config.blockingThreads;
    assert.ok(tasks >= budget, `TasksMax ${tasks} below the thread budget ${budget}`);
  });

  it("the app, with the unit's environment on a socket passed as the .socket unit does, stays within TasksMax", {
    skip: socketActivationUnavailable() ?? false,
  }, async () => {
    const socketPath = path.join(tempDir(), 'http.sock');
    const env: Record<string, string> = { ...environment(SERVICE), HANDOFF_BACKEND: 'native' };
    const app = startActivated(env, { listen: [socketPath], names: values(SOCKET, 'FileDescriptorName') });
    running.push(app);
    const base = env.HANDOFF_BASE_PATH ?? '';
    await waitUntilServing({ socketPath }, `${base}/health`);
    await app.waitForLine(/^\[main\] serving with native on .*\(socket activation: fd 3, named http, 1 passed\)$/);
    // Work that starts every pool: requests on both native pools, a body, Node's fs pool.
    for (let i = 0; i < 20; i++) {
      const reply = await send(
        { socketPath },
        { method: 'POST', path: `${base}/__test/upload`, body: 'x'.repeat(1000) },
      );
      assert.equal(reply.status, 200);
    }
    const pid = app.child.pid;
    assert.ok(pid !== undefined);
    const threads = spawnSync('ls', [`/proc/${pid}/task`], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n').length;
    const tasks = Number(values(SERVICE, 'TasksMax')[0]);
    assert.ok(threads <= tasks, `${threads} threads, TasksMax ${tasks}`);
    app.kill('SIGTERM');
    assert.equal((await app.exited).code, 0);
  });
});
