// scripts/build-ts.cjs bundles some files of dist/ (docs/performance.md, "Cold start"), and
// scripts/test.cjs compiles dist/ again when one of them is not bundled: `npm run dev`'s
// tsc --watch writes them back as plain tsc output, and a test run must not take that for a build.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('have each of their modules compiled with the file, so that the compile cache holds it', () => {
    for (const file of project.BUNDLED) {
      const code = readFileSync(path.join(project.root, 'dist', file), 'utf8');
      const modules = code.split('= __commonJS({').length - 1;
      const eager = code.match(/= __commonJS\(\{\n {2}"[^"\n]+": \(function\(/g)?.length ?? 0;
      assert.ok(modules > 0, `dist/${file} holds CommonJS modules`);
      assert.equal(eager, modules, `every module of dist/${file} is a parenthesised function (scripts/build-ts.cjs)`);
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
