//! Speaker-level (cluster) bootstrap: 95% confidence intervals for Pearson r and MSE, and the paired
//! comparison of two models on the same utterances.
//!
//! The unit of resampling is the speaker, not the utterance. The utterances of one speaker share a
//! voice, an accent, a level and a rater's impression of that speaker, so they are correlated;
//! resampling them as if independent pretends there is far more information than the ~25 dev
//! speakers hold and gives intervals that are too narrow. Each resample draws as many speakers as the
//! set has, with replacement, and keeps every utterance of each drawn speaker (a speaker drawn twice
//! counts twice). Intervals are percentile intervals (2.5% and 97.5% quantiles of the resampled
//! statistic). The draws come from [`SplitMix64`] with a fixed seed, so an interval is a function of
//! the data alone and a report can be reproduced to the last digit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::SplitMix64;
use crate::metrics::{mse, pearson};

/// Resamples when nothing else is asked for: enough that the 2.5% / 97.5% quantiles move by well
/// under 0.01 in r between seeds, and a second or so on the full test split.
pub const DEFAULT_RESAMPLES: usize = 1000;
/// The fixed seed of every report (Speechocean762's number; any constant would do).
pub const DEFAULT_SEED: u64 = 762;

/// How many speaker resamples to draw, and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapSettings {
    /// 0: no intervals.
    pub resamples: usize,
    pub seed: u64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self { resamples: DEFAULT_RESAMPLES, seed: DEFAULT_SEED }
    }
}

/// The utterance indices of each speaker, speakers in sorted id order (so the resamples do not
/// depend on the order the utterances were listed in).
#[derive(Debug, Clone)]
pub struct Clusters {
    members: Vec<Vec<usize>>,
}

impl Clusters {
    /// Groups utterance `i` under `speakers[i]`.
    pub fn by_speaker<S: AsRef<str>>(speakers: &[S]) -> Self {
        let mut by_id: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, speaker) in speakers.iter().enumerate() {
            by_id.entry(speaker.as_ref()).or_default().push(i);
        }
        Self { members: by_id.into_values().collect() }
    }

    /// The number of speakers.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Calls `visit` once per resample with the resample's utterance indices: `len()` speakers drawn
    /// with replacement, each contributing all its utterances. Nothing is visited without speakers.
    pub fn for_each_resample(&self, settings: BootstrapSettings, mut visit: impl FnMut(&[usize])) {
        if self.members.is_empty() {
            return;
        }
        let mut rng = SplitMix64::new(settings.seed);
        let mut indices = Vec::new();
        for _ in 0..settings.resamples {
            indices.clear();
            for _ in 0..self.members.len() {
                indices.extend_from_slice(&self.members[rng.below(self.members.len())]);
            }
            visit(&indices);
        }
    }
}

/// The 2.5% and 97.5% quantiles of `values` (linear interpolation between order statistics, the
/// default of numpy and R), or `None` for no values. Reorders `values`.
pub fn percentile_interval(values: &mut [f64]) -> Option<[f64; 2]> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let quantile = |p: f64| {
        let h = p * (values.len() - 1) as f64;
        let (below, above) = (h.floor() as usize, h.ceil() as usize);
        values[below] + (h - below as f64) * (values[above] - values[below])
    };
    Some([quantile(0.025), quantile(0.975)])
}

/// The bootstrap intervals of one aspect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intervals {
    /// `None` without resamples, or when r was undefined in every one.
    pub pearson_ci95: Option<[f64; 2]>,
    pub mse_ci95: Option<[f64; 2]>,
    /// Resamples whose r was undefined (a constant series: e.g. only speakers whose human scores
    /// are all equal), left out of the r interval.
    pub pearson_skipped: usize,
}

/// Intervals of r and MSE of `predicted[a]` against `human[a]` for each aspect `a`, over speaker
/// resamples of `clusters` (built from the same utterances).
pub fn intervals(human: [&[f64]; 4], predicted: [&[f64]; 4], clusters: &Clusters, settings: BootstrapSettings) -> [Intervals; 4] {
    let mut rs: [Vec<f64>; 4] = Default::default();
    let mut mses: [Vec<f64>; 4] = Default::default();
    let mut skipped = [0usize; 4];
    let (mut h, mut p) = (Vec::new(), Vec::new());
    clusters.for_each_resample(settings, |indices| {
        for a in 0..4 {
            gather(human[a], indices, &mut h);
            gather(predicted[a], indices, &mut p);
            let r = pearson(&h, &p);
            if r.is_finite() {
                rs[a].push(r);
            } else {
                skipped[a] += 1;
            }
            mses[a].push(mse(&h, &p));
        }
    });
    std::array::from_fn(|a| Intervals {
        pearson_ci95: percentile_interval(&mut rs[a]),
        mse_ci95: percentile_interval(&mut mses[a]),
        pearson_skipped: skipped[a],
    })
}

/// The 95% interval of r between one `human` and one `predicted` series over speaker resamples of
/// `clusters` (resamples where r is undefined are left out); `None` when none is defined.
pub fn pearson_interval(human: &[f64], predicted: &[f64], clusters: &Clusters, settings: BootstrapSettings) -> Option<[f64; 2]> {
    let mut rs = Vec::new();
    let (mut h, mut p) = (Vec::new(), Vec::new());
    clusters.for_each_resample(settings, |indices| {
        gather(human, indices, &mut h);
        gather(predicted, indices, &mut p);
        let r = pearson(&h, &p);
        if r.is_finite() {
            rs.push(r);
        }
    });
    percentile_interval(&mut rs)
}

/// Model `first` against model `second` on one aspect, both scored on the same utterances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// r(first) − r(second) on all utterances (NaN when either r is undefined).
    pub delta_pearson: f64,
    /// Percentile interval of the same difference over the speaker resamples.
    pub delta_pearson_ci95: Option<[f64; 2]>,
    /// Share of the resamples (where both r are defined) in which `first`'s r is strictly higher;
    /// `None` without such resamples. Ties count for neither, so a model compared with itself wins 0.
    pub wins: Option<f64>,
    /// Resamples left out because either r was undefined.
    pub skipped: usize,
}

/// The paired speaker bootstrap: each resample draws one set of speakers and computes both models'
/// r on it, so what the speakers have in common (an easy or a hard speaker drawn twice) cancels out of
/// the difference.
pub fn paired(human: [&[f64]; 4], first: [&[f64]; 4], second: [&[f64]; 4], clusters: &Clusters, settings: BootstrapSettings) -> [Paired; 4] {
    let mut deltas: [Vec<f64>; 4] = Default::default();
    let mut wins = [0usize; 4];
    let mut skipped = [0usize; 4];
    let (mut h, mut p1, mut p2) = (Vec::new(), Vec::new(), Vec::new());
    clusters.for_each_resample(settings, |indices| {
        for a in 0..4 {
            gather(human[a], indices, &mut h);
            gather(first[a], indices, &mut p1);
            gather(second[a], indices, &mut p2);
            let (r1, r2) = (pearson(&h, &p1), pearson(&h, &p2));
            if r1.is_finite() && r2.is_finite() {
                deltas[a].push(r1 - r2);
                wins[a] += usize::from(r1 > r2);
            } else {
                skipped[a] += 1;
            }
        }
    });
    std::array::from_fn(|a| {
        let counted = deltas[a].len();
        Paired {
            delta_pearson: pearson(human[a], first[a]) - pearson(human[a], second[a]),
            delta_pearson_ci95: percentile_interval(&mut deltas[a]),
            wins: (counted > 0).then(|| wins[a] as f64 / counted as f64),
            skipped: skipped[a],
        }
    })
}

fn gather(values: &[f64], indices: &[usize], out: &mut Vec<f64>) {
    out.clear();
    out.extend(indices.iter().map(|&i| values[i]));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same series for all four aspects.
    fn four(values: &[f64]) -> [&[f64]; 4] {
        [values; 4]
    }

    fn settings() -> BootstrapSettings {
        BootstrapSettings::default()
    }

    /// Independent uniform draws in [0, 10), from a generator seeded apart from the bootstrap's.
    fn uniform(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        (0..n).map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 10.0).collect()
    }

    fn speakers(n_speakers: usize, per_speaker: usize) -> Vec<String> {
        (0..n_speakers * per_speaker).map(|i| format!("spk{:03}", i / per_speaker)).collect()
    }

    #[test]
    fn percentiles_interpolate_between_order_statistics() {
        // 0, 1, ..., 100 in reverse: the 2.5% quantile sits at rank 2.5 → 2.5, the 97.5% at 97.5.
        let mut values: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(percentile_interval(&mut values), Some([2.5, 97.5]));
        // Two values: ranks 0.025 and 0.975 of the way from 1 to 3.
        assert_eq!(percentile_interval(&mut [3.0, 1.0]), Some([1.05, 2.95]));
        assert_eq!(percentile_interval(&mut []), None);
    }

    #[test]
    fn perfectly_correlated_scores_give_a_degenerate_interval_at_one() {
        let human = uniform(200, 1);
        // An exact linear function of the labels: r = 1 on every resample, MSE = mean((h/2 - 1)^2) > 0.
        let predicted: Vec<f64> = human.iter().map(|h| 0.5 * h + 1.0).collect();
        let clusters = Clusters::by_speaker(&speakers(20, 10));
        let [out, ..] = intervals(four(&human), four(&predicted), &clusters, settings());
        let [lo, hi] = out.pearson_ci95.unwrap();
        assert!((lo - 1.0).abs() < 1e-12 && (hi - 1.0).abs() < 1e-12, "[{lo}, {hi}]");
        assert_eq!(out.pearson_skipped, 0);
        let [lo, hi] = out.mse_ci95.unwrap();
        assert!(lo > 0.0 && lo < hi, "MSE varies with the drawn speakers: [{lo}, {hi}]");
    }

    #[test]
    fn independent_scores_give_an_interval_around_zero() {
        let human = uniform(400, 2);
        let unrelated = uniform(400, 3);
        let clusters = Clusters::by_speaker(&speakers(40, 10));
        let [out, ..] = intervals(four(&human), four(&unrelated), &clusters, settings());
        let [lo, hi] = out.pearson_ci95.unwrap();
        // With 400 independent pairs the sampling sd of r is about 1/sqrt(400) = 0.05, so the 95%
        // interval spans roughly ±0.1 around the point estimate.
        assert!(lo < 0.0 && hi > 0.0, "[{lo}, {hi}]");
        assert!(hi - lo > 0.1 && hi - lo < 0.4, "[{lo}, {hi}]");
    }

    #[test]
    fn resamples_are_made_of_whole_speakers() {
        // Twelve speakers of 1 to 5 utterances, listed in shuffled order (not grouped) to catch an
        // implementation that cuts the list into runs.
        let mut ids: Vec<String> = (0..12).flat_map(|k| std::iter::repeat_n(format!("s{k}"), 1 + k % 5)).collect();
        SplitMix64::new(9).shuffle(&mut ids);
        let clusters = Clusters::by_speaker(&ids);
        let n_speakers = ids.iter().collect::<std::collections::BTreeSet<_>>().len();
        assert_eq!(clusters.len(), n_speakers);
        let mut visits = 0;
        let mut distinct_draws = std::collections::BTreeSet::new();
        clusters.for_each_resample(BootstrapSettings { resamples: 200, seed: 5 }, |indices| {
            visits += 1;
            // Count draws per utterance; every utterance of a speaker must be drawn equally often.
            let mut count = vec![0usize; ids.len()];
            for &i in indices {
                count[i] += 1;
            }
            let mut draws_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, id) in ids.iter().enumerate() {
                draws_of.entry(id.as_str()).or_default().push(count[i]);
            }
            let mut speakers_drawn = 0;
            for (id, counts) in &draws_of {
                assert!(counts.iter().all(|&c| c == counts[0]), "speaker {id} only partly drawn: {counts:?}");
                speakers_drawn += counts[0];
            }
            assert_eq!(speakers_drawn, n_speakers, "as many speakers drawn as there are");
            distinct_draws.insert(draws_of.values().map(|c| c[0]).collect::<Vec<_>>());
        });
        assert_eq!(visits, 200);
        assert!(distinct_draws.len() > 150, "draws differ between resamples: {}", distinct_draws.len());
    }

    #[test]
    fn speaker_resampling_is_wider_than_utterance_resampling_for_clustered_data() {
        // 20 speakers with 10 identical utterances each: the data hold 20 independent points, not
        // 200. Resampling utterances treats them as 200 and narrows the interval by about
        // sqrt(10) ≈ 3.2; resampling speakers does not.
        let level = uniform(20, 7);
        let noise = uniform(20, 8);
        let per_speaker = 10;
        let human: Vec<f64> = (0..200).map(|i| level[i / per_speaker]).collect();
        let predicted: Vec<f64> = (0..200).map(|i| level[i / per_speaker] + noise[i / per_speaker]).collect();
        let by_speaker = Clusters::by_speaker(&speakers(20, per_speaker));
        let by_utterance = Clusters::by_speaker(&(0..200).map(|i| i.to_string()).collect::<Vec<_>>());
        let width = |clusters: &Clusters| {
            let [out, ..] = intervals(four(&human), four(&predicted), clusters, settings());
            let [lo, hi] = out.pearson_ci95.unwrap();
            hi - lo
        };
        let (speaker_width, utterance_width) = (width(&by_speaker), width(&by_utterance));
        assert!(speaker_width > 2.0 * utterance_width, "speakers {speaker_width} vs utterances {utterance_width}");
    }

    #[test]
    fn undefined_r_is_skipped_and_counted() {
        // Speaker a's labels are all 5, speaker b's vary: a resample of only a has constant labels.
        // With two speakers a resample is (a, a) with probability 1/4.
        let ids = ["a", "a", "a", "b", "b", "b"];
        let human = [5.0, 5.0, 5.0, 1.0, 2.0, 3.0];
        let predicted = [4.0, 5.0, 6.0, 1.0, 2.0, 4.0];
        let clusters = Clusters::by_speaker(&ids);
        let [out, ..] = intervals(four(&human), four(&predicted), &clusters, BootstrapSettings { resamples: 1000, seed: 3 });
        assert!((200..300).contains(&out.pearson_skipped), "{}", out.pearson_skipped);
        assert!(out.pearson_ci95.is_some() && out.mse_ci95.is_some());

        let constant = [7.0; 6];
        let [out, ..] = intervals(four(&human), four(&constant), &clusters, settings());
        assert_eq!((out.pearson_ci95, out.pearson_skipped), (None, 1000));
        assert!(out.mse_ci95.is_some(), "MSE is defined for constant predictions");
    }

    #[test]
    fn no_resamples_or_no_speakers_give_no_interval() {
        let human = [1.0, 2.0, 3.0];
        let clusters = Clusters::by_speaker(&["a", "b", "c"]);
        let [out, ..] = intervals(four(&human), four(&human), &clusters, BootstrapSettings { resamples: 0, seed: 1 });
        assert_eq!((out.pearson_ci95, out.mse_ci95, out.pearson_skipped), (None, None, 0));
        let empty: [&[f64]; 4] = [&[]; 4];
        let [out, ..] = intervals(empty, empty, &Clusters::by_speaker::<&str>(&[]), settings());
        assert_eq!((out.pearson_ci95, out.mse_ci95), (None, None));
    }

    #[test]
    fn intervals_are_reproducible_and_follow_the_seed() {
        let human = uniform(100, 11);
        let predicted: Vec<f64> = human.iter().zip(uniform(100, 12)).map(|(h, n)| h + n).collect();
        let clusters = Clusters::by_speaker(&speakers(10, 10));
        let run = |seed| intervals(four(&human), four(&predicted), &clusters, BootstrapSettings { resamples: 300, seed });
        assert_eq!(run(1), run(1));
        assert_ne!(run(1)[0].pearson_ci95, run(2)[0].pearson_ci95);
    }

    #[test]
    fn a_model_compared_with_itself_differs_by_exactly_zero_and_never_wins() {
        let human = uniform(150, 21);
        let predicted: Vec<f64> = human.iter().zip(uniform(150, 22)).map(|(h, n)| h + 2.0 * n).collect();
        let clusters = Clusters::by_speaker(&speakers(15, 10));
        for out in paired(four(&human), four(&predicted), four(&predicted), &clusters, settings()) {
            assert_eq!(out.delta_pearson, 0.0);
            assert_eq!(out.delta_pearson_ci95, Some([0.0, 0.0]));
            assert_eq!((out.wins, out.skipped), (Some(0.0), 0));
        }
    }

    #[test]
    fn a_clearly_better_model_wins_nearly_every_resample() {
        let human = uniform(200, 31);
        let noise = uniform(200, 32);
        let good: Vec<f64> = human.iter().zip(&noise).map(|(h, n)| h + 0.3 * n).collect();
        let poor: Vec<f64> = human.iter().zip(&noise).map(|(h, n)| h + 3.0 * n).collect();
        let clusters = Clusters::by_speaker(&speakers(20, 10));
        let [out, ..] = paired(four(&human), four(&good), four(&poor), &clusters, settings());
        // The point difference is the difference of the two point estimates.
        let expected = pearson(&human, &good) - pearson(&human, &poor);
        assert_eq!(out.delta_pearson, expected);
        assert!(out.delta_pearson > 0.3, "{}", out.delta_pearson);
        let [lo, _] = out.delta_pearson_ci95.unwrap();
        assert!(lo > 0.0, "{lo}");
        assert!(out.wins.unwrap() > 0.99, "{:?}", out.wins);
        // Swapped, the poor model wins (nearly) never.
        let [swapped, ..] = paired(four(&human), four(&poor), four(&good), &clusters, settings());
        assert!(swapped.wins.unwrap() < 0.01 && swapped.delta_pearson == -expected);
    }
}
