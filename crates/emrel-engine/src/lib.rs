//! EMRel's use cases, shared by the CLI and the desktop app: labeling and annotation queues,
//! training and evaluation, the bootstrapping loop with its iterations and rollback, background
//! jobs, the human-in-the-loop simulation, the corpus use cases (demo project, import,
//! export; [`corpus`]), and the live trigger of bootstrapping ([`Project::auto_bootstrap`]).
//!
//! Everything goes through [`Project`], which owns the project's [`emrel_store::Store`] and a
//! [`emrel_core::model::Trainer`]. The engine only sees that trait: the CLI and the desktop app
//! pass [`burn_trainer`] (the Burn models of `emrel-ml`), tests may pass any trainer. Every
//! labeling call commits before it returns; long operations are jobs (see [`jobs`]) that report
//! typed progress, can be cancelled, survive panics as `failed` jobs, and are found
//! `interrupted` and restartable after the process was killed.

mod agreement;
mod audit;
mod auto;
mod bootstrap;
pub mod corpus;
mod embed;
mod error;
pub mod jobs;
mod labeling;
pub mod queue;
mod review;
mod scoring;
mod simulate;
mod training;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use emrel_core::drift::AlarmThresholds;
use emrel_core::model::Trainer;
use emrel_store::{JobRecord, Store};
use serde::{Deserialize, Serialize};

pub use audit::{
    AuditItem, AuditOptions, AuditSummary, CONFIDENCE_EDGES, StratumView, bin_label, confidence_bin,
};
pub use auto::AutoBootstrap;
pub use bootstrap::{
    BootstrapOptions, BootstrapReport, IterationReport, RollbackReport, StopReason,
};
pub use embed::{EmbedOptions, EmbedSummary};
pub use emrel_core::model::CancelToken;
pub use emrel_store::{IterationId, JobId, LabelEventId, ModelVersionId, PairId};
pub use error::{EngineError, ErrorCode, Result};
pub use jobs::{JobContext, JobEvent, NullSink, ProgressSink, VecSink};
pub use labeling::{
    Annotated, Counts, EntityView, Item, LabelView, RelationChoice, ShownSuggestion, Suggestion,
    UndoView,
};
pub use queue::{Lambda, Queue, QueueKind, QueueOrder};
pub use review::{Corruption, IterationReview, ReviewAction};
pub use scoring::{Metrics, Prf};
pub use simulate::{SimulateOptions, SimulationRow, Strategy};
pub use training::{ModelInfo, TrainOptions, TrainReport};

/// Project-wide bootstrapping settings (the desktop app's settings page; the CLI passes its
/// options per run instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// λ: the probability a prediction needs to join the reliable set.
    pub threshold: f64,
    /// N: reliable pairs admitted per iteration (and the size that triggers one).
    pub batch_size: usize,
    /// At most this many admissions per relation and iteration.
    pub per_relation_cap: Option<usize>,
    /// Share of the human labels frozen as the gold split on the first training.
    pub gold_fraction: f64,
    /// The promotion gate: a new model may fall at most this many F1 points below the current.
    pub tolerance_points: f64,
    /// Per-relation λ set by reviewers (overrides `threshold` for that relation).
    pub relation_thresholds: BTreeMap<String, f64>,
    /// Relations reviewers froze: no more automatic admissions.
    pub frozen_relations: BTreeSet<String>,
    /// Quarantine an iteration automatically when its drift metrics raise an alarm.
    pub auto_quarantine: bool,
    /// The drift alarm thresholds.
    pub alarm_thresholds: AlarmThresholds,
    /// Audit: the precision an iteration must reach to be accepted.
    pub audit_target: f64,
    /// Audit: items drawn per stratum (iteration × relation × confidence bin), at least.
    pub audit_per_stratum: usize,
    /// Start bootstrapping on its own when the reliable set reaches N after a training or
    /// bootstrapping job (the desktop app; see [`Project::auto_bootstrap`]).
    pub auto_bootstrap: bool,
}

impl Settings {
    /// λ as admission applies it, with the reviewers' per-relation thresholds and frozen
    /// relations.
    pub fn lambda(&self) -> Lambda {
        self.lambda_with(self.threshold)
    }

    /// The same with another default threshold (a bootstrapping run's own λ).
    pub fn lambda_with(&self, default: f64) -> Lambda {
        Lambda {
            default,
            per_relation: self.relation_thresholds.clone(),
            frozen: self.frozen_relations.clone(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: 0.7,
            batch_size: 1000,
            per_relation_cap: None,
            gold_fraction: 0.2,
            tolerance_points: 1.0,
            relation_thresholds: BTreeMap::new(),
            frozen_relations: BTreeSet::new(),
            auto_quarantine: true,
            alarm_thresholds: AlarmThresholds::default(),
            audit_target: 0.9,
            audit_per_stratum: 20,
            auto_bootstrap: true,
        }
    }
}

const SETTINGS_KEY: &str = "bootstrap";

/// An open project: the store plus the trainer that builds its models.
#[derive(Clone)]
pub struct Project {
    store: Store,
    trainer: Arc<dyn Trainer>,
    interrupted: Vec<JobRecord>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project").field("location", self.store.location()).finish_non_exhaustive()
    }
}

impl Project {
    /// Opens a project (a SQLite file or a PostgreSQL URL, see [`emrel_store::Location`]). Jobs
    /// that a killed process left `running` are marked `interrupted` (see
    /// [`Project::interrupted_jobs`] and [`Project::resume_job`]).
    pub async fn open(
        location: impl Into<emrel_store::Location>,
        trainer: Arc<dyn Trainer>,
    ) -> Result<Project> {
        let store = Store::open(location).await?;
        Project::from_store(store, trainer).await
    }

    /// Wraps an already open store.
    pub async fn from_store(store: Store, trainer: Arc<dyn Trainer>) -> Result<Project> {
        let interrupted = jobs::mark_interrupted(&store).await?;
        Ok(Project { store, trainer, interrupted })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn trainer(&self) -> &Arc<dyn Trainer> {
        &self.trainer
    }

    /// Jobs this open found interrupted (their process ended while they ran).
    pub fn interrupted_jobs(&self) -> &[JobRecord] {
        &self.interrupted
    }

    /// Every job, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobRecord>> {
        Ok(self.store.jobs().await?)
    }

    pub async fn settings(&self) -> Result<Settings> {
        match self.store.setting(SETTINGS_KEY).await? {
            Some(json) => serde_json::from_str(&json).map_err(error::json_err),
            None => Ok(Settings::default()),
        }
    }

    pub async fn set_settings(&self, settings: &Settings) -> Result<()> {
        if !(0.0..=1.0).contains(&settings.threshold) || settings.batch_size == 0 {
            return Err(EngineError::Invalid(
                "the threshold must lie in 0..1 and the batch size be positive".into(),
            ));
        }
        if let Some((r, t)) =
            settings.relation_thresholds.iter().find(|(_, t)| !(0.0..=1.0).contains(*t))
        {
            return Err(EngineError::Invalid(format!("the threshold {t} of {r} is not in 0..1")));
        }
        if !(0.0..=1.0).contains(&settings.audit_target) || settings.audit_per_stratum == 0 {
            return Err(EngineError::Invalid(
                "the audit target must lie in 0..1 and the sample per stratum be positive".into(),
            ));
        }
        let json = serde_json::to_string(settings).map_err(error::json_err)?;
        Ok(self.store.put_setting(SETTINGS_KEY, &json).await?)
    }

    /// Closes the database.
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// The Burn trainer of `emrel-ml` on `device` (`cpu`, `cuda` or `auto`).
pub fn burn_trainer(device: &str) -> Result<Arc<dyn Trainer>> {
    burn_trainer_with(device, None)
}

/// The Burn trainer on `device`, overriding the preset's class weighting (inverse class
/// frequency in the loss) when `class_weighting` is set. Weighting keeps a model trained on few
/// labels, most of them `none`, from predicting `none` everywhere.
pub fn burn_trainer_with(device: &str, class_weighting: Option<bool>) -> Result<Arc<dyn Trainer>> {
    let choice: emrel_ml::DeviceChoice = device
        .parse()
        .map_err(|e: emrel_ml::backend::BackendError| EngineError::Invalid(e.to_string()))?;
    let device =
        emrel_ml::select_device(choice).map_err(|e| EngineError::Invalid(e.to_string()))?;
    let trainer = emrel_ml::BurnTrainer::new(device);
    Ok(Arc::new(match class_weighting {
        Some(on) => trainer.with_class_weighting(on),
        None => trainer,
    }))
}
