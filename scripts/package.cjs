#!/usr/bin/env node
// `npm run package`: builds the upload bundle for shared hosting,
//   release/passenger-handoff-<version>/      (the tree, as it goes into the app root)
//   release/passenger-handoff-<version>.zip   (the same files at its top, to extract in the app root)
// holding app.js, dist/, the native addons for linux-x64-gnu and linux-arm64-gnu, both linked
// against glibc 2.17 (CloudLinux 7 and newer), package.json and package-lock.json with runtime
// dependencies only and no install scripts, .htaccess, DEPLOY.md, and deploy/update.sh (the zip
// update), deploy/cron.sh (cron jobs in the nodevenv), deploy/systemd/ and deploy/nginx/ (a VPS). No node_modules, sources or
// dev dependencies. The app loads the addon named for its process.arch.
//
// Each addon is built with napi-rs's `--use-napi-cross` (a gcc 4.8 toolchain with a glibc 2.17
// sysroot, from the npm packages @napi-rs/cross-toolchain-x64-target-x86_64 and
// -x64-target-aarch64). @napi-rs/cli would fetch that toolchain with `npm pack <package>@<its own
// version>`, a version that does not exist for either (docs/hosting.md); so the toolchain comes from
// the devDependency and is unpacked into the cache folder @napi-rs/cli looks in first. The step
// fails if a binary is not for its architecture or needs a glibc above 2.17.
//
// The arm64 addon needs a Rust compiler with an aarch64 standard library: Debian 12's rustc-web
// (/usr/bin/rustc, 1.96) with libstd-rust-web-dev:arm64 from multiarch, installed by
// `bash scripts/install-system-deps.sh arm64` (rustup cannot add the target here). Without them the
// bundle is built for x64 only and one line says so; in CI (CI=true) that is a failure.
// HANDOFF_ARM64_RUSTC names another compiler with that std.
// Set HANDOFF_PACKAGE_NO_NATIVE=1 to build a bundle without addons (it serves on the fallback).
// HANDOFF_PACKAGE_ADDONS=DIR takes the addons from DIR (handoff.linux-x64-gnu.node and
// handoff.linux-arm64-gnu.node, e.g. another bundle's native/ folder or a CI artifact) instead of
// building them; they get the same checks (architecture, glibc 2.17), so a wrong file fails here.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { homedir } = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
/** The addons the bundle ships: Rust target, napi-rs platform, toolchain package, ELF e_machine. */
const TARGETS = [
  {
    triple: 'x86_64-unknown-linux-gnu',
    platform: 'linux-x64-gnu',
    toolchain: '@napi-rs/cross-toolchain-x64-target-x86_64',
    machine: 62, // EM_X86_64
  },
  {
    triple: 'aarch64-unknown-linux-gnu',
    platform: 'linux-arm64-gnu',
    toolchain: '@napi-rs/cross-toolchain-x64-target-aarch64',
    machine: 183, // EM_AARCH64
  },
];
const addonName = (target) => `handoff.${target.platform}.node`;
/** The oldest glibc the bundle must load on: CloudLinux / RHEL 7. */
const MAX_GLIBC = [2, 17];
const STEPS = 7;
const ci = process.env.CI === 'true';
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
const prebuilt = process.env.HANDOFF_PACKAGE_ADDONS ? path.resolve(process.env.HANDOFF_PACKAGE_ADDONS) : undefined;

async function main() {
  progress('compiling TypeScript into dist/');
  run('npm', ['run', '--silent', 'build:ts']);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.rmSync(zipFile, { force: true });
  fs.mkdirSync(path.join(stage, 'native'), { recursive: true });

  if (withNative && prebuilt) {
    const [x64, arm64] = TARGETS;
    progress(`taking the addons from HANDOFF_PACKAGE_ADDONS=${prebuilt} instead of building them`);
    const built = [];
    for (const target of [x64, arm64]) {
      const file = path.join(prebuilt, addonName(target));
      if (fs.existsSync(file)) {
        fs.copyFileSync(file, path.join(stage, 'native', addonName(target)));
        built.push(target);
      } else if (target === x64 || ci) {
        fail(`HANDOFF_PACKAGE_ADDONS: there is no ${addonName(target)} in ${prebuilt}`);
      }
    }
    progress(
      built.length === 2
        ? `copied ${built.length} addons`
        : `no ${arm64.platform} addon there (this bundle serves x64 hosts only)`,
    );
    progress('checking each addon: its ELF machine and the glibc symbol versions it needs');
    for (const target of built) checkBinary(target, path.join(stage, 'native', addonName(target)));
  } else if (withNative) {
    const [x64, arm64] = TARGETS;
    progress(`building the native addon for ${x64.platform} against glibc 2.17 (the first build takes a few minutes)`);
    buildNative(x64, path.join(stage, 'native'));
    const built = [x64];
    const arm64Rustc = findArm64Rustc();
    if (arm64Rustc.ok) {
      progress(`building the native addon for ${arm64.platform} against glibc 2.17 with ${arm64Rustc.rustc}`);
      buildNative(arm64, path.join(stage, 'native'), arm64Rustc);
      stripFalseBtiNote(arm64, path.join(stage, 'native', addonName(arm64)));
      built.push(arm64);
    } else if (ci) {
      fail(`CI builds both architectures, but ${arm64.platform} cannot be built here: ${arm64Rustc.reason}`);
    } else {
      progress(
        `skipped ${arm64.platform}: ${arm64Rustc.reason}; run \`bash scripts/install-system-deps.sh arm64\` for it (this bundle serves x64 hosts only)`,
      );
    }
    progress('checking each addon: its ELF machine and the glibc symbol versions it needs');
    for (const target of built) checkBinary(target, path.join(stage, 'native', addonName(target)));
  } else {
    progress('HANDOFF_PACKAGE_NO_NATIVE=1: no native addon; the bundle serves with the fallback');
    progress('(no arm64 addon either)');
    progress('(no ELF or glibc check without addons)');
  }

  progress('copying app.js, dist/, .htaccess, DEPLOY.md, deploy/ and a runtime-only package.json');
  copyFiles();
  progress('writing package-lock.json with runtime dependencies only');
  writeLockfile();
  progress(`zipping into ${path.relative(root, zipFile)}`);
  await zip(stage, zipFile);
  say(`done: ${path.relative(root, stage)}/ and ${path.relative(root, zipFile)} (${fileSize(zipFile)})`);
}

/** Debian's rustc with an aarch64 std ({ ok, rustc, rustdoc }), or why there is none ({ ok, reason }).
 * Also what test/e2e/bundle.test.ts asks to know whether the bundle will hold the arm64 addon. */
function findArm64Rustc() {
  const rustc = process.env.HANDOFF_ARM64_RUSTC || '/usr/bin/rustc';
  const rustdoc = path.join(path.dirname(rustc), 'rustdoc');
  const libdir = spawnSync(rustc, ['--print', 'target-libdir', '--target', TARGETS[1].triple], { encoding: 'utf8' });
  if (libdir.error || libdir.status !== 0) {
    return { ok: false, reason: `no Rust compiler at ${rustc} (Debian's rustc-web)` };
  }
  const dir = libdir.stdout.trim();
  const hasStd = fs.existsSync(dir) && fs.readdirSync(dir).some((file) => /^libstd-.*\.rlib$/.test(file));
  if (!hasStd) return { ok: false, reason: `${rustc} has no aarch64 standard library (libstd-rust-web-dev:arm64)` };
  return { ok: true, rustc, rustdoc };
}

/** Builds one target's addon into outputDir; `compiler` picks another rustc (the arm64 build). */
function buildNative(target, outputDir, compiler) {
  if (spawnSync('cargo', ['--version']).status !== 0) {
    fail(
      'Rust is not installed here (no `cargo` on PATH); the bundle needs it to build the addon. Install Rust (https://rustup.rs), or set HANDOFF_PACKAGE_NO_NATIVE=1 for a fallback-only bundle.',
    );
  }
  seedCrossToolchain(target);
  // Each bundle build gets its own target folder (inside CARGO_TARGET_DIR when set, as the tests'
  // clones do): the glibc 2.17 toolchain (and, for arm64, another rustc) compiles every crate
  // differently from `npm run build:native`, and sharing one folder would rebuild them all each
  // time one build follows the other.
  const cargoTarget = process.env.CARGO_TARGET_DIR || path.join(root, 'native', 'target');
  const folder = compiler ? `rustc-${target.platform}` : `glibc217-${target.platform}`;
  const targetDir = ['--target-dir', path.resolve(cargoTarget, folder)];
  const env = compiler ? { ...process.env, RUSTC: compiler.rustc, RUSTDOC: compiler.rustdoc } : process.env;
  const napiOut = fs.mkdtempSync(path.join(outputDir, '.build-'));
  run(
    'npx',
    [
      'napi',
      'build',
      '--platform',
      '--release',
      '--use-napi-cross',
      '--target',
      target.triple,
      '--manifest-path',
      'native/Cargo.toml',
      '--package-json-path',
      'package.json',
      ...targetDir,
      '--output-dir',
      napiOut,
      '--no-js',
      '--',
      '--locked',
    ],
    { env },
  );
  // napi writes the type definitions next to the addon; the bundle does not need them.
  const addon = addonName(target);
  if (!fs.existsSync(path.join(napiOut, addon))) fail(`the build produced no ${addon}`);
  fs.renameSync(path.join(napiOut, addon), path.join(outputDir, addon));
  fs.rmSync(napiOut, { recursive: true, force: true });
}

/** ld 2.29 copies rustc's AArch64 BTI/PAC property note unmerged, so the file would claim BTI/PAC
 * the code lacks; the note is in no loaded segment and goes (docs/hosting.md). */
function stripFalseBtiNote(target, file) {
  const objcopy = findFile(toolchainDir(target), `${target.triple}-objcopy`);
  if (!objcopy) fail(`no ${target.triple}-objcopy in ${toolchainDir(target)}`);
  run(objcopy, ['--remove-section', '.note.gnu.property', file]);
}

/** Where @napi-rs/cli looks for the toolchain of `target` before downloading it. */
function toolchainDir(target) {
  const version = require('@napi-rs/cross-toolchain/package.json').version;
  return path.join(homedir(), '.napi-rs', 'cross-toolchain', version, target.triple);
}

/** Unpacks the toolchain from the devDependency where @napi-rs/cli looks before downloading. */
function seedCrossToolchain(target) {
  let archive;
  let dest;
  try {
    archive = require(target.toolchain).toolchainPath;
    dest = toolchainDir(target);
  } catch (error) {
    fail(`the glibc 2.17 toolchain package is missing (${error.message}); run \`npm install\` first.`);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the glibc 2.17 toolchain runs on Linux x64 only, not ${process.platform}-${process.arch}.`);
  }
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

/** Fails unless `file` is an ELF shared object for target's machine needing glibc 2.17 at most. */
function checkBinary(target, file) {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, header.length, 0);
  fs.closeSync(fd);
  const machine = header.readUInt16LE(18);
  if (header.toString('latin1', 0, 4) !== '\x7fELF' || machine !== target.machine) {
    fail(`${file} is not an ELF file for ${target.platform} (e_machine ${machine}, expected ${target.machine})`);
  }
  const tool = findFile(toolchainDir(target), `${target.triple}-objdump`);
  const result = spawnSync(tool ?? 'objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) fail(`objdump -T ${file} failed: ${result.stderr || result.error?.message}`);
  const versions = [...new Set(result.stdout.match(/GLIBC_[0-9.]+/g) ?? [])]
    .map((text) => text.slice('GLIBC_'.length).split('.').map(Number))
    .sort(compareVersions);
  const highest = versions.at(-1);
  if (!highest) fail(`no GLIBC_ symbol versions in ${file}: not a glibc binary?`);
  const shown = highest.join('.');
  if (compareVersions(highest, MAX_GLIBC) > 0) {
    fail(
      `the ${target.platform} addon needs GLIBC_${shown}, above ${MAX_GLIBC.join('.')}: it would not load on CloudLinux 7.`,
    );
  }
  say(
    `    ${addonName(target)}: ELF for ${target.platform}, highest glibc symbol version GLIBC_${shown} (limit ${MAX_GLIBC.join('.')})`,
  );
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
  // Run on the host: the zip update (by rename, never over the loaded addon) and the cron wrapper.
  fs.mkdirSync(path.join(stage, 'deploy'), { recursive: true });
  for (const script of ['update.sh', 'cron.sh']) {
    fs.copyFileSync(path.join(root, 'deploy', script), path.join(stage, 'deploy', script));
    fs.chmodSync(path.join(stage, 'deploy', script), 0o755);
  }
  // Beyond shared hosting (the README's VPS guide): the systemd units and the nginx site.
  for (const dir of ['systemd', 'nginx']) {
    fs.cpSync(path.join(root, 'deploy', dir), path.join(stage, 'deploy', dir), { recursive: true });
  }
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

// Run as `npm run package`; required (test/e2e/bundle.test.ts), it only lends its checks.
if (require.main === module) main().catch((error) => fail(error.stack ?? String(error)));

module.exports = { findArm64Rustc };
