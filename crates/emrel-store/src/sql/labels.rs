//! Labeling queries on the append-only event log (shared by both backends): reading pairs with
//! their sentence and entities, the current label of a pair, appending human and automatic label
//! events, undo as an appended event, skips, label snapshots for training, and the frozen gold
//! split. Every write is one transaction that commits before the call returns.

use std::collections::{BTreeMap, HashMap};

use emrel_core::{LabelSource, Span};
use sqlx::Row;

use super::import::annotator_id;
use super::{DbRow, IDS_JSON, Queries, Tx, begin_append, begin_write};
use crate::ids::{IterationId, LabelEventId, ModelVersionId, PairId};
use crate::labels::{
    CurrentLabel, EntityRecord, LabelAction, LabelRecord, LabelWrite, PairRecord, QueueRow,
    ScoreSummary, SnapshotLabel, UndoRecord, parse_spans, source,
};
use crate::{Result, StoreError, now};

const LABEL_COLUMNS: &str = "e.label_event_id, e.pair_id, e.relation, e.source, e.action, \
     a.name, e.created_at, e.model_version_id, e.iteration_id, e.probability, e.threshold, \
     e.shown_relation";

fn label_record(row: &DbRow) -> Result<LabelRecord> {
    Ok(LabelRecord {
        event: LabelEventId(row.get(0)),
        pair: PairId(row.get(1)),
        relation: row.get(2),
        source: source(row.get::<&str, _>(3))?,
        action: LabelAction::parse(row.get::<&str, _>(4))?,
        annotator: row.get(5),
        created_at: row.get(6),
        model_version: row.get::<Option<i64>, _>(7).map(ModelVersionId),
        iteration: row.get::<Option<i64>, _>(8).map(IterationId),
        probability: row.get(9),
        threshold: row.get(10),
        shown_relation: row.get(11),
    })
}

const PAIR_QUERY: &str = "SELECT p.pair_id, p.sentence_id, s.text, p.category,
        h.entity_id, h.mention, h.entity_type, h.spans, h.start_char, h.end_char,
        t.entity_id, t.mention, t.entity_type, t.spans, t.start_char, t.end_char
     FROM pair p
     JOIN sentence s ON s.sentence_id = p.sentence_id
     JOIN entity h ON h.entity_id = p.head_entity_id
     JOIN entity t ON t.entity_id = p.tail_entity_id";

fn pair_record(row: &DbRow) -> Result<PairRecord> {
    let entity = |o: usize| -> Result<EntityRecord> {
        Ok(EntityRecord {
            entity_id: row.get(o),
            mention: row.get(o + 1),
            entity_type: row.get(o + 2),
            spans: parse_spans(row.get::<&str, _>(o + 3))?,
            extent: Span::new(row.get::<i64, _>(o + 4) as usize, row.get::<i64, _>(o + 5) as usize),
        })
    };
    Ok(PairRecord {
        pair: PairId(row.get(0)),
        sentence_id: row.get(1),
        text: row.get(2),
        category: row.get(3),
        head: entity(4)?,
        tail: entity(10)?,
    })
}

/// Appends one label event inside the caller's transaction.
pub(crate) async fn append_label_in(tx: &mut Tx<'_>, w: &LabelWrite) -> Result<LabelEventId> {
    append_undoing(tx, w, None, &mut HashMap::new()).await
}

/// Appends `w` (an undo of `undoes` when given); `annotators` caches annotator ids by name.
async fn append_undoing(
    tx: &mut Tx<'_>,
    w: &LabelWrite,
    undoes: Option<LabelEventId>,
    annotators: &mut HashMap<String, i64>,
) -> Result<LabelEventId> {
    let annotator = match &w.annotator {
        Some(name) => Some(annotator_id(tx, annotators, name).await?),
        None => None,
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO label_event (pair_id, relation, source, action, annotator_id, created_at,
             model_version_id, iteration_id, probability, threshold, undoes_event_id,
             shown_relation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING label_event_id",
    )
    .bind(w.pair.0)
    .bind(&w.relation)
    .bind(w.source.as_str())
    .bind(w.action.as_str())
    .bind(annotator)
    .bind(now())
    .bind(w.model_version.map(|m| m.0))
    .bind(w.iteration.map(|i| i.0))
    .bind(w.probability)
    .bind(w.threshold)
    .bind(undoes.map(|u| u.0))
    .bind(&w.shown_relation)
    .fetch_one(&mut **tx)
    .await?;
    Ok(LabelEventId(id))
}

impl Queries {
    /// One pair with its sentence and entities.
    pub async fn pair(&self, pair: PairId) -> Result<PairRecord> {
        let sql = format!("{PAIR_QUERY} WHERE p.pair_id = $1");
        let row = sqlx::query(&sql).bind(pair.0).fetch_optional(&self.pool).await?;
        match row {
            Some(row) => pair_record(&row),
            None => Err(StoreError::Invalid(format!("there is no pair {pair}"))),
        }
    }

    /// Every pair of the project with its sentence and entities, in id order.
    pub async fn pairs(&self) -> Result<Vec<PairRecord>> {
        let sql = format!("{PAIR_QUERY} ORDER BY p.pair_id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(pair_record).collect()
    }

    /// The pairs among `ids` that exist, in id order (duplicates read once), for use cases that
    /// need a few thousand pairs of a project of hundreds of thousands: one query, the ids bound
    /// as one JSON array.
    pub async fn pairs_by_id(&self, ids: &[PairId]) -> Result<Vec<PairRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = serde_json::to_string(&ids.iter().map(|p| p.0).collect::<Vec<i64>>())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let sql = format!("{PAIR_QUERY} WHERE p.pair_id IN ({IDS_JSON}) ORDER BY p.pair_id");
        sqlx::query(&sql).bind(json).fetch_all(&self.pool).await?.iter().map(pair_record).collect()
    }

    /// Every sentence text, for building a model's character vocabulary.
    pub async fn sentence_texts(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT text FROM sentence ORDER BY sentence_id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The pair's current (non-gold) label event, if it has a label.
    pub async fn current_label(&self, pair: PairId) -> Result<Option<LabelRecord>> {
        let sql = format!(
            "SELECT {LABEL_COLUMNS} FROM current_label e
             LEFT JOIN annotator a ON a.annotator_id = e.annotator_id WHERE e.pair_id = $1"
        );
        let row = sqlx::query(&sql).bind(pair.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(label_record).transpose()
    }

    /// Every label event of a pair, oldest first (gold events included).
    pub async fn label_history(&self, pair: PairId) -> Result<Vec<LabelRecord>> {
        let sql = format!(
            "SELECT {LABEL_COLUMNS} FROM label_event e
             LEFT JOIN annotator a ON a.annotator_id = e.annotator_id
             WHERE e.pair_id = $1 ORDER BY e.label_event_id"
        );
        let rows = sqlx::query(&sql).bind(pair.0).fetch_all(&self.pool).await?;
        rows.iter().map(label_record).collect()
    }

    /// Appends one label event and commits.
    pub async fn append_label(&self, write: &LabelWrite) -> Result<LabelEventId> {
        Ok(self.append_labels(std::slice::from_ref(write)).await?[0])
    }

    /// Appends label events in one transaction.
    pub async fn append_labels(&self, writes: &[LabelWrite]) -> Result<Vec<LabelEventId>> {
        // Annotator ids known to be committed save a statement per label; the ones this
        // transaction adds are remembered only once it has committed.
        let mut annotators = self.annotators.lock().expect("the annotator cache").clone();
        let mut tx = begin_append(&self.pool).await?;
        let mut ids = Vec::with_capacity(writes.len());
        for w in writes {
            ids.push(append_undoing(&mut tx, w, None, &mut annotators).await?);
        }
        tx.commit().await?;
        self.annotators.lock().expect("the annotator cache").extend(annotators);
        Ok(ids)
    }

    /// Undoes `annotator`'s latest label (set, confirm or fix) that is not undone yet: appends an
    /// event that restores the pair's state before it. Refuses when the pair was labeled since by
    /// anything other than the annotator's own undone labels and undos, so an undo never silently discards another person's work. `None` when the annotator
    /// has nothing left to undo.
    pub async fn undo_last(&self, annotator: &str) -> Result<Option<UndoRecord>> {
        let mut tx = begin_write(&self.pool).await?;
        let Some(annotator_id): Option<i64> =
            sqlx::query_scalar("SELECT annotator_id FROM annotator WHERE name = $1")
                .bind(annotator)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(None);
        };
        let last: Option<(i64, i64)> = sqlx::query_as(
            "SELECT e.label_event_id, e.pair_id FROM label_event e
             WHERE e.annotator_id = $1 AND e.action IN ('set', 'confirm', 'fix')
               AND NOT EXISTS (SELECT 1 FROM label_event u WHERE u.undoes_event_id = e.label_event_id)
             ORDER BY e.label_event_id DESC LIMIT 1",
        )
        .bind(annotator_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((event, pair)) = last else {
            return Ok(None);
        };
        let later: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM label_event
             WHERE pair_id = $1 AND source <> 'gold' AND label_event_id > $2
               AND NOT (annotator_id = $3 AND (action = 'undo' OR EXISTS (
                   SELECT 1 FROM label_event u WHERE u.undoes_event_id = label_event.label_event_id)))",
        )
        .bind(pair)
        .bind(event)
        .bind(annotator_id)
        .fetch_one(&mut *tx)
        .await?;
        if later > 0 {
            return Err(StoreError::Invalid(format!(
                "pair {pair} was labeled again after your last label; change it there instead of undoing"
            )));
        }
        let sql = format!(
            "SELECT {LABEL_COLUMNS} FROM label_event e
             LEFT JOIN annotator a ON a.annotator_id = e.annotator_id
             WHERE e.pair_id = $1 AND e.source <> 'gold' AND e.label_event_id < $2
             ORDER BY e.label_event_id DESC LIMIT 1"
        );
        let prev = sqlx::query(&sql).bind(pair).bind(event).fetch_optional(&mut *tx).await?;
        let mut prev = prev.as_ref().map(label_record).transpose()?;
        // An automatic label whose iteration was rolled back since is not the state to return
        // to: the rollback withdrew it (it only kept it because the annotator's label was on
        // top), so undoing that label leaves the pair unlabeled.
        if let Some(p) = prev.as_mut()
            && p.source == LabelSource::Auto
            && let Some(iteration) = p.iteration
            && super::models::iteration_status_in(&mut tx, iteration).await?
                == crate::models::IterationStatus::RolledBack
        {
            p.relation = None;
        }
        let write = LabelWrite {
            pair: PairId(pair),
            relation: prev.as_ref().and_then(|p| p.relation.clone()),
            source: prev.as_ref().map_or(LabelSource::Human, |p| p.source),
            action: LabelAction::Undo,
            annotator: Some(annotator.to_string()),
            model_version: prev.as_ref().and_then(|p| p.model_version),
            iteration: prev.as_ref().and_then(|p| p.iteration),
            probability: prev.as_ref().and_then(|p| p.probability),
            threshold: prev.as_ref().and_then(|p| p.threshold),
            shown_relation: prev.as_ref().and_then(|p| p.shown_relation.clone()),
        };
        let id =
            append_undoing(&mut tx, &write, Some(LabelEventId(event)), &mut HashMap::new()).await?;
        tx.commit().await?;
        Ok(Some(UndoRecord {
            pair: PairId(pair),
            undone: LabelEventId(event),
            event: id,
            restored_source: write.relation.as_ref().map(|_| write.source),
            restored: write.relation,
        }))
    }

    /// Records that `annotator` skipped `pair`; the pair moves to the end of their queues.
    pub async fn record_skip(&self, pair: PairId, annotator: &str) -> Result<()> {
        let mut tx = begin_append(&self.pool).await?;
        let a = annotator_id(&mut tx, &mut HashMap::new(), annotator).await?;
        sqlx::query("INSERT INTO skip (pair_id, annotator_id, created_at) VALUES ($1, $2, $3)")
            .bind(pair.0)
            .bind(a)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Labels `annotator` gave (set, confirm, fix; undone ones left out) since `since` (RFC 3339).
    pub async fn labels_given_since(&self, annotator: &str, since: &str) -> Result<usize> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM label_event e JOIN annotator a ON a.annotator_id = e.annotator_id
             WHERE a.name = $1 AND e.created_at >= $2 AND e.action IN ('set', 'confirm', 'fix')
               AND NOT EXISTS (SELECT 1 FROM label_event u WHERE u.undoes_event_id = e.label_event_id)",
        )
        .bind(annotator)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as usize)
    }

    /// Every pair with its category, its current label, the stored score of `model` and how
    /// often `annotator` skipped it: the input of every queue.
    pub async fn queue_rows(
        &self,
        model: Option<ModelVersionId>,
        annotator: Option<&str>,
    ) -> Result<Vec<QueueRow>> {
        let rows = sqlx::query(
            "SELECT p.pair_id, p.category,
                    s.top_relation, s.top_probability, s.margin, s.entropy, s.top_valid,
                    c.relation, c.source, c.probability, c.iteration_id,
                    g.pair_id IS NOT NULL,
                    (SELECT COUNT(*) FROM skip k JOIN annotator a ON a.annotator_id = k.annotator_id
                      WHERE k.pair_id = p.pair_id AND a.name = $1)
             FROM pair p
             LEFT JOIN pair_score s ON s.pair_id = p.pair_id AND s.model_version_id = $2
             LEFT JOIN current_label c ON c.pair_id = p.pair_id
             LEFT JOIN gold_split g ON g.pair_id = p.pair_id
             ORDER BY p.pair_id",
        )
        .bind(annotator)
        .bind(model.map(|m| m.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let score = r.get::<Option<String>, _>(2).map(|top_relation| ScoreSummary {
                    top_relation,
                    top_probability: r.get(3),
                    margin: r.get(4),
                    entropy: r.get(5),
                    top_valid: r.get::<bool, _>(6),
                });
                let label = match r.get::<Option<String>, _>(7) {
                    Some(relation) => Some(CurrentLabel {
                        relation,
                        source: source(r.get::<&str, _>(8))?,
                        probability: r.get(9),
                        iteration: r.get::<Option<i64>, _>(10).map(IterationId),
                    }),
                    None => None,
                };
                Ok(QueueRow {
                    pair: PairId(r.get(0)),
                    category: r.get(1),
                    score,
                    label,
                    in_gold_split: r.get::<bool, _>(11),
                    skips: r.get(12),
                })
            })
            .collect()
    }

    /// The newest label event id (0 when there is none): a snapshot of the labels.
    pub async fn last_label_event(&self) -> Result<LabelEventId> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(label_event_id) FROM label_event")
            .fetch_one(&self.pool)
            .await?;
        Ok(LabelEventId(id.unwrap_or(0)))
    }

    /// The current (non-gold) labels as they were right after event `as_of`.
    pub async fn labels_as_of(&self, as_of: LabelEventId) -> Result<Vec<SnapshotLabel>> {
        let rows = sqlx::query(
            "SELECT e.pair_id, e.relation, e.source, e.iteration_id FROM label_event e
             JOIN (SELECT pair_id, MAX(label_event_id) AS last FROM label_event
                   WHERE source <> 'gold' AND label_event_id <= $1 GROUP BY pair_id) x
               ON x.last = e.label_event_id
             WHERE e.relation IS NOT NULL
             ORDER BY e.pair_id",
        )
        .bind(as_of.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SnapshotLabel {
                    pair: PairId(r.get(0)),
                    relation: r.get(1),
                    source: source(r.get::<&str, _>(2))?,
                    iteration: r.get::<Option<i64>, _>(3).map(IterationId),
                })
            })
            .collect()
    }

    /// The reference answers shipped with the corpus (`gold` events), for simulation.
    pub async fn gold_labels(&self) -> Result<HashMap<PairId, String>> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT pair_id, relation FROM gold_label")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(p, r)| (PairId(p), r)).collect())
    }

    /// Current labels per source (`seed`, `human`, `auto`).
    pub async fn label_counts_by_source(&self) -> Result<BTreeMap<String, usize>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT source, COUNT(*) FROM current_label GROUP BY source")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(s, n)| (s, n as usize)).collect())
    }

    /// Whether the gold split has been frozen.
    pub async fn gold_split_frozen(&self) -> Result<bool> {
        Ok(self.setting("gold_split").await?.is_some())
    }

    /// Freezes `pairs` as the gold split, once: a second call fails. `meta_json` (share, seed,
    /// counts) is kept as the `gold_split` setting.
    pub async fn freeze_gold_split(&self, pairs: &[PairId], meta_json: &str) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        let frozen: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM setting WHERE key = 'gold_split'")
                .fetch_one(&mut *tx)
                .await?;
        if frozen > 0 {
            return Err(StoreError::Invalid("the gold split is already frozen".into()));
        }
        let at = now();
        for p in pairs {
            sqlx::query("INSERT INTO gold_split (pair_id, created_at) VALUES ($1, $2)")
                .bind(p.0)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO setting (key, value_json, updated_at) VALUES ('gold_split', $1, $2)",
        )
        .bind(meta_json)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `pair` belongs to the gold split.
    pub async fn in_gold_split(&self, pair: PairId) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gold_split WHERE pair_id = $1")
            .bind(pair.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// The pairs of the gold split with their current label (pairs whose label was withdrawn
    /// are left out).
    pub async fn gold_split_labels(&self) -> Result<Vec<(PairId, String)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT g.pair_id, c.relation FROM gold_split g
             JOIN current_label c ON c.pair_id = g.pair_id ORDER BY g.pair_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p, r)| (PairId(p), r)).collect())
    }
}

impl Queries {
    /// Each annotator's standing label of each pair they labeled (set, confirm, fix or an
    /// imported seed/human label with an annotator; undone labels left out): (pair, annotator,
    /// relation), by pair and annotator. The input of agreement statistics.
    pub async fn annotator_labels(&self) -> Result<Vec<(PairId, String, String)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT e.pair_id, a.name, e.relation FROM label_event e
             JOIN annotator a ON a.annotator_id = e.annotator_id
             WHERE e.relation IS NOT NULL
               AND e.label_event_id = (
                   SELECT MAX(x.label_event_id) FROM label_event x
                   WHERE x.pair_id = e.pair_id AND x.annotator_id = e.annotator_id
                     AND x.source IN ('seed', 'human')
                     AND x.action IN ('import', 'set', 'confirm', 'fix')
                     AND NOT EXISTS (SELECT 1 FROM label_event u
                                     WHERE u.undoes_event_id = x.label_event_id))
             ORDER BY e.pair_id, a.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p, a, r)| (PairId(p), a, r)).collect())
    }
}
