// The notes' storage, for the fallback: SQLite through node:sqlite (Node.js 22.13 and newer) or
// MySQL/MariaDB through a mysql2 pool, picked by `DATABASE_URL` (`config.app.databaseUrl`). The
// native server has the same in native/src/examples/notes_db.rs, on the same files and tables.
//
// Nothing connects at start: a database that is down (or a data directory that is not writable)
// only makes the notes answer 503 `database_unavailable`, and each later request tries again, so
// the notes work as soon as the database is back, with no restart. Until the migrations have been
// applied once, every request first tries to apply them. Every value is a bound parameter. The
// real cause of a failure goes to the log, one line, with the password masked; the client gets
// one of the fixed reasons below.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { ApiError } from '../../api';
import { maskDatabaseUrl } from '../../config';
import { describeError, log } from '../../log';

/** A stored note; times in milliseconds since the epoch. */
export interface Note {
  readonly id: number;
  readonly title: string;
  readonly body: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What the routes need of the database. Every method throws ApiError('database_unavailable')
 * when the database cannot answer. */
export interface NotesStore {
  /** Stores a new note written at `now`. */
  create(title: string, body: string, now: number): Promise<Note>;
  /** Up to `limit` notes, newest first, only those with an id below `before` if given. */
  list(before: number | undefined, limit: number): Promise<Note[]>;
  /** The note `id`, if there is one. */
  get(id: number): Promise<Note | undefined>;
  /** Replaces the title and body of note `id` (written at `now`); undefined when there is none. */
  update(id: number, title: string, body: string, now: number): Promise<Note | undefined>;
  /** Deletes note `id`; false when there was none. */
  delete(id: number): Promise<boolean>;
  /** True when the database answers a query within a second (for `GET /health`). */
  isUp(): Promise<boolean>;
  /** Closes the connections (on shutdown). */
  close(): Promise<void>;
}

/** The fixed `{reason}`s of `database_unavailable` (never a driver's message). */
export const REASONS = {
  noAnswer: 'it did not answer; try again shortly.',
  notWritable: 'the data directory is not writable.',
  nodeTooOld:
    'SQLite needs Node.js 22.13 or newer for the fallback server; use Node.js 22+ or set DATABASE_URL to a MySQL database.',
} as const;

type Reason = keyof typeof REASONS;

function unavailable(reason: Reason): ApiError {
  return new ApiError('database_unavailable', { reason: REASONS[reason] });
}

/** How long the `/health` check may take before it counts as down. */
const CHECK_TIMEOUT_MS = 1_000;
/** How long SQLite waits for another writer (another process) before giving up. */
const BUSY_TIMEOUT_MS = 5_000;
/** The name MySQL's `GET_LOCK` serialises the migrations of several processes on. */
const MIGRATION_LOCK = 'passenger_handoff_migrations';
/** The migrations: `<dialect>/<version>_<name>.sql`, shipped next to this file (build-ts copies them). */
const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The migrations of a dialect, in version order, read from disk. */
function readMigrations(dialect: 'sqlite' | 'mysql'): Migration[] {
  const dir = path.join(MIGRATIONS_DIR, dialect);
  return readdirSync(dir)
    .map((file) => /^(\d+)_(\w+)\.sql$/.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({
      version: Number(match[1]),
      name: match[2] ?? '',
      sql: readFileSync(path.join(dir, match[0]), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
}

/** A migration's statements: the file split at each `;` that ends a line. */
function statements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.replace(/^--.*$/gm, '').trim() !== '');
}

/** Opens the store `databaseUrl` names (src/config.ts normalized it): nothing connects yet. */
export function openNotesStore(databaseUrl: string): NotesStore {
  if (databaseUrl.startsWith('sqlite:')) {
    const sqlite = loadSqlite();
    const file = databaseUrl.slice('sqlite:'.length);
    if (sqlite === undefined) {
      log(
        'notes',
        `node:sqlite is not available in Node.js ${process.versions.node} (it needs 22.13 or newer): the notes answer 503 until the app runs on a newer Node.js or DATABASE_URL names a MySQL database`,
      );
      return new UnavailableStore('nodeTooOld');
    }
    return new SqliteStore(sqlite, file);
  }
  return new MysqlStore(databaseUrl);
}

/** Failures logged in one line, the URL's password masked (and the password itself, should a
 * driver ever repeat it). */
function logFailure(shown: string, secret: string, what: string, error: unknown): void {
  let cause = describeError(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && !cause.includes(code)) cause = `${code}: ${cause}`;
  if (secret !== '') cause = cause.split(secret).join('***');
  log('notes', `database unavailable (${what} on ${shown}): ${cause}`);
}

/** Resolves with `promise`'s outcome, or false after `ms`. */
function within(ms: number, promise: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- Node.js older than 22.13: no node:sqlite ----------------------------------------------------

class UnavailableStore implements NotesStore {
  constructor(private readonly reason: Reason) {}
  create(): Promise<Note> {
    return Promise.reject(unavailable(this.reason));
  }
  list(): Promise<Note[]> {
    return Promise.reject(unavailable(this.reason));
  }
  get(): Promise<Note | undefined> {
    return Promise.reject(unavailable(this.reason));
  }
  update(): Promise<Note | undefined> {
    return Promise.reject(unavailable(this.reason));
  }
  delete(): Promise<boolean> {
    return Promise.reject(unavailable(this.reason));
  }
  async isUp(): Promise<boolean> {
    return false;
  }
  async close(): Promise<void> {}
}

// ---- SQLite (node:sqlite) ------------------------------------------------------------------------

/** The part of node:sqlite used here (the installed @types/node is Node 20's, which has none). */
interface SqliteModule {
  DatabaseSync: new (file: string) => SqliteDatabase;
}
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}
type SqliteValue = number | bigint | string | null | Uint8Array;
interface SqliteStatement {
  run(...params: SqliteValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: SqliteValue[]): Record<string, unknown> | undefined;
  all(...params: SqliteValue[]): Record<string, unknown>[];
}

/** node:sqlite, or undefined where this Node.js has none (before 22.13 it is missing or behind
 * --experimental-sqlite). Loaded at run time so the app still starts on Node 20. Its one-time
 * "SQLite is an experimental feature" warning is left out of the log: the notes example chose it. */
function loadSqlite(): SqliteModule | undefined {
  const getBuiltinModule = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltinModule !== 'function') return undefined;
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    const found = getBuiltinModule.call(process, 'node:sqlite') as SqliteModule | undefined;
    return typeof found?.DatabaseSync === 'function' ? found : undefined;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Creates `dir` and its parents. Node's recursive mkdir reports ENOENT where the file system
 * refused (EROFS, EACCES): the last step is tried again alone for the real cause. */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT' && existsSync(path.dirname(dir))) mkdirSync(dir);
    throw error;
  }
}

/** SQLite's primary result codes that mean the file cannot be written: READONLY, IOERR, FULL,
 * CANTOPEN; and the file system's refusals. */
function sqliteReason(error: unknown): Reason {
  const { errcode, code } = (error ?? {}) as { errcode?: unknown; code?: unknown };
  if (typeof errcode === 'number' && [8, 10, 13, 14].includes(errcode & 0xff)) return 'notWritable';
  if (typeof code === 'string' && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC'].includes(code)) return 'notWritable';
  return 'noAnswer';
}

/** SQLITE_BUSY or SQLITE_LOCKED. */
function sqliteBusy(error: unknown): boolean {
  const { errcode } = (error ?? {}) as { errcode?: unknown };
  return typeof errcode === 'number' && [5, 6].includes(errcode & 0xff);
}

/** Text read back as bytes: node:sqlite before Node 24 cuts a TEXT value at its first NUL. */
const COLUMNS = 'id, CAST(title AS BLOB) AS title, CAST(body AS BLOB) AS body, created_at, updated_at';

function noteFromSqlite(row: Record<string, unknown>): Note {
  const text = (value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8') : '';
  return {
    id: Number(row.id),
    title: text(row.title),
    body: text(row.body),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

class SqliteStore implements NotesStore {
  private db: SqliteDatabase | undefined;
  private opening: Promise<SqliteDatabase> | undefined;
  private readonly shown: string;

  constructor(
    private readonly sqlite: SqliteModule,
    private readonly file: string,
  ) {
    this.shown = `sqlite:${file}`;
  }

  /** The open, migrated database: opened (and the directory created) on first use, and again
   * after a failure. SQLite answers synchronously: a busy file holds this process for up to the
   * busy timeout. */
  private open(what: string): Promise<SqliteDatabase> {
    if (this.db !== undefined) return Promise.resolve(this.db);
    // Requests that arrive while the file is being opened wait for that one attempt.
    this.opening ??= this.openNow(what).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async openNow(what: string): Promise<SqliteDatabase> {
    let db: SqliteDatabase | undefined;
    try {
      makeDirectory(path.dirname(this.file));
      db = new this.sqlite.DatabaseSync(this.file);
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Switching a file to WAL takes a lock the busy timeout does not wait for: retry (bounded).
      for (let attempt = 0; ; attempt += 1) {
        try {
          db.exec('PRAGMA journal_mode = WAL');
          break;
        } catch (error) {
          if (!sqliteBusy(error) || attempt >= 50) throw error;
          await sleep(100);
        }
      }
      db.exec('PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL');
      migrateSqlite(db);
      this.db = db;
      return db;
    } catch (error) {
      try {
        db?.close();
      } catch {
        // already closed
      }
      throw this.failed(what, error);
    }
  }

  private failed(what: string, error: unknown): ApiError {
    logFailure(this.shown, '', what, error);
    // A later request opens the file afresh (the directory may have been fixed meanwhile).
    if (this.db !== undefined) {
      try {
        this.db.close();
      } catch {
        // already closed
      }
      this.db = undefined;
    }
    return unavailable(sqliteReason(error));
  }

  private async run<T>(what: string, work: (db: SqliteDatabase) => T): Promise<T> {
    const db = await this.open(what === 'ping' ? 'ping' : 'migrations');
    try {
      return work(db);
    } catch (error) {
      throw this.failed(what, error);
    }
  }

  create(title: string, body: string, now: number): Promise<Note> {
    return this.run('insert', (db) => {
      const done = db
        .prepare('INSERT INTO notes (title, body, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(title, body, now, now);
      return { id: Number(done.lastInsertRowid), title, body, createdAt: now, updatedAt: now };
    });
  }

  list(before: number | undefined, limit: number): Promise<Note[]> {
    return this.run('list', (db) => {
      const rows =
        before === undefined
          ? db.prepare(`SELECT ${COLUMNS} FROM notes ORDER BY id DESC LIMIT ?`).all(limit)
          : db.prepare(`SELECT ${COLUMNS} FROM notes WHERE id < ? ORDER BY id DESC LIMIT ?`).all(before, limit);
      return rows.map(noteFromSqlite);
    });
  }

  get(id: number): Promise<Note | undefined> {
    return this.run('select', (db) => {
      const row = db.prepare(`SELECT ${COLUMNS} FROM notes WHERE id = ?`).get(id);
      return row === undefined ? undefined : noteFromSqlite(row);
    });
  }

  update(id: number, title: string, body: string, now: number): Promise<Note | undefined> {
    return this.run('update', (db) => {
      db.prepare('UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?').run(title, body, now, id);
      const row = db.prepare(`SELECT ${COLUMNS} FROM notes WHERE id = ?`).get(id);
      return row === undefined ? undefined : noteFromSqlite(row);
    });
  }

  delete(id: number): Promise<boolean> {
    return this.run('delete', (db) => Number(db.prepare('DELETE FROM notes WHERE id = ?').run(id).changes) > 0);
  }

  isUp(): Promise<boolean> {
    return within(
      CHECK_TIMEOUT_MS,
      this.run('ping', (db) => {
        db.prepare('SELECT 1').get();
        return true;
      }),
    );
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    db?.close();
  }
}

/** Applies what is missing inside `BEGIN IMMEDIATE`, so processes starting together apply each
 * migration once. */
function migrateSqlite(db: SqliteDatabase): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const applied = new Set(
      db
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((row) => Number(row.version)),
    );
    for (const migration of readMigrations('sqlite')) {
      if (applied.has(migration.version)) continue;
      for (const statement of statements(migration.sql)) db.exec(statement);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }
    db.exec('COMMIT');
  } catch (error) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // no transaction left to roll back
    }
    throw error;
  }
}

// ---- MySQL / MariaDB (mysql2) --------------------------------------------------------------------

/** How long one query may take. */
const MYSQL_QUERY_TIMEOUT_MS = 10_000;
/** How long opening a connection may take. */
const MYSQL_CONNECT_TIMEOUT_MS = 2_000;

type Row = RowDataPacket & {
  id: number | string;
  title: string;
  body: string;
  created_at: number | string;
  updated_at: number | string;
};

function noteFromMysql(row: Row): Note {
  return {
    id: Number(row.id),
    title: row.title,
    body: row.body,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

class MysqlStore implements NotesStore {
  private readonly pool: Pool;
  private readonly shown: string;
  private readonly password: string;
  private migrated = false;
  private migrating: Promise<void> | undefined;

  constructor(databaseUrl: string) {
    this.shown = maskDatabaseUrl(databaseUrl);
    const url = new URL(databaseUrl);
    this.password = decodeURIComponent(url.password);
    const socketPath = url.searchParams.get('socket') ?? undefined;
    // Loaded here, not at the top: SQLite users never load mysql2.
    const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
    this.pool = mysql.createPool({
      ...(socketPath !== undefined
        ? { socketPath }
        : { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port === '' ? 3306 : Number(url.port) }),
      user: decodeURIComponent(url.username),
      password: this.password,
      database: decodeURIComponent(url.pathname.slice(1)),
      charset: 'UTF8MB4_UNICODE_CI',
      connectionLimit: 10,
      maxIdle: 10,
      idleTimeout: 60_000,
      connectTimeout: MYSQL_CONNECT_TIMEOUT_MS,
      enableKeepAlive: true,
      // Timestamps and ids are BIGINT: numbers, exact up to 2^53 − 1.
      supportBigNumbers: true,
      bigNumberStrings: false,
    });
    // A connection that breaks while idle in the pool is dropped by mysql2; say so once.
    this.pool.on('connection', (connection) => {
      connection.on('error', (error: unknown) => logFailure(this.shown, this.password, 'idle connection', error));
    });
  }

  private failed(what: string, error: unknown): ApiError {
    logFailure(this.shown, this.password, what, error);
    return unavailable('noAnswer');
  }

  /** Applies the migrations unless this process already has; one attempt at a time. */
  private async ready(): Promise<void> {
    if (this.migrated) return;
    this.migrating ??= this.migrate().finally(() => {
      this.migrating = undefined;
    });
    await this.migrating;
  }

  /** Applies what is missing while holding MySQL's named lock, so processes starting together
   * apply each migration once. */
  private async migrate(): Promise<void> {
    let connection: PoolConnection;
    try {
      connection = await this.pool.getConnection();
    } catch (error) {
      throw this.failed('migrations', error);
    }
    let locked = false;
    try {
      const [rows] = await connection.query<RowDataPacket[]>({
        sql: 'SELECT GET_LOCK(?, 30) AS locked',
        values: [MIGRATION_LOCK],
        timeout: 40_000,
      });
      locked = Number(rows[0]?.locked) === 1;
      if (!locked) throw new Error(`GET_LOCK('${MIGRATION_LOCK}', 30) did not get the lock`);
      await connection.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
      );
      const [versions] = await connection.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
      const applied = new Set(versions.map((row) => Number(row.version)));
      for (const migration of readMigrations('mysql')) {
        if (applied.has(migration.version)) continue;
        for (const statement of statements(migration.sql)) await connection.query(statement);
        await connection.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
          migration.version,
          migration.name,
          Date.now(),
        ]);
      }
      this.migrated = true;
    } catch (error) {
      throw this.failed('migrations', error);
    } finally {
      if (locked) {
        try {
          await connection.query('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]);
          connection.release();
        } catch {
          // The lock dies with the session: this connection is not handed to anyone else.
          connection.destroy();
        }
      } else {
        connection.release();
      }
    }
  }

  private async query<T extends RowDataPacket[] | ResultSetHeader>(
    what: string,
    sql: string,
    values: (string | number)[],
  ): Promise<T> {
    await this.ready();
    try {
      const [result] = await this.pool.query<T>({ sql, values, timeout: MYSQL_QUERY_TIMEOUT_MS });
      return result;
    } catch (error) {
      throw this.failed(what, error);
    }
  }

  async create(title: string, body: string, now: number): Promise<Note> {
    const done = await this.query<ResultSetHeader>(
      'insert',
      'INSERT INTO notes (title, body, created_at, updated_at) VALUES (?, ?, ?, ?)',
      [title, body, now, now],
    );
    return { id: Number(done.insertId), title, body, createdAt: now, updatedAt: now };
  }

  async list(before: number | undefined, limit: number): Promise<Note[]> {
    const rows =
      before === undefined
        ? await this.query<Row[]>(
            'list',
            'SELECT id, title, body, created_at, updated_at FROM notes ORDER BY id DESC LIMIT ?',
            [limit],
          )
        : await this.query<Row[]>(
            'list',
            'SELECT id, title, body, created_at, updated_at FROM notes WHERE id < ? ORDER BY id DESC LIMIT ?',
            [before, limit],
          );
    return rows.map(noteFromMysql);
  }

  async get(id: number): Promise<Note | undefined> {
    const rows = await this.query<Row[]>(
      'select',
      'SELECT id, title, body, created_at, updated_at FROM notes WHERE id = ?',
      [id],
    );
    const row = rows[0];
    return row === undefined ? undefined : noteFromMysql(row);
  }

  async update(id: number, title: string, body: string, now: number): Promise<Note | undefined> {
    await this.query<ResultSetHeader>('update', 'UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?', [
      title,
      body,
      now,
      id,
    ]);
    // Read back rather than trust the affected-row count: MySQL counts only rows whose values
    // changed. The read also gives `created_at`.
    return this.get(id);
  }

  async delete(id: number): Promise<boolean> {
    const done = await this.query<ResultSetHeader>('delete', 'DELETE FROM notes WHERE id = ?', [id]);
    return done.affectedRows > 0;
  }

  isUp(): Promise<boolean> {
    return within(
      CHECK_TIMEOUT_MS,
      this.query<RowDataPacket[]>('ping', 'SELECT 1', []).then(() => true),
    );
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
