//! The team backend: one PostgreSQL database holds one project, shared by every client. The
//! queries of `sql/` are compiled here for `sqlx::Postgres`; this file holds what differs:
//! connecting (libpq conventions, TLS required beyond this machine), the write lock (a
//! transaction-scoped advisory lock, so that writers are serialised as SQLite's are), snapshots
//! (REPEATABLE READ) and id blocks from the tables' sequences.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emrel_core::Schema;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

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

pub(crate) type Db = sqlx::Postgres;
pub(crate) type DbRow = sqlx::postgres::PgRow;
pub(crate) type Tx<'c> = sqlx::Transaction<'c, Db>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The ids bound as one JSON array (`$1`), as a subquery.
pub(crate) const IDS_JSON: &str =
    "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))";

/// The advisory lock every write transaction of a project takes (ASCII `emrel`): one database
/// holds one project, so one key serialises its writers.
const WRITE_LOCK: i64 = 0x65_6d_72_65_6c;

/// An open PostgreSQL project.
#[derive(Debug, Clone)]
pub(crate) struct Queries {
    pub(crate) pool: PgPool,
    pub(crate) schema: Schema,
    /// The local folder the stored model directories are relative to (see `models_base`).
    pub(crate) base_dir: PathBuf,
    /// `<project uid>.models`.
    pub(crate) models_name: String,
    /// Annotator ids committed by this process (names are never removed or renamed).
    pub(crate) annotators: Arc<Mutex<HashMap<String, i64>>>,
}

/// A write transaction: it waits for the project's write lock before its first statement, so
/// that read-then-write transactions (undo, admissions, judgements) see no other writer's
/// changes between their reads and their writes, as under SQLite's `BEGIN IMMEDIATE`.
/// `BEGIN` and the lock travel in one round trip.
pub(crate) async fn begin_write(pool: &PgPool) -> Result<Tx<'static>> {
    Ok(pool.begin_with(format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")).await?)
}

/// A transaction that only appends rows (label events, skips): it takes the write lock shared,
/// so that appends from many clients run side by side while every read-then-write transaction
/// ([`begin_write`], exclusive) still sees none of them between its reads and its writes.
pub(crate) async fn begin_append(pool: &PgPool) -> Result<Tx<'static>> {
    let begin = format!("BEGIN; SELECT pg_advisory_xact_lock_shared({WRITE_LOCK})");
    Ok(pool.begin_with(begin).await?)
}

/// A read transaction whose statements all read one snapshot.
pub(crate) async fn begin_snapshot(pool: &PgPool) -> Result<Tx<'static>> {
    Ok(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?)
}

fn sequence(table: &str) -> String {
    format!("pg_get_serial_sequence('{table}', '{table}_id')")
}

/// The first id of a block taken from `table`'s sequence; [`claim_ids`] moves the sequence past
/// the ids used. Only imports assign ids in blocks, under the write lock.
pub(crate) async fn first_free_id(tx: &mut Tx<'_>, table: &str) -> Result<i64> {
    let sql = format!("SELECT nextval({})", sequence(table));
    Ok(sqlx::query_scalar(&sql).fetch_one(&mut **tx).await?)
}

/// Moves `table`'s sequence so that its next id is `next` (when ids were used).
pub(crate) async fn claim_ids(tx: &mut Tx<'_>, table: &str, next: i64) -> Result<()> {
    let sql = format!(
        "SELECT setval({seq}, $1 - 1) WHERE $1 - 1 >= currval({seq})",
        seq = sequence(table)
    );
    sqlx::query(&sql).bind(next).execute(&mut **tx).await?;
    Ok(())
}

/// Moves `table`'s id sequence past the largest id (after rows were written with their ids).
pub(crate) async fn reset_sequence(tx: &mut Tx<'_>, table: &str, id: &str) -> Result<()> {
    let sql = format!(
        "SELECT setval(pg_get_serial_sequence('{table}', '{id}'),
                       COALESCE((SELECT MAX({id}) FROM {table}), 0) + 1, false)"
    );
    sqlx::query(&sql).execute(&mut **tx).await?;
    Ok(())
}

/// Refreshes the planner's statistics of `tables` after a bulk write. Without them, right after
/// an import the planner takes the new tables for empty ones and evaluates the label views'
/// correlated subqueries by scanning (`stats` on a 100k-pair project took minutes instead of a
/// fraction of a second); autovacuum would only catch up later.
pub(crate) async fn refresh_statistics(pool: &PgPool, tables: &[&str]) -> Result<()> {
    sqlx::query(&format!("ANALYZE {}", tables.join(", "))).execute(pool).await?;
    Ok(())
}

/// Whether a connection to `host` stays on this machine (a Unix socket or a loopback name).
fn is_local(opts: &PgConnectOptions) -> bool {
    let host = opts.get_host();
    opts.get_socket().is_some()
        || host.starts_with('/')
        || matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

/// Connection options from a `postgres://` URL, with libpq's conventions (PG* variables as
/// defaults, `~/.pgpass` for the password, `sslmode`). Beyond this machine TLS with a verified
/// certificate and host name is required: `verify-full` is chosen when nothing was asked, and a
/// weaker `sslmode` is refused.
pub(crate) fn connect_options(url: &str, shown: &str) -> Result<PgConnectOptions> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Invalid(format!("{shown}: not a usable PostgreSQL URL: {e}")))?;
    if is_local(&opts) || matches!(opts.get_ssl_mode(), PgSslMode::VerifyFull) {
        return Ok(opts);
    }
    let asked = url.contains("sslmode=") || url.contains("ssl-mode=");
    if asked || std::env::var_os("PGSSLMODE").is_some() {
        return Err(StoreError::Invalid(format!(
            "{shown}: a project on another machine is reached over TLS with a verified \
             certificate only; use sslmode=verify-full (the default) instead of {:?}",
            opts.get_ssl_mode()
        )));
    }
    Ok(opts.ssl_mode(PgSslMode::VerifyFull))
}

async fn connect(url: &str, shown: &str) -> Result<PgPool> {
    let opts = connect_options(url, shown)?;
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .map_err(|source| StoreError::Unreachable { location: shown.to_string(), source })?;
    Ok(pool)
}

/// Whether the database holds an EMRel project, and whether it holds anything else.
async fn contents(pool: &PgPool) -> Result<(bool, bool)> {
    let (project, others): (bool, i64) = sqlx::query_as(
        "SELECT to_regclass('project') IS NOT NULL,
                (SELECT COUNT(*) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await?;
    Ok((project, others > 0))
}

/// Where the model directories of a server project live on this machine, until the weights
/// move into the database: `$EMREL_DATA_DIR`, else `$XDG_DATA_HOME/emrel`, else
/// `~/.local/share/emrel`, then `server-models/`.
fn models_base() -> PathBuf {
    let data = std::env::var_os("EMREL_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("emrel")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/emrel")))
        .unwrap_or_else(|| PathBuf::from(".emrel"));
    data.join("server-models")
}

/// The name of a server project's model folder on this machine: `<project uid>.models`.
pub(crate) fn models_name(uid: &str) -> String {
    format!("{uid}.models")
}

async fn queries(pool: PgPool, schema: Schema, shown: &str) -> Result<Queries> {
    let uid: Option<String> = sqlx::query_scalar("SELECT uid FROM project LIMIT 1")
        .fetch_optional(&pool)
        .await?
        .flatten();
    let uid = uid.ok_or_else(|| StoreError::NoProject(shown.to_string()))?;
    Ok(Queries {
        pool,
        schema,
        base_dir: models_base(),
        models_name: models_name(&uid),
        annotators: Arc::default(),
    })
}

/// The (existing) database `url` names, with every table and no project yet (for a new project
/// or a copy). Fails if it holds a project already, and leaves a database that holds other
/// tables untouched.
pub(crate) async fn create_empty(url: &str, shown: &str) -> Result<PgPool> {
    let pool = connect(url, shown).await?;
    let (project, others) = contents(&pool).await?;
    if !project && others {
        pool.close().await;
        return Err(StoreError::Foreign(shown.to_string()));
    }
    MIGRATOR.run(&pool).await?;
    if project::read_schema(&pool).await?.is_some() {
        pool.close().await;
        return Err(StoreError::ProjectExists(shown.to_string()));
    }
    Ok(pool)
}

/// Creates a new project in the database `url` names (see [`create_empty`]).
pub(crate) async fn create(url: &str, shown: &str, name: &str, schema: Schema) -> Result<Queries> {
    let pool = create_empty(url, shown).await?;
    let mut tx = begin_write(&pool).await?;
    project::init_project(&mut tx, shown, name, &schema).await?;
    tx.commit().await?;
    queries(pool, schema, shown).await
}

/// Opens the project in the database `url` names, applying any migrations it lacks. A database
/// without a project is refused before anything is written to it.
pub(crate) async fn open(url: &str, shown: &str) -> Result<Queries> {
    let pool = connect(url, shown).await?;
    match contents(&pool).await? {
        (true, _) => {}
        (false, true) => return Err(StoreError::Foreign(shown.to_string())),
        (false, false) => return Err(StoreError::NoProject(shown.to_string())),
    }
    MIGRATOR.run(&pool).await?;
    let Some(schema) = project::read_schema(&pool).await? else {
        return Err(StoreError::NoProject(shown.to_string()));
    };
    queries(pool, schema, shown).await
}

/// The job lock (a session advisory lock, ASCII `emjob`) on a connection of its own, which
/// holds it until it is dropped or its process dies; `None` when another session holds it.
pub(crate) async fn try_job_lock(q: &Queries) -> Result<Option<sqlx::PgConnection>> {
    const JOB_LOCK: i64 = 0x65_6d_6a_6f_62;
    let opts = q.pool.connect_options();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&opts).await?;
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(JOB_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if held {
        Ok(Some(conn))
    } else {
        let _ = sqlx::Connection::close(conn).await;
        Ok(None)
    }
}

impl Queries {
    pub(crate) async fn close(self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TLS is required beyond this machine: verify-full when nothing was asked, a weaker mode
    /// refused (with the password masked in the message); local connections are left as asked.
    #[test]
    fn tls_is_verified_beyond_localhost() {
        let remote = "postgres://ann:s3cret@db.example.org/emr";
        let opts = connect_options(remote, "postgres://ann:***@db.example.org/emr").unwrap();
        assert!(matches!(opts.get_ssl_mode(), PgSslMode::VerifyFull));
        let weak = "postgres://ann:s3cret@db.example.org/emr?sslmode=require";
        let err = connect_options(weak, "postgres://ann:***@db.example.org/emr").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("verify-full") && !msg.contains("s3cret"), "{msg}");
        let strict = "postgres://ann@db.example.org/emr?sslmode=verify-full";
        assert!(connect_options(strict, "x").is_ok());
        for local in [
            "postgres://ann@localhost/emr?sslmode=disable",
            "postgres://ann@127.0.0.1:5432/emr",
            "postgres:///emr?host=/var/run/postgresql",
        ] {
            let opts = connect_options(local, local).unwrap();
            assert!(!matches!(opts.get_ssl_mode(), PgSslMode::VerifyFull), "{local}");
        }
    }
}
