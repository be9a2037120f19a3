// deploy/cron.sh: a cron job runs a script of the app with the app's nodevenv activated. The test
// lays out a CloudLinux home (~/nodevenv/<app>/<version>/bin/{activate,node}, lib/node_modules,
// the app root's node_modules linked into it) in a temporary folder; each version's bin/node is a
// wrapper around this Node that names itself, so the job shows which one ran it. cron's own PATH
// (/usr/bin:/bin) holds a plain node too: a job run without the nodevenv would say so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from '../helpers/app-process';

const APP = 'passenger-handoff';

/** The job: what ran it, where, with which arguments, and whether the app's modules resolve. */
const JOB = `const path = require('node:path');
console.log(JSON.stringify({
  node: process.env.NODEVENV_NODE ?? 'not the nodevenv',
  cwd: process.cwd(),
  args: process.argv.slice(2),
  module: path.relative(process.cwd(), require.resolve('left-pad')),
}));
process.exitCode = Number(process.env.JOB_EXIT ?? 0);
`;

/** A home with the app root (deploy/cron.sh, jobs/report.js) and nodevenvs for `versions`. */
function setUp(versions: readonly string[]): { home: string; appRoot: string; nodevenv(version: string): string } {
  const home = path.join(tempDir(), 'home');
  const appRoot = path.join(home, APP);
  const nodevenv = (version: string) => path.join(home, 'nodevenv', APP, version);
  mkdirSync(path.join(appRoot, 'deploy'), { recursive: true });
  mkdirSync(path.join(appRoot, 'jobs'));
  copyFileSync(path.join(REPO_ROOT, 'deploy', 'cron.sh'), path.join(appRoot, 'deploy', 'cron.sh'));
  chmodSync(path.join(appRoot, 'deploy', 'cron.sh'), 0o755);
  writeFileSync(path.join(appRoot, 'jobs', 'report.js'), JOB);
  for (const version of versions) {
    const venv = nodevenv(version);
    mkdirSync(path.join(venv, 'bin'), { recursive: true });
    mkdirSync(path.join(venv, 'lib', 'node_modules', 'left-pad'), { recursive: true });
    writeFileSync(path.join(venv, 'lib', 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
    // As CloudLinux's: a script to source, which puts the nodevenv's bin/ first on PATH.
    writeFileSync(
      path.join(venv, 'bin', 'activate'),
      `# This file must be used with "source bin/activate" *from bash*
deactivate () {
  PATH="$_OLD_VIRTUAL_PATH"; export PATH; unset CL_VIRTUAL_ENV _OLD_VIRTUAL_PATH
}
CL_VIRTUAL_ENV="${venv}"
export CL_VIRTUAL_ENV
_OLD_VIRTUAL_PATH="$PATH"
PATH="$CL_VIRTUAL_ENV/bin:$PATH"
export PATH
`,
    );
    writeFileSync(
      path.join(venv, 'bin', 'node'),
      `#!/bin/sh\nNODEVENV_NODE=${version} exec ${JSON.stringify(process.execPath)} "$@"\n`,
    );
    chmodSync(path.join(venv, 'bin', 'node'), 0o755);
  }
  return { home, appRoot, nodevenv };
}

/** Runs the app's deploy/cron.sh as cron would: its PATH, HOME, and nothing else. */
function cron(home: string, appRoot: string, args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(path.join(appRoot, 'deploy', 'cron.sh'), args, {
    cwd: home,
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: home, SHELL: '/bin/sh', ...env },
  });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return { ...result, job: result.status === 0 && line.startsWith('{') ? JSON.parse(line) : undefined };
}

describe('deploy/cron.sh', () => {
  it('runs the job with the nodevenv that node_modules links to, in the app root, with its arguments', () => {
    const { home, appRoot, nodevenv } = setUp(['20', '22']);
    symlinkSync(path.join(nodevenv('22'), 'lib', 'node_modules'), path.join(appRoot, 'node_modules'));
    const run = cron(home, appRoot, ['jobs/report.js', 'a b', '--all']);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.job, {
      node: '22',
      cwd: appRoot,
      args: ['a b', '--all'],
      module: path.join('..', 'nodevenv', APP, '22', 'lib', 'node_modules', 'left-pad', 'index.js'),
    });
    assert.equal(run.stderr, '');

    // The job's exit status is the wrapper's (cron mails or logs a failure).
    assert.equal(cron(home, appRoot, ['jobs/report.js'], { JOB_EXIT: '3' }).status, 3);
    // An absolute script path works the same.
    assert.equal(cron(home, appRoot, [path.join(appRoot, 'jobs', 'report.js')]).job?.node, '22');
  });

  it('finds the only nodevenv of the app when node_modules is not a link into one', () => {
    const { home, appRoot } = setUp(['24']);
    mkdirSync(path.join(appRoot, 'node_modules', 'left-pad'), { recursive: true });
    writeFileSync(path.join(appRoot, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
    const run = cron(home, appRoot, ['jobs/report.js']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.job?.node, '24');
  });

  it('runs the node on PATH where there is no nodevenv at all', () => {
    const { home, appRoot } = setUp([]);
    mkdirSync(path.join(appRoot, 'node_modules', 'left-pad'), { recursive: true });
    writeFileSync(path.join(appRoot, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
    const run = cron(home, appRoot, ['jobs/report.js'], { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.job?.node, 'not the nodevenv');
  });

  it('refuses to guess between several Node versions, and NODEVENV picks one', () => {
    const { home, appRoot, nodevenv } = setUp(['20', '22']);
    mkdirSync(path.join(appRoot, 'node_modules', 'left-pad'), { recursive: true });
    writeFileSync(path.join(appRoot, 'node_modules', 'left-pad', 'index.js'), 'module.exports = 1;\n');
    const run = cron(home, appRoot, ['jobs/report.js']);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^\[cron\] FAILED: several Node versions in ~?.*nodevenv\/passenger-handoff: set NODEVENV=<one of them>/m,
    );
    const picked = cron(home, appRoot, ['jobs/report.js'], { NODEVENV: nodevenv('20') });
    assert.equal(picked.status, 0, picked.stderr);
    assert.equal(picked.job?.node, '20');
  });

  it('says what is wrong: no script, no such nodevenv', () => {
    const { home, appRoot } = setUp(['22']);
    const usage = cron(home, appRoot, []);
    assert.equal(usage.status, 1);
    assert.match(usage.stderr, /usage: deploy\/cron\.sh <script> \[arguments\.\.\.\]/);
    const missing = cron(home, appRoot, ['jobs/nope.js']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /FAILED: no script .*\/jobs\/nope\.js/);
    const wrong = cron(home, appRoot, ['jobs/report.js'], { NODEVENV: path.join(home, 'nodevenv') });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /FAILED: no .*\/nodevenv\/bin\/activate: is NODEVENV a nodevenv folder/);
  });
});
