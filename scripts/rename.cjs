#!/usr/bin/env node
// `npm run rename -- <new-name>`: gives the project your name everywhere its name appears:
// package.json (name, bin) and package-lock.json, the README title and text, the native crate
// (`<name>-native` in native/Cargo.toml and Cargo.lock), the deployment examples (.htaccess,
// .cpanel.yml, deploy/, the app root `~/<name>` and `~/nodevenv/<name>/...`), the CLI's usage
// and the tests that follow them. The current name is read from package.json, so it can be run
// again. It replaces the name as a whole word (`passenger-handoff-native` counts, `my-passenger-
// handoff` does not) in the tracked text files, and lists every file it changed.
// What keeps its name: the HANDOFF_* variables, the addon file (native/handoff.<platform>.node)
// and the Rust library `handoff`, which are the template's own and appear in no URL or path
// a user sees.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { projectFiles } = require('./lib/project.cjs');

const root = path.resolve(__dirname, '..');
const say = (message) => process.stdout.write(`${message}\n`);

function fail(message) {
  process.stderr.write(`rename: ${message}\n`);
  process.exit(1);
}

const next = process.argv[2];
if (next === undefined || next === '--help' || process.argv.length > 3) {
  fail('usage: npm run rename -- <new-name>   (lowercase letters, digits and dashes, e.g. my-api)');
}
// One spelling that is a valid npm package name, Cargo crate name, folder and repository name.
if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(next) || next.length > 64) {
  fail(
    `"${next}" is not a name this can use everywhere: lowercase letters, digits and single dashes, starting with a letter (e.g. my-api)`,
  );
}
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const current = manifest.name;
if (current === next) {
  say(`Nothing to rename: the project is already called ${next}.`);
  process.exit(0);
}
if (typeof current !== 'string' || current.length < 4) {
  fail(`the current name in package.json (${JSON.stringify(current)}) is too short to replace safely; rename by hand`);
}

const escaped = current.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
// Not inside a longer word: nothing like [a-z0-9_-] before it, nor [a-z0-9_] after it (a dash
// after it is fine: `<name>-native`, `<name>-0.1.0.zip`).
const pattern = new RegExp(`(?<![A-Za-z0-9_-])${escaped}(?![A-Za-z0-9_])`, 'g');

const changed = [];
for (const file of projectFiles()) {
  const full = path.join(root, file);
  let bytes;
  try {
    bytes = fs.readFileSync(full);
  } catch {
    continue;
  }
  if (bytes.includes(0)) continue;
  const text = bytes.toString('utf8');
  let count = 0;
  const renamed = text.replace(pattern, () => {
    count += 1;
    return next;
  });
  if (count === 0) continue;
  fs.writeFileSync(full, renamed);
  changed.push({ file, count });
}

if (changed.length === 0) {
  say(`"${current}" appears nowhere; nothing changed.`);
  process.exit(0);
}
say(`Renamed ${current} to ${next}:`);
for (const { file, count } of changed) say(`  ${file} (${count})`);
say('\nThe HANDOFF_* variables and the addon file name (native/handoff.<platform>.node) stay as they are.');
say('Next: review with `git diff`, run `npm run build` and `npm test`; rename the folder and the git remote yourself.');
