// Shared by the build, test and dev scripts: where things are, whether Rust is installed, whether
// cargo runs `--locked`, and how old a build is compared with its sources.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

/** CI (CI=true) and HANDOFF_REQUIRE_NATIVE=1 build exactly what Cargo.lock lists; everywhere else
 * cargo may update Cargo.lock, so a crate added to native/Cargo.toml just builds. */
function cargoLocked(env = process.env) {
  return env.CI === 'true' || env.HANDOFF_REQUIRE_NATIVE === '1';
}

/** `cargo --version`, or undefined when Rust is not installed. */
function cargoVersion() {
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  return cargo.error || cargo.status !== 0 ? undefined : cargo.stdout.trim();
}

/** napi-rs's platform triple for this machine, as in `native/handoff.<triple>.node`. */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = process.report?.getReport();
  return `${platform}-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** The addon the app and the tests load by default. */
function addonPath() {
  return path.join(root, 'native', `handoff.${platformTriple()}.node`);
}

/** The TypeScript sources `dist/` is compiled from. */
const TS_SOURCES = ['src', 'tsconfig.build.json', 'tsconfig.json'];
/** The sources the addon is compiled from (build.rs reads the error catalogue). */
const RUST_SOURCES = ['native/src', 'native/build.rs', 'native/Cargo.toml', 'native/Cargo.lock', 'src/api/errors.json'];

/** Every file under `entry` (a file or a folder, relative to root); none when it does not exist. */
function filesUnder(entry) {
  const full = path.join(root, entry);
  let stat;
  try {
    stat = fs.statSync(full);
  } catch {
    return [];
  }
  if (!stat.isDirectory()) return [entry];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((dirent) => (dirent.isDirectory() || dirent.isFile() ? filesUnder(path.join(entry, dirent.name)) : []));
}

/** The most recently modified file of `entries`: { file, mtimeMs }, or undefined for none. */
function newest(entries) {
  let found;
  for (const file of entries.flatMap(filesUnder)) {
    const { mtimeMs } = fs.statSync(path.join(root, file));
    if (found === undefined || mtimeMs > found.mtimeMs) found = { file, mtimeMs };
  }
  return found;
}

function mtimeOf(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Whether dist/ is missing or older than a TypeScript source: a reason, or undefined if fresh. */
function staleTypeScript() {
  const built = mtimeOf(path.join(root, 'dist', 'main.js'));
  if (built === undefined) return 'dist/main.js does not exist';
  const source = newest(TS_SOURCES);
  if (source !== undefined && source.mtimeMs > built) return `${source.file} is newer than dist/`;
  for (const file of BUNDLED) {
    if (!isBundled(path.join(root, 'dist', file))) return `dist/${file} is not bundled (as tsc --watch leaves it)`;
  }
  return undefined;
}

/** The files of dist/ that `npm run build:ts` bundles with the npm packages they import
 * (fastify, express, find-my-way), in place; see scripts/build-ts.cjs. */
const BUNDLED = ['backends/fastify.js', 'backends/express.js', 'api/router.js'];
/** The first line of each bundled file: `npm run dev`'s tsc --watch writes them back unbundled. */
const BUNDLE_BANNER = '// Bundled by scripts/build-ts.cjs (esbuild), with the npm packages it imports.';

/** Whether `file` starts with BUNDLE_BANNER (a missing file counts as bundled: nothing to run). */
function isBundled(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return true;
  }
  try {
    const head = Buffer.alloc(BUNDLE_BANNER.length);
    fs.readSync(fd, head, 0, head.length, 0);
    return head.toString('utf8') === BUNDLE_BANNER;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether the addon is missing or older than a Rust source: a reason, or undefined if fresh. */
function staleNative(file = addonPath()) {
  const built = mtimeOf(file);
  const name = path.relative(root, file);
  if (built === undefined) return `${name} does not exist`;
  const source = newest(RUST_SOURCES);
  if (source !== undefined && source.mtimeMs > built) return `${source.file} is newer than ${name}`;
  return undefined;
}

/** Runs an npm script of this package, its output on ours; returns the exit status. */
function npmRun(script, args = [], options = {}) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const extra = args.length > 0 ? ['--', ...args] : [];
  const result = spawnSync(npm, ['run', '--silent', script, ...extra], { cwd: root, stdio: 'inherit', ...options });
  return result.status ?? 1;
}

/** Files of src/ that tsc does not compile but the app reads at run time (the SQL migrations of
 * the notes example): their extensions. */
const ASSET_EXTENSIONS = ['.sql'];

/** Copies those files of src/ into dist/ at the same relative path (tsc leaves them out); returns
 * the ones it wrote. `npm run package` ships dist/, so they reach the bundle. */
function copyAssets(dist = path.join(root, 'dist'), src = path.join(root, 'src')) {
  const written = [];
  for (const file of filesUnder(path.relative(root, src))) {
    if (!ASSET_EXTENSIONS.includes(path.extname(file))) continue;
    const from = path.join(root, file);
    const to = path.join(dist, path.relative(path.relative(root, src), file));
    const same = fs.existsSync(to) && fs.readFileSync(to).equals(fs.readFileSync(from));
    if (same) continue;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    written.push(to);
  }
  return written;
}

/** Deletes what dist/ holds from sources that no longer exist in src/ (a removed demo, a renamed
 * file), so that neither the app nor `npm run package` carries code nobody sees; returns them. */
function pruneDist(dist = path.join(root, 'dist'), src = path.join(root, 'src')) {
  const removed = [];
  const visit = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        visit(full);
        if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
        continue;
      }
      const relative = path.relative(dist, full);
      if (sourcesOf(relative).some((source) => fs.existsSync(path.join(src, source)))) continue;
      fs.rmSync(full);
      removed.push(full);
    }
  };
  visit(dist);
  return removed;
}

/** The files of src/ a file of dist/ may come from: `a/b.js` from `a/b.ts`, `a/b.json` from itself. */
function sourcesOf(relative) {
  for (const suffix of ['.d.ts.map', '.d.ts', '.js.map', '.js']) {
    if (relative.endsWith(suffix)) {
      const base = relative.slice(0, -suffix.length);
      return [`${base}.ts`, `${base}.mts`, `${base}.cts`, `${base}.js`];
    }
  }
  return [relative];
}

/** Tracked and untracked (not ignored) files, relative to the root with `/`; a walk without git. */
function projectFiles() {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (!git.error && git.status === 0) {
    return [...new Set(git.stdout.split('\0').filter(Boolean))]
      .filter((file) => fs.existsSync(path.join(root, file)))
      .sort();
  }
  const found = [];
  const walk = (relative) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!['node_modules', '.git', 'dist', 'target', 'release', '.tmp'].includes(entry.name)) walk(child);
      } else if (entry.isFile()) found.push(child);
    }
  };
  walk('');
  return found.sort();
}

module.exports = {
  projectFiles,
  root,
  cargoLocked,
  cargoVersion,
  platformTriple,
  addonPath,
  TS_SOURCES,
  RUST_SOURCES,
  filesUnder,
  newest,
  staleTypeScript,
  BUNDLED,
  BUNDLE_BANNER,
  isBundled,
  staleNative,
  npmRun,
  pruneDist,
  copyAssets,
};
