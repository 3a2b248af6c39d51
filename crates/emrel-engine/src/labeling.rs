//! The labeling API every front end calls: the next item of a queue, setting, confirming and
//! fixing labels, skipping, undo, and queue counts. Each call commits before it returns, and
//! nothing is ever updated in place: a label, a confirmation, a fix and an undo are each one
//! appended event.

use std::collections::BTreeMap;

use emrel_core::{LabelSource, NONE};
use emrel_store::{
    LabelAction, LabelEventId, LabelRecord, LabelWrite, ModelVersionId, PairId, PairRecord,
    QueueRow,
};
use serde::Serialize;

use crate::Project;
use crate::error::{EngineError, Result};
use crate::queue::{self, Lambda, Queue};
use crate::scoring::{calibrated, constrained_prediction};

/// An entity as the UI highlights it: sentence-relative half-open char spans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityView {
    pub mention: String,
    pub entity_type: String,
    pub spans: Vec<[usize; 2]>,
}

/// A relation the annotator may choose for the pair (`none` included, last).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelationChoice {
    pub name: String,
    pub description: String,
}

/// A pair's label with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelView {
    pub relation: String,
    pub source: String,
    pub action: String,
    pub annotator: Option<String>,
    pub created_at: String,
    pub model_version: Option<ModelVersionId>,
    pub iteration: Option<i64>,
    pub probability: Option<f64>,
}

/// What the model proposes for the pair: the automatic label if it has one, else the current
/// model's most probable schema-valid relation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub relation: String,
    /// The model's probability (what λ is compared with).
    pub probability: f64,
    /// The same after the model's temperature scaling: ≈ P(correct) on the gold split.
    pub calibrated: Option<f64>,
    pub model_version: ModelVersionId,
}

/// One item of a queue, with everything the labeling screen shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub pair: PairId,
    pub text: String,
    pub category: String,
    pub head: EntityView,
    pub tail: EntityView,
    pub relations: Vec<RelationChoice>,
    pub current: Option<LabelView>,
    pub suggestion: Option<Suggestion>,
    /// Whether the pair belongs to the frozen gold split (evaluation only).
    pub in_gold_split: bool,
}

/// The suggestion an annotator was shown for a pair, as the screen sends it back with the label.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ShownSuggestion {
    pub model_version: ModelVersionId,
    pub relation: String,
    pub probability: f64,
}

impl From<&Suggestion> for ShownSuggestion {
    fn from(s: &Suggestion) -> ShownSuggestion {
        ShownSuggestion {
            model_version: s.model_version,
            relation: s.relation.clone(),
            probability: s.probability,
        }
    }
}

/// What [`Project::annotate`] stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotated {
    pub pair: PairId,
    pub event: LabelEventId,
    /// `set`, `confirm` or `fix`.
    pub action: String,
    /// `seed` or `human`.
    pub source: String,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UndoView {
    pub pair: PairId,
    pub undone: LabelEventId,
    /// The label the pair has again; `None` when it is unlabeled again.
    pub restored: Option<String>,
}

/// Progress figures of the labeling screen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counts {
    /// Labels the annotator gave since local midnight (undone ones not counted).
    pub labeled_today: usize,
    /// Items left in the queue.
    pub left_in_queue: usize,
    /// Reliable-set size n, and N, the size that triggers the next iteration.
    pub reliable: usize,
    pub batch_size: usize,
}

fn entity_view(e: &emrel_store::EntityRecord) -> EntityView {
    EntityView {
        mention: e.mention.clone(),
        entity_type: e.entity_type.clone(),
        spans: e.spans.iter().map(|s| [s.start, s.end]).collect(),
    }
}

fn label_view(l: &LabelRecord, iteration_idx: Option<i64>) -> Option<LabelView> {
    Some(LabelView {
        relation: l.relation.clone()?,
        source: l.source.as_str().to_string(),
        action: l.action.as_str().to_string(),
        annotator: l.annotator.clone(),
        created_at: l.created_at.clone(),
        model_version: l.model_version,
        iteration: iteration_idx,
        probability: l.probability,
    })
}

/// Local midnight as an RFC 3339 UTC timestamp comparable with stored ones.
fn local_midnight_utc() -> String {
    use chrono::{Local, TimeZone, Utc};
    let today = Local::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight exists");
    let local = Local.from_local_datetime(&today).earliest().unwrap_or_else(Local::now);
    local.with_timezone(&Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Project {
    /// The queue's pairs in order.
    pub async fn queue_pairs(&self, queue: &Queue, annotator: Option<&str>) -> Result<Vec<PairId>> {
        let (rows, lambda) = self.queue_input(annotator).await?;
        Ok(queue::order(&rows, queue, &lambda, &labeled_per_category(&rows)))
    }

    pub(crate) async fn queue_input(
        &self,
        annotator: Option<&str>,
    ) -> Result<(Vec<QueueRow>, Lambda)> {
        let current = self.store.current_model().await?;
        let rows = self.store.queue_rows(current, annotator).await?;
        Ok((rows, self.settings().await?.lambda()))
    }

    /// The next item of `queue` for `annotator`; `None` when the queue is empty.
    pub async fn next_item(&self, queue: &Queue, annotator: &str) -> Result<Option<Item>> {
        match self.queue_pairs(queue, Some(annotator)).await?.first() {
            Some(&pair) => Ok(Some(self.item(pair).await?)),
            None => Ok(None),
        }
    }

    /// A pair as the labeling screen shows it.
    pub async fn item(&self, pair: PairId) -> Result<Item> {
        let p = self.store.pair(pair).await?;
        let schema = self.store.schema();
        let mut relations: Vec<RelationChoice> = schema
            .relations_for(&p.head.entity_type, &p.tail.entity_type)
            .map(|r| RelationChoice { name: r.name.clone(), description: r.description.clone() })
            .collect();
        relations.push(RelationChoice {
            name: NONE.to_string(),
            description: "no relation between the two entities".to_string(),
        });
        let current_record = self.store.current_label(pair).await?;
        let current = match &current_record {
            Some(l) => label_view(l, self.iteration_idx(l).await?),
            None => None,
        };
        let suggestion = self.suggestion(&p, current_record.as_ref()).await?;
        let in_gold_split = self.store.in_gold_split(pair).await?;
        Ok(Item {
            pair,
            text: p.text.clone(),
            category: p.category.clone(),
            head: entity_view(&p.head),
            tail: entity_view(&p.tail),
            relations,
            current,
            suggestion,
            in_gold_split,
        })
    }

    async fn iteration_idx(&self, l: &LabelRecord) -> Result<Option<i64>> {
        match l.iteration {
            Some(id) => Ok(Some(self.store.iteration(id).await?.idx)),
            None => Ok(None),
        }
    }

    async fn suggestion(
        &self,
        p: &PairRecord,
        current: Option<&LabelRecord>,
    ) -> Result<Option<Suggestion>> {
        if let Some(l) = current
            && l.source == LabelSource::Auto
            && let (Some(relation), Some(mv)) = (&l.relation, l.model_version)
        {
            let classes = self.store.schema().classes();
            let calibrated = match (
                self.temperature(mv).await?,
                self.store.pair_score(p.pair, mv).await?,
                classes.iter().position(|c| c == relation),
            ) {
                (Some(t), Some(score), Some(c)) if score.probabilities.len() == classes.len() => {
                    Some(calibrated(&score.probabilities, c, t))
                }
                _ => None,
            };
            return Ok(Some(Suggestion {
                relation: relation.clone(),
                probability: l.probability.unwrap_or(0.0),
                calibrated,
                model_version: mv,
            }));
        }
        let Some(mv) = self.store.current_model().await? else { return Ok(None) };
        let Some(score) = self.store.pair_score(p.pair, mv).await? else { return Ok(None) };
        let classes = self.store.schema().classes();
        if score.probabilities.len() != classes.len() {
            return Ok(None);
        }
        let (c, probability) = constrained_prediction(
            self.store.schema(),
            &classes,
            &p.head.entity_type,
            &p.tail.entity_type,
            &score.probabilities,
        );
        let calibrated =
            self.temperature(mv).await?.map(|t| calibrated(&score.probabilities, c, t));
        Ok(Some(Suggestion {
            relation: classes[c].clone(),
            probability,
            calibrated,
            model_version: mv,
        }))
    }

    /// The temperature fitted for model version `mv` (none for versions trained before).
    async fn temperature(&self, mv: ModelVersionId) -> Result<Option<f64>> {
        let record = self.store.model_version(mv).await?;
        Ok(record
            .metrics_json
            .and_then(|j| serde_json::from_str::<crate::Metrics>(&j).ok())
            .and_then(|m| m.temperature))
    }

    /// Resolves a relation name (or alias, or `none`) and checks that the schema allows it on
    /// the pair.
    fn checked_relation(&self, p: &PairRecord, relation: &str) -> Result<String> {
        let schema = self.store.schema();
        let name = schema
            .resolve_relation(relation)
            .ok_or_else(|| EngineError::Invalid(format!("unknown relation `{relation}`")))?;
        if !schema.allows(name, &p.head.entity_type, &p.tail.entity_type) {
            return Err(EngineError::Invalid(format!(
                "relation {name} is not allowed from {} to {}",
                p.head.entity_type, p.tail.entity_type
            )));
        }
        Ok(name.to_string())
    }

    pub(crate) fn check_annotator(annotator: &str) -> Result<()> {
        if annotator.trim().is_empty() {
            return Err(EngineError::Invalid("an annotator name is required".into()));
        }
        Ok(())
    }

    /// Labels `pair` with `relation` (a relation or `none`) as `annotator`, who was shown no
    /// suggestion.
    pub async fn set_label(
        &self,
        pair: PairId,
        relation: &str,
        annotator: &str,
    ) -> Result<LabelEventId> {
        Ok(self.annotate(pair, relation, None, annotator).await?.event)
    }

    /// Accepts the suggestion the pair has now (its automatic label, or the current model's
    /// prediction) as a human label. For a caller that shows nothing between reading the
    /// suggestion and confirming it (the CLI); a screen passes what it showed to [`annotate`].
    ///
    /// [`annotate`]: Project::annotate
    pub async fn confirm(&self, pair: PairId, annotator: &str) -> Result<LabelEventId> {
        Self::check_annotator(annotator)?;
        let p = self.store.pair(pair).await?;
        let current = self.store.current_label(pair).await?;
        let s = self.suggestion(&p, current.as_ref()).await?.ok_or_else(|| {
            EngineError::NoModel(format!("pair {pair} has no suggestion to confirm"))
        })?;
        let shown = ShownSuggestion::from(&s);
        Ok(self.annotate(pair, &s.relation, Some(&shown), annotator).await?.event)
    }

    /// Replaces the suggestion the pair has now with `relation` (see [`Project::confirm`]).
    pub async fn fix(&self, pair: PairId, relation: &str, annotator: &str) -> Result<LabelEventId> {
        Self::check_annotator(annotator)?;
        let p = self.store.pair(pair).await?;
        let current = self.store.current_label(pair).await?;
        let shown = self.suggestion(&p, current.as_ref()).await?.map(|s| ShownSuggestion::from(&s));
        Ok(self.annotate(pair, relation, shown.as_ref(), annotator).await?.event)
    }

    /// The one way an annotator's label is written: `relation` is what they chose, `shown` the
    /// suggestion that was on their screen (`None`: none was). The label is a confirmation when
    /// they chose the shown relation, a fix when they chose another, a plain label when nothing
    /// was shown; the event keeps the shown model version, relation and probability, so what is
    /// stored is what the annotator saw even when a newer model has been promoted since.
    /// Labels given before the project has any model are seed labels.
    pub async fn annotate(
        &self,
        pair: PairId,
        relation: &str,
        shown: Option<&ShownSuggestion>,
        annotator: &str,
    ) -> Result<Annotated> {
        Self::check_annotator(annotator)?;
        let p = self.store.pair(pair).await?;
        let relation = self.checked_relation(&p, relation)?;
        let action = match shown {
            None => LabelAction::Set,
            Some(s) if s.relation == relation => LabelAction::Confirm,
            Some(_) => LabelAction::Fix,
        };
        let mut write = LabelWrite::human(pair, &relation, action, annotator);
        if let Some(s) = shown {
            // Checked here so that a stale screen gets a clear error rather than a foreign-key one.
            if let Err(emrel_store::StoreError::Invalid(_)) =
                self.store.model_version(s.model_version).await
            {
                return Err(EngineError::Invalid(format!(
                    "the suggestion shown for pair {pair} names model v{}, which this project does not have",
                    s.model_version
                )));
            }
            if !(0.0..=1.0).contains(&s.probability) {
                return Err(EngineError::Invalid(format!(
                    "the suggestion shown for pair {pair} has probability {}, outside [0, 1]",
                    s.probability
                )));
            }
            write.model_version = Some(s.model_version);
            write.probability = Some(s.probability);
            write.shown_relation = Some(s.relation.clone());
        } else if self.store.current_model().await?.is_none() {
            write.source = LabelSource::Seed;
        }
        let event = self.store.append_label(&write).await?;
        Ok(Annotated {
            pair,
            event,
            action: action.as_str().to_string(),
            source: write.source.as_str().to_string(),
        })
    }

    /// Skips the pair for `annotator`: it moves to the end of their queues.
    pub async fn skip(&self, pair: PairId, annotator: &str) -> Result<()> {
        Self::check_annotator(annotator)?;
        self.store.pair(pair).await?;
        Ok(self.store.record_skip(pair, annotator).await?)
    }

    /// Undoes `annotator`'s last label by appending an event that restores the state before it.
    /// `None` when there is nothing left to undo.
    pub async fn undo(&self, annotator: &str) -> Result<Option<UndoView>> {
        Self::check_annotator(annotator)?;
        Ok(self.store.undo_last(annotator).await?.map(|u| UndoView {
            pair: u.pair,
            undone: u.undone,
            restored: u.restored,
        }))
    }

    /// Labeled today, left in `queue`, and the reliable set against the batch size.
    pub async fn counts(&self, queue: &Queue, annotator: &str) -> Result<Counts> {
        let (rows, lambda) = self.queue_input(Some(annotator)).await?;
        let left = queue::order(&rows, queue, &lambda, &labeled_per_category(&rows)).len();
        let reliable = rows.iter().filter(|r| queue::is_reliable(r, &lambda)).count();
        Ok(Counts {
            labeled_today: self.store.labels_given_since(annotator, &local_midnight_utc()).await?,
            left_in_queue: left,
            reliable,
            batch_size: self.settings().await?.batch_size,
        })
    }
}

pub(crate) fn labeled_per_category(rows: &[QueueRow]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rows.iter().filter(|r| r.label.is_some()) {
        *m.entry(r.category.clone()).or_insert(0) += 1;
    }
    m
}
