//! Reading the corpus back out for export, with label filters. Each labeled pair carries its
//! current label with full provenance, and its gold label when it has one.

use emrel_core::LabelSource;
use emrel_formats::export::ExportLabel;

/// Which labels an export keeps. Sentences and entities are always exported.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Keep labels of these sources only (all when empty).
    pub sources: Vec<LabelSource>,
    /// Keep auto labels with at least this probability; labels given by people count as 1.0.
    pub min_probability: Option<f64>,
    /// Keep only auto labels admitted in these iterations (inclusive); other labels are dropped
    /// when a range is given.
    pub iterations: Option<(i64, i64)>,
}

impl ExportFilter {
    pub(crate) fn keeps(&self, l: &ExportLabel) -> bool {
        if !self.sources.is_empty() && !self.sources.iter().any(|s| s.as_str() == l.source) {
            return false;
        }
        if let Some(min) = self.min_probability
            && l.probability.unwrap_or(1.0) < min
        {
            return false;
        }
        if let Some((a, b)) = self.iterations {
            match l.iteration {
                Some(i) if a <= i && i <= b => {}
                _ => return false,
            }
        }
        true
    }
}
