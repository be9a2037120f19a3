// `npm run examples:remove` (scripts/remove-examples.cjs): the demo folders, the marked lines and
// blocks and the example errors go; everything else stays byte for byte, except blank lines left
// doubled (or inside a bracket) where lines went, and Rust files, which stay rustfmt-clean; a
// second run finds nothing; an unclosed block changes nothing. First on a small tree made here
// (every marker form), then on a copy of this repository, which stays as `cargo fmt -- --check`
// and `biome format` want it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/app-process';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'remove-examples.cjs');
// Spelled in pieces: the script would otherwise remove these very lines from this file.
const TAG = `[${'examples'}]`;
const MARK = `// ${TAG}`;
const BEGIN = `// ${TAG} begin`;
const END = `// ${TAG} end`;

/** Why Rust's formatter cannot be asked here, or undefined (in CI it must be there). */
function rustfmtUnavailable(): string | undefined {
  if (spawnSync('cargo', ['fmt', '--version']).status === 0) return undefined;
  if (process.env.CI === 'true') throw new Error('CI must run this test: no `cargo fmt` (rustfmt)');
  return 'rustfmt (`cargo fmt`) is not installed here';
}

const temps: string[] = [];
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function tempTree(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-rm-examples-'));
  temps.push(dir);
  mkdirSync(path.join(dir, 'scripts'));
  cpSync(SCRIPT, path.join(dir, 'scripts', 'remove-examples.cjs'));
  cpSync(path.join(REPO_ROOT, 'scripts', 'lib'), path.join(dir, 'scripts', 'lib'), { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

function removeExamples(dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(dir, 'scripts', 'remove-examples.cjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

const CATALOGUE = [
  '{',
  '  "not_found": { "status": 404, "message": "No route matches this path." },',
  '  "demo_one": { "status": 400, "message": "One.", "example": true },',
  '  "internal_error": { "status": 500, "message": "Internal server error." },',
  '  "demo_two": { "status": 400, "message": "Two {n}.", "example": true }',
  '}',
  '',
].join('\n');

const SYNTHETIC: Record<string, string | Buffer> = {
  'src/examples/index.ts': 'export const exampleRoutes = () => [];\n',
  'src/examples/deep/hello.ts': 'export {};\n',
  'native/src/examples/mod.rs': 'pub fn routes() {}\n',
  'test/examples/examples.test.ts': 'export {};\n',
  'src/app/routes.ts': [
    `import { exampleRoutes } from '../examples'; ${MARK}`,
    "import { core } from '../api';",
    '',
    'export function routes() {',
    `  return [...core(), ...exampleRoutes()]; ${MARK}   `,
    '}',
    '',
  ].join('\n'),
  'src/config.ts': [
    'const a = 1;',
    `  ${BEGIN}: the demo's setting`,
    '  const hashLimit = 2;',
    '',
    '  const other = 3;',
    `  ${END}`,
    'const b = 2;',
    `// a comment that mentions ${MARK} in the middle stays`,
    '',
  ].join('\n'),
  'native/src/lib.rs': ['pub mod api;', `pub mod examples; ${MARK}`, 'pub mod serve;', ''].join('\n'),
  'native/Cargo.toml': ['[dependencies]', 'axum = "0.8"', `sha2 = "0.10" # ${TAG}`, ''].join('\n'),
  'native/tests/serve.rs': [`${BEGIN}`, 'fn hello() {}', `${END}`, 'fn health() {}', ''].join('\r\n'),
  'bench/run.ts': [`const hello = '/hello'; ${MARK}`, "const health = '/health';", ''].join('\n'),
  'README.md': ['# App', `| \`/hello\` | a greeting | <!-- ${TAG} -->`, '| `/health` | health |', ''].join('\n'),
  'src/api/errors.json': CATALOGUE,
  // Not scanned: outside the scanned folders, or binary.
  'scripts/notes.txt': `keep ${MARK}\n`,
  'src/api/blob.bin': Buffer.concat([Buffer.from(`x ${MARK}\n`), Buffer.from([0, 1, 2])]),
};

describe('npm run examples:remove on a tree with every marker', () => {
  it('removes the folders, the marked lines and blocks and the example errors, and nothing else', () => {
    const dir = tempTree(SYNTHETIC);
    const run = removeExamples(dir);
    assert.equal(run.status, 0, run.stderr);

    for (const gone of ['src/examples', 'native/src/examples', 'test/examples']) {
      assert.ok(!existsSync(path.join(dir, gone)), `${gone} is gone`);
    }
    assert.equal(read(dir, 'src/app/routes.ts'), "import { core } from '../api';\n\nexport function routes() {\n}\n");
    assert.equal(
      read(dir, 'src/config.ts'),
      `const a = 1;\nconst b = 2;\n// a comment that mentions ${MARK} in the middle stays\n`,
    );
    assert.equal(read(dir, 'native/src/lib.rs'), 'pub mod api;\npub mod serve;\n');
    assert.equal(read(dir, 'native/Cargo.toml'), '[dependencies]\naxum = "0.8"\n');
    assert.equal(read(dir, 'native/tests/serve.rs'), 'fn health() {}\r\n');
    assert.equal(read(dir, 'bench/run.ts'), "const health = '/health';\n");
    assert.equal(read(dir, 'README.md'), '# App\n| `/health` | health |\n');
    // One entry per line as before; the entry now last lost its comma.
    assert.equal(
      read(dir, 'src/api/errors.json'),
      [
        '{',
        '  "not_found": { "status": 404, "message": "No route matches this path." },',
        '  "internal_error": { "status": 500, "message": "Internal server error." }',
        '}',
        '',
      ].join('\n'),
    );
    assert.equal(read(dir, 'scripts/notes.txt'), `keep ${MARK}\n`);
    assert.deepEqual(readFileSync(path.join(dir, 'src/api/blob.bin')), SYNTHETIC['src/api/blob.bin']);

    // It says what it removed.
    for (const line of [
      'removed src/examples/ (2 files)',
      'removed native/src/examples/ (1 file)',
      'removed test/examples/ (1 file)',
      'removed 2 marked lines from src/app/routes.ts',
      'removed 1 marked block (5 lines) from src/config.ts',
      'removed 1 marked line from native/Cargo.toml',
      'removed "demo_one", "demo_two" from src/api/errors.json',
    ]) {
      assert.ok(run.stdout.includes(line), `"${line}" in:\n${run.stdout}`);
    }

    const again = removeExamples(dir);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.trim(), 'Nothing to remove: the examples are already gone.');
  });

  it('--dry-run only says what it would remove', () => {
    const dir = tempTree(SYNTHETIC);
    const run = removeExamples(dir, '--dry-run');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^would remove src\/examples\/ \(2 files\)$/m);
    for (const [file, content] of Object.entries(SYNTHETIC)) {
      assert.deepEqual(readFileSync(path.join(dir, file)), Buffer.from(content), `${file} is unchanged`);
    }
  });

  it('changes nothing when a block does not end, and names the line', () => {
    const files = { ...SYNTHETIC, 'src/app/hooks.ts': ['export {};', `${BEGIN}`, 'const x = 1;', ''].join('\n') };
    const dir = tempTree(files);
    const run = removeExamples(dir);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /src\/app\/hooks\.ts:2: a block begins and never ends/);
    for (const [file, content] of Object.entries(files)) {
      assert.deepEqual(readFileSync(path.join(dir, file)), Buffer.from(content), `${file} is unchanged`);
    }
  });

  it('leaves no doubled blank line where lines went, and Rust as rustfmt prints it', (t) => {
    const missing = rustfmtUnavailable();
    if (missing !== undefined) return t.skip(missing);
    const dir = tempTree({
      'src/app/a.ts': [
        'function f() {',
        '  const a = 1;',
        '',
        `  g(); ${MARK}`,
        '',
        '  const b = 2;',
        '}',
        '',
        'function h() {',
        '  x();',
        '',
        `  ${BEGIN}`,
        '  y();',
        `  ${END}`,
        '}',
        '',
        'function k() {',
        `  ${BEGIN}`,
        '  y();',
        `  ${END}`,
        '',
        '  z();',
        '}',
        '',
        `last(); ${MARK}`,
        '',
      ].join('\n'),
      'docs/page.md': ['# Page', '', 'keep', '', `| a | <!-- ${TAG} -->`, '', 'more', ''].join('\n'),
      'native/src/app/mod.rs': [
        'pub struct Settings {',
        `    pub a: u64, ${MARK}`,
        '}',
        '',
        'pub fn routes() -> Router {',
        '    Router::new()',
        '        // Your routes',
        `        .merge(x()) ${MARK}`,
        '}',
        '',
      ].join('\n'),
      // Not as rustfmt prints it before: left as it is, less the marked line.
      'native/src/other.rs': ['fn  a() {}', '', `fn b() {} ${MARK}`, ''].join('\n'),
    });
    const run = removeExamples(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      read(dir, 'src/app/a.ts'),
      [
        'function f() {',
        '  const a = 1;',
        '',
        '  const b = 2;',
        '}',
        '',
        'function h() {',
        '  x();',
        '}',
        '',
        'function k() {',
        '  z();',
        '}',
        '',
      ].join('\n'),
    );
    assert.equal(read(dir, 'docs/page.md'), '# Page\n\nkeep\n\nmore\n');
    assert.equal(
      read(dir, 'native/src/app/mod.rs'),
      'pub struct Settings {}\n\npub fn routes() -> Router {\n    Router::new()\n    // Your routes\n}\n',
    );
    assert.equal(read(dir, 'native/src/other.rs'), 'fn  a() {}\n');
  });

  it('takes the crates it removes from native/Cargo.toml out of native/Cargo.lock, offline', (t) => {
    const missing = rustfmtUnavailable(); // cargo with it
    if (missing !== undefined) return t.skip(missing);
    const crate = (name: string) =>
      `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\npath = "lib.rs"\n`;
    const dir = tempTree({
      'native/Cargo.toml': `${crate('app')}\n[dependencies]\ndemo = { path = "demo" } # ${TAG}\n`,
      'native/lib.rs': '',
      'native/demo/Cargo.toml': crate('demo'),
      'native/demo/lib.rs': '',
    });
    const cargo = (...args: string[]) =>
      spawnSync('cargo', [...args, '--offline', '--manifest-path', 'native/Cargo.toml'], {
        cwd: dir,
        encoding: 'utf8',
      });
    const generated = cargo('generate-lockfile');
    assert.equal(generated.status, 0, generated.stderr);
    assert.match(read(dir, 'native/Cargo.lock'), /name = "demo"/);
    const run = removeExamples(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^removed 1 crate no longer needed from native\/Cargo\.lock$/m);
    assert.doesNotMatch(read(dir, 'native/Cargo.lock'), /name = "demo"/);
    const locked = cargo('metadata', '--locked', '--format-version', '1');
    assert.equal(locked.status, 0, `the lock file fits the manifest (--locked):\n${locked.stderr}`);
  });

  it('in a git checkout, leaves ignored files alone and sees new ones', (t) => {
    if (spawnSync('git', ['--version']).status !== 0) return t.skip('git is not installed');
    const dir = tempTree({
      ...SYNTHETIC,
      '.gitignore': 'dist/\n',
      'dist/app/routes.js': `x(); ${MARK}\n`,
      'src/app/new.ts': `y(); ${MARK}\nz();\n`,
    });
    assert.equal(spawnSync('git', ['init', '-q'], { cwd: dir }).status, 0);
    const run = removeExamples(dir);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(read(dir, 'dist/app/routes.js'), `x(); ${MARK}\n`);
    assert.equal(read(dir, 'src/app/new.ts'), 'z();\n');
  });
});

describe('npm run examples:remove on a copy of this repository', () => {
  it('leaves no demo folder, no marker and no example error; a second run finds nothing', (t) => {
    if (!existsSync(path.join(REPO_ROOT, 'src', 'examples'))) return t.skip('the demo is already removed here');
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    if (listed.status !== 0) return t.skip('not a git checkout');
    const dir = mkdtempSync(path.join(tmpdir(), 'handoff-rm-examples-repo-'));
    temps.push(dir);
    const files = listed.stdout.split('\0').filter((file) => file && existsSync(path.join(REPO_ROOT, file)));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      cpSync(path.join(REPO_ROOT, file), path.join(dir, file));
    }

    // `npm run bench` (an unknown argument makes it stop before anything heavy): with the demo
    // it goes on to read its arguments; without, it stops first, saying why.
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const bench = () =>
      spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--no-such-argument'], {
        cwd: dir,
        encoding: 'utf8',
      });
    const withDemo = bench();
    assert.match(withDemo.stderr, /unknown argument --no-such-argument/, withDemo.stderr);

    const run = removeExamples(dir);
    assert.equal(run.status, 0, run.stderr);
    const withoutDemo = bench();
    assert.equal(withoutDemo.status, 2, withoutDemo.stderr);
    assert.match(withoutDemo.stderr, /example routes GET \/hello and POST \/echo, which are gone here/);
    assert.match(withoutDemo.stderr, /npm run examples:remove/);
    assert.doesNotMatch(withoutDemo.stderr, /unknown argument/, 'it stops before anything else');
    for (const gone of ['src/examples', 'native/src/examples', 'test/examples', 'bench/examples']) {
      assert.ok(!existsSync(path.join(dir, gone)), `${gone} is gone`);
    }
    const marked = files.filter((file) => {
      if (!/^(src|native|test|bench)\//.test(file) || !existsSync(path.join(dir, file))) return false;
      const text = readFileSync(path.join(dir, file));
      if (text.includes(0)) return false;
      return text
        .toString('utf8')
        .split('\n')
        .some((line) => line.trimEnd().endsWith(MARK) || line.trimStart().startsWith(BEGIN));
    });
    assert.deepEqual(marked, [], 'no marked line is left');
    const catalogue = JSON.parse(read(dir, 'src/api/errors.json')) as Record<string, { example?: boolean }>;
    assert.deepEqual(
      Object.keys(catalogue).filter((code) => catalogue[code]?.example),
      [],
      'no example error is left',
    );
    assert.ok(catalogue.not_found, 'the core errors stay');
    assert.ok(existsSync(path.join(dir, 'src', 'api', 'health.ts')), 'the core stays');

    // Formatted as the lint wants it: Rust (rustfmt) and TypeScript (biome); the demo's crates
    // gone from the manifest and the lock file, which still fits it (CI builds with --locked).
    const missing = rustfmtUnavailable();
    if (missing === undefined) {
      assert.doesNotMatch(read(dir, 'native/Cargo.toml'), /^(sqlx|sha2|hex) =/m);
      assert.doesNotMatch(read(dir, 'native/Cargo.lock'), /^name = "(sqlx|sha2|hex)"$/m);
      const locked = spawnSync(
        'cargo',
        ['metadata', '--locked', '--offline', '--format-version', '1', '--manifest-path', 'native/Cargo.toml'],
        { cwd: dir, encoding: 'utf8' },
      );
      assert.equal(locked.status, 0, `the lock file fits the manifest (--locked):\n${locked.stderr}`);
      const fmt = spawnSync('cargo', ['fmt', '--manifest-path', 'native/Cargo.toml', '--', '--check'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(fmt.status, 0, `cargo fmt -- --check:\n${fmt.stdout}${fmt.stderr}`);
    } else {
      t.diagnostic(`not checked with rustfmt: ${missing}`);
    }
    const biome = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'biome'), ['format', '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(biome.status, 0, `biome format:\n${biome.stdout}${biome.stderr}`.slice(0, 6000));

    const again = removeExamples(dir);
    assert.equal(again.stdout.trim(), 'Nothing to remove: the examples are already gone.');
  });
});
