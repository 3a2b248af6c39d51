//! Inter-annotator agreement of the project's people: every pair that two or more annotators
//! labeled (each one's standing label), with `none` a category like the relations.

use std::collections::BTreeMap;

use emrel_core::agreement::{AgreementReport, report};

use crate::Project;
use crate::error::{EngineError, Result};

impl Project {
    /// Cohen's κ per annotator pair (with their confusion matrix), Fleiss' κ and Krippendorff's
    /// α overall and per relation, each with a 95% bootstrap interval (`resamples` draws,
    /// `seed`), over the pairs labeled by at least two annotators.
    pub async fn agreement(&self, resamples: usize, seed: u64) -> Result<AgreementReport> {
        let classes = self.store.schema().classes();
        let index: BTreeMap<&str, usize> =
            classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let labels = self.store.annotator_labels().await?;
        let mut annotators: Vec<String> = labels.iter().map(|(_, a, _)| a.clone()).collect();
        annotators.sort();
        annotators.dedup();
        let column: BTreeMap<&str, usize> =
            annotators.iter().enumerate().map(|(i, a)| (a.as_str(), i)).collect();
        let mut units: BTreeMap<_, Vec<Option<usize>>> = BTreeMap::new();
        for (pair, annotator, relation) in &labels {
            let c = *index.get(relation.as_str()).ok_or_else(|| {
                EngineError::Invalid(format!(
                    "pair {pair} has a label `{relation}` outside the schema"
                ))
            })?;
            units.entry(*pair).or_insert_with(|| vec![None; annotators.len()])
                [column[annotator.as_str()]] = Some(c);
        }
        let units: Vec<Vec<Option<usize>>> = units.into_values().collect();
        Ok(report(&annotators, &classes, &units, resamples, seed))
    }
}
