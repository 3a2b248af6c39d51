//! Evaluation metrics. Precision, recall and F1 are computed over the relations with `none` left
//! out, exactly as scikit-learn's `precision_recall_fscore_support(average='micro',
//! labels=<all but none>)` does; a zero denominator gives 0 (sklearn's `zero_division=0`).

/// Precision, recall, F1 and the support (gold count) for one class or for the micro average.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

impl Prf {
    fn from_counts(tp: usize, predicted: usize, gold: usize) -> Prf {
        let div = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = div(tp, predicted);
        let recall = div(tp, gold);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf { precision, recall, f1, support: gold }
    }
}

/// Evaluation of predictions against gold class indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Micro average over every class except `none_class`.
    pub micro: Prf,
    /// One entry per class, `none` included (its figures are reported, not averaged).
    pub per_class: Vec<Prf>,
    /// `confusion[gold][predicted]`.
    pub confusion: Vec<Vec<usize>>,
}

/// Evaluates `predicted` against `gold` (class indices in `0..n_classes`).
pub fn evaluate(
    gold: &[usize],
    predicted: &[usize],
    n_classes: usize,
    none_class: usize,
) -> Evaluation {
    assert_eq!(gold.len(), predicted.len(), "gold and predicted lengths differ");
    let mut confusion = vec![vec![0usize; n_classes]; n_classes];
    for (&g, &p) in gold.iter().zip(predicted) {
        confusion[g][p] += 1;
    }
    let tp = |c: usize| confusion[c][c];
    let pred = |c: usize| (0..n_classes).map(|g| confusion[g][c]).sum::<usize>();
    let gold_n = |c: usize| confusion[c].iter().sum::<usize>();
    let per_class: Vec<Prf> =
        (0..n_classes).map(|c| Prf::from_counts(tp(c), pred(c), gold_n(c))).collect();
    let classes = (0..n_classes).filter(|&c| c != none_class);
    let (t, p, g) = classes.fold((0, 0, 0), |(t, p, g), c| (t + tp(c), p + pred(c), g + gold_n(c)));
    Evaluation { micro: Prf::from_counts(t, p, g), per_class, confusion }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed with scikit-learn 1.9.1:
    /// `precision_recall_fscore_support(y, p, average='micro', labels=[1, 2, 3])`
    /// gives (0.5, 0.5714285714285714, 0.5333333333333333, None), and with `average=None,
    /// labels=[0, 1, 2, 3]` precision [0.5, 0.333, 0.667, 0.5], recall [0.333, 0.333, 1.0, 0.5].
    #[test]
    fn micro_prf_matches_sklearn_on_fixed_vectors() {
        let y = [0, 1, 2, 3, 1, 2, 0, 0, 3, 1];
        let p = [0, 1, 2, 1, 0, 2, 1, 3, 3, 2];
        let e = evaluate(&y, &p, 4, 0);
        // Non-none predictions: 1,2,1,2,1,3,3,2 = 8; gold non-none: 7; tp: idx 1,2,5,8 = 4.
        assert!((e.micro.precision - 0.5).abs() < 1e-12);
        assert!((e.micro.recall - 4.0 / 7.0).abs() < 1e-12);
        assert!((e.micro.f1 - 0.5333333333333333).abs() < 1e-12);
        assert_eq!(e.micro.support, 7);
        // Per class 1: predicted at 1,3,6 (3), gold at 1,4,9 (3), tp 1.
        assert!((e.per_class[1].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((e.per_class[1].recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((e.per_class[2].precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.per_class[2].f1 - 0.8).abs() < 1e-12);
        assert!((e.per_class[0].recall - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(e.per_class.iter().map(|c| c.support).collect::<Vec<_>>(), [3, 3, 2, 2]);
        assert_eq!(e.confusion[3][1], 1);
        assert_eq!(e.confusion[0][3], 1);
    }

    #[test]
    fn zero_division_gives_zero() {
        let e = evaluate(&[0, 0], &[0, 0], 3, 0);
        assert_eq!(e.micro, Prf { precision: 0.0, recall: 0.0, f1: 0.0, support: 0 });
    }
}
