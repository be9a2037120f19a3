#!/usr/bin/env node
// `npm run deploy:branch`: builds the upload bundle (`npm run package`) and commits it, with
// `.cpanel.yml` and `deploy/cpanel-deploy.sh`, as the next commit of the branch `deploy` (or
// `--branch NAME`). Push that branch to the host; the host needs no Rust and builds nothing.
//
// Your working tree, index and current branch are never touched: the commit is made with git's
// plumbing (a temporary index, `git write-tree`, `git commit-tree`, `git update-ref`) from the
// bundle's folder. Each deploy commit has the previous one as its parent, so pushes fast-forward.
// A bundle identical to the branch's last commit makes no new commit.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const say = (message) => process.stderr.write(`[deploy-branch] ${message}\n`);

function fail(message) {
  say(`FAILED: ${message}`);
  process.exit(1);
}

const branchIndex = process.argv.indexOf('--branch');
const branch = branchIndex > 0 ? process.argv[branchIndex + 1] : 'deploy';
if (!branch) fail('--branch needs a name');

function git(args, options = {}) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8', ...options });
  if (result.error) fail(`git could not run: ${result.error.message}`);
  if (result.status !== 0) fail(`git ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

function tryGit(args) {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

if (tryGit(['rev-parse', '--is-inside-work-tree']) !== 'true') fail(`${root} is not a git repository`);
if (spawnSync('git', ['check-ref-format', '--branch', branch], { cwd: root }).status !== 0) {
  fail(`"${branch}" is not a valid branch name`);
}
const current = tryGit(['symbolic-ref', '--quiet', '--short', 'HEAD']);
if (current === branch) fail(`you are on "${branch}"; run this from your source branch`);

const work = fs.mkdtempSync(path.join(tmpdir(), 'handoff-deploy-branch-'));
// fail() exits at once: clean up on exit, whatever happens.
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
main(work);

function main(work) {
  say(`1/3 building the bundle (npm run package)`);
  const packaged = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.cjs'), '--out-dir', work], {
    cwd: root,
    stdio: 'inherit',
  });
  if (packaged.status !== 0) fail('npm run package failed (see above)');
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const tree = path.join(work, `${manifest.name}-${manifest.version}`);
  fs.copyFileSync(path.join(root, '.cpanel.yml'), path.join(tree, '.cpanel.yml'));
  fs.mkdirSync(path.join(tree, 'deploy'), { recursive: true });
  fs.copyFileSync(path.join(root, 'deploy', 'cpanel-deploy.sh'), path.join(tree, 'deploy', 'cpanel-deploy.sh'));
  fs.chmodSync(path.join(tree, 'deploy', 'cpanel-deploy.sh'), 0o755);

  say(`2/3 committing the bundle onto "${branch}" (your working tree stays as it is)`);
  // A temporary index: the user's own index is never read or written. -f: the repository's
  // ignore rules (dist/, *.node) must not drop built files.
  const env = { ...process.env, GIT_INDEX_FILE: path.join(work, 'index') };
  git(['--work-tree', tree, 'add', '--all', '--force', '.'], { env });
  const treeId = git(['write-tree'], { env });
  const parent = tryGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
  if (parent && tryGit(['rev-parse', `${parent}^{tree}`]) === treeId) {
    say(`3/3 "${branch}" already holds this bundle (${parent.slice(0, 12)}): nothing to commit`);
    return;
  }
  const source = tryGit(['rev-parse', 'HEAD']) ?? 'no commit yet';
  const dirty = tryGit(['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
  const message = `deploy: ${manifest.name} ${manifest.version}\n\nBuilt by npm run deploy:branch from ${source}${dirty}.\n`;
  const commit = git(['commit-tree', treeId, ...(parent ? ['-p', parent] : [])], { input: message });
  git(['update-ref', '-m', 'deploy:branch', `refs/heads/${branch}`, commit, ...(parent ? [parent] : [''])]);
  say(`3/3 "${branch}" is now ${commit.slice(0, 12)} (${manifest.name} ${manifest.version})`);
  say(`push it: git push <remote> ${branch}`);
}
