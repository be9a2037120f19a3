// The upload bundle on each Node version a host offers (20, end-of-life but still offered; 22, 24, 26): `npm run package`, its runtime
// dependencies installed with `npm install --omit=dev` (npm warns that cookie@2 and content-type@3
// want Node 22; they must work on 20 all the same), then `node app.js` of the bundle on a Unix socket
// (HANDOFF_SOCKET, under /api) on each version: the contract suite on the native server, and on the fallback
// with the addon made unloadable, then a clean stop. Versions other than the running one come from
// the npm registry (test/helpers/node-versions.ts); one that cannot be had is skipped with the
// reason, or fails in CI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type AppProcess, startApp } from '../helpers/app-process';
import { BACKENDS } from '../helpers/backends';
import { packageBundle } from '../helpers/bundle';
import { type NodeBinary, obtainNode } from '../helpers/node-versions';

const VERSION = loadConfig({}).version;
const MAJORS = [20, 22, 24, 26];
const CI = process.env.CI === 'true';

let work: string | undefined;
let bundle: string | undefined;
let installOutput = '';
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The bundle (`npm run package`, once per test run) copied here, then `npm install --omit=dev` in
 * it, as a host's panel runs it. */
function buildBundle(): string {
  if (bundle) return bundle;
  work = mkdtempSync(path.join(tmpdir(), 'handoff-node-versions-'));
  const tree = path.join(work, `passenger-handoff-${VERSION}`);
  cpSync(path.join(packageBundle().dir, `passenger-handoff-${VERSION}`), tree, { recursive: true });
  const installed = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund'], {
    cwd: tree,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  installOutput = `${installed.stdout}${installed.stderr}`;
  assert.equal(installed.status, 0, `npm install --omit=dev failed:\n${installOutput}`);
  bundle = tree;
  return tree;
}

const noCargo = spawnSync('cargo', ['--version']).status !== 0;
if (noCargo && CI) throw new Error('CI must build the bundle: no cargo');

/** Starts `node app.js` of the bundle with `node` on a fresh socket; resolves once it serves. */
async function startBundle(
  node: string,
  env: Readonly<Record<string, string>>,
  backend: BackendName,
): Promise<{ app: AppProcess; socket: string; dir: string }> {
  const root = buildBundle();
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-node-version-'));
  const socket = path.join(dir, 'app.sock');
  const app = startApp({ HANDOFF_SOCKET: socket, HANDOFF_BASE_PATH: '/api', ...env }, [
    node,
    path.join(root, 'app.js'),
  ]);
  await app.waitForLine(new RegExp(`\\[main\\] serving with ${backend} on `), 30_000);
  return { app, socket, dir };
}

for (const major of MAJORS) {
  const binary: NodeBinary = noCargo
    ? { ok: false, reason: 'no Rust toolchain: the bundle needs it' }
    : obtainNode(major);
  if (!binary.ok && CI) {
    it(`Node ${major} can be obtained`, () => assert.fail(binary.reason));
    continue;
  }
  const title = binary.ok ? `the bundle on Node ${binary.version}` : `the bundle on Node ${major}`;
  describe(title, { skip: binary.ok ? false : binary.reason }, () => {
    if (!binary.ok) return;
    for (const backend of (['native', 'fastify'] as const).filter((name) => BACKENDS.includes(name))) {
      describe(backend === 'native' ? 'native server' : 'fallback, the addon made unloadable', () => {
        let running: Awaited<ReturnType<typeof startBundle>> | undefined;
        let garbage: string | undefined;
        before(async () => {
          const env: Record<string, string> = {};
          if (backend === 'fastify') {
            garbage = path.join(mkdtempSync(path.join(tmpdir(), 'handoff-node-version-addon-')), 'broken.node');
            writeFileSync(garbage, 'not a shared library\n'.repeat(200));
            env.HANDOFF_NATIVE_PATH = garbage;
          }
          running = await startBundle(binary.node, env, backend);
        });
        after(() => {
          running?.app.kill();
          if (running) rmSync(running.dir, { recursive: true, force: true });
          if (garbage) rmSync(path.dirname(garbage), { recursive: true, force: true });
        });

        const target = (): ContractTarget => {
          if (!running) throw new Error('the app did not start (see above)');
          return {
            endpoint: { socketPath: running.socket },
            backend,
            basePath: '/api',
            version: VERSION,
            direct: true,
          };
        };

        it(`runs on that Node binary`, () => {
          assert.ok(running?.app.child.pid, 'the app runs');
          assert.equal(readlinkSync(`/proc/${running.app.child.pid}/exe`), realpathSync(binary.node));
        });

        if (backend === 'fastify') {
          it('says why the native server did not load', () => {
            assert.ok(running, 'the app runs');
            const lines = running.app.lines().filter((line) => line.includes('[native] not loaded'));
            assert.equal(lines.length, 1, lines.join('\n'));
            assert.match(lines[0] ?? '', /serving with fastify instead: .*broken\.node.*invalid ELF header/);
          });
        }

        defineContractTests(target);

        it('stops on SIGTERM: [main] stopped, exit 0', async () => {
          assert.ok(running, 'the app runs');
          running.app.kill('SIGTERM');
          assert.deepEqual(await running.app.exited, { code: 0, signal: null });
          assert.ok(running.app.lines().includes('[main] stopped'), running.app.lines().join('\n'));
        });
      });
    }
  });
}

describe('npm install --omit=dev of the bundle', { skip: noCargo ? 'no Rust toolchain' : false }, () => {
  // On Node 20 npm warns (EBADENGINE) that cookie@2 and content-type@3 want Node >= 22; a warning
  // only: the install succeeds and the Node 20 runs above serve with them.
  it('succeeds; engine warnings are warnings only', () => {
    buildBundle();
    assert.doesNotMatch(installOutput, /npm (error|ERR!)/);
  });
});
