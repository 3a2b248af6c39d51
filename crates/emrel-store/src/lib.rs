//! The project database. One SQLite file holds one project: its schema, documents, sentences,
//! entities, candidate pairs and the append-only label event log (see `migrations/`). Every write
//! is a transaction that commits before the call returns, so a crash loses nothing a user saw
//! confirmed; an import is one transaction, so a bad file leaves the database as it was.

mod export;
mod ids;
mod import;
mod jobs;
mod labels;
mod models;
mod review;
mod stats;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use emrel_core::{PrepareError, Schema};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use export::ExportFilter;
pub use ids::{IterationId, JobId, LabelEventId, ModelVersionId, PairId};
pub use import::ImportSummary;
pub use jobs::{JobRecord, JobStatus};
pub use labels::{
    CurrentLabel, EntityRecord, LabelAction, LabelRecord, LabelWrite, PairRecord, QueueRow,
    ScoreSummary, SnapshotLabel, UndoRecord,
};
pub use models::{
    Admission, IterationRecord, IterationStatus, ModelStatus, ModelVersionRecord, ScoreRecord,
};
pub use review::{AdmittedLabel, JudgementRecord, JudgementWrite};
pub use stats::{CategoryStats, Stats};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} is not an EMRel project (run `emrel init` or `emrel demo` first)")]
    NoProject(PathBuf),
    #[error("{0} is not an EMRel project but another file (EMRel leaves it untouched)")]
    Foreign(PathBuf),
    #[error("{0} already holds a project")]
    ProjectExists(PathBuf),
    #[error("the project's stored schema is unreadable: {0}")]
    BadSchema(String),
    #[error("{0}")]
    Input(#[from] PrepareError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open project database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
    schema: Schema,
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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

impl Store {
    /// Creates a new project at `path` with `schema`. Fails if the file already holds one.
    pub async fn create(path: &Path, name: &str, schema: Schema) -> Result<Store> {
        if path.exists() && !is_empty_file(path) && !is_project(path).await? {
            return Err(StoreError::Foreign(path.to_path_buf()));
        }
        let pool = connect(path, true).await?;
        let mut tx = pool.begin().await?;
        let existing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM project").fetch_one(&mut *tx).await?;
        if existing > 0 {
            return Err(StoreError::ProjectExists(path.to_path_buf()));
        }
        sqlx::query(
            "INSERT INTO project (name, schema_json, created_at, uid)
             VALUES (?, ?, ?, lower(hex(randomblob(16))))",
        )
        .bind(name)
        .bind(schema.to_json())
        .bind(now())
        .execute(&mut *tx)
        .await?;
        for t in &schema.entity_types {
            sqlx::query("INSERT INTO entity_type (name, color) VALUES (?, ?)")
                .bind(&t.name)
                .bind(&t.color)
                .execute(&mut *tx)
                .await?;
        }
        for r in &schema.relations {
            sqlx::query("INSERT INTO relation_type (name, description) VALUES (?, ?)")
                .bind(&r.name)
                .bind(&r.description)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Store { pool, path: path.to_path_buf(), schema })
    }

    /// Opens an existing project, applying any migrations it lacks. A file that is not an EMRel
    /// project (another application's database, or no database at all) is refused before
    /// anything is written to it: no migration, no journal mode change, no `-wal` file.
    pub async fn open(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::NoProject(path.to_path_buf()));
        }
        if !is_project(path).await? {
            return Err(if is_empty_file(path) {
                StoreError::NoProject(path.to_path_buf())
            } else {
                StoreError::Foreign(path.to_path_buf())
            });
        }
        let pool = connect(path, false).await?;
        let row: Option<String> = sqlx::query_scalar("SELECT schema_json FROM project LIMIT 1")
            .fetch_optional(&pool)
            .await?;
        let Some(json) = row else {
            return Err(StoreError::NoProject(path.to_path_buf()));
        };
        let schema = Schema::from_json(&json).map_err(|e| StoreError::BadSchema(e.to_string()))?;
        Ok(Store { pool, path: path.to_path_buf(), schema })
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The project's identity: 32 hex digits drawn when it was created (or when the migration
    /// that introduced it ran), never reused by another project, even one at the same path.
    pub async fn project_uid(&self) -> Result<String> {
        let uid: Option<String> = sqlx::query_scalar("SELECT uid FROM project LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .flatten();
        uid.ok_or_else(|| StoreError::NoProject(self.path.clone()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Checkpoints the WAL into the database file and closes the pool, so that the `.db` file
    /// alone holds the whole project once the process ends (a user may copy or mail it). The
    /// pool's own close does not wait for SQLite's checkpoint on the last connection, which left
    /// every commit in `-wal`. A checkpoint that cannot run now (another process is reading) is
    /// skipped: the commits stay safe in the WAL.
    pub async fn close(self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await;
        self.pool.close().await;
    }
}
