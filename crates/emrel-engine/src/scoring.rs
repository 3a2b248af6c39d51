//! From probability vectors to what the engine stores and decides on: top relation, margin,
//! entropy, schema validity, the schema-constrained prediction, and gold-split metrics.
//!
//! Predictions shown to annotators and evaluated on the gold split are the most probable class
//! *among those the schema allows for the pair's entity types* (`none` is always allowed); the
//! stored `top_relation` is the raw argmax so that schema violations stay visible.

use std::collections::BTreeMap;

use emrel_core::metrics::evaluate;
use emrel_core::model::PairText;
use emrel_core::{NONE, Schema};
use emrel_store::{PairId, PairRecord, ScoreRecord, ScoreSummary};
use serde::{Deserialize, Serialize};

/// The model input for a stored pair.
pub(crate) fn pair_text(p: &PairRecord) -> PairText {
    PairText {
        text: p.text.clone(),
        head: p.head.extent,
        tail: p.tail.extent,
        head_type: p.head.entity_type.clone(),
        tail_type: p.tail.entity_type.clone(),
    }
}

/// Top relation, margin, entropy and validity of one probability vector.
pub(crate) fn summarize(
    schema: &Schema,
    classes: &[String],
    pair: PairId,
    head_type: &str,
    tail_type: &str,
    probabilities: Vec<f32>,
) -> ScoreRecord {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]).then(a.cmp(&b)));
    let top = order.first().copied().unwrap_or(0);
    let p1 = probabilities.get(top).copied().unwrap_or(0.0) as f64;
    let p2 = order.get(1).map_or(0.0, |&i| probabilities[i] as f64);
    let entropy = probabilities
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| -(p as f64) * (p as f64).ln())
        .sum::<f64>();
    let top_relation = classes.get(top).cloned().unwrap_or_else(|| NONE.to_string());
    ScoreRecord {
        pair,
        summary: ScoreSummary {
            top_valid: schema.allows(&top_relation, head_type, tail_type),
            top_relation,
            top_probability: p1,
            margin: p1 - p2,
            entropy,
        },
        probabilities,
    }
}

/// The most probable class the schema allows on this pair, with its probability.
pub(crate) fn constrained_prediction(
    schema: &Schema,
    classes: &[String],
    head_type: &str,
    tail_type: &str,
    probabilities: &[f32],
) -> (usize, f64) {
    let mut best: Option<(usize, f32)> = None;
    for (i, (c, &p)) in classes.iter().zip(probabilities).enumerate() {
        if schema.allows(c, head_type, tail_type) && best.is_none_or(|(_, b)| p > b) {
            best = Some((i, p));
        }
    }
    let (i, p) = best.unwrap_or((0, probabilities.first().copied().unwrap_or(0.0)));
    (i, p as f64)
}

/// Precision, recall and F1 of one relation (or the micro average without `none`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// A model version's figures on the gold split; stored as `model_version.metrics_json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Micro average over the relations, `none` left out.
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold-split pairs evaluated.
    pub pairs: usize,
    pub per_relation: BTreeMap<String, Prf>,
    /// Best F1 on the trainer's own dev part.
    #[serde(default)]
    pub dev_f1: f64,
    /// Temperature fitted on the gold split (log-probabilities / T, then softmax) so that a shown
    /// confidence reads as ≈ P(correct); `None` with fewer than 20 gold items.
    #[serde(default)]
    pub temperature: Option<f64>,
}

/// `probabilities` rescaled by temperature `t`; the value of class `class`.
pub(crate) fn calibrated(probabilities: &[f32], class: usize, t: f64) -> f64 {
    let logits: Vec<f64> = probabilities.iter().map(|&p| (p.max(1e-7) as f64).ln()).collect();
    emrel_core::drift::softmax_with_temperature(&logits, t).get(class).copied().unwrap_or(0.0)
}

/// Evaluates constrained predictions against gold-split labels: `(gold relation, probability
/// vector, head type, tail type)` per pair.
pub(crate) fn gold_split_metrics(
    schema: &Schema,
    classes: &[String],
    items: &[(String, Vec<f32>, String, String)],
    dev_f1: f64,
) -> Metrics {
    let none = classes.iter().position(|c| c == NONE).unwrap_or(0);
    let mut gold = Vec::new();
    let mut predicted = Vec::new();
    for (g, probs, h, t) in items {
        let Some(gi) = classes.iter().position(|c| c == g) else { continue };
        gold.push(gi);
        predicted.push(constrained_prediction(schema, classes, h, t, probs).0);
    }
    let e = evaluate(&gold, &predicted, classes.len(), none);
    let temperature = (gold.len() >= 20).then(|| {
        let logits: Vec<Vec<f64>> = items
            .iter()
            .filter(|(g, ..)| classes.iter().any(|c| c == g))
            .map(|(_, p, ..)| p.iter().map(|&x| (x.max(1e-7) as f64).ln()).collect())
            .collect();
        emrel_core::drift::fit_temperature(&logits, &gold)
    });
    let per_relation = classes
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != none)
        .map(|(i, c)| {
            let p = e.per_class[i];
            (
                c.clone(),
                Prf { precision: p.precision, recall: p.recall, f1: p.f1, support: p.support },
            )
        })
        .collect();
    Metrics {
        precision: e.micro.precision,
        recall: e.micro.recall,
        f1: e.micro.f1,
        pairs: gold.len(),
        per_relation,
        dev_f1,
        temperature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_keeps_probabilities_at_t_1_and_softens_them_above() {
        let p = [0.7f32, 0.2, 0.1];
        assert!((calibrated(&p, 0, 1.0) - 0.7).abs() < 1e-6);
        let soft = calibrated(&p, 0, 2.0);
        // softmax(ln p / 2) = sqrt(p) / Σ sqrt(p)
        let want = 0.7f64.sqrt() / (0.7f64.sqrt() + 0.2f64.sqrt() + 0.1f64.sqrt());
        assert!((soft - want).abs() < 1e-6, "{soft} vs {want}");
        assert!(soft < 0.7, "a temperature above 1 lowers an overconfident top probability");
    }

    #[test]
    fn summary_and_constrained_prediction_respect_the_schema() {
        let schema = Schema::paper_default();
        let classes = schema.classes();
        let mut p = vec![0.0f32; classes.len()];
        let dap = classes.iter().position(|c| c == "DAP").unwrap();
        let sap = classes.iter().position(|c| c == "SAP").unwrap();
        p[dap] = 0.6;
        p[sap] = 0.3;
        p[0] = 0.1;
        let s = summarize(&schema, &classes, PairId(1), "symptom", "position", p.clone());
        assert_eq!(s.summary.top_relation, "DAP");
        assert!(!s.summary.top_valid, "DAP does not link a symptom to a position");
        assert!((s.summary.margin - 0.3).abs() < 1e-6);
        let (c, prob) = constrained_prediction(&schema, &classes, "symptom", "position", &p);
        assert_eq!(classes[c], "SAP");
        assert!((prob - 0.3).abs() < 1e-6);
    }
}
