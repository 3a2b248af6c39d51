//! Evaluation of a scorer on labeled pairs with the project's metric
//! ([`emrel_core::metrics::evaluate`]: micro P/R/F1 over the relations with `none` left out, per
//! relation figures and the confusion matrix).

use emrel_core::metrics::{Evaluation, evaluate};
use emrel_core::model::{Example, ModelError, Scorer};

use crate::train::argmax;

/// Scores `examples` with `scorer` and evaluates the top-1 predictions against their classes.
///
/// `classes` is the class list the examples' indices refer to; the scorer's own classes are
/// matched to it by name (a class the examples do not know counts as `none`).
pub fn evaluate_scorer(
    scorer: &dyn Scorer,
    examples: &[Example],
    classes: &[String],
) -> Result<Evaluation, ModelError> {
    if let Some(e) = examples.iter().find(|e| e.class >= classes.len()) {
        return Err(ModelError::Invalid(format!(
            "example class {} is not among {} classes",
            e.class,
            classes.len()
        )));
    }
    let none = classes.iter().position(|c| c == emrel_core::NONE).unwrap_or(0);
    let map: Vec<usize> = scorer
        .classes()
        .iter()
        .map(|c| classes.iter().position(|k| k == c).unwrap_or(none))
        .collect();
    let pairs: Vec<_> = examples.iter().map(|e| e.pair.clone()).collect();
    let probs = scorer.score(&pairs)?;
    let predicted: Vec<usize> = probs.iter().map(|p| map[argmax(p)]).collect();
    let gold: Vec<usize> = examples.iter().map(|e| e.class).collect();
    Ok(evaluate(&gold, &predicted, classes.len(), none))
}
