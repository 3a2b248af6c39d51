//! The embedded backend: one SQLite file (WAL, foreign keys) holds one project, with its model
//! folder `<file>.models/` beside it. The queries of `sql/` are compiled here for `sqlx::Sqlite`;
//! this file holds what differs: connecting, the write lock (`BEGIN IMMEDIATE`), and id blocks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emrel_core::Schema;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{Result, StoreError};

#[path = "sql/copy.rs"]
pub(crate) mod copy;
#[path = "sql/export.rs"]
mod export;
#[path = "sql/import.rs"]
mod import;
#[path = "sql/jobs.rs"]
mod jobs;
#[path = "sql/labels.rs"]
mod labels;
#[path = "sql/models.rs"]
mod models;
#[path = "sql/project.rs"]
mod project;
#[path = "sql/review.rs"]
mod review;
#[path = "sql/stats.rs"]
mod stats;

pub(crate) type Db = sqlx::Sqlite;
pub(crate) type DbRow = sqlx::sqlite::SqliteRow;
pub(crate) type Tx<'c> = sqlx::Transaction<'c, Db>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The ids bound as one JSON array (`$1`), as a subquery.
pub(crate) const IDS_JSON: &str = "SELECT value FROM json_each($1)";

/// An open SQLite project.
#[derive(Debug, Clone)]
pub(crate) struct Queries {
    pub(crate) pool: SqlitePool,
    pub(crate) schema: Schema,
    /// The folder the stored model directories are relative to: the database's folder.
    pub(crate) base_dir: PathBuf,
    /// `<file name>.models`.
    pub(crate) models_name: String,
    /// Annotator ids committed by this process (names are never removed or renamed).
    pub(crate) annotators: Arc<Mutex<HashMap<String, i64>>>,
}

/// A write transaction. IMMEDIATE: the write lock is taken (waiting out the busy timeout)
/// before the first read, so a writer that comes in between cannot make a read-then-write
/// transaction fail at its first write, as a DEFERRED one does.
pub(crate) async fn begin_write(pool: &SqlitePool) -> Result<Tx<'static>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A transaction that only appends rows: SQLite has one writer at a time, so the same as
/// [`begin_write`].
pub(crate) async fn begin_append(pool: &SqlitePool) -> Result<Tx<'static>> {
    begin_write(pool).await
}

/// A read transaction: in WAL mode every statement in it reads the same snapshot.
pub(crate) async fn begin_snapshot(pool: &SqlitePool) -> Result<Tx<'static>> {
    Ok(pool.begin().await?)
}

/// The id SQLite would give the next row of `table` (one past the largest; `INTEGER PRIMARY
/// KEY` allocates ids so), read under the write lock that the caller holds.
pub(crate) async fn first_free_id(tx: &mut Tx<'_>, table: &str) -> Result<i64> {
    let sql = format!("SELECT COALESCE(MAX({table}_id), 0) + 1 FROM {table}");
    Ok(sqlx::query_scalar(&sql).fetch_one(&mut **tx).await?)
}

/// Nothing to do on SQLite: the rows written are what the next allocation sees.
pub(crate) async fn claim_ids(_tx: &mut Tx<'_>, _table: &str, _next: i64) -> Result<()> {
    Ok(())
}

/// Nothing to do on SQLite: an `INTEGER PRIMARY KEY` continues after the largest id.
pub(crate) async fn reset_sequence(_tx: &mut Tx<'_>, _table: &str, _id: &str) -> Result<()> {
    Ok(())
}

/// Nothing to do on SQLite: its planner needs no statistics for these queries.
pub(crate) async fn refresh_statistics(_pool: &SqlitePool, _tables: &[&str]) -> Result<()> {
    Ok(())
}

async fn connect(path: &Path, create: bool) -> Result<SqlitePool> {
    let url = format!("sqlite://{}", path.display());
    let opts = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL + NORMAL survives a process crash or kill with every commit intact.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// An empty file is what SQLite treats as a new database: creating a project in it is safe.
fn is_empty_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0)
}

/// Whether `path` holds an EMRel project, read through a read-only connection that leaves the
/// file's bytes as they are. A file that SQLite cannot read as a database is not a project.
async fn is_project(path: &Path) -> Result<bool> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    let conn = sqlx::ConnectOptions::connect(&opts).await;
    let Ok(mut conn) = conn else { return Ok(false) };
    let found: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'project'",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = sqlx::Connection::close(conn).await;
    match found {
        Ok(n) => Ok(n > 0),
        // "file is not a database" and the like: not a project. Busy and I/O errors are real.
        Err(sqlx::Error::Database(e)) if e.message().contains("not a database") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The name of the model folder beside the database file: `<file name>.models`.
pub(crate) fn models_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string());
    format!("{}.models", name.unwrap_or_else(|| "emrel.db".into()))
}

fn queries(pool: SqlitePool, path: &Path, schema: Schema) -> Queries {
    let base_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Queries { pool, schema, base_dir, models_name: models_name(path), annotators: Arc::default() }
}

/// A database at `path` with every table and no project yet (for a new project or a copy).
/// Fails if the file already holds a project, and leaves a file that is another application's
/// untouched.
pub(crate) async fn create_empty(path: &Path) -> Result<SqlitePool> {
    let shown = path.display().to_string();
    if path.exists() && !is_empty_file(path) && !is_project(path).await? {
        return Err(StoreError::Foreign(shown));
    }
    let pool = connect(path, true).await?;
    if project::read_schema(&pool).await?.is_some() {
        pool.close().await;
        return Err(StoreError::ProjectExists(shown));
    }
    Ok(pool)
}

/// Creates a new project at `path` (see [`create_empty`]).
pub(crate) async fn create(path: &Path, name: &str, schema: Schema) -> Result<Queries> {
    let pool = create_empty(path).await?;
    let mut tx = begin_write(&pool).await?;
    project::init_project(&mut tx, &path.display().to_string(), name, &schema).await?;
    tx.commit().await?;
    Ok(queries(pool, path, schema))
}

/// Opens an existing project, applying any migrations it lacks. A file that is not an EMRel
/// project (another application's database, or no database at all) is refused before anything
/// is written to it: no migration, no journal mode change, no `-wal` file.
pub(crate) async fn open(path: &Path) -> Result<Queries> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(StoreError::NoProject(shown));
    }
    if !is_project(path).await? {
        return Err(if is_empty_file(path) {
            StoreError::NoProject(shown)
        } else {
            StoreError::Foreign(shown)
        });
    }
    let pool = connect(path, false).await?;
    let Some(schema) = project::read_schema(&pool).await? else {
        return Err(StoreError::NoProject(shown));
    };
    Ok(queries(pool, path, schema))
}

impl Queries {
    /// Checkpoints the WAL into the database file and closes the pool, so that the `.db` file
    /// alone holds the whole project once the process ends (a user may copy or mail it). The
    /// pool's own close does not wait for SQLite's checkpoint on the last connection, which left
    /// every commit in `-wal`. A checkpoint that cannot run now (another process is reading) is
    /// skipped: the commits stay safe in the WAL.
    pub(crate) async fn close(self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await;
        self.pool.close().await;
    }
}
