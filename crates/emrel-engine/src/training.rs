//! Training a model version on the labeled set, evaluating it on the gold split, and scoring
//! the pool with it.
//!
//! The labeled set L is every current seed, human and admitted automatic label (automatic ones
//! only from `active` iterations), minus the gold split. The gold split is frozen on the first
//! training: a share of the human labels, drawn per relation so every relation is represented.
//! A version's row records the label snapshot it trains on (the last label event id), so that
//! a run resumed after a kill trains on exactly the same data and Burn continues from its
//! checkpoint in the version's directory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use emrel_core::LabelSource;
use emrel_core::model::{Example, ModelError, PairText, Scorer, TrainProgress, TrainRequest};
use emrel_store::{
    IterationId, IterationStatus, JobId, LabelEventId, ModelStatus, ModelVersionId,
    ModelVersionRecord, PairId,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result, json_err};
use crate::jobs::{JobContext, JobEvent, JobStart, ProgressSink, panic_message, run_job};
use crate::scoring::{Metrics, gold_split_metrics, pair_text, summarize};
use crate::{CancelToken, Project};

/// Pairs scored between two progress reports (8 inference batches of 256).
const SCORE_CHUNK: usize = 2048;

/// What to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Model from `emrel-ml`'s zoo (`resgru-att`, `cnn`, ...).
    pub model: String,
    /// `cpu`, `paper` or `tiny`.
    pub preset: String,
    /// Overrides the preset's epochs.
    pub epochs: Option<usize>,
    pub seed: u64,
    /// Share of human labels frozen as the gold split on the first training.
    pub gold_fraction: f64,
    /// Pretrained character vectors (word2vec text format).
    pub char_vectors: Option<PathBuf>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            model: "resgru-att".into(),
            preset: "cpu".into(),
            epochs: None,
            seed: 42,
            gold_fraction: 0.2,
            char_vectors: None,
        }
    }
}

/// What a version trains on, stored in `model_version.params_json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TrainParams {
    pub options: TrainOptions,
    /// The label snapshot: labels as of this event.
    pub as_of: i64,
    /// Iterations whose automatic labels are part of L.
    pub auto_iterations: Vec<i64>,
}

/// A finished training run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    pub job: JobId,
    pub version: ModelVersionId,
    pub metrics: Metrics,
    pub train_size: usize,
    pub seconds: f64,
}

/// A model version as listed to users.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    pub version: ModelVersionId,
    pub model: String,
    pub preset: String,
    pub status: String,
    pub train_size: usize,
    pub metrics: Option<Metrics>,
    pub seconds: Option<f64>,
    pub created_at: String,
    pub current: bool,
    pub dir: PathBuf,
}

/// A trained, evaluated version (internal).
#[derive(Debug, Clone)]
pub(crate) struct Trained {
    pub version: ModelVersionId,
    pub metrics: Metrics,
    pub train_size: usize,
    pub seconds: f64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TrainCheckpoint {
    pub model_version: i64,
}

/// Picks `fraction` of each relation's labels (at least one of every relation with two or more
/// labels), reproducibly for `seed`.
pub(crate) fn stratified_split(
    labels: &[(PairId, String)],
    fraction: f64,
    seed: u64,
) -> Vec<PairId> {
    let mut by_relation: BTreeMap<&str, Vec<PairId>> = BTreeMap::new();
    for (p, r) in labels {
        by_relation.entry(r).or_default().push(*p);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (_, mut pairs) in by_relation {
        pairs.sort();
        pairs.shuffle(&mut rng);
        let mut k = (pairs.len() as f64 * fraction).round() as usize;
        if k == 0 && pairs.len() >= 2 && fraction > 0.0 {
            k = 1;
        }
        out.extend(pairs.into_iter().take(k));
    }
    out.sort();
    out
}

impl Project {
    /// Trains a new model version on the current labels as a job, evaluates it on the gold
    /// split, makes it the current model and scores the pool with it.
    pub async fn train(
        &self,
        options: &TrainOptions,
        sink: Arc<dyn ProgressSink>,
        cancel: CancelToken,
    ) -> Result<TrainReport> {
        let params_json = serde_json::to_string(options).map_err(json_err)?;
        let this = self.clone();
        let options = options.clone();
        let start = JobStart::New { kind: "train", params_json };
        let (_, report) = run_job(&self.store, start, sink, cancel, move |ctx| async move {
            this.train_body(&ctx, &options, None).await
        })
        .await?;
        Ok(report)
    }

    /// The job body of `train` (also used when an interrupted training job is restarted:
    /// `resume` names the version to continue).
    pub(crate) async fn train_body(
        &self,
        ctx: &JobContext,
        options: &TrainOptions,
        resume: Option<ModelVersionId>,
    ) -> Result<TrainReport> {
        let mv = match resume {
            Some(v) => self.store.model_version(v).await?,
            None => self.prepare_version(ctx, options, None).await?,
        };
        let trained = match mv.status {
            ModelStatus::Ready => self.trained_from_record(&mv)?,
            _ => self.train_version(ctx, &mv).await?,
        };
        self.store.promote(trained.version, "trained").await?;
        self.score_missing(ctx, trained.version).await?;
        Ok(TrainReport {
            job: ctx.job,
            version: trained.version,
            metrics: trained.metrics,
            train_size: trained.train_size,
            seconds: trained.seconds,
        })
    }

    pub(crate) fn trained_from_record(&self, mv: &ModelVersionRecord) -> Result<Trained> {
        let metrics = match &mv.metrics_json {
            Some(j) => serde_json::from_str(j).map_err(json_err)?,
            None => return Err(EngineError::NoModel(format!("v{} has no metrics", mv.id))),
        };
        Ok(Trained {
            version: mv.id,
            metrics,
            train_size: mv.train_size,
            seconds: mv.seconds.unwrap_or(0.0),
        })
    }

    /// Freezes the gold split if it is not frozen yet.
    pub(crate) async fn ensure_gold_split(&self, fraction: f64, seed: u64) -> Result<()> {
        if self.store.gold_split_frozen().await? {
            return Ok(());
        }
        let rows = self.store.queue_rows(None, None).await?;
        let human: Vec<(PairId, String)> = rows
            .iter()
            .filter_map(|r| {
                let l = r.label.as_ref()?;
                matches!(l.source, LabelSource::Seed | LabelSource::Human)
                    .then(|| (r.pair, l.relation.clone()))
            })
            .collect();
        if human.is_empty() {
            return Err(EngineError::Invalid(
                "the project has no human labels to train on; label some pairs first".into(),
            ));
        }
        let split = stratified_split(&human, fraction, seed);
        let meta = serde_json::json!({
            "fraction": fraction, "seed": seed, "pairs": split.len(), "of_labels": human.len(),
        });
        self.store.freeze_gold_split(&split, &meta.to_string()).await?;
        Ok(())
    }

    /// Reserves a version row for training on the labels as they are now. Automatic labels count
    /// when their iteration is active and finished (it passed the drift check and the gate), or
    /// is `iteration`, the one this model is trained for; an iteration a killed run left open
    /// counts for nothing else until a bootstrap run finishes it.
    pub(crate) async fn prepare_version(
        &self,
        ctx: &JobContext,
        options: &TrainOptions,
        iteration: Option<IterationId>,
    ) -> Result<ModelVersionRecord> {
        self.ensure_gold_split(options.gold_fraction, options.seed).await?;
        let options = &self.with_char_vectors(ctx, options).await?;
        let as_of = self.store.last_label_event().await?;
        let auto_iterations: Vec<i64> = self
            .store
            .iterations()
            .await?
            .into_iter()
            .filter(|i| {
                i.status == IterationStatus::Active
                    && (i.finished_at.is_some() || Some(i.id) == iteration)
            })
            .map(|i| i.id.0)
            .collect();
        let params = TrainParams { options: options.clone(), as_of: as_of.0, auto_iterations };
        let examples = self.examples(&params).await?;
        let json = serde_json::to_string(&params).map_err(json_err)?;
        let mv = self
            .store
            .insert_model_version(
                &options.model,
                &options.preset,
                examples.len(),
                &json,
                Some(ctx.job),
            )
            .await?;
        let cp =
            serde_json::to_string(&TrainCheckpoint { model_version: mv.id.0 }).map_err(json_err)?;
        self.store.set_job_checkpoint(ctx.job, &cp).await?;
        Ok(mv)
    }

    /// `options` with the character vectors training starts from: those the user named, else,
    /// when the preset pretrains, the project's own (`<database>.models/chars.vec`), pretrained
    /// on its text first if they do not exist yet.
    async fn with_char_vectors(
        &self,
        ctx: &JobContext,
        options: &TrainOptions,
    ) -> Result<TrainOptions> {
        let mut options = options.clone();
        let arch: emrel_ml::Arch =
            options.model.parse().map_err(|e: ModelError| EngineError::Invalid(e.to_string()))?;
        let preset = emrel_ml::ModelConfig::preset(&options.preset, arch)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        if options.char_vectors.is_some() || !preset.pretrain_chars {
            return Ok(options);
        }
        let path = self.default_char_vectors_path();
        if !path.exists() {
            ctx.phase("pretraining character vectors on the project's text".to_string());
            let embed = crate::EmbedOptions { dim: preset.char_dim, ..Default::default() };
            self.embed("auto", &embed, &path).await?;
        }
        options.char_vectors = Some(path);
        Ok(options)
    }

    /// The pairs among `ids`, by id (one query however many; see `Store::pairs_by_id`).
    pub(crate) async fn pair_records(
        &self,
        ids: &[PairId],
    ) -> Result<HashMap<PairId, emrel_store::PairRecord>> {
        Ok(self.store.pairs_by_id(ids).await?.into_iter().map(|p| (p.pair, p)).collect())
    }

    /// The gold split's pairs with their gold relation, in the store's order.
    async fn gold_split_pairs(&self) -> Result<Vec<(emrel_store::PairRecord, String)>> {
        let gold = self.store.gold_split_labels().await?;
        let ids: Vec<PairId> = gold.iter().map(|(p, _)| *p).collect();
        let pairs = self.pair_records(&ids).await?;
        Ok(gold.into_iter().filter_map(|(p, r)| pairs.get(&p).map(|pr| (pr.clone(), r))).collect())
    }

    /// The labels a version trains on: its label snapshot minus the gold split, automatic labels
    /// only from the iterations it names, relations the schema knows.
    pub(crate) async fn training_labels(
        &self,
        params: &TrainParams,
    ) -> Result<Vec<emrel_store::SnapshotLabel>> {
        let labels = self.store.labels_as_of(LabelEventId(params.as_of)).await?;
        let gold: HashSet<PairId> =
            self.store.gold_split_labels().await?.into_iter().map(|(p, _)| p).collect();
        let autos: HashSet<i64> = params.auto_iterations.iter().copied().collect();
        let classes = self.store.schema().classes();
        Ok(labels
            .into_iter()
            .filter(|l| !gold.contains(&l.pair))
            .filter(|l| {
                l.source != LabelSource::Auto || l.iteration.is_some_and(|i| autos.contains(&i.0))
            })
            .filter(|l| classes.contains(&l.relation))
            .collect())
    }

    /// The training examples of a label snapshot.
    async fn examples(&self, params: &TrainParams) -> Result<Vec<Example>> {
        let labels = self.training_labels(params).await?;
        let wanted: Vec<PairId> = labels.iter().map(|l| l.pair).collect();
        let pairs: HashMap<PairId, PairText> =
            self.pair_records(&wanted).await?.iter().map(|(&id, p)| (id, pair_text(p))).collect();
        let classes = self.store.schema().classes();
        Ok(labels
            .into_iter()
            .filter_map(|l| {
                let class = classes.iter().position(|c| *c == l.relation)?;
                Some(Example { pair: pairs.get(&l.pair)?.clone(), class })
            })
            .collect())
    }

    /// Trains (or resumes training of) the reserved version `mv` off the async threads, then
    /// evaluates it on the gold split and records the outcome on its row. A panic in the trainer
    /// marks the version `failed` and comes back as [`EngineError::Panicked`].
    pub(crate) async fn train_version(
        &self,
        ctx: &JobContext,
        mv: &ModelVersionRecord,
    ) -> Result<Trained> {
        let started = Instant::now();
        let params: TrainParams =
            serde_json::from_str(mv.params_json.as_deref().ok_or_else(|| {
                EngineError::Invalid(format!("v{} has no training parameters", mv.id))
            })?)
            .map_err(json_err)?;
        self.store.set_model_version_job(mv.id, ctx.job).await?;
        let examples = self.examples(&params).await?;
        let schema = self.store.schema().clone();
        let classes = schema.classes();
        let gold: Vec<(PairText, String)> =
            self.gold_split_pairs().await?.into_iter().map(|(p, r)| (pair_text(&p), r)).collect();
        let request = TrainRequest {
            model: params.options.model.clone(),
            preset: params.options.preset.clone(),
            classes: classes.clone(),
            train: examples,
            corpus: self.store.sentence_texts().await?,
            out_dir: mv.dir.clone(),
            char_vectors: params.options.char_vectors.clone(),
            seed: params.options.seed,
            epochs: params.options.epochs,
        };
        claim_model_dir(&mv.dir, &self.store.project_uid().await?, mv.id)?;
        let train_size = request.train.len();
        ctx.phase(format!("training v{} on {train_size} labels", mv.id));
        let trainer = self.trainer.clone();
        let tctx = ctx.clone();
        let version = mv.id;
        let gold_texts: Vec<PairText> = gold.iter().map(|(t, _)| t.clone()).collect();
        let joined = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(AssertUnwindSafe(
                || -> Result<(f64, Vec<Vec<f32>>, Vec<String>)> {
                    let mut progress = |p: &TrainProgress| {
                        let event = match p.dev_f1 {
                            Some(dev_f1) => JobEvent::Epoch {
                                job: tctx.job,
                                version,
                                epoch: p.epoch,
                                epochs: p.epochs,
                                dev_f1,
                            },
                            None => JobEvent::Training {
                                job: tctx.job,
                                version,
                                epoch: p.epoch,
                                epochs: p.epochs,
                                step: p.step,
                                steps_per_epoch: p.steps_per_epoch,
                                loss: p.loss,
                            },
                        };
                        tctx.emit(event);
                    };
                    let outcome = trainer.train(&request, &mut progress, &tctx.cancel)?;
                    let scorer = trainer.load(&outcome.out_dir)?;
                    let probs = if gold_texts.is_empty() {
                        Vec::new()
                    } else {
                        scorer.score(&gold_texts)?
                    };
                    Ok((outcome.best_dev_f1, probs, scorer.classes().to_vec()))
                },
            ))
        })
        .await;
        let result = match joined {
            Ok(Ok(r)) => r,
            Ok(Err(payload)) => Err(EngineError::Panicked(panic_message(payload))),
            Err(e) if e.is_panic() => Err(EngineError::Panicked(panic_message(e.into_panic()))),
            Err(e) => Err(EngineError::Invalid(format!("training thread: {e}"))),
        };
        let seconds = started.elapsed().as_secs_f64();
        let (dev_f1, probs, scorer_classes) = match result {
            Ok(r) => r,
            Err(e) => {
                self.store.finish_model_version(mv.id, ModelStatus::Failed, None, seconds).await?;
                return Err(e);
            }
        };
        if scorer_classes != classes {
            self.store.finish_model_version(mv.id, ModelStatus::Failed, None, seconds).await?;
            return Err(EngineError::Invalid(format!(
                "v{} predicts classes {scorer_classes:?}, the schema has {classes:?}",
                mv.id
            )));
        }
        let items: Vec<(String, Vec<f32>, String, String)> = gold
            .iter()
            .zip(probs)
            .map(|((t, r), p)| (r.clone(), p, t.head_type.clone(), t.tail_type.clone()))
            .collect();
        let metrics = gold_split_metrics(&schema, &classes, &items, dev_f1);
        let json = serde_json::to_string(&metrics).map_err(json_err)?;
        // The weights go into the project before the version is ready: every client (and a copy
        // of the project) loads this model from there.
        self.store.store_model_folder(mv.id).await?;
        self.store.finish_model_version(mv.id, ModelStatus::Ready, Some(&json), seconds).await?;
        ctx.emit(JobEvent::Evaluated {
            job: ctx.job,
            version: mv.id,
            precision: metrics.precision,
            recall: metrics.recall,
            f1: metrics.f1,
        });
        Ok(Trained { version: mv.id, metrics, train_size, seconds })
    }

    /// Scores, with `version`, every pair it has not scored yet among the pool (pairs without a
    /// human label: unlabeled or automatically labeled) and the gold split. Chunks are written
    /// as they are done, so an interrupted scoring run continues where it stopped.
    pub(crate) async fn score_missing(
        &self,
        ctx: &JobContext,
        version: ModelVersionId,
    ) -> Result<usize> {
        let mv = self.store.model_version(version).await?;
        if mv.status != ModelStatus::Ready {
            return Err(EngineError::NoModel(format!("v{version} is not ready to score")));
        }
        let rows = self.store.queue_rows(None, None).await?;
        let done: HashSet<PairId> = self.store.scored_pairs(version).await?.into_iter().collect();
        let wanted: HashSet<PairId> = rows
            .iter()
            .filter(|r| {
                r.in_gold_split || r.label.as_ref().is_none_or(|l| l.source == LabelSource::Auto)
            })
            .map(|r| r.pair)
            .filter(|p| !done.contains(p))
            .collect();
        if wanted.is_empty() {
            return Ok(0);
        }
        let todo: Vec<emrel_store::PairRecord> =
            self.store.pairs().await?.into_iter().filter(|p| wanted.contains(&p.pair)).collect();
        ctx.phase(format!("scoring {} pairs with v{version}", todo.len()));
        let schema = self.store.schema().clone();
        let classes = schema.classes();
        let trainer = self.trainer.clone();
        let dir = self.store.model_folder(version).await?;
        let mut scorer: Box<dyn Scorer> = blocking(move || Ok(trainer.load(&dir)?)).await?;
        let total = todo.len();
        let mut n = 0;
        // Chunks of several inference batches: the scorer sorts each chunk by length (less
        // padding in longer chunks) and runs its batches on several threads; between chunks the
        // scores are stored, progress is reported and cancellation is checked (every 2–3 s on 2
        // cores).
        for chunk in todo.chunks(SCORE_CHUNK) {
            ctx.check_cancel()?;
            let texts: Vec<PairText> = chunk.iter().map(pair_text).collect();
            let (back, probs) = blocking(move || {
                let probs = scorer.score(&texts);
                Ok((scorer, probs))
            })
            .await?;
            scorer = back;
            let records: Vec<emrel_store::ScoreRecord> = chunk
                .iter()
                .zip(probs?)
                .map(|(p, probs)| {
                    summarize(
                        &schema,
                        &classes,
                        p.pair,
                        &p.head.entity_type,
                        &p.tail.entity_type,
                        probs,
                    )
                })
                .collect();
            self.store.insert_scores(version, &records).await?;
            n += chunk.len();
            ctx.emit(JobEvent::Scoring { job: ctx.job, version, done: n, total });
        }
        Ok(n)
    }

    /// Model versions, oldest first, with their gold-split metrics.
    pub async fn models(&self) -> Result<Vec<ModelInfo>> {
        let current = self.store.current_model().await?;
        let mut out = Vec::new();
        for mv in self.store.model_versions().await? {
            let metrics = match &mv.metrics_json {
                Some(j) => Some(serde_json::from_str(j).map_err(json_err)?),
                None => None,
            };
            out.push(ModelInfo {
                version: mv.id,
                model: mv.model,
                preset: mv.preset,
                status: mv.status.as_str().to_string(),
                train_size: mv.train_size,
                metrics,
                seconds: mv.seconds,
                created_at: mv.created_at,
                current: Some(mv.id) == current,
                dir: mv.dir,
            });
        }
        Ok(out)
    }

    /// The current model version.
    pub async fn current_model(&self) -> Result<Option<ModelVersionId>> {
        Ok(self.store.current_model().await?)
    }

    /// Gold-split metrics of `version` (the current model when `None`) against the gold split's
    /// labels as they are now, from its stored scores (pairs it has not scored are scored first).
    pub async fn evaluate(&self, version: Option<ModelVersionId>) -> Result<Metrics> {
        let version = match version {
            Some(v) => v,
            None => self
                .store
                .current_model()
                .await?
                .ok_or_else(|| EngineError::NoModel("no model has been trained yet".into()))?,
        };
        let mv = self.store.model_version(version).await?;
        let previous: Metrics = match &mv.metrics_json {
            Some(j) => serde_json::from_str(j).map_err(json_err)?,
            None => return Err(EngineError::NoModel(format!("v{version} is not trained"))),
        };
        let schema = self.store.schema().clone();
        let classes = schema.classes();
        let mut items = Vec::new();
        let mut missing = Vec::new();
        for (pr, r) in self.gold_split_pairs().await? {
            match self.store.pair_score(pr.pair, version).await? {
                Some(s) => items.push((
                    r,
                    s.probabilities,
                    pr.head.entity_type.clone(),
                    pr.tail.entity_type.clone(),
                )),
                None => missing.push((r, pr)),
            }
        }
        if !missing.is_empty() {
            let trainer = self.trainer.clone();
            let dir = self.store.model_folder(version).await?;
            let texts: Vec<PairText> = missing.iter().map(|(_, p)| pair_text(p)).collect();
            let probs = blocking(move || Ok(trainer.load(&dir)?.score(&texts)?)).await?;
            for ((r, p), probs) in missing.into_iter().zip(probs) {
                items.push((r, probs, p.head.entity_type, p.tail.entity_type));
            }
        }
        Ok(gold_split_metrics(&schema, &classes, &items, previous.dev_f1))
    }
}

/// Runs model work on a blocking thread; a panic there becomes [`EngineError::Panicked`].
/// Marks `dir` as model version `version` of project `uid` (`owner.json`), or checks that it
/// is: a checkpoint is resumed only by the project and version that wrote it, never by another
/// project whose database reused the id.
fn claim_model_dir(dir: &std::path::Path, uid: &str, version: ModelVersionId) -> Result<()> {
    #[derive(Serialize, Deserialize, PartialEq)]
    struct Owner {
        project: String,
        version: i64,
    }
    let me = Owner { project: uid.to_string(), version: version.0 };
    let path = dir.join("owner.json");
    let io = |e: std::io::Error| EngineError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str::<Owner>(&text) {
            Ok(owner) if owner == me => Ok(()),
            _ => Err(EngineError::Invalid(format!(
                "{} holds another project's model files; EMRel will not train into it (move it away to train v{version})",
                dir.display()
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.exists() && std::fs::read_dir(dir).map_err(io)?.next().is_some() {
                return Err(EngineError::Invalid(format!(
                    "{} already holds files this project did not write; move it away to train v{version}",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir).map_err(io)?;
            let json = serde_json::to_string(&me).map_err(json_err)?;
            std::fs::write(&path, json).map_err(io)?;
            std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(io)?;
            Ok(())
        }
        Err(e) => Err(io(e)),
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(move || std::panic::catch_unwind(AssertUnwindSafe(f))).await {
        Ok(Ok(r)) => r,
        Ok(Err(payload)) => Err(EngineError::Panicked(panic_message(payload))),
        Err(e) => Err(EngineError::Panicked(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_and_reproducible() {
        let mut labels = Vec::new();
        for i in 0..50 {
            labels.push((PairId(i), "none".to_string()));
        }
        for i in 50..60 {
            labels.push((PairId(i), "SAP".to_string()));
        }
        labels.push((PairId(60), "DAP".to_string()));
        labels.push((PairId(61), "DAP".to_string()));
        let a = stratified_split(&labels, 0.2, 7);
        assert_eq!(a, stratified_split(&labels, 0.2, 7));
        let count = |lo: i64, hi: i64| a.iter().filter(|p| p.0 >= lo && p.0 < hi).count();
        assert_eq!((count(0, 50), count(50, 60), count(60, 62)), (10, 2, 1));
    }
}
