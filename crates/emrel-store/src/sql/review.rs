//! Drift-review queries (shared by both backends): drift metrics and alarms, the labels an
//! iteration admitted, and audit judgements, each written with the label change it implies in
//! one transaction.

use std::collections::HashMap;

use emrel_core::LabelSource;
use sqlx::Row;

use super::import::annotator_id;
use super::labels::append_label_in;
use super::{Queries, begin_write};
use crate::ids::{IterationId, ModelVersionId, PairId};
use crate::labels::{LabelAction, LabelWrite};
use crate::review::{AdmittedLabel, JudgementRecord, JudgementWrite};
use crate::{Result, StoreError, now};

impl Queries {
    /// Stores an iteration's drift metrics and alarms (JSON).
    pub async fn set_iteration_drift(
        &self,
        id: IterationId,
        drift_json: &str,
        alarms_json: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE iteration SET drift_json = $1, alarms_json = $2 WHERE iteration_id = $3",
        )
        .bind(drift_json)
        .bind(alarms_json)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a reviewer's acceptance (`Some("accepted")`) or clears it.
    pub async fn set_iteration_review(&self, id: IterationId, review: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE iteration SET review = $1 WHERE iteration_id = $2")
            .bind(review)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The labels iteration `id` admitted, each as the iteration last wrote it (later human
    /// confirmations, fixes and reverts do not change this list), ordered by pair.
    pub async fn admitted_labels(&self, id: IterationId) -> Result<Vec<AdmittedLabel>> {
        let rows = sqlx::query(
            "SELECT e.pair_id, e.relation, e.probability, e.model_version_id FROM label_event e
             JOIN (SELECT pair_id, MAX(label_event_id) AS last FROM label_event
                   WHERE iteration_id = $1 AND source = 'auto' AND action = 'admit'
                   GROUP BY pair_id) x ON x.last = e.label_event_id
             ORDER BY e.pair_id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AdmittedLabel {
                pair: PairId(r.get(0)),
                relation: r.get(1),
                probability: r.get::<Option<f64>, _>(2).unwrap_or(0.0),
                model_version: r.get::<Option<i64>, _>(3).map(ModelVersionId),
            })
            .collect())
    }

    /// Rewrites admitted labels of an iteration (the simulation's deliberate corruption): each
    /// `(pair, relation)` gets a new admission event with the original provenance.
    pub async fn readmit_labels(
        &self,
        id: IterationId,
        changes: &[(PairId, String)],
    ) -> Result<usize> {
        let originals: HashMap<PairId, AdmittedLabel> =
            self.admitted_labels(id).await?.into_iter().map(|a| (a.pair, a)).collect();
        let threshold: f64 =
            sqlx::query_scalar("SELECT threshold FROM iteration WHERE iteration_id = $1")
                .bind(id.0)
                .fetch_one(&self.pool)
                .await?;
        let mut tx = begin_write(&self.pool).await?;
        for (pair, relation) in changes {
            let a = originals.get(pair).ok_or_else(|| {
                StoreError::Invalid(format!("iteration row {id} did not admit pair {pair}"))
            })?;
            let w = LabelWrite {
                pair: *pair,
                relation: Some(relation.clone()),
                source: LabelSource::Auto,
                action: LabelAction::Admit,
                annotator: None,
                model_version: a.model_version,
                iteration: Some(id),
                probability: Some(a.probability),
                threshold: Some(threshold),
                shown_relation: None,
            };
            append_label_in(&mut tx, &w).await?;
        }
        tx.commit().await?;
        Ok(changes.len())
    }

    /// Records a judgement and, in the same transaction, makes the pair's label human when it is
    /// still the iteration's automatic label: a correct one is confirmed, a wrong one fixed to
    /// `right_relation`. Judging a pair twice replaces nothing: it is an error.
    pub async fn record_judgement(&self, j: &JudgementWrite) -> Result<()> {
        if !j.correct && j.right_relation.is_none() {
            return Err(StoreError::Invalid("a wrong label needs the right relation".into()));
        }
        let mut tx = begin_write(&self.pool).await?;
        let annotator = annotator_id(&mut tx, &mut HashMap::new(), &j.annotator).await?;
        let done: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_judgement WHERE iteration_id = $1 AND pair_id = $2",
        )
        .bind(j.iteration.0)
        .bind(j.pair.0)
        .fetch_one(&mut *tx)
        .await?;
        if done > 0 {
            return Err(StoreError::Invalid(format!(
                "pair {} of iteration row {} is judged already",
                j.pair, j.iteration
            )));
        }
        sqlx::query(
            "INSERT INTO audit_judgement (iteration_id, pair_id, relation, probability,
                 confidence_bin, correct, right_relation, annotator_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(j.iteration.0)
        .bind(j.pair.0)
        .bind(&j.relation)
        .bind(j.probability)
        .bind(j.confidence_bin as i64)
        .bind(j.correct)
        .bind(&j.right_relation)
        .bind(annotator)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        // The label changes only while it is still this iteration's automatic label: a label a
        // person set since, or one reverted or re-admitted by another iteration, stays as it is.
        let still_ours: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM current_label
             WHERE pair_id = $1 AND source = 'auto' AND iteration_id = $2",
        )
        .bind(j.pair.0)
        .bind(j.iteration.0)
        .fetch_one(&mut *tx)
        .await?;
        if still_ours > 0 {
            let (relation, action) = if j.correct {
                (j.relation.as_str(), LabelAction::Confirm)
            } else {
                (j.right_relation.as_deref().unwrap_or_default(), LabelAction::Fix)
            };
            let w = LabelWrite::human(j.pair, relation, action, &j.annotator);
            append_label_in(&mut tx, &w).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The judgements of an iteration's audit, oldest first.
    pub async fn judgements(&self, id: IterationId) -> Result<Vec<JudgementRecord>> {
        let rows = sqlx::query(
            "SELECT j.iteration_id, j.pair_id, j.relation, j.probability, j.confidence_bin,
                    j.correct, j.right_relation, a.name, j.created_at
             FROM audit_judgement j LEFT JOIN annotator a ON a.annotator_id = j.annotator_id
             WHERE j.iteration_id = $1 ORDER BY j.audit_judgement_id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| JudgementRecord {
                iteration: IterationId(r.get(0)),
                pair: PairId(r.get(1)),
                relation: r.get(2),
                probability: r.get(3),
                confidence_bin: r.get::<i64, _>(4) as usize,
                correct: r.get(5),
                right_relation: r.get(6),
                annotator: r.get(7),
                created_at: r.get(8),
            })
            .collect())
    }
}

impl Queries {
    /// Raw top predictions of `version` that the schema forbids, among the pairs without a
    /// current label outside the gold split.
    pub async fn schema_violations(&self, version: ModelVersionId) -> Result<usize> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pair_score s
             WHERE s.model_version_id = $1 AND NOT s.top_valid
               AND NOT EXISTS (SELECT 1 FROM gold_split g WHERE g.pair_id = s.pair_id)
               AND NOT EXISTS (SELECT 1 FROM label_event e
                               WHERE e.pair_id = s.pair_id AND e.source <> 'gold'
                                 AND e.label_event_id = (SELECT MAX(x.label_event_id)
                                     FROM label_event x
                                     WHERE x.pair_id = s.pair_id AND x.source <> 'gold')
                                 AND e.relation IS NOT NULL)",
        )
        .bind(version.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as usize)
    }
}
