// scripts/build-ts.cjs bundles some files of dist/ (docs/performance.md, "Cold start"), and
// scripts/test.cjs compiles dist/ again when one of them is not bundled: `npm run dev`'s
// tsc --watch writes them back as plain tsc output, and a test run must not take that for a build.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const project = require('../../scripts/lib/project.cjs') as {
  root: string;
  BUNDLED: string[];
  BUNDLE_BANNER: string;
  isBundled(file: string): boolean;
};

describe('the bundled files of dist/', () => {
  it('are bundled in the dist/ the tests run (scripts/test.cjs builds it so)', () => {
    for (const file of project.BUNDLED) {
      assert.ok(project.isBundled(path.join(project.root, 'dist', file)), `dist/${file} starts with the banner`);
    }
  });

  it('tells a bundled file from the same file as tsc writes it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'handoff-bundled-'));
    try {
      const bundled = path.join(dir, 'bundled.js');
      const plain = path.join(dir, 'plain.js');
      writeFileSync(bundled, `${project.BUNDLE_BANNER}\n"use strict";\n`);
      writeFileSync(plain, '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n');
      assert.equal(project.isBundled(bundled), true);
      assert.equal(project.isBundled(plain), false);
      assert.equal(project.isBundled(path.join(dir, 'missing.js')), true, 'nothing there, nothing to rebuild');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
