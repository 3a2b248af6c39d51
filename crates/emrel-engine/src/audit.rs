//! The stratified audit of an iteration's automatic labels.
//!
//! Strata are relation × confidence bin within the iteration (the iteration is the third
//! dimension: each iteration is audited on its own). The population is every label the
//! iteration admitted; each stratum's sample is a fixed pseudo-random order of its items, of
//! which the first `n_h` are drawn: at least `audit_per_stratum` (all items of smaller strata),
//! or a Neyman allocation of a total budget with that minimum. Reviewers judge items with the
//! model's score and the label's provenance hidden; a correct label is confirmed and a wrong one
//! fixed, both becoming human labels. The estimate is the stratified precision with its 95%
//! interval, per-stratum Wilson intervals, the expected number of wrong labels, and the decision
//! against the target precision: accept, roll back, or judge more.

use std::collections::{BTreeMap, HashMap, HashSet};

use emrel_core::NONE;
use emrel_core::audit::{self, Decision, Stratum, Z95, wilson_interval};
use emrel_store::{AdmittedLabel, IterationRecord, JudgementWrite, PairId};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::labeling::Item;
use crate::{Project, queue};

/// Upper edges of the confidence bins (the last bin reaches 1).
pub const CONFIDENCE_EDGES: [f64; 3] = [0.8, 0.9, 0.97];

/// The bin of a probability: 0 = below 0.8, 1 = 0.8–0.9, 2 = 0.9–0.97, 3 = 0.97 and above.
pub fn confidence_bin(p: f64) -> usize {
    CONFIDENCE_EDGES.iter().take_while(|&&e| p >= e).count()
}

/// How a bin is written.
pub fn bin_label(bin: usize) -> String {
    match bin {
        0 => format!("<{:.2}", CONFIDENCE_EDGES[0]),
        b if b >= CONFIDENCE_EDGES.len() => format!("≥{:.2}", CONFIDENCE_EDGES[b - 1]),
        b => format!("{:.2}–{:.2}", CONFIDENCE_EDGES[b - 1], CONFIDENCE_EDGES[b]),
    }
}

/// How many items to draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AuditOptions {
    /// At least this many per stratum (all items of smaller strata).
    pub per_stratum: usize,
    /// A total budget spread by Neyman allocation (never under `per_stratum` per stratum).
    pub budget: Option<usize>,
}

/// One stratum's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratumView {
    pub relation: String,
    pub bin: usize,
    pub bin_label: String,
    /// Labels in the stratum.
    pub size: usize,
    /// Items drawn for judgement.
    pub sample: usize,
    pub judged: usize,
    pub correct: usize,
    /// Wilson 95% interval of the stratum's precision (0–1 before any judgement).
    pub low: f64,
    pub high: f64,
}

/// The audit of one iteration so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditSummary {
    pub iteration: i64,
    pub target: f64,
    pub population: usize,
    pub sample: usize,
    pub judged: usize,
    pub strata: Vec<StratumView>,
    /// Stratified precision (`None` before any judgement).
    pub precision: Option<f64>,
    pub low: f64,
    pub high: f64,
    /// Expected wrong labels among the judged strata's population.
    pub expected_wrong: Option<f64>,
    /// `accept`, `roll_back` or `sample_more`.
    pub decision: String,
}

/// An item to judge: the pair as the annotate screen shows it, without suggestion, score or
/// provenance, and the automatic label under review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditItem {
    pub iteration: i64,
    pub label: String,
    pub item: Item,
    /// Items of the sample left to judge, this one included.
    pub remaining: usize,
}

struct Plan {
    /// (relation, bin) → the stratum's population in draw order.
    strata: BTreeMap<(String, usize), Vec<AdmittedLabel>>,
    sample_sizes: BTreeMap<(String, usize), usize>,
}

impl Project {
    async fn audit_plan(&self, it: &IterationRecord, options: &AuditOptions) -> Result<Plan> {
        let mut strata: BTreeMap<(String, usize), Vec<AdmittedLabel>> = BTreeMap::new();
        for a in self.store.admitted_labels(it.id).await? {
            strata.entry((a.relation.clone(), confidence_bin(a.probability))).or_default().push(a);
        }
        for items in strata.values_mut() {
            items.sort_by_key(|a| queue::shuffle_key(it.id.0 as u64 ^ 0xA0D1, a.pair));
        }
        let keys: Vec<(String, usize)> = strata.keys().cloned().collect();
        let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
        let minimum = options.per_stratum.max(1);
        let counts: Vec<usize> = match options.budget {
            Some(b) => {
                // S_h from each stratum's mean admitted probability: a guess fixed before any
                // judgement, so the drawn prefix does not move as judgements arrive.
                let guesses: Vec<Option<f64>> = strata
                    .values()
                    .map(|v| Some(v.iter().map(|a| a.probability).sum::<f64>() / v.len() as f64))
                    .collect();
                audit::neyman_allocation(&sizes, &guesses, b, minimum)
            }
            None => sizes.iter().map(|&n| n.min(minimum)).collect(),
        };
        Ok(Plan { strata, sample_sizes: keys.into_iter().zip(counts).collect() })
    }

    fn audit_options(&self, settings: &crate::Settings, budget: Option<usize>) -> AuditOptions {
        AuditOptions { per_stratum: settings.audit_per_stratum, budget }
    }

    /// The audit of iteration `idx` so far.
    pub async fn audit_summary(&self, idx: i64, budget: Option<usize>) -> Result<AuditSummary> {
        let settings = self.settings().await?;
        let it = self.iteration_by_idx(idx).await?;
        let plan = self.audit_plan(&it, &self.audit_options(&settings, budget)).await?;
        let judgements = self.store.judgements(it.id).await?;
        // Judgements count in the stratum their pair belongs to in the plan.
        let key_of: HashMap<PairId, &(String, usize)> = plan
            .strata
            .iter()
            .flat_map(|(k, items)| items.iter().map(move |a| (a.pair, k)))
            .collect();
        let mut judged: HashMap<(String, usize), (usize, usize)> = HashMap::new();
        for j in &judgements {
            let Some(&key) = key_of.get(&j.pair) else { continue };
            let e = judged.entry(key.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(j.correct);
        }
        let mut views = Vec::new();
        let mut strata = Vec::new();
        for (key, items) in &plan.strata {
            let (n, c) = judged.get(key).copied().unwrap_or((0, 0));
            let (low, high) = wilson_interval(c, n, Z95);
            views.push(StratumView {
                relation: key.0.clone(),
                bin: key.1,
                bin_label: bin_label(key.1),
                size: items.len(),
                sample: plan.sample_sizes[key],
                judged: n,
                correct: c,
                low,
                high,
            });
            strata.push(Stratum { size: items.len(), sampled: n, correct: c });
        }
        let estimate = audit::stratified_estimate(&strata, Z95);
        let any = !judgements.is_empty();
        let decision = match any.then(|| audit::decide(&estimate, settings.audit_target)) {
            Some(Decision::Accept) => "accept",
            Some(Decision::RollBack) => "roll_back",
            _ => "sample_more",
        };
        Ok(AuditSummary {
            iteration: idx,
            target: settings.audit_target,
            population: plan.strata.values().map(Vec::len).sum(),
            sample: plan.sample_sizes.values().sum(),
            judged: judgements.len(),
            strata: views,
            precision: any.then_some(estimate.precision),
            low: estimate.low,
            high: estimate.high,
            expected_wrong: any.then_some(estimate.expected_wrong),
            decision: decision.to_string(),
        })
    }

    /// The drawn items of iteration `idx` not judged yet, in judging order (strata interleaved
    /// so that every stratum gets judgements early).
    async fn audit_pending(
        &self,
        it: &IterationRecord,
        options: &AuditOptions,
    ) -> Result<Vec<AdmittedLabel>> {
        let plan = self.audit_plan(it, options).await?;
        let done: HashSet<PairId> =
            self.store.judgements(it.id).await?.into_iter().map(|j| j.pair).collect();
        let lanes: Vec<Vec<AdmittedLabel>> = plan
            .strata
            .iter()
            .map(|(k, items)| {
                items
                    .iter()
                    .take(plan.sample_sizes[k])
                    .filter(|a| !done.contains(&a.pair))
                    .cloned()
                    .collect()
            })
            .collect();
        let longest = lanes.iter().map(Vec::len).max().unwrap_or(0);
        let mut out = Vec::new();
        for i in 0..longest {
            out.extend(lanes.iter().filter_map(|l| l.get(i).cloned()));
        }
        Ok(out)
    }

    /// The next item of iteration `idx`'s audit sample; `None` when the sample is judged.
    pub async fn audit_next(&self, idx: i64, budget: Option<usize>) -> Result<Option<AuditItem>> {
        let settings = self.settings().await?;
        let it = self.iteration_by_idx(idx).await?;
        let pending = self.audit_pending(&it, &self.audit_options(&settings, budget)).await?;
        let Some(a) = pending.first() else { return Ok(None) };
        let mut item = self.item(a.pair).await?;
        item.suggestion = None;
        item.current = None;
        Ok(Some(AuditItem {
            iteration: idx,
            label: a.relation.clone(),
            item,
            remaining: pending.len(),
        }))
    }

    /// Records a judgement of `pair` in iteration `idx`'s audit: `right_relation` is `None` when
    /// the automatic label is correct, else the relation the pair should have (which becomes
    /// its human label; a correct label is confirmed).
    pub async fn judge(
        &self,
        idx: i64,
        pair: PairId,
        right_relation: Option<&str>,
        annotator: &str,
    ) -> Result<AuditSummary> {
        Self::check_annotator(annotator)?;
        let it = self.iteration_by_idx(idx).await?;
        if it.status == emrel_store::IterationStatus::RolledBack {
            return Err(EngineError::Invalid(format!(
                "iteration {idx} is rolled back: its labels are gone, there is nothing to audit"
            )));
        }
        let admitted = self
            .store
            .admitted_labels(it.id)
            .await?
            .into_iter()
            .find(|a| a.pair == pair)
            .ok_or_else(|| {
                EngineError::Invalid(format!("iteration {idx} did not admit pair {pair}"))
            })?;
        let correct = right_relation.is_none_or(|r| r == admitted.relation);
        if let Some(r) = right_relation.filter(|_| !correct) {
            let p = self.store.pair(pair).await?;
            let schema = self.store.schema();
            if r != NONE && !schema.allows(r, &p.head.entity_type, &p.tail.entity_type) {
                return Err(EngineError::Invalid(format!(
                    "{r} is not allowed from {} to {}",
                    p.head.entity_type, p.tail.entity_type
                )));
            }
        }
        self.store
            .record_judgement(&JudgementWrite {
                iteration: it.id,
                pair,
                relation: admitted.relation.clone(),
                probability: admitted.probability,
                confidence_bin: confidence_bin(admitted.probability),
                correct,
                right_relation: if correct { None } else { right_relation.map(str::to_string) },
                annotator: annotator.to_string(),
            })
            .await?;
        self.audit_summary(idx, None).await
    }

    /// Audits iteration `idx` with a simulated reviewer who answers from the corpus's gold
    /// relations (pairs without one are `none`): judges every pending drawn item.
    pub async fn audit_from_gold(
        &self,
        idx: i64,
        budget: Option<usize>,
        annotator: &str,
    ) -> Result<AuditSummary> {
        let gold = self.store.gold_labels().await?;
        if gold.is_empty() {
            return Err(EngineError::Invalid(
                "a simulated audit needs gold relations (the demo corpus, or a brat import with --relations-as gold)".into(),
            ));
        }
        let settings = self.settings().await?;
        let it = self.iteration_by_idx(idx).await?;
        for a in self.audit_pending(&it, &self.audit_options(&settings, budget)).await? {
            let truth = gold.get(&a.pair).map_or(NONE, String::as_str);
            self.judge(idx, a.pair, Some(truth), annotator).await?;
        }
        self.audit_summary(idx, budget).await
    }

    /// True precision of iteration `idx`'s admitted labels against gold (simulation only).
    pub async fn admitted_precision_from_gold(&self, idx: i64) -> Result<Option<f64>> {
        let gold = self.store.gold_labels().await?;
        let it = self.iteration_by_idx(idx).await?;
        let admitted = self.store.admitted_labels(it.id).await?;
        if admitted.is_empty() || gold.is_empty() {
            return Ok(None);
        }
        let right = admitted
            .iter()
            .filter(|a| gold.get(&a.pair).map_or(NONE, String::as_str) == a.relation)
            .count();
        Ok(Some(right as f64 / admitted.len() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_split_at_the_documented_edges() {
        assert_eq!(confidence_bin(0.7), 0);
        assert_eq!(confidence_bin(0.8), 1);
        assert_eq!(confidence_bin(0.95), 2);
        assert_eq!(confidence_bin(0.97), 3);
        assert_eq!(confidence_bin(1.0), 3);
        assert_eq!(bin_label(0), "<0.80");
        assert_eq!(bin_label(2), "0.90–0.97");
        assert_eq!(bin_label(3), "≥0.97");
    }
}
