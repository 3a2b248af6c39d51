//! The stratified audit of bootstrapped labels: reviewers judge a sample drawn per stratum
//! (iteration × relation × confidence bin) with the model's score hidden; these functions turn
//! the judgements into per-stratum Wilson intervals, a stratified precision estimate with its
//! interval, the expected number of wrong labels, and a decision.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959963984540054;

/// Wilson score interval for `successes` out of `n` (Wilson 1927). `(0, 1)` when `n` is 0.
pub fn wilson_interval(successes: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// One stratum of the audit: how many labels it holds and what the sample found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stratum {
    /// Labels in the stratum (the population).
    pub size: usize,
    /// Judged items.
    pub sampled: usize,
    /// Judged correct.
    pub correct: usize,
}

/// A precision estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub precision: f64,
    pub low: f64,
    pub high: f64,
    /// Expected number of wrong labels in the population.
    pub expected_wrong: f64,
}

/// The stratified estimate of precision: Σ W_h p̂_h with W_h = N_h / N over every stratum of the
/// population. Its variance uses the finite-population correction and, so that strata judged
/// all-correct still contribute uncertainty, Agresti–Coull adjusted proportions
/// p̃_h = (x_h + z²/2) / (n_h + z²) with variance p̃_h(1 − p̃_h) / (n_h + z²).
///
/// Strata without any judgement are unknown: the point estimate is taken over the judged strata,
/// and the interval counts the unjudged share U as all wrong at its lower end and all correct at
/// its upper end, so a decision made before every stratum is judged holds whatever they hold.
/// `expected_wrong` counts the wrong labels expected among those not judged yet (judged wrong
/// labels are fixed by then); unjudged strata are assumed at the point estimate.
pub fn stratified_estimate(strata: &[Stratum], z: f64) -> Estimate {
    let population: usize = strata.iter().map(|s| s.size).sum();
    let judged: Vec<&Stratum> = strata.iter().filter(|s| s.sampled > 0 && s.size > 0).collect();
    if population == 0 || judged.is_empty() {
        return Estimate { precision: f64::NAN, low: 0.0, high: 1.0, expected_wrong: f64::NAN };
    }
    let z2 = z * z;
    let mut p = 0.0;
    let mut var = 0.0;
    let mut judged_share = 0.0;
    let mut wrong = 0.0;
    for s in &judged {
        let w = s.size as f64 / population as f64;
        let n = s.sampled.min(s.size);
        let p_hat = s.correct as f64 / s.sampled as f64;
        let p_tilde = (s.correct as f64 + z2 / 2.0) / (s.sampled as f64 + z2);
        let fpc =
            if s.size > 1 { ((s.size - n) as f64 / (s.size as f64 - 1.0)).max(0.0) } else { 0.0 };
        p += w * p_hat;
        judged_share += w;
        var += w * w * fpc * p_tilde * (1.0 - p_tilde) / (s.sampled as f64 + z2);
        wrong += (s.size - n) as f64 * (1.0 - p_hat);
    }
    let unjudged = (1.0 - judged_share).max(0.0);
    let precision = p / judged_share;
    wrong += unjudged * population as f64 * (1.0 - precision);
    let half = z * var.sqrt();
    Estimate {
        precision,
        low: (p - half).max(0.0),
        high: (p + unjudged + half).min(1.0),
        expected_wrong: wrong,
    }
}

/// How many items to judge in each stratum: Neyman allocation of `budget` (proportional to
/// N_h · S_h, with S_h from `guess` of each stratum's precision, 0.5 when unknown), never fewer
/// than `minimum` per stratum nor more than the stratum holds.
pub fn neyman_allocation(
    sizes: &[usize],
    guesses: &[Option<f64>],
    budget: usize,
    minimum: usize,
) -> Vec<usize> {
    assert_eq!(sizes.len(), guesses.len());
    let weights: Vec<f64> = sizes
        .iter()
        .zip(guesses)
        .map(|(&n, g)| {
            let p = g.unwrap_or(0.5).clamp(0.05, 0.95);
            n as f64 * (p * (1.0 - p)).sqrt()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    sizes
        .iter()
        .zip(&weights)
        .map(|(&n, &w)| {
            let share = if total > 0.0 { (budget as f64 * w / total).round() as usize } else { 0 };
            share.max(minimum).min(n)
        })
        .collect()
}

/// What to do with an iteration after its audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The interval's lower bound reaches the target precision.
    Accept,
    /// The interval's upper bound is below the target.
    RollBack,
    /// The interval straddles the target: judge more items.
    SampleMore,
}

pub fn decide(estimate: &Estimate, target: f64) -> Decision {
    if estimate.low >= target {
        Decision::Accept
    } else if estimate.high < target {
        Decision::RollBack
    } else {
        Decision::SampleMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} != {b}");
    }

    #[test]
    fn wilson_matches_the_textbook_value() {
        // statsmodels proportion_confint(8, 10, method='wilson') = (0.4901625, 0.9433178)
        let (lo, hi) = wilson_interval(8, 10, Z95);
        close(lo, 0.4901625, 1e-6);
        close(hi, 0.9433178, 1e-6);
        let (lo, hi) = wilson_interval(20, 20, Z95);
        close(hi, 1.0, 1e-12);
        close(lo, 0.8388748, 1e-6);
        assert_eq!(wilson_interval(0, 0, Z95), (0.0, 1.0));
    }

    #[test]
    fn stratified_estimate_weights_strata_by_size() {
        // Two strata: 900 labels judged 18/20, 100 labels judged 10/20.
        let e = stratified_estimate(
            &[
                Stratum { size: 900, sampled: 20, correct: 18 },
                Stratum { size: 100, sampled: 20, correct: 10 },
            ],
            Z95,
        );
        close(e.precision, 0.9 * 0.9 + 0.1 * 0.5, 1e-12);
        // Wrong labels left among the unjudged: 880 × 0.1 + 80 × 0.5.
        close(e.expected_wrong, 880.0 * 0.1 + 80.0 * 0.5, 1e-9);
        // Hand computation: z² = 3.8415; p̃1 = 19.92/23.84 = 0.83557, p̃2 = 11.92/23.84 = 0.5;
        // var = .81 * (880/899) * p̃1(1-p̃1)/23.84 + .01 * (80/99) * .25/23.84 = 0.0046544
        let z2 = Z95 * Z95;
        let p1 = (18.0 + z2 / 2.0) / (20.0 + z2);
        let var = 0.81 * (880.0 / 899.0) * p1 * (1.0 - p1) / (20.0 + z2)
            + 0.01 * (80.0 / 99.0) * 0.25 / (20.0 + z2);
        close(var, 0.0046544, 1e-6);
        close(e.high - e.precision, Z95 * var.sqrt(), 1e-12);
    }

    #[test]
    fn a_fully_judged_population_has_no_uncertainty() {
        let e = stratified_estimate(&[Stratum { size: 30, sampled: 30, correct: 27 }], Z95);
        close(e.precision, 0.9, 1e-12);
        close(e.low, 0.9, 1e-12);
        close(e.high, 0.9, 1e-12);
    }

    #[test]
    fn unjudged_strata_widen_the_interval_by_their_share() {
        // One label judged correct in a stratum of 1; 99 labels not judged at all.
        let e = stratified_estimate(
            &[
                Stratum { size: 1, sampled: 1, correct: 1 },
                Stratum { size: 99, sampled: 0, correct: 0 },
            ],
            Z95,
        );
        close(e.precision, 1.0, 1e-12);
        close(e.low, 0.01, 1e-12);
        close(e.high, 1.0, 1e-12);
        assert_eq!(decide(&e, 0.9), Decision::SampleMore, "one judgement decides nothing");
        close(e.expected_wrong, 0.0, 1e-12);
    }

    #[test]
    fn decisions_follow_the_interval() {
        let est =
            |low, high| Estimate { precision: (low + high) / 2.0, low, high, expected_wrong: 0.0 };
        assert_eq!(decide(&est(0.92, 0.98), 0.9), Decision::Accept);
        assert_eq!(decide(&est(0.70, 0.85), 0.9), Decision::RollBack);
        assert_eq!(decide(&est(0.85, 0.95), 0.9), Decision::SampleMore);
    }

    #[test]
    fn neyman_allocation_respects_minimum_and_sizes() {
        let n = neyman_allocation(&[1000, 100, 10], &[None, Some(0.5), None], 100, 20);
        assert_eq!(n[2], 10, "cannot sample more than the stratum holds");
        assert_eq!(n[1], 20, "minimum per stratum");
        assert!(n[0] > n[1]);
        // Strata believed precise need fewer judgements than uncertain ones of the same size.
        let m = neyman_allocation(&[500, 500], &[Some(0.99), Some(0.5)], 100, 0);
        assert!(m[0] < m[1], "{m:?}");
    }

    /// With a simulated reviewer answering from known truth, the 95% interval covers the true
    /// precision in at least 90% of repeated draws.
    #[test]
    fn the_interval_covers_the_true_precision() {
        // Population: three strata with true precisions 0.97, 0.85, 0.6.
        let sizes = [600usize, 300, 100];
        let truth = [0.97, 0.85, 0.6];
        let correct_in_pop: Vec<usize> =
            sizes.iter().zip(truth).map(|(&n, p)| (n as f64 * p).round() as usize).collect();
        let true_precision = correct_in_pop.iter().sum::<usize>() as f64 / 1000.0;
        // A small deterministic PRNG (xorshift) keeps core free of dependencies.
        let mut state = 0x2545F4914F6CDD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let draws = 400;
        let mut covered = 0;
        for _ in 0..draws {
            let strata: Vec<Stratum> = sizes
                .iter()
                .zip(&correct_in_pop)
                .map(|(&n, &c)| {
                    // Sample 20 without replacement: partial Fisher–Yates over the population.
                    let mut pop: Vec<bool> = (0..n).map(|i| i < c).collect();
                    let k = 20;
                    for i in 0..k {
                        let j = i + (next() as usize) % (n - i);
                        pop.swap(i, j);
                    }
                    let correct = pop[..k].iter().filter(|x| **x).count();
                    Stratum { size: n, sampled: k, correct }
                })
                .collect();
            let e = stratified_estimate(&strata, Z95);
            if e.low <= true_precision && true_precision <= e.high {
                covered += 1;
            }
        }
        let rate = covered as f64 / draws as f64;
        eprintln!("95% interval covered the true precision in {covered} of {draws} audits");
        assert!(rate >= 0.90, "coverage {rate}");
    }
}
