// A cPanel account with this app installed as the panel installs it (test/helpers/cpanel.ts), for
// doctor to look at: app.js, dist/, package.json and the native addon copied into the app root,
// ~/nodevenv/<app>/<major>/lib/node_modules holding the dependencies (a link to the repository's,
// instead of an install) and the app root's node_modules a link to it, the panel's .htaccess in
// ~/public_html/api. Each test then breaks one thing and runs doctor as the account's user, as
// `node dist/cli.js doctor --json` in the app root.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { renderHtaccess } from '../../src/deploy/htaccess';
import type { Check } from '../../src/doctor/types';
import { ensureUser } from '../helpers/apache';
import { type Account, createAccount } from '../helpers/cpanel';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const ADDON = path.join('native', 'handoff.linux-x64-gnu.node');
/** Not the Apache tests' user: other processes of that user must not count against NPROC here. */
export const DOCTOR_USER = 'handoff-doctor';

/** Why the account cannot be built here (doctor runs as another user: root is needed), if so. */
export function accountUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root, to lay out an account and run doctor as its user';
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) return 'dist/ is not built';
  return undefined;
}

/** Whether the native addon was built (`npm run build:native`). */
export function addonBuilt(): boolean {
  return existsSync(path.join(REPO_ROOT, ADDON));
}

export interface InstalledApp extends Account {
  /** The panel's .htaccess, ~/public_html/api/.htaccess. */
  readonly htaccess: string;
  /** Gives everything in the home folder back to the account's user (after a test changed files as root). */
  chown(): void;
}

/** An account with the app installed and healthy. */
export function installApp(): InstalledApp {
  const account = createAccount({ user: DOCTOR_USER });
  const { appRoot, nodevenv, docRoot } = account;
  for (const file of ['app.js', 'package.json']) copyFileSync(path.join(REPO_ROOT, file), path.join(appRoot, file));
  cpSync(path.join(REPO_ROOT, 'dist'), path.join(appRoot, 'dist'), {
    recursive: true,
    filter: (file) => !/\.(d\.ts|map)$/.test(file),
  });
  if (addonBuilt()) {
    mkdirSync(path.join(appRoot, 'native'));
    copyFileSync(path.join(REPO_ROOT, ADDON), path.join(appRoot, ADDON));
  }
  symlinkSync(realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(nodevenv, 'lib', 'node_modules'));
  symlinkSync(path.join(nodevenv, 'lib', 'node_modules'), path.join(appRoot, 'node_modules'));
  const htaccess = path.join(docRoot, 'api', '.htaccess');
  mkdirSync(path.dirname(htaccess));
  writeFileSync(htaccess, renderHtaccess({ appRoot, baseUri: '/api', node: account.node }));
  const chown = () => {
    const { uid, gid } = ensureUser(DOCTOR_USER);
    spawnSync('chown', ['-hR', `${uid}:${gid}`, account.home]);
  };
  chown();
  return { ...account, htaccess, chown };
}

/** What one doctor run gave. */
export interface DoctorRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The checks, from `--json` (empty for a text run). */
  readonly checks: Check[];
  /** The check named `id`; throws when there is none. */
  check(id: string): Check;
}

/** A memory cgroup (v1 or v2) made for one test, below this process's own, as a host's per-account
 * limit (CloudLinux's LVE PMEM is one). */
export interface MemoryCgroup {
  readonly dir: string;
  /** Sets its limit (v1 memory.limit_in_bytes, v2 memory.max). */
  limit(bytes: number): void;
  /** The most memory charged to it so far (v1 memory.max_usage_in_bytes, v2 memory.peak). */
  peak(): number;
  /** Removes it (its processes must have ended). */
  remove(): void;
}

/** Makes a memory cgroup, or says why it cannot be made here. */
export function createMemoryCgroup(name: string): MemoryCgroup | string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.map((l) => l.split(':')).find(([, controllers]) => controllers?.split(',').includes('memory'));
  const v2 = lines.map((l) => l.split(':')).find(([id, controllers]) => id === '0' && controllers === '');
  const spec =
    v1?.[2] !== undefined
      ? {
          dir: path.join('/sys/fs/cgroup/memory', v1[2], name),
          max: 'memory.limit_in_bytes',
          peak: 'memory.max_usage_in_bytes',
        }
      : v2?.[2] !== undefined
        ? { dir: path.join('/sys/fs/cgroup', v2[2], name), max: 'memory.max', peak: 'memory.peak' }
        : undefined;
  if (!spec) return 'no memory cgroup controller in /proc/self/cgroup';
  try {
    mkdirSync(spec.dir);
  } catch (error) {
    return `cannot create a cgroup at ${spec.dir}: ${(error as Error).message}`;
  }
  if (!existsSync(path.join(spec.dir, spec.max)) || !existsSync(path.join(spec.dir, spec.peak))) {
    rmdirSync(spec.dir);
    return `the memory controller is not enabled for ${spec.dir} (no ${spec.max} or ${spec.peak})`;
  }
  return {
    dir: spec.dir,
    limit: (bytes) => writeFileSync(path.join(spec.dir, spec.max), String(bytes)),
    peak: () => Number(readFileSync(path.join(spec.dir, spec.peak), 'utf8')),
    remove: () => rmdirSync(spec.dir),
  };
}

/** Runs `node dist/cli.js doctor` in the app root as the account's user, with only `env` (plus PATH
 * and HOME), optionally under `prlimit --nproc=<nproc> --nofile=<nofile>` and inside the cgroup
 * `cgroup` (a folder of /sys/fs/cgroup). `--json` unless `text`. */
export function runDoctor(
  app: Account,
  options: {
    args?: string[];
    env?: Record<string, string>;
    nproc?: number;
    nofile?: number;
    cgroup?: string;
    text?: boolean;
  } = {},
): DoctorRun {
  const { uid, gid } = ensureUser(app.user);
  const limits = [
    ...(options.nproc === undefined ? [] : [`--nproc=${options.nproc}`]),
    ...(options.nofile === undefined ? [] : [`--nofile=${options.nofile}`]),
  ];
  const limit = limits.length === 0 ? [] : ['prlimit', ...limits];
  // Joins the cgroup as root before dropping to the user, so everything doctor starts is charged there.
  const join =
    options.cgroup === undefined ? [] : ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup];
  const [command = '', ...prefix] = [...join, 'setpriv'];
  const result = spawnSync(
    command,
    [
      ...prefix,
      `--reuid=${uid}`,
      `--regid=${gid}`,
      '--clear-groups',
      ...limit,
      app.node,
      path.join(app.appRoot, 'dist', 'cli.js'),
      'doctor',
      ...(options.text ? [] : ['--json']),
      ...(options.args ?? []),
    ],
    {
      cwd: app.appRoot,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: app.home, ...options.env },
      timeout: 120_000,
    },
  );
  const checks: Check[] = options.text || result.status === 2 ? [] : (JSON.parse(result.stdout).checks as Check[]);
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    checks,
    check(id) {
      const found = checks.find((c) => c.id === id);
      if (!found) throw new Error(`no check ${id} in:\n${result.stdout}\n${result.stderr}`);
      return found;
    },
  };
}

/** The checks that did not pass, for assertion messages. */
export function notOk(run: DoctorRun): string {
  return run.checks
    .filter((c) => c.status !== 'ok')
    .map((c) => `${c.status} ${c.id}: ${c.message} (fix: ${c.fix})`)
    .join('\n');
}
