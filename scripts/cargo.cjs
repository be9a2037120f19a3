#!/usr/bin/env node
// `node scripts/cargo.cjs <subcommand> [args]`: cargo on native/Cargo.toml, with `--locked` in CI
// (CI=true or HANDOFF_REQUIRE_NATIVE=1) only, so a crate just added to native/Cargo.toml does not
// trip a developer's `npm test` or `npm run lint`. Without Rust installed it says what it skips
// and succeeds, except in CI, where Rust is required.
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { root, cargoLocked, cargoVersion } = require('./lib/project.cjs');

const [subcommand, ...rest] = process.argv.slice(2);
if (subcommand === undefined) {
  process.stderr.write('usage: node scripts/cargo.cjs <subcommand> [args]\n');
  process.exit(2);
}
if (cargoVersion() === undefined) {
  const what = `cargo ${subcommand} ${rest.join(' ')}`.trim();
  if (cargoLocked()) {
    process.stderr.write(`[cargo] FAILED: Rust is not installed (no \`cargo\` on PATH), and CI needs \`${what}\`.\n`);
    process.exit(1);
  }
  process.stderr.write(`[cargo] skipped \`${what}\`: Rust is not installed (no \`cargo\` on PATH).\n`);
  process.exit(0);
}
// Cargo's own options go before a `--` (what follows it is for the test binary or clippy).
const end = rest.indexOf('--');
const ours = end < 0 ? rest : rest.slice(0, end);
const theirs = end < 0 ? [] : rest.slice(end);
// Subcommands that resolve dependencies take --locked; `cargo fmt` does not.
const resolves = ['build', 'check', 'clippy', 'doc', 'run', 'test', 'bench'].includes(subcommand);
const args = [
  subcommand,
  ...(resolves && cargoLocked() ? ['--locked'] : []),
  '--manifest-path',
  path.join('native', 'Cargo.toml'),
  ...ours,
  ...theirs,
];
const result = spawnSync('cargo', args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
