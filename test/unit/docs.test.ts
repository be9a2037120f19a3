// The README is the front door: every error of the catalogue (src/api/errors.json: code, status
// and message) and every environment variable the app reads must be in its tables (fastify's
// errors test does the same for its codes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CATALOGUE_FILE } from '../helpers/expect';

const ROOT = path.resolve(__dirname, '..', '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('lists every error code with its status and message', () => {
    const literal = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    // A row starts `| \`payload_too_large\` | 413 | The request body is larger than the limit of {limit} bytes. |`
    const missing = Object.entries(CATALOGUE_FILE)
      .map(([code, { status, message }]) => `| \`${code}\` | ${status} | ${message} |`)
      .filter((row) => !new RegExp(`^${literal(row)}`, 'm').test(readme));
    assert.deepEqual(missing, [], 'rows missing from the error table (or with another status or message)');
  });

  it('lists every environment variable src/config.ts reads', () => {
    const source = readFileSync(path.join(ROOT, 'src', 'config.ts'), 'utf8');
    const names = new Set([
      ...[...source.matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]),
      ...[...source.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]),
    ]);
    assert.ok(names.size >= 10, `found the variables (${[...names].join(', ')})`);
    const missing = [...names].filter((name) => !new RegExp(`^\\| \`${name}\` \\|`, 'm').test(readme));
    assert.deepEqual(missing, [], 'variables missing from the configuration table');
  });
});
