// The README is the front door: every error code and every environment variable the app reads
// must be in its tables (fastify's errors test does the same for its codes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CATALOGUE } from '../../src/api/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('lists every error code with its status', () => {
    for (const { code, status } of ERROR_CATALOGUE) {
      assert.match(
        readme,
        new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'),
        `${code} (${status}) is in the error table`,
      );
    }
  });

  it('lists every environment variable src/config.ts reads', () => {
    const source = readFileSync(path.join(ROOT, 'src', 'config.ts'), 'utf8');
    const names = new Set([
      ...[...source.matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]),
      ...[...source.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]),
    ]);
    assert.ok(names.size >= 10, `found the variables (${[...names].join(', ')})`);
    for (const name of names) {
      assert.match(readme, new RegExp(`^\\| \`${name}\` \\|`, 'm'), `${name} is in the configuration table`);
    }
  });
});
