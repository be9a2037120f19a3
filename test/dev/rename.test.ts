// `npm run rename -- <new-name>` (scripts/rename.cjs) on a copy of the repository: the old name is
// left nowhere, package.json, package-lock.json and Cargo.lock still agree with each other, a
// second run changes nothing, and a name that cannot serve as a package, crate and folder name
// is refused before anything changes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/app-process';

const OLD = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).name as string;

describe('npm run rename', () => {
  let dir = '';
  let files: string[] = [];

  before(() => {
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    assert.equal(listed.status, 0, listed.stderr);
    files = listed.stdout.split('\0').filter((file) => file && existsSync(path.join(REPO_ROOT, file)));
    dir = mkdtempSync(path.join(tmpdir(), 'handoff-rename-'));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      cpSync(path.join(REPO_ROOT, file), path.join(dir, file));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rename = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(dir, 'scripts', 'rename.cjs'), ...args], { cwd: dir, encoding: 'utf8' });
  const json = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));

  it('refuses a name that is not lowercase words and dashes, changing nothing', () => {
    for (const bad of ['My_Api', '@me/api', '1api', 'api--x', '']) {
      const run = rename(bad);
      assert.equal(run.status, 1, bad);
      assert.match(run.stderr, /^rename: /);
    }
    assert.equal(json('package.json').name, OLD);
  });

  it('renames every mention, and the manifests and lockfiles agree', () => {
    const run = rename('acme-orders');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Renamed \S+ to acme-orders:$/m);
    assert.match(run.stdout, /^ {2}package\.json \(2\)$/m);

    const left = files.filter((file) => {
      const bytes = readFileSync(path.join(dir, file));
      return !bytes.includes(0) && bytes.toString('utf8').includes(OLD);
    });
    assert.deepEqual(left, [], `${OLD} is left nowhere`);

    const manifest = json('package.json');
    const lock = json('package-lock.json');
    assert.equal(manifest.name, 'acme-orders');
    assert.deepEqual(manifest.bin, { 'acme-orders': 'dist/cli.js' });
    assert.equal(lock.name, 'acme-orders');
    assert.equal(lock.packages[''].name, 'acme-orders');
    assert.deepEqual(lock.packages[''].bin, manifest.bin);
    assert.match(readFileSync(path.join(dir, 'README.md'), 'utf8'), /^# acme-orders\n/);
    assert.match(readFileSync(path.join(dir, 'native', 'Cargo.toml'), 'utf8'), /^name = "acme-orders-native"$/m);
    // The template's own names stay.
    assert.equal(manifest.napi.binaryName, 'handoff');
  });

  it('leaves Cargo.lock in step with Cargo.toml (cargo --locked accepts it)', (t) => {
    const cargo = spawnSync('cargo', ['--version']);
    if (cargo.error || cargo.status !== 0) return t.skip('Rust is not installed (no `cargo` on PATH)');
    const metadata = spawnSync(
      'cargo',
      [
        'metadata',
        '--locked',
        '--offline',
        '--no-deps',
        '--format-version',
        '1',
        '--manifest-path',
        'native/Cargo.toml',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(metadata.status, 0, metadata.stderr);
    assert.equal(JSON.parse(metadata.stdout).packages[0].name, 'acme-orders-native');
  });

  it('says so when run again with the same name', () => {
    const run = rename('acme-orders');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Nothing to rename: the project is already called acme-orders.');
  });
});
