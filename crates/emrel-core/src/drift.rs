//! Semantic-drift statistics for bootstrapping iterations: how far the admitted label mix moves
//! from the human prior, how confident and how typical the admitted items are, how many earlier
//! predictions flip, and whether displayed confidences are calibrated. Pure functions, so each can
//! be checked against hand-computed values.

use serde::{Deserialize, Serialize};

/// Normalises non-negative weights to a probability distribution (all zeros stay zeros).
pub fn normalize(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return vec![0.0; weights.len()];
    }
    weights.iter().map(|w| w / total).collect()
}

/// Jensen–Shannon divergence in bits (0 = same distribution, 1 = disjoint support) between two
/// count or probability vectors of the same length.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    assert_eq!(p.len(), q.len(), "distributions differ in length");
    let (p, q) = (normalize(p), normalize(q));
    let kl = |a: &[f64], m: &[f64]| -> f64 {
        a.iter().zip(m).filter(|(x, _)| **x > 0.0).map(|(x, y)| x * (x / y).log2()).sum()
    };
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| 0.5 * (a + b)).collect();
    (0.5 * kl(&p, &m) + 0.5 * kl(&q, &m)).clamp(0.0, 1.0)
}

/// Counts of `values` in `bins` equal-width bins over `[lo, hi]` (the top edge belongs to the
/// last bin; values outside are clamped into the end bins).
pub fn histogram(values: &[f64], bins: usize, lo: f64, hi: f64) -> Vec<usize> {
    let mut out = vec![0; bins];
    for &v in values {
        let b = (((v - lo) / (hi - lo)) * bins as f64).floor();
        out[(b.max(0.0) as usize).min(bins - 1)] += 1;
    }
    out
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// The mean vector of `vectors` (empty when there are none).
pub fn centroid(vectors: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = vectors.first() else { return Vec::new() };
    let mut c = vec![0.0f64; first.len()];
    for v in vectors {
        for (a, b) in c.iter_mut().zip(v) {
            *a += *b as f64;
        }
    }
    c.into_iter().map(|x| (x / vectors.len() as f64) as f32).collect()
}

/// McIntosh and Curran's drift ratio for one item: its mean similarity to the first admitted
/// items of a relation divided by its mean similarity to the most recently admitted ones. Values
/// well below 1 mean the item resembles recent admissions more than the relation's origins.
pub fn mcintosh_curran_ratio(item: &[f32], first: &[Vec<f32>], recent: &[Vec<f32>]) -> f64 {
    let avg = |set: &[Vec<f32>]| mean(&set.iter().map(|v| cosine(item, v)).collect::<Vec<_>>());
    let r = avg(recent);
    if r == 0.0 { 0.0 } else { avg(first) / r }
}

/// The `p`-th percentile (0–100) with linear interpolation between order statistics, as numpy's
/// default `percentile` computes it.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

/// Share of items whose prediction differs between two runs (0 when there are none).
pub fn churn(before: &[usize], after: &[usize]) -> f64 {
    assert_eq!(before.len(), after.len());
    if before.is_empty() {
        return 0.0;
    }
    before.iter().zip(after).filter(|(a, b)| a != b).count() as f64 / before.len() as f64
}

/// Expected calibration error over `bins` equal-width confidence bins: the weighted mean gap
/// between the accuracy and the mean confidence of each bin.
pub fn expected_calibration_error(confidence: &[f64], correct: &[bool], bins: usize) -> f64 {
    assert_eq!(confidence.len(), correct.len());
    if confidence.is_empty() {
        return 0.0;
    }
    let mut n = vec![0usize; bins];
    let mut conf = vec![0.0; bins];
    let mut acc = vec![0.0; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        // Bins are (k/B, (k+1)/B], as in Guo et al. (2017).
        let b = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        n[b] += 1;
        conf[b] += c;
        acc[b] += if ok { 1.0 } else { 0.0 };
    }
    let total = confidence.len() as f64;
    (0..bins).filter(|&b| n[b] > 0).map(|b| (acc[b] - conf[b]).abs() / total).sum()
}

/// Softmax of `logits / temperature`.
pub fn softmax_with_temperature(logits: &[f64], temperature: f64) -> Vec<f64> {
    let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| ((l - max) / temperature).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// Mean negative log-likelihood of the true classes under temperature `t`.
pub fn nll(logits: &[Vec<f64>], labels: &[usize], t: f64) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(labels)
        .map(|(l, &y)| -softmax_with_temperature(l, t)[y].max(1e-300).ln())
        .sum();
    total / logits.len().max(1) as f64
}

/// Fits the temperature that minimises the NLL of `labels` (Guo et al. 2017's temperature
/// scaling) by golden-section search over log T in [0.05, 20]. Logits may be log-probabilities.
pub fn fit_temperature(logits: &[Vec<f64>], labels: &[usize]) -> f64 {
    if logits.is_empty() {
        return 1.0;
    }
    let f = |log_t: f64| nll(logits, labels, log_t.exp());
    let (mut a, mut b) = (0.05f64.ln(), 20.0f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..80 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    ((a + b) / 2.0).exp()
}

/// Share of items whose prediction regressed: `before` matched the item's label and `after`
/// does not. Items without a label count in the denominator only. 0 for no items.
pub fn regression_churn(before: &[usize], after: &[usize], label: &[Option<usize>]) -> f64 {
    if before.is_empty() {
        return 0.0;
    }
    let lost = before
        .iter()
        .zip(after)
        .zip(label)
        .filter(|((b, a), l)| l.is_some_and(|l| **b == l && **a != l))
        .count();
    lost as f64 / before.len() as f64
}

/// Thresholds above (or below) which a drift metric raises an alarm. Defaults: JSD > 0.3; a
/// relation's admitted share > 5× its human prior; gold-split F1 drop > 5 points overall or > 10
/// points on a relation (with ≥ 20 gold items); regression churn > 5%; a relation's mean centroid
/// similarity below the 5th percentile of its human items' similarity (with ≥ 10 admitted); more
/// than 15% of the admitted items, all relations pooled, below their relation's 5th percentile
/// (three times the rate of human items).
///
/// JSD and the share ratio are higher than the textbook 0.1 and 2× because admission selects
/// the model's most confident predictions, which are never distributed like the human labels:
/// on clean demo iterations JSD against the prior reached 0.05–0.24 and share ratios 4.5×. The
/// F1 drops are wider than 2 and 5 points because a gold split of a few hundred pairs moves by
/// several points between two clean retrainings (ARCHITECTURE.md, "Drift alarms").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmThresholds {
    pub jsd: f64,
    pub share_ratio: f64,
    pub f1_drop_overall: f64,
    pub f1_drop_relation: f64,
    pub churn: f64,
    /// Centroid similarity alarms below this percentile of seed-to-seed similarities.
    pub centroid_percentile: f64,
    /// Alarm when more than this share of an iteration's admitted items (all relations pooled)
    /// lie below their relation's floor; by the floor's definition about 5% of human items do.
    #[serde(default = "default_below_floor")]
    pub below_floor: f64,
    /// Per-relation share and centroid alarms need at least this many admitted labels of the
    /// relation (a handful of items says nothing).
    #[serde(default = "default_min_admitted")]
    pub min_admitted: usize,
    /// Per-relation F1 alarms need at least this many gold-split items of the relation.
    #[serde(default = "default_min_support")]
    pub min_support: usize,
}

fn default_below_floor() -> f64 {
    0.15
}

fn default_min_admitted() -> usize {
    10
}

fn default_min_support() -> usize {
    20
}

impl Default for AlarmThresholds {
    fn default() -> Self {
        AlarmThresholds {
            jsd: 0.3,
            share_ratio: 5.0,
            f1_drop_overall: 0.05,
            f1_drop_relation: 0.10,
            churn: 0.05,
            centroid_percentile: 5.0,
            below_floor: default_below_floor(),
            min_admitted: default_min_admitted(),
            min_support: default_min_support(),
        }
    }
}

/// Drift metrics of one relation in one iteration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RelationDrift {
    pub relation: String,
    pub admitted: usize,
    /// Share of this relation among the iteration's admitted labels.
    pub share: f64,
    /// Share of this relation among human labels (the prior).
    pub prior_share: f64,
    pub confidence_mean: f64,
    /// Counts of admitted confidences in 10 bins over [0, 1].
    pub confidence_histogram: Vec<usize>,
    /// Mean cosine similarity of admitted items' features to the human centroid of the relation.
    pub centroid_similarity: Option<f64>,
    /// The `centroid_percentile`-th percentile of human items' similarity to that centroid.
    pub seed_similarity_floor: Option<f64>,
    /// Share of the admitted items whose similarity to the centroid is below that floor.
    #[serde(default)]
    pub below_floor: Option<f64>,
    /// Mean McIntosh–Curran ratio of the admitted items.
    pub mcintosh_curran: Option<f64>,
    pub f1: Option<f64>,
    pub previous_f1: Option<f64>,
    /// Gold-split items of the relation (the support of `f1`).
    #[serde(default)]
    pub support: usize,
}

/// Drift metrics of one iteration, stored with it when it is admitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IterationDrift {
    pub iteration: i64,
    pub admitted: usize,
    /// JSD of the admitted label mix (with `none`) against the human-label prior.
    pub jsd: f64,
    /// Share of earlier auto labels the base model predicted and the new model no longer does.
    pub churn_auto: Option<f64>,
    /// Share of human labels (outside the gold split) the base model predicted correctly and the
    /// new model gets wrong.
    pub churn_human: Option<f64>,
    /// Raw top predictions whose relation the schema forbids for the pair's types.
    pub schema_violations: usize,
    pub f1: Option<f64>,
    pub previous_f1: Option<f64>,
    /// Expected calibration error on the gold split after temperature scaling.
    pub ece: Option<f64>,
    pub temperature: Option<f64>,
    /// Over every relation (not `none`): share of admitted items below their relation's
    /// seed-similarity floor, and how many items that share is over.
    #[serde(default)]
    pub below_floor: Option<f64>,
    #[serde(default)]
    pub below_floor_items: usize,
    pub relations: Vec<RelationDrift>,
}

/// A threshold crossed: which iteration, which relation (`*` for the whole iteration), which
/// metric, its value and the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub iteration: i64,
    pub relation: String,
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    /// Whether this alarm quarantines the iteration (when automatic quarantine is on); see
    /// [`quarantines`].
    #[serde(default)]
    pub quarantine: bool,
}

/// The metrics whose alarms quarantine an iteration: the ones that point at wrong labels
/// (admitted items far from their relation's human examples) or a model made worse (gold-split
/// F1 drops). The label-mix and churn alarms are shown to reviewers but do not quarantine by
/// themselves: with few labels a model that improves a lot also changes its predictions and
/// its admitted mix a lot (on the demo, iterations that raised F1 from 21 to 73 points crossed
/// the JSD and churn thresholds).
pub fn quarantines(metric: &str) -> bool {
    matches!(metric, "below_floor" | "centroid_similarity" | "f1_drop")
}

/// Every alarm an iteration's metrics raise.
pub fn alarms(m: &IterationDrift, t: &AlarmThresholds) -> Vec<Alarm> {
    let mut out = Vec::new();
    if m.admitted == 0 {
        return out;
    }
    let mut raise = |relation: &str, metric: &str, value: f64, threshold: f64| {
        out.push(Alarm {
            iteration: m.iteration,
            relation: relation.to_string(),
            metric: metric.to_string(),
            value,
            threshold,
            quarantine: quarantines(metric),
        })
    };
    if m.jsd > t.jsd {
        raise("*", "jsd", m.jsd, t.jsd);
    }
    if let (Some(f1), Some(prev)) = (m.f1, m.previous_f1)
        && prev - f1 > t.f1_drop_overall
    {
        raise("*", "f1_drop", prev - f1, t.f1_drop_overall);
    }
    if let Some(share) = m.below_floor
        && m.below_floor_items >= t.min_admitted.max(1)
        && share > t.below_floor
    {
        raise("*", "below_floor", share, t.below_floor);
    }
    for (metric, v) in [("churn_auto", m.churn_auto), ("churn_human", m.churn_human)] {
        if let Some(v) = v
            && v > t.churn
        {
            raise("*", metric, v, t.churn);
        }
    }
    for r in &m.relations {
        let enough = r.admitted >= t.min_admitted.max(1);
        if r.prior_share > 0.0 && enough && r.share > t.share_ratio * r.prior_share {
            raise(&r.relation, "share_ratio", r.share / r.prior_share, t.share_ratio);
        }
        if let (Some(f1), Some(prev)) = (r.f1, r.previous_f1)
            && r.support >= t.min_support
            && prev - f1 > t.f1_drop_relation
        {
            raise(&r.relation, "f1_drop", prev - f1, t.f1_drop_relation);
        }
        if let (Some(sim), Some(floor)) = (r.centroid_similarity, r.seed_similarity_floor)
            && enough
            && sim < floor
        {
            raise(&r.relation, "centroid_similarity", sim, floor);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn jsd_matches_hand_computed_values() {
        close(jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]), 1.0);
        close(jensen_shannon(&[3.0, 1.0], &[30.0, 10.0]), 0.0);
        // P = (.5, .5), Q = (1, 0), M = (.75, .25):
        // KL(P||M) = .5 log2(.5/.75) + .5 log2(.5/.25) = 0.2075187496; KL(Q||M) = log2(4/3).
        close(
            jensen_shannon(&[0.5, 0.5], &[1.0, 0.0]),
            0.5 * (0.2075187496394219 + 0.4150374992788438),
        );
    }

    #[test]
    fn regression_churn_counts_only_lost_labels() {
        // Item 0 regressed, item 1 learned (not churn), item 2 unchanged, item 3 unlabeled.
        let before = [1, 0, 2, 1];
        let after = [0, 1, 2, 0];
        let label = [Some(1), Some(1), Some(2), None];
        close(regression_churn(&before, &after, &label), 0.25);
        close(regression_churn(&[], &[], &[]), 0.0);
    }

    #[test]
    fn histogram_and_percentile() {
        assert_eq!(
            histogram(&[0.0, 0.05, 0.5, 0.95, 1.0], 10, 0.0, 1.0),
            [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
        );
        // numpy.percentile([1, 2, 3, 4], 5) = 1.15
        close(percentile(&[4.0, 1.0, 3.0, 2.0], 5.0), 1.15);
        close(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0), 2.5);
    }

    #[test]
    fn cosine_centroid_and_drift_ratio() {
        close(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
        close(cosine(&[1.0, 1.0], &[2.0, 2.0]), 1.0);
        assert_eq!(centroid(&[vec![1.0, 0.0], vec![0.0, 1.0]]), vec![0.5, 0.5]);
        // Item equals the first items and is orthogonal-ish to the recent ones.
        let first = vec![vec![1.0, 0.0]];
        let recent = vec![vec![1.0, 1.0]];
        close(mcintosh_curran_ratio(&[1.0, 0.0], &first, &recent), 1.0 / (1.0 / 2f64.sqrt()));
    }

    #[test]
    fn alarms_name_iteration_relation_metric_value_and_threshold() {
        let t = AlarmThresholds::default();
        let quiet = IterationDrift {
            iteration: 3,
            admitted: 50,
            jsd: 0.05,
            f1: Some(0.80),
            previous_f1: Some(0.81),
            churn_auto: Some(0.01),
            relations: vec![RelationDrift {
                relation: "SAP".into(),
                admitted: 10,
                share: 0.2,
                prior_share: 0.15,
                centroid_similarity: Some(0.7),
                seed_similarity_floor: Some(0.5),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(alarms(&quiet, &t).is_empty());
        let mut loud = quiet.clone();
        loud.jsd = 0.4;
        loud.f1 = Some(0.75);
        loud.relations[0].share = 0.8;
        loud.relations[0].centroid_similarity = Some(0.4);
        let a = alarms(&loud, &t);
        let names: Vec<_> = a.iter().map(|a| (a.relation.as_str(), a.metric.as_str())).collect();
        assert_eq!(
            names,
            [
                ("*", "jsd"),
                ("*", "f1_drop"),
                ("SAP", "share_ratio"),
                ("SAP", "centroid_similarity")
            ]
        );
        assert_eq!(a[0].iteration, 3);
        let quarantining: Vec<_> = a.iter().map(|a| a.quarantine).collect();
        assert_eq!(quarantining, [false, true, false, true], "jsd and share only inform");
        assert!((a[2].value - 0.8 / 0.15).abs() < 1e-12);
        assert_eq!(a[2].threshold, 5.0);
        // Too few admitted items of the relation: no per-relation alarm; nothing admitted: none.
        let mut few = loud.clone();
        few.relations[0].admitted = 3;
        let names: Vec<_> = alarms(&few, &t).into_iter().map(|a| a.relation).collect();
        assert_eq!(names, ["*", "*"]);
        let mut empty = loud.clone();
        empty.admitted = 0;
        assert!(alarms(&empty, &t).is_empty());
        // Pooled over relations: 30 of 100 admitted items below their floor.
        let mut pooled = quiet.clone();
        pooled.below_floor = Some(0.3);
        pooled.below_floor_items = 100;
        let a = alarms(&pooled, &t);
        assert_eq!((a.len(), a[0].metric.as_str(), a[0].threshold), (1, "below_floor", 0.15));
        pooled.below_floor_items = 5;
        assert!(alarms(&pooled, &t).is_empty(), "too few items to say anything");
    }

    #[test]
    fn churn_counts_flips() {
        close(churn(&[1, 2, 3, 4], &[1, 2, 0, 0]), 0.5);
        close(churn(&[], &[]), 0.0);
    }

    #[test]
    fn ece_matches_hand_computed_value() {
        // Bin (0.8, 0.9]: conf .9,.9 -> acc 1/2, gap |0.5 - 0.9| * 2/4 = 0.2;
        // bin (0.5, 0.6]: conf .6,.6 -> acc 2/2, gap |1 - 0.6| * 2/4 = 0.2. ECE = 0.4.
        close(
            expected_calibration_error(&[0.9, 0.9, 0.6, 0.6], &[true, false, true, true], 10),
            0.4,
        );
        close(expected_calibration_error(&[1.0, 1.0], &[true, true], 10), 0.0);
    }

    #[test]
    fn temperature_scaling_cools_overconfident_logits() {
        // Logits that always give ~0.98 to class 0, which is right 3 times out of 4.
        let logits = vec![vec![4.0, 0.0]; 4];
        let labels = [0, 0, 0, 1];
        let t = fit_temperature(&logits, &labels);
        // The optimum sets softmax(4/T)[0] = 0.75, i.e. 4/T = ln 3.
        assert!((t - 4.0 / 3f64.ln()).abs() < 1e-4, "t = {t}");
        assert!((softmax_with_temperature(&[4.0, 0.0], t)[0] - 0.75).abs() < 1e-4);
        assert!(nll(&logits, &labels, t) < nll(&logits, &labels, 1.0));
    }
}
