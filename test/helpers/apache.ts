// Runs an app under real Apache 2.4 + mod_passenger (Debian's packages), set up the way a cPanel
// account is (docs/hosting.md): the CloudLinux `.htaccess` block, included from a `<Directory>` of the
// vhost because stock mod_passenger refuses it in a real .htaccess, and the app running as an
// unprivileged user.
//
// Apache runs from a private config (`apache2 -f <conf> -k start`, explicit LoadModule lines):
// its ServerRoot, pid file, logs, Passenger's instance registry and TMPDIR are all in one fresh
// temporary folder, it listens on a free port of 127.0.0.1 only, and the system's apache2 service
// and /etc/apache2 are never touched. The folder is removed when the test process exits.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { renderHtaccess } from '../../src/deploy/htaccess';
import { describeError } from '../../src/log';
import { descendants, isAlive, isPassengerAgent, marksOf, mentioning, readText, signalAll } from './processes';
import { freePort, getStatus, sleep, tail } from './util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const INSTALL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'install-system-deps.sh');
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const PASSENGER_ROOT = '/usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini';
/** The user the app runs as unless told otherwise; created on first use. */
export const DEFAULT_APP_USER = 'handoff';
// The first spawn of an app includes Node's start and, for the fallback, fastify's ready().
const START_TIMEOUT_MS = 60_000;
// Passenger gives an app 60 s after closing its stdin before SIGKILL; a little more here.
const STOP_TIMEOUT_MS = 70_000;

/** Whether Apache + mod_passenger can be used, and if not why (for `t.skip(reason)` or a CI failure). */
export type ApacheCheck = { ok: true } | { ok: false; reason: string };

/** What `startApache` runs. */
export interface ApacheOptions {
  /** Folder holding `app.js`; must be readable by `user`. */
  readonly appRoot: string;
  /** The URL path of the app (`PassengerBaseURI`), e.g. `/api`. @default '/' */
  readonly baseUri?: string;
  /** Variables for the app, as `SetEnv` lines next to the Passenger block. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Unix user the app runs as (`PassengerUser`); created if missing. @default 'handoff' */
  readonly user?: string;
  /** The Node binary (`PassengerNodejs`). @default the Node running the tests */
  readonly node?: string;
  /** An `.htaccess` file, copied as it is into the app's folder of the document root; without it
   * the block is rendered from the options above, as `passenger-handoff htaccess` writes it. */
  readonly htaccess?: string;
  /** Document root of the vhost; the app's folder `<docRoot><baseUri>` is created in it.
   * @default a folder in the instance's temporary folder */
  readonly docRoot?: string;
  /** `PassengerMaxPoolSize`: at most this many app processes. @default 1 */
  readonly maxPoolSize?: number;
  /** `PassengerMinInstances`. @default 1 */
  readonly minInstances?: number;
  /** `PassengerStatThrottleRate` in seconds: how often tmp/restart.txt is looked at. @default 1 */
  readonly statThrottleRate?: number;
  /** `PassengerBufferUpload`: off streams request bodies to the app as they arrive. @default true */
  readonly bufferUpload?: boolean;
  /** Path that must answer 200 before the instance counts as started; null to wait for nothing.
   * @default `<baseUri>/health` */
  readonly healthPath?: string | null;
  /** How Apache reads the `.htaccess`: `include`d in the app folder's `<Directory>` (the scope
   * CloudLinux's module gives it), or as a real `.htaccess` (`AllowOverride All`), which stock
   * mod_passenger refuses. @default 'include' */
  readonly htaccessAs?: 'include' | 'htaccess';
}

/** One Apache serving one app on 127.0.0.1:`port`. */
export interface ApacheInstance {
  readonly port: number;
  /** The instance's temporary folder (config, logs, registry). */
  readonly dir: string;
  /** Passenger's log (`PassengerLogFile`); the app's stdout and stderr land in it as
   * `App <pid> output: <line>`. */
  readonly logFile: string;
  /** Apache's `ErrorLog` (configuration errors, Passenger's startup). */
  readonly errorLogFile: string;
  /** Passenger's log so far ('' before it exists). */
  readLog(): string;
  /** Apache's error log so far. */
  readErrorLog(): string;
  /** Pids of the app processes Passenger runs now. */
  appPids(): number[];
  /** Touches `<appRoot>/tmp/restart.txt` as a user does; Passenger restarts the app on the next
   * request after `statThrottleRate` seconds. A `tmp/` folder created here is removed by stop(). */
  restart(): void;
  /**
   * Stops Apache: `graceful-stop` (requests in flight finish; Passenger then closes the app's stdin
   * and the app exits by itself) or `stop`. Waits up to 70 s for Apache, Passenger and the app to be
   * gone and SIGKILLs what is left. The logs stay readable until the test process exits, which
   * removes the folder. Safe to call twice; resolves with whether everything exited without being
   * killed.
   */
  stop(mode?: 'graceful-stop' | 'stop'): Promise<{ clean: boolean }>;
}

// A test that forgets stop(), or fails before it, must not leave Apache (a daemon) running. The
// folders stay until the test process exits, so that logs can be read after stop(). Keyed by folder;
// the value is the config of an instance still running.
const instances = new Map<string, string | undefined>();
process.on('exit', () => {
  for (const [dir, conf] of instances) {
    if (conf !== undefined) spawnSync(APACHE, ['-f', conf, '-k', 'stop'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
});

let apacheCheck: ApacheCheck | undefined;

/**
 * Makes sure Apache and mod_passenger are installed (running scripts/install-system-deps.sh with
 * `apache2 libapache2-mod-passenger` if not) and that we are root (Apache drops to www-data and
 * Passenger switches to the app's user). The answer is kept: the install is tried at most once.
 */
export function ensureApache(): ApacheCheck {
  if (apacheCheck) return apacheCheck;
  const present = () => existsSync(APACHE) && existsSync(path.join(MODULES, 'mod_passenger.so'));
  if (process.getuid?.() !== 0) {
    apacheCheck = { ok: false, reason: 'Apache tests run as root (Apache and Passenger switch users)' };
  } else if (present()) {
    apacheCheck = { ok: true };
  } else {
    spawnSync('bash', [INSTALL_SCRIPT, 'apache2', 'libapache2-mod-passenger'], { stdio: 'inherit' });
    apacheCheck = present()
      ? { ok: true }
      : { ok: false, reason: `Apache or mod_passenger is missing and ${INSTALL_SCRIPT} could not install them` };
  }
  return apacheCheck;
}

/** Why Apache + mod_passenger cannot be had here (installing them if needed), or undefined; for
 * a suite's `skip` with unlessMissing (test/helpers/util.ts). */
export function apacheUnavailable(): string | undefined {
  const available = ensureApache();
  return available.ok ? undefined : available.reason;
}

/** Skips the test (or, in CI, fails it) when Apache cannot be had; true when it can. Inside a
 * test only: a suite's `before` hook has no `t.skip` (use apacheUnavailable as the suite's skip). */
export function requireApache(t: TestContext): boolean {
  const available = ensureApache();
  if (available.ok) return true;
  if (process.env.CI === 'true') throw new Error(`CI must run the Apache tests: ${available.reason}`);
  t.skip(available.reason);
  return false;
}

/** Creates the system user `name` (with a group of the same name, no home, no shell) if missing. */
export function ensureUser(name: string): { uid: number; gid: number } {
  let ids = userIds(name);
  if (!ids) {
    const made = spawnSync(
      'useradd',
      [
        '--system',
        '--user-group',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        name,
      ],
      { encoding: 'utf8' },
    );
    ids = userIds(name);
    // Exit 9: another test process created it meanwhile.
    if (!ids) throw new Error(`useradd ${name} failed (${made.status}): ${made.stderr}`);
  }
  return ids;
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const out = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const outGroup = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (out.status !== 0 || outGroup.status !== 0) return undefined;
  return { uid: Number(out.stdout.trim()), gid: Number(outGroup.stdout.trim()) };
}

/**
 * Starts Apache with mod_passenger serving `appRoot` under `baseUri` on a free port of 127.0.0.1,
 * and resolves once `GET healthPath` answers 200 (Passenger spawns the app on that first request).
 * Rejects after 60 s, or as soon as Apache is gone, with the tail of both logs; nothing is left
 * running then. Call `ensureApache()` first.
 */
export async function startApache(options: ApacheOptions): Promise<ApacheInstance> {
  const appRoot = path.resolve(options.appRoot);
  const baseUri = options.baseUri ?? '/';
  const user = options.user ?? DEFAULT_APP_USER;
  ensureUser(user);
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-apache-'));
  // Apache's children (www-data) and the app (user) must reach the document root and Passenger's
  // sockets in here.
  chmodSync(dir, 0o755);
  for (const sub of ['logs', 'run', 'registry']) mkdirSync(path.join(dir, sub));
  mkdirSync(path.join(dir, 'tmp'), { mode: 0o1777 });
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  const docRoot = path.resolve(options.docRoot ?? path.join(dir, 'public_html'));
  const appFolder = path.join(docRoot, baseUri);
  mkdirSync(appFolder, { recursive: true });
  const htaccess = path.join(appFolder, '.htaccess');
  writeFileSync(
    htaccess,
    options.htaccess === undefined
      ? renderHtaccess({ appRoot, baseUri, node: options.node ?? process.execPath })
      : readFileSync(options.htaccess),
  );
  const port = await freePort();
  const conf = path.join(dir, 'apache2.conf');
  writeFileSync(conf, renderConfig({ ...options, dir, port, docRoot, appFolder, htaccess, user }));
  instances.set(dir, conf);

  const logFile = path.join(dir, 'logs', 'passenger.log');
  const errorLogFile = path.join(dir, 'logs', 'error.log');
  const readLog = () => readText(logFile);
  const readErrorLog = () => readText(errorLogFile);
  const apachePid = () => Number.parseInt(readText(path.join(dir, 'run', 'apache2.pid')), 10) || undefined;
  // Passenger's agents are started by Apache's parent; the app runs under the core.
  const appPids = () => {
    const root = apachePid();
    return root === undefined ? [] : descendants(root).filter((pid) => !isPassengerAgent(pid) && !isApache(pid));
  };

  // Debian's apache2 has been seen to abort while starting in this container ("double free or
  // corruption", killed by SIGABRT before any app exists): that crash of Apache itself is tried
  // again, a few times and said so; any other failure to start is reported at once.
  let started = runApache(conf, 'start');
  for (let attempt = 2; started.status === null && attempt <= 3; attempt++) {
    process.stderr.write(
      `[apache] apache2 -k start was killed by ${started.signal}; starting it again (${attempt}/3)\n`,
    );
    started = runApache(conf, 'start');
  }
  if (started.status !== 0) {
    instances.delete(dir);
    const why = `${started.stderr}${readErrorLog()}`;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`apache2 -k start failed (${started.status ?? started.signal}):\n${tail(why, 30)}`);
  }

  let createdTmp: string | undefined;
  let stopping: Promise<{ clean: boolean }> | undefined;
  const stop = (mode: 'graceful-stop' | 'stop' = 'graceful-stop') => {
    stopping ??= stopApache(conf, dir, apachePid, appPids, mode);
    return stopping;
  };
  const healthPath = options.healthPath === undefined ? `${baseUri.replace(/\/$/, '')}/health` : options.healthPath;
  try {
    if (healthPath !== null) await waitForHealth(port, healthPath, apachePid);
  } catch (error) {
    const logs = `${tail(readErrorLog(), 20)}\n${tail(readLog(), 40)}`;
    await stop('stop');
    throw new Error(`Apache did not serve ${healthPath}: ${describeError(error)}\n${logs}`);
  }
  return {
    port,
    dir,
    logFile,
    errorLogFile,
    readLog,
    readErrorLog,
    appPids,
    restart() {
      const folder = path.join(appRoot, 'tmp');
      if (!existsSync(folder)) {
        mkdirSync(folder);
        createdTmp = folder;
      }
      writeFileSync(path.join(folder, 'restart.txt'), `${Date.now()}\n`);
    },
    async stop(mode) {
      const result = await stop(mode);
      // Leave the app root as it was: a repository used as the app root stays clean.
      if (createdTmp) rmSync(createdTmp, { recursive: true, force: true });
      createdTmp = undefined;
      return result;
    },
  };
}

interface ConfigValues extends ApacheOptions {
  dir: string;
  port: number;
  docRoot: string;
  appFolder: string;
  htaccess: string;
  user: string;
}

function renderConfig(values: ConfigValues): string {
  const { dir, port, docRoot, appFolder, htaccess, user } = values;
  const load = (name: string, file: string) => `LoadModule ${name} ${MODULES}/${file}`;
  const setEnv = Object.entries(values.env ?? {}).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /["\\\r\n]/.test(value)) {
      throw new Error(`cannot pass ${name}=${JSON.stringify(value)} with SetEnv`);
    }
    return `    SetEnv ${name} "${value}"`;
  });
  return `# Written by test/helpers/apache.ts; removed with its folder.
ServerRoot "${dir}"
ServerName 127.0.0.1
PidFile "${dir}/run/apache2.pid"
DefaultRuntimeDir "${dir}/run"
Mutex file:${dir}/run default
Listen 127.0.0.1:${port}
User www-data
Group www-data
Timeout 60
KeepAlive On
${load('mpm_event_module', 'mod_mpm_event.so')}
${load('authz_core_module', 'mod_authz_core.so')}
${load('env_module', 'mod_env.so')}
${load('passenger_module', 'mod_passenger.so')}
ErrorLog "${dir}/logs/error.log"
LogLevel warn
LogFormat "%h %t \\"%r\\" %>s %b" common
CustomLog "${dir}/logs/access.log" common

PassengerRoot ${PASSENGER_ROOT}
PassengerDefaultRuby /usr/bin/ruby
PassengerInstanceRegistryDir "${dir}/registry"
PassengerLogFile "${dir}/logs/passenger.log"
# Tests stay on loopback: without these Passenger contacts Phusion's servers (docs/hosting.md).
PassengerDisableSecurityUpdateCheck on
PassengerDisableAnonymousTelemetry on
PassengerMaxPoolSize ${values.maxPoolSize ?? 1}
PassengerStatThrottleRate ${values.statThrottleRate ?? 1}

<Directory />
    AllowOverride None
    Require all denied
</Directory>

<VirtualHost 127.0.0.1:${port}>
    ServerName localhost
    DocumentRoot "${docRoot}"
    PassengerMinInstances ${values.minInstances ?? 1}
    <Directory "${docRoot}">
        AllowOverride None
        Require all granted
    </Directory>
    # cPanel's account layout: the app's block lives in the .htaccess of its URL's folder. Stock
    # mod_passenger refuses it there ("not allowed here"), CloudLinux's does not: including it
    # here gives its lines the same scope.
    <Directory "${appFolder}">
        AllowOverride ${values.htaccessAs === 'htaccess' ? 'All' : 'None'}
        Require all granted
        PassengerUser ${user}
        PassengerGroup ${user}
        PassengerBufferUpload ${values.bufferUpload === false ? 'off' : 'on'}
${setEnv.join('\n')}
        ${values.htaccessAs === 'htaccess' ? '' : `Include "${htaccess}"`}
    </Directory>
</VirtualHost>
`;
}

function runApache(conf: string, action: string) {
  return spawnSync(APACHE, ['-f', conf, '-k', action], {
    encoding: 'utf8',
    // A clean environment: nothing of the test's (HANDOFF_*, PORT) reaches Passenger or the app.
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', TMPDIR: path.join(path.dirname(conf), 'tmp') },
  });
}

async function stopApache(
  conf: string,
  dir: string,
  apachePid: () => number | undefined,
  appPids: () => number[],
  mode: 'graceful-stop' | 'stop',
): Promise<{ clean: boolean }> {
  const parent = apachePid();
  // Everything of this instance: Apache, Passenger's agents, the app; found before they go.
  const all = marksOf([...(parent === undefined ? [] : [parent, ...descendants(parent)]), ...mentioning(dir)]);
  const apps = marksOf(appPids());
  runApache(conf, mode);
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while ([...all, ...apps].some(isAlive) && Date.now() < deadline) await sleep(100);
  const clean = ![...all, ...apps].some(isAlive);
  signalAll([...all, ...apps], 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while ([...all, ...apps].some(isAlive) && Date.now() < killDeadline) await sleep(50);
  instances.set(dir, undefined);
  return { clean };
}

function isApache(pid: number): boolean {
  return readText(`/proc/${pid}/cmdline`).split('\0')[0] === APACHE;
}

async function waitForHealth(port: number, healthPath: string, apachePid: () => number | undefined): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    const pid = apachePid();
    if (pid !== undefined && marksOf([pid]).length === 0) throw new Error(`Apache exited; last: ${last}`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`not within ${START_TIMEOUT_MS / 1000} s; last: ${last}`);
    try {
      const status = await getStatus(port, healthPath, remaining);
      if (status === 200) return;
      last = `status ${status}`;
    } catch (error) {
      last = describeError(error);
    }
    await sleep(200);
  }
}
