#!/usr/bin/env node
// `npm run build:ts`: compiles src/ into dist/ (tsconfig.build.json), then deletes what dist/ still
// holds from sources that no longer exist (a removed demo, a renamed file), so that neither the
// app nor `npm run package` carries compiled code nobody can see in src/, and copies the files of src/
// the app reads at run time that tsc leaves out (SQL migrations). Extra arguments go to tsc.
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { root, pruneDist, copyAssets } = require('./lib/project.cjs');

const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) process.exit(result.status ?? 1);
for (const file of pruneDist()) {
  process.stderr.write(`[build] removed ${path.relative(root, file)} (its source is gone)\n`);
}
copyAssets();
