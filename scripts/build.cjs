#!/usr/bin/env node
// `npm install` (through `prepare`) and `npm run build`: compiles the TypeScript, then tries the
// native addon. A missing Rust toolchain or a failed native build is reported plainly and does
// not fail the install: the app then serves with the fallback. Set HANDOFF_REQUIRE_NATIVE=1 to
// make a failed native build fail the command (CI does).

const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const requireNative = process.env.HANDOFF_REQUIRE_NATIVE === '1';
const say = (message) => process.stderr.write(`[build] ${message}\n`);

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
}

function npmRun(script) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return run(npm, ['run', '--silent', script]);
}

say('compiling TypeScript into dist/');
if (npmRun('build:ts').status !== 0) {
  say('TypeScript did not compile; see the errors above.');
  process.exit(1);
}

const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.error || cargo.status !== 0) {
  nativeUnavailable('Rust is not installed here (no `cargo` on PATH).');
} else {
  say(`building the native addon with ${cargo.stdout.trim()} (release; the first build takes a few minutes)`);
  if (npmRun('build:native').status === 0) {
    say('native addon built: native/handoff.<platform>.node');
  } else {
    nativeUnavailable('the native build failed; see the errors above.');
  }
}

function nativeUnavailable(why) {
  say(`native addon NOT built: ${why}`);
  say('The app still works: it serves the same API with the fastify fallback.');
  say('To get the native server, install Rust (https://rustup.rs) and run `npm run build:native`.');
  if (requireNative) {
    say('HANDOFF_REQUIRE_NATIVE=1 is set, so this is an error.');
    process.exit(1);
  }
}
