#!/usr/bin/env node
// Runs the Node test files with node's own test runner (TypeScript through tsx). Node 20 does
// not expand globs itself, so the files are listed here. Pass files or folders to run only those
// (a folder that does not exist, such as test/examples once the demo is removed, is skipped with a
// line); with none, every test/**/*.test.ts runs.
//
// It never tests a stale build: first it compiles dist/ again when a TypeScript source is newer
// (tests run `node app.js`, which loads dist/), and builds the native addon again when a Rust
// source is newer than native/handoff.<platform>.node. Without Rust installed a stale addon is an
// error (delete it, or install Rust); a missing one makes the native tests skip (except in CI).
//
// HANDOFF_TEST_BACKENDS=native,fastify (a comma list; default: all three) picks the backends the
// in-process matrix tests run on; it reaches the tests through the environment.
'use strict';

const { spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, readdirSync, rmSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { root, cargoVersion, staleTypeScript, staleNative, addonPath, npmRun } = require('./lib/project.cjs');

const say = (message) => process.stderr.write(`[test] ${message}\n`);

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return findTests(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

function selectFiles(args) {
  if (args.length === 0) return findTests(path.join(root, 'test')).sort();
  return args.flatMap((arg) => {
    const full = path.resolve(arg);
    if (!existsSync(full)) {
      if (arg.endsWith('.ts')) return [full]; // let the runner report the missing file
      say(`${arg} does not exist: no tests there`);
      return [];
    }
    return statSync(full).isDirectory() ? findTests(full).sort() : [full];
  });
}

/** Builds again what is older than its sources; exits when that cannot be done. */
function ensureFreshBuild() {
  const ts = staleTypeScript();
  if (ts !== undefined) {
    say(`compiling TypeScript first: ${ts}`);
    if (npmRun('build:ts') !== 0) {
      say('TypeScript did not compile; see the errors above.');
      process.exit(1);
    }
  }
  const native = staleNative();
  if (native === undefined) return;
  const missing = !existsSync(addonPath());
  if (cargoVersion() === undefined) {
    if (missing) {
      say(`no native addon and no Rust (\`cargo\`): the native tests skip themselves${ci ? ' (not in CI)' : ''}`);
      return;
    }
    say(`the native addon is stale (${native}) and Rust is not installed to build it again:`);
    say(
      `install Rust and run \`npm run build:native\`, or delete ${path.relative(root, addonPath())} to test without it.`,
    );
    process.exit(1);
  }
  say(`building the native addon first (release, as deployed; minutes): ${native}`);
  if (npmRun('build:native') !== 0) {
    say('the native addon did not build; see the errors above. Fix them, or run `npm run build:native` to retry.');
    process.exit(1);
  }
}

const ci = process.env.CI === 'true';
const files = selectFiles(process.argv.slice(2));
if (files.length === 0) {
  say('no test files selected');
  process.exit(1);
}
ensureFreshBuild();
// What the test files of this run share (test/helpers/bundle.ts: the upload bundle, built once),
// removed when the run ends.
const run = mkdtempSync(path.join(tmpdir(), 'handoff-test-run-'));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, HANDOFF_TEST_RUN: run } },
);
rmSync(run, { recursive: true, force: true });
process.exit(result.status ?? 1);
