// A throwaway real MariaDB server (Debian's `mariadb-server`) for the tests that need MySQL: a fresh
// data directory made by `mariadb-install-db` in a temporary folder, `mariadbd --no-defaults` on a
// Unix socket in that folder and on a free port of 127.0.0.1, with a database and a user of the
// names cPanel gives (account-prefixed: `cpuser_app`) and a password that must be percent-encoded
// in a URL. The server can be stopped, killed, started again (same data, port and socket) for the
// fault tests; `remove()` (and, as a last resort, the test process's exit) stops it and deletes
// the folder.
//
// Root runs the tests in CI: mariadbd refuses to run as root unless told `--user=root`, so it is
// told that when the test runs as root, and runs as the test's own user otherwise.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort, sleep, tail } from './util';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const INSTALL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'install-system-deps.sh');
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

/** The account-prefixed names cPanel creates (`<account>_<name>`), for the database and its user. */
export const MARIADB_DATABASE = 'cpuser_app';
export const MARIADB_USER = 'cpuser_app';
/** Holds `:`, `@` and `/`, so a URL that does not percent-encode it fails to parse. */
export const MARIADB_PASSWORD = 'n0te:p@ss/word';

export type MariaDbCheck = { ok: true } | { ok: false; reason: string };

export interface MariaDbInstance {
  /** The temporary folder holding the data directory, the socket, the log. */
  readonly dir: string;
  readonly port: number;
  readonly socketPath: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** `mysql://cpuser_app:<password>@127.0.0.1:<port>/cpuser_app` (TCP). */
  readonly tcpUrl: string;
  /** `mysql://cpuser_app:<password>@localhost/cpuser_app?socket=<socket>` (the Unix socket, as on cPanel). */
  readonly socketUrl: string;
  /** Whether mariadbd runs now. */
  running(): boolean;
  /** The server's pid while it runs. */
  pid(): number | undefined;
  /** The server's error log so far. */
  readLog(): string;
  /** SQL as root over the socket with the `mariadb` client, in the app's database; resolves with
   * its output (tab-separated, no headers). */
  query(sql: string): Promise<string>;
  /** SIGTERM and wait for the exit (SIGKILL after 60 s): a clean shutdown. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: a crash (InnoDB recovers on the next start). */
  kill(): Promise<void>;
  /** Starts the server again on the same data, port and socket; resolves once it accepts queries. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** Stops the server (SIGKILL) and deletes the folder. Safe to call twice. */
  remove(): Promise<void>;
}

// A test that forgets remove(), or fails before it, must not leave mariadbd running nor its folder.
const live = new Map<string, () => ChildProcess | undefined>();
process.on('exit', () => {
  for (const [dir, child] of live) {
    const server = child();
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

let check: MariaDbCheck | undefined;

/**
 * Makes sure `mariadbd`, `mariadb-install-db` and the `mariadb` client are installed, running
 * scripts/install-system-deps.sh mariadb-server (output shown) if not; tried at most once per process.
 */
export function ensureMariaDb(): MariaDbCheck {
  if (check) return check;
  const present = () => ['mariadbd', 'mariadb-install-db', 'mariadb'].every((tool) => findTool(tool) !== undefined);
  if (!present()) {
    const install = spawnSync('bash', [INSTALL_SCRIPT, 'mariadb-server'], { stdio: 'inherit' });
    if (!present()) {
      const outcome = install.error
        ? `could not be run (${install.error.message})`
        : `exited with ${install.status ?? install.signal}`;
      check = {
        ok: false,
        reason: `MariaDB is not installed (no mariadbd) and ${INSTALL_SCRIPT} mariadb-server ${outcome}`,
      };
      return check;
    }
  }
  check = { ok: true };
  return check;
}

/** Why MariaDB cannot be had here (installing it if needed), or undefined; for a suite's `skip`
 * with unlessMissing (test/helpers/util.ts). */
export function mariaDbUnavailable(): string | undefined {
  const found = ensureMariaDb();
  return found.ok ? undefined : found.reason;
}

/** Skips the test when MariaDB cannot be had, except in CI where that is a failure. Inside a test
 * only: a suite's `before` hook has no `t.skip`. */
export function requireMariaDb(t: Pick<TestContext, 'skip'>): boolean {
  const found = ensureMariaDb();
  if (found.ok) return true;
  if (process.env.CI === 'true') throw new Error(found.reason);
  t.skip(found.reason);
  return false;
}

/** A new MariaDB in a new temporary folder, started, with the database and user created. */
export async function startMariaDb(): Promise<MariaDbInstance> {
  const found = ensureMariaDb();
  if (!found.ok) throw new Error(found.reason);
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-mariadb-'));
  let child: ChildProcess | undefined;
  live.set(dir, () => child);
  const dataDir = path.join(dir, 'data');
  const socketPath = path.join(dir, 'mysqld.sock');
  const logFile = path.join(dir, 'error.log');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  // Small InnoDB files and buffers: the tests keep a few rows, and the machine is shared.
  const serverOptions = [
    '--innodb-buffer-pool-size=16M',
    '--innodb-log-file-size=8M',
    '--innodb-log-buffer-size=1M',
    '--key-buffer-size=1M',
    '--performance-schema=OFF',
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
  ];

  const install = spawnSync(
    findTool('mariadb-install-db') ?? 'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...asRoot,
      ...serverOptions,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    live.delete(dir);
    throw new Error(
      `mariadb-install-db failed (${install.error?.message ?? install.status ?? install.signal}):\n${tail(`${install.stdout}${install.stderr}`, 30)}`,
    );
  }

  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const exited = (server: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) resolve();
      else server.once('exit', () => resolve());
    });

  const client = (sql: string, user: string[], timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        findTool('mariadb') ?? 'mariadb',
        ['--no-defaults', `--socket=${socketPath}`, ...user, '--batch', '--skip-column-names', '-e', sql],
        { encoding: 'utf8', timeout: timeoutMs },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`mariadb -e ${JSON.stringify(sql)}: ${stderr.trim() || error.message}`));
          else resolve(stdout);
        },
      );
    });
  const query = (sql: string) => client(sql, ['--user=root', `--database=${MARIADB_DATABASE}`]);

  const start = async () => {
    if (running()) return;
    const server = spawn(
      findTool('mariadbd') ?? 'mariadbd',
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socketPath}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
        `--log-error=${logFile}`,
        ...asRoot,
        ...serverOptions,
      ],
      { stdio: 'ignore' },
    );
    child = server;
    let spawnError: Error | undefined;
    server.once('error', (error) => {
      spawnError = error;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`mariadbd could not be started: ${spawnError.message}`);
      if (server.exitCode !== null || server.signalCode !== null) {
        throw new Error(`mariadbd exited (${server.exitCode ?? server.signalCode}) at start:\n${tail(readLog(), 30)}`);
      }
      try {
        await client('SELECT 1', ['--user=root'], 5_000);
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          server.kill('SIGKILL');
          await exited(server);
          throw new Error(
            `mariadbd did not accept queries within ${START_TIMEOUT_MS} ms (${(error as Error).message}):\n${tail(readLog(), 30)}`,
          );
        }
      }
      await sleep(100);
    }
  };

  const stop = async () => {
    const server = child;
    if (!server || !running()) return;
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited(server);
    clearTimeout(timer);
  };
  const kill = async () => {
    const server = child;
    if (!server || !running()) return;
    server.kill('SIGKILL');
    await exited(server);
  };

  const password = MARIADB_PASSWORD;
  const encoded = encodeURIComponent(password);
  const instance: MariaDbInstance = {
    dir,
    port,
    socketPath,
    database: MARIADB_DATABASE,
    user: MARIADB_USER,
    password,
    tcpUrl: `mysql://${MARIADB_USER}:${encoded}@127.0.0.1:${port}/${MARIADB_DATABASE}`,
    socketUrl: `mysql://${MARIADB_USER}:${encoded}@localhost/${MARIADB_DATABASE}?socket=${socketPath}`,
    running,
    pid: () => (running() ? child?.pid : undefined),
    readLog,
    query,
    stop,
    kill,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    remove: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
      live.delete(dir);
    },
  };

  try {
    await start();
    // One user per host form: `localhost` is the Unix socket, `127.0.0.1` TCP (with
    // --skip-name-resolve the client's address is matched as written).
    const quoted = `'${password.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    await client(
      [
        `CREATE DATABASE \`${MARIADB_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
        `CREATE USER '${MARIADB_USER}'@'localhost' IDENTIFIED BY ${quoted}`,
        `CREATE USER '${MARIADB_USER}'@'127.0.0.1' IDENTIFIED BY ${quoted}`,
        `GRANT ALL PRIVILEGES ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'localhost'`,
        `GRANT ALL PRIVILEGES ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'127.0.0.1'`,
      ].join('; '),
      ['--user=root'],
    );
  } catch (error) {
    await instance.remove();
    throw error;
  }
  return instance;
}

function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}
