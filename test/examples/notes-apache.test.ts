// The notes example from the upload bundle under real Apache + mod_passenger, as a cPanel user runs
// it: `npm run package`, the zip extracted into a fresh account's app root, "Run NPM Install", the
// bundle's own .htaccess command, no DATABASE_URL (so the SQLite file data/app.db under the app
// root, created by the app as the account's user). Notes are created, `touch tmp/restart.txt`
// restarts the app, and the new process (another pid) serves the same notes. On native and on the
// fallback (under Node 22, which has node:sqlite). Here rather than in test/e2e/ so that
// `npm run examples:remove` takes it with the demo.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { loadConfig } from '../../src/config';
import { type ApacheInstance, requireApache, startApache } from '../helpers/apache';
import { backendUnavailable, TEST_ENV } from '../helpers/backends';
import { type Account, createAccount, ensureUnzip, extractInto, runNpmInstall } from '../helpers/cpanel';
import { type Endpoint, send } from '../helpers/http';
import { obtainNode } from '../helpers/node-versions';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const NAME = `passenger-handoff-${loadConfig({}).version}`;
const CI = process.env.CI === 'true';

interface Note {
  id: number;
  title: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

let outDir: string | undefined;
const temps: string[] = [];

/** Runs `npm run package` once for this file, into a temporary folder. */
function buildBundle(t: { skip(reason: string): void }): boolean {
  if (outDir) return true;
  if (spawnSync('cargo', ['--version']).status !== 0) {
    if (CI) throw new Error('CI must build the bundle: no cargo');
    t.skip('no Rust toolchain: the bundle needs it');
    return false;
  }
  ensureUnzip();
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-notes-release-'));
  const result = spawnSync('npm', ['run', '--silent', 'package', '--', '--out-dir', dir], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `npm run package failed:\n${`${result.stdout}${result.stderr}`.slice(-3000)}`);
  outDir = dir;
  return true;
}

after(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function pidOf(endpoint: Endpoint): Promise<number> {
  const reply = await send(endpoint, { path: '/api/health' });
  assert.equal(reply.status, 200, reply.text);
  const health = reply.json() as { pid: number; checks?: Record<string, string> };
  assert.deepEqual(health.checks, { database: 'up' });
  return health.pid;
}

for (const backend of ['native', 'fastify'] as const satisfies readonly BackendName[]) {
  describe(`notes from the bundle under Apache + mod_passenger (${backend})`, {
    skip: backendUnavailable(backend) ?? false,
  }, () => {
    let account: Account | undefined;
    let apache: ApacheInstance | undefined;

    before(async (t) => {
      if (!buildBundle(t as never) || !requireApache(t as never) || !outDir) return;
      const node = obtainNode(22);
      if (!node.ok) {
        if (CI) throw new Error(`Node 22 for the account: ${node.reason}`);
        (t as never as { skip(reason: string): void }).skip(node.reason);
        return;
      }
      // A copy the account's user can run (the cache folder may be root's alone).
      const nodeDir = mkdtempSync(path.join(tmpdir(), 'handoff-notes-node-'));
      chmodSync(nodeDir, 0o755);
      const nodeCopy = path.join(nodeDir, 'node');
      copyFileSync(node.node, nodeCopy);
      chmodSync(nodeCopy, 0o755);
      temps.push(nodeDir);
      account = createAccount({ nodeBinary: nodeCopy });
      extractInto(account, path.join(outDir, `${NAME}.zip`));
      runNpmInstall(account);
      const htaccess = path.join(account.docRoot, 'api', '.htaccess');
      account.run('mkdir', ['-p', path.dirname(htaccess)], account.home);
      account.run(
        account.node,
        ['dist/cli.js', 'htaccess', '--base-uri', '/api', '--node', account.node, '--out', htaccess],
        account.appRoot,
      );
      apache = await startApache({
        appRoot: account.appRoot,
        baseUri: '/api',
        docRoot: account.docRoot,
        htaccess,
        user: account.user,
        env: { ...TEST_ENV, HANDOFF_BACKEND: backend },
      });
    });
    after(async () => {
      await apache?.stop('stop');
      account?.remove();
    });

    it('keeps the notes across touch tmp/restart.txt, served by the new process', async () => {
      assert.ok(apache && account, 'Apache is running');
      const endpoint = { host: '127.0.0.1', port: apache.port };
      const created: Note[] = [];
      for (const [title, body] of [
        ['first', 'one'],
        ['second', 'it\'s "quoted" 😀'],
        ['third', ''],
      ] as const) {
        const reply = await send(endpoint, {
          method: 'POST',
          path: '/api/notes',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ title, body }),
        });
        assert.equal(reply.status, 201, reply.text);
        const note = reply.json() as Note;
        assert.equal(reply.headers.location, `/api/notes/${note.id}`);
        created.push(note);
      }
      const file = path.join(account.appRoot, 'data', 'app.db');
      assert.ok(existsSync(file), 'data/app.db is created under the app root');
      assert.equal(statSync(file).uid, statSync(account.appRoot).uid, "the file is the account's");
      assert.match(apache.readLog(), new RegExp(`serving with ${backend} `));

      const before = await pidOf(endpoint);
      apache.restart();
      // Passenger looks at restart.txt at most once a second here, on a request; bounded.
      let after = before;
      for (let i = 0; i < 150 && after === before; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        after = await pidOf(endpoint);
      }
      assert.notEqual(after, before, 'a new app process serves after the restart');

      const listed = await send(endpoint, { path: '/api/notes' });
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(listed.json(), { notes: [...created].reverse(), next: null });
      for (const note of created) {
        const reply = await send(endpoint, { path: `/api/notes/${note.id}` });
        assert.deepEqual([reply.status, reply.json()], [200, note]);
      }
      assert.equal(await pidOf(endpoint), after, 'the new process answered');
    });
  });
}
