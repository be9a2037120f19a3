// git push deploy, both ways, as a user does it (README, "Deploying with git"):
// 1. `npm run deploy:branch` in a clone of this repository (the repository under test is never
//    touched): the bundle, committed onto `deploy` without touching the clone's working tree; then
//    the version is bumped in a commit and the branch made again, as a user's next release.
// 2. cPanel's Git Version Control: a non-bare repository in the account, as cPanel creates it
//    (`receive.denyCurrentBranch=updateInstead`, `deploy` checked out); the push runs on the host
//    as the account's user (`--receive-pack` through runuser, as ssh would), then `.cpanel.yml`'s
//    `deployment.tasks` run as cPanel runs them, one shell, in the checkout, as the user.
// 3. A plain SSH host: a bare repository with deploy/post-receive installed, pushed to the same way.
// Each time Apache + mod_passenger serves the app root at /api: the first version on the native
// server, and after the second push and its restart, the new version, the old process having
// stopped cleanly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { loadConfig } from '../../src/config';
import { type ApacheInstance, apacheUnavailable, startApache } from '../helpers/apache';
import { TEST_ENV } from '../helpers/backends';
import { packageBundle, rustUnavailable } from '../helpers/bundle';
import { type Account, createAccount } from '../helpers/cpanel';
import { send } from '../helpers/http';
import { unlessMissing } from '../helpers/util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const V1 = loadConfig({}).version;
const V2 = V1.replace(/^(\d+)\.(\d+)\.(\d+).*$/, (_, major, minor, patch) => `${major}.${minor}.${Number(patch) + 1}`);
const AUTHOR = ['-c', 'user.name=Test User', '-c', 'user.email=user@example.com'];

function git(args: readonly string[], cwd: string): string {
  const result = spawnSync('git', [...AUTHOR, ...args], { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `git ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return result.stdout.trim();
}

interface Built {
  /** The clone the branch was made in. */
  readonly clone: string;
  readonly deploy1: string;
  readonly deploy2: string;
  /** Output of the runs of `npm run deploy:branch`. */
  readonly outputs: string[];
  /** `git status --porcelain`, HEAD and the current branch, before and after each run. */
  readonly states: [string, string][];
}

let work: string | undefined;
let built: Built | undefined;
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The addons of this test run's upload bundle (built once per run, from the same sources). */
function bundleAddons(): string {
  return path.join(packageBundle().dir, `passenger-handoff-${V1}`, 'native');
}

/** `npm run deploy:branch` in `clone`; returns its output. */
function deployBranch(clone: string): string {
  const result = spawnSync('npm', ['run', '--silent', 'deploy:branch'], {
    cwd: clone,
    encoding: 'utf8',
    // The addons are the ones this test run's bundle already holds (test/helpers/bundle.ts), built
    // from these same sources: compiling them again at the clone's path would cost two release
    // builds. package.cjs still checks them; bundle.test.ts tests the build itself.
    env: { ...process.env, HANDOFF_PACKAGE_ADDONS: bundleAddons() },
  });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `npm run deploy:branch failed:\n${output.slice(-3000)}`);
  return output;
}

function repoState(clone: string): string {
  return [
    git(['status', '--porcelain', '--untracked-files=all'], clone),
    git(['rev-parse', 'HEAD'], clone),
    git(['symbolic-ref', 'HEAD'], clone),
  ].join('\n');
}

/**
 * A clone of this repository holding the working tree as it is now (committed or not, as a user's
 * commit), node_modules linked to this one's; `npm run deploy:branch` there, then the version bumped
 * in a commit and the branch made again.
 */
function buildDeployBranch(): Built {
  if (built) return built;
  work = mkdtempSync(path.join(tmpdir(), 'handoff-gitdeploy-'));
  chmodSync(work, 0o755);
  const clone = path.join(work, 'project');
  git(['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone], REPO_ROOT);
  const files = git(['ls-files', '--cached', '--others', '--exclude-standard', '-z'], REPO_ROOT)
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const source = path.join(REPO_ROOT, file);
    if (!lstatSync(source, { throwIfNoEntry: false })?.isFile()) continue;
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    copyFileSync(source, path.join(clone, file));
    chmodSync(path.join(clone, file), lstatSync(source).mode & 0o777);
  }
  git(['add', '--all'], clone);
  git(['commit', '--quiet', '--allow-empty', '-m', 'the working tree under test'], clone);
  spawnSync('ln', ['-s', path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules')]);

  const outputs: string[] = [];
  const states: [string, string][] = [];
  const run = () => {
    const before = repoState(clone);
    outputs.push(deployBranch(clone));
    states.push([before, repoState(clone)]);
    return git(['rev-parse', 'refs/heads/deploy'], clone);
  };
  const deploy1 = run();
  // The user's next release: a version bump, committed.
  for (const file of ['package.json', 'package-lock.json']) {
    const full = path.join(clone, file);
    const json = JSON.parse(readFileSync(full, 'utf8'));
    json.version = V2;
    if (json.packages?.['']) json.packages[''].version = V2;
    writeFileSync(full, `${JSON.stringify(json, null, 2)}\n`);
  }
  git(['commit', '--quiet', '--all', '-m', `release ${V2}`], clone);
  const deploy2 = run();
  built = { clone, deploy1, deploy2, outputs, states };
  return built;
}

/** Pushes `rev` of the clone to `repo` as `refs/heads/deploy`; the receiving side runs as the
 * account's user with a bare environment, as over ssh. Returns the push's output (hooks' included). */
function push(account: Account, clone: string, repo: string, rev: string): string {
  const receivePack = `runuser -u ${account.user} -- env -i HOME=${account.home} PATH=/usr/local/bin:/usr/bin:/bin git receive-pack`;
  const result = spawnSync('git', ['push', '--receive-pack', receivePack, repo, `${rev}:refs/heads/deploy`], {
    cwd: clone,
    encoding: 'utf8',
  });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `git push failed:\n${output}`);
  return output;
}

/** `.cpanel.yml`'s deployment tasks, read from the checked-out tree as cPanel reads them, as one
 * shell script: cPanel runs the lines in order in one shell (an `export` carries over). */
function cpanelTasks(checkout: string): string {
  const manifest = load(readFileSync(path.join(checkout, '.cpanel.yml'), 'utf8')) as {
    deployment?: { tasks?: unknown };
  };
  const tasks = manifest.deployment?.tasks;
  assert.ok(
    Array.isArray(tasks) && tasks.every((task) => typeof task === 'string'),
    '.cpanel.yml has deployment: tasks: as shell lines',
  );
  return tasks.join('\n');
}

/** Runs `.cpanel.yml`'s tasks as cPanel does after a push: in the checkout, as the account's user. */
function runCpanelTasks(account: Account, checkout: string): string {
  return account.run('bash', ['-c', cpanelTasks(checkout)], checkout);
}

interface Health {
  status: string;
  backend: string;
  version: string;
  pid: number;
}

async function health(apache: ApacheInstance): Promise<{ status: number; body?: Health }> {
  const reply = await send({ host: '127.0.0.1', port: apache.port }, { path: '/api/health' });
  return reply.status === 200 ? { status: 200, body: reply.json() as Health } : { status: reply.status };
}

/** Polls /api/health until it reports `version`; every answer on the way must be a 200. */
async function waitForVersion(apache: ApacheInstance, version: string): Promise<Health> {
  const deadline = Date.now() + 60_000;
  const failures: number[] = [];
  for (;;) {
    const answer = await health(apache);
    if (answer.status !== 200) failures.push(answer.status);
    if (answer.body?.version === version) {
      assert.deepEqual(failures, [], 'every request across the deploy was answered 200');
      return answer.body;
    }
    assert.ok(Date.now() < deadline, `the app did not serve ${version} within 60 s (last: ${JSON.stringify(answer)})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('npm run deploy:branch', { skip: unlessMissing(rustUnavailable()) }, () => {
  before(() => {
    buildDeployBranch();
  });

  it('commits the bundle, .cpanel.yml and its script onto deploy', () => {
    assert.ok(built, 'the branch was made');
    const files = git(['ls-tree', '-r', '--name-only', built.deploy1], built.clone).split('\n');
    for (const file of [
      '.cpanel.yml',
      'deploy/cpanel-deploy.sh',
      'app.js',
      'dist/main.js',
      'native/handoff.linux-x64-gnu.node',
      'package.json',
      'package-lock.json',
      '.htaccess',
    ]) {
      assert.ok(files.includes(file), `${file} is on the deploy branch`);
    }
    assert.deepEqual(
      files.filter((file) => /^(src|native\/src|test|scripts|node_modules)\//.test(file)),
      [],
      'no sources, tests or node_modules',
    );
    assert.match(built.outputs[0] ?? '', /\[deploy-branch\] 3\/3 "deploy" is now [0-9a-f]{12}/);
  });

  it('never touches the working tree, the index or the current branch', () => {
    assert.ok(built, 'the branch was made');
    for (const [before, after] of built.states) assert.equal(after, before);
  });

  it('makes each release a child of the last, so pushes fast-forward', () => {
    assert.ok(built, 'the branch was made');
    assert.equal(git(['rev-parse', `${built.deploy2}^`], built.clone), built.deploy1);
    const manifest = JSON.parse(git(['show', `${built.deploy2}:package.json`], built.clone));
    assert.equal(manifest.version, V2);
  });

  it('makes no commit when the bundle has not changed', () => {
    assert.ok(built, 'the branch was made');
    const output = deployBranch(built.clone);
    assert.match(output, /"deploy" already holds this bundle/);
    assert.equal(git(['rev-parse', 'refs/heads/deploy'], built.clone), built.deploy2);
  });
});

describe("cPanel's Git Version Control: push, .cpanel.yml's tasks, Apache serves the new version", {
  skip: unlessMissing(rustUnavailable(), apacheUnavailable()),
}, () => {
  let account: Account | undefined;
  let apache: ApacheInstance | undefined;
  let repo = '';
  const taskOutputs: string[] = [];

  before(async () => {
    const branch = buildDeployBranch();
    account = createAccount();
    // What cPanel's "Create" makes: a repository in the account, pushes update its working tree;
    // `deploy` is the checked-out branch.
    repo = path.join(account.home, 'repositories', 'passenger-handoff');
    account.run('mkdir', ['-p', repo], account.home);
    account.run('git', ['init', '--quiet', repo], account.home);
    account.run('git', ['config', 'receive.denyCurrentBranch', 'updateInstead'], repo);
    account.run('git', ['symbolic-ref', 'HEAD', 'refs/heads/deploy'], repo);
    push(account, branch.clone, repo, branch.deploy1);
    taskOutputs.push(runCpanelTasks(account, repo));
    apache = await startApache({
      appRoot: account.appRoot,
      baseUri: '/api',
      docRoot: account.docRoot,
      user: account.user,
      node: account.node,
      env: TEST_ENV,
    });
  });
  after(async () => {
    await apache?.stop('stop');
    account?.remove();
  });

  it('refuses a checkout that holds sources, not the built app', () => {
    assert.ok(built && account, 'set up');
    const target = mkdtempSync(path.join(tmpdir(), 'handoff-gitdeploy-target-'));
    try {
      // The source branch, deployed by mistake: its .cpanel.yml's tasks, DEPLOYPATH given.
      const result = spawnSync('bash', ['-c', cpanelTasks(built.clone)], {
        cwd: built.clone,
        encoding: 'utf8',
        env: { ...process.env, DEPLOYPATH: target },
      });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /FAILED: this checkout holds no built app .*npm run deploy:branch/);
      assert.deepEqual(spawnSync('ls', ['-A', target], { encoding: 'utf8' }).stdout, '');
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('serves the pushed version with the native server', async () => {
    assert.ok(apache && account, 'Apache is running');
    assert.match(taskOutputs[0] ?? '', /npm install --omit=dev in .*nodevenv/);
    assert.match(taskOutputs[0] ?? '', /\[deploy\] restart requested/);
    const answer = await health(apache);
    assert.equal(answer.status, 200);
    assert.equal(answer.body?.version, V1);
    assert.equal(answer.body?.backend, 'native');
    assert.ok(lstatSync(path.join(account.appRoot, 'node_modules')).isSymbolicLink(), 'node_modules is the link');
  });

  it('leaves the checkout clean, so the next push deploys', () => {
    assert.ok(account, 'set up');
    assert.equal(account.run('git', ['status', '--porcelain', '--untracked-files=all'], repo), '');
  });

  it('serves the next version after a second push, and the old process stopped cleanly', async () => {
    assert.ok(apache && account && built, 'Apache is running');
    const old = await health(apache);
    assert.equal(old.body?.version, V1);
    push(account, built.clone, repo, built.deploy2);
    taskOutputs.push(runCpanelTasks(account, repo));
    assert.match(taskOutputs[1] ?? '', /package.json changed: npm install --omit=dev/);
    const now = await waitForVersion(apache, V2);
    assert.equal(now.backend, 'native');
    assert.notEqual(now.pid, old.body?.pid);
    assert.match(apache.readLog(), new RegExp(`App ${old.body?.pid} output: \\[main\\] stopped`));
    assert.ok(lstatSync(path.join(account.appRoot, 'node_modules')).isSymbolicLink(), 'the link survived');
    assert.equal(account.run('git', ['status', '--porcelain', '--untracked-files=all'], repo), '');
  });
});

describe('a plain SSH host: bare repository with deploy/post-receive, Apache serves the new version', {
  skip: unlessMissing(rustUnavailable(), apacheUnavailable()),
}, () => {
  let account: Account | undefined;
  let apache: ApacheInstance | undefined;
  let bare = '';
  const pushOutputs: string[] = [];

  before(async () => {
    const branch = buildDeployBranch();
    account = createAccount();
    bare = path.join(account.home, 'repos', 'passenger-handoff.git');
    account.run('git', ['init', '--quiet', '--bare', bare], account.home);
    const hook = path.join(bare, 'hooks', 'post-receive');
    copyFileSync(path.join(REPO_ROOT, 'deploy', 'post-receive'), hook);
    chmodSync(hook, 0o755);
    spawnSync('chown', [account.user, hook]);
    account.run('git', ['config', 'deploy.appRoot', account.appRoot], bare);
    pushOutputs.push(push(account, branch.clone, bare, branch.deploy1));
    apache = await startApache({
      appRoot: account.appRoot,
      baseUri: '/api',
      docRoot: account.docRoot,
      user: account.user,
      node: process.execPath,
      env: TEST_ENV,
    });
  });
  after(async () => {
    await apache?.stop('stop');
    account?.remove();
  });

  it('checks out, runs npm ci and serves the pushed version with the native server', async () => {
    assert.ok(apache && account, 'Apache is running');
    assert.match(pushOutputs[0] ?? '', /\[deploy\] dependencies changed: npm ci --omit=dev/);
    assert.match(pushOutputs[0] ?? '', /\[deploy\] deployed [0-9a-f]{12}; restart requested/);
    const answer = await health(apache);
    assert.equal(answer.status, 200);
    assert.equal(answer.body?.version, V1);
    assert.equal(answer.body?.backend, 'native');
  });

  it('serves the next version after a second push, and the old process stopped cleanly', async () => {
    assert.ok(apache && account && built, 'Apache is running');
    const old = await health(apache);
    assert.equal(old.body?.version, V1);
    // The app root's own .htaccess (the branch's holds placeholders) survives the checkout.
    const mine = path.join(account.appRoot, '.htaccess');
    assert.match(readFileSync(mine, 'utf8'), /PassengerAppRoot "\/home\/USER\//, 'the first push brought one');
    account.run('sh', ['-c', `printf '# mine\\nSetEnv MINE 1\\n' > ${mine}`], account.home);
    pushOutputs.push(push(account, built.clone, bare, built.deploy2));
    assert.match(pushOutputs[1] ?? '', /\[deploy\] deployed/);
    assert.equal(readFileSync(mine, 'utf8'), '# mine\nSetEnv MINE 1\n', 'the app root keeps its .htaccess');
    assert.deepEqual(
      readdirSync(account.appRoot).filter((name) => name.startsWith('.htaccess.')),
      [],
      'nothing left beside it',
    );
    const now = await waitForVersion(apache, V2);
    assert.equal(now.backend, 'native');
    assert.notEqual(now.pid, old.body?.pid);
    assert.match(apache.readLog(), new RegExp(`App ${old.body?.pid} output: \\[main\\] stopped`));
  });

  it('ignores pushes of other branches', () => {
    assert.ok(account && built, 'set up');
    const receivePack = `runuser -u ${account.user} -- env -i HOME=${account.home} PATH=/usr/bin:/bin git receive-pack`;
    const result = spawnSync(
      'git',
      ['push', '--receive-pack', receivePack, bare, `${built.deploy1}:refs/heads/other`],
      {
        cwd: built.clone,
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /\[deploy\]/);
    const deployed = JSON.parse(readFileSync(path.join(account.appRoot, 'package.json'), 'utf8'));
    assert.equal(deployed.version, V2, 'the app root still holds the deploy branch');
  });
});
