//! Semantic-drift review data: the drift metrics and alarms stored with each iteration, the
//! labels an iteration admitted (the audit's population), and audit judgements. A judgement and
//! the label change it implies (a correct label is confirmed, a wrong one fixed; both become
//! human labels) are written in one transaction.

use crate::ids::{IterationId, ModelVersionId, PairId};

/// A label an iteration admitted, as the iteration last wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmittedLabel {
    pub pair: PairId,
    pub relation: String,
    pub probability: f64,
    /// The model that admitted it.
    pub model_version: Option<ModelVersionId>,
}

/// One audit judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgementRecord {
    pub iteration: IterationId,
    pub pair: PairId,
    /// The automatic label judged.
    pub relation: String,
    pub probability: f64,
    pub confidence_bin: usize,
    pub correct: bool,
    pub right_relation: Option<String>,
    pub annotator: Option<String>,
    pub created_at: String,
}

/// A judgement to record.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgementWrite {
    pub iteration: IterationId,
    pub pair: PairId,
    pub relation: String,
    pub probability: f64,
    pub confidence_bin: usize,
    pub correct: bool,
    /// Required when `correct` is false: the relation the pair should have.
    pub right_relation: Option<String>,
    pub annotator: String,
}
