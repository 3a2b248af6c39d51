//! Inter-annotator agreement on nominal labels (relations, `none` a category like the others):
//! Cohen's κ for two annotators, Fleiss' κ and Krippendorff's α over any number, the confusion
//! matrix of two annotators, and percentile bootstrap intervals over units. Pure functions; the
//! store supplies the ratings.
//!
//! Conventions: categories are indices `0..k`; a unit is one pair, rated by the annotators who
//! labeled it (`None` where one did not). Units rated by fewer than two annotators carry no
//! information on agreement and are left out, as Krippendorff prescribes. A statistic is `None`
//! when it is undefined (no pairable ratings, or no variation at all: expected disagreement 0).

use serde::Serialize;

/// Cohen's κ of two annotators' labels of the same units, `(a, b)` per unit.
pub fn cohen_kappa(pairs: &[(usize, usize)], k: usize) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let mut pa = vec![0.0; k];
    let mut pb = vec![0.0; k];
    let mut agree = 0.0;
    for &(a, b) in pairs {
        pa[a] += 1.0;
        pb[b] += 1.0;
        if a == b {
            agree += 1.0;
        }
    }
    let po = agree / n;
    let pe: f64 = pa.iter().zip(&pb).map(|(x, y)| (x / n) * (y / n)).sum();
    if (1.0 - pe).abs() < 1e-12 {
        return None;
    }
    Some((po - pe) / (1.0 - pe))
}

/// Fleiss' κ from per-unit category counts (`counts[u][c]`: how many annotators put unit `u` in
/// category `c`). Units may have different numbers of raters (the usual generalisation: each
/// unit's agreement is averaged, category shares pool every rating); units with fewer than two
/// are left out.
pub fn fleiss_kappa(counts: &[Vec<usize>]) -> Option<f64> {
    let units: Vec<&Vec<usize>> = counts.iter().filter(|c| c.iter().sum::<usize>() >= 2).collect();
    if units.is_empty() {
        return None;
    }
    let k = units[0].len();
    let mut totals = vec![0.0; k];
    let mut p_bar = 0.0;
    let mut ratings = 0.0;
    for c in &units {
        let n: f64 = c.iter().sum::<usize>() as f64;
        let same: f64 = c.iter().map(|&x| (x * x) as f64).sum::<f64>() - n;
        p_bar += same / (n * (n - 1.0));
        for (t, &x) in totals.iter_mut().zip(c.iter()) {
            *t += x as f64;
        }
        ratings += n;
    }
    p_bar /= units.len() as f64;
    let pe: f64 = totals.iter().map(|t| (t / ratings).powi(2)).sum();
    if (1.0 - pe).abs() < 1e-12 {
        return None;
    }
    Some((p_bar - pe) / (1.0 - pe))
}

/// Krippendorff's α for nominal data: `units[u][a]` is annotator `a`'s category for unit `u`
/// (`None`: not rated). Computed from the coincidence matrix, as in Krippendorff (2011),
/// "Computing Krippendorff's Alpha-Reliability".
pub fn krippendorff_alpha(units: &[Vec<Option<usize>>], k: usize) -> Option<f64> {
    let mut o = vec![vec![0.0; k]; k];
    for unit in units {
        let values: Vec<usize> = unit.iter().flatten().copied().collect();
        let m = values.len();
        if m < 2 {
            continue;
        }
        let w = 1.0 / (m as f64 - 1.0);
        for (i, &c) in values.iter().enumerate() {
            for (j, &d) in values.iter().enumerate() {
                if i != j {
                    o[c][d] += w;
                }
            }
        }
    }
    let n_c: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    if n <= 1.0 {
        return None;
    }
    // Nominal: every pair of different values disagrees by 1.
    let off = || (0..k).flat_map(|c| (0..k).map(move |d| (c, d))).filter(|(c, d)| c != d);
    let observed: f64 = off().map(|(c, d)| o[c][d]).sum();
    let expected: f64 = off().map(|(c, d)| n_c[c] * n_c[d]).sum::<f64>() / (n - 1.0);
    if expected.abs() < 1e-12 {
        return None;
    }
    Some(1.0 - observed / expected)
}

/// The confusion matrix of two annotators: `m[a][b]` counts units `a`'s annotator put in
/// category `a` and the other in `b`.
pub fn confusion(pairs: &[(usize, usize)], k: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; k]; k];
    for &(a, b) in pairs {
        m[a][b] += 1;
    }
    m
}

/// A small deterministic generator (SplitMix64) for the bootstrap: the core crate has no
/// dependencies beyond serde, and the intervals must be reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A 95% percentile bootstrap interval of `stat` over `n` units: `resamples` draws of `n` unit
/// indices with replacement (seeded), the 2.5th and 97.5th percentiles of the defined values.
/// `None` with fewer than two units or when the statistic is undefined in most draws.
pub fn bootstrap_interval(
    n: usize,
    resamples: usize,
    seed: u64,
    stat: impl Fn(&[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    if n < 2 || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix(seed);
    let mut values: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            let draw: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
            stat(&draw)
        })
        .collect();
    if values.len() * 2 < resamples {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

/// A statistic with its 95% bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Estimate {
    fn new(value: Option<f64>, interval: Option<(f64, f64)>) -> Estimate {
        Estimate { value, low: interval.map(|i| i.0), high: interval.map(|i| i.1) }
    }
}

/// Agreement of two annotators on the units both rated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAgreement {
    pub a: String,
    pub b: String,
    pub units: usize,
    pub observed: f64,
    pub cohen_kappa: Estimate,
    /// `confusion[i][j]`: units `a` put in category `i` and `b` in `j` (report categories order).
    pub confusion: Vec<Vec<usize>>,
}

/// Agreement on one category against all others (binary: this relation or not).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryAgreement {
    pub category: String,
    /// Ratings in this category, among the units rated at least twice.
    pub ratings: usize,
    pub fleiss_kappa: Estimate,
    pub krippendorff_alpha: Estimate,
}

/// Everything `emrel agreement` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementReport {
    pub annotators: Vec<String>,
    pub categories: Vec<String>,
    /// Units rated by at least two annotators.
    pub units: usize,
    pub fleiss_kappa: Estimate,
    pub krippendorff_alpha: Estimate,
    pub pairs: Vec<PairAgreement>,
    pub per_category: Vec<CategoryAgreement>,
}

/// Per-unit category counts of `units` (those rated at least twice).
fn counts(units: &[&Vec<Option<usize>>], k: usize) -> Vec<Vec<usize>> {
    units
        .iter()
        .map(|u| {
            let mut c = vec![0; k];
            for &x in u.iter().flatten() {
                c[x] += 1;
            }
            c
        })
        .collect()
}

/// The full report: overall Fleiss' κ and Krippendorff's α, every annotator pair's Cohen's κ and
/// confusion matrix, and per category (one against the rest) κ and α, each with a 95% bootstrap
/// interval over units (`resamples` draws, `seed`).
pub fn report(
    annotators: &[String],
    categories: &[String],
    units: &[Vec<Option<usize>>],
    resamples: usize,
    seed: u64,
) -> AgreementReport {
    let k = categories.len();
    let rated: Vec<&Vec<Option<usize>>> =
        units.iter().filter(|u| u.iter().flatten().count() >= 2).collect();
    let n = rated.len();
    let pick = |idx: &[usize]| -> Vec<Vec<Option<usize>>> {
        idx.iter().map(|&i| rated[i].clone()).collect()
    };
    let all: Vec<Vec<Option<usize>>> = rated.iter().map(|u| (*u).clone()).collect();
    let fleiss =
        |us: &[Vec<Option<usize>>]| fleiss_kappa(&counts(&us.iter().collect::<Vec<_>>(), k));
    let fleiss_kappa_est = Estimate::new(
        fleiss(&all),
        bootstrap_interval(n, resamples, seed, |idx| fleiss(&pick(idx))),
    );
    let alpha_est = Estimate::new(
        krippendorff_alpha(&all, k),
        bootstrap_interval(n, resamples, seed, |idx| krippendorff_alpha(&pick(idx), k)),
    );

    let mut pairs = Vec::new();
    for a in 0..annotators.len() {
        for b in a + 1..annotators.len() {
            let both: Vec<(usize, usize)> =
                rated.iter().filter_map(|u| Some((u[a]?, u[b]?))).collect();
            if both.is_empty() {
                continue;
            }
            let observed = both.iter().filter(|(x, y)| x == y).count() as f64 / both.len() as f64;
            let interval = bootstrap_interval(both.len(), resamples, seed, |idx| {
                cohen_kappa(&idx.iter().map(|&i| both[i]).collect::<Vec<_>>(), k)
            });
            pairs.push(PairAgreement {
                a: annotators[a].clone(),
                b: annotators[b].clone(),
                units: both.len(),
                observed,
                cohen_kappa: Estimate::new(cohen_kappa(&both, k), interval),
                confusion: confusion(&both, k),
            });
        }
    }

    let per_category = (0..k)
        .map(|c| {
            let binary: Vec<Vec<Option<usize>>> = all
                .iter()
                .map(|u| u.iter().map(|x| x.map(|x| usize::from(x == c))).collect())
                .collect();
            let ratings = all.iter().flat_map(|u| u.iter().flatten()).filter(|&&x| x == c).count();
            let pick_b = |idx: &[usize]| -> Vec<Vec<Option<usize>>> {
                idx.iter().map(|&i| binary[i].clone()).collect()
            };
            let fb = |us: &[Vec<Option<usize>>]| {
                fleiss_kappa(&counts(&us.iter().collect::<Vec<_>>(), 2))
            };
            CategoryAgreement {
                category: categories[c].clone(),
                ratings,
                fleiss_kappa: Estimate::new(
                    fb(&binary),
                    bootstrap_interval(n, resamples, seed, |idx| fb(&pick_b(idx))),
                ),
                krippendorff_alpha: Estimate::new(
                    krippendorff_alpha(&binary, 2),
                    bootstrap_interval(n, resamples, seed, |idx| {
                        krippendorff_alpha(&pick_b(idx), 2)
                    }),
                ),
            }
        })
        .collect();

    AgreementReport {
        annotators: annotators.to_vec(),
        categories: categories.to_vec(),
        units: n,
        fleiss_kappa: fleiss_kappa_est,
        krippendorff_alpha: alpha_est,
        pairs,
        per_category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("defined");
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// Krippendorff (2011), section C: 4 observers, 12 units, nominal, values 1..5 with missing
    /// data; the paper computes α = 0.743 (0.743421… per the `krippendorff` package on PyPI).
    #[test]
    fn krippendorffs_own_example() {
        let rows: [[u8; 12]; 4] = [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
            [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
        ];
        let units: Vec<Vec<Option<usize>>> = (0..12)
            .map(|u| rows.iter().map(|r| (r[u] > 0).then(|| r[u] as usize - 1)).collect())
            .collect();
        close(krippendorff_alpha(&units, 5), 0.743_421_052_631_579);
    }

    /// Fleiss (1971) as on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters, 5
    /// categories, κ = 0.210.
    #[test]
    fn fleiss_worked_example() {
        let counts: Vec<Vec<usize>> = vec![
            vec![0, 0, 0, 0, 14],
            vec![0, 2, 6, 4, 2],
            vec![0, 0, 3, 5, 6],
            vec![0, 3, 9, 2, 0],
            vec![2, 2, 8, 1, 1],
            vec![7, 7, 0, 0, 0],
            vec![3, 2, 6, 3, 0],
            vec![2, 5, 3, 2, 2],
            vec![6, 5, 2, 1, 0],
            vec![0, 2, 2, 3, 7],
        ];
        let k = fleiss_kappa(&counts).unwrap();
        assert!((k - 0.210).abs() < 5e-4, "{k}");
    }

    /// Three simulated annotators on 30 units, 4 categories; the values are scikit-learn's
    /// `cohen_kappa_score`, statsmodels' `fleiss_kappa` and the `krippendorff` package's `alpha`
    /// on the same data (computed once with Python; see the numbers).
    #[test]
    fn equals_independent_implementations() {
        let a = [
            0, 0, 1, 1, 0, 0, 2, 0, 0, 1, 0, 2, 0, 0, 0, 1, 1, 0, 0, 0, 2, 1, 2, 2, 0, 0, 3, 3, 3,
            2,
        ];
        let b = [
            3, 0, 1, 2, 0, 0, 2, 0, 0, 2, 0, 2, 2, 0, 0, 1, 3, 0, 0, 0, 2, 1, 0, 2, 1, 0, 3, 3, 3,
            0,
        ];
        let c = [
            0, 0, 1, 3, 0, 0, 2, 0, 1, 1, 1, 2, 3, 0, 0, 1, 0, 0, 0, 0, 2, 1, 0, 2, 0, 0, 1, 3, 0,
            1,
        ];
        let pair = |x: &[usize; 30], y: &[usize; 30]| -> Vec<(usize, usize)> {
            x.iter().copied().zip(y.iter().copied()).collect()
        };
        close(cohen_kappa(&pair(&a, &b), 4), 0.605_911_330_049_261);
        close(cohen_kappa(&pair(&a, &c), 4), 0.545_454_545_454_545_4);
        close(cohen_kappa(&pair(&b, &c), 4), 0.463_414_634_146_341_43);
        let units: Vec<Vec<Option<usize>>> =
            (0..30).map(|u| vec![Some(a[u]), Some(b[u]), Some(c[u])]).collect();
        let counts: Vec<Vec<usize>> = units
            .iter()
            .map(|u| (0..4).map(|k| u.iter().filter(|&&x| x == Some(k)).count()).collect())
            .collect();
        close(fleiss_kappa(&counts), 0.535_911_602_209_944_4);
        close(krippendorff_alpha(&units, 4), 0.541_068_139_963_167_6);
        // The third annotator did not rate the first ten units.
        let missing: Vec<Vec<Option<usize>>> = units
            .iter()
            .enumerate()
            .map(|(i, u)| vec![u[0], u[1], if i < 10 { None } else { u[2] }])
            .collect();
        close(krippendorff_alpha(&missing, 4), 0.540_483_946_021_405_3);
    }

    #[test]
    fn perfect_and_undefined_agreement() {
        let same = [(0, 0), (1, 1), (2, 2), (1, 1)];
        close(cohen_kappa(&same, 3), 1.0);
        // Everyone says `none` everywhere: no variation, κ and α undefined, not 1 or 0.
        let flat = [(0, 0), (0, 0)];
        assert_eq!(cohen_kappa(&flat, 2), None);
        assert_eq!(krippendorff_alpha(&[vec![Some(0), Some(0)], vec![Some(0), Some(0)]], 2), None);
        assert_eq!(cohen_kappa(&[], 2), None);
        // A unit rated once carries no agreement information.
        assert_eq!(krippendorff_alpha(&[vec![Some(0), None]], 2), None);
        assert_eq!(confusion(&[(0, 1), (0, 1), (1, 1)], 2), vec![vec![0, 2], vec![0, 1]]);
    }

    #[test]
    fn the_report_pairs_annotators_and_brackets_its_estimates() {
        let names: Vec<String> = ["ann", "bob", "cy"].iter().map(|s| s.to_string()).collect();
        let cats: Vec<String> = ["none", "SAP", "TeRD"].iter().map(|s| s.to_string()).collect();
        // ann and bob on 40 units (agreeing on 34), bob and cy on 20 others, one unit rated once.
        let mut units = Vec::new();
        for i in 0..40 {
            let x = i % 3;
            let y = if i % 7 == 0 { (x + 1) % 3 } else { x };
            units.push(vec![Some(x), Some(y), None]);
        }
        for i in 0..20 {
            units.push(vec![None, Some(i % 3), Some(i % 3)]);
        }
        units.push(vec![Some(1), None, None]);
        let r = report(&names, &cats, &units, 200, 1);
        assert_eq!(r.units, 60);
        assert_eq!(r.pairs.len(), 2, "ann and cy share no unit");
        let ab = &r.pairs[0];
        assert_eq!((ab.a.as_str(), ab.b.as_str(), ab.units), ("ann", "bob", 40));
        assert!((ab.observed - 34.0 / 40.0).abs() < 1e-12);
        assert_eq!(ab.confusion.iter().flatten().sum::<usize>(), 40);
        let k = ab.cohen_kappa.value.unwrap();
        let (lo, hi) = (ab.cohen_kappa.low.unwrap(), ab.cohen_kappa.high.unwrap());
        assert!(lo <= k && k <= hi && hi - lo > 0.01, "{lo} {k} {hi}");
        close(r.pairs[1].cohen_kappa.value, 1.0);
        let a = r.krippendorff_alpha.value.unwrap();
        assert!(r.krippendorff_alpha.low.unwrap() <= a && a <= r.krippendorff_alpha.high.unwrap());
        assert_eq!(r.per_category.len(), 3);
        assert_eq!(r.per_category.iter().map(|c| c.ratings).sum::<usize>(), 120);
        // Reproducible: the same seed gives the same intervals.
        assert_eq!(report(&names, &cats, &units, 200, 1), r);
    }
}
