//! Model versions, which one is current, their stored scores, and bootstrapping iterations.
//!
//! A model version row is written when its training starts (status `training`) so that an
//! interrupted run finds its directory again; the current model is the latest row of the
//! append-only `model_promotion` log. Admitting an iteration's labels and rolling iterations back
//! are single transactions: either every label event of the step lands, or none does.

use std::path::PathBuf;

use crate::ids::{IterationId, JobId, ModelVersionId, PairId};
use crate::labels::ScoreSummary;
use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    Training,
    Ready,
    Failed,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Training => "training",
            ModelStatus::Ready => "ready",
            ModelStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<ModelStatus> {
        match s {
            "training" => Ok(ModelStatus::Training),
            "ready" => Ok(ModelStatus::Ready),
            "failed" => Ok(ModelStatus::Failed),
            other => Err(StoreError::Invalid(format!("unknown model status `{other}`"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersionRecord {
    pub id: ModelVersionId,
    pub model: String,
    pub preset: String,
    /// Absolute directory of the weights.
    pub dir: PathBuf,
    pub status: ModelStatus,
    pub train_size: usize,
    pub metrics_json: Option<String>,
    pub params_json: Option<String>,
    pub seconds: Option<f64>,
    pub created_at: String,
    pub job: Option<JobId>,
}

/// A stored prediction of one model version for one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRecord {
    pub pair: PairId,
    pub summary: ScoreSummary,
    /// In the order of the version's classes.
    pub probabilities: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterationStatus {
    /// Admitted, trained on, and its model promoted (or still training while `finished_at` is
    /// unset).
    Active,
    /// Its model failed the promotion gate; its labels wait for review and are not trained on.
    Rejected,
    /// Set aside by a reviewer; its labels are not trained on.
    Quarantined,
    /// Its automatic labels were reverted.
    RolledBack,
}

impl IterationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IterationStatus::Active => "active",
            IterationStatus::Rejected => "rejected",
            IterationStatus::Quarantined => "quarantined",
            IterationStatus::RolledBack => "rolled_back",
        }
    }

    pub fn parse(s: &str) -> Result<IterationStatus> {
        match s {
            "active" => Ok(IterationStatus::Active),
            "rejected" => Ok(IterationStatus::Rejected),
            "quarantined" => Ok(IterationStatus::Quarantined),
            "rolled_back" => Ok(IterationStatus::RolledBack),
            other => Err(StoreError::Invalid(format!("unknown iteration status `{other}`"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IterationRecord {
    pub id: IterationId,
    /// 1, 2, ... as users see it.
    pub idx: i64,
    pub status: IterationStatus,
    /// The model trained on this iteration's labels (set when its training starts).
    pub model_version: Option<ModelVersionId>,
    /// The model that admitted this iteration's labels.
    pub base_model_version: Option<ModelVersionId>,
    pub threshold: f64,
    pub batch_size: usize,
    pub per_relation_cap: Option<usize>,
    pub admitted: usize,
    pub metrics_json: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub job: Option<JobId>,
    /// Drift metrics computed when the iteration's model was trained (JSON of
    /// `emrel_core::drift::IterationDrift`).
    pub drift_json: Option<String>,
    /// Alarms raised then (JSON array of `emrel_core::drift::Alarm`).
    pub alarms_json: Option<String>,
    /// `accepted` once a reviewer accepted the iteration.
    pub review: Option<String>,
}

/// One confident prediction to admit as an automatic label.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub pair: PairId,
    pub relation: String,
    pub probability: f64,
}
