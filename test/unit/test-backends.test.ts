// HANDOFF_TEST_BACKENDS picks the backends every matrix test runs (`npm run test:fast` and a
// machine without Rust use it): a comma list, all three when unset, an unknown name refused by name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ALL_BACKENDS, parseTestBackends } from '../helpers/backends';

const ROOT = path.resolve(__dirname, '..', '..');

/** Runs `file` with node's test runner on its own (not as a child of this run) with `backends`. */
function runWith(backends: string, file: string) {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...env, HANDOFF_TEST_BACKENDS: backends },
  });
}

describe('HANDOFF_TEST_BACKENDS', () => {
  it('is every backend when unset or empty', () => {
    assert.deepEqual(parseTestBackends(undefined), ['native', 'fastify', 'express']);
    assert.deepEqual(parseTestBackends(''), ALL_BACKENDS);
    assert.deepEqual(parseTestBackends(' , '), ALL_BACKENDS);
  });

  it('is the backends it names, once each, in the usual order', () => {
    assert.deepEqual(parseTestBackends('native,fastify'), ['native', 'fastify']);
    assert.deepEqual(parseTestBackends('express, Native'), ['native', 'express']);
    assert.deepEqual(parseTestBackends('fastify,fastify'), ['fastify']);
  });

  it('refuses an unknown name, naming it', () => {
    assert.throws(
      () => parseTestBackends('native,rust'),
      /unknown backend "rust"; use a comma list of native, fastify, express/,
    );
  });

  it('leaves the other backends out of a matrix; a wrong name fails the run', () => {
    const run = runWith('express', 'test/contract/api.test.ts');
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /(native|fastify) over/, 'no test of native or fastify is even defined');
    assert.match(run.stdout, /express over unix under \/api\/v1/);
    const misnamed = runWith('fastfy', 'test/contract/api.test.ts');
    assert.notEqual(misnamed.status, 0);
    assert.match(misnamed.stdout + misnamed.stderr, /HANDOFF_TEST_BACKENDS names an unknown backend "fastfy"/);
  });
});
