// A cPanel account with this app installed as the panel installs it (test/helpers/cpanel.ts), for
// doctor to look at: app.js, dist/, package.json and the native addon copied into the app root,
// ~/nodevenv/<app>/<major>/lib/node_modules holding the dependencies (a link to the repository's,
// instead of an install) and the app root's node_modules a link to it, the panel's .htaccess in
// ~/public_html/api. Each test then breaks one thing and runs doctor as the account's user, as
// `node dist/cli.js doctor --json` in the app root.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** Runs `node dist/cli.js doctor` in the app root as the account's user, with only `env` (plus PATH
 * and HOME), optionally under `prlimit --nproc=<nproc>`. `--json` unless `text`. */
export function runDoctor(
  app: Account,
  options: { args?: string[]; env?: Record<string, string>; nproc?: number; text?: boolean } = {},
): DoctorRun {
  const { uid, gid } = ensureUser(app.user);
  const limit = options.nproc === undefined ? [] : ['prlimit', `--nproc=${options.nproc}`];
  const result = spawnSync(
    'setpriv',
    [
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
