//! The notes' storage: a lazy sqlx pool on SQLite (bundled, a file under the app root) or
//! MySQL/MariaDB, picked by `DATABASE_URL` (`app.databaseUrl`), with the migrations of
//! `src/examples/notes/migrations/` embedded in the binary.
//!
//! Nothing here connects at start: a database that is down (or a data directory that is not
//! writable) only makes the notes answer 503 `database_unavailable`, and each later request
//! tries again, so the notes work as soon as the database is back, with no restart. Until the
//! migrations have been applied once, every request first tries to apply them. Every value is a
//! bound parameter.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};

use crate::api::{AppError, ErrorCode};
use crate::serve::log::log_line;

/// How long SQLite waits for another writer (another process) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a MySQL connection (a refused one is retried until then).
const MYSQL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a request waits for one of the SQLite connections of this process: longer than
/// [`BUSY_TIMEOUT`], so a busy file is answered by SQLite's own wait, not by the pool's.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the `/health` check may take before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The name MySQL's `GET_LOCK` serialises the migrations of several processes on.
const MIGRATION_LOCK: &str = "passenger_handoff_migrations";

/// One migration: version, name, and its SQL for each dialect.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    mysql: &'static str,
}

/// The migrations, in version order: the files of `src/examples/notes/migrations/`.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "create_notes",
    sqlite: include_str!("../../../src/examples/notes/migrations/sqlite/0001_create_notes.sql"),
    mysql: include_str!("../../../src/examples/notes/migrations/mysql/0001_create_notes.sql"),
}];

/// A stored note; times in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The id the database gave it.
    pub id: i64,
    /// Its title, as sent.
    pub title: String,
    /// Its body, as sent.
    pub body: String,
    /// When it was created.
    pub created_at: i64,
    /// When it was last written.
    pub updated_at: i64,
}

/// Why the database could not answer: the `{reason}` of `database_unavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Refused, lost, timed out, closed.
    NoAnswer,
    /// SQLite cannot write its file (read-only or full directory or file).
    NotWritable,
}

impl Unavailable {
    /// The fixed text of the answer (never a driver's message).
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoAnswer => "it did not answer; try again shortly.",
            Self::NotWritable => "the data directory is not writable.",
        }
    }
}

impl From<Unavailable> for AppError {
    fn from(unavailable: Unavailable) -> Self {
        AppError::new(ErrorCode::DatabaseUnavailable).with("reason", unavailable.reason())
    }
}

/// The pool, of either kind.
enum Pool {
    Sqlite {
        pool: SqlitePool,
        options: Box<SqliteConnectOptions>,
    },
    MySql(MySqlPool),
}

/// The notes' database: a lazy pool and whether the migrations are known to be applied.
pub struct NotesDb {
    pool: Pool,
    /// `DATABASE_URL` with its password masked, for log lines.
    shown: String,
    /// Set once the migrations have been applied (or found applied) by this process.
    ready: AtomicBool,
    /// One migration attempt at a time in this process.
    migrating: tokio::sync::Mutex<()>,
    /// Migration attempts that failed: a request that waited for another's attempt takes its
    /// answer instead of trying again at once, so a burst of requests while the database is
    /// down does not queue one timeout after another.
    failures: AtomicU64,
    /// Whether the last failed attempt was [`Unavailable::NotWritable`].
    last_not_writable: AtomicBool,
}

impl std::fmt::Debug for NotesDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotesDb")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Runs the same code on either pool: `$pool` is a `&SqlitePool` in one arm, a `&MySqlPool` in
/// the other (the SQL, `?` placeholders and all, is the same for both).
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.pool {
            Pool::Sqlite { pool: $pool, .. } => $body,
            Pool::MySql($pool) => $body,
        }
    };
}

/// The columns of a note, in [`Note`]'s order.
const COLUMNS: &str = "id, title, body, created_at, updated_at";

/// Reads a [`Note`] from a row of [`COLUMNS`].
macro_rules! note_from_row {
    ($row:expr) => {{
        let row = $row;
        Note {
            id: row.try_get(0)?,
            title: row.try_get(1)?,
            body: row.try_get(2)?,
            created_at: row.try_get(3)?,
            updated_at: row.try_get(4)?,
        }
    }};
}

/// Compile-time check that the handlers' futures can move between worker threads.
#[allow(dead_code)]
fn assert_send(db: &NotesDb) {
    fn send<T: Send>(_: T) {}
    send(db.ready());
    send(db.create("", "", 0));
    send(db.list(None, 1));
    send(db.get(1));
    send(db.update(1, "", "", 0));
    send(db.delete(1));
    send(db.is_up());
}

impl NotesDb {
    /// The database of `url` (see [`AppSettings`]), not connected yet: only a malformed URL
    /// is an error (naming `DATABASE_URL`, its password masked). Called on a Tokio runtime
    /// (the pool starts its upkeep task there).
    pub fn open(url: &str) -> Result<Self, String> {
        let shown = mask_password(url);
        let malformed = |why: &str| format!("DATABASE_URL is not valid ({why}): {shown}");
        let pool = if let Some(rest) = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
        {
            let options = MySqlConnectOptions::from_str(&format!("mysql://{rest}"))
                .map_err(|_| malformed("not a mysql://user:password@host/database URL"))?;
            Pool::MySql(
                MySqlPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(MYSQL_ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options),
            )
        } else {
            let path = sqlite_path(url).ok_or_else(|| {
                malformed("neither sqlite:<path> nor mysql://user:password@host/database")
            })?;
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .busy_timeout(BUSY_TIMEOUT)
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
                .connect_lazy_with(options.clone());
            Pool::Sqlite {
                pool,
                options: Box::new(options),
            }
        };
        Ok(Self {
            pool,
            shown,
            ready: AtomicBool::new(false),
            migrating: tokio::sync::Mutex::new(()),
            failures: AtomicU64::new(0),
            last_not_writable: AtomicBool::new(false),
        })
    }

    /// Tries the migrations once (at start): a failure is logged, not returned, and the
    /// requests try again.
    pub async fn start(&self) {
        let _ = self.ready().await;
    }

    /// Closes the pool (on shutdown).
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await);
    }

    /// True when the database answers a query within a second.
    pub async fn is_up(&self) -> bool {
        let ping = async {
            self.ready().await?;
            on_pool!(self, |pool| sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(|e| self.failed("ping", &e)))
        };
        matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(())))
    }

    /// Stores a new note written at `now`.
    pub async fn create(&self, title: &str, body: &str, now: i64) -> Result<Note, Unavailable> {
        self.ready().await?;
        let sql = "INSERT INTO notes (title, body, created_at, updated_at) VALUES (?, ?, ?, ?)";
        let id = match &self.pool {
            Pool::Sqlite { pool, .. } => sqlx::query(sql)
                .bind(title)
                .bind(body)
                .bind(now)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.last_insert_rowid()),
            Pool::MySql(pool) => sqlx::query(sql)
                .bind(title)
                .bind(body)
                .bind(now)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| i64::try_from(done.last_insert_id()).unwrap_or(i64::MAX)),
        }
        .map_err(|e| self.failed("insert", &e))?;
        Ok(Note {
            id,
            title: title.to_owned(),
            body: body.to_owned(),
            created_at: now,
            updated_at: now,
        })
    }

    /// Up to `limit` notes, newest first, only those with an id below `before` if given.
    pub async fn list(&self, before: Option<i64>, limit: i64) -> Result<Vec<Note>, Unavailable> {
        self.ready().await?;
        let before = before.unwrap_or(i64::MAX);
        let sql = format!("SELECT {COLUMNS} FROM notes WHERE id < ? ORDER BY id DESC LIMIT ?");
        let found: Result<Vec<Note>, sqlx::Error> = on_pool!(self, |pool| async {
            let rows = sqlx::query(&sql)
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let mut notes = Vec::with_capacity(rows.len());
            for row in rows {
                notes.push(note_from_row!(row));
            }
            Ok(notes)
        }
        .await);
        found.map_err(|e| self.failed("list", &e))
    }

    /// The note `id`, if there is one.
    pub async fn get(&self, id: i64) -> Result<Option<Note>, Unavailable> {
        self.ready().await?;
        let found: Result<Option<Note>, sqlx::Error> = on_pool!(self, |pool| async {
            let sql = format!("SELECT {COLUMNS} FROM notes WHERE id = ?");
            match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(note_from_row!(row))),
                None => Ok(None),
            }
        }
        .await);
        found.map_err(|e| self.failed("select", &e))
    }

    /// Replaces the title and body of note `id` (written at `now`); `None` when there is no
    /// such note.
    pub async fn update(
        &self,
        id: i64,
        title: &str,
        body: &str,
        now: i64,
    ) -> Result<Option<Note>, Unavailable> {
        self.ready().await?;
        let sql = "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(title)
            .bind(body)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|e| self.failed("update", &e))?;
        // Read back rather than trust the affected-row count: MySQL counts only rows whose
        // values changed. The read also gives `created_at`.
        self.get(id).await
    }

    /// Deletes note `id`; false when there was none.
    pub async fn delete(&self, id: i64) -> Result<bool, Unavailable> {
        self.ready().await?;
        let done = on_pool!(self, |pool| sqlx::query("DELETE FROM notes WHERE id = ?")
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("delete", &e))?;
        Ok(done > 0)
    }

    /// Applies the migrations unless this process already has.
    async fn ready(&self) -> Result<(), Unavailable> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let failures = self.failures.load(Ordering::Acquire);
        let _one_at_a_time = self.migrating.lock().await;
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.failures.load(Ordering::Acquire) != failures {
            // An attempt failed while this request waited for it.
            return Err(if self.last_not_writable.load(Ordering::Acquire) {
                Unavailable::NotWritable
            } else {
                Unavailable::NoAnswer
            });
        }
        let applied = match &self.pool {
            Pool::Sqlite { pool, options } => migrate_sqlite(pool, options).await,
            Pool::MySql(pool) => migrate_mysql(pool).await,
        };
        match applied {
            Ok(()) => {
                self.ready.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                let unavailable = self.failed("migrations", &e);
                self.last_not_writable
                    .store(unavailable == Unavailable::NotWritable, Ordering::Release);
                self.failures.fetch_add(1, Ordering::AcqRel);
                Err(unavailable)
            }
        }
    }

    /// Logs the real cause in one line (no password: sqlx's messages carry none, the URL is
    /// masked) and says which fixed reason the client gets.
    fn failed(&self, what: &str, error: &sqlx::Error) -> Unavailable {
        let unavailable = classify(error);
        let mut cause = error.to_string().replace(['\n', '\r'], " ");
        if matches!(error, sqlx::Error::PoolTimedOut) {
            // The pool retries a refused connection until its timeout, then says only this.
            cause.push_str(" (no connection: refused, or no answer in time)");
        }
        log_line(&format!(
            "notes: database unavailable ({what} on {}): {cause}",
            self.shown
        ));
        unavailable
    }
}

/// The SQLite file a `DATABASE_URL` names: `sqlite:<path>` or `sqlite://<path>` → that path
/// (`src/config.ts` passes it absolute); `None` for anything else.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    (!path.is_empty() && !path.contains('?')).then(|| PathBuf::from(path))
}

/// Which fixed reason an error is: SQLite's read-only, cannot-open, full and I/O errors and a
/// file system that refuses to write are [`Unavailable::NotWritable`]; anything else (refused,
/// lost, timed out, closed) [`Unavailable::NoAnswer`].
fn classify(error: &sqlx::Error) -> Unavailable {
    match error {
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            // Extended result codes: the primary code is the low byte.
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
            // SQLITE_IOERR 10, SQLITE_READONLY 8, SQLITE_FULL 13, SQLITE_CANTOPEN 14.
            if matches!(code, 8 | 10 | 13 | 14) {
                Unavailable::NotWritable
            } else {
                Unavailable::NoAnswer
            }
        }
        sqlx::Error::Io(io) if io_not_writable(io) => Unavailable::NotWritable,
        _ => Unavailable::NoAnswer,
    }
}

/// EACCES, EPERM, EROFS, ENOSPC.
fn io_not_writable(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(1 | 13 | 28 | 30))
        || error.kind() == std::io::ErrorKind::PermissionDenied
}

/// Applies each migration of [`MIGRATIONS`] whose version is not in `$applied`, in the
/// dialect `$dialect` (the field `sqlite` or `mysql`), and records it in `schema_migrations`,
/// on `$conn` (a transaction or a connection of either pool): the one loop both databases run.
/// A macro, not a generic function: the `Send` bounds of sqlx's executors over both databases
/// would take more lines than the loop.
macro_rules! apply_missing {
    ($conn:ident, $applied:ident, $dialect:ident) => {
        for migration in MIGRATIONS {
            if $applied.contains(&migration.version) {
                continue;
            }
            for statement in statements(migration.$dialect) {
                sqlx::query(&statement).execute(&mut *$conn).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(now_ms())
            .execute(&mut *$conn)
            .await?;
        }
    };
}

/// Creates the file's directory, sets WAL mode (once per file, retried while another process
/// holds the lock it needs), then applies what is missing inside `BEGIN IMMEDIATE`, so
/// processes starting together apply each migration once.
fn migrate_sqlite<'a>(
    pool: &'a SqlitePool,
    options: &'a SqliteConnectOptions,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    // Boxed as `Send` with its lifetimes named: rustc cannot prove an unboxed future that
    // executes on `&mut *transaction` is Send for every lifetime.
    Box::pin(async move {
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() && !Path::new(dir).is_dir() {
                std::fs::create_dir_all(dir)?;
            }
        }
        set_wal(options).await?;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, \
         name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
        apply_missing!(tx, applied, sqlite);
        tx.commit().await
    })
}

/// `PRAGMA journal_mode=WAL` on a connection of its own. Switching a file to WAL takes a lock
/// that SQLite's busy timeout does not wait for, so a busy answer is retried (bounded).
async fn set_wal(options: &SqliteConnectOptions) -> Result<(), sqlx::Error> {
    let options = options.clone().journal_mode(SqliteJournalMode::Wal);
    let mut attempts = 0;
    loop {
        match SqliteConnection::connect_with(&options).await {
            Ok(connection) => return connection.close().await,
            Err(sqlx::Error::Database(db)) if is_busy(&*db) && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED (any extended code).
fn is_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
    matches!(code, 5 | 6)
}

/// Applies what is missing while holding MySQL's named lock, so processes starting together
/// apply each migration once.
fn migrate_mysql(pool: &MySqlPool) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let mut connection = pool.acquire().await?;
        let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 30)")
            .bind(MIGRATION_LOCK)
            .fetch_one(&mut *connection)
            .await?;
        if locked != Some(1) {
            return Err(sqlx::Error::PoolTimedOut);
        }
        let applied = async {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, \
             name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) \
             ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            )
            .execute(&mut *connection)
            .await?;
            let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .map(|row| {
                    row.try_get::<i64, _>(0)
                        .or_else(|_| row.try_get::<i32, _>(0).map(i64::from))
                })
                .collect::<Result<_, _>>()?;
            apply_missing!(connection, applied, mysql);
            Ok::<(), sqlx::Error>(())
        }
        .await;
        let released = sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *connection)
            .await;
        if released.is_err() {
            // The lock dies with the session: do not hand this connection to anyone else.
            connection.detach();
        }
        applied
    })
}

/// The statements of a migration file: split after each `;` that ends a line, comment lines
/// (`-- …`) dropped, empty ones skipped.
fn statements(sql: &str) -> Vec<String> {
    sql.split_inclusive('\n')
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<String>()
        .split(";\n")
        .map(|statement| statement.trim().trim_end_matches(';').trim())
        .filter(|statement| !statement.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The app's clock in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `url` with the password of its `user:password@` part replaced by `***`.
pub fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..start],
        &authority[..colon],
        &url[start + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_password_only() {
        assert_eq!(
            mask_password("mysql://app:s3cr@t@db:3306/notes?socket=/x"),
            "mysql://app:***@db:3306/notes?socket=/x"
        );
        assert_eq!(
            mask_password("mysql://app@db/notes"),
            "mysql://app@db/notes"
        );
        assert_eq!(mask_password("mysql://db/a:b@c"), "mysql://db/a:b@c");
        assert_eq!(mask_password("sqlite:/tmp/a:b@c"), "sqlite:/tmp/a:b@c");
    }

    #[tokio::test]
    async fn reads_sqlite_paths_and_refuses_other_urls() {
        assert_eq!(sqlite_path(""), None);
        assert_eq!(
            sqlite_path("sqlite:/srv/a.db"),
            Some(PathBuf::from("/srv/a.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///srv/a.db"),
            Some(PathBuf::from("/srv/a.db"))
        );
        assert_eq!(sqlite_path("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_path("postgres://u:p@h/d"), None);
        assert_eq!(sqlite_path("sqlite:"), None);
        let error = NotesDb::open("postgres://u:hunter2@h/d").expect_err("refused");
        assert!(error.contains("DATABASE_URL"), "{error}");
        assert!(error.contains("u:***@h"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert!(NotesDb::open("mysql://u:p@localhost/db?socket=/run/mysqld.sock").is_ok());
        assert!(NotesDb::open("mariadb://u:p@127.0.0.1:3306/db").is_ok());
    }

    #[test]
    fn the_migrations_are_embedded_for_both_dialects() {
        for migration in MIGRATIONS {
            assert!(migration.sqlite.contains("CREATE TABLE notes"));
            assert!(migration.mysql.contains("CREATE TABLE notes"));
        }
    }
}
