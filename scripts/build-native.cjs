#!/usr/bin/env node
// `npm run build:native`: builds the addon into native/handoff.<platform>.node (release, as
// deployed) and refreshes native/index.d.ts.
//   --debug            a debug build: seconds after an edit instead of a fat-LTO release build
//   --output-dir DIR   put the addon (and index.d.ts) in DIR instead of native/
// Cargo runs with `--locked` in CI (CI=true or HANDOFF_REQUIRE_NATIVE=1) only: anywhere else a
// crate added to native/Cargo.toml is resolved into Cargo.lock by this build (commit both).
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { root, cargoLocked } = require('./lib/project.cjs');

const args = process.argv.slice(2);
const debug = args.includes('--debug');
const outIndex = args.indexOf('--output-dir');
const outputDir = outIndex >= 0 && args[outIndex + 1] ? path.resolve(args[outIndex + 1]) : path.join(root, 'native');

const napi = [
  'build',
  '--platform',
  ...(debug ? [] : ['--release']),
  '--manifest-path',
  'native/Cargo.toml',
  '--package-json-path',
  'package.json',
  '--output-dir',
  outputDir,
  '--dts',
  'index.d.ts',
  '--no-js',
  '--',
  ...(cargoLocked() ? ['--locked'] : []),
  '--lib',
];
const manifest = require.resolve('@napi-rs/cli/package.json');
const { bin: bins } = require(manifest);
const bin = path.join(path.dirname(manifest), typeof bins === 'string' ? bins : bins.napi);
const result = spawnSync(process.execPath, [bin, ...napi], { cwd: root, stdio: 'inherit' });
if (result.error) {
  process.stderr.write(`[build] napi could not run: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
