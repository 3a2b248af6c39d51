//! The project store. A project lives in one SQLite file (the embedded default, one person) or in
//! one PostgreSQL database (a team's shared project): its schema, documents, sentences, entities,
//! candidate pairs, the append-only label event log, models, scores, iterations and jobs (see
//! `migrations/sqlite` and `migrations/postgres`). Every write is a transaction that commits
//! before the call returns, so a crash loses nothing a user saw confirmed; an import is one
//! transaction, so a bad file leaves the project as it was.
//!
//! [`Store`] is the one API the engine and the shells see. The queries are written once, in
//! `sql/`, with `$N` parameters that both databases read, and compiled once per backend
//! (`sqlite.rs`, `postgres.rs` include them): each backend supplies its pool, row and
//! transaction types and the few statements that differ (the write lock, snapshots, id blocks,
//! connecting).

#![allow(
    clippy::duplicate_mod,
    reason = "the query files of src/sql are compiled once per backend, on purpose"
)]

mod copy;
mod export;
mod ids;
mod import;
mod jobs;
mod labels;
mod location;
mod models;
mod postgres;
mod review;
mod sqlite;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use emrel_core::{PrepareError, PreparedDocument, Schema};
use emrel_formats::export::ExportDocument;

pub use copy::CopySummary;
pub use export::ExportFilter;
pub use ids::{IterationId, JobId, LabelEventId, ModelVersionId, PairId};
pub use import::ImportSummary;
pub use jobs::{JobRecord, JobStatus};
pub use labels::{
    CurrentLabel, EntityRecord, LabelAction, LabelRecord, LabelWrite, PairRecord, QueueRow,
    ScoreSummary, SnapshotLabel, UndoRecord,
};
pub use location::Location;
pub use models::{
    Admission, IterationRecord, IterationStatus, ModelStatus, ModelVersionRecord, ScoreRecord,
};
pub use review::{AdmittedLabel, JudgementRecord, JudgementWrite};
pub use stats::{CategoryStats, Stats};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A project server that refused or did not answer; `location` is masked.
    #[error("cannot open {location}: {source}")]
    Unreachable { location: String, source: sqlx::Error },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} is not an EMRel project (run `emrel init` or `emrel demo` first)")]
    NoProject(String),
    #[error("{0} is not an EMRel project but another file or database (EMRel leaves it untouched)")]
    Foreign(String),
    #[error("{0} already holds a project")]
    ProjectExists(String),
    #[error("the project's stored schema is unreadable: {0}")]
    BadSchema(String),
    #[error("{0}")]
    Input(#[from] PrepareError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open project.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    location: Location,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::Queries),
    Postgres(postgres::Queries),
}

/// The project's job lock (see [`Store::try_job_lock`]); released on drop.
#[derive(Debug)]
pub struct JobLock {
    _held: JobLockKind,
}

#[derive(Debug)]
enum JobLockKind {
    /// Held until the file is closed.
    File { _file: std::fs::File },
    /// Held until the connection is closed.
    Server { _connection: sqlx::PgConnection },
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `bytes` random bytes as lower-case hex digits (project uids, model directory tags).
pub(crate) fn random_hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// Runs the same call on whichever backend the store has (the queries are the same source,
/// compiled for each).
macro_rules! on_backend {
    ($self:expr, $q:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($q) => $call,
            Backend::Postgres($q) => $call,
        }
    };
}

/// The store's query methods, each delegated to the backend's implementation in `sql/`, where
/// it is documented.
macro_rules! delegate {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)*) => {
        impl Store {
            $(
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    on_backend!(self, q => q.$name($($arg),*).await)
                }
            )*
        }
    };
}

delegate! {
    // Corpus.
    fn import(
        &self,
        docs: &[PreparedDocument],
        format: &str,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<ImportSummary>;
    fn export(&self, filter: &ExportFilter) -> Result<Vec<ExportDocument>>;
    fn stats(&self) -> Result<Stats>;
    fn pair(&self, pair: PairId) -> Result<PairRecord>;
    fn pairs(&self) -> Result<Vec<PairRecord>>;
    fn pairs_by_id(&self, ids: &[PairId]) -> Result<Vec<PairRecord>>;
    fn sentence_texts(&self) -> Result<Vec<String>>;
    // Labels.
    fn current_label(&self, pair: PairId) -> Result<Option<LabelRecord>>;
    fn label_history(&self, pair: PairId) -> Result<Vec<LabelRecord>>;
    fn append_label(&self, write: &LabelWrite) -> Result<LabelEventId>;
    fn append_labels(&self, writes: &[LabelWrite]) -> Result<Vec<LabelEventId>>;
    fn undo_last(&self, annotator: &str) -> Result<Option<UndoRecord>>;
    fn record_skip(&self, pair: PairId, annotator: &str) -> Result<()>;
    fn labels_given_since(&self, annotator: &str, since: &str) -> Result<usize>;
    fn queue_rows(
        &self,
        model: Option<ModelVersionId>,
        annotator: Option<&str>,
    ) -> Result<Vec<QueueRow>>;
    fn last_label_event(&self) -> Result<LabelEventId>;
    fn labels_as_of(&self, as_of: LabelEventId) -> Result<Vec<SnapshotLabel>>;
    fn gold_labels(&self) -> Result<HashMap<PairId, String>>;
    fn label_counts_by_source(&self) -> Result<BTreeMap<String, usize>>;
    fn gold_split_frozen(&self) -> Result<bool>;
    fn freeze_gold_split(&self, pairs: &[PairId], meta_json: &str) -> Result<()>;
    fn in_gold_split(&self, pair: PairId) -> Result<bool>;
    fn gold_split_labels(&self) -> Result<Vec<(PairId, String)>>;
    fn annotator_labels(&self) -> Result<Vec<(PairId, String, String)>>;
    // Models and scores.
    fn insert_model_version(
        &self,
        model: &str,
        preset: &str,
        train_size: usize,
        params_json: &str,
        job: Option<JobId>,
    ) -> Result<ModelVersionRecord>;
    fn finish_model_version(
        &self,
        id: ModelVersionId,
        status: ModelStatus,
        metrics_json: Option<&str>,
        seconds: f64,
    ) -> Result<()>;
    fn set_model_version_job(&self, id: ModelVersionId, job: JobId) -> Result<()>;
    fn put_model_files(&self, version: ModelVersionId, files: &[(String, Vec<u8>)]) -> Result<()>;
    fn model_files(&self, version: ModelVersionId) -> Result<Vec<(String, Vec<u8>)>>;
    fn model_file_names(&self, version: ModelVersionId) -> Result<Vec<String>>;
    fn model_version(&self, id: ModelVersionId) -> Result<ModelVersionRecord>;
    fn model_versions(&self) -> Result<Vec<ModelVersionRecord>>;
    fn promote(&self, id: ModelVersionId, reason: &str) -> Result<()>;
    fn current_model(&self) -> Result<Option<ModelVersionId>>;
    fn insert_scores(&self, version: ModelVersionId, scores: &[ScoreRecord]) -> Result<()>;
    fn scored_pairs(&self, version: ModelVersionId) -> Result<Vec<PairId>>;
    fn version_probabilities(&self, version: ModelVersionId) -> Result<Vec<(PairId, Vec<f32>)>>;
    fn pair_score(&self, pair: PairId, version: ModelVersionId) -> Result<Option<ScoreRecord>>;
    // Bootstrapping iterations.
    fn start_iteration(
        &self,
        base: ModelVersionId,
        threshold: f64,
        batch_size: usize,
        per_relation_cap: Option<usize>,
        job: Option<JobId>,
        admissions: &[Admission],
    ) -> Result<IterationRecord>;
    fn set_iteration_model(&self, id: IterationId, model: ModelVersionId) -> Result<()>;
    fn finish_iteration(
        &self,
        id: IterationId,
        status: IterationStatus,
        report: &(dyn Fn(IterationStatus) -> String + Sync),
    ) -> Result<IterationStatus>;
    fn promote_for_iteration(
        &self,
        id: IterationId,
        version: ModelVersionId,
        reason: &str,
    ) -> Result<bool>;
    fn quarantine_iteration(&self, id: IterationId) -> Result<Option<ModelVersionId>>;
    fn set_iteration_status(&self, id: IterationId, status: IterationStatus) -> Result<()>;
    fn iteration(&self, id: IterationId) -> Result<IterationRecord>;
    fn iterations(&self) -> Result<Vec<IterationRecord>>;
    fn current_auto_labels(&self, iteration: IterationId) -> Result<Vec<(PairId, String)>>;
    fn roll_back_from(&self, from: i64, restore: Option<ModelVersionId>) -> Result<usize>;
    // Drift review.
    fn set_iteration_drift(&self, id: IterationId, drift_json: &str, alarms_json: &str)
        -> Result<()>;
    fn set_iteration_review(&self, id: IterationId, review: Option<&str>) -> Result<()>;
    fn admitted_labels(&self, id: IterationId) -> Result<Vec<AdmittedLabel>>;
    fn readmit_labels(&self, id: IterationId, changes: &[(PairId, String)]) -> Result<usize>;
    fn record_judgement(&self, j: &JudgementWrite) -> Result<()>;
    fn judgements(&self, id: IterationId) -> Result<Vec<JudgementRecord>>;
    fn schema_violations(&self, version: ModelVersionId) -> Result<usize>;
    // Jobs and settings.
    fn create_job(&self, kind: &str, params_json: &str) -> Result<JobId>;
    fn set_job_progress(&self, id: JobId, progress_json: &str) -> Result<()>;
    fn set_job_checkpoint(&self, id: JobId, checkpoint_json: &str) -> Result<()>;
    fn set_job_status(&self, id: JobId, status: JobStatus, message: Option<&str>) -> Result<()>;
    fn restart_job(&self, id: JobId) -> Result<()>;
    fn job(&self, id: JobId) -> Result<JobRecord>;
    fn jobs(&self) -> Result<Vec<JobRecord>>;
    fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<JobRecord>>;
    fn setting(&self, key: &str) -> Result<Option<String>>;
    fn put_setting(&self, key: &str, value_json: &str) -> Result<()>;
}

impl Store {
    /// Creates a new project at `location` (a SQLite file path, or a [`Location`]: a file or an
    /// existing, empty PostgreSQL database) with `schema`. Fails if it already holds a project; a
    /// file or database that holds something else is left untouched.
    pub async fn create(
        location: impl Into<Location>,
        name: &str,
        schema: Schema,
    ) -> Result<Store> {
        let location = location.into();
        let backend = match &location {
            Location::File(path) => Backend::Sqlite(sqlite::create(path, name, schema).await?),
            Location::Server(url) => {
                Backend::Postgres(postgres::create(url, &location.to_string(), name, schema).await?)
            }
        };
        Ok(Store { backend, location })
    }

    /// Opens the project at `location`, applying any migrations it lacks. A file or database
    /// that is not an EMRel project is refused before anything is written to it.
    pub async fn open(location: impl Into<Location>) -> Result<Store> {
        let location = location.into();
        let backend = match &location {
            Location::File(path) => Backend::Sqlite(sqlite::open(path).await?),
            Location::Server(url) => {
                Backend::Postgres(postgres::open(url, &location.to_string()).await?)
            }
        };
        Ok(Store { backend, location })
    }

    pub fn schema(&self) -> &Schema {
        on_backend!(self, q => &q.schema)
    }

    /// Where the project lives (its `Display` never shows a password).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The database file of a SQLite project; `None` for a project on a server.
    pub fn path(&self) -> Option<&Path> {
        self.location.file()
    }

    /// The project's identity: 32 hex digits drawn when it was created (or when the migration
    /// that introduced it ran), never reused by another project, even one at the same path.
    pub async fn project_uid(&self) -> Result<String> {
        let uid = on_backend!(self, q => q.project_uid().await)?;
        uid.ok_or_else(|| StoreError::NoProject(self.location.to_string()))
    }

    /// Where model versions live: `<database>.models/` next to a SQLite file; for a project on
    /// a server, `<project uid>.models/` in this machine's EMRel data folder.
    pub fn models_dir(&self) -> PathBuf {
        on_backend!(self, q => q.models_dir())
    }

    /// Stores the files of model version `version`'s folder (its top-level files: weights,
    /// config, vocabulary, metadata; not the training checkpoint) in the project, replacing what
    /// was stored. Returns how many files were stored.
    pub async fn store_model_folder(&self, version: ModelVersionId) -> Result<usize> {
        let dir = self.model_version(version).await?.dir;
        let read_err = |e: std::io::Error| {
            StoreError::Invalid(format!("cannot read the model folder {}: {e}", dir.display()))
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let name = entry.file_name().to_string_lossy().to_string();
            // Files being replaced (`.x-partial`) are not part of the model.
            if !entry.file_type().map_err(read_err)?.is_file() || name.starts_with('.') {
                continue;
            }
            files.push((name, std::fs::read(entry.path()).map_err(read_err)?));
        }
        files.sort();
        self.put_model_files(version, &files).await?;
        Ok(files.len())
    }

    /// The local folder of model version `version`, ready to load: files the project stores
    /// and the folder lacks are written into it (each through a temporary file, renamed), so a
    /// client that did not train the model, or a copy of the project, loads the same model. A
    /// folder whose files the project does not store yet (trained before model files moved into
    /// the project) is stored now.
    pub async fn model_folder(&self, version: ModelVersionId) -> Result<PathBuf> {
        let dir = self.model_version(version).await?.dir;
        let names = self.model_file_names(version).await?;
        if names.is_empty() {
            if dir.join("model.bin").is_file() {
                self.store_model_folder(version).await?;
            }
            return Ok(dir);
        }
        if names.iter().all(|n| dir.join(n).is_file()) {
            return Ok(dir);
        }
        let write_err = |e: std::io::Error| {
            StoreError::Invalid(format!("cannot write the model folder {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;
        for (name, bytes) in self.model_files(version).await? {
            let path = dir.join(&name);
            if path.is_file() {
                continue;
            }
            let partial = dir.join(format!(".{name}-partial"));
            std::fs::write(&partial, &bytes).map_err(write_err)?;
            std::fs::rename(&partial, &path).map_err(write_err)?;
        }
        Ok(dir)
    }

    /// Copies the whole project into `to`, a new file or an empty database: every table with
    /// its ids (labels with their provenance, models, scores, iterations, jobs, settings) in one
    /// transaction, then the model folders. `to` must not hold a project.
    pub async fn copy_to(&self, to: impl Into<Location>) -> Result<CopySummary> {
        let to = to.into();
        let mut tables = Vec::with_capacity(copy::TABLES.len());
        for t in copy::TABLES {
            tables.push((t, on_backend!(self, q => q.read_table(t).await)?));
        }
        // Model folders are named after the target: `<file>.models/…` or `<uid>.models/…`.
        let models_name = match &to {
            Location::File(path) => sqlite::models_name(path),
            Location::Server(_) => postgres::models_name(&self.project_uid().await?),
        };
        if let Some((_, rows)) = tables.iter_mut().find(|(t, _)| t.name == "model_version") {
            for row in rows.iter_mut() {
                if let copy::Value::Text(Some(dir)) = &mut row[3]
                    && let Some((_, rest)) = dir.split_once('/')
                {
                    *dir = format!("{models_name}/{rest}");
                }
            }
        }
        match &to {
            Location::File(path) => {
                let pool = sqlite::create_empty(path).await?;
                let written = sqlite::copy::write_tables(&pool, &tables).await;
                pool.close().await;
                written?;
            }
            Location::Server(url) => {
                let pool = postgres::create_empty(url, &to.to_string()).await?;
                let written = postgres::copy::write_tables(&pool, &tables).await;
                pool.close().await;
                written?;
            }
        }
        let target = Store::open(&to).await?;
        let (from_dir, to_dir) = (self.models_dir(), target.models_dir());
        target.close().await;
        let model_files = copy::copy_tree(&from_dir, &to_dir).map_err(|e| {
            StoreError::Invalid(format!(
                "the tables were copied, but not the model folder {}: {e}",
                from_dir.display()
            ))
        })?;
        let rows = tables.iter().map(|(t, rows)| (t.name.to_string(), rows.len())).collect();
        Ok(CopySummary { rows, model_files })
    }

    /// Takes the project's job lock if no other process holds it: one background job (training,
    /// scoring, bootstrapping) runs per project at a time. It is released when the returned
    /// lock is dropped or its process dies: a file lock on `<models>/job.lock` for a SQLite
    /// project, a session advisory lock held by a connection of its own on PostgreSQL (so a
    /// client on another machine sees the job as running, not interrupted).
    pub async fn try_job_lock(&self) -> Result<Option<JobLock>> {
        match &self.backend {
            Backend::Sqlite(_) => {
                let path = self.models_dir().join("job.lock");
                let io = |e: std::io::Error| {
                    StoreError::Invalid(format!("cannot lock {}: {e}", path.display()))
                };
                std::fs::create_dir_all(self.models_dir()).map_err(io)?;
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(io)?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(JobLock { _held: JobLockKind::File { _file: file } })),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
                }
            }
            Backend::Postgres(q) => {
                let lock = postgres::try_job_lock(q).await?;
                Ok(lock.map(|c| JobLock { _held: JobLockKind::Server { _connection: c } }))
            }
        }
    }

    /// The SQLite pool of a file project, for tests and tools that inspect the file itself.
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        match &self.backend {
            Backend::Sqlite(q) => Some(&q.pool),
            Backend::Postgres(_) => None,
        }
    }

    /// Closes the connections. A SQLite project checkpoints its WAL first, so that the `.db`
    /// file alone holds the whole project once the process ends.
    pub async fn close(self) {
        match self.backend {
            Backend::Sqlite(q) => q.close().await,
            Backend::Postgres(q) => q.close().await,
        }
    }
}
