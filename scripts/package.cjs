#!/usr/bin/env node
// `npm run package`: builds the upload bundle for shared hosting,
//   release/passenger-handoff-<version>/      (the tree, as it goes into the app root)
//   release/passenger-handoff-<version>.zip   (the same files at its top, to extract in the app root)
// holding app.js, dist/, the native addon for linux-x64-gnu linked against glibc 2.17 (CloudLinux 7
// and newer), package.json and package-lock.json with runtime dependencies only and no install
// scripts, .htaccess and DEPLOY.md. No node_modules, sources or dev dependencies.
//
// The addon is built with napi-rs's `--use-napi-cross` (a gcc 4.8 toolchain with a glibc 2.17
// sysroot, from the npm package @napi-rs/cross-toolchain-x64-target-x86_64). @napi-rs/cli would
// fetch that toolchain with `npm pack <package>@<its own version>`, a version that does not exist
// for x86_64 (docs/hosting.md); so the toolchain comes from the devDependency and is unpacked into the
// cache folder @napi-rs/cli looks in first. The step fails if the binary needs a glibc above 2.17.
// Set HANDOFF_PACKAGE_NO_NATIVE=1 to build a bundle without the addon (it serves on the fallback).
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { homedir } = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const TRIPLE = 'x86_64-unknown-linux-gnu';
const ADDON = 'handoff.linux-x64-gnu.node';
/** The oldest glibc the bundle must load on: CloudLinux / RHEL 7. */
const MAX_GLIBC = [2, 17];
const STEPS = 6;
let step = 0;

const say = (message) => process.stderr.write(`[package] ${message}\n`);
const progress = (message) => say(`${++step}/${STEPS} ${message}`);

function fail(message) {
  say(`FAILED: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const name = `${manifest.name}-${manifest.version}`;
// `--out-dir DIR` (tests) puts both somewhere else than release/.
const outIndex = process.argv.indexOf('--out-dir');
const releaseDir =
  outIndex > 0 && process.argv[outIndex + 1] ? path.resolve(process.argv[outIndex + 1]) : path.join(root, 'release');
const stage = path.join(releaseDir, name);
const zipFile = path.join(releaseDir, `${name}.zip`);
const withNative = process.env.HANDOFF_PACKAGE_NO_NATIVE !== '1';

async function main() {
  progress('compiling TypeScript into dist/');
  run('npm', ['run', '--silent', 'build:ts']);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.rmSync(zipFile, { force: true });
  fs.mkdirSync(path.join(stage, 'native'), { recursive: true });

  if (withNative) {
    progress(`building the native addon for ${TRIPLE} against glibc 2.17 (the first build takes a few minutes)`);
    buildNative(path.join(stage, 'native'));
    progress('checking the glibc symbol versions the addon needs');
    checkGlibc(path.join(stage, 'native', ADDON));
  } else {
    progress('HANDOFF_PACKAGE_NO_NATIVE=1: no native addon; the bundle serves with the fallback');
    progress('(no glibc check without the addon)');
  }

  progress('copying app.js, dist/, .htaccess, DEPLOY.md and a runtime-only package.json');
  copyFiles();
  progress('writing package-lock.json with runtime dependencies only');
  writeLockfile();
  progress(`zipping into ${path.relative(root, zipFile)}`);
  await zip(stage, zipFile);
  say(`done: ${path.relative(root, stage)}/ and ${path.relative(root, zipFile)} (${fileSize(zipFile)})`);
}

function buildNative(outputDir) {
  if (spawnSync('cargo', ['--version']).status !== 0) {
    fail(
      'Rust is not installed here (no `cargo` on PATH); the bundle needs it to build the addon. Install Rust (https://rustup.rs), or set HANDOFF_PACKAGE_NO_NATIVE=1 for a fallback-only bundle.',
    );
  }
  seedCrossToolchain();
  run('npx', [
    'napi',
    'build',
    '--platform',
    '--release',
    '--use-napi-cross',
    '--target',
    TRIPLE,
    '--manifest-path',
    'native/Cargo.toml',
    '--package-json-path',
    'package.json',
    '--output-dir',
    outputDir,
    '--no-js',
    '--',
    '--locked',
  ]);
  // napi writes the type definitions next to the addon; the bundle does not need them.
  for (const file of fs.readdirSync(outputDir)) {
    if (file !== ADDON) fs.rmSync(path.join(outputDir, file), { recursive: true, force: true });
  }
  if (!fs.existsSync(path.join(outputDir, ADDON))) fail(`the build produced no ${ADDON}`);
}

/** Unpacks the toolchain from the devDependency where @napi-rs/cli looks before downloading. */
function seedCrossToolchain() {
  let archive;
  let version;
  try {
    archive = require(`@napi-rs/cross-toolchain-x64-target-x86_64`).toolchainPath;
    version = require('@napi-rs/cross-toolchain/package.json').version;
  } catch (error) {
    fail(`the glibc 2.17 toolchain package is missing (${error.message}); run \`npm install\` first.`);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the glibc 2.17 toolchain runs on Linux x64 only, not ${process.platform}-${process.arch}.`);
  }
  const dest = path.join(homedir(), '.napi-rs', 'cross-toolchain', version, TRIPLE);
  if (fs.existsSync(path.join(dest, 'package.json'))) return;
  say(`    unpacking the toolchain into ${dest}`);
  // System tar and xz: @napi-rs/lzma's own binary is an optional dependency the lockfile may lack.
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const unpacked = spawnSync('tar', ['-xJf', archive, '-C', dest], { stdio: 'inherit' });
  if (unpacked.status !== 0) {
    fs.rmSync(dest, { recursive: true, force: true });
    fail(`could not unpack ${archive} with \`tar -xJf\` (is xz installed?)`);
  }
}

function checkGlibc(file) {
  const objdump = path.join(homedir(), '.napi-rs', 'cross-toolchain');
  const tool = findFile(objdump, `${TRIPLE}-objdump`);
  const result = spawnSync(tool ?? 'objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) fail(`objdump -T ${file} failed: ${result.stderr || result.error?.message}`);
  const versions = [...new Set(result.stdout.match(/GLIBC_[0-9.]+/g) ?? [])]
    .map((text) => text.slice('GLIBC_'.length).split('.').map(Number))
    .sort(compareVersions);
  const highest = versions.at(-1);
  if (!highest) fail(`no GLIBC_ symbol versions in ${file}: not a glibc binary?`);
  const shown = highest.join('.');
  if (compareVersions(highest, MAX_GLIBC) > 0) {
    fail(`the addon needs GLIBC_${shown}, above ${MAX_GLIBC.join('.')}: it would not load on CloudLinux 7.`);
  }
  say(`    highest glibc symbol version: GLIBC_${shown} (limit ${MAX_GLIBC.join('.')})`);
}

function compareVersions(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function findFile(dir, fileName) {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.name === fileName && !entry.isDirectory()) return path.join(entry.parentPath ?? entry.path, entry.name);
  }
  return undefined;
}

function copyFiles() {
  fs.copyFileSync(path.join(root, 'app.js'), path.join(stage, 'app.js'));
  fs.copyFileSync(path.join(root, '.htaccess'), path.join(stage, '.htaccess'));
  fs.copyFileSync(path.join(root, 'deploy', 'DEPLOY.md'), path.join(stage, 'DEPLOY.md'));
  // Compiled JavaScript only: no type declarations or source maps (they point at sources not shipped).
  fs.cpSync(path.join(root, 'dist'), path.join(stage, 'dist'), {
    recursive: true,
    filter: (file) => !/\.(d\.ts|map)$/.test(file),
  });
  fs.chmodSync(path.join(stage, 'dist', 'cli.js'), 0o755);
  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(runtimeManifest(), null, 2)}\n`);
}

/** package.json for the host: what the app needs to run, nothing that builds at install time. */
function runtimeManifest() {
  const { name, version, description, license, main, bin, engines, dependencies } = manifest;
  return {
    name,
    version,
    description,
    license,
    private: true,
    main,
    bin,
    engines,
    // `start`, and `doctor` for the panel's "Run JS Script" (no SSH needed). Nothing that runs at
    // install: "Run NPM Install" must not try to compile anything (no prepare, no install).
    scripts: { start: 'node app.js', doctor: 'node dist/cli.js doctor' },
    dependencies,
  };
}

function writeLockfile() {
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(stage, 'package-lock.json'));
  // Starting from the project's lockfile, npm drops the dev dependencies and keeps every runtime
  // version as it is; nothing is installed.
  run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: stage,
    env: { ...process.env, npm_config_omit_lockfile_registry_resolved: 'true' },
  });
}

function zip(dir, file) {
  const yazl = require('yazl');
  const archive = new yazl.ZipFile();
  const add = (relative) => {
    const full = path.join(dir, relative);
    const stat = fs.statSync(full);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(full).sort()) add(path.join(relative, entry));
    } else {
      archive.addFile(full, relative, { mode: stat.mode });
    }
  };
  for (const entry of fs.readdirSync(dir).sort()) add(entry);
  archive.end();
  return new Promise((resolve, reject) => {
    archive.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject);
  });
}

function fileSize(file) {
  return `${(fs.statSync(file).size / 1024 / 1024).toFixed(1)} MiB`;
}

main().catch((error) => fail(error.stack ?? String(error)));
