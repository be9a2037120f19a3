// The upload bundle (`npm run package`), built once per `npm test` run and shared by the test files
// that need it (bundle.test.ts, node-versions.test.ts): each build is two release builds of the
// addon (x64 and arm64), minutes each. scripts/test.cjs names the run (HANDOFF_TEST_RUN, a fresh
// folder it removes at the end); within a run the sources do not change, so one bundle serves every
// file. A file run on its own (no HANDOFF_TEST_RUN) builds its own and removes it when done.
// The bundle is read-only for the tests: copy or extract it before changing anything in it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { REPO_ROOT } from './app-process';

export interface Bundle {
  /** The folder `npm run package --out-dir` wrote: `<name>/` and `<name>.zip`. */
  readonly dir: string;
  /** What `npm run package` printed. */
  readonly output: string;
}

let built: Bundle | undefined;

/** Why the bundle cannot be built here (no Rust toolchain), or undefined; for a suite's `skip`
 * with unlessMissing (test/helpers/util.ts). */
export function rustUnavailable(): string | undefined {
  return spawnSync('cargo', ['--version']).status === 0
    ? undefined
    : 'no Rust toolchain: the bundle holds the native addon';
}

/** Builds the bundle, or returns the one this test run already built. Fails if the build fails. */
export function packageBundle(): Bundle {
  if (built) return built;
  const run = process.env.HANDOFF_TEST_RUN;
  const shared = run ? path.join(run, 'bundle') : undefined;
  const log = shared ? path.join(shared, '.package-output') : undefined;
  if (shared && log && existsSync(log)) {
    built = { dir: shared, output: readFileSync(log, 'utf8') };
    return built;
  }
  let dir: string;
  if (shared) {
    rmSync(shared, { recursive: true, force: true });
    mkdirSync(shared, { recursive: true });
    dir = shared;
  } else {
    dir = mkdtempSync(path.join(tmpdir(), 'handoff-release-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
  }
  const result = spawnSync('npm', ['run', '--silent', 'package', '--', '--out-dir', dir], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, `npm run package failed:\n${output.slice(-3000)}`);
  // Written last: a build that failed half-way is never taken for a finished one.
  if (log) writeFileSync(log, output);
  built = { dir, output };
  return built;
}
