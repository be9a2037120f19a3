// The checks of `passenger-handoff doctor`, each from what the host shows (files, /proc, a child
// process that loads the addon), never from what the app believes. Each returns ok, warn or fail
// with the fix in one sentence. What real hosts do to Node apps: ../../docs/hosting.md.
import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { userInfo } from 'node:os';
import path from 'node:path';
import { type Config, ConfigError, loadConfig } from '../config';
import { compareVersions, ElfError, newestGlibc, readElf } from './elf';
import { type HtaccessFile, sameFolder } from './htaccess-file';
import { PROBE_MARK, type ProbeResult } from './probe';
import { type Check, fail, ok, warn } from './types';

/** Threads a Node process runs by itself (main, V8's platform workers, libuv's pool of 4 once
 * used), the part of the budget HANDOFF_THREADS does not set (docs/robustness.md#threads). */
export const NODE_THREADS = 7;
/** Descriptors the app needs besides connections: stdio, the listening socket, epoll, logs. */
const SPARE_FILES = 32;

/** Everything the checks look at. */
export interface DoctorContext {
  readonly appRoot: string;
  readonly home: string;
  /** The environment the app gets: doctor's own plus the `.htaccess`'s `SetEnv` lines. */
  readonly env: NodeJS.ProcessEnv;
  /** Which variables came from the `.htaccess`. */
  readonly envFromHtaccess: ReadonlySet<string>;
  readonly htaccess: HtaccessFile | undefined;
  /** Where doctor looked for it. */
  readonly searched: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Node and the nodevenv
// ---------------------------------------------------------------------------------------------

export function checkNodeVersion(appRoot: string): Check {
  const wanted = readManifest(appRoot).engines?.node ?? '';
  const minimum = /^>=\s*(\d+)/.exec(wanted)?.[1];
  const major = Number(process.versions.node.split('.')[0]);
  if (minimum !== undefined && major < Number(minimum)) {
    return fail(
      'node',
      `Node ${process.version} (${process.execPath}); package.json needs ${wanted}`,
      `choose Node ${minimum} or newer in Setup Node.js App (or run doctor with that Node), then Run NPM Install.`,
    );
  }
  return ok('node', `Node ${process.version} (${process.execPath})${wanted ? `; package.json needs ${wanted}` : ''}`);
}

/** The nodevenv folder of the app, `~/nodevenv/<app root relative to home>`. */
function nodevenvRoot(context: DoctorContext): string {
  return path.join(context.home, 'nodevenv', path.relative(context.home, context.appRoot));
}

/** `<version>` of `…/nodevenv/<app>/<version>/…`, when `file` lies in `nodevenv`. */
function nodevenvVersion(nodevenv: string, file: string): string | undefined {
  const relative = path.relative(nodevenv, path.resolve(file));
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return relative.split(path.sep)[0] || undefined;
}

export function checkNodevenv(context: DoctorContext): Check {
  const link = path.join(context.appRoot, 'node_modules');
  const nodevenv = nodevenvRoot(context);
  const cloudLinux = existsSync(nodevenv);
  const tilde = (p: string) => (p.startsWith(`${context.home}/`) ? `~/${path.relative(context.home, p)}` : p);
  let stats: ReturnType<typeof lstatSync> | undefined;
  try {
    stats = lstatSync(link);
  } catch {
    stats = undefined;
  }
  if (stats === undefined) {
    return cloudLinux
      ? fail(
          'nodevenv',
          `no node_modules in the app root (the nodevenv is ${tilde(nodevenv)})`,
          'press Run NPM Install in Setup Node.js App: it links node_modules to the nodevenv and installs there.',
        )
      : warn(
          'nodevenv',
          'no node_modules in the app root and no CloudLinux nodevenv for it',
          'run `npm install --omit=dev` in the app root (or create the app in Setup Node.js App and Run NPM Install).',
        );
  }
  if (!stats.isSymbolicLink()) {
    return cloudLinux
      ? fail(
          'nodevenv',
          `node_modules is a folder, not a link into ${tilde(nodevenv)}/<version>/lib/node_modules: CloudLinux's selector refuses to run the app`,
          `delete the app root's node_modules folder (rm -rf ${tilde(link)}), then press Run NPM Install, which links it again.`,
        )
      : ok('nodevenv', 'node_modules is a folder (no CloudLinux nodevenv for this app: fine outside cPanel)');
  }
  const target = path.resolve(path.dirname(link), readlinkSync(link));
  const version = nodevenvVersion(nodevenv, target);
  if (version === undefined) {
    return cloudLinux
      ? fail(
          'nodevenv',
          `node_modules links to ${tilde(target)}, not into this app's nodevenv ${tilde(nodevenv)}`,
          'delete the node_modules link and press Run NPM Install in Setup Node.js App.',
        )
      : ok('nodevenv', `node_modules links to ${tilde(target)}`);
  }
  const major = process.versions.node.split('.')[0] ?? '';
  const passengerNode = context.htaccess?.directives.get('passengernodejs');
  const passengerVersion = passengerNode === undefined ? undefined : nodevenvVersion(nodevenv, passengerNode);
  if (passengerVersion !== undefined && passengerVersion !== version) {
    return fail(
      'nodevenv',
      `node_modules is installed for Node ${version} (${tilde(target)}) but Passenger starts Node ${passengerVersion} (PassengerNodejs in ${tilde(context.htaccess?.file ?? '')})`,
      `press Run NPM Install in Setup Node.js App for Node ${passengerVersion} (it relinks node_modules), then Restart.`,
    );
  }
  if (version.split('.')[0] !== major) {
    return fail(
      'nodevenv',
      `node_modules is installed for Node ${version} (${tilde(target)}), but this is Node ${major}`,
      `run doctor with that version (source ${tilde(path.join(nodevenv, version, 'bin', 'activate'))}), or choose Node ${major} in Setup Node.js App and press Run NPM Install.`,
    );
  }
  if (!existsSync(target)) {
    return fail(
      'nodevenv',
      `node_modules links to ${tilde(target)}, which does not exist`,
      'press Run NPM Install in Setup Node.js App.',
    );
  }
  return ok('nodevenv', `node_modules links to the Node ${version} nodevenv (${tilde(target)})`);
}

export function checkDependencies(appRoot: string): Check {
  const dependencies = Object.keys(readManifest(appRoot).dependencies ?? {});
  const missing = dependencies.filter((name) => {
    try {
      require.resolve(`${name}/package.json`, { paths: [appRoot] });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    return fail(
      'dependencies',
      `not installed: ${missing.join(', ')} (the fallback server needs them)`,
      'press Run NPM Install in Setup Node.js App (or `npm install --omit=dev` in the app root), then Restart.',
    );
  }
  return ok('dependencies', `installed: ${dependencies.join(', ') || 'none needed'}`);
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

export function checkConfig(context: DoctorContext): { check: Check; config: Config | undefined } {
  try {
    const config = loadConfig(context.env);
    const from = context.envFromHtaccess.size > 0 ? ` (with ${context.envFromHtaccess.size} from the .htaccess)` : '';
    const app = Object.entries(config.app)
      .map(([name, value]) => `${name} ${mask(name, value)}`)
      .join(', ');
    return {
      config,
      check: ok(
        'config',
        `every variable parses${from}: backend ${config.backend}, threads ${config.threads}, blocking threads ${config.blockingThreads}, base path ${config.basePath || '(none)'}, body limit ${config.bodyLimit}, max connections ${config.maxConnections}, native ${config.nativePath}${app ? `; app: ${app}` : ''}`,
      ),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const name = /^[A-Z_][A-Z0-9_]*/.exec(error.message)?.[0] ?? 'the variable';
    const where = context.envFromHtaccess.has(name)
      ? `in ${context.htaccess?.file} (the panel's Environment variables)`
      : "in Setup Node.js App's Environment variables (or your shell)";
    return {
      config: undefined,
      check: fail(
        'config',
        `${error.message} The app exits at start with this line.`,
        `set ${name} to an accepted value or remove it ${where}, then Restart.`,
      ),
    };
  }
}

function mask(name: string, value: unknown): string {
  if (/pass|secret|token|key/i.test(name)) return '***';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/\/\/([^/@\s]*)@/, '//***@');
}

// ---------------------------------------------------------------------------------------------
// The native addon
// ---------------------------------------------------------------------------------------------

/** How bad a native problem is: with `auto` the fallback serves (warn); with `native` the app does
 * not start (fail); with fastify/express it does not matter. */
function nativeSeverity(config: Config): 'warn' | 'fail' {
  return config.backend === 'native' ? 'fail' : 'warn';
}

function hostGlibc(): string | undefined {
  const report = process.report as (NodeJS.ProcessReport & { excludeNetwork?: boolean }) | undefined;
  if (!report) return undefined;
  // getReport() resolves network interfaces unless told not to; on one host that took minutes.
  report.excludeNetwork = true;
  const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime;
}

export function checkNativeFile(config: Config): Check[] {
  if (config.backend === 'fastify' || config.backend === 'express') {
    return [ok('native', `not used: HANDOFF_BACKEND=${config.backend}`)];
  }
  const severity = nativeSeverity(config);
  const file = config.nativePath;
  const serves = config.backend === 'auto' ? 'the fallback (fastify) serves instead' : 'the app does not start';
  const make = severity === 'fail' ? fail : warn;
  if (!existsSync(file)) {
    return [
      make(
        'native',
        `no native addon at ${file}: ${serves}`,
        'upload the bundle from `npm run package` again and extract it in the app root (native/ holds the addon).',
      ),
    ];
  }
  let info: ReturnType<typeof readElf>;
  try {
    info = readElf(readFileSync(file));
  } catch (error) {
    if (!(error instanceof ElfError)) throw error;
    return [
      make(
        'native',
        `${file} is damaged: ${error.message}; ${serves}`,
        'upload the zip again (in binary mode) and extract it, or write the new file beside the old and mv it over.',
      ),
    ];
  }
  const checks: Check[] = [ok('native', `${file} (${info.bits}-bit ELF)`)];
  if (info.arch !== process.arch) {
    checks.push(
      make(
        'native-cpu',
        `the addon is built for ${info.arch}, this machine is ${process.arch}: ${serves}`,
        process.arch === 'x64' || process.arch === 'arm64'
          ? `upload the bundle from \`npm run package\` again and extract it: it holds native/handoff.linux-${process.arch}-gnu.node for this machine (and the other of x64 and arm64); or leave it: the API works on the fallback.`
          : `the bundle has addons for x64 and arm64 only; the API works on the fallback.`,
      ),
    );
  } else {
    checks.push(ok('native-cpu', `built for ${info.arch}, as this machine`));
  }
  const needed = newestGlibc(info.needed);
  const host = hostGlibc();
  if (needed === undefined) {
    checks.push(ok('native-glibc', 'needs no glibc symbol versions'));
  } else if (host === undefined) {
    checks.push(
      make(
        'native-glibc',
        `needs GLIBC_${needed.join('.')}, and this host has no glibc (musl?): ${serves}`,
        'use a glibc Linux host (CloudLinux, RHEL, Debian), or leave it: the API works on the fallback.',
      ),
    );
  } else if (compareVersions(needed, host.split('.').map(Number)) > 0) {
    checks.push(
      make(
        'native-glibc',
        `the addon needs GLIBC_${needed.join('.')}, this host has glibc ${host}: ${serves}`,
        'upload the bundle built by `npm run package` (linked against glibc 2.17), not an addon from a plain `npm install`.',
      ),
    );
  } else {
    checks.push(ok('native-glibc', `needs GLIBC_${needed.join('.')} at most; this host has ${host}`));
  }
  return checks;
}

/** Runs dist/doctor/probe.js with the app's environment; undefined result with the error when
 * the process could not run or report. */
export function runProbe(context: DoctorContext): Promise<{ result?: ProbeResult; error?: string }> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [path.join(__dirname, 'probe.js')], {
      cwd: context.appRoot,
      env: context.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ error: `cannot start a Node process to try it: ${error.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(PROBE_MARK));
      if (line !== undefined) {
        resolve({ result: JSON.parse(line.slice(PROBE_MARK.length)) as ProbeResult });
        return;
      }
      const last = stderr.split('\n').filter((l) => l.trim() !== '');
      resolve({
        error: `loading it ended the process (${signal ?? `exit ${code}`})${last.length ? `: ${last.slice(-3).join(' ')}` : ''}`,
      });
    });
  });
}

export function checkNativeLoad(config: Config, probe: { result?: ProbeResult; error?: string }): Check {
  if (probe.result === undefined) {
    return fail(
      'native-load',
      `could not try: ${probe.error}`,
      'look at the error: a crash while loading the addon would crash the app as well; upload the bundle again.',
    );
  }
  const { serving, nativeError, startError } = probe.result;
  if (serving === undefined) {
    return fail(
      'native-load',
      `the app would not start: ${startError}`,
      config.backend === 'native'
        ? 'fix the cause above, or set HANDOFF_BACKEND=auto so that the fallback serves when the addon cannot load.'
        : 'fix the cause above (your setup hook, or a variable), then Restart.',
    );
  }
  if (nativeError !== undefined) {
    return warn(
      'native-load',
      `the addon does not load: ${nativeError}; ${serving} serves instead`,
      'see the native checks above for the cause; the API works meanwhile.',
    );
  }
  return ok('native-load', `loaded in a child process: the app serves with ${serving}`);
}

// ---------------------------------------------------------------------------------------------
// Limits: threads (NPROC), memory, open files
// ---------------------------------------------------------------------------------------------

/** The soft limit named `name` in /proc/self/limits (`Max processes`…); undefined when unlimited. */
export function readLimit(name: string): number | undefined {
  const text = readFileSync('/proc/self/limits', 'utf8');
  const value = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(text)?.[1];
  return value === undefined || value === 'unlimited' ? undefined : Number(value);
}

/** Threads of every process of this user but this one (NPROC counts them all). */
function otherThreadsOfUser(): number {
  const uid = process.getuid?.();
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
      total += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

export function checkThreads(config: Config, probe: ProbeResult | undefined): Check {
  const native = config.backend === 'auto' || config.backend === 'native';
  const budget = NODE_THREADS + (native ? config.threads + config.blockingThreads : 0);
  const parts = native
    ? `${NODE_THREADS} Node + HANDOFF_THREADS ${config.threads} + HANDOFF_BLOCKING_THREADS ${config.blockingThreads}`
    : `${NODE_THREADS} Node (no native threads with HANDOFF_BACKEND=${config.backend})`;
  const measured = probe?.serving === 'native' ? `; measured ${probe.threads} once started` : '';
  const limit = readLimit('Max processes');
  if (limit === undefined) return ok('threads', `budget ${budget} threads (${parts})${measured}; no process limit`);
  if (process.getuid?.() === 0) {
    return ok('threads', `budget ${budget} threads (${parts}); limit ${limit} (root is not held to it)`);
  }
  const others = otherThreadsOfUser();
  if (budget > limit) {
    const room = Math.max(1, limit - NODE_THREADS - config.blockingThreads);
    return fail(
      'threads',
      `budget ${budget} threads (${parts}) is above this account's process limit (NPROC) of ${limit}, which counts threads`,
      native
        ? `set HANDOFF_THREADS=${Math.min(room, 2)} (and HANDOFF_BLOCKING_THREADS=1) in the app's environment variables, or ask the host for a higher NPROC.`
        : 'ask the host for a higher NPROC: Node alone does not fit.',
    );
  }
  if (budget + others > limit) {
    return warn(
      'threads',
      `budget ${budget} threads (${parts}), limit ${limit}, and this account's other processes already run ${others}`,
      'stop processes of this account you do not need (old app processes, shells, cron jobs), or lower HANDOFF_THREADS.',
    );
  }
  return ok(
    'threads',
    `budget ${budget} threads (${parts})${measured}; limit ${limit}, ${others} in use by this account`,
  );
}

/** The lowest memory limit of this process's cgroups (v2 memory.max or v1 memory.limit_in_bytes). */
function cgroupMemoryLimit(): { bytes: number; file: string } | undefined {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return undefined;
  }
  let lowest: { bytes: number; file: string } | undefined;
  const consider = (file: string) => {
    try {
      const text = readFileSync(file, 'utf8').trim();
      const bytes = text === 'max' ? Number.POSITIVE_INFINITY : Number(text);
      // cgroup v1 writes "no limit" as a huge number near 2^63.
      if (Number.isFinite(bytes) && bytes < 2 ** 60 && (lowest === undefined || bytes < lowest.bytes)) {
        lowest = { bytes, file };
      }
    } catch {
      // No such controller file at this level.
    }
  };
  for (const line of lines) {
    const [, controllers, group] = line.split(':');
    if (group === undefined) continue;
    const v2 = controllers === '';
    if (!v2 && !controllers?.split(',').includes('memory')) continue;
    const base = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
    for (let dir = group; ; dir = path.posix.dirname(dir)) {
      consider(path.posix.join(base, dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'));
      if (dir === '/' || dir === '.') break;
    }
  }
  return lowest;
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;

export function checkMemory(probe: ProbeResult | undefined): Check {
  const cgroup = cgroupMemoryLimit();
  const addressSpace = readLimit('Max address space');
  const rss = probe?.rss;
  const measured =
    rss === undefined
      ? 'RSS not measured'
      : `RSS ${mib(rss)} after the start (${probe?.serving ?? 'no backend started'})`;
  const limits = [
    cgroup ? `memory limit ${mib(cgroup.bytes)} (${cgroup.file})` : 'no memory limit (cgroup)',
    addressSpace === undefined ? 'no address-space limit' : `address space ${mib(addressSpace)}`,
  ].join(', ');
  if (cgroup && rss !== undefined && rss * 2 > cgroup.bytes) {
    return (rss > cgroup.bytes ? fail : warn)(
      'memory',
      `${measured}; ${limits}: little or no room for requests, the host kills the app when it is over (503)`,
      'ask the host for more memory (LVE PMEM), or lower HANDOFF_THREADS and HANDOFF_BODY_LIMIT.',
    );
  }
  if (addressSpace !== undefined && probe !== undefined && probe.vmPeak > addressSpace * 0.8) {
    return warn(
      'memory',
      `${measured}; peak virtual memory ${mib(probe.vmPeak)} is close to the address-space limit (${limits})`,
      'ask the host to raise the virtual-memory (VMEM) limit: Node reserves address space it does not use.',
    );
  }
  return ok('memory', `${measured}; ${limits}`);
}

export function checkOpenFiles(config: Config): Check {
  const limit = readLimit('Max open files');
  if (limit === undefined) return ok('open-files', 'no open-file limit');
  const need = config.maxConnections + SPARE_FILES;
  if (need > limit) {
    const fits = Math.max(1, limit - SPARE_FILES);
    return warn(
      'open-files',
      `HANDOFF_MAX_CONNECTIONS ${config.maxConnections} needs about ${need} open files, the limit is ${limit}: connections past about ${fits} fail with EMFILE`,
      `set HANDOFF_MAX_CONNECTIONS=${fits} in the app's environment variables (or ask the host for a higher open-file limit).`,
    );
  }
  return ok('open-files', `limit ${limit} open files, room for HANDOFF_MAX_CONNECTIONS ${config.maxConnections}`);
}

// ---------------------------------------------------------------------------------------------
// Hosting: Passenger or LiteSpeed, the .htaccess, tmp/, logs
// ---------------------------------------------------------------------------------------------

export function checkFrontServer(env: NodeJS.ProcessEnv): Check {
  if (env.IN_PASSENGER === '1') return ok('server', 'running under Phusion Passenger');
  if (env.LSNODE_SOCKET !== undefined || (globalThis as { LsNode?: unknown }).LsNode !== undefined) {
    return ok('server', "running under LiteSpeed's Node loader");
  }
  const liteSpeed = existsSync('/usr/local/lsws');
  return ok(
    'server',
    `run from a shell or the panel, not under Passenger or LiteSpeed; this host's web server looks like ${liteSpeed ? 'LiteSpeed (/usr/local/lsws)' : 'Apache (no /usr/local/lsws)'}`,
  );
}

export function checkHtaccess(context: DoctorContext, config: Config | undefined): Check[] {
  const found = context.htaccess;
  const where = context.searched.join(', ') || '(nowhere)';
  if (found === undefined) {
    return [
      warn(
        'htaccess',
        `no .htaccess with a Passenger block for this app under ${where}`,
        'give the folder of your site with --docroot (e.g. --docroot ~/public_html), or create the app in Setup Node.js App.',
      ),
    ];
  }
  const file = found.file;
  const checks: Check[] = [];
  const appRoot = found.directives.get('passengerapproot');
  if (appRoot === undefined || !sameFolder(appRoot, context.appRoot)) {
    checks.push(
      fail(
        'htaccess',
        `${file}: PassengerAppRoot is ${appRoot ?? 'missing'}, not this app (${context.appRoot})`,
        `set PassengerAppRoot "${context.appRoot}" (Application root in Setup Node.js App).`,
      ),
    );
  } else {
    checks.push(ok('htaccess', `${file} starts this app (PassengerAppRoot ${appRoot})`));
  }
  const baseUri = normalizeBase(found.directives.get('passengerbaseuri') ?? '/');
  if (found.urlPath !== undefined && normalizeBase(found.urlPath) !== baseUri) {
    checks.push(
      fail(
        'base-uri',
        `PassengerBaseURI is ${baseUri} but ${file} lies in the folder of ${normalizeBase(found.urlPath)}: Passenger never sees that URL's requests, Apache answers 404`,
        `set PassengerBaseURI "${normalizeBase(found.urlPath)}" in ${file} (or recreate the app in Setup Node.js App with that Application URL).`,
      ),
    );
  } else if (config && config.basePath !== '' && config.basePath !== (baseUri === '/' ? '' : baseUri)) {
    checks.push(
      warn(
        'base-uri',
        `HANDOFF_BASE_PATH ${config.basePath} differs from PassengerBaseURI ${baseUri}: requests arrive under ${baseUri} and the app answers 404`,
        'remove HANDOFF_BASE_PATH (the app then takes PassengerBaseURI) or make the two equal.',
      ),
    );
  } else {
    checks.push(
      ok('base-uri', `PassengerBaseURI ${baseUri}${found.urlPath === undefined ? '' : ', the folder it lies in'}`),
    );
  }
  const startup = found.directives.get('passengerstartupfile') ?? 'app.js';
  if (startup !== 'app.js') {
    checks.push(
      fail(
        'startup-file',
        `PassengerStartupFile is ${startup}; this app starts from app.js`,
        'set PassengerStartupFile app.js (Application startup file in Setup Node.js App).',
      ),
    );
  } else if (!existsSync(path.join(context.appRoot, 'app.js'))) {
    checks.push(
      fail(
        'startup-file',
        `no app.js in ${context.appRoot}`,
        'extract the bundle so that app.js sits directly in the app root.',
      ),
    );
  } else {
    checks.push(ok('startup-file', 'PassengerStartupFile app.js, present'));
  }
  const node = found.directives.get('passengernodejs');
  if (node !== undefined && !isExecutable(node)) {
    checks.push(
      fail(
        'passenger-node',
        `PassengerNodejs ${node} is not an executable file`,
        'choose the Node version again in Setup Node.js App (it rewrites the line), or fix the path.',
      ),
    );
  }
  return checks;
}

function normalizeBase(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export function checkTmp(appRoot: string): Check {
  const tmp = path.join(appRoot, 'tmp');
  const user = userInfo().username;
  if (!existsSync(tmp)) {
    try {
      accessSync(appRoot, constants.W_OK);
      return ok('tmp', 'no tmp/ yet: `mkdir -p tmp && touch tmp/restart.txt` restarts the app');
    } catch {
      return fail(
        'tmp',
        `no tmp/ and ${user} cannot create it in ${appRoot}: tmp/restart.txt cannot restart the app`,
        `make the app root writable by ${user} (chmod u+w), or use the panel's Restart.`,
      );
    }
  }
  try {
    if (!statSync(tmp).isDirectory()) throw new Error('not a folder');
    accessSync(tmp, constants.W_OK | constants.X_OK);
    const marker = path.join(tmp, 'restart.txt');
    if (existsSync(marker)) accessSync(marker, constants.W_OK);
    return ok('tmp', 'tmp/ is writable: `touch tmp/restart.txt` restarts the app');
  } catch {
    return fail(
      'tmp',
      `${user} cannot write ${tmp} (or its restart.txt): touch tmp/restart.txt cannot restart the app`,
      `chmod u+w ${tmp} (as its owner), or remove it and create it again as ${user}.`,
    );
  }
}

export function checkLogs(context: DoctorContext): Check {
  const places: string[] = [];
  const passengerLog = context.htaccess?.directives.get('passengerapplogfile');
  if (passengerLog) places.push(`PassengerAppLogFile ${passengerLog}`);
  const stderrLog = path.join(context.appRoot, 'stderr.log');
  if (existsSync(stderrLog)) places.push(`${stderrLog} (LiteSpeed)`);
  if (context.env.LSNODE_CONSOLE_LOG) places.push(`LSNODE_CONSOLE_LOG ${context.env.LSNODE_CONSOLE_LOG}`);
  places.push("Passenger's log (the panel's app log, or the site's Apache error log)");
  return ok('logs', `the app logs to stderr: ${places.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// The running app, through the front server
// ---------------------------------------------------------------------------------------------

export async function checkUrl(url: string, expected: ProbeResult | undefined): Promise<Check> {
  const target = `${url.replace(/\/+$/, '')}/health`;
  let answer: { status: number; body: string };
  try {
    answer = await fetchText(target);
  } catch (error) {
    return fail(
      'url',
      `GET ${target}: ${error instanceof Error ? error.message : String(error)}`,
      'check the URL (scheme, domain, the application URL path) and that the site answers at all.',
    );
  }
  let health: { status?: string; backend?: string; version?: string; pid?: number } | undefined;
  try {
    health = JSON.parse(answer.body) as typeof health;
  } catch {
    health = undefined;
  }
  if (answer.status !== 200 || health?.status !== 'ok') {
    const hint =
      answer.status === 404
        ? 'the URL is not under the app: give the application URL (with its path, e.g. https://example.com/api).'
        : 'the app did not start or crashed: read the last lines of its log (see logs above) and fix what they name, then Restart.';
    return fail(
      'url',
      `GET ${target} answered ${answer.status}: ${answer.body.slice(0, 120).replace(/\s+/g, ' ')}`,
      hint,
    );
  }
  const line = `GET ${target} answered 200 from ${health.backend} (version ${health.version}, pid ${health.pid})`;
  if (expected?.serving !== undefined && health.backend !== expected.serving) {
    return warn(
      'url',
      `${line}, but a start now would serve with ${expected.serving}`,
      'restart the app (touch tmp/restart.txt, or the panel) so that it starts with what is installed now.',
    );
  }
  return ok('url', line);
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(url, { timeout: 30_000, headers: { 'user-agent': 'passenger-handoff-doctor' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer within 30 s')));
    request.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------

interface Manifest {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
}

function readManifest(appRoot: string): Manifest {
  try {
    return JSON.parse(readFileSync(path.join(appRoot, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return {};
  }
}
