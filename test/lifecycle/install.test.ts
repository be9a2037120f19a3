// `npm install` runs scripts/build.cjs through `prepare`. Where Rust is missing or the native
// build fails (a laptop, a host's "Run NPM Install"), it must still succeed, say so plainly,
// and leave an app that serves with the fallback.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from '../helpers/app-process';

/** A PATH holding only node and npm, plus whatever `extra` files are written into it. */
function pathWithout(extra: Record<string, string> = {}): string {
  const bin = tempDir();
  for (const tool of ['node', 'npm']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(found, path.join(bin, tool));
  }
  for (const [name, script] of Object.entries(extra)) {
    writeFileSync(path.join(bin, name), script);
    chmodSync(path.join(bin, name), 0o755);
  }
  // npm's own shebang (`#!/usr/bin/env node`) needs `env`, which lives in /usr/bin with no cargo.
  return `${bin}:/usr/bin:/bin`;
}

function build(pathValue: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['scripts/build.cjs'], {
    cwd: REPO_ROOT,
    env: { PATH: pathValue, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const FAILING_CARGO = `#!/bin/sh
if [ "$1" = "--version" ]; then echo "cargo 1.0.0 (a stand-in that fails)"; exit 0; fi
echo "error: this cargo always fails" >&2
exit 101
`;

describe('npm install without a working Rust toolchain', () => {
  it('succeeds without cargo and says the fallback will serve', () => {
    const { status, output } = build(pathWithout());
    assert.equal(status, 0, output);
    assert.match(output, /\[build\] native addon NOT built: Rust is not installed here \(no `cargo` on PATH\)\./);
    assert.match(output, /\[build\] The app still works: it serves the same API with the fastify fallback\./);
  });

  it('succeeds when the native build fails, and says so', () => {
    const { status, output } = build(pathWithout({ cargo: FAILING_CARGO }));
    assert.equal(status, 0, output);
    assert.match(output, /\[build\] native addon NOT built: the native build failed; see the errors above\./);
  });

  it('fails with HANDOFF_REQUIRE_NATIVE=1, as CI wants', () => {
    const { status, output } = build(pathWithout(), { HANDOFF_REQUIRE_NATIVE: '1' });
    assert.equal(status, 1, output);
    assert.match(output, /HANDOFF_REQUIRE_NATIVE=1 is set, so this is an error\./);
  });
});
