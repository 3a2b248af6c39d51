//! Model-version, score and iteration queries (shared by both backends).
//!
//! A model version row is written when its training starts (status `training`) so that an
//! interrupted run finds its directory again; the current model is the latest row of the
//! append-only `model_promotion` log. Admitting an iteration's labels and rolling iterations back
//! are single transactions: either every label event of the step lands, or none does.

use std::path::{Path, PathBuf};

use sqlx::{QueryBuilder, Row};

use super::{Db, DbRow, Queries, Tx, begin_write, refresh_statistics};
use crate::ids::{IterationId, JobId, ModelVersionId, PairId};
use crate::labels::ScoreSummary;
use crate::models::{
    Admission, IterationRecord, IterationStatus, ModelStatus, ModelVersionRecord, ScoreRecord,
};
use crate::{Result, StoreError, now};

/// The status of iteration `id`, read inside `tx`.
pub(crate) async fn iteration_status_in(
    tx: &mut Tx<'_>,
    id: IterationId,
) -> Result<IterationStatus> {
    let status: String = sqlx::query_scalar("SELECT status FROM iteration WHERE iteration_id = $1")
        .bind(id.0)
        .fetch_one(&mut **tx)
        .await?;
    IterationStatus::parse(&status)
}

/// The current model: the latest promotion.
async fn current_model_with<'e>(
    db: impl sqlx::Executor<'e, Database = Db>,
) -> Result<Option<ModelVersionId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT model_version_id FROM model_promotion ORDER BY model_promotion_id DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(id.map(ModelVersionId))
}

/// Appends a promotion of `model` to the log: it is the current model from now on.
async fn insert_promotion<'e>(
    db: impl sqlx::Executor<'e, Database = Db>,
    model: ModelVersionId,
    reason: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO model_promotion (model_version_id, reason, created_at) VALUES ($1, $2, $3)",
    )
    .bind(model.0)
    .bind(reason)
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

const MODEL_COLUMNS: &str = "model_version_id, model, preset, dir, status, train_size, \
     metrics_json, params_json, seconds, created_at, job_id";

const ITERATION_COLUMNS: &str = "iteration_id, idx, status, model_version_id, \
     base_model_version_id, threshold, batch_size, per_relation_cap, admitted, metrics_json, \
     started_at, finished_at, job_id, drift_json, alarms_json, review";

fn iteration_record(r: &DbRow) -> Result<IterationRecord> {
    Ok(IterationRecord {
        id: IterationId(r.get(0)),
        idx: r.get(1),
        status: IterationStatus::parse(r.get::<&str, _>(2))?,
        model_version: r.get::<Option<i64>, _>(3).map(ModelVersionId),
        base_model_version: r.get::<Option<i64>, _>(4).map(ModelVersionId),
        threshold: r.get(5),
        batch_size: r.get::<i64, _>(6) as usize,
        per_relation_cap: r.get::<Option<i64>, _>(7).map(|n| n as usize),
        admitted: r.get::<i64, _>(8) as usize,
        metrics_json: r.get(9),
        started_at: r.get(10),
        finished_at: r.get(11),
        job: r.get::<Option<i64>, _>(12).map(JobId),
        drift_json: r.get(13),
        alarms_json: r.get(14),
        review: r.get(15),
    })
}

impl Queries {
    /// Where model versions live (see [`crate::Store::models_dir`]).
    pub fn models_dir(&self) -> PathBuf {
        self.base_dir.join(&self.models_name)
    }

    fn model_record(&self, r: &DbRow) -> Result<ModelVersionRecord> {
        let dir: String = r.get(3);
        Ok(ModelVersionRecord {
            id: ModelVersionId(r.get(0)),
            model: r.get(1),
            preset: r.get(2),
            dir: self.base_dir.join(Path::new(&dir)),
            status: ModelStatus::parse(r.get::<&str, _>(4))?,
            train_size: r.get::<i64, _>(5) as usize,
            metrics_json: r.get(6),
            params_json: r.get(7),
            seconds: r.get(8),
            created_at: r.get(9),
            job: r.get::<Option<i64>, _>(10).map(JobId),
        })
    }

    /// Reserves a model version for a training run: the row (status `training`) and its
    /// directory name `<database>.models/v<N>-<12 random hex digits>`, unique to this row.
    pub async fn insert_model_version(
        &self,
        model: &str,
        preset: &str,
        train_size: usize,
        params_json: &str,
        job: Option<JobId>,
    ) -> Result<ModelVersionRecord> {
        let mut tx = begin_write(&self.pool).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO model_version (model, preset, dir, train_size, created_at, status,
                                        params_json, job_id)
             VALUES ($1, $2, '', $3, $4, 'training', $5, $6)
             RETURNING model_version_id",
        )
        .bind(model)
        .bind(preset)
        .bind(train_size as i64)
        .bind(now())
        .bind(params_json)
        .bind(job.map(|j| j.0))
        .fetch_one(&mut *tx)
        .await?;
        // Not `v<N>` alone: ids restart when a database is recreated at the same path, and the
        // new project's v1 must never resume the old one's checkpoint in `v1/`.
        let tag = crate::random_hex(6);
        let models = self.models_dir();
        let rel = Path::new(models.file_name().expect("the models dir has a name"))
            .join(format!("v{id}-{tag}"));
        sqlx::query("UPDATE model_version SET dir = $1 WHERE model_version_id = $2")
            .bind(rel.to_string_lossy().to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.model_version(ModelVersionId(id)).await
    }

    /// Records the end of a training run.
    pub async fn finish_model_version(
        &self,
        id: ModelVersionId,
        status: ModelStatus,
        metrics_json: Option<&str>,
        seconds: f64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE model_version SET status = $1, metrics_json = COALESCE($2, metrics_json),
                 seconds = $3 WHERE model_version_id = $4",
        )
        .bind(status.as_str())
        .bind(metrics_json)
        .bind(seconds)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Hands a model version to another job (a restarted one).
    pub async fn set_model_version_job(&self, id: ModelVersionId, job: JobId) -> Result<()> {
        sqlx::query("UPDATE model_version SET job_id = $1 WHERE model_version_id = $2")
            .bind(job.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn model_version(&self, id: ModelVersionId) -> Result<ModelVersionRecord> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM model_version WHERE model_version_id = $1");
        match sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await? {
            Some(r) => self.model_record(&r),
            None => Err(StoreError::Invalid(format!("there is no model version v{id}"))),
        }
    }

    pub async fn model_versions(&self) -> Result<Vec<ModelVersionRecord>> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM model_version ORDER BY model_version_id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|r| self.model_record(r)).collect()
    }

    /// Makes `id` the current model (appends to the promotion log).
    pub async fn promote(&self, id: ModelVersionId, reason: &str) -> Result<()> {
        insert_promotion(&self.pool, id, reason, &now()).await
    }

    /// The current model version: the latest promotion.
    pub async fn current_model(&self) -> Result<Option<ModelVersionId>> {
        current_model_with(&self.pool).await
    }

    /// Stores scores (replacing earlier ones of the same version and pair): one multi-row
    /// statement per transaction of 500 rows, so that labeling is never blocked for long.
    pub async fn insert_scores(
        &self,
        version: ModelVersionId,
        scores: &[ScoreRecord],
    ) -> Result<()> {
        for chunk in scores.chunks(500) {
            let probs = chunk
                .iter()
                .map(|s| serde_json::to_string(&s.probabilities))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO pair_score (pair_id, model_version_id, top_relation, top_probability,
                     margin, entropy, top_valid, probabilities) ",
            );
            q.push_values(chunk.iter().zip(&probs), |mut b, (s, probs)| {
                b.push_bind(s.pair.0).push_bind(version.0).push_bind(&s.summary.top_relation);
                b.push_bind(s.summary.top_probability).push_bind(s.summary.margin);
                b.push_bind(s.summary.entropy).push_bind(s.summary.top_valid).push_bind(probs);
            });
            q.push(
                " ON CONFLICT (model_version_id, pair_id) DO UPDATE SET
                     top_relation = excluded.top_relation,
                     top_probability = excluded.top_probability, margin = excluded.margin,
                     entropy = excluded.entropy, top_valid = excluded.top_valid,
                     probabilities = excluded.probabilities",
            );
            let mut tx = begin_write(&self.pool).await?;
            q.build().execute(&mut *tx).await?;
            tx.commit().await?;
        }
        if scores.len() >= 10_000 {
            refresh_statistics(&self.pool, &["pair_score"]).await?;
        }
        Ok(())
    }

    /// Pairs that `version` has scored.
    pub async fn scored_pairs(&self, version: ModelVersionId) -> Result<Vec<PairId>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT pair_id FROM pair_score WHERE model_version_id = $1")
                .bind(version.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(PairId).collect())
    }

    /// Every stored probability vector of `version`, by pair (one query).
    pub async fn version_probabilities(
        &self,
        version: ModelVersionId,
    ) -> Result<Vec<(PairId, Vec<f32>)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT pair_id, probabilities FROM pair_score WHERE model_version_id = $1
             ORDER BY pair_id",
        )
        .bind(version.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(p, j)| {
                let probs: Vec<f32> = serde_json::from_str(&j)
                    .map_err(|e| StoreError::Invalid(format!("stored probabilities: {e}")))?;
                Ok((PairId(p), probs))
            })
            .collect()
    }

    /// The stored score of `pair` by `version`.
    pub async fn pair_score(
        &self,
        pair: PairId,
        version: ModelVersionId,
    ) -> Result<Option<ScoreRecord>> {
        let row = sqlx::query(
            "SELECT top_relation, top_probability, margin, entropy, top_valid, probabilities
             FROM pair_score WHERE pair_id = $1 AND model_version_id = $2",
        )
        .bind(pair.0)
        .bind(version.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let probabilities: Vec<f32> = serde_json::from_str(r.get::<&str, _>(5))
            .map_err(|e| StoreError::Invalid(format!("stored probabilities: {e}")))?;
        Ok(Some(ScoreRecord {
            pair,
            summary: ScoreSummary {
                top_relation: r.get(0),
                top_probability: r.get(1),
                margin: r.get(2),
                entropy: r.get(3),
                top_valid: r.get::<bool, _>(4),
            },
            probabilities,
        }))
    }

    /// Starts iteration `idx = last + 1` and admits `admissions` as its automatic labels, in one
    /// transaction. Pairs that were labeled since they were scored are left out; the iteration
    /// counts what was admitted.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_iteration(
        &self,
        base: ModelVersionId,
        threshold: f64,
        batch_size: usize,
        per_relation_cap: Option<usize>,
        job: Option<JobId>,
        admissions: &[Admission],
    ) -> Result<IterationRecord> {
        let mut tx = begin_write(&self.pool).await?;
        let idx: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(idx), 0) + 1 FROM iteration")
            .fetch_one(&mut *tx)
            .await?;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO iteration (idx, status, threshold, batch_size, admitted, started_at,
                                    base_model_version_id, per_relation_cap, job_id)
             VALUES ($1, 'active', $2, $3, 0, $4, $5, $6, $7)
             RETURNING iteration_id",
        )
        .bind(idx)
        .bind(threshold)
        .bind(batch_size as i64)
        .bind(&at)
        .bind(base.0)
        .bind(per_relation_cap.map(|c| c as i64))
        .bind(job.map(|j| j.0))
        .fetch_one(&mut *tx)
        .await?;
        let mut admitted = 0i64;
        for a in admissions {
            let labeled: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM current_label WHERE pair_id = $1")
                    .bind(a.pair.0)
                    .fetch_one(&mut *tx)
                    .await?;
            if labeled > 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO label_event (pair_id, relation, source, action, created_at,
                     model_version_id, iteration_id, probability, threshold)
                 VALUES ($1, $2, 'auto', 'admit', $3, $4, $5, $6, $7)",
            )
            .bind(a.pair.0)
            .bind(&a.relation)
            .bind(&at)
            .bind(base.0)
            .bind(id)
            .bind(a.probability)
            .bind(threshold)
            .execute(&mut *tx)
            .await?;
            admitted += 1;
        }
        sqlx::query("UPDATE iteration SET admitted = $1 WHERE iteration_id = $2")
            .bind(admitted)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.iteration(IterationId(id)).await
    }

    /// Links an iteration to the model trained on its labels.
    pub async fn set_iteration_model(&self, id: IterationId, model: ModelVersionId) -> Result<()> {
        sqlx::query("UPDATE iteration SET model_version_id = $1 WHERE iteration_id = $2")
            .bind(model.0)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an iteration's outcome. A reviewer's quarantine (or a rollback) that came in while
    /// the iteration trained or scored stands: the stored status stays whatever `status` says.
    /// `report` renders the outcome for the status that is finally stored. Returns that status.
    pub async fn finish_iteration(
        &self,
        id: IterationId,
        status: IterationStatus,
        report: &(dyn Fn(IterationStatus) -> String + Sync),
    ) -> Result<IterationStatus> {
        let mut tx = begin_write(&self.pool).await?;
        let stored = iteration_status_in(&mut tx, id).await?;
        let status = match stored {
            IterationStatus::Quarantined | IterationStatus::RolledBack => stored,
            _ => status,
        };
        sqlx::query(
            "UPDATE iteration SET status = $1, metrics_json = $2, finished_at = $3 WHERE iteration_id = $4",
        )
        .bind(status.as_str())
        .bind(report(status))
        .bind(now())
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(status)
    }

    /// Promotes `version`, the model iteration `id` trained, if the iteration is still active:
    /// checked and written in one write transaction, so that a reviewer's quarantine either
    /// comes first (and the model is not promoted) or after (and demotes it, see
    /// [`Store::quarantine_iteration`]). Returns whether it promoted.
    pub async fn promote_for_iteration(
        &self,
        id: IterationId,
        version: ModelVersionId,
        reason: &str,
    ) -> Result<bool> {
        let mut tx = begin_write(&self.pool).await?;
        if iteration_status_in(&mut tx, id).await? != IterationStatus::Active {
            return Ok(false);
        }
        insert_promotion(&mut *tx, version, reason, &now()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A reviewer's quarantine of iteration `id`, in one write transaction: the status, the
    /// cleared review, and, when the iteration's model is the current one, the promotion of the
    /// model it started from (the model trained on quarantined labels must not admit more).
    /// Returns the model promoted back, if any.
    pub async fn quarantine_iteration(&self, id: IterationId) -> Result<Option<ModelVersionId>> {
        let mut tx = begin_write(&self.pool).await?;
        let (idx, model, base): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT idx, model_version_id, base_model_version_id FROM iteration WHERE iteration_id = $1",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE iteration SET status = 'quarantined', review = NULL WHERE iteration_id = $1",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let current = current_model_with(&mut *tx).await?;
        let mut restored = None;
        if let (Some(m), Some(base)) = (model, base)
            && current == Some(ModelVersionId(m))
        {
            let base = ModelVersionId(base);
            insert_promotion(&mut *tx, base, &format!("quarantine of iteration {idx}"), &now())
                .await?;
            restored = Some(base);
        }
        tx.commit().await?;
        Ok(restored)
    }

    /// Sets an iteration's status (quarantine, or back to active after review).
    pub async fn set_iteration_status(
        &self,
        id: IterationId,
        status: IterationStatus,
    ) -> Result<()> {
        sqlx::query("UPDATE iteration SET status = $1 WHERE iteration_id = $2")
            .bind(status.as_str())
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn iteration(&self, id: IterationId) -> Result<IterationRecord> {
        let sql = format!("SELECT {ITERATION_COLUMNS} FROM iteration WHERE iteration_id = $1");
        match sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await? {
            Some(r) => iteration_record(&r),
            None => Err(StoreError::Invalid(format!("there is no iteration row {id}"))),
        }
    }

    pub async fn iterations(&self) -> Result<Vec<IterationRecord>> {
        let sql = format!("SELECT {ITERATION_COLUMNS} FROM iteration ORDER BY idx");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(iteration_record).collect()
    }

    /// Automatic labels of an iteration that are still current: (pair, relation).
    pub async fn current_auto_labels(
        &self,
        iteration: IterationId,
    ) -> Result<Vec<(PairId, String)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT pair_id, relation FROM current_label
             WHERE source = 'auto' AND iteration_id = $1 ORDER BY pair_id",
        )
        .bind(iteration.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p, r)| (PairId(p), r)).collect())
    }

    /// Rolls back iterations `idx >= from` (those not rolled back already) in one transaction:
    /// their still-current automatic labels get a `revert` event, they are marked rolled back,
    /// and `restore` becomes the current model. Labels confirmed or fixed by people are human
    /// labels by then and stay. Returns the number of reverted labels.
    pub async fn roll_back_from(
        &self,
        from: i64,
        restore: Option<ModelVersionId>,
    ) -> Result<usize> {
        let mut tx = begin_write(&self.pool).await?;
        let at = now();
        let reverted = sqlx::query(
            "INSERT INTO label_event (pair_id, relation, source, action, created_at,
                 model_version_id, iteration_id, probability, threshold)
             SELECT c.pair_id, NULL, 'auto', 'revert', $1, c.model_version_id, c.iteration_id,
                    c.probability, c.threshold
             FROM current_label c JOIN iteration i ON i.iteration_id = c.iteration_id
             WHERE c.source = 'auto' AND i.idx >= $2 AND i.status <> 'rolled_back'",
        )
        .bind(&at)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE iteration SET status = 'rolled_back' WHERE idx >= $1")
            .bind(from)
            .execute(&mut *tx)
            .await?;
        if let Some(m) = restore {
            insert_promotion(&mut *tx, m, &format!("rollback to iteration {from}"), &at).await?;
        }
        tx.commit().await?;
        Ok(reverted as usize)
    }
}

impl Queries {
    /// Replaces the stored files of model version `version` with `files` (name, bytes), in one
    /// transaction.
    pub async fn put_model_files(
        &self,
        version: ModelVersionId,
        files: &[(String, Vec<u8>)],
    ) -> Result<()> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM model_file WHERE model_version_id = $1")
            .bind(version.0)
            .execute(&mut *tx)
            .await?;
        for (name, bytes) in files {
            sqlx::query(
                "INSERT INTO model_file (model_version_id, name, bytes) VALUES ($1, $2, $3)",
            )
            .bind(version.0)
            .bind(name)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored files of model version `version` (name, bytes), by name.
    pub async fn model_files(&self, version: ModelVersionId) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT name, bytes FROM model_file WHERE model_version_id = $1 ORDER BY name",
        )
        .bind(version.0)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The names of the stored files of model version `version`.
    pub async fn model_file_names(&self, version: ModelVersionId) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM model_file WHERE model_version_id = $1 ORDER BY name",
        )
        .bind(version.0)
        .fetch_all(&self.pool)
        .await?)
    }
}
