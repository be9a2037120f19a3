// systemd socket activation, with Debian's systemd-socket-activate standing in for a .socket
// unit (it binds, then execs the app with the sockets on descriptors 3 and up and LISTEN_FDS,
// LISTEN_PID, LISTEN_FDNAMES set, as systemd does): every backend serves the contract on a TCP
// socket passed unnamed, and on a Unix socket named `http` passed with another one; a socket
// named `scgi` with HANDOFF_PROTOCOL=http, or several sockets none named http or scgi, are
// refused, clearly; another process's LISTEN_PID is ignored. (A socket named `scgi` served as
// SCGI: test/scgi/activation.test.ts.)
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, backendUnavailable } from '../helpers/backends';
import { type Endpoint, send, waitUntilServing } from '../helpers/http';
import { freePort } from '../helpers/util';
import { socketActivationUnavailable, startActivated } from '../helpers/vps';

const VERSION = loadConfig({}).version;
const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

/** Two ways a socket arrives: TCP alone and unnamed; Unix named `http`, after another one. */
const RUNS = [
  { name: 'a TCP socket, unnamed', named: false },
  { name: 'a Unix socket named http, passed second of two', named: true },
] as const;

for (const backend of BACKENDS) {
  for (const run of RUNS) {
    describe(`${backend} on ${run.name}`, {
      skip: socketActivationUnavailable() ?? backendUnavailable(backend) ?? false,
    }, () => {
      let app: AppProcess | undefined;
      let target: ContractTarget | undefined;
      let expected = '';

      before(async () => {
        const port = await freePort();
        const socketPath = path.join(tempDir(), 'app.sock');
        // HOST/PORT/HANDOFF_SOCKET point elsewhere: a passed socket wins over them.
        const env = { HANDOFF_BACKEND: backend, PORT: '1', HANDOFF_SOCKET: path.join(tempDir(), 'unused.sock') };
        if (run.named) {
          app = startActivated(env, { listen: [`127.0.0.1:${port}`, socketPath], names: ['other', 'http'] });
          expected = `${socketPath}.*\\(socket activation: fd 4, named http, 2 passed\\)`;
        } else {
          app = startActivated(env, { listen: [`127.0.0.1:${port}`] });
          expected = `127\\.0\\.0\\.1:${port}.*\\(socket activation: fd 3, named unknown, 1 passed\\)`;
        }
        running.push(app);
        const endpoint: Endpoint = run.named ? { socketPath } : { host: '127.0.0.1', port };
        // The first connection is what makes the activator start the app; it waits in the
        // socket's queue meanwhile and is answered by the app.
        await waitUntilServing(endpoint);
        target = { endpoint, backend, basePath: '', version: VERSION, direct: true };
      });
      after(() => app?.kill());

      defineContractTests(() => {
        if (target === undefined) throw new Error('the app did not start');
        return target;
      });

      it('says which socket it serves on, and logs requests on it', async () => {
        assert.ok(app);
        await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on ${expected}$`));
        const client = run.named ? '-' : '127\\.0\\.0\\.1';
        await app.waitForLine(new RegExp(`^\\[${backend}\\] ${client} GET /health 200 \\d+\\.\\d{2}ms$`));
        assert.ok(!app.lines().some((line) => /unused\.sock/.test(line)), app.lines().join('\n'));
      });
    });
  }
}

describe('socket activation refusals', { skip: socketActivationUnavailable() ?? false }, () => {
  /** Starts the app under the activator, knocks once, and returns its exit and its lines. */
  async function refused(names: readonly string[], env: Readonly<Record<string, string>> = {}) {
    const dir = tempDir();
    const listen = names.map((name) => path.join(dir, `${name}.sock`));
    const app = startActivated({ HANDOFF_BACKEND: 'fastify', ...env }, { listen, names });
    running.push(app);
    await app.waitForLine(/Listening on/);
    const knock = connect(listen[0] as string);
    knock.on('error', () => {});
    const exited = await app.exited;
    knock.destroy();
    return { exited, lines: app.lines() };
  }

  it('a lone socket named scgi with HANDOFF_PROTOCOL=http: exits 1 and names the conflict', async () => {
    const { exited, lines } = await refused(['scgi'], { HANDOFF_PROTOCOL: 'http' });
    assert.equal(exited.code, 1, lines.join('\n'));
    assert.ok(
      lines.some((line) =>
        /^\[config\] LISTEN_FDNAMES names the passed socket scgi, but HANDOFF_PROTOCOL=http: remove one of the two/.test(
          line,
        ),
      ),
      lines.join('\n'),
    );
    assert.ok(!lines.some((line) => /serving with/.test(line)), lines.join('\n'));
  });

  it('several sockets and none named http or scgi: exits 1 and names them', async () => {
    const { exited, lines } = await refused(['metrics', 'other']);
    assert.equal(exited.code, 1, lines.join('\n'));
    assert.ok(
      lines.some((line) =>
        /^\[config\] LISTEN_FDS=2 passes several sockets and LISTEN_FDNAMES="metrics:other" has none named http or scgi/.test(
          line,
        ),
      ),
      lines.join('\n'),
    );
  });

  it("another process's LISTEN_PID is ignored: the app binds as configured", async () => {
    const socketPath = path.join(tempDir(), 'app.sock');
    const app = startApp({ HANDOFF_BACKEND: 'fastify', HANDOFF_SOCKET: socketPath, LISTEN_FDS: '1', LISTEN_PID: '1' });
    running.push(app);
    await app.waitForLine(/^\[main\] serving with fastify on /);
    assert.equal((await send({ socketPath }, { path: '/health' })).status, 200);
    const lines = app.lines();
    assert.ok(
      lines.some((line) =>
        /^\[main\] LISTEN_PID=1 is not this process \(\d+\): its sockets are not ours, ignored$/.test(line),
      ),
      lines.join('\n'),
    );
    assert.ok(lines.includes(`[main] serving with fastify on ${socketPath}`), lines.join('\n'));
    app.kill('SIGTERM');
    assert.equal((await app.exited).code, 0);
  });
});
