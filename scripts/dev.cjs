#!/usr/bin/env node
// `npm run dev`: the edit-and-reload loop. Watches src/ and native/ (native/src, Cargo.toml,
// build.rs), rebuilds what changed and restarts `node app.js` on PORT (default 3000):
//   - TypeScript: `tsc --watch` into dist/ (it writes nothing while there are errors). On errors
//     the loop prints them and keeps the last good server running. Note that with the native
//     backend the API is answered by Rust: a TS handler serves under the fallback (fastify).
//   - Rust: a debug `cargo build` (seconds after an edit; no --locked, so a crate added to
//     Cargo.toml just builds; native/index.d.ts is `npm run build:native`'s). Each good build is a new file under native/target/dev-addon/ that the restarted app
//     loads through HANDOFF_NATIVE_PATH: a running process keeps its addon mapped, and writing over
//     a loaded .node would crash it. When the build fails it prints the compiler errors and serves
//     with the fastify fallback (HANDOFF_BACKEND=fastify) until the next good build.
// One `[dev] serving on ... with ...` line per (re)start says what answers. Ctrl-C (or SIGTERM)
// stops the app cleanly, then the loop. Every other variable (HOST, HANDOFF_BACKEND=express,
// HANDOFF_BASE_PATH, ...) reaches the app as with `npm start`.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { stripVTControlCharacters } = require('node:util');
const { root, cargoVersion, pruneDist, copyAssets } = require('./lib/project.cjs');

const say = (message) => process.stderr.write(`[dev] ${message}\n`);

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    [
      'npm run dev: rebuild on change (TypeScript, and a debug build of the Rust addon) and restart',
      'the app on PORT (default 3000). A failed Rust build serves with the fastify fallback until the',
      'next good build. Ctrl-C stops. HANDOFF_DEV_POLL=1 polls instead of using file-system events.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

/** What is watched (relative to the root): folders recursively, files on their own. */
const WATCHED_DIRS = ['src', path.join('native', 'src')];
const WATCHED_FILES = [path.join('native', 'Cargo.toml'), path.join('native', 'build.rs')];
/** The error catalogue feeds both sides: TS imports it, build.rs generates the Rust enum from it. */
const CATALOGUE = path.join('src', 'api', 'errors.json');
const DEBOUNCE_MS = 200;
const STOP_GRACE_MS = 5_000;

const addonDir = path.join(root, 'native', 'target', 'dev-addon');
const cargo = cargoVersion();
const userBackend = (process.env.HANDOFF_BACKEND ?? '').trim().toLowerCase();
const port = (process.env.PORT ?? '').trim() || '3000';

/** Set by the first Rust build. */
let target;

const state = {
  /** The addon the app loads, the newest good debug build. */
  addon: undefined,
  /** Why the native backend is not used (a failed build, no Rust), or undefined. */
  rustProblem:
    cargo === undefined ? 'Rust is not installed (no `cargo` on PATH): native/ changes are not built' : undefined,
  /** Whether dist/ holds a good build (tsc's first compile succeeded at least once). */
  tsOk: false,
  /** `tsc --watch`. */
  tsc: undefined,
  child: undefined,
  /** The build command running now, if any. */
  build: undefined,
  stopping: false,
  started: false,
  addonCount: 0,
};

// ---- the file tree: content hashes, so that a save without a change does not rebuild ----

const known = new Map();

/** The watched folders and the relevant files in them, relative to the root. */
function watchedTree() {
  const dirs = [];
  const files = [];
  const walk = (relative) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, relative), { withFileTypes: true });
    } catch {
      return;
    }
    dirs.push(relative);
    for (const entry of entries) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && relevant(child)) files.push(child);
    }
  };
  for (const dir of WATCHED_DIRS) walk(dir);
  for (const file of WATCHED_FILES) if (fs.existsSync(path.join(root, file))) files.push(file);
  return { dirs, files };
}

/** Ignores editors' temporary files (.x.swp, x~, #x#, vim's 4913) and anything hidden. */
function relevant(file) {
  const name = path.basename(file);
  if (name.startsWith('.') || name.startsWith('#') || name.endsWith('~') || /^\d+$/.test(name)) return false;
  if (file.startsWith(`src${path.sep}`)) return /\.(ts|mts|cts|json)$/.test(name);
  return true;
}

function fingerprint(file) {
  try {
    return crypto
      .createHash('sha1')
      .update(fs.readFileSync(path.join(root, file)))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/** The files whose content changed (created and deleted ones too) since the last scan. */
function scan() {
  const changed = [];
  const tree = watchedTree();
  if (watchers !== undefined) {
    try {
      syncWatchers(tree.dirs);
    } catch (error) {
      stopWatching();
      poll(`cannot watch a new folder (${error.code ?? error.message})`);
    }
  }
  const present = new Set(tree.files);
  for (const file of present) {
    const hash = fingerprint(file);
    if (hash !== undefined && known.get(file) !== hash) {
      known.set(file, hash);
      changed.push(file);
    }
  }
  for (const file of [...known.keys()]) {
    if (!present.has(file)) {
      known.delete(file);
      changed.push(file);
    }
  }
  return changed;
}

function classify(files) {
  const kinds = { ts: false, rust: false };
  for (const file of files) {
    if (file === CATALOGUE) {
      kinds.ts = true;
      kinds.rust = true;
    } else if (file.startsWith(`src${path.sep}`)) kinds.ts = true;
    else kinds.rust = true;
  }
  return kinds;
}

// ---- building ----

/** Runs a command, collecting its output; resolves { ok, output, seconds }. */
function capture(command, args, env = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    state.build = child;
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', (error) => resolve({ ok: false, output: `${output}${error.message}\n`, seconds: 0 }));
    child.on('close', (code) => {
      if (state.build === child) state.build = undefined;
      resolve({ ok: code === 0, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Starts `tsc --watch`; `onDone(ok)` after each compile (first one, then after each change). */
function watchTypeScript(onDone) {
  const tsc = require.resolve('typescript/bin/tsc');
  const args = ['-p', 'tsconfig.build.json', '--watch', '--preserveWatchOutput', '--noEmitOnError'];
  const child = spawn(process.execPath, [tsc, ...args, '--pretty', process.stderr.isTTY ? 'true' : 'false'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  state.tsc = child;
  let report = [];
  const onLine = (line) => {
    const plain = stripVTControlCharacters(line);
    if (/(Starting compilation in watch mode|File change detected)/.test(plain)) {
      report = [];
      tsStarted();
      return;
    }
    const found = /Found (\d+) errors?\b/.exec(plain);
    if (found === null) {
      if (plain.trim() !== '') report.push(line);
      return;
    }
    const ok = found[1] === '0';
    if (ok) {
      for (const file of pruneDist()) say(`removed ${path.relative(root, file)} (its source is gone)`);
      copyAssets();
    } else {
      const errors = found[1] === '1' ? '1 error' : `${found[1]} errors`;
      process.stderr.write(`${report.join('\n')}\n`);
      say(
        state.child
          ? `TypeScript did not compile (${errors} above): still serving the last good build`
          : `TypeScript did not compile (${errors} above): waiting for a fix`,
      );
    }
    report = [];
    onDone(ok);
  };
  lines(child.stdout, onLine);
  lines(child.stderr, onLine);
  child.on('exit', (code, signal) => {
    if (state.stopping) return;
    say(`tsc --watch exited (${signal ?? `code ${code}`}); stopping`);
    void shutdown('tsc exit', 1);
  });
}

/** The library `cargo build --lib` writes (debug, for this machine), found once. */
function cargoTarget() {
  const metadata = spawnSync(
    'cargo',
    ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', path.join('native', 'Cargo.toml')],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (metadata.status !== 0) return undefined;
  const { target_directory: targetDir, packages } = JSON.parse(metadata.stdout);
  const lib = packages[0]?.targets.find((target) => target.kind.includes('cdylib'));
  if (lib === undefined) return undefined;
  const name = lib.name.replace(/-/g, '_');
  const file =
    process.platform === 'win32' ? `${name}.dll` : process.platform === 'darwin' ? `lib${name}.dylib` : `lib${name}.so`;
  return { built: path.join(targetDir, 'debug', file) };
}

/** A debug build, copied to a name no process has loaded. Cargo directly, not `napi build`:
 * that saves seconds per build; it leaves native/index.d.ts alone (`npm run build:native`
 * refreshes it after a change to the napi surface). No `--target`: the build shares its
 * compiled dependencies with `cargo test` (native/target/debug) instead of compiling them again. */
async function buildRust() {
  say('building the native addon (debug)');
  target ??= cargoTarget();
  if (target === undefined) {
    say('cannot find what cargo builds (`cargo metadata` failed)');
    state.rustProblem = 'cargo cannot read native/Cargo.toml (see above)';
    return false;
  }
  const args = ['build', '--manifest-path', path.join('native', 'Cargo.toml'), '--lib'];
  const result = await capture('cargo', args, process.stderr.isTTY ? { CARGO_TERM_COLOR: 'always' } : {});
  if (!result.ok || !fs.existsSync(target.built)) {
    process.stderr.write(compilerErrors(result.output));
    state.rustProblem = 'the Rust build failed (compiler errors above); native again after the next good build';
    return false;
  }
  state.addonCount += 1;
  const addon = path.join(addonDir, `handoff-${process.pid}-${state.addonCount}.node`);
  // A copy: cargo writes its own file again on the next build.
  fs.copyFileSync(target.built, addon);
  state.addon = addon;
  state.rustProblem = undefined;
  return true;
}

/** Cargo's output without its progress lines (Compiling x v1, Building [==>]). */
function compilerErrors(output) {
  const noise = /^\s*(Compiling|Checking|Building|Blocking|Updating|Locking|Downloaded|Downloading|Adding)\b/;
  return `${output
    .split('\n')
    .filter((line) => !noise.test(stripVTControlCharacters(line)))
    .join('\n')
    .trimEnd()}\n`;
}

// ---- the app ----

function backendFor() {
  if (state.rustProblem === undefined) return userBackend === '' ? undefined : userBackend;
  return userBackend === 'express' ? 'express' : 'fastify';
}

function startApp(reason, since) {
  const backend = backendFor();
  const env = { ...process.env, PORT: port };
  if (process.env.HANDOFF_SHUTDOWN_TIMEOUT_MS === undefined) env.HANDOFF_SHUTDOWN_TIMEOUT_MS = '2000';
  if (backend === undefined) delete env.HANDOFF_BACKEND;
  else env.HANDOFF_BACKEND = backend;
  if (state.addon !== undefined) env.HANDOFF_NATIVE_PATH = state.addon;
  // Its own process group: a Ctrl-C reaches the loop, which stops the app once, cleanly.
  const child = spawn(process.execPath, ['app.js'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const app = { child, quiet: false, served: false };
  state.child = app;
  const onLine = (line) => {
    const serving = /^\[main\] serving with (\S+) on (.+)$/.exec(line);
    if (serving) {
      app.served = true;
      say(`serving on ${urlOf(serving[2])} with ${describe(serving[1])}, ${reason} in ${secondsSince(since)}`);
      removeOldAddons();
      return;
    }
    // The stop the loop asked for is not news.
    if (app.quiet && /^\[main\] (SIG\w+: finishing|stopped$)/.test(line)) return;
    process.stderr.write(`${line}\n`);
  };
  lines(child.stdout, onLine);
  lines(child.stderr, onLine);
  app.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (state.child === app) state.child = undefined;
      if (!app.quiet && !state.stopping) {
        say(`the app exited (${signal ?? `code ${code}`}); it starts again after the next change`);
      }
      resolve();
    });
  });
}

function describe(backend) {
  if (backend === 'native') return 'native (debug build)';
  if (state.rustProblem !== undefined) return `${backend}: ${state.rustProblem}`;
  if (userBackend === backend) return `${backend} (HANDOFF_BACKEND=${backend})`;
  return `${backend} (the native addon did not load; see above)`;
}

function urlOf(address) {
  if (address.startsWith('/')) return address;
  const base = (process.env.HANDOFF_BASE_PATH ?? '').trim().replace(/\/+$/, '');
  return `http://${address}${base}`;
}

function lines(stream, onLine) {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) onLine(line);
  });
  stream.on('end', () => {
    if (partial) onLine(partial);
  });
}

async function stopApp() {
  const app = state.child;
  if (app === undefined) return;
  app.quiet = true;
  signal(app.child, 'SIGTERM');
  const timer = setTimeout(() => signal(app.child, 'SIGKILL'), STOP_GRACE_MS);
  await app.exited;
  clearTimeout(timer);
}

function signal(child, name) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, name);
  } catch {
    // Already gone.
  }
}

/** Deletes the dev builds no running app loads: this loop's older ones, and any left by a loop
 * that is gone. */
function removeOldAddons() {
  let names;
  try {
    names = fs.readdirSync(addonDir);
  } catch {
    return;
  }
  for (const name of names) {
    const full = path.join(addonDir, name);
    if (full === state.addon) continue;
    const owner = /^handoff-(\d+)-/.exec(name);
    if (owner === null) continue;
    const pid = Number(owner[1]);
    if (pid !== process.pid && alive(pid)) continue;
    fs.rmSync(full, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function secondsSince(start) {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}

// ---- the loop ----

/** What the next restart is for: changed files (named in the serving line) and since when. */
let changes = [];
let changesSince;
/** Rust sources changed since the last build started. */
let rustPending = false;
/** A good build (or a failed Rust one) asks for a restart. */
let restartPending = false;
/** tsc is compiling: a restart waits for it, so that one restart carries both sides. */
let tsBusy = true;
let running = false;
let timer;

function noteChange(files) {
  changes.push(...files);
  changesSince ??= Date.now();
}

function tsStarted() {
  tsBusy = true;
  changesSince ??= Date.now();
}

function tsDone(ok) {
  tsBusy = false;
  if (ok) {
    state.tsOk = true;
    restartPending = true;
  }
  void drain();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    const changed = scan();
    if (changed.length === 0) return;
    noteChange(changed);
    // TypeScript sources are tsc's; the Rust side (and the catalogue it reads) is ours.
    if (classify(changed).rust && cargo !== undefined) rustPending = true;
    void drain();
  }, DEBOUNCE_MS);
}

async function drain() {
  if (running || state.stopping || !state.started) return;
  running = true;
  try {
    while (!state.stopping) {
      if (rustPending) {
        rustPending = false;
        const wasNative = state.rustProblem === undefined;
        const ok = await buildRust();
        // A failed build changes what serves only when native was serving.
        if (ok || wasNative || state.child === undefined) restartPending = true;
        continue;
      }
      // Nothing good to serve before TypeScript has compiled once; a change to a file tsc
      // compiles restarts when tsc is done.
      if (!restartPending || tsBusy || !state.tsOk) break;
      restartPending = false;
      const shown = [...new Set(changes)];
      const since = changesSince ?? Date.now();
      changes = [];
      changesSince = undefined;
      const why =
        shown.length === 0
          ? 'ready'
          : `${shown.slice(0, 3).join(', ')}${shown.length > 3 ? ` and ${shown.length - 3} more` : ''} changed, ready`;
      await stopApp();
      if (!state.stopping) startApp(why, since);
    }
  } finally {
    running = false;
  }
}

async function main() {
  if (!/^\d+$/.test(port)) {
    say(`PORT must be a port number (got ${JSON.stringify(process.env.PORT)})`);
    process.exit(1);
  }
  changesSince = Date.now();
  fs.mkdirSync(addonDir, { recursive: true });
  removeOldAddons();
  scan();
  watch();
  say(`watching ${[...WATCHED_DIRS, ...WATCHED_FILES].join(', ')}`);
  watchTypeScript(tsDone);
  // The first Rust build runs while tsc compiles; the app starts when both are done.
  rustPending = cargo !== undefined;
  state.started = true;
  await drain();
}

/** One watch per folder (inotify on Linux), kept in step with the tree on each scan. Node 20's
 * `recursive` watch misses a file replaced by a rename, which is how many editors save. */
let watchers;

function watch() {
  if (process.env.HANDOFF_DEV_POLL === '1') return poll('HANDOFF_DEV_POLL=1');
  watchers = new Map();
  try {
    syncWatchers(watchedTree().dirs);
    // Cargo.toml and build.rs: their folder, not the files (a file watch ends when it is replaced).
    fs.watch(path.join(root, 'native'), (_event, name) => {
      if (name && WATCHED_FILES.includes(path.join('native', String(name)))) schedule();
    });
  } catch (error) {
    stopWatching();
    poll(`file-system events are not available here (${error.code ?? error.message})`);
  }
}

function stopWatching() {
  for (const watcher of watchers?.values() ?? []) watcher.close();
  watchers = undefined;
}

function syncWatchers(dirs) {
  const wanted = new Set(dirs);
  for (const [dir, watcher] of watchers) {
    if (wanted.has(dir)) continue;
    watcher.close();
    watchers.delete(dir);
  }
  for (const dir of wanted) {
    if (watchers.has(dir)) continue;
    const watcher = fs.watch(path.join(root, dir), schedule);
    // A folder deleted under the watch: the next scan drops it.
    watcher.on('error', schedule);
    watchers.set(dir, watcher);
  }
}

function poll(why) {
  say(`${why}: polling for changes every second`);
  setInterval(schedule, 1_000);
}

async function shutdown(name, code = 0) {
  if (state.stopping) {
    say(`${name} again: stopping now`);
    if (state.child) signal(state.child.child, 'SIGKILL');
    process.exit(1);
  }
  state.stopping = true;
  clearTimeout(timer);
  if (state.tsc) state.tsc.kill('SIGTERM');
  // A build in progress is not needed any more (cargo stops its compilers on SIGTERM).
  if (state.build) state.build.kill('SIGTERM');
  await stopApp();
  state.addon = undefined;
  removeOldAddons();
  say('stopped');
  process.exit(code);
}

for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(name, () => void shutdown(name));

main().catch((error) => {
  say(`failed: ${error.stack ?? error}`);
  if (state.child) signal(state.child.child, 'SIGKILL');
  process.exit(1);
});
