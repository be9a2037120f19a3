// The only module that reads the environment: it validates every variable, applies the
// documented defaults and returns a frozen Config. Everything else receives that object.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

/** Which server answers: `auto` tries native, then falls back to fastify. */
export type BackendChoice = 'auto' | 'native' | 'fastify' | 'express';

const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'fastify', 'express'];

/** What the server speaks on its socket: HTTP/1.1, or SCGI to a front server (nginx's
 * `scgi_pass`, Apache's `mod_proxy_scgi`). */
export type Protocol = 'http' | 'scgi';

const PROTOCOLS: readonly Protocol[] = ['http', 'scgi'];

/** The validated settings of one process. */
export interface Config {
  /** `HANDOFF_BACKEND`. @default 'auto' */
  readonly backend: BackendChoice;
  /** `HOST`, for TCP mode. @default '127.0.0.1' */
  readonly host: string;
  /** `PORT`, for TCP mode (0 picks a free port). @default 3000 */
  readonly port: number;
  /** `HANDOFF_PROTOCOL`: `http`, or `scgi` for a front server (nginx, Apache) speaking SCGI; a
   * socket-activated socket named `http` or `scgi` decides it. Refused under Passenger and
   * LiteSpeed, which speak HTTP. @default 'http' */
  readonly protocol: Protocol;
  /** `HANDOFF_SOCKET`: serve on this Unix socket instead of TCP (ignored under Passenger). */
  readonly socketPath: string | undefined;
  /** `LSNODE_SOCKET`, set by LiteSpeed's loader (lsnode.js): the path of the socket it passes
   * on descriptor 0, only named in the log. @default undefined (the log then says `fd 0`) */
  readonly liteSpeedSocket: string | undefined;
  /** `HANDOFF_THREADS`: native worker threads. @default 2 */
  readonly threads: number;
  /** `HANDOFF_BLOCKING_THREADS`: native threads for blocking work (tokio's blocking pool:
   * database drivers, file I/O). @default 1 */
  readonly blockingThreads: number;
  /** `HANDOFF_SHUTDOWN_TIMEOUT_MS`: how long in-flight requests may run on shutdown. @default 10000 */
  readonly shutdownTimeoutMs: number;
  /** `HANDOFF_BASE_PATH`, else `PASSENGER_BASE_URI`; '' for none. @default '' */
  readonly basePath: string;
  /** `HANDOFF_BODY_LIMIT`: largest request body `readJson` (and the native `Json`) reads, in
   * bytes. @default 1048576 (1 MiB) */
  readonly bodyLimit: number;
  /** `HANDOFF_NATIVE_PATH`: the `.node` file to load. @default native/handoff.<platform>.node */
  readonly nativePath: string;
  /** The `version` of package.json, reported by `GET /health`. */
  readonly version: string;
  /** `HANDOFF_HEADER_TIMEOUT_MS`: how long a client may take to send the request head. @default 10000 */
  readonly headerTimeoutMs: number;
  /** `HANDOFF_REQUEST_TIMEOUT_MS`: how long a request body may take to arrive. @default 60000 */
  readonly requestTimeoutMs: number;
  /** `HANDOFF_MAX_CONNECTIONS`: connections served at once; more are closed. @default 1024 */
  readonly maxConnections: number;
  /** `HANDOFF_SOCKET_MODE`: octal permissions of the HANDOFF_SOCKET file (e.g. 660). @default umask's */
  readonly socketMode: number | undefined;
  /** `HANDOFF_TEST_ROUTES=1` mounts routes that fail on purpose (for the tests). @default false */
  readonly testRoutes: boolean;
  /** `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES` (systemd socket activation): the socket to
   * serve on when they name this process. @default undefined (bind as configured) */
  readonly activation: SocketActivation | undefined;
  /** `HANDOFF_DRAIN_DELAY_MS`: how long to keep accepting after SIGTERM/SIGINT (while `/ready`
   * already answers 503) before closing the listener. @default 0 */
  readonly drainDelayMs: number;
  /** `HANDOFF_TRUST_PROXY`: which peers' `X-Forwarded-For`/`X-Forwarded-Proto` name the client
   * in the request log. @default off */
  readonly trustProxy: TrustProxy;
  /** `HANDOFF_ACCESS_LOG`: a line per request on stderr, written in batches. @default true (on) */
  readonly accessLog: boolean;
  /** Your settings (see "Your settings" below). */
  readonly app: AppSettings;
}

/** The socket systemd (or any socket activator) passed to this process. */
export interface SocketActivation {
  /** The descriptor to serve on (3 and up). */
  readonly fd: number;
  /** Its name from `LISTEN_FDNAMES` (systemd's `FileDescriptorName=`), or `unknown`. */
  readonly name: string;
  /** How many sockets were passed. */
  readonly count: number;
  /** What to speak on it, when its name says (`http` or `scgi`). */
  readonly protocol?: Protocol;
}

/** Which peers may name the client with `X-Forwarded-For` / `X-Forwarded-Proto`: none, every
 * peer (`on`), or those listed (IP addresses, and `unix` for a peer on a Unix socket). */
export interface TrustProxy {
  readonly all: boolean;
  readonly unix: boolean;
  readonly addresses: readonly string[];
}

/** The socket-activation variables: removed from the environment once read (sd_listen_fds(3)). */
export const ACTIVATION_VARIABLES = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'LISTEN_PIDFDID'] as const;

/** The first descriptor a socket activator passes (SD_LISTEN_FDS_START). */
const FIRST_ACTIVATED_FD = 3;

/** A variable with a value we do not accept; the message names it and what is accepted. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The package root: `dist/..` when compiled, `src/..` when run from source. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

const MAX_SAFE_BYTES = Number.MAX_SAFE_INTEGER;

/** Reads and validates `env` (normally `process.env`). Throws ConfigError on a bad value. */
export function loadConfig(env: NodeJS.ProcessEnv, pid = process.pid): Config {
  const socket = nonEmpty(env.HANDOFF_SOCKET);
  const headerTimeoutMs = readInteger(env, 'HANDOFF_HEADER_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = readInteger(env, 'HANDOFF_REQUEST_TIMEOUT_MS', 60_000, 100, 3_600_000);
  const chosenProtocol = readProtocol(env.HANDOFF_PROTOCOL);
  const activation = readActivation(env, pid, chosenProtocol);
  return Object.freeze({
    backend: readBackend(env.HANDOFF_BACKEND),
    protocol: activation?.protocol ?? chosenProtocol ?? 'http',
    host: nonEmpty(env.HOST) ?? '127.0.0.1',
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    socketPath: socket === undefined ? undefined : path.resolve(socket),
    liteSpeedSocket: nonEmpty(env.LSNODE_SOCKET),
    threads: readInteger(env, 'HANDOFF_THREADS', 2, 1, 64),
    blockingThreads: readInteger(env, 'HANDOFF_BLOCKING_THREADS', 1, 1, 64),
    shutdownTimeoutMs: readInteger(env, 'HANDOFF_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    basePath: readBasePath(env),
    bodyLimit: readInteger(env, 'HANDOFF_BODY_LIMIT', 1024 * 1024, 0, MAX_SAFE_BYTES),
    nativePath: path.resolve(PACKAGE_ROOT, nonEmpty(env.HANDOFF_NATIVE_PATH) ?? defaultNativePath()),
    version: readVersion(),
    testRoutes: readFlag(env, 'HANDOFF_TEST_ROUTES'),
    headerTimeoutMs,
    requestTimeoutMs,
    maxConnections: readInteger(env, 'HANDOFF_MAX_CONNECTIONS', 1024, 1, 1_000_000),
    socketMode: readMode(env, 'HANDOFF_SOCKET_MODE'),
    activation,
    drainDelayMs: readInteger(env, 'HANDOFF_DRAIN_DELAY_MS', 0, 0, 600_000),
    trustProxy: readTrustProxy(env),
    accessLog: readOnOff(env, 'HANDOFF_ACCESS_LOG', true),
    app: Object.freeze(readAppSettings(env)),
  });
}

// ---------------------------------------------------------------------------------------------
// Your settings. To add one (say FOO_URL): one line in readAppSettings below, the same field in
// native/src/app/mod.rs's AppSettings (it arrives there as JSON, camelCase), and a row in the
// README's configuration table. Handlers read them as `context.app`, your setup hook
// (src/app/hooks.ts) as `config.app`. To read a value: nonEmpty (a string or undefined),
// readInteger (a whole number within bounds, with a default), readFlag (1 or 0); they throw a
// ConfigError naming the variable for a value they refuse.
// ---------------------------------------------------------------------------------------------

/** Your settings: what readAppSettings returns (its doc comments show on `context.app.…`). */
export type AppSettings = Readonly<ReturnType<typeof readAppSettings>>;

/** Reads your settings from `env`. */
function readAppSettings(env: NodeJS.ProcessEnv) {
  return {
    // One line per setting, with its doc comment: `fooUrl: nonEmpty(env.…) ?? 'http://…',`
    /** `HANDOFF_HASH_LIMIT`: largest `POST /hash` body in bytes. @default 67108864 (64 MiB) */ // [examples]
    hashLimit: readInteger(env, 'HANDOFF_HASH_LIMIT', 64 * 1024 * 1024, 0, MAX_SAFE_BYTES), // [examples]
    /** `DATABASE_URL`, normalized: `sqlite:<absolute path>` or `mysql://user:password@host[:port]/database[?socket=/path]`. @default `sqlite:<app root>/data/app.db` */ // [examples]
    databaseUrl: readDatabaseUrl(env.DATABASE_URL), // [examples]
  };
}
// [examples] begin

/**
 * `DATABASE_URL` for the notes example: unset or empty → the SQLite file `data/app.db` under the
 * app root; `sqlite:<path>` (relative to the app root) → that file; `mysql://` or `mariadb://`
 * `user:password@host[:port]/database`, with `?socket=/path/mysql.sock` for a Unix socket → MySQL
 * or MariaDB. Returned as `sqlite:<absolute path>` or as the `mysql://` URL; anything else is a
 * ConfigError that shows the value with its password masked.
 */
function readDatabaseUrl(value: string | undefined): string {
  const raw = nonEmpty(value);
  if (raw === undefined) return `sqlite:${path.join(PACKAGE_ROOT, 'data', 'app.db')}`;
  const refuse = (why: string) =>
    new ConfigError(
      `DATABASE_URL must be sqlite:<path> or mysql://user:password@host[:port]/database[?socket=/path/to/mysql.sock] (${why}; got ${JSON.stringify(maskDatabaseUrl(raw))}).`,
    );
  const sqlite = /^sqlite:(?:\/\/)?(.*)$/i.exec(raw);
  if (sqlite) {
    const file = sqlite[1] ?? '';
    if (file === '' || file.includes('?') || file.includes('\0')) throw refuse('no file path after sqlite:');
    return `sqlite:${path.resolve(PACKAGE_ROOT, file)}`;
  }
  const mysql = /^(mysql|mariadb):\/\//i.exec(raw);
  if (!mysql) throw refuse('an unknown scheme');
  const normalized = `mysql://${raw.slice(mysql[0].length)}`;
  let url: URL;
  try {
    url = new URL(normalized);
  } catch {
    throw refuse('not a URL');
  }
  if (url.hostname === '') throw refuse('no host');
  if (url.username === '') throw refuse('no user');
  const database = url.pathname.replace(/^\//, '');
  if (database === '' || database.includes('/')) throw refuse('no database name, or more than one path segment');
  for (const part of [url.username, url.password, database]) {
    try {
      decodeURIComponent(part);
    } catch {
      throw refuse('a malformed percent escape');
    }
  }
  for (const key of url.searchParams.keys()) {
    if (key !== 'socket') throw refuse(`the only parameter understood is socket, not ${JSON.stringify(key)}`);
  }
  if (url.searchParams.has('socket') && !url.searchParams.get('socket')?.startsWith('/')) {
    throw refuse('socket must be an absolute path');
  }
  return normalized;
}

/** A database URL with the password of its `user:password@` part replaced by `***`. */
export function maskDatabaseUrl(url: string): string {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) return url;
  const start = schemeEnd + 3;
  const rest = url.slice(start);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  if (at < 0) return url;
  const colon = authority.slice(0, at).indexOf(':');
  if (colon < 0) return url;
  return `${url.slice(0, start)}${authority.slice(0, colon)}:***${url.slice(start + at)}`;
}
// [examples] end

/** The platform triple napi-rs puts in binary names, e.g. `linux-x64-gnu`. */
export function platformTriple(): string {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  return `${platform}-${arch}-${linkedLibc() ?? reportedLibc()}`;
}

/** The C library this process runs on, from the files mapped into it: glibc's `libc.so.6` (or
 * `libc-2.17.so`, its real name on older systems such as CloudLinux 7), or musl's loader
 * (`ld-musl-<arch>.so.1`, which is its libc too). Undefined when /proc cannot tell. Reading
 * /proc/self/maps takes a fraction of a millisecond; a process report takes several, at every
 * start (docs/performance.md, "Cold start"). */
function linkedLibc(): 'gnu' | 'musl' | undefined {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
  if (/\/ld-musl-[^/\s]*\.so/.test(maps)) return 'musl';
  if (/\/libc(\.so\.6|-\d+\.\d+\.so)$/m.test(maps)) return 'gnu';
  return undefined;
}

/** The same from Node's process report (glibc reports its version there; musl does not). */
function reportedLibc(): 'gnu' | 'musl' {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
}

function defaultNativePath(): string {
  return path.join('native', `handoff.${platformTriple()}.node`);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function readBackend(value: string | undefined): BackendChoice {
  const choice = nonEmpty(value)?.toLowerCase() ?? 'auto';
  if ((BACKEND_CHOICES as readonly string[]).includes(choice)) return choice as BackendChoice;
  throw new ConfigError(`HANDOFF_BACKEND must be one of ${BACKEND_CHOICES.join(', ')} (got ${JSON.stringify(value)}).`);
}

/** `HANDOFF_PROTOCOL`, or undefined when unset (then a socket's name or `http` decides). */
function readProtocol(value: string | undefined): Protocol | undefined {
  const raw = nonEmpty(value)?.toLowerCase();
  if (raw === undefined) return undefined;
  if ((PROTOCOLS as readonly string[]).includes(raw)) return raw as Protocol;
  throw new ConfigError(`HANDOFF_PROTOCOL must be one of ${PROTOCOLS.join(', ')} (got ${JSON.stringify(value)}).`);
}

function readInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(env[name])}).`);
  }
  return value;
}

function readMode(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(raw)) {
    throw new ConfigError(`${name} must be octal permissions such as 660 or 0600 (got ${JSON.stringify(env[name])}).`);
  }
  return Number.parseInt(raw, 8);
}

function readFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = nonEmpty(env[name]);
  if (raw === undefined || raw === '0') return false;
  if (raw === '1') return true;
  throw new ConfigError(`${name} must be 1 or 0 (got ${JSON.stringify(env[name])}).`);
}

/** `on` or `off` (also `1` or `0`), any case; unset or empty is `fallback`. */
function readOnOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'on' || raw === '1') return true;
  if (raw === 'off' || raw === '0') return false;
  throw new ConfigError(`${name} must be on or off (got ${JSON.stringify(env[name])}).`);
}

/** `LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES` as sd_listen_fds(3) reads them: only when
 * `LISTEN_PID` is this process (another process's variables are ignored). With one socket it is
 * served whatever its name; a socket named `http` or `scgi` is served in that protocol (a
 * HANDOFF_PROTOCOL saying the other is refused: one of the two is a mistake, and speaking the
 * wrong protocol to a front server answers every request with garbage). With several, the one
 * named after HANDOFF_PROTOCOL; when that is unset, the one named `http`, else `scgi`. */
function readActivation(
  env: NodeJS.ProcessEnv,
  pid: number,
  protocol: Protocol | undefined,
): SocketActivation | undefined {
  const listenPid = nonEmpty(env.LISTEN_PID);
  const listenFds = nonEmpty(env.LISTEN_FDS);
  if (listenPid === undefined || listenFds === undefined || listenPid !== String(pid)) return undefined;
  const count = readInteger(env, 'LISTEN_FDS', 0, 1, 1024);
  const rawNames = nonEmpty(env.LISTEN_FDNAMES);
  const names = rawNames === undefined ? Array<string>(count).fill('unknown') : rawNames.split(':');
  if (names.length !== count) {
    throw new ConfigError(
      `LISTEN_FDNAMES must name each of the LISTEN_FDS=${count} sockets, separated by ':' (got ${JSON.stringify(env.LISTEN_FDNAMES)}).`,
    );
  }
  if (count === 1) {
    const name = names[0] ?? 'unknown';
    const named = (PROTOCOLS as readonly string[]).includes(name) ? (name as Protocol) : undefined;
    if (named !== undefined && protocol !== undefined && named !== protocol) {
      throw new ConfigError(
        `LISTEN_FDNAMES names the passed socket ${name}, but HANDOFF_PROTOCOL=${protocol}: remove one of the two (the socket's name alone decides).`,
      );
    }
    return named === undefined
      ? { fd: FIRST_ACTIVATED_FD, name, count }
      : { fd: FIRST_ACTIVATED_FD, name, count, protocol: named };
  }
  const wanted: readonly Protocol[] = protocol === undefined ? PROTOCOLS : [protocol];
  for (const name of wanted) {
    const index = names.indexOf(name);
    if (index !== -1) return { fd: FIRST_ACTIVATED_FD + index, name, count, protocol: name };
  }
  throw new ConfigError(
    `LISTEN_FDS=${count} passes several sockets and LISTEN_FDNAMES=${JSON.stringify(rawNames ?? '')} has none named ${wanted.join(' or ')} (FileDescriptorName=${wanted[0]} in the .socket unit).`,
  );
}

/** `off` (or `0`), `on` (or `1`: any peer), or a comma list of IP addresses and `unix`. */
function readTrustProxy(env: NodeJS.ProcessEnv): TrustProxy {
  const raw = nonEmpty(env.HANDOFF_TRUST_PROXY)?.toLowerCase() ?? 'off';
  if (raw === 'off' || raw === '0') return Object.freeze({ all: false, unix: false, addresses: [] });
  if (raw === 'on' || raw === '1') return Object.freeze({ all: true, unix: true, addresses: [] });
  const items = raw.split(',').map((item) => item.trim());
  const bad = items.filter((item) => item !== 'unix' && isIP(item) === 0);
  if (bad.length > 0) {
    throw new ConfigError(
      `HANDOFF_TRUST_PROXY must be off, on, or a comma list of IP addresses and unix (got ${JSON.stringify(env.HANDOFF_TRUST_PROXY)}).`,
    );
  }
  return Object.freeze({
    all: false,
    unix: items.includes('unix'),
    addresses: Object.freeze(items.filter((item) => item !== 'unix').map(canonicalIp)),
  });
}

/** An IP address as compared for trust: lower case, an IPv4-mapped IPv6 address as IPv4. */
export function canonicalIp(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

function readBasePath(env: NodeJS.ProcessEnv): string {
  const [name, raw] =
    nonEmpty(env.HANDOFF_BASE_PATH) !== undefined
      ? ['HANDOFF_BASE_PATH', env.HANDOFF_BASE_PATH]
      : ['PASSENGER_BASE_URI', env.PASSENGER_BASE_URI];
  const value = nonEmpty(raw);
  if (value === undefined || value === '/') return '';
  // Segments may not start with `:` or `*`: the native router reads those as parameters.
  if (!/^(\/[A-Za-z0-9._~!$&'()+,;=@%-][A-Za-z0-9._~!$&'()*+,;=:@%-]*)+\/?$/.test(value)) {
    throw new ConfigError(
      `${name} must be a URL path such as /api (starting with /; no spaces, ?, #, {, }; no segment starting with : or *; got ${JSON.stringify(raw)}).`,
    );
  }
  return value.replace(/\/$/, '');
}

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}
