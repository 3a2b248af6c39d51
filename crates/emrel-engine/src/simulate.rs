//! The human-in-the-loop simulation (the experiment of the paper's Table 5, made repeatable).
//!
//! On a project whose labels are `gold` (the demo corpus, or a brat corpus imported with
//! `--relations-as gold`), seed labels are revealed from gold through the seed queue; a seed-only
//! model is trained; then each round a simulated annotator answers queue items from gold (random
//! seed-queue items or the uncertain queue), bootstrapping admits automatic labels and the model
//! is retrained. Each row reports the human labels used, the labeled-set size, gold-split
//! P/R/F1 of the current model, and the true precision of the round's admitted labels measured
//! against gold. Candidate pairs without a gold relation count as `none`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use emrel_core::{LabelSource, NONE};
use emrel_store::{LabelAction, LabelWrite, PairId};
use serde::{Deserialize, Serialize};

use crate::bootstrap::{BootstrapOptions, Step, check_options};
use crate::error::{EngineError, Result, json_err};
use crate::jobs::{JobContext, JobStart, ProgressSink, run_job};
use crate::queue::Queue;
use crate::review::Corruption;
use crate::scoring::constrained_prediction;
use crate::training::TrainParams;
use crate::{CancelToken, Project};
use emrel_core::metrics::evaluate;

/// How the simulated annotator picks what to label after the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Random items of the seed queue (stratified by pair category).
    Random,
    /// The uncertain queue: the current model's smallest margins first.
    Uncertainty,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulateOptions {
    pub bootstrap: BootstrapOptions,
    /// Labels revealed from gold before the first model.
    pub seed_labels: usize,
    pub strategy: Strategy,
    /// Human labels answered from gold after the seed, in all.
    pub human_budget: usize,
    /// Human labels per round; by default the budget spread over `max_iterations` rounds (or 5).
    pub human_per_iteration: Option<usize>,
    /// Seed of the random queue order.
    pub seed: u64,
    /// Deliberately corrupt one iteration's admitted labels (to test the drift alarms).
    #[serde(default)]
    pub corrupt: Option<Corruption>,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            bootstrap: BootstrapOptions::default(),
            seed_labels: 500,
            strategy: Strategy::Random,
            human_budget: 0,
            human_per_iteration: None,
            seed: 1,
            corrupt: None,
        }
    }
}

/// One point of the learning curve; the first row is the seed-only model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationRow {
    pub iteration: i64,
    pub human_labels: usize,
    pub total_labels: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of this round's admitted labels equal to gold (`None` when nothing was admitted).
    pub auto_precision: Option<f64>,
    /// The current model against the hidden gold of every pair it was not trained on (the
    /// gold split included): the paper's test-set view, on tens of thousands of pairs rather
    /// than the gold split's few hundred.
    pub pool_precision: f64,
    pub pool_recall: f64,
    pub pool_f1: f64,
    /// Pairs that figure is measured on.
    pub pool_pairs: usize,
    /// `seed` for the seed-only model, else the iteration's status (`active`, `rejected`,
    /// `quarantined`).
    pub status: String,
    pub seconds: f64,
}

const ANNOTATOR: &str = "simulator";

/// The current model's figures after a round: on the gold split and on the pool.
struct RoundMetrics {
    split: crate::Metrics,
    pool: emrel_core::metrics::Prf,
    pool_pairs: usize,
}

impl Project {
    /// Runs the simulation as a job and returns the learning curve.
    pub async fn simulate(
        &self,
        options: &SimulateOptions,
        sink: Arc<dyn ProgressSink>,
        cancel: CancelToken,
    ) -> Result<Vec<SimulationRow>> {
        check_options(&options.bootstrap)?;
        let gold = self.store.gold_labels().await?;
        if gold.is_empty() {
            return Err(EngineError::Invalid(
                "simulate needs gold labels (the demo corpus, or a brat import with --relations-as gold)"
                    .into(),
            ));
        }
        let counts = self.store.label_counts_by_source().await?;
        if counts.values().any(|&n| n > 0) || self.store.current_model().await?.is_some() {
            return Err(EngineError::Invalid(
                "simulate needs a project without seed, human or automatic labels and without models"
                    .into(),
            ));
        }
        let params_json = serde_json::to_string(options).map_err(json_err)?;
        let this = self.clone();
        let options = options.clone();
        let start = JobStart::New { kind: "simulate", params_json };
        let (_, rows) = run_job(&self.store, start, sink, cancel, move |ctx| async move {
            this.simulate_body(&ctx, &options, &gold).await
        })
        .await?;
        Ok(rows)
    }

    async fn reveal(
        &self,
        pairs: &[PairId],
        gold: &HashMap<PairId, String>,
        source: LabelSource,
    ) -> Result<usize> {
        let writes: Vec<LabelWrite> = pairs
            .iter()
            .map(|p| {
                let relation = gold.get(p).map_or(NONE, String::as_str);
                let mut w = LabelWrite::human(*p, relation, LabelAction::Set, ANNOTATOR);
                w.source = source;
                w
            })
            .collect();
        self.store.append_labels(&writes).await?;
        Ok(writes.len())
    }

    async fn human_and_total(&self) -> Result<(usize, usize)> {
        let c = self.store.label_counts_by_source().await?;
        let n = |k: &str| c.get(k).copied().unwrap_or(0);
        let human = n("seed") + n("human");
        Ok((human, human + n("auto")))
    }

    async fn current_metrics(&self, gold: &HashMap<PairId, String>) -> Result<RoundMetrics> {
        let v = self
            .store
            .current_model()
            .await?
            .ok_or_else(|| EngineError::NoModel("no current model".into()))?;
        let mv = self.store.model_version(v).await?;
        let split = self.trained_from_record(&mv)?.metrics;
        let params: TrainParams =
            serde_json::from_str(mv.params_json.as_deref().ok_or_else(|| {
                EngineError::Invalid(format!("v{} has no training parameters", mv.id))
            })?)
            .map_err(json_err)?;
        let trained_on: HashSet<PairId> =
            self.training_labels(&params).await?.into_iter().map(|l| l.pair).collect();
        let types: HashMap<PairId, (String, String)> = self
            .store
            .pairs()
            .await?
            .into_iter()
            .map(|p| (p.pair, (p.head.entity_type, p.tail.entity_type)))
            .collect();
        let schema = self.store.schema();
        let classes = schema.classes();
        let none = classes.iter().position(|c| c == NONE).unwrap_or(0);
        let (mut want, mut got) = (Vec::new(), Vec::new());
        for (pair, probs) in self.store.version_probabilities(v).await? {
            let (Some((h, t)), false) = (types.get(&pair), trained_on.contains(&pair)) else {
                continue;
            };
            let relation = gold.get(&pair).map_or(NONE, String::as_str);
            let Some(g) = classes.iter().position(|c| c == relation) else { continue };
            want.push(g);
            got.push(constrained_prediction(schema, &classes, h, t, &probs).0);
        }
        let pool = evaluate(&want, &got, classes.len(), none).micro;
        Ok(RoundMetrics { split, pool, pool_pairs: want.len() })
    }

    async fn simulate_body(
        &self,
        ctx: &JobContext,
        options: &SimulateOptions,
        gold: &HashMap<PairId, String>,
    ) -> Result<Vec<SimulationRow>> {
        let started = Instant::now();
        let seed_queue = Queue::seed_random(options.seed);
        let seeds: Vec<PairId> = self
            .queue_pairs(&seed_queue, Some(ANNOTATOR))
            .await?
            .into_iter()
            .take(options.seed_labels)
            .collect();
        ctx.phase(format!("revealing {} seed labels", seeds.len()));
        self.reveal(&seeds, gold, LabelSource::Seed).await?;
        self.train_body(ctx, &options.bootstrap.train, None).await?;
        let (human, total) = self.human_and_total().await?;
        let m = self.current_metrics(gold).await?;
        let mut rows = vec![SimulationRow {
            iteration: 0,
            human_labels: human,
            total_labels: total,
            precision: m.split.precision,
            recall: m.split.recall,
            f1: m.split.f1,
            auto_precision: None,
            pool_precision: m.pool.precision,
            pool_recall: m.pool.recall,
            pool_f1: m.pool.f1,
            pool_pairs: m.pool_pairs,
            status: "seed".into(),
            seconds: started.elapsed().as_secs_f64(),
        }];
        let rounds = options.bootstrap.max_iterations.unwrap_or(5).max(1);
        let per_round = options
            .human_per_iteration
            .unwrap_or_else(|| options.human_budget.div_ceil(rounds))
            .max(1);
        let mut budget = options.human_budget;
        let mut rejections = 0;
        loop {
            if options.bootstrap.max_iterations.is_some_and(|m| rows.len() > m) {
                break;
            }
            ctx.check_cancel()?;
            let round = Instant::now();
            let h = per_round.min(budget);
            if h > 0 {
                let queue = match options.strategy {
                    Strategy::Random => seed_queue,
                    Strategy::Uncertainty => Queue::uncertain(),
                };
                let picked: Vec<PairId> =
                    self.queue_pairs(&queue, Some(ANNOTATOR)).await?.into_iter().take(h).collect();
                ctx.phase(format!("the simulated annotator labels {} pairs", picked.len()));
                budget -= self.reveal(&picked, gold, LabelSource::Human).await?;
            }
            let report = match self
                .run_iteration(ctx, &options.bootstrap, h > 0, options.corrupt.as_ref())
                .await?
            {
                Step::Stop(_) => break,
                Step::Done(r) => r,
            };
            let admitted = self.store.current_auto_labels(report.id).await?;
            let auto_precision = (!admitted.is_empty()).then(|| {
                let right = admitted
                    .iter()
                    .filter(|(p, r)| gold.get(p).map_or(NONE, String::as_str) == r)
                    .count();
                right as f64 / admitted.len() as f64
            });
            let (human, total) = self.human_and_total().await?;
            let m = self.current_metrics(gold).await?;
            rows.push(SimulationRow {
                iteration: report.iteration,
                human_labels: human,
                total_labels: total,
                precision: m.split.precision,
                recall: m.split.recall,
                f1: m.split.f1,
                auto_precision,
                pool_precision: m.pool.precision,
                pool_recall: m.pool.recall,
                pool_f1: m.pool.f1,
                pool_pairs: m.pool_pairs,
                status: report.status.clone(),
                seconds: round.elapsed().as_secs_f64(),
            });
            rejections = if report.promoted { 0 } else { rejections + 1 };
            if rejections >= options.bootstrap.max_rejections.max(1) {
                break;
            }
        }
        Ok(rows)
    }
}
