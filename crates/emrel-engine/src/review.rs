//! Semantic-drift review: the drift metrics of an iteration (computed when its model has been
//! trained, before the promotion gate, and stored with it), the alarms they raise and the
//! automatic quarantine, the reviewers' actions (accept, quarantine, per-relation λ, freeze),
//! and the simulation's deliberate corruption of an iteration.
//!
//! Which model sees what: features (the penultimate layer) come from the iteration's *base*
//! model, the one that admitted its labels, so the admitted items and the human centroids live
//! in one space that the admitted labels did not shape. Churn compares the base model's and the
//! new model's schema-constrained predictions on the same pairs. Calibration is measured on the
//! gold split: the temperature is fitted on one half of it and the expected calibration error
//! reported on the other half, with the fitted temperature.

use std::collections::{BTreeMap, HashMap, HashSet};

use emrel_core::drift::{
    self, Alarm, AlarmThresholds, IterationDrift, RelationDrift, alarms, centroid, cosine,
    expected_calibration_error, fit_temperature, histogram, jensen_shannon, mcintosh_curran_ratio,
    percentile, softmax_with_temperature,
};
use emrel_core::model::PairText;
use emrel_core::{LabelSource, NONE, Schema};
use emrel_store::{
    AdmittedLabel, IterationRecord, IterationStatus, ModelVersionId, PairId, PairRecord,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::Project;
use crate::error::{EngineError, Result, json_err};
use crate::jobs::JobContext;
use crate::scoring::{Metrics, constrained_prediction, pair_text};
use crate::training::blocking;

/// Items whose features represent one relation's human labels (a deterministic sample).
const HUMAN_PER_RELATION: usize = 300;
/// Admitted items of one relation whose features are compared with the centroid.
const ADMITTED_PER_RELATION: usize = 300;
/// Reference items (first and most recent admissions) for the McIntosh–Curran ratio.
const REFERENCE_ITEMS: usize = 100;
/// Pairs on which churn is measured, per kind.
const CHURN_ITEMS: usize = 1500;

/// The simulation's deliberate corruption of one iteration: share `share` of its admitted labels
/// are flipped to a wrong relation the schema allows for the pair (or `none`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Corruption {
    pub iteration: i64,
    pub share: f64,
    pub seed: u64,
}

/// One iteration as a reviewer sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IterationReview {
    pub iteration: i64,
    pub status: String,
    /// Set once a reviewer accepted the iteration.
    pub accepted: bool,
    pub admitted: usize,
    /// Automatic labels of the iteration still current (not confirmed, fixed or reverted).
    pub still_automatic: usize,
    pub threshold: f64,
    pub base_model_version: Option<ModelVersionId>,
    pub model_version: Option<ModelVersionId>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub drift: Option<IterationDrift>,
    /// The alarms of the metrics under the thresholds in force now.
    pub alarms: Vec<Alarm>,
    /// The alarms raised when the iteration was admitted.
    pub admission_alarms: Vec<Alarm>,
}

/// A reviewer's decision on an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    /// Its labels count as training data again (a quarantined or rejected iteration becomes
    /// active) and the iteration is marked accepted.
    Accept,
    /// Its labels stay but are no longer trained on.
    Quarantine,
}

/// A deterministic sample of at most `n` items (the order of `items` does not matter).
pub(crate) fn sample<T: Clone + Ord>(items: &[T], n: usize, seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort();
    if v.len() > n {
        v.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        v.truncate(n);
        v.sort();
    }
    v
}

/// Scores and features of `pairs` with the model in `dir`.
async fn run_model(
    project: &Project,
    dir: std::path::PathBuf,
    score: Vec<PairText>,
    features: Vec<PairText>,
) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>)> {
    let trainer = project.trainer.clone();
    blocking(move || {
        let scorer = trainer.load(&dir)?;
        let s = if score.is_empty() { Vec::new() } else { scorer.score(&score)? };
        let f = if features.is_empty() { Vec::new() } else { scorer.features(&features)? };
        Ok((s, f))
    })
    .await
}

fn predictions(
    schema: &Schema,
    classes: &[String],
    pairs: &[&PairRecord],
    probs: &[Vec<f32>],
) -> Vec<usize> {
    pairs
        .iter()
        .zip(probs)
        .map(|(p, pr)| {
            constrained_prediction(schema, classes, &p.head.entity_type, &p.tail.entity_type, pr).0
        })
        .collect()
}

impl Project {
    /// Flips share `c.share` of the labels iteration `it` admitted to another relation the schema
    /// allows for the pair (`none` included). Returns how many were flipped.
    pub(crate) async fn corrupt_iteration(
        &self,
        it: &IterationRecord,
        c: &Corruption,
    ) -> Result<usize> {
        let admitted = self.store.admitted_labels(it.id).await?;
        let n = ((admitted.len() as f64) * c.share.clamp(0.0, 1.0)).round() as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0xC0_44_07);
        let chosen: Vec<&AdmittedLabel> = admitted.choose_multiple(&mut rng, n).collect();
        let schema = self.store.schema().clone();
        let mut changes = Vec::new();
        for a in chosen {
            let p = self.store.pair(a.pair).await?;
            let options: Vec<String> = schema
                .classes()
                .into_iter()
                .filter(|r| {
                    *r != a.relation && schema.allows(r, &p.head.entity_type, &p.tail.entity_type)
                })
                .collect();
            if let Some(r) = options.choose(&mut rng) {
                changes.push((a.pair, r.clone()));
            }
        }
        Ok(self.store.readmit_labels(it.id, &changes).await?)
    }

    /// Computes the drift metrics of iteration `it`, whose labels model `new` was trained on
    /// (`new_metrics` are its gold-split figures).
    pub(crate) async fn compute_drift(
        &self,
        ctx: &JobContext,
        it: &IterationRecord,
        new: ModelVersionId,
        new_metrics: &Metrics,
    ) -> Result<IterationDrift> {
        ctx.phase(format!("drift metrics of iteration {}", it.idx));
        let schema = self.store.schema().clone();
        let classes = schema.classes();
        let class_index: HashMap<&str, usize> =
            classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let admitted = self.store.admitted_labels(it.id).await?;
        let last = self.store.last_label_event().await?;
        let labels = self.store.labels_as_of(last).await?;
        let gold_split: Vec<(PairId, String)> = self.store.gold_split_labels().await?;
        let gold_set: HashSet<PairId> = gold_split.iter().map(|(p, _)| *p).collect();
        // The prior: every human label (seed and human, the gold split included).
        let mut human: Vec<(PairId, String)> = labels
            .iter()
            .filter(|l| matches!(l.source, LabelSource::Seed | LabelSource::Human))
            .map(|l| (l.pair, l.relation.clone()))
            .collect();
        let labeled: HashSet<PairId> = human.iter().map(|(p, _)| *p).collect();
        for (p, r) in &gold_split {
            if !labeled.contains(p) {
                human.push((*p, r.clone()));
            }
        }
        let mut prior = vec![0.0; classes.len()];
        for (_, r) in &human {
            if let Some(&i) = class_index.get(r.as_str()) {
                prior[i] += 1.0;
            }
        }
        let mut mix = vec![0.0; classes.len()];
        for a in &admitted {
            if let Some(&i) = class_index.get(a.relation.as_str()) {
                mix[i] += 1.0;
            }
        }
        let prior_share = drift::normalize(&prior);
        let mix_share = drift::normalize(&mix);
        let jsd = if admitted.is_empty() { 0.0 } else { jensen_shannon(&mix_share, &prior_share) };

        // Earlier iterations that still count: the first admissions and the most recent ones.
        let earlier: Vec<IterationRecord> = self
            .store
            .iterations()
            .await?
            .into_iter()
            .filter(|i| i.idx < it.idx && i.status == IterationStatus::Active)
            .collect();
        let with_labels: Vec<&IterationRecord> =
            earlier.iter().filter(|i| i.admitted > 0).collect();
        let first = match with_labels.first() {
            Some(i) => self.store.admitted_labels(i.id).await?,
            None => Vec::new(),
        };
        let recent = match with_labels.last() {
            Some(i) => self.store.admitted_labels(i.id).await?,
            None => Vec::new(),
        };

        // Features with the base model for human samples, admitted samples and references.
        let mut feature_pairs: Vec<PairId> = Vec::new();
        let mut by_relation_human: BTreeMap<&str, Vec<PairId>> = BTreeMap::new();
        let mut by_relation_admitted: BTreeMap<&str, Vec<PairId>> = BTreeMap::new();
        let mut by_relation_first: BTreeMap<&str, Vec<PairId>> = BTreeMap::new();
        let mut by_relation_recent: BTreeMap<&str, Vec<PairId>> = BTreeMap::new();
        for rel in classes.iter().filter(|c| *c != NONE) {
            let of = |v: &[(PairId, String)]| -> Vec<PairId> {
                v.iter().filter(|(_, r)| r == rel).map(|(p, _)| *p).collect()
            };
            let of_admitted = |v: &[AdmittedLabel]| -> Vec<PairId> {
                v.iter().filter(|a| &a.relation == rel).map(|a| a.pair).collect()
            };
            let h = sample(&of(&human), HUMAN_PER_RELATION, 11);
            let a = sample(&of_admitted(&admitted), ADMITTED_PER_RELATION, 12);
            let f = sample(&of_admitted(&first), REFERENCE_ITEMS, 13);
            let r = sample(&of_admitted(&recent), REFERENCE_ITEMS, 14);
            feature_pairs.extend(h.iter().chain(&a).chain(&f).chain(&r));
            by_relation_human.insert(rel, h);
            by_relation_admitted.insert(rel, a);
            by_relation_first.insert(rel, f);
            by_relation_recent.insert(rel, r);
        }
        feature_pairs.sort();
        feature_pairs.dedup();

        // Churn: earlier automatic labels still counting, and human labels outside the gold split.
        let earlier_ids: HashSet<i64> = earlier.iter().map(|i| i.id.0).collect();
        let earlier_auto: Vec<PairId> = labels
            .iter()
            .filter(|l| {
                l.source == LabelSource::Auto
                    && l.iteration.is_some_and(|i| earlier_ids.contains(&i.0))
            })
            .map(|l| l.pair)
            .collect();
        let human_train: Vec<PairId> =
            human.iter().map(|(p, _)| *p).filter(|p| !gold_set.contains(p)).collect();
        let earlier_auto = sample(&earlier_auto, CHURN_ITEMS, 15);
        let human_train = sample(&human_train, CHURN_ITEMS, 16);
        let churn_pairs: Vec<PairId> = earlier_auto.iter().chain(&human_train).copied().collect();
        let gold_pairs: Vec<PairId> = gold_split.iter().map(|(p, _)| *p).collect();

        // Only the pairs the metrics read (a few thousand at most), not the whole project.
        let wanted: Vec<PairId> =
            churn_pairs.iter().chain(&feature_pairs).chain(&gold_pairs).copied().collect();
        let pairs: HashMap<PairId, PairRecord> = self.pair_records(&wanted).await?;
        let record = |p: &PairId| -> Result<&PairRecord> {
            pairs.get(p).ok_or_else(|| EngineError::Invalid(format!("there is no pair {p}")))
        };
        let texts = |v: &[PairId]| -> Result<Vec<PairText>> {
            v.iter().map(|p| record(p).map(pair_text)).collect()
        };

        let base = it.base_model_version;
        let (base_churn, features) = match base {
            Some(b) => {
                let dir = self.store.model_folder(b).await?;
                run_model(self, dir, texts(&churn_pairs)?, texts(&feature_pairs)?).await?
            }
            None => (Vec::new(), Vec::new()),
        };
        let mut scored = churn_pairs.clone();
        scored.extend(&gold_pairs);
        let new_dir = self.store.model_folder(new).await?;
        let (new_scores, _) = run_model(self, new_dir, texts(&scored)?, Vec::new()).await?;
        let (new_churn, new_gold) = new_scores.split_at(churn_pairs.len());

        // A flip is a regression: the base model predicted the pair's label and the new one
        // does not (a flip towards the label is learning, not drift).
        let label_of: HashMap<PairId, usize> = labels
            .iter()
            .filter_map(|l| class_index.get(l.relation.as_str()).map(|&i| (l.pair, i)))
            .collect();
        let churn_of = |range: std::ops::Range<usize>| -> Option<f64> {
            if range.is_empty() || base_churn.is_empty() {
                return None;
            }
            let recs: Vec<&PairRecord> =
                churn_pairs[range.clone()].iter().filter_map(|p| pairs.get(p)).collect();
            let before = predictions(&schema, &classes, &recs, &base_churn[range.clone()]);
            let after = predictions(&schema, &classes, &recs, &new_churn[range.clone()]);
            let label: Vec<Option<usize>> =
                churn_pairs[range].iter().map(|p| label_of.get(p).copied()).collect();
            Some(drift::regression_churn(&before, &after, &label))
        };
        let churn_auto = churn_of(0..earlier_auto.len());
        let churn_human = churn_of(earlier_auto.len()..churn_pairs.len());

        // Centroids, similarities and the McIntosh–Curran ratio.
        let feature_of: HashMap<PairId, &Vec<f32>> =
            feature_pairs.iter().copied().zip(&features).collect();
        let vectors = |v: &[PairId]| -> Vec<Vec<f32>> {
            v.iter().filter_map(|p| feature_of.get(p).map(|f| (*f).clone())).collect()
        };

        let previous_metrics = match base {
            Some(b) => match self.store.model_version(b).await?.metrics_json {
                Some(j) => Some(serde_json::from_str::<Metrics>(&j).map_err(json_err)?),
                None => None,
            },
            None => None,
        };

        let settings = self.settings().await?;
        let mut relations = Vec::new();
        let (mut pooled_below, mut pooled_items) = (0usize, 0usize);
        for (ci, rel) in classes.iter().enumerate() {
            let mine: Vec<&AdmittedLabel> =
                admitted.iter().filter(|a| &a.relation == rel).collect();
            let confidences: Vec<f64> = mine.iter().map(|a| a.probability).collect();
            let mut rd = RelationDrift {
                relation: rel.clone(),
                admitted: mine.len(),
                share: mix_share[ci],
                prior_share: prior_share[ci],
                confidence_mean: if confidences.is_empty() {
                    0.0
                } else {
                    drift::mean(&confidences)
                },
                confidence_histogram: histogram(&confidences, 10, 0.0, 1.0),
                f1: new_metrics.per_relation.get(rel).map(|p| p.f1),
                support: new_metrics.per_relation.get(rel).map_or(0, |p| p.support),
                previous_f1: previous_metrics
                    .as_ref()
                    .and_then(|m| m.per_relation.get(rel).map(|p| p.f1)),
                ..RelationDrift::default()
            };
            if rel != NONE && !features.is_empty() {
                let h = vectors(&by_relation_human[rel.as_str()]);
                let a = vectors(&by_relation_admitted[rel.as_str()]);
                if h.len() >= 2 {
                    let c = centroid(&h);
                    let seed_sims: Vec<f64> = h.iter().map(|v| cosine(v, &c)).collect();
                    rd.seed_similarity_floor =
                        Some(percentile(&seed_sims, settings.alarm_thresholds.centroid_percentile));
                    if !a.is_empty() {
                        let sims: Vec<f64> = a.iter().map(|v| cosine(v, &c)).collect();
                        rd.centroid_similarity = Some(drift::mean(&sims));
                        let floor = rd.seed_similarity_floor.unwrap_or(f64::MIN);
                        let below = sims.iter().filter(|&&x| x < floor).count();
                        rd.below_floor = Some(below as f64 / sims.len() as f64);
                        pooled_below += below;
                        pooled_items += sims.len();
                    }
                }
                let f = vectors(&by_relation_first[rel.as_str()]);
                let r = vectors(&by_relation_recent[rel.as_str()]);
                if !a.is_empty() && !f.is_empty() && !r.is_empty() {
                    let ratios: Vec<f64> =
                        a.iter().map(|v| mcintosh_curran_ratio(v, &f, &r)).collect();
                    rd.mcintosh_curran = Some(drift::mean(&ratios));
                }
            }
            relations.push(rd);
        }

        // Raw predictions of the base model on the pool that the schema forbids.
        let schema_violations = match base {
            Some(b) => self.store.schema_violations(b).await?,
            None => 0,
        };

        // Calibration on the gold split: temperature fitted on one half, ECE on the other.
        let (mut ece, mut temperature) = (None, None);
        let gold_items: Vec<(usize, Vec<f64>)> = gold_split
            .iter()
            .zip(new_gold)
            .filter_map(|((_, r), p)| {
                class_index
                    .get(r.as_str())
                    .map(|&i| (i, p.iter().map(|&x| (x.max(1e-7) as f64).ln()).collect()))
            })
            .collect();
        if gold_items.len() >= 20 {
            let (fit, check): (Vec<_>, Vec<_>) =
                gold_items.iter().enumerate().partition(|(i, _)| i % 2 == 0);
            let fit_logits: Vec<Vec<f64>> = fit.iter().map(|(_, (_, l))| l.clone()).collect();
            let fit_labels: Vec<usize> = fit.iter().map(|(_, (g, _))| *g).collect();
            let t = fit_temperature(&fit_logits, &fit_labels);
            let mut conf = Vec::new();
            let mut correct = Vec::new();
            for (_, (g, l)) in &check {
                let p = softmax_with_temperature(l, t);
                let (best, pb) = p
                    .iter()
                    .enumerate()
                    .fold((0, f64::MIN), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
                conf.push(pb);
                correct.push(best == *g);
            }
            ece = Some(expected_calibration_error(&conf, &correct, 10));
            temperature = Some(t);
        }

        Ok(IterationDrift {
            iteration: it.idx,
            admitted: admitted.len(),
            jsd,
            churn_auto,
            churn_human,
            schema_violations,
            f1: Some(new_metrics.f1),
            previous_f1: previous_metrics.as_ref().map(|m| m.f1),
            ece,
            temperature,
            below_floor: (pooled_items > 0).then(|| pooled_below as f64 / pooled_items as f64),
            below_floor_items: pooled_items,
            relations,
        })
    }

    /// Every iteration with its drift metrics and alarms, oldest first.
    pub async fn review(&self) -> Result<Vec<IterationReview>> {
        let thresholds = self.settings().await?.alarm_thresholds;
        let mut out = Vec::new();
        for it in self.store.iterations().await? {
            out.push(self.iteration_review(&it, &thresholds).await?);
        }
        Ok(out)
    }

    async fn iteration_review(
        &self,
        it: &IterationRecord,
        thresholds: &AlarmThresholds,
    ) -> Result<IterationReview> {
        let drift: Option<IterationDrift> = match &it.drift_json {
            Some(j) => Some(serde_json::from_str(j).map_err(json_err)?),
            None => None,
        };
        let admission_alarms: Vec<Alarm> = match &it.alarms_json {
            Some(j) => serde_json::from_str(j).map_err(json_err)?,
            None => Vec::new(),
        };
        Ok(IterationReview {
            iteration: it.idx,
            status: it.status.as_str().to_string(),
            accepted: it.review.as_deref() == Some("accepted"),
            admitted: it.admitted,
            still_automatic: self.store.current_auto_labels(it.id).await?.len(),
            threshold: it.threshold,
            base_model_version: it.base_model_version,
            model_version: it.model_version,
            started_at: it.started_at.clone(),
            finished_at: it.finished_at.clone(),
            alarms: drift.as_ref().map(|d| alarms(d, thresholds)).unwrap_or_default(),
            drift,
            admission_alarms,
        })
    }

    /// A reviewer's decision on iteration `idx`. Accepting a quarantined or rejected iteration
    /// makes its labels training data again (they count from the next training on).
    pub async fn review_iteration(
        &self,
        idx: i64,
        action: ReviewAction,
    ) -> Result<IterationReview> {
        let it = self.iteration_by_idx(idx).await?;
        if it.status == IterationStatus::RolledBack {
            return Err(EngineError::Invalid(format!("iteration {idx} is rolled back")));
        }
        match action {
            ReviewAction::Accept => {
                self.store.set_iteration_status(it.id, IterationStatus::Active).await?;
                self.store.set_iteration_review(it.id, Some("accepted")).await?;
            }
            ReviewAction::Quarantine => {
                // The status and the demotion of a model trained on the quarantined labels in
                // one transaction, so a bootstrap run promoting it cannot slip in between.
                self.store.quarantine_iteration(it.id).await?;
            }
        }
        let thresholds = self.settings().await?.alarm_thresholds;
        self.iteration_review(&self.iteration_by_idx(idx).await?, &thresholds).await
    }

    /// Sets (or, with `None`, clears) the admission threshold of one relation.
    pub async fn set_relation_threshold(
        &self,
        relation: &str,
        threshold: Option<f64>,
    ) -> Result<()> {
        self.check_relation(relation)?;
        let mut s = self.settings().await?;
        match threshold {
            Some(t) => {
                s.relation_thresholds.insert(relation.to_string(), t);
            }
            None => {
                s.relation_thresholds.remove(relation);
            }
        }
        self.set_settings(&s).await
    }

    /// Freezes a relation (no more automatic admissions) or thaws it.
    pub async fn freeze_relation(&self, relation: &str, frozen: bool) -> Result<()> {
        self.check_relation(relation)?;
        let mut s = self.settings().await?;
        if frozen {
            s.frozen_relations.insert(relation.to_string());
        } else {
            s.frozen_relations.remove(relation);
        }
        self.set_settings(&s).await
    }

    fn check_relation(&self, relation: &str) -> Result<()> {
        if relation == NONE || !self.store.schema().classes().iter().any(|c| c == relation) {
            return Err(EngineError::Invalid(format!(
                "`{relation}` is not a relation of this project's schema"
            )));
        }
        Ok(())
    }
}
