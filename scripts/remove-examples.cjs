#!/usr/bin/env node
// `npm run examples:remove`: deletes the demo (hello, echo, hash, counter) and keeps the core:
//   - the folders src/examples, native/src/examples, test/examples and bench/examples;
//   - every line that ends in the examples marker (`// [examples]`; `# [examples]` in TOML and
//     shell files; `<!-- [examples] -->` in Markdown), and every block from a line that starts
//     with `// [examples] begin` to a line that starts with `// [examples] end`, both included,
//     in the files of src/, native/, test/, bench/, README.md and docs/;
//   - the entries of src/api/errors.json with "example": true.
// Where lines go, a blank line that would then follow another blank line (or open or end the
// file) goes too; a Rust file that rustfmt left unchanged before is passed through rustfmt after
// (when it is installed), so the core stays as `cargo fmt -- --check` wants it. When
// native/Cargo.toml loses lines (the demo's crates), native/Cargo.lock loses those crates too.
// It prints what it removed; a second run finds nothing to remove. `--dry-run` only prints.
// Nothing is changed when a block is not closed: the error names the file and line.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { projectFiles } = require('./lib/project.cjs');

const root = path.resolve(__dirname, '..');
const dryRun = process.argv.includes('--dry-run');
const say = (message) => process.stdout.write(`${message}\n`);

const DIRECTORIES = ['src/examples', 'native/src/examples', 'test/examples', 'bench/examples'];
const SCANNED = ['src/', 'native/', 'test/', 'bench/', 'docs/', 'README.md'];
const SKIPPED = ['native/target/', 'bench/results/'];
const CATALOGUE = 'src/api/errors.json';

// The markers, spelled so that this file does not carry them itself.
const TAG = `[${'examples'}]`;
const LINE = [`// ${TAG}`, `# ${TAG}`, `<!-- ${TAG} -->`];
const escapeRegExp = (text) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
const opener = (word) => new RegExp(`^\\s*(//|#|<!--) ${escapeRegExp(TAG)} ${word}\\b`);
const BEGIN = opener('begin');
const END = opener('end');

function main() {
  const files = projectFiles();
  const plan = { directories: [], edits: [], catalogue: undefined };
  for (const dir of DIRECTORIES) {
    if (!fs.existsSync(path.join(root, dir))) continue;
    plan.directories.push({ dir, count: countFiles(path.join(root, dir)) });
  }
  const problems = [];
  for (const file of files) {
    if (DIRECTORIES.some((dir) => file.startsWith(`${dir}/`))) continue;
    if (!SCANNED.some((entry) => file === entry || file.startsWith(entry))) continue;
    if (SKIPPED.some((entry) => file.startsWith(entry))) continue;
    const text = readText(file);
    if (text === undefined) continue;
    const edit = planEdit(file, text, problems);
    if (edit !== undefined) plan.edits.push(edit);
  }
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`examples:remove: ${problem}\n`);
    process.stderr.write('examples:remove: nothing was changed.\n');
    process.exit(1);
  }
  plan.catalogue = planCatalogue();

  if (plan.directories.length === 0 && plan.edits.length === 0 && plan.catalogue === undefined) {
    say('Nothing to remove: the examples are already gone.');
    return;
  }
  const verb = dryRun ? 'would remove' : 'removed';
  for (const { dir, count } of plan.directories) {
    if (!dryRun) fs.rmSync(path.join(root, dir), { recursive: true, force: true });
    say(`${verb} ${dir}/ (${count} file${count === 1 ? '' : 's'})`);
  }
  for (const edit of plan.edits) {
    if (!dryRun) fs.writeFileSync(path.join(root, edit.file), edit.text);
    const parts = [];
    if (edit.lines > 0) parts.push(`${edit.lines} marked line${edit.lines === 1 ? '' : 's'}`);
    if (edit.blocks > 0) {
      parts.push(`${edit.blocks} marked block${edit.blocks === 1 ? '' : 's'} (${edit.blockLines} lines)`);
    }
    say(`${verb} ${parts.join(' and ')} from ${edit.file}`);
  }
  if (plan.catalogue !== undefined) {
    if (!dryRun) fs.writeFileSync(path.join(root, CATALOGUE), plan.catalogue.text);
    say(`${verb} ${plan.catalogue.codes.map((code) => `"${code}"`).join(', ')} from ${CATALOGUE}`);
  }
  if (dryRun) return;
  if (plan.edits.some((edit) => edit.file === 'native/Cargo.toml')) updateCargoLock();
  const left = mentions(projectFiles());
  if (left.length > 0) {
    say('\nThese lines still mention the examples (not marked, so left as they are):');
    for (const line of left) say(`  ${line}`);
  }
  say('\nNext: `npm run build` and `npm test`.');
}

/** Drops the crates native/Cargo.toml no longer names from native/Cargo.lock (`cargo update
 * --workspace --offline`: nothing else changes, nothing is downloaded), as builds with
 * `--locked` (CI) need. Without cargo, or when it fails, one line says what to run. */
function updateCargoLock() {
  const lock = path.join(root, 'native', 'Cargo.lock');
  if (!fs.existsSync(lock)) return;
  const packages = () => (fs.readFileSync(lock, 'utf8').match(/^\[\[package\]\]$/gm) ?? []).length;
  const before = packages();
  const result = spawnSync('cargo', ['update', '--workspace', '--offline', '--manifest-path', 'native/Cargo.toml'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? 'cargo is not installed' : `cargo failed: ${result.stderr.trim().split('\n').at(-1)}`;
    say(
      `native/Cargo.lock is left as it was (${why}): run \`cargo update --workspace\` in native/ before a --locked build`,
    );
    return;
  }
  const dropped = before - packages();
  say(`removed ${dropped} crate${dropped === 1 ? '' : 's'} no longer needed from native/Cargo.lock`);
}

function countFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce((sum, entry) => sum + (entry.isDirectory() ? countFiles(path.join(dir, entry.name)) : 1), 0);
}

/** A file's text, or undefined for a binary (a NUL byte) or unreadable file. */
function readText(file) {
  let bytes;
  try {
    bytes = fs.readFileSync(path.join(root, file));
  } catch {
    return undefined;
  }
  if (bytes.includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** The file without its marked lines and blocks, or undefined when it has none. */
function planEdit(file, text, problems) {
  const lines = text.split('\n');
  const kept = [];
  let marked = 0;
  let blocks = 0;
  let blockLines = 0;
  let openedAt;
  // Whether lines were just removed: a blank line right after is kept only between two others.
  let seam = false;
  const blank = (line) => line.trim() === '';
  const code = /\.(ts|js|cjs|mjs|rs|json)$/.test(file);
  lines.forEach((line, index) => {
    if (BEGIN.test(line)) {
      if (openedAt !== undefined)
        problems.push(`${file}:${index + 1}: a block begins inside the block of line ${openedAt}`);
      openedAt = index + 1;
      blocks += 1;
      blockLines += 1;
      seam = true;
      return;
    }
    if (END.test(line)) {
      if (openedAt === undefined) problems.push(`${file}:${index + 1}: a block ends that did not begin`);
      openedAt = undefined;
      blockLines += 1;
      return;
    }
    if (openedAt !== undefined) {
      blockLines += 1;
      return;
    }
    const end = line.replace(/\s+$/, '');
    if (LINE.some((marker) => end.endsWith(marker))) {
      marked += 1;
      seam = true;
      return;
    }
    // At a seam: no blank line after another, none at the top; at the end, the last blank line
    // before the final line feed goes instead (the file keeps ending in one line feed). In code,
    // no blank line right inside a bracket either (as the formatters print it).
    const last = index === lines.length - 1;
    const previous = kept[kept.length - 1];
    if (seam && blank(line) && (previous === undefined || blank(previous))) {
      if (!last || previous === undefined) {
        seam = false;
        return;
      }
      kept.pop();
    } else if (seam && code && blank(line) && /[{([]$/.test(previous.trimEnd())) {
      seam = false;
      return;
    } else if (seam && code && previous !== undefined && blank(previous) && /^[})\]]/.test(line.trimStart())) {
      kept.pop();
    }
    seam = false;
    kept.push(line);
  });
  if (openedAt !== undefined) problems.push(`${file}:${openedAt}: a block begins and never ends`);
  if (marked === 0 && blocks === 0) return undefined;
  let result = kept.join('\n');
  if (file.endsWith('.rs')) result = rustfmtAfter(text, result);
  return { file, text: result, lines: marked, blocks, blockLines };
}

let rustfmtMissing = false;

/** `after` through rustfmt when `before` was as rustfmt prints it (a file formatted otherwise is
 * left as it is), else `after` unchanged; also unchanged without rustfmt (one line says so). */
function rustfmtAfter(before, after) {
  const edition = /^\s*edition\s*=\s*"(\d+)"/m.exec(readText('native/Cargo.toml') ?? '')?.[1] ?? '2021';
  const newline = before.includes('\r\n') ? 'Windows' : 'Unix';
  const format = (text) => {
    if (rustfmtMissing) return undefined;
    const result = spawnSync('rustfmt', ['--edition', edition, '--config', `newline_style=${newline}`], {
      cwd: root,
      input: text,
      encoding: 'utf8',
    });
    if (result.error) {
      rustfmtMissing = true;
      say('rustfmt is not installed: the Rust files are left unformatted (run `cargo fmt` in native/ later)');
      return undefined;
    }
    return result.status === 0 ? result.stdout : undefined;
  };
  if (format(before) !== before) return after;
  return format(after) ?? after;
}

/** errors.json without its example entries, one entry per line as it is written. */
function planCatalogue() {
  const text = readText(CATALOGUE);
  if (text === undefined) return undefined;
  const catalogue = JSON.parse(text);
  const codes = Object.keys(catalogue).filter((code) => catalogue[code]?.example === true);
  if (codes.length === 0) return undefined;
  const keep = Object.fromEntries(Object.entries(catalogue).filter(([code]) => !codes.includes(code)));
  // Delete the entries' own lines when each sits on one line; else write the file anew, one
  // entry per line.
  const lines = text.split('\n');
  const doomed = new Set();
  for (const code of codes) {
    const index = lines.findIndex((line) => new RegExp(`^\\s*${escapeRegExp(JSON.stringify(code))}\\s*:`).test(line));
    if (index >= 0) doomed.add(index);
  }
  let kept = lines.filter((_, index) => !doomed.has(index));
  // The entry now last must lose its comma.
  const closing = kept.findLastIndex((line) => line.trim().startsWith('}'));
  const last = kept.findLastIndex((line, index) => index < closing && line.trim() !== '');
  if (last >= 0) kept[last] = kept[last].replace(/,(\s*)$/, '$1');
  kept = kept.join('\n');
  if (!sameJson(kept, keep)) kept = formatCatalogue(keep);
  return { codes, text: kept };
}

function sameJson(text, expected) {
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(expected);
  } catch {
    return false;
  }
}

function formatCatalogue(catalogue) {
  const entry = (value) =>
    `{ ${Object.entries(value)
      .map(([key, field]) => `${JSON.stringify(key)}: ${JSON.stringify(field)}`)
      .join(', ')} }`;
  const body = Object.entries(catalogue).map(([code, value]) => `  ${JSON.stringify(code)}: ${entry(value)}`);
  return `{\n${body.join(',\n')}\n}\n`;
}

/** Lines that still refer to the removed folders: imports, `mod`/`crate::` paths, comments. */
function mentions(files) {
  const pattern =
    /^\s*import\b.*\bfrom\s+['"](\.\.?\/)+(\w+\/)*examples['"/]|^\s*(pub\s+)?mod\s+examples\b|crate::examples\b|^\s*(\/\/|\/\*|\*|#).*\b(src|test)\/examples\b/;
  const found = [];
  for (const file of files) {
    if (!/^(src|native\/src|native\/tests|test|bench)\//.test(file) || !/\.(ts|rs|cjs|js)$/.test(file)) continue;
    const text = readText(file);
    if (text === undefined) continue;
    text.split('\n').forEach((line, index) => {
      if (pattern.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
    });
  }
  return found;
}

main();
