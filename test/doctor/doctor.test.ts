// `passenger-handoff doctor` on broken hosts: for each check a cPanel-style account is laid out with
// one thing broken as users break it (test/doctor/support.ts), doctor runs as the account's user,
// and it must name that problem, with its fix, and exit 1 when the app cannot work.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it, type TestContext } from 'node:test';
import {
  ADDON,
  accountUnavailable,
  addonBuilt,
  createMemoryCgroup,
  type InstalledApp,
  installApp,
  notOk,
  runDoctor,
} from './support';

let app: InstalledApp | undefined;
afterEach(() => {
  app?.remove();
  app = undefined;
});

/** Lays out a healthy install, or skips the test where that cannot be done. */
function setUp(t: TestContext, options: { addon?: boolean } = {}): InstalledApp | undefined {
  const why = accountUnavailable();
  if (why) {
    t.skip(why);
    return undefined;
  }
  if (options.addon && !addonBuilt()) {
    if (process.env.CI === 'true') throw new Error('CI must test doctor on the native addon');
    t.skip('no native addon: run `npm run build:native`');
    return undefined;
  }
  app = installApp();
  return app;
}

describe('passenger-handoff doctor', () => {
  it('passes on a healthy install and prints one line per check', (t) => {
    const app = setUp(t);
    if (!app) return;
    const run = runDoctor(app);
    assert.equal(run.status, 0, `${notOk(run)}\n${run.stderr}`);
    assert.deepEqual(
      run.checks.filter((c) => c.status === 'fail'),
      [],
    );
    for (const id of ['node', 'nodevenv', 'dependencies', 'config', 'threads', 'memory', 'open-files', 'tmp']) {
      assert.equal(run.check(id).status, 'ok', `${id}: ${run.check(id).message}`);
    }
    assert.match(
      run.check('nodevenv').message,
      /links to the Node \d+ nodevenv \(~\/nodevenv\/passenger-handoff\/\d+\//,
    );
    assert.match(run.check('htaccess').message, /public_html\/api\/\.htaccess starts this app/);
    assert.match(run.check('base-uri').message, /PassengerBaseURI \/api, the folder it lies in/);

    const text = runDoctor(app, { text: true });
    assert.equal(text.status, 0, text.stdout);
    assert.match(text.stdout, /^passenger-handoff doctor: \//);
    assert.match(text.stdout, /^ok {4}nodevenv +node_modules links to/m);
    assert.match(text.stdout, /^0 failed, \d+ warnings?, \d+ ok$/m);
  });

  it('names an addon built for another CPU, and what serves instead', (t) => {
    const app = setUp(t, { addon: true });
    if (!app) return;
    const file = path.join(app.appRoot, ADDON);
    const bytes = readFileSync(file);
    bytes.writeUInt16LE(183, 18); // e_machine: EM_AARCH64
    rmSync(file);
    writeFileSync(file, bytes);
    app.chown();
    const auto = runDoctor(app);
    assert.equal(auto.check('native-cpu').status, 'warn');
    assert.match(
      auto.check('native-cpu').message,
      /built for arm64, this machine is x64: the fallback \(fastify\) serves/,
    );
    assert.match(
      auto.check('native-cpu').fix ?? '',
      /npm run package.* native\/handoff\.linux-x64-gnu\.node for this machine/,
    );
    assert.equal(auto.check('native-load').status, 'warn');
    assert.match(auto.check('native-load').message, /cannot load .*handoff\.linux-x64-gnu\.node: .*; fastify serves/);
    assert.equal(auto.status, 0, 'the API still works: nothing failed');

    const native = runDoctor(app, { env: { HANDOFF_BACKEND: 'native' } });
    assert.equal(native.status, 1);
    assert.equal(native.check('native-cpu').status, 'fail');
    assert.match(native.check('native-load').message, /the app would not start: HANDOFF_BACKEND=native/);
  });

  it('names an addon that needs a newer glibc than the host has, with the loader error', (t) => {
    const app = setUp(t, { addon: true });
    if (!app) return;
    const file = path.join(app.appRoot, ADDON);
    const text = readFileSync(file).toString('latin1');
    // The newest GLIBC_2.<two digits> it asks for, renamed GLIBC_2.99 (same length) in .dynstr,
    // where .gnu.version_r's entry names it: the loader then looks for a glibc 2.99.
    const versions = [...new Set(text.match(/\0GLIBC_2\.\d\d\0/g) ?? [])].sort();
    const newest = versions.at(-1);
    assert.ok(newest, 'the addon names a GLIBC_2.xx version');
    rmSync(file);
    writeFileSync(file, Buffer.from(text.split(newest).join('\0GLIBC_2.99\0'), 'latin1'));
    app.chown();
    const run = runDoctor(app);
    const glibc = run.check('native-glibc');
    assert.equal(glibc.status, 'warn');
    assert.match(
      glibc.message,
      /the addon needs GLIBC_2\.99, this host has glibc 2\.\d+: the fallback \(fastify\) serves/,
    );
    assert.match(glibc.fix ?? '', /npm run package.*glibc 2\.17/);
    assert.match(run.check('native-load').message, /version `GLIBC_2\.99' not found/);
  });

  it('fails a node_modules folder where CloudLinux wants a link into the nodevenv', (t) => {
    const app = setUp(t);
    if (!app) return;
    const link = path.join(app.appRoot, 'node_modules');
    rmSync(link);
    mkdirSync(link);
    app.chown();
    const run = runDoctor(app);
    assert.equal(run.status, 1);
    const check = run.check('nodevenv');
    assert.equal(check.status, 'fail');
    assert.match(check.message, /node_modules is a folder, not a link into ~\/nodevenv\/passenger-handoff\/<version>/);
    assert.match(check.fix ?? '', /rm -rf ~\/passenger-handoff\/node_modules.*Run NPM Install/);
    assert.equal(run.check('dependencies').status, 'fail', 'and the empty folder holds no dependencies');
  });

  it('fails a node_modules installed for another Node version', (t) => {
    const app = setUp(t);
    if (!app) return;
    const other = path.join(app.home, 'nodevenv', 'passenger-handoff', '18', 'lib');
    mkdirSync(other, { recursive: true });
    symlinkSync(path.join(app.nodevenv, 'lib', 'node_modules'), path.join(other, 'node_modules'));
    const link = path.join(app.appRoot, 'node_modules');
    rmSync(link);
    symlinkSync(path.join(other, 'node_modules'), link);
    app.chown();
    const run = runDoctor(app);
    assert.equal(run.status, 1);
    const check = run.check('nodevenv');
    assert.equal(check.status, 'fail');
    assert.match(check.message, /installed for Node 18 .* but Passenger starts Node \d+/);
    assert.match(check.fix ?? '', /Run NPM Install .* for Node \d+/);
  });

  it('fails a thread budget above the account process limit (NPROC)', (t) => {
    const app = setUp(t);
    if (!app) return;
    // 7 + 16 + 1 = 24 threads under a limit of 20, which still lets Node itself (doctor) start.
    const run = runDoctor(app, { nproc: 20, env: { HANDOFF_THREADS: '16' } });
    assert.equal(run.status, 1, notOk(run));
    const check = run.check('threads');
    assert.equal(check.status, 'fail');
    assert.match(
      check.message,
      /budget 24 threads \(7 Node \+ HANDOFF_THREADS 16 \+ HANDOFF_BLOCKING_THREADS 1\) is above this account's process limit \(NPROC\) of 20/,
    );
    assert.match(check.fix ?? '', /set HANDOFF_THREADS=2/);
  });

  it('fails a memory limit (cgroup, as LVE PMEM) below the resident memory the app takes at start', (t) => {
    const app = setUp(t, { addon: true });
    if (!app) return;
    const cgroup = createMemoryCgroup(`handoff-doctor-${process.pid}`);
    if (typeof cgroup === 'string') {
      if (process.env.CI === 'true') throw new Error(`CI must test the memory check: ${cgroup}`);
      t.skip(cgroup);
      return;
    }
    t.after(() => cgroup.remove());
    // Unlimited first: what the app's start takes (RSS, with the shared pages of node and the
    // addon) and what doctor and its probe are charged together (their own pages only).
    const free = runDoctor(app, { cgroup: cgroup.dir });
    assert.equal(free.check('memory').status, 'ok', free.check('memory').message);
    const rss = Number(/RSS (\d+) MiB/.exec(free.check('memory').message)?.[1]) * 1024 * 1024;
    const charged = cgroup.peak();
    assert.ok(charged < rss, `a limit between the charge (${charged}) and the RSS (${rss}) lets doctor run`);
    // A limit between the two: doctor and the app still run, the app's RSS is above it.
    const limit = Math.round((charged + rss) / 2 / 4096) * 4096;
    cgroup.limit(limit);
    const run = runDoctor(app, { cgroup: cgroup.dir });
    assert.equal(run.status, 1, notOk(run));
    const check = run.check('memory');
    assert.equal(check.status, 'fail');
    assert.match(
      check.message,
      new RegExp(
        `RSS \\d+ MiB after the start \\(native\\); memory limit ${Math.round(limit / 1024 / 1024)} MiB \\(${cgroup.dir}/memory\\.(limit_in_bytes|max)\\).*the host kills the app when it is over \\(503\\)`,
      ),
    );
    assert.match(check.fix ?? '', /ask the host for more memory \(LVE PMEM\), or lower HANDOFF_THREADS/);
  });

  it('warns of an open-file limit below HANDOFF_MAX_CONNECTIONS', (t) => {
    const app = setUp(t);
    if (!app) return;
    // The default 1024 connections under a limit of 256 descriptors (prlimit, as a host's ulimit -n).
    const run = runDoctor(app, { nofile: 256 });
    const check = run.check('open-files');
    assert.equal(check.status, 'warn', notOk(run));
    assert.match(
      check.message,
      /HANDOFF_MAX_CONNECTIONS 1024 needs about 1056 open files, the limit is 256: connections past about 224 fail with EMFILE/,
    );
    assert.match(check.fix ?? '', /set HANDOFF_MAX_CONNECTIONS=224 in the app's environment variables/);
    assert.equal(run.status, 0, 'a warning: the app works until that many connections');

    const fitted = runDoctor(app, { nofile: 256, env: { HANDOFF_MAX_CONNECTIONS: '224' } });
    assert.equal(fitted.check('open-files').status, 'ok', fitted.check('open-files').message);
  });

  it('fails a .htaccess whose PassengerBaseURI is not the URL of its folder', (t) => {
    const app = setUp(t);
    if (!app) return;
    const text = readFileSync(app.htaccess, 'utf8').replace('PassengerBaseURI "/api"', 'PassengerBaseURI "/app"');
    writeFileSync(app.htaccess, text);
    const run = runDoctor(app, { args: ['--docroot', path.join(app.home, 'public_html')] });
    assert.equal(run.status, 1);
    const check = run.check('base-uri');
    assert.equal(check.status, 'fail');
    assert.match(
      check.message,
      /PassengerBaseURI is \/app but .*public_html\/api\/\.htaccess lies in the folder of \/api/,
    );
    assert.match(check.fix ?? '', /set PassengerBaseURI "\/api"/);
  });

  it('fails a tmp/ the account cannot write (restart.txt would not restart the app)', (t) => {
    const app = setUp(t);
    if (!app) return;
    const tmp = path.join(app.appRoot, 'tmp');
    mkdirSync(tmp);
    app.chown();
    chmodSync(tmp, 0o555);
    const run = runDoctor(app);
    assert.equal(run.status, 1);
    const check = run.check('tmp');
    assert.equal(check.status, 'fail');
    assert.match(check.message, /handoff-doctor cannot write .*\/tmp .*touch tmp\/restart\.txt cannot restart the app/);
    assert.match(check.fix ?? '', /chmod u\+w/);
  });

  it('fails a variable the app refuses at start, from the shell or from the panel (.htaccess)', (t) => {
    const app = setUp(t);
    if (!app) return;
    const shell = runDoctor(app, { env: { HANDOFF_THREADS: 'many' }, text: true });
    assert.equal(shell.status, 1);
    assert.match(
      shell.stdout,
      /^fail +config +HANDOFF_THREADS must be a whole number from 1 to 64 \(got "many"\)\. The app exits at start/m,
    );
    assert.match(shell.stdout, /^ +fix: set HANDOFF_THREADS to an accepted value or remove it/m);

    // CloudLinux writes the panel's variables into the .htaccess as SetEnv lines.
    writeFileSync(
      app.htaccess,
      `${readFileSync(app.htaccess, 'utf8')}# DO NOT REMOVE. CLOUDLINUX ENV VARS CONFIGURATION BEGIN\n<IfModule Litespeed>\nSetEnv HANDOFF_BACKEND "nativ"\n</IfModule>\n# DO NOT REMOVE. CLOUDLINUX ENV VARS CONFIGURATION END\n`,
    );
    const panel = runDoctor(app);
    assert.equal(panel.status, 1);
    assert.match(
      panel.check('config').message,
      /HANDOFF_BACKEND must be one of auto, native, fastify, express \(got "nativ"\)/,
    );
    assert.match(
      panel.check('config').fix ?? '',
      /remove it in .*public_html\/api\/\.htaccess \(the panel's Environment variables\)/,
    );
  });
});
