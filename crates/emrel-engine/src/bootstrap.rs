//! The bootstrapping loop (the paper's Algorithm 1) with a promotion gate, iterations with
//! provenance, rollback and job resumption.
//!
//! One iteration: the current model's stored scores give the reliable set (unlabeled pairs
//! outside the gold split whose top prediction is schema-valid and reaches λ); its top N (at
//! most `per_relation_cap` per relation) are admitted as automatic labels of the iteration, with
//! the admitting model version, probability and λ as provenance; a new version is trained on the
//! grown labeled set and evaluated on the gold split. It becomes current only if its F1 is at
//! most `tolerance_points` below the current model's; otherwise the iteration is `rejected` and
//! its labels wait for review without being trained on. The loop stops when the pool is empty,
//! when nothing passes λ, after `max_iterations`, or after `max_rejections` rejections in a row.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use emrel_core::drift::alarms;
use emrel_store::{
    Admission, IterationId, IterationRecord, IterationStatus, JobId, JobStatus, ModelStatus,
    ModelVersionId,
};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result, json_err};
use crate::jobs::{JobContext, JobEvent, JobStart, ProgressSink, run_job};
use crate::queue::{Lambda, is_reliable};
use crate::review::Corruption;
use crate::training::{TrainCheckpoint, TrainOptions, TrainReport, Trained};
use crate::{CancelToken, Project};

/// Options of the bootstrapping loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    pub train: TrainOptions,
    /// λ.
    pub threshold: f64,
    /// N.
    pub batch_size: usize,
    pub per_relation_cap: Option<usize>,
    /// F1 points a new model may lose against the current one and still be promoted.
    pub tolerance_points: f64,
    pub max_iterations: Option<usize>,
    /// Stop after this many rejected iterations in a row.
    pub max_rejections: usize,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            train: TrainOptions::default(),
            threshold: 0.7,
            batch_size: 1000,
            per_relation_cap: None,
            tolerance_points: 1.0,
            max_iterations: None,
            max_rejections: 2,
        }
    }
}

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    PoolEmpty,
    NothingPassesThreshold,
    MaxIterations,
    Rejected,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::PoolEmpty => "the unlabeled pool is empty",
            StopReason::NothingPassesThreshold => "no unlabeled pair passes the threshold",
            StopReason::MaxIterations => "the maximum number of iterations was reached",
            StopReason::Rejected => "the promotion gate rejected the last iterations",
        })
    }
}

/// One finished iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationReport {
    pub iteration: i64,
    pub id: IterationId,
    pub admitted: usize,
    /// Labels the iteration's model was trained on.
    pub labeled_size: usize,
    pub version: ModelVersionId,
    pub promoted: bool,
    pub status: String,
    /// Gold-split figures of the iteration's model.
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold-split F1 of the model that was current before.
    pub previous_f1: f64,
    pub seconds: f64,
}

/// What a bootstrapping run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapReport {
    pub job: JobId,
    /// The model trained on the seed labels, when the project had none.
    pub seed_model: Option<TrainReport>,
    pub iterations: Vec<IterationReport>,
    pub stop: StopReason,
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackReport {
    pub job: JobId,
    pub reverted_labels: usize,
    pub iterations: Vec<i64>,
    pub current_model: Option<ModelVersionId>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RollbackParams {
    to: i64,
}

/// The outcome of one attempted iteration.
pub(crate) enum Step {
    Done(IterationReport),
    Stop(StopReason),
}

/// The reliable set in admission order: highest probability first, at most `cap` per relation,
/// at most `n` in all.
pub(crate) fn select_admissions(
    rows: &[emrel_store::QueueRow],
    lambda: &Lambda,
    n: usize,
    cap: Option<usize>,
) -> Vec<Admission> {
    let mut reliable: Vec<&emrel_store::QueueRow> =
        rows.iter().filter(|r| is_reliable(r, lambda)).collect();
    reliable.sort_by(|a, b| {
        let (sa, sb) = (a.score.as_ref().expect("reliable"), b.score.as_ref().expect("reliable"));
        sb.top_probability.total_cmp(&sa.top_probability).then(a.pair.cmp(&b.pair))
    });
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for r in reliable {
        if out.len() >= n {
            break;
        }
        let s = r.score.as_ref().expect("reliable");
        let k = per.entry(s.top_relation.as_str()).or_insert(0);
        if cap.is_some_and(|c| *k >= c) {
            continue;
        }
        *k += 1;
        out.push(Admission {
            pair: r.pair,
            relation: s.top_relation.clone(),
            probability: s.top_probability,
        });
    }
    out
}

impl Project {
    /// Runs the bootstrapping loop as a job: trains a seed model if there is no current model,
    /// then iterates until a stop condition. An iteration left unfinished by an interrupted run
    /// is finished first.
    pub async fn bootstrap(
        &self,
        options: &BootstrapOptions,
        sink: Arc<dyn ProgressSink>,
        cancel: CancelToken,
    ) -> Result<BootstrapReport> {
        check_options(options)?;
        let params_json = serde_json::to_string(options).map_err(json_err)?;
        let this = self.clone();
        let options = options.clone();
        let start = JobStart::New { kind: "bootstrap", params_json };
        let (_, report) = run_job(&self.store, start, sink, cancel, move |ctx| async move {
            this.bootstrap_body(&ctx, &options).await
        })
        .await?;
        Ok(report)
    }

    pub(crate) async fn bootstrap_body(
        &self,
        ctx: &JobContext,
        options: &BootstrapOptions,
    ) -> Result<BootstrapReport> {
        let mut iterations = Vec::new();
        if let Some(open) = self.unfinished_iteration().await? {
            iterations.push(self.finish_iteration(ctx, &open, options, Instant::now()).await?);
        }
        let seed_model = match self.store.current_model().await? {
            Some(_) => None,
            None => Some(self.train_body(ctx, &options.train, None).await?),
        };
        let mut rejections = 0;
        let stop = loop {
            if options.max_iterations.is_some_and(|m| iterations.len() >= m) {
                break StopReason::MaxIterations;
            }
            ctx.check_cancel()?;
            match self.run_iteration(ctx, options, false, None).await? {
                Step::Stop(reason) => break reason,
                Step::Done(report) => {
                    rejections = if report.promoted { 0 } else { rejections + 1 };
                    iterations.push(report);
                    if rejections >= options.max_rejections.max(1) {
                        break StopReason::Rejected;
                    }
                }
            }
        };
        Ok(BootstrapReport { job: ctx.job, seed_model, iterations, stop })
    }

    async fn unfinished_iteration(&self) -> Result<Option<IterationRecord>> {
        Ok(self
            .store
            .iterations()
            .await?
            .into_iter()
            .find(|i| i.finished_at.is_none() && i.status == IterationStatus::Active))
    }

    /// Admits the next batch and retrains. With `allow_empty`, an iteration is run (and the
    /// model retrained on new human labels) even when nothing passes λ.
    pub(crate) async fn run_iteration(
        &self,
        ctx: &JobContext,
        options: &BootstrapOptions,
        allow_empty: bool,
        corrupt: Option<&Corruption>,
    ) -> Result<Step> {
        let started = Instant::now();
        let current =
            self.store.current_model().await?.ok_or_else(|| {
                EngineError::NoModel("bootstrapping needs a trained model".into())
            })?;
        let rows = self.store.queue_rows(Some(current), None).await?;
        if !rows.iter().any(|r| r.label.is_none() && !r.in_gold_split) {
            return Ok(Step::Stop(StopReason::PoolEmpty));
        }
        let lambda = self.settings().await?.lambda_with(options.threshold);
        let admissions =
            select_admissions(&rows, &lambda, options.batch_size, options.per_relation_cap);
        if admissions.is_empty() && !allow_empty {
            return Ok(Step::Stop(StopReason::NothingPassesThreshold));
        }
        let it = self
            .store
            .start_iteration(
                current,
                options.threshold,
                options.batch_size,
                options.per_relation_cap,
                Some(ctx.job),
                &admissions,
            )
            .await?;
        ctx.emit(JobEvent::Admitted { job: ctx.job, iteration: it.idx, admitted: it.admitted });
        if let Some(c) = corrupt.filter(|c| c.iteration == it.idx) {
            let flipped = self.corrupt_iteration(&it, c).await?;
            ctx.phase(format!("simulation: flipped {flipped} labels of iteration {}", it.idx));
        }
        Ok(Step::Done(self.finish_iteration(ctx, &it, options, started).await?))
    }

    /// Trains the iteration's model (continuing an interrupted run), applies the promotion
    /// gate, scores the pool with a promoted model and records the iteration's outcome.
    async fn finish_iteration(
        &self,
        ctx: &JobContext,
        it: &IterationRecord,
        options: &BootstrapOptions,
        started: Instant,
    ) -> Result<IterationReport> {
        let existing = match it.model_version {
            Some(v) => Some(self.store.model_version(v).await?),
            None => None,
        };
        let trained: Trained = match existing {
            Some(mv) if mv.status == ModelStatus::Ready => self.trained_from_record(&mv)?,
            Some(mv) if mv.status == ModelStatus::Training => self.train_version(ctx, &mv).await?,
            _ => {
                let mv = self.prepare_version(ctx, &options.train, Some(it.id)).await?;
                self.store.set_iteration_model(it.id, mv.id).await?;
                self.train_version(ctx, &mv).await?
            }
        };
        // The gate compares with the model that admitted the labels (also when a resumed run had
        // promoted this iteration's model before it was killed).
        let previous_f1 = match it.base_model_version {
            Some(v) => {
                let mv = self.store.model_version(v).await?;
                self.trained_from_record(&mv).map(|t| t.metrics.f1).unwrap_or(0.0)
            }
            None => 0.0,
        };
        let drift = self.compute_drift(ctx, it, trained.version, &trained.metrics).await?;
        let settings = self.settings().await?;
        let raised = alarms(&drift, &settings.alarm_thresholds);
        self.store
            .set_iteration_drift(
                it.id,
                &serde_json::to_string(&drift).map_err(json_err)?,
                &serde_json::to_string(&raised).map_err(json_err)?,
            )
            .await?;
        // An iteration that admitted nothing only retrained on new human labels: nothing to
        // quarantine.
        // A reviewer may have quarantined the iteration while its model trained.
        let reviewed = self.store.iteration(it.id).await?.status;
        let quarantined = reviewed == IterationStatus::Quarantined
            || (settings.auto_quarantine && it.admitted > 0 && raised.iter().any(|a| a.quarantine));
        let passes_gate = trained.metrics.f1 >= previous_f1 - options.tolerance_points / 100.0;
        let promoted = passes_gate && !quarantined && reviewed == IterationStatus::Active;
        let status = if quarantined {
            IterationStatus::Quarantined
        } else if promoted {
            IterationStatus::Active
        } else {
            IterationStatus::Rejected
        };
        if !promoted
            && let Some(base) = it.base_model_version
            && self.store.current_model().await? == Some(trained.version)
        {
            // A run killed after promoting this model: the base model is current again.
            self.store.promote(base, &format!("iteration {} not promoted", it.idx)).await?;
        }
        // Promoted only if the iteration is still active at that instant (a reviewer may
        // quarantine it at any moment; see `Store::promote_for_iteration`).
        let promoted = promoted
            && self
                .store
                .promote_for_iteration(it.id, trained.version, &format!("iteration {}", it.idx))
                .await?;
        if promoted {
            self.score_missing(ctx, trained.version).await?;
        }
        let mut report = IterationReport {
            iteration: it.idx,
            id: it.id,
            admitted: it.admitted,
            labeled_size: trained.train_size,
            version: trained.version,
            promoted,
            status: status.as_str().to_string(),
            precision: trained.metrics.precision,
            recall: trained.metrics.recall,
            f1: trained.metrics.f1,
            previous_f1,
            seconds: started.elapsed().as_secs_f64(),
        };
        // A quarantine during scoring stands, and then the model is no longer current.
        let render = |final_status: IterationStatus| {
            let mut r = report.clone();
            if final_status != status {
                r.status = final_status.as_str().to_string();
                r.promoted = false;
            }
            serde_json::to_string(&r).unwrap_or_default()
        };
        let stored = self.store.finish_iteration(it.id, status, &render).await?;
        if stored != status {
            report.status = stored.as_str().to_string();
            report.promoted = false;
        }
        let promoted = report.promoted;
        ctx.emit(JobEvent::IterationFinished {
            job: ctx.job,
            iteration: it.idx,
            id: it.id,
            version: trained.version,
            promoted,
            f1: trained.metrics.f1,
        });
        Ok(report)
    }

    /// Iterations, oldest first, with their reports where finished.
    pub async fn iterations(&self) -> Result<Vec<(IterationRecord, Option<IterationReport>)>> {
        let mut out = Vec::new();
        for it in self.store.iterations().await? {
            let report = match &it.metrics_json {
                Some(j) => Some(serde_json::from_str(j).map_err(json_err)?),
                None => None,
            };
            out.push((it, report));
        }
        Ok(out)
    }

    /// Quarantines iteration `idx`: its automatic labels stay but are no longer trained on.
    pub async fn quarantine(&self, idx: i64) -> Result<()> {
        let it = self.iteration_by_idx(idx).await?;
        if it.status == IterationStatus::RolledBack {
            return Err(EngineError::Invalid(format!("iteration {idx} is rolled back")));
        }
        self.review_iteration(idx, crate::ReviewAction::Quarantine).await.map(|_| ())
    }

    pub(crate) async fn iteration_by_idx(&self, idx: i64) -> Result<IterationRecord> {
        self.store
            .iterations()
            .await?
            .into_iter()
            .find(|i| i.idx == idx)
            .ok_or_else(|| EngineError::Invalid(format!("there is no iteration {idx}")))
    }

    /// Rolls back to before iteration `k` as a job: the still-current automatic labels of
    /// iterations ≥ k are reverted (appended events; labels people confirmed or fixed stay),
    /// the model that admitted iteration k becomes current again, and the pool is re-scored
    /// where that model has no stored score.
    pub async fn rollback(
        &self,
        k: i64,
        sink: Arc<dyn ProgressSink>,
        cancel: CancelToken,
    ) -> Result<RollbackReport> {
        let it = self.iteration_by_idx(k).await?;
        if it.status == IterationStatus::RolledBack {
            return Err(EngineError::Invalid(format!("iteration {k} is already rolled back")));
        }
        let params_json = serde_json::to_string(&RollbackParams { to: k }).map_err(json_err)?;
        let this = self.clone();
        let start = JobStart::New { kind: "rollback", params_json };
        let (_, report) = run_job(&self.store, start, sink, cancel, move |ctx| async move {
            this.rollback_body(&ctx, k).await
        })
        .await?;
        Ok(report)
    }

    async fn rollback_body(&self, ctx: &JobContext, k: i64) -> Result<RollbackReport> {
        let it = self.iteration_by_idx(k).await?;
        let iterations: Vec<i64> = self
            .store
            .iterations()
            .await?
            .into_iter()
            .filter(|i| i.idx >= k && i.status != IterationStatus::RolledBack)
            .map(|i| i.idx)
            .collect();
        let restore = it.base_model_version;
        let reverted = self.store.roll_back_from(k, restore).await?;
        if let Some(v) = restore {
            self.score_missing(ctx, v).await?;
        }
        Ok(RollbackReport {
            job: ctx.job,
            reverted_labels: reverted,
            iterations,
            current_model: self.store.current_model().await?,
        })
    }

    /// Restarts an interrupted job where it stopped: a training run continues from its last
    /// checkpoint, a bootstrapping run finishes its open iteration and goes on, a rollback is
    /// completed. A simulation cannot be resumed (run it again on a fresh project).
    pub async fn resume_job(
        &self,
        job: JobId,
        sink: Arc<dyn ProgressSink>,
        cancel: CancelToken,
    ) -> Result<JobId> {
        let record = self.store.job(job).await?;
        if record.status != JobStatus::Interrupted {
            return Err(EngineError::Invalid(format!(
                "job {job} is {}, not interrupted",
                record.status.as_str()
            )));
        }
        let this = self.clone();
        let kind = record.kind.clone();
        if kind == "simulate" {
            return Err(EngineError::Invalid(
                "a simulation cannot be resumed; run it again on a fresh project".into(),
            ));
        }
        let (id, ()) =
            run_job(&self.store, JobStart::Restart(job), sink, cancel, move |ctx| async move {
                match kind.as_str() {
                    "train" => {
                        let options: TrainOptions =
                            serde_json::from_str(&record.params_json).map_err(json_err)?;
                        let resume = match &record.checkpoint_json {
                            Some(j) => {
                                let cp: TrainCheckpoint =
                                    serde_json::from_str(j).map_err(json_err)?;
                                let mv = this
                                    .store
                                    .model_version(ModelVersionId(cp.model_version))
                                    .await?;
                                (mv.status != ModelStatus::Failed).then_some(mv.id)
                            }
                            None => None,
                        };
                        this.train_body(&ctx, &options, resume).await.map(|_| ())
                    }
                    "bootstrap" => {
                        let options: BootstrapOptions =
                            serde_json::from_str(&record.params_json).map_err(json_err)?;
                        this.bootstrap_body(&ctx, &options).await.map(|_| ())
                    }
                    "rollback" => {
                        let p: RollbackParams =
                            serde_json::from_str(&record.params_json).map_err(json_err)?;
                        this.rollback_body(&ctx, p.to).await.map(|_| ())
                    }
                    other => Err(EngineError::Invalid(format!(
                        "jobs of kind `{other}` cannot be resumed"
                    ))),
                }
            })
            .await?;
        Ok(id)
    }
}

pub(crate) fn check_options(o: &BootstrapOptions) -> Result<()> {
    if !(0.0..=1.0).contains(&o.threshold) {
        return Err(EngineError::Invalid(format!("threshold {} is not in 0..1", o.threshold)));
    }
    if o.batch_size == 0 {
        return Err(EngineError::Invalid("the batch size must be positive".into()));
    }
    if !(0.0..1.0).contains(&o.train.gold_fraction) {
        return Err(EngineError::Invalid("the gold-split share must lie in 0..1".into()));
    }
    Ok(())
}
