// deploy/cpanel-deploy.sh on its own (git-deploy.test.ts runs it end to end under Apache): what
// it must never do to an account. A deploy checkout and a home folder are made in a temporary
// folder; `npm` is a stand-in on PATH that records its calls and fails when told to.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from '../helpers/app-process';

const FAKE_NPM = `#!/bin/sh
echo "$PWD npm $*" >>"$NPM_CALLS"
[ "\${NPM_FAILS:-0}" = 1 ] && { echo "npm ERR! registry unreachable" >&2; exit 1; }
mkdir -p node_modules
`;

/** A deploy checkout (what `npm run deploy:branch` commits) and an account's home. */
function setUp(): { checkout: string; home: string; appRoot: string; bin: string; calls: string } {
  const dir = tempDir();
  const checkout = path.join(dir, 'repo');
  const home = path.join(dir, 'home');
  const bin = path.join(dir, 'bin');
  for (const folder of [path.join(checkout, 'dist'), path.join(checkout, 'deploy'), home, bin]) {
    mkdirSync(folder, { recursive: true });
  }
  const files: Record<string, string> = {
    'app.js': "require('./dist/main.js').start();\n",
    'dist/main.js': 'exports.start = () => {};\n',
    'package.json': '{"name":"passenger-handoff","version":"1.0.0"}\n',
    'package-lock.json': '{"lockfileVersion":3}\n',
    '.htaccess': 'PassengerAppRoot "/home/USER/passenger-handoff"\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(checkout, name), text);
  copyFileSync(path.join(REPO_ROOT, 'deploy', 'cpanel-deploy.sh'), path.join(checkout, 'deploy', 'cpanel-deploy.sh'));
  writeFileSync(path.join(bin, 'npm'), FAKE_NPM);
  chmodSync(path.join(bin, 'npm'), 0o755);
  const git = (...args: string[]) => {
    const run = spawnSync('git', args, { cwd: checkout, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  };
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'bundle');
  return { checkout, home, appRoot: path.join(home, 'passenger-handoff'), bin, calls: path.join(dir, 'npm-calls') };
}

function deploy(setup: ReturnType<typeof setUp>, env: Record<string, string> = {}) {
  const run = spawnSync('bash', ['deploy/cpanel-deploy.sh', setup.appRoot], {
    cwd: setup.checkout,
    env: { HOME: setup.home, PATH: `${setup.bin}:/usr/bin:/bin`, NPM_CALLS: setup.calls, ...env },
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Makes the account look like CloudLinux's after "Create application" (a nodevenv, linked). */
function createApp(setup: ReturnType<typeof setUp>): string {
  const lib = path.join(setup.home, 'nodevenv', 'passenger-handoff', '20', 'lib');
  mkdirSync(path.join(lib, 'node_modules'), { recursive: true });
  mkdirSync(setup.appRoot, { recursive: true });
  spawnSync('ln', ['-s', path.join(lib, 'node_modules'), path.join(setup.appRoot, 'node_modules')]);
  return lib;
}

const npmCalls = (setup: ReturnType<typeof setUp>) =>
  existsSync(setup.calls) ? readFileSync(setup.calls, 'utf8').trim().split('\n') : [];

describe('deploy/cpanel-deploy.sh', () => {
  it('installs in the nodevenv, and tries again on the next push after a failed install', () => {
    const setup = setUp();
    const lib = createApp(setup);
    const failed = deploy(setup, { NPM_FAILS: '1' });
    assert.notEqual(failed.status, 0, failed.output);
    const retried = deploy(setup);
    assert.equal(retried.status, 0, retried.output);
    assert.deepEqual(
      npmCalls(setup).map((line) => line.startsWith(`${lib} npm install --omit=dev`)),
      [true, true],
      'npm ran again although package.json had already been copied',
    );
    const unchanged = deploy(setup);
    assert.equal(unchanged.status, 0, unchanged.output);
    assert.equal(npmCalls(setup).length, 2, 'nothing to install once it succeeded');
    assert.ok(lstatSync(path.join(setup.appRoot, 'node_modules')).isSymbolicLink(), 'the panel link is kept');
    assert.ok(existsSync(path.join(setup.appRoot, 'tmp', 'restart.txt')));
  });

  it('refuses to create a node_modules folder in an account whose app does not exist yet', () => {
    const setup = setUp();
    mkdirSync(path.join(setup.home, 'nodevenv'), { recursive: true }); // CloudLinux, another app
    const result = deploy(setup);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /create it in Setup Node\.js App/);
    assert.ok(!existsSync(path.join(setup.appRoot, 'node_modules')), 'no node_modules folder the panel would refuse');
    assert.deepEqual(npmCalls(setup), []);
  });

  it('keeps an .htaccess already in the app root', () => {
    const setup = setUp();
    createApp(setup);
    const panels = 'PassengerAppRoot "/home/me/passenger-handoff"\n';
    writeFileSync(path.join(setup.appRoot, '.htaccess'), panels);
    const result = deploy(setup);
    assert.equal(result.status, 0, result.output);
    assert.equal(readFileSync(path.join(setup.appRoot, '.htaccess'), 'utf8'), panels);
    assert.ok(existsSync(path.join(setup.appRoot, 'app.js')));
  });
});
