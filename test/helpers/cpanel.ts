// A cPanel account as CloudLinux's "Setup Node.js App" lays it out (docs/hosting.md), in a temporary
// folder: ~/public_html, the app root ~/<app>, and ~/nodevenv/<app>/<major>/ whose bin/node is the
// Node binary and whose lib/ holds package.json (a link to the app root's) and the installed
// node_modules; the app root's node_modules is a link to it. Everything belongs to the account's
// unprivileged user, and npm runs as that user, as the panel's "Run NPM Install" does.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_APP_USER, ensureUser } from './apache';

/** One account's folders. */
export interface Account {
  readonly user: string;
  readonly home: string;
  readonly docRoot: string;
  readonly appRoot: string;
  /** `~/nodevenv/<app>/<major>` */
  readonly nodevenv: string;
  /** `~/nodevenv/<app>/<major>/bin/node`, what PassengerNodejs names. */
  readonly node: string;
  /** Runs `command` as the account's user in `cwd` (HOME set to the account's); throws on failure. */
  run(command: string, args: readonly string[], cwd: string): string;
  /** Removes the account's folder. */
  remove(): void;
}

/** What `createAccount` sets up. */
export interface AccountOptions {
  /** @default 'handoff' */
  readonly user?: string;
  /** Folder name of the app root under the home folder. @default 'passenger-handoff' */
  readonly appName?: string;
  /** The Node binary the nodevenv points at. @default the Node running the tests */
  readonly nodeBinary?: string;
}

const accounts = new Set<string>();
process.on('exit', () => {
  for (const dir of accounts) rmSync(dir, { recursive: true, force: true });
});

/** Creates an empty account: home, public_html, an empty app root and the nodevenv's bin/node. */
export function createAccount(options: AccountOptions = {}): Account {
  const user = options.user ?? DEFAULT_APP_USER;
  const { uid, gid } = ensureUser(user);
  const appName = options.appName ?? 'passenger-handoff';
  const nodeBinary = options.nodeBinary ?? process.execPath;
  const major = (
    spawnSync(nodeBinary, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout ?? ''
  ).trim();
  if (!/^\d+$/.test(major)) throw new Error(`cannot run ${nodeBinary}`);
  const top = mkdtempSync(path.join(tmpdir(), 'handoff-account-'));
  accounts.add(top);
  chmodSync(top, 0o755);
  const home = path.join(top, user);
  const docRoot = path.join(home, 'public_html');
  const appRoot = path.join(home, appName);
  const nodevenv = path.join(home, 'nodevenv', appName, major);
  for (const dir of [docRoot, appRoot, path.join(nodevenv, 'bin'), path.join(nodevenv, 'lib')]) {
    mkdirSync(dir, { recursive: true });
  }
  const node = path.join(nodevenv, 'bin', 'node');
  symlinkSync(nodeBinary, node);
  // cPanel homes are 0711: Apache (www-data) may pass through to public_html, not list the home.
  chownTree(home, uid, gid);
  chmodSync(home, 0o711);

  const run = (command: string, args: readonly string[], cwd: string) => {
    const result = spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, command, ...args], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, npm_config_cache: path.join(home, '.npm'), npm_config_update_notifier: 'false' },
    });
    if (result.status !== 0) {
      throw new Error(
        `${command} ${args.join(' ')} as ${user} failed (${result.status}):\n${result.stdout}${result.stderr}`,
      );
    }
    return result.stdout;
  };
  return {
    user,
    home,
    docRoot,
    appRoot,
    nodevenv,
    node,
    run,
    remove() {
      rmSync(top, { recursive: true, force: true });
      accounts.delete(top);
    },
  };
}

/** Installs Debian's `unzip` (unzip, zipinfo) if it is missing. */
export function ensureUnzip(): void {
  if (existsSync('/usr/bin/unzip')) return;
  const script = path.join(__dirname, '..', '..', 'scripts', 'install-system-deps.sh');
  spawnSync('bash', [script, 'unzip'], { stdio: 'inherit' });
}

/** Uploads `zipFile` into the home folder and extracts it into the app root as the account's user,
 * as File Manager's Upload and Extract do. */
export function extractInto(account: Account, zipFile: string): void {
  ensureUnzip();
  const uploaded = path.join(account.home, path.basename(zipFile));
  copyFileSync(zipFile, uploaded);
  const { uid, gid } = statSync(account.home);
  chownSync(uploaded, uid, gid);
  account.run('unzip', ['-q', uploaded, '-d', account.appRoot], account.appRoot);
}

/**
 * "Run NPM Install": links the app root's package.json and lockfile into the nodevenv's lib/, runs
 * `npm install --omit=dev` there as the user (npm would replace a node_modules link in the app
 * root by a real folder, docs/hosting.md), and links the app root's node_modules to lib/node_modules.
 */
export function runNpmInstall(account: Account): void {
  const lib = path.join(account.nodevenv, 'lib');
  for (const file of ['package.json', 'package-lock.json']) {
    rmSync(path.join(lib, file), { force: true });
    symlinkSync(path.join(account.appRoot, file), path.join(lib, file));
  }
  account.run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund'], lib);
  const link = path.join(account.appRoot, 'node_modules');
  rmSync(link, { recursive: true, force: true });
  symlinkSync(path.join(lib, 'node_modules'), link);
  const { uid, gid } = statSync(account.appRoot);
  spawnSync('chown', ['-h', `${uid}:${gid}`, link]);
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, uid, gid);
    else spawnSync('chown', ['-h', `${uid}:${gid}`, full]);
  }
}
