//! The annotation queues, computed from stored scores (never by running a model per request).
//!
//! - `seed`: unlabeled pairs, in random order or most-uncertain first (smallest margin or largest
//!   entropy of the current model), interleaved across pair categories so that the category with
//!   the fewest labels comes next and rare categories are not starved.
//! - `confirm`: the reliable set (unlabeled pairs whose schema-valid prediction reaches λ) and
//!   the automatic labels, lowest confidence first, or random.
//! - `uncertain`: the current model's least certain unlabeled pairs.
//!
//! Pairs an annotator skipped go to the end of that annotator's queues. Random order is a fixed
//! pseudo-random permutation per seed, so two annotators with different seeds see different
//! orders and a restarted app shows the same one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::str::FromStr;

use emrel_core::LabelSource;
use emrel_store::{PairId, QueueRow};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    Seed,
    Confirm,
    Uncertain,
}

/// How a queue is ordered. `Margin` and `Entropy` are uncertainty orders; `Confidence` (lowest
/// first) is the confirm queue's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOrder {
    Random,
    Margin,
    Entropy,
    Confidence,
}

/// A queue as a front end asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub kind: QueueKind,
    pub order: QueueOrder,
    /// Seed of the random order.
    pub seed: u64,
}

impl Queue {
    /// The seed queue in random order.
    pub fn seed_random(seed: u64) -> Queue {
        Queue { kind: QueueKind::Seed, order: QueueOrder::Random, seed }
    }

    /// The seed queue, smallest margin first.
    pub fn seed_uncertain() -> Queue {
        Queue { kind: QueueKind::Seed, order: QueueOrder::Margin, seed: 0 }
    }

    /// The confirm queue, lowest confidence first.
    pub fn confirm() -> Queue {
        Queue { kind: QueueKind::Confirm, order: QueueOrder::Confidence, seed: 0 }
    }

    /// The uncertain queue, smallest margin first.
    pub fn uncertain() -> Queue {
        Queue { kind: QueueKind::Uncertain, order: QueueOrder::Margin, seed: 0 }
    }
}

impl fmt::Display for QueueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueueKind::Seed => "seed",
            QueueKind::Confirm => "confirm",
            QueueKind::Uncertain => "uncertain",
        })
    }
}

impl FromStr for QueueKind {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "seed" => Ok(QueueKind::Seed),
            "confirm" => Ok(QueueKind::Confirm),
            "uncertain" => Ok(QueueKind::Uncertain),
            other => Err(EngineError::Invalid(format!(
                "unknown queue `{other}` (expected seed, confirm or uncertain)"
            ))),
        }
    }
}

/// splitmix64: a fixed pseudo-random key per (seed, pair).
pub(crate) fn shuffle_key(seed: u64, pair: PairId) -> u64 {
    let mut z = seed ^ (pair.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// λ as admission applies it: a default threshold, raised (or lowered) per relation by
/// reviewers, and relations frozen by reviewers that admit nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Lambda {
    pub default: f64,
    pub per_relation: BTreeMap<String, f64>,
    pub frozen: BTreeSet<String>,
}

impl Lambda {
    /// A single threshold for every relation.
    pub fn uniform(default: f64) -> Lambda {
        Lambda { default, ..Lambda::default() }
    }

    /// The threshold of `relation`.
    pub fn of(&self, relation: &str) -> f64 {
        self.per_relation.get(relation).copied().unwrap_or(self.default)
    }

    /// Whether a prediction of `relation` with probability `p` may be admitted.
    pub fn admits(&self, relation: &str, p: f64) -> bool {
        !self.frozen.contains(relation) && p >= self.of(relation)
    }
}

/// Whether a row belongs to the reliable set at threshold `lambda`: unlabeled, outside the gold
/// split, and its top prediction is schema-valid and reaches λ.
pub(crate) fn is_reliable(row: &QueueRow, lambda: &Lambda) -> bool {
    row.label.is_none()
        && !row.in_gold_split
        && row
            .score
            .as_ref()
            .is_some_and(|s| s.top_valid && lambda.admits(&s.top_relation, s.top_probability))
}

fn is_unlabeled(row: &QueueRow) -> bool {
    row.label.is_none() && !row.in_gold_split
}

/// Sort key: smaller comes first. Skipped pairs last; then the order's key; ties by the random
/// key, then the pair id.
fn key(row: &QueueRow, queue: &Queue) -> (i64, f64, u64, i64) {
    let random = shuffle_key(queue.seed, row.pair);
    let primary = match queue.order {
        QueueOrder::Random => 0.0,
        QueueOrder::Margin => row.score.as_ref().map_or(f64::INFINITY, |s| s.margin),
        QueueOrder::Entropy => row.score.as_ref().map_or(f64::INFINITY, |s| -s.entropy),
        QueueOrder::Confidence => confidence(row).unwrap_or(f64::INFINITY),
    };
    (row.skips, primary, random, row.pair.0)
}

fn confidence(row: &QueueRow) -> Option<f64> {
    match &row.label {
        Some(l) if l.source == LabelSource::Auto => l.probability,
        Some(_) => None,
        None => row.score.as_ref().map(|s| s.top_probability),
    }
}

fn sort(rows: &mut [&QueueRow], queue: &Queue) {
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(a, queue), key(b, queue));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.cmp(&kb.2)).then(ka.3.cmp(&kb.3))
    });
}

/// The pairs of `queue` in order. `lambda` defines the reliable set; `labeled_per_category`
/// (current labels per pair category) drives the seed queue's stratification.
pub fn order(
    rows: &[QueueRow],
    queue: &Queue,
    lambda: &Lambda,
    labeled_per_category: &BTreeMap<String, usize>,
) -> Vec<PairId> {
    match queue.kind {
        QueueKind::Seed => {
            let mut by_category: BTreeMap<&str, Vec<&QueueRow>> = BTreeMap::new();
            for r in rows.iter().filter(|r| is_unlabeled(r)) {
                by_category.entry(&r.category).or_default().push(r);
            }
            let mut lanes: Vec<(usize, &str, VecDeque<&QueueRow>)> = by_category
                .into_iter()
                .map(|(c, mut v)| {
                    sort(&mut v, queue);
                    (labeled_per_category.get(c).copied().unwrap_or(0), c, v.into())
                })
                .collect();
            // Skipped pairs go last across all categories, not just within theirs.
            let mut out = Vec::new();
            let mut skipped = Vec::new();
            loop {
                let next = lanes
                    .iter_mut()
                    .filter(|(_, _, lane)| !lane.is_empty())
                    .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
                let Some((count, _, lane)) = next else { break };
                let row = lane.pop_front().expect("the lane is not empty");
                *count += 1;
                if row.skips > 0 { skipped.push(row) } else { out.push(row.pair) }
            }
            sort(&mut skipped, queue);
            out.extend(skipped.into_iter().map(|r| r.pair));
            out
        }
        QueueKind::Confirm => {
            let mut v: Vec<&QueueRow> = rows
                .iter()
                .filter(|r| {
                    is_reliable(r, lambda)
                        || r.label.as_ref().is_some_and(|l| l.source == LabelSource::Auto)
                })
                .collect();
            sort(&mut v, queue);
            v.into_iter().map(|r| r.pair).collect()
        }
        QueueKind::Uncertain => {
            let mut v: Vec<&QueueRow> =
                rows.iter().filter(|r| is_unlabeled(r) && r.score.is_some()).collect();
            let by = match queue.order {
                QueueOrder::Entropy => QueueOrder::Entropy,
                _ => QueueOrder::Margin,
            };
            sort(&mut v, &Queue { order: by, ..*queue });
            v.into_iter().map(|r| r.pair).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use emrel_store::{CurrentLabel, ScoreSummary};

    use super::*;

    fn row(pair: i64, category: &str, margin: Option<f64>, label: Option<&str>) -> QueueRow {
        QueueRow {
            pair: PairId(pair),
            category: category.into(),
            score: margin.map(|m| ScoreSummary {
                top_relation: "SAP".into(),
                top_probability: 0.5 + m / 2.0,
                margin: m,
                entropy: 1.0 - m,
                top_valid: true,
            }),
            label: label.map(|r| CurrentLabel {
                relation: r.into(),
                source: LabelSource::Human,
                probability: None,
                iteration: None,
            }),
            in_gold_split: false,
            skips: 0,
        }
    }

    #[test]
    fn seed_queue_serves_the_least_labeled_category_first() {
        let rows = vec![
            row(1, "a", Some(0.1), None),
            row(2, "a", Some(0.2), None),
            row(3, "a", Some(0.3), None),
            row(4, "b", Some(0.9), None),
            row(5, "b", Some(0.8), Some("SAP")),
        ];
        let labeled = BTreeMap::from([("b".to_string(), 1usize)]);
        let got = order(&rows, &Queue::seed_uncertain(), &Lambda::uniform(0.7), &labeled);
        // a has 0 labels → 1; then a (1) vs b (1) tie → a by name → 2; then b (1) < a (2) → 4.
        assert_eq!(got, vec![PairId(1), PairId(2), PairId(4), PairId(3)]);
    }

    #[test]
    fn uncertain_queue_is_smallest_margin_first_and_skips_go_last() {
        let mut rows = vec![
            row(1, "a", Some(0.5), None),
            row(2, "b", Some(0.05), None),
            row(3, "a", Some(0.2), None),
            row(4, "a", None, None),
        ];
        rows[1].skips = 1;
        let got = order(&rows, &Queue::uncertain(), &Lambda::uniform(0.7), &BTreeMap::new());
        assert_eq!(got, vec![PairId(3), PairId(1), PairId(2)]);
    }
}

#[cfg(test)]
mod lambda_tests {
    use super::*;

    #[test]
    fn per_relation_thresholds_and_frozen_relations() {
        let mut l = Lambda::uniform(0.7);
        assert!(l.admits("SAP", 0.7));
        l.per_relation.insert("SAP".into(), 0.9);
        l.frozen.insert("DAP".into());
        assert!(!l.admits("SAP", 0.85), "SAP's raised threshold applies");
        assert!(l.admits("SAP", 0.9));
        assert!(!l.admits("DAP", 0.99), "a frozen relation admits nothing");
        assert!(l.admits("TeAP", 0.75), "other relations keep the default");
    }
}
