//! Corpus statistics: the paper's Table 3 view (pairs per category, labels per relation and
//! source) plus sentence and entity counts.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryStats {
    /// `head-tail`, e.g. `symptom-position`.
    pub category: String,
    pub pairs: usize,
    /// Current labels (human, seed and auto) per relation; `none` included.
    pub labels: BTreeMap<String, usize>,
    /// Gold labels per relation.
    pub gold: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub schema: String,
    pub documents: usize,
    pub sentences: usize,
    pub entities: usize,
    pub entities_per_type: BTreeMap<String, usize>,
    pub pairs: usize,
    /// Pairs without a current (non-gold) label.
    pub unlabeled_pairs: usize,
    pub categories: Vec<CategoryStats>,
    /// relation -> source -> count; current labels and gold labels.
    pub labels: BTreeMap<String, BTreeMap<String, usize>>,
    /// Relations of imported corpora whose arguments were in different sentences (not imported).
    pub cross_sentence_relations: usize,
}
