// `npm run package`, then the upload flow as a cPanel user goes through it: extract the zip into a
// fresh app root of an unprivileged account, "Run NPM Install" into the nodevenv, write the
// .htaccess with the bundle's own command, and serve through Apache + mod_passenger under /api.
// The contract suite passes on the native server; with the addon made unloadable and the app
// restarted, it passes on the fallback and the log says why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type ApacheInstance, requireApache, startApache } from '../helpers/apache';
import { TEST_ENV } from '../helpers/backends';
import { type Account, createAccount, ensureUnzip, extractInto, runNpmInstall } from '../helpers/cpanel';
import { send } from '../helpers/http';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const VERSION = loadConfig({}).version;
const NAME = `passenger-handoff-${VERSION}`;
const ADDON = path.join('native', 'handoff.linux-x64-gnu.node');

let outDir: string | undefined;
let packageOutput = '';

/** Runs `npm run package` once for this file, into a temporary folder. */
function buildBundle(t: { skip(reason: string): void }): boolean {
  if (outDir) return true;
  if (spawnSync('cargo', ['--version']).status !== 0) {
    if (process.env.CI === 'true') throw new Error('CI must build the bundle: no cargo');
    t.skip('no Rust toolchain: the bundle needs it');
    return false;
  }
  ensureUnzip();
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-release-'));
  const result = spawnSync('npm', ['run', '--silent', 'package', '--', '--out-dir', dir], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  packageOutput = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `npm run package failed:\n${packageOutput.slice(-3000)}`);
  outDir = dir;
  return true;
}

after(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`],
    )
    .sort();
}

describe('npm run package', () => {
  before((t) => {
    buildBundle(t as never);
  });

  it('shows its progress and writes the zip and the same tree', () => {
    assert.ok(outDir, 'the bundle was built');
    assert.match(packageOutput, /\[package\] 1\/6 compiling TypeScript/);
    assert.match(packageOutput, /\[package\] done: /);
    const tree = listFiles(path.join(outDir, NAME));
    const zipped = spawnSync('zipinfo', ['-1', path.join(outDir, `${NAME}.zip`)], { encoding: 'utf8' });
    assert.equal(zipped.status, 0, zipped.stderr);
    assert.deepEqual(zipped.stdout.trim().split('\n').sort(), tree);
  });

  it('holds what a host needs and nothing else', () => {
    assert.ok(outDir, 'the bundle was built');
    const tree = listFiles(path.join(outDir, NAME));
    for (const file of [
      'app.js',
      'dist/main.js',
      'dist/cli.js',
      // The error catalogue the fallback imports (tsc copies it into dist/).
      'dist/api/errors.json',
      ADDON,
      'package.json',
      'package-lock.json',
      '.htaccess',
      'DEPLOY.md',
    ]) {
      assert.ok(tree.includes(file), `${file} is in the bundle`);
    }
    const unexpected = tree.filter(
      (file) =>
        !/^(app\.js|package(-lock)?\.json|\.htaccess|DEPLOY\.md|native\/handoff\.linux-x64-gnu\.node|dist\/.*\.js|dist\/api\/errors\.json)$/.test(
          file,
        ),
    );
    assert.deepEqual(unexpected, [], 'no sources, maps, type declarations, node_modules or Rust');
  });

  it('links the addon against glibc 2.17 at most (CloudLinux 7)', () => {
    assert.ok(outDir, 'the bundle was built');
    const binary = readFileSync(path.join(outDir, NAME, ADDON)).toString('latin1');
    const versions = [...binary.matchAll(/GLIBC_2\.(\d+)/g)].map((match) => Number(match[1]));
    assert.ok(versions.length > 0, 'the addon names glibc symbol versions');
    assert.ok(Math.max(...versions) <= 17, `highest is GLIBC_2.${Math.max(...versions)}`);
  });

  it('has runtime dependencies only and nothing that runs at install', () => {
    assert.ok(outDir, 'the bundle was built');
    const manifest = JSON.parse(readFileSync(path.join(outDir, NAME, 'package.json'), 'utf8'));
    const project = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.dependencies, project.dependencies);
    assert.equal(manifest.devDependencies, undefined);
    // `doctor` for the panel's "Run JS Script"; nothing that runs at install.
    assert.deepEqual(manifest.scripts, { start: 'node app.js', doctor: 'node dist/cli.js doctor' });
    const lock = JSON.parse(readFileSync(path.join(outDir, NAME, 'package-lock.json'), 'utf8'));
    assert.equal(lock.packages[''].devDependencies, undefined);
    const devEntries = Object.entries(lock.packages as Record<string, { dev?: boolean }>).filter(
      ([, entry]) => entry.dev,
    );
    assert.deepEqual(
      devEntries.map(([name]) => name),
      [],
      'no dev packages in the lockfile',
    );
    assert.ok(lock.packages['node_modules/fastify'], 'the fallback is in the lockfile');
  });
});

describe('the bundle uploaded to a cPanel account, under Apache at /api', () => {
  let account: Account | undefined;
  let apache: ApacheInstance | undefined;
  let addonFile = '';

  before((t) => {
    if (!buildBundle(t as never) || !requireApache(t as never) || !outDir) return;
    account = createAccount();
    extractInto(account, path.join(outDir, `${NAME}.zip`));
    runNpmInstall(account);
    addonFile = path.join(account.appRoot, ADDON);
  });
  after(async () => {
    await apache?.stop('stop');
    account?.remove();
  });

  const targetFor = (backend: BackendName) => (): ContractTarget => {
    if (!apache) throw new Error('Apache did not start (see above)');
    return {
      endpoint: { host: '127.0.0.1', port: apache.port },
      backend,
      basePath: '/api',
      version: VERSION,
      behindApache: true,
      direct: false,
    };
  };

  describe('with the native server', () => {
    before(async () => {
      if (!account) return;
      assert.ok(statSync(path.join(account.appRoot, 'node_modules')).isDirectory(), 'node_modules resolves');
      const htaccess = path.join(account.docRoot, 'api', '.htaccess');
      account.run('mkdir', ['-p', path.dirname(htaccess)], account.home);
      // The bundle's own command, run by the user on the host.
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
        env: TEST_ENV,
      });
    });

    defineContractTests(targetFor('native'));

    it('logs that it serves with native', () => {
      assert.ok(apache, 'Apache is running');
      assert.match(apache.readLog(), /\[main\] serving with native on \//);
    });
  });

  describe('with the addon made unloadable, after a restart', () => {
    before(async () => {
      if (!apache || !account) return;
      const before = (await send({ host: '127.0.0.1', port: apache.port }, { path: '/api/health' })).json() as {
        pid: number;
      };
      // A new file, not the old one truncated: the running process has the old one mapped, and
      // overwriting it in place crashes that process (Passenger answers 502 to its requests).
      rmSync(addonFile);
      writeFileSync(addonFile, 'not a shared library\n'.repeat(200));
      apache.restart();
      // Passenger looks at restart.txt at most once a second here, on a request.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const health = (await send({ host: '127.0.0.1', port: apache.port }, { path: '/api/health' })).json() as {
          pid: number;
        };
        if (health.pid !== before.pid) break;
        assert.ok(Date.now() < deadline, 'the app restarted within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

    defineContractTests(targetFor('fastify'));

    it('logs once why the native server did not load', () => {
      assert.ok(apache, 'Apache is running');
      assert.ok(existsSync(addonFile));
      const lines = apache
        .readLog()
        .split('\n')
        .filter((line) => line.includes('[native] not loaded'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(
        lines[0] ?? '',
        /\[native\] not loaded, serving with fastify instead: .*handoff\.linux-x64-gnu\.node.*invalid ELF header/,
      );
    });
  });
});
