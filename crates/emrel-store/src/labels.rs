//! What labeling reads and writes: pairs with their sentence and entities, label events (the
//! append-only log; an undo is an appended event that restores the state before the annotator's
//! last label), queue rows and label snapshots. The queries are in `sql/labels.rs`.

use std::str::FromStr;

use emrel_core::{LabelSource, Span};

use crate::ids::{IterationId, LabelEventId, ModelVersionId, PairId};
use crate::{Result, StoreError};

/// What a label event did. The names are the `label_event.action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelAction {
    Import,
    /// An annotator chose the relation.
    Set,
    /// An annotator accepted the model's suggestion or an automatic label.
    Confirm,
    /// An annotator replaced the model's suggestion or an automatic label with another relation.
    Fix,
    /// Restores the state before an annotator's last label.
    Undo,
    /// Withdraws an automatic label (rollback).
    Revert,
    /// Bootstrapping admitted a confident prediction.
    Admit,
}

impl LabelAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelAction::Import => "import",
            LabelAction::Set => "set",
            LabelAction::Confirm => "confirm",
            LabelAction::Fix => "fix",
            LabelAction::Undo => "undo",
            LabelAction::Revert => "revert",
            LabelAction::Admit => "admit",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<LabelAction> {
        Ok(match s {
            "import" => LabelAction::Import,
            "set" => LabelAction::Set,
            "confirm" => LabelAction::Confirm,
            "fix" => LabelAction::Fix,
            "undo" => LabelAction::Undo,
            "revert" => LabelAction::Revert,
            "admit" => LabelAction::Admit,
            other => return Err(StoreError::Invalid(format!("unknown label action `{other}`"))),
        })
    }
}

/// An entity of a pair, with sentence-relative char spans.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRecord {
    pub entity_id: i64,
    pub mention: String,
    pub entity_type: String,
    pub spans: Vec<Span>,
    /// The smallest span covering every part.
    pub extent: Span,
}

/// A candidate pair with its sentence and entities.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRecord {
    pub pair: PairId,
    pub sentence_id: i64,
    pub text: String,
    /// `head-tail`, e.g. `symptom-position`.
    pub category: String,
    pub head: EntityRecord,
    pub tail: EntityRecord,
}

/// One label event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRecord {
    pub event: LabelEventId,
    pub pair: PairId,
    /// `None` for an event that withdrew the label.
    pub relation: Option<String>,
    pub source: LabelSource,
    pub action: LabelAction,
    pub annotator: Option<String>,
    pub created_at: String,
    pub model_version: Option<ModelVersionId>,
    pub iteration: Option<IterationId>,
    pub probability: Option<f64>,
    pub threshold: Option<f64>,
    /// The relation the annotator was shown as the model's suggestion (`model_version` and
    /// `probability` are that suggestion's); `None` when none was shown.
    pub shown_relation: Option<String>,
}

/// A label event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelWrite {
    pub pair: PairId,
    pub relation: Option<String>,
    pub source: LabelSource,
    pub action: LabelAction,
    pub annotator: Option<String>,
    pub model_version: Option<ModelVersionId>,
    pub iteration: Option<IterationId>,
    pub probability: Option<f64>,
    pub threshold: Option<f64>,
    /// The suggestion the annotator was shown (see [`LabelRecord::shown_relation`]).
    pub shown_relation: Option<String>,
}

impl LabelWrite {
    /// A label given by `annotator` (`set`, `confirm` or `fix`).
    pub fn human(pair: PairId, relation: &str, action: LabelAction, annotator: &str) -> LabelWrite {
        LabelWrite {
            pair,
            relation: Some(relation.to_string()),
            source: LabelSource::Human,
            action,
            annotator: Some(annotator.to_string()),
            model_version: None,
            iteration: None,
            probability: None,
            threshold: None,
            shown_relation: None,
        }
    }
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoRecord {
    pub pair: PairId,
    /// The annotator's event that was undone.
    pub undone: LabelEventId,
    /// The appended undo event.
    pub event: LabelEventId,
    /// The label the pair has again (`None`: unlabeled).
    pub restored: Option<String>,
    pub restored_source: Option<LabelSource>,
}

/// The stored prediction of one model version for a pair, as the queues use it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSummary {
    pub top_relation: String,
    pub top_probability: f64,
    pub margin: f64,
    pub entropy: f64,
    pub top_valid: bool,
}

/// A pair's current label as the queues use it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentLabel {
    pub relation: String,
    pub source: LabelSource,
    pub probability: Option<f64>,
    pub iteration: Option<IterationId>,
}

/// Everything a queue needs to know about one pair, read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    pub pair: PairId,
    pub category: String,
    pub score: Option<ScoreSummary>,
    pub label: Option<CurrentLabel>,
    pub in_gold_split: bool,
    /// How often the annotator asked for has skipped this pair.
    pub skips: i64,
}

/// A label from a snapshot of the event log (for training).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotLabel {
    pub pair: PairId,
    pub relation: String,
    pub source: LabelSource,
    pub iteration: Option<IterationId>,
}

pub(crate) fn source(s: &str) -> Result<LabelSource> {
    LabelSource::from_str(s).map_err(|e| StoreError::Invalid(e.to_string()))
}

pub(crate) fn parse_spans(text: &str) -> Result<Vec<Span>> {
    text.split(';')
        .map(|part| {
            let (a, b) = part
                .split_once('-')
                .ok_or_else(|| StoreError::Invalid(format!("bad stored span `{part}`")))?;
            let p = |x: &str| {
                x.parse::<usize>()
                    .map_err(|_| StoreError::Invalid(format!("bad stored span `{part}`")))
            };
            Ok(Span::new(p(a)?, p(b)?))
        })
        .collect()
}
