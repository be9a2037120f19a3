// Doctor's `database` check for the notes example (src/doctor/index.ts runs it): whether
// DATABASE_URL connects, as the notes' store connects (mysql2, the same options), and for MySQL on
// `localhost` whether the server's Unix socket would, when TCP does not (cPanel hosts often refuse
// TCP on localhost while the socket works; mysql2, unlike the mysql client, never tries the socket
// by itself). For SQLite: whether node:sqlite exists and the file's folder is writable.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { maskDatabaseUrl } from '../../config';
import { type Check, fail, ok, warn } from '../../doctor/types';

/** Where MySQL and MariaDB put their socket: cPanel / RHEL, Debian, and the old default. */
const DEFAULT_SOCKETS = [
  '/var/lib/mysql/mysql.sock',
  '/run/mysqld/mysqld.sock',
  '/var/run/mysqld/mysqld.sock',
  '/tmp/mysql.sock',
];
const CONNECT_TIMEOUT_MS = 10_000;

type Attempt = { ok: true; version: string } | { ok: false; code: string; message: string };

/** The `database` check for `databaseUrl` (config.app.databaseUrl, normalized). */
export async function checkDatabase(databaseUrl: string, home: string): Promise<Check> {
  if (databaseUrl.startsWith('sqlite:')) return checkSqlite(databaseUrl.slice('sqlite:'.length));
  const shown = maskDatabaseUrl(databaseUrl);
  let mysql: typeof import('mysql2/promise');
  try {
    mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  } catch {
    return fail(
      'database',
      `DATABASE_URL is ${shown}, and mysql2 is not installed`,
      'press Run NPM Install in Setup Node.js App (or `npm install --omit=dev`), then Restart.',
    );
  }
  const url = new URL(databaseUrl);
  const socket = url.searchParams.get('socket') ?? undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 3306 : Number(url.port);
  const credentials = {
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
  const attempt = async (where: { socketPath: string } | { host: string; port: number }): Promise<Attempt> => {
    let connection: import('mysql2/promise').Connection | undefined;
    try {
      connection = await mysql.createConnection({ ...where, ...credentials, connectTimeout: CONNECT_TIMEOUT_MS });
      const [rows] = await connection.query('SELECT VERSION() AS version');
      return { ok: true, version: String((rows as { version: string }[])[0]?.version ?? '?') };
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      return {
        ok: false,
        code: code ?? 'ERROR',
        message: (message ?? String(error)).split(credentials.password).join('***'),
      };
    } finally {
      await connection?.end().catch(() => {});
    }
  };

  const via = socket !== undefined ? `the socket ${socket}` : `TCP ${host}:${port}`;
  const first = await attempt(socket !== undefined ? { socketPath: socket } : { host, port });
  if (first.ok) return ok('database', `${shown} connects over ${via} (server ${first.version})`);
  if (!UNREACHABLE.has(first.code)) {
    return fail('database', `${shown} over ${via}: ${first.message}`, fixFor(first.code, credentials));
  }
  if (socket === undefined && host === 'localhost') {
    for (const candidate of socketCandidates(home)) {
      const viaSocket = await attempt({ socketPath: candidate });
      if (viaSocket.ok || !UNREACHABLE.has(viaSocket.code)) {
        const withSocket = `${shown}${url.search === '' ? '?' : '&'}socket=${candidate}`;
        return fail(
          'database',
          `${shown} over ${via}: ${first.message}; the server's Unix socket ${candidate} ${viaSocket.ok ? `answers (server ${viaSocket.version})` : `answers, but: ${viaSocket.message}`}`,
          `MySQL on localhost takes the socket here, not TCP: set DATABASE_URL to ${withSocket} in the app's environment variables, then Restart.`,
        );
      }
    }
  }
  return fail(
    'database',
    `${shown} over ${via}: the server does not answer (${first.message})`,
    socket !== undefined
      ? 'check the socket path (`SHOW VARIABLES LIKE "socket"` in phpMyAdmin shows it) and that the server runs.'
      : 'check the host and port (on cPanel the database runs on localhost: add ?socket=/var/lib/mysql/mysql.sock if TCP is refused) and that the server runs.',
  );
}

/** Errors that mean nothing answered where we looked (as opposed to a server that said no). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EACCES',
  'PROTOCOL_CONNECTION_LOST',
]);

function fixFor(code: string, credentials: { user: string; database: string }): string {
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
      return `check the user and password in DATABASE_URL (percent-encode : @ / and % in the password); on cPanel the user's name carries the account prefix (${credentials.user.includes('_') ? credentials.user : `account_${credentials.user}`}).`;
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
      return `add the user ${credentials.user} to the database ${credentials.database} in cPanel's MySQL Databases (with ALL PRIVILEGES).`;
    case 'ER_BAD_DB_ERROR':
      return `create the database ${credentials.database} in cPanel's MySQL Databases, or fix its name in DATABASE_URL (it carries the account prefix).`;
    default:
      return 'read the error above; the notes answer 503 until the database connects.';
  }
}

/** Sockets to try for `localhost`: the `socket=` lines of the client configuration files, then
 * the usual places; only those that exist. */
function socketCandidates(home: string): string[] {
  const named: string[] = [];
  for (const file of [path.join(home, '.my.cnf'), '/etc/my.cnf', '/etc/mysql/my.cnf']) {
    try {
      for (const match of readFileSync(file, 'utf8').matchAll(/^\s*socket\s*=\s*"?([^"\s]+)"?\s*$/gm)) {
        if (match[1]) named.push(match[1]);
      }
    } catch {
      // No such file.
    }
  }
  return [...new Set([...named, ...DEFAULT_SOCKETS])].filter((file) => existsSync(file));
}

function checkSqlite(file: string): Check {
  const builtin = (process as { getBuiltinModule?: (name: string) => unknown }).getBuiltinModule;
  let available = false;
  try {
    available = builtin?.call(process, 'node:sqlite') !== undefined;
  } catch {
    available = false;
  }
  if (!available) {
    return warn(
      'database',
      `DATABASE_URL is sqlite:${file}, and this Node.js ${process.versions.node} has no node:sqlite (22.13 or newer): the notes answer 503`,
      'choose Node.js 22 or newer in Setup Node.js App, or set DATABASE_URL to a MySQL database (mysql://user:password@localhost/database).',
    );
  }
  let dir = existsSync(file) ? file : path.dirname(file);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return fail(
      'database',
      `DATABASE_URL is sqlite:${file}, and ${dir} is not writable by this user: the notes cannot store anything`,
      `make ${dir} writable (chmod u+w), or point DATABASE_URL at a file in a folder of yours.`,
    );
  }
  return ok('database', `sqlite:${file} (${existsSync(file) ? 'exists' : 'created on first use'}, writable)`);
}
