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
    for (const [code, { status, message }] of Object.entries(CATALOGUE_FILE)) {
      // `| \`payload_too_large\` | 413 | The request body is larger than the limit of {limit} bytes. |`
      assert.match(
        readme,
        new RegExp(`^\\| \`${code}\` \\| ${status} \\| ${literal(message)} \\|`, 'm'),
        `${code} (${status}, "${message}") is in the error table`,
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
