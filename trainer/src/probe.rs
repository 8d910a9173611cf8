//! The layer-wise analysis of the seed's model card (`probe` binary; docs/EVALUATION.md, "Layer-wise
//! probe"): what each encoder layer knows about the four scores.
//!
//! **Pooling.** Every utterance goes through the encoder alone, with `embed(input, true)`; each of
//! its `hidden_states` (`[0]` = the first transformer layer's input, `[i]` = layer i's output) is
//! averaged over frames, and only these `[layers × hidden]` means are kept (f32), so memory grows
//! with the number of utterances, never with their frames: 2500 utterances of a 25-layer 1024-wide
//! model hold 256 MB.
//!
//! **(a) Ridge probe.** Per layer and score, a ridge regression from the pooled vector to the human
//! score, cross-validated with folds by speaker (no speaker in both the training and the test side
//! of any fold; speakers dealt out greedily so the folds hold similar numbers of utterances). In
//! each outer fold the features are standardised with the training side's mean and standard
//! deviation (a constant feature is dropped), and alpha is chosen per score from [`ALPHA_GRID`]
//! by an inner speaker-grouped CV on the training side (least out-of-fold squared error; ties go to
//! the larger alpha); with a single training speaker no inner CV exists and [`FALLBACK_ALPHA`] is
//! used. The reported r is Pearson's r of all out-of-fold predictions against the labels.
//!
//! **Solver.** The primal normal equations `(ZᵀZ - n μμᵀ + αI) w = Zᵀy - n μ ȳ` (intercept
//! unpenalised, `μ`, `ȳ` the training means), d × d in f64, solved by Cholesky. Primal rather than
//! the n × n dual form: the cost of a solve is d³/6 whatever the number of utterances (d ≤ 1024,
//! while a fold of the full corpus trains on ~2000), and the statistics `ZᵀZ`, `Zᵀy` are sums over
//! utterances, so an inner fold's are the outer training side's minus its held-out part — one pass
//! over the data per outer fold instead of one per inner fold.
//!
//! **(b) PCA.** Per layer, the first two principal components of the centred (not scaled) pooled
//! vectors of all utterances, by subspace iteration on the d × d covariance with a Rayleigh–Ritz
//! step; the projections are drawn coloured by the total score.

// Least squares and PCA read as their formulas: loops over aspect and feature indices, kept.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde_json::{Value, json};
use sslpron_audio::PrepareOptions;
use sslpron_model::{EncoderConfig, ModelInfo, Preprocessing, PronunciationModel};

use crate::data::Utterance;
use crate::metrics::{mse, pearson};
use crate::plot::{Canvas, FRAME, GRID, Rgb, TEXT, TITLE, encode_png, grid, text_width};
use crate::report::ASPECTS;

/// Candidate ridge penalties (on standardised features, whose Gram diagonal is ~n).
pub const ALPHA_GRID: [f64; 8] = [0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
/// The penalty when a training side has a single speaker (no inner CV possible).
pub const FALLBACK_ALPHA: f64 = 100.0;
/// Outer folds unless told otherwise.
pub const DEFAULT_FOLDS: usize = 5;
/// Inner folds for choosing alpha.
pub const INNER_FOLDS: usize = 3;

// ---------------------------------------------------------------------------------------------
// Models and pooling.

/// `random:PRESET` (a fresh model of [`crate::run::preset`], drawn from `seed`), a web model file
/// (.sslpron), or a model directory in the hub layout / hub id, as `evaluate` and `sslpron embed` read.
pub fn load_model(spec: &str, seed: u64, device: &Device) -> Result<(ModelInfo, PronunciationModel), String> {
    if let Some(name) = spec.strip_prefix("random:") {
        let json = crate::run::preset(name).ok_or_else(|| format!("{spec}: no preset '{name}' (tiny, small, compact, base, large)"))?;
        let bytes = serde_json::to_vec(&json).expect("json");
        let config = EncoderConfig::from_json(spec, &bytes).map_err(|e| e.to_string())?;
        device.seed(seed);
        let model = sslpron_model::random(&config, None, device);
        return Ok((ModelInfo { config, preprocessing: Preprocessing::default() }, model));
    }
    crate::run::load_model_for_inference(Path::new(spec), device)
}

/// The pooled hidden states of a split: `features[(u * layers + l) * hidden + h]`.
pub struct Pooled {
    pub layers: usize,
    pub hidden: usize,
    pub features: Vec<f32>,
    /// `[accuracy, fluency, prosody, total]` per utterance.
    pub labels: Vec<[f64; 4]>,
    pub speakers: Vec<String>,
}

impl Pooled {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Layer `l`'s pooled vectors as an n × hidden row-major f64 matrix.
    pub fn layer(&self, l: usize) -> Vec<f64> {
        let (n, d) = (self.len(), self.hidden);
        let mut x = Vec::with_capacity(n * d);
        for u in 0..n {
            let at = (u * self.layers + l) * d;
            x.extend(self.features[at..at + d].iter().map(|&v| v as f64));
        }
        x
    }
}

/// Streams `utts` through the encoder one at a time, keeping only each layer's frame mean.
pub fn pool(model: &PronunciationModel, info: &ModelInfo, utts: &[Utterance], device: &Device) -> Result<Pooled, String> {
    let model = model.valid();
    let inference = device.clone().inner();
    let options = PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() };
    let mut pooled = Pooled { layers: 0, hidden: info.config.hidden_size, features: Vec::new(), labels: Vec::new(), speakers: Vec::new() };
    for (i, utt) in utts.iter().enumerate() {
        let samples = utt.load_audio(&options).map_err(|e| e.to_string())?;
        let input = Tensor::<1>::from_floats(samples.as_slice(), &inference).unsqueeze_dim::<2>(0);
        let states = model.embed(input, true).hidden_states;
        let layers = states.len();
        // [1, frames, hidden] each -> [1, layers, hidden]: the frames are dropped here.
        let means: Vec<Tensor<3>> = states.into_iter().map(|h| h.mean_dim(1)).collect();
        let values: Vec<f32> = Tensor::cat(means, 1).into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        if i == 0 {
            pooled.layers = layers;
            pooled.features.reserve(utts.len() * values.len());
        }
        if layers != pooled.layers || values.len() != layers * pooled.hidden {
            return Err(format!("{}: the model returned {} values for {layers} layers", utt.wav.display(), values.len()));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!("{}: the model produced non-finite hidden states", utt.wav.display()));
        }
        pooled.features.extend_from_slice(&values);
        pooled.labels.push(utt.labels.map(|v| v as f64));
        pooled.speakers.push(utt.speaker.clone());
        if (i + 1) % 100 == 0 {
            eprintln!("probe: pooled {} of {} utterances", i + 1, utts.len());
        }
    }
    Ok(pooled)
}

// ---------------------------------------------------------------------------------------------
// Folds.

/// A fold index per item such that all items of one group share a fold: `min(k, groups)` folds,
/// groups dealt largest first (ties by id) to the fold with the fewest items so far (ties: lowest).
pub fn grouped_folds<T: Ord>(groups: &[T], k: usize) -> (Vec<usize>, usize) {
    let mut counts: BTreeMap<&T, usize> = BTreeMap::new();
    for g in groups {
        *counts.entry(g).or_default() += 1;
    }
    let folds = k.min(counts.len()).max(1);
    let mut order: Vec<(&T, usize)> = counts.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut sizes = vec![0usize; folds];
    let mut fold_of: BTreeMap<&T, usize> = BTreeMap::new();
    for (g, count) in order {
        let f = (0..folds).min_by_key(|&f| (sizes[f], f)).expect("at least one fold");
        sizes[f] += count;
        fold_of.insert(g, f);
    }
    (groups.iter().map(|g| fold_of[g]).collect(), folds)
}

// ---------------------------------------------------------------------------------------------
// Linear algebra (f64, row-major).

/// Solves `A X = B` for symmetric positive definite `A` (n × n; only its lower triangle is read and
/// it is overwritten by the Cholesky factor) and `B` (n × k, overwritten by X). `Err` when `A` is
/// not numerically positive definite.
pub fn cholesky_solve(a: &mut [f64], n: usize, b: &mut [f64], k: usize) -> Result<(), String> {
    assert_eq!(a.len(), n * n);
    assert_eq!(b.len(), n * k);
    for j in 0..n {
        let s = a[j * n + j] - dot(&a[j * n..j * n + j], &a[j * n..j * n + j]);
        if !(s > 0.0 && s.is_finite()) {
            return Err(format!("matrix not positive definite at column {j}"));
        }
        a[j * n + j] = s.sqrt();
        let (head, tail) = a.split_at_mut((j + 1) * n);
        let row_j = &head[j * n..j * n + j + 1];
        for i in j + 1..n {
            let row_i = &mut tail[(i - j - 1) * n..(i - j) * n];
            row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j[..j])) / row_j[j];
        }
    }
    // L y = b, then Lᵀ x = y.
    for i in 0..n {
        for c in 0..k {
            let mut s = b[i * k + c];
            for m in 0..i {
                s -= a[i * n + m] * b[m * k + c];
            }
            b[i * k + c] = s / a[i * n + i];
        }
    }
    for i in (0..n).rev() {
        for c in 0..k {
            let mut s = b[i * k + c];
            for m in i + 1..n {
                s -= a[m * n + i] * b[m * k + c];
            }
            b[i * k + c] = s / a[i * n + i];
        }
    }
    Ok(())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Sums over rows of features `x` (d) and targets `y` (4): all a ridge fit with intercept needs.
#[derive(Clone)]
struct Moments {
    d: usize,
    n: f64,
    sx: Vec<f64>,
    /// Σ x xᵀ, upper triangle (incl. the diagonal) of a d × d row-major matrix.
    sxx: Vec<f64>,
    sy: [f64; 4],
    /// Σ x yᵀ, d × 4.
    sxy: Vec<f64>,
}

impl Moments {
    fn new(d: usize) -> Self {
        Moments { d, n: 0.0, sx: vec![0.0; d], sxx: vec![0.0; d * d], sy: [0.0; 4], sxy: vec![0.0; d * 4] }
    }

    fn add(&mut self, x: &[f64], y: &[f64; 4]) {
        let d = self.d;
        self.n += 1.0;
        for a in 0..d {
            let xa = x[a];
            self.sx[a] += xa;
            for t in 0..4 {
                self.sxy[a * 4 + t] += xa * y[t];
            }
            if xa != 0.0 {
                for (s, &xb) in self.sxx[a * d + a..(a + 1) * d].iter_mut().zip(&x[a..]) {
                    *s += xa * xb;
                }
            }
        }
        for t in 0..4 {
            self.sy[t] += y[t];
        }
    }

    fn minus(&self, other: &Moments) -> Moments {
        let sub = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<f64>>();
        Moments {
            d: self.d,
            n: self.n - other.n,
            sx: sub(&self.sx, &other.sx),
            sxx: sub(&self.sxx, &other.sxx),
            sy: std::array::from_fn(|t| self.sy[t] - other.sy[t]),
            sxy: sub(&self.sxy, &other.sxy),
        }
    }

    /// Ridge fit of all four targets with penalty `alpha` on the weights (not the intercept).
    fn solve(&self, alpha: f64) -> Result<Fit, String> {
        let d = self.d;
        if self.n < 1.0 {
            return Err("no rows to fit".into());
        }
        let n = self.n;
        let mu: Vec<f64> = self.sx.iter().map(|s| s / n).collect();
        let ybar: [f64; 4] = std::array::from_fn(|t| self.sy[t] / n);
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..=i {
                // Lower triangle from the stored upper one, centred.
                a[i * d + j] = self.sxx[j * d + i] - n * mu[i] * mu[j];
            }
            a[i * d + i] += alpha;
        }
        let mut w: Vec<f64> = (0..d * 4).map(|at| self.sxy[at] - n * mu[at / 4] * ybar[at % 4]).collect();
        cholesky_solve(&mut a, d, &mut w, 4)?;
        let intercept = std::array::from_fn(|t| ybar[t] - (0..d).map(|i| mu[i] * w[i * 4 + t]).sum::<f64>());
        Ok(Fit { w, intercept })
    }
}

/// Weights (d × 4) and intercepts of a ridge fit.
struct Fit {
    w: Vec<f64>,
    intercept: [f64; 4],
}

impl Fit {
    fn predict(&self, x: &[f64]) -> [f64; 4] {
        let mut out = self.intercept;
        for (i, &xi) in x.iter().enumerate() {
            for (t, o) in out.iter_mut().enumerate() {
                *o += xi * self.w[i * 4 + t];
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The cross-validated ridge probe.

/// Outer folds, inner folds and the alpha grid of a probe.
#[derive(Clone, Debug)]
pub struct ProbeSettings {
    pub folds: usize,
    pub inner_folds: usize,
    pub alphas: Vec<f64>,
    pub fallback_alpha: f64,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings { folds: DEFAULT_FOLDS, inner_folds: INNER_FOLDS, alphas: ALPHA_GRID.to_vec(), fallback_alpha: FALLBACK_ALPHA }
    }
}

/// One layer's cross-validated probe.
#[derive(Clone, Debug)]
pub struct LayerProbe {
    /// Pearson r of the out-of-fold predictions per score (NaN when undefined, e.g. constant).
    pub pearson: [f64; 4],
    pub mse: [f64; 4],
    /// The alpha each outer fold chose, per score.
    pub alphas: Vec<[f64; 4]>,
    /// Out-of-fold predictions per utterance.
    pub predictions: Vec<[f64; 4]>,
    /// How many outer folds there were (`min(folds, speakers)`).
    pub folds: usize,
}

/// Ridge probe of `x` (n × d, row-major) on `y` with folds grouped by `groups` (one id per row).
pub fn cross_validate<T: Ord>(x: &[f64], d: usize, y: &[[f64; 4]], groups: &[T], settings: &ProbeSettings) -> Result<LayerProbe, String> {
    let n = y.len();
    assert_eq!(x.len(), n * d);
    assert_eq!(groups.len(), n);
    let (fold_of, folds) = grouped_folds(groups, settings.folds);
    if folds < 2 {
        return Err("a speaker-grouped cross-validation needs at least two speakers".into());
    }
    let mut predictions = vec![[f64::NAN; 4]; n];
    let mut alphas = Vec::with_capacity(folds);
    for f in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
        let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == f).collect();
        // Standardise with the training side's statistics.
        let (mean, scale) = standardiser(x, d, &train);
        let z = |i: usize| -> Vec<f64> { (0..d).map(|j| (x[i * d + j] - mean[j]) * scale[j]).collect() };
        let z_train: Vec<Vec<f64>> = train.iter().map(|&i| z(i)).collect();
        let y_train: Vec<[f64; 4]> = train.iter().map(|&i| y[i]).collect();
        let mut total = Moments::new(d);
        for (zi, yi) in z_train.iter().zip(&y_train) {
            total.add(zi, yi);
        }
        let chosen = choose_alphas(&total, &z_train, &y_train, &train.iter().map(|&i| &groups[i]).collect::<Vec<_>>(), settings)?;
        // One solve per distinct alpha.
        let mut fits: Vec<(f64, Fit)> = Vec::new();
        for &alpha in &chosen {
            if !fits.iter().any(|(a, _)| *a == alpha) {
                fits.push((alpha, total.solve(alpha)?));
            }
        }
        for &i in &test {
            let zi = z(i);
            for t in 0..4 {
                let fit = &fits.iter().find(|(a, _)| *a == chosen[t]).expect("fitted").1;
                predictions[i][t] = fit.predict(&zi)[t];
            }
        }
        alphas.push(chosen);
    }
    let column = |v: &[[f64; 4]], t: usize| v.iter().map(|r| r[t]).collect::<Vec<f64>>();
    let pearson = std::array::from_fn(|t| pearson(&column(&predictions, t), &column(y, t)));
    let mse = std::array::from_fn(|t| mse(&column(&predictions, t), &column(y, t)));
    Ok(LayerProbe { pearson, mse, alphas, predictions, folds })
}

/// The probe without features: each outer fold predicts the training side's mean score. Its r is
/// what "no information" looks like under these folds — not 0: holding out a speaker with high
/// scores lowers the training mean and vice versa, so with few speakers whose means differ the
/// baseline r is strongly negative. `(pearson, mse)` per score.
pub fn baseline<T: Ord>(y: &[[f64; 4]], groups: &[T], folds: usize) -> ([f64; 4], [f64; 4]) {
    let (fold_of, folds) = grouped_folds(groups, folds);
    let mut predictions = vec![[f64::NAN; 4]; y.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] != f).collect();
        let mean: [f64; 4] = std::array::from_fn(|t| train.iter().map(|&i| y[i][t]).sum::<f64>() / train.len() as f64);
        for i in (0..y.len()).filter(|&i| fold_of[i] == f) {
            predictions[i] = mean;
        }
    }
    let column = |v: &[[f64; 4]], t: usize| v.iter().map(|r| r[t]).collect::<Vec<f64>>();
    (std::array::from_fn(|t| pearson(&column(&predictions, t), &column(y, t))), std::array::from_fn(|t| mse(&column(&predictions, t), &column(y, t))))
}

/// Per-feature mean and 1/sd over `rows`; a (numerically) constant feature gets scale 0.
fn standardiser(x: &[f64], d: usize, rows: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let (mean, sd) = crate::metrics::column_moments(rows.iter().map(|&i| &x[i * d..(i + 1) * d]), d);
    let scale = sd.iter().zip(&mean).map(|(&sd, m)| if sd > 1e-9 * (1.0 + m.abs()) { 1.0 / sd } else { 0.0 }).collect();
    (mean, scale)
}

/// Alpha per score by inner speaker-grouped CV on the training side (least out-of-fold squared
/// error, ties to the larger alpha); the fallback when the side has a single speaker.
fn choose_alphas<T: Ord>(total: &Moments, z: &[Vec<f64>], y: &[[f64; 4]], groups: &[&T], settings: &ProbeSettings) -> Result<[f64; 4], String> {
    let (fold_of, folds) = grouped_folds(groups, settings.inner_folds);
    if folds < 2 || settings.alphas.is_empty() {
        return Ok([settings.fallback_alpha; 4]);
    }
    let mut sse = vec![[0.0f64; 4]; settings.alphas.len()];
    for f in 0..folds {
        let held: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] == f).collect();
        let mut out = Moments::new(total.d);
        for &i in &held {
            out.add(&z[i], &y[i]);
        }
        let inner = total.minus(&out);
        for (k, &alpha) in settings.alphas.iter().enumerate() {
            let fit = inner.solve(alpha)?;
            for &i in &held {
                let p = fit.predict(&z[i]);
                for t in 0..4 {
                    sse[k][t] += (p[t] - y[i][t]).powi(2);
                }
            }
        }
    }
    Ok(std::array::from_fn(|t| {
        let mut best = 0;
        for k in 1..settings.alphas.len() {
            if sse[k][t] <= sse[best][t] {
                best = k;
            }
        }
        settings.alphas[best]
    }))
}

// ---------------------------------------------------------------------------------------------
// PCA.

/// The first two principal components of a set of rows.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Unit vectors (d each), largest variance first; each signed so that its largest-magnitude
    /// entry is positive.
    pub components: [Vec<f64>; 2],
    /// Their variances (eigenvalues of the covariance, divisor n - 1).
    pub variances: [f64; 2],
    /// The covariance's trace (total variance).
    pub total_variance: f64,
    /// Each row's coordinates on the two components (centred).
    pub scores: Vec<[f64; 2]>,
}

impl Pca {
    pub fn explained(&self) -> [f64; 2] {
        self.variances.map(|v| if self.total_variance > 0.0 { v / self.total_variance } else { 0.0 })
    }
}

/// PCA of `x` (n × d, row-major) by subspace iteration on the covariance with Rayleigh–Ritz.
pub fn pca2(x: &[f64], d: usize) -> Pca {
    let n = x.len().checked_div(d).unwrap_or(0);
    let mut mean = vec![0.0; d];
    for row in x.chunks(d.max(1)) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    // Covariance, upper triangle accumulated then mirrored.
    let mut cov = vec![0.0; d * d];
    let mut centred = vec![0.0; d];
    for row in x.chunks(d.max(1)) {
        for ((c, v), m) in centred.iter_mut().zip(row).zip(&mean) {
            *c = v - m;
        }
        for a in 0..d {
            let ca = centred[a];
            for (s, &cb) in cov[a * d + a..(a + 1) * d].iter_mut().zip(&centred[a..]) {
                *s += ca * cb;
            }
        }
    }
    let denom = (n.max(2) - 1) as f64;
    for a in 0..d {
        for b in a..d {
            let v = cov[a * d + b] / denom;
            cov[a * d + b] = v;
            cov[b * d + a] = v;
        }
    }
    let total_variance: f64 = (0..d).map(|a| cov[a * d + a]).sum();
    let (components, variances) = top_two_eigen(&cov, d);
    let scores = x
        .chunks(d.max(1))
        .map(|row| {
            let c: Vec<f64> = row.iter().zip(&mean).map(|(v, m)| v - m).collect();
            [dot(&c, &components[0]), dot(&c, &components[1])]
        })
        .collect();
    Pca { components, variances, total_variance, scores }
}

fn mat_vec(a: &[f64], d: usize, v: &[f64]) -> Vec<f64> {
    (0..d).map(|i| dot(&a[i * d..(i + 1) * d], v)).collect()
}

fn normalise(v: &mut [f64]) -> f64 {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}

/// The two leading eigenpairs of the symmetric `a` (d × d).
fn top_two_eigen(a: &[f64], d: usize) -> ([Vec<f64>; 2], [f64; 2]) {
    if d == 0 {
        return ([Vec::new(), Vec::new()], [0.0; 2]);
    }
    let scale = (0..d).map(|i| a[i * d + i].abs()).fold(0.0, f64::max);
    if scale == 0.0 {
        let mut e0 = vec![0.0; d];
        e0[0] = 1.0;
        let mut e1 = vec![0.0; d];
        if d > 1 {
            e1[1] = 1.0;
        }
        return ([e0, e1], [0.0; 2]);
    }
    // Deterministic, generic start vectors.
    let mut q: [Vec<f64>; 2] =
        std::array::from_fn(|k| (0..d).map(|i| (((i * 7 + k * 13 + 1) % 11) as f64 - 5.0) + 0.1 * (i as f64 + 1.0).sqrt()).collect());
    orthonormalise(&mut q);
    let mut values = [0.0; 2];
    for _ in 0..5000 {
        let mut z = [mat_vec(a, d, &q[0]), mat_vec(a, d, &q[1])];
        // Rayleigh–Ritz on span(q): T = Qᵀ A Q (2 × 2), rotate to its eigenvectors.
        let t00 = dot(&q[0], &z[0]);
        let t01 = dot(&q[0], &z[1]);
        let t11 = dot(&q[1], &z[1]);
        let (l, u) = sym2_eigen(t00, t01, t11);
        let rot = |v: &[Vec<f64>; 2]| -> [Vec<f64>; 2] { std::array::from_fn(|k| (0..d).map(|i| v[0][i] * u[k][0] + v[1][i] * u[k][1]).collect()) };
        q = rot(&q);
        z = rot(&z);
        values = l;
        let residual = (0..2).map(|k| z[k].iter().zip(&q[k]).map(|(zi, qi)| (zi - l[k] * qi).powi(2)).sum::<f64>().sqrt()).fold(0.0, f64::max);
        if residual <= 1e-10 * scale.max(l[0].abs()) {
            break;
        }
        q = z;
        orthonormalise(&mut q);
    }
    for v in q.iter_mut() {
        let (mut big, mut at) = (0.0, 0);
        for (i, x) in v.iter().enumerate() {
            if x.abs() > big {
                (big, at) = (x.abs(), i);
            }
        }
        if v[at] < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
    }
    (q, values.map(|v| v.max(0.0)))
}

/// Gram–Schmidt on two vectors; a vector that collapses is replaced by a unit vector orthogonal
/// to the first.
fn orthonormalise(q: &mut [Vec<f64>; 2]) {
    let d = q[0].len();
    if normalise(&mut q[0]) == 0.0 {
        q[0] = (0..d).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
    }
    for _ in 0..2 {
        let p = dot(&q[0], &q[1]);
        let (first, second) = q.split_at_mut(1);
        second[0].iter_mut().zip(&first[0]).for_each(|(b, a)| *b -= p * a);
    }
    if normalise(&mut q[1]) <= 1e-300 {
        // Any unit vector orthogonal to q[0].
        let at = (0..d).min_by(|&i, &j| q[0][i].abs().total_cmp(&q[0][j].abs())).unwrap_or(0);
        let mut e: Vec<f64> = (0..d).map(|i| if i == at { 1.0 } else { 0.0 }).collect();
        let p = dot(&q[0], &e);
        e.iter_mut().zip(&q[0]).for_each(|(b, a)| *b -= p * a);
        normalise(&mut e);
        q[1] = e;
    }
}

/// Eigenvalues (descending) and unit eigenvectors of [[a, b], [b, c]].
fn sym2_eigen(a: f64, b: f64, c: f64) -> ([f64; 2], [[f64; 2]; 2]) {
    let mean = 0.5 * (a + c);
    let radius = (0.25 * (a - c) * (a - c) + b * b).sqrt();
    let (l0, l1) = (mean + radius, mean - radius);
    if b.abs() <= 1e-300 {
        return if a >= c { ([a, c], [[1.0, 0.0], [0.0, 1.0]]) } else { ([c, a], [[0.0, 1.0], [1.0, 0.0]]) };
    }
    // (A - l I) v = 0 -> v = (b, l - a), better conditioned than (l - c, b) when a >= c.
    let vec = |l: f64| {
        let v = if a >= c { [l - c, b] } else { [b, l - a] };
        let norm = (v[0] * v[0] + v[1] * v[1]).sqrt();
        [v[0] / norm, v[1] / norm]
    };
    let v0 = vec(l0);
    // The second is orthogonal to the first (exactly, for a symmetric 2 × 2).
    let v1 = [-v0[1], v0[0]];
    ([l0, l1], [v0, v1])
}

// ---------------------------------------------------------------------------------------------
// The whole analysis.

/// Everything the `probe` binary reports.
pub struct ProbeReport {
    pub model: String,
    pub data: String,
    pub split: String,
    pub speakers_file: Option<String>,
    pub n_utterances: usize,
    pub n_speakers: usize,
    pub hidden_size: usize,
    pub settings: ProbeSettings,
    /// Per layer (index = position in `hidden_states`).
    pub layers: Vec<LayerProbe>,
    pub pca: Vec<Pca>,
    /// [`baseline`]'s Pearson r and MSE per score (same folds, no features).
    pub baseline_pearson: [f64; 4],
    pub baseline_mse: [f64; 4],
    /// Each utterance's total score (the PCA plot's colour).
    pub total: Vec<f64>,
    pub seconds_pooling: f64,
    pub seconds_probe: f64,
}

/// Runs the probe and the PCA on every layer, layers spread over the machine's cores.
pub fn analyse(pooled: &Pooled, settings: &ProbeSettings) -> Result<(Vec<LayerProbe>, Vec<Pca>), String> {
    let layers = pooled.layers;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, layers.max(1));
    let mut results: Vec<Option<Result<(LayerProbe, Pca), String>>> = (0..layers).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..layers)
                        .step_by(threads)
                        .map(|l| {
                            let x = pooled.layer(l);
                            let probe = cross_validate(&x, pooled.hidden, &pooled.labels, &pooled.speakers, settings);
                            (l, probe.map(|p| (p, pca2(&x, pooled.hidden))))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (l, r) in handle.join().expect("a probe thread panicked") {
                results[l] = Some(r);
            }
        }
    });
    let mut probes = Vec::with_capacity(layers);
    let mut pcas = Vec::with_capacity(layers);
    for (l, r) in results.into_iter().enumerate() {
        let (p, c) = r.expect("every layer ran").map_err(|e| format!("layer {l}: {e}"))?;
        probes.push(p);
        pcas.push(c);
    }
    Ok((probes, pcas))
}

fn num(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

fn fmt_r(v: f64) -> String {
    if v.is_finite() { format!("{v:.3}") } else { "n/a".into() }
}

impl ProbeReport {
    /// The layer with the highest r per score (None when every r is undefined).
    pub fn best_layers(&self) -> [Option<usize>; 4] {
        std::array::from_fn(|t| {
            let mut best: Option<usize> = None;
            for (l, p) in self.layers.iter().enumerate() {
                if p.pearson[t].is_finite() && best.is_none_or(|b| p.pearson[t] > self.layers[b].pearson[t]) {
                    best = Some(l);
                }
            }
            best
        })
    }

    fn folds(&self) -> usize {
        self.layers.first().map_or(0, |p| p.folds)
    }

    pub fn to_json(&self) -> Value {
        let per_aspect =
            |f: &dyn Fn(usize) -> Value| -> Value { Value::Object(ASPECTS.iter().enumerate().map(|(t, a)| (a.to_string(), f(t))).collect()) };
        let layers: Vec<Value> = self
            .layers
            .iter()
            .zip(&self.pca)
            .enumerate()
            .map(|(l, (p, c))| {
                json!({
                    "layer": l,
                    "pearson": per_aspect(&|t| num(p.pearson[t])),
                    "mse": per_aspect(&|t| num(p.mse[t])),
                    "alphas": per_aspect(&|t| json!(p.alphas.iter().map(|a| a[t]).collect::<Vec<f64>>())),
                    "pca_explained_variance": c.explained().map(num),
                })
            })
            .collect();
        let best = self.best_layers();
        json!({
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "speakers": self.speakers_file,
            "n_utterances": self.n_utterances,
            "n_speakers": self.n_speakers,
            "n_layers": self.layers.len(),
            "hidden_size": self.hidden_size,
            "pooling": "mean over frames of each hidden state; layer 0 = input of the first transformer layer, layer i = output of layer i",
            "cv": {
                "folds": self.folds(),
                "folds_requested": self.settings.folds,
                "grouped_by": "speaker",
                "inner_folds": self.settings.inner_folds,
                "alpha_grid": self.settings.alphas,
                "fallback_alpha": self.settings.fallback_alpha,
                "alpha_selection": "per fold and score: least inner out-of-fold squared error",
                "standardisation": "training side's mean and standard deviation, per fold",
            },
            "aspects": ASPECTS,
            "pearson": self.layers.iter().map(|p| p.pearson.map(num)).collect::<Vec<_>>(),
            "mse": self.layers.iter().map(|p| p.mse.map(num)).collect::<Vec<_>>(),
            "baseline": {
                "what": "each fold predicts its training side's mean score (no features): the r of no information under these folds",
                "pearson": per_aspect(&|t| num(self.baseline_pearson[t])),
                "mse": per_aspect(&|t| num(self.baseline_mse[t])),
            },
            "best_layer": per_aspect(&|t| match best[t] {
                Some(l) => json!({"layer": l, "pearson": num(self.layers[l].pearson[t])}),
                None => Value::Null,
            }),
            "layers": layers,
            "seconds": {"pooling": self.seconds_pooling, "probe": self.seconds_probe},
        })
    }

    fn heading(&self) -> String {
        let speakers = self.speakers_file.as_ref().map(|s| format!(" ({s})")).unwrap_or_default();
        format!(
            "Layer-wise ridge probe of {} on {}/{}{speakers}: {} utterances, {} speakers, {} speaker-grouped folds (cross-validated Pearson r)",
            self.model,
            self.data,
            self.split,
            self.n_utterances,
            self.n_speakers,
            self.folds()
        )
    }

    /// The plain-text table (probe.txt, printed).
    pub fn table(&self) -> String {
        let mut out = self.heading() + "\n\n";
        out += &format!("{:>5}  {:>8}  {:>8}  {:>8}  {:>8}   {}\n", "layer", "accuracy", "fluency", "prosody", "total", "PCA variance PC1, PC2");
        let b = self.baseline_pearson;
        out += &format!(
            "{:>5}  {:>8}  {:>8}  {:>8}  {:>8}   (training mean, no features)\n",
            "mean",
            fmt_r(b[0]),
            fmt_r(b[1]),
            fmt_r(b[2]),
            fmt_r(b[3])
        );
        for (l, (p, c)) in self.layers.iter().zip(&self.pca).enumerate() {
            let e = c.explained();
            out += &format!(
                "{l:>5}  {:>8}  {:>8}  {:>8}  {:>8}   {:.1}%, {:.1}%\n",
                fmt_r(p.pearson[0]),
                fmt_r(p.pearson[1]),
                fmt_r(p.pearson[2]),
                fmt_r(p.pearson[3]),
                100.0 * e[0],
                100.0 * e[1]
            );
        }
        let best = self.best_layers();
        let parts: Vec<String> = (0..4)
            .map(|t| match best[t] {
                Some(l) => format!("{} layer {l} ({})", ASPECTS[t], fmt_r(self.layers[l].pearson[t])),
                None => format!("{} n/a", ASPECTS[t]),
            })
            .collect();
        out += &format!("\nbest: {}\n", parts.join(", "));
        out
    }

    /// The markdown table (probe.md), best r per score in bold.
    pub fn markdown(&self) -> String {
        let best = self.best_layers();
        let mut out = self.heading() + ".\n\n";
        out += "| layer | accuracy r | fluency r | prosody r | total r | PCA variance (PC1, PC2) |\n|---|---|---|---|---|---|\n";
        let b = self.baseline_pearson.map(fmt_r);
        out += &format!("| mean only (baseline) | {} | {} | {} | {} | |\n", b[0], b[1], b[2], b[3]);
        for (l, (p, c)) in self.layers.iter().zip(&self.pca).enumerate() {
            let cells: Vec<String> =
                (0..4).map(|t| if best[t] == Some(l) { format!("**{}**", fmt_r(p.pearson[t])) } else { fmt_r(p.pearson[t]) }).collect();
            let e = c.explained();
            out += &format!("| {l} | {} | {:.1}%, {:.1}% |\n", cells.join(" | "), 100.0 * e[0], 100.0 * e[1]);
        }
        out
    }

    /// probe.json, probe.txt, probe.md, probe_r.png and probe_pca.png in `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let json = serde_json::to_string_pretty(&self.to_json()).expect("json") + "\n";
        sslpron_fs::write_file(&dir.join("probe.json"), json.as_bytes())?;
        sslpron_fs::write_file(&dir.join("probe.txt"), self.table().as_bytes())?;
        sslpron_fs::write_file(&dir.join("probe.md"), self.markdown().as_bytes())?;
        let pearson: Vec<[f64; 4]> = self.layers.iter().map(|p| p.pearson).collect();
        let subtitle = format!("{} utterances, {} speakers, {} folds by speaker", self.n_utterances, self.n_speakers, self.folds());
        sslpron_fs::write_file(&dir.join("probe_r.png"), &r_plot_png(&pearson, self.baseline_pearson, &subtitle))?;
        Ok(sslpron_fs::write_file(&dir.join("probe_pca.png"), &pca_grid_png(&self.pca, &self.total))?)
    }
}

/// Output paths of [`ProbeReport::write`].
pub fn output_files(dir: &Path) -> Vec<PathBuf> {
    ["probe.json", "probe.txt", "probe.md", "probe_r.png", "probe_pca.png"].iter().map(|f| dir.join(f)).collect()
}

/// Distinct speakers in `pooled`.
pub fn speaker_count(speakers: &[String]) -> usize {
    speakers.iter().collect::<std::collections::HashSet<_>>().len()
}

// ---------------------------------------------------------------------------------------------
// Drawing (on plot.rs's canvas, font and PNG encoder).

const ASPECT_COLOURS: [Rgb; 4] = [[31, 100, 180], [235, 110, 0], [40, 150, 60], [190, 30, 45]];

/// A 2 px anti-aliased segment, stamped as discs every half pixel.
fn line(canvas: &mut Canvas, (x0, y0): (f64, f64), (x1, y1): (f64, f64), colour: Rgb) {
    let steps = ((x1 - x0).hypot(y1 - y0) * 2.0).ceil().max(1.0) as usize;
    for s in 0..=steps {
        let f = s as f64 / steps as f64;
        canvas.dot(x0 + f * (x1 - x0), y0 + f * (y1 - y0), 1.0, colour, 0.5);
    }
}

/// r against layer, one line per score (probe_r.png).
/// The baseline's r per score is drawn as a dashed line in the score's colour.
pub fn r_plot_png(pearson: &[[f64; 4]], baseline: [f64; 4], subtitle: &str) -> Vec<u8> {
    const W: usize = 900;
    const H: usize = 600;
    const PX: i64 = 90;
    const PY: i64 = 110;
    const PW: i64 = 760;
    const PH: i64 = 400;
    let mut canvas = Canvas::new(W, H);
    canvas.text(PX, 14, "Ridge probe: cross-validated r per layer", 3, TITLE);
    canvas.text(PX, 46, subtitle, 2, TEXT);
    // Legend.
    let mut lx = PX;
    for (t, name) in ASPECTS.iter().enumerate() {
        canvas.fill_rect(lx, 80, 22, 4, ASPECT_COLOURS[t]);
        canvas.text(lx + 28, 75, name, 2, TEXT);
        lx += 28 + text_width(name, 2) + 30;
    }
    // The baseline's key: a dashed swatch.
    canvas.fill_rect(lx, 80, 6, 4, TEXT);
    canvas.fill_rect(lx + 10, 80, 6, 4, TEXT);
    canvas.fill_rect(lx + 20, 80, 6, 4, TEXT);
    canvas.text(lx + 34, 75, "mean only", 2, TEXT);
    let finite = pearson.iter().flatten().chain(&baseline).copied().filter(|v| v.is_finite());
    let lowest = finite.fold(0.0f64, f64::min);
    let lo = (lowest / 0.2).floor() * 0.2;
    let hi = 1.0;
    let layers = pearson.len().max(1);
    let span_x = (layers - 1).max(1) as f64;
    let to_x = |l: f64| PX as f64 + l / span_x * (PW - 1) as f64;
    let to_y = |r: f64| PY as f64 + (hi - r) / (hi - lo) * (PH - 1) as f64;
    // Horizontal grid every 0.2, 0 darker.
    let mut tick = lo;
    while tick <= hi + 1e-9 {
        let y = to_y(tick).round() as i64;
        let colour = if tick.abs() < 1e-9 { FRAME } else { GRID };
        canvas.fill_rect(PX, y, PW, 1, colour);
        let label = format!("{:.1}", if tick.abs() < 1e-9 { 0.0 } else { tick });
        canvas.text(PX - 10 - text_width(&label, 2), y - 7, &label, 2, TEXT);
        tick += 0.2;
    }
    let every = layers.div_ceil(13).max(1);
    for l in 0..layers {
        let x = to_x(l as f64).round() as i64;
        canvas.fill_rect(x, PY, 1, PH, GRID);
        if l % every == 0 || l == layers - 1 {
            let label = l.to_string();
            canvas.text(x - text_width(&label, 2) / 2, PY + PH + 8, &label, 2, TEXT);
        }
    }
    canvas.fill_rect(PX, PY, PW, 1, FRAME);
    canvas.fill_rect(PX, PY + PH - 1, PW, 1, FRAME);
    canvas.fill_rect(PX, PY, 1, PH, FRAME);
    canvas.fill_rect(PX + PW - 1, PY, 1, PH, FRAME);
    canvas.text(PX + PW / 2 - text_width("layer", 2) / 2, PY + PH + 34, "layer", 2, TEXT);
    canvas.text_up(18, PY + PH / 2 + text_width("Pearson r", 2) / 2, "Pearson r", 2, TEXT);
    for (t, &b) in baseline.iter().enumerate() {
        if b.is_finite() {
            let y = to_y(b);
            let mut x = PX as f64 + 2.0;
            while x < (PX + PW) as f64 - 12.0 {
                line(&mut canvas, (x, y), (x + 8.0, y), ASPECT_COLOURS[t]);
                x += 16.0;
            }
        }
    }
    for t in 0..4 {
        let points: Vec<Option<(f64, f64)>> =
            pearson.iter().enumerate().map(|(l, r)| r[t].is_finite().then(|| (to_x(l as f64), to_y(r[t])))).collect();
        for pair in points.windows(2) {
            if let (Some(a), Some(b)) = (pair[0], pair[1]) {
                line(&mut canvas, a, b, ASPECT_COLOURS[t]);
            }
        }
        for p in points.iter().flatten() {
            canvas.dot(p.0, p.1, 4.0, ASPECT_COLOURS[t], 1.0);
        }
    }
    encode_png(W as u32, H as u32, &canvas.rgb)
}

/// Viridis, from five anchors; `f` in 0..=1.
fn viridis(f: f64) -> Rgb {
    const ANCHORS: [[f64; 3]; 5] = [[68.0, 1.0, 84.0], [59.0, 82.0, 139.0], [33.0, 145.0, 140.0], [94.0, 201.0, 98.0], [253.0, 231.0, 37.0]];
    let f = if f.is_finite() { f.clamp(0.0, 1.0) } else { 0.0 } * (ANCHORS.len() - 1) as f64;
    let i = (f.floor() as usize).min(ANCHORS.len() - 2);
    let w = f - i as f64;
    std::array::from_fn(|c| (ANCHORS[i][c] * (1.0 - w) + ANCHORS[i + 1][c] * w).round() as u8)
}

/// PC1 against PC2 per layer, coloured by total score, one panel per layer (probe_pca.png).
pub fn pca_grid_png(pcas: &[Pca], total: &[f64]) -> Vec<u8> {
    const PW: usize = 380;
    const PH: usize = 420;
    const SIDE: i64 = 320;
    const LEFT: i64 = 34;
    const TOP: i64 = 66;
    const LEGEND: usize = 80;
    let (cols, rows) = grid(pcas.len().max(1));
    let width = cols * PW;
    let mut canvas = Canvas::new(width, rows * PH + LEGEND);
    let finite: Vec<f64> = total.iter().copied().filter(|v| v.is_finite()).collect();
    let (tmin, tmax) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let colour_of = |v: f64| if tmax > tmin { viridis((v - tmin) / (tmax - tmin)) } else { viridis(0.5) };
    for (l, pca) in pcas.iter().enumerate() {
        let (x0, y0) = (((l % cols) * PW) as i64, ((l / cols) * PH) as i64);
        canvas.text(x0 + LEFT, y0 + 12, &format!("layer {l}"), 3, TITLE);
        let e = pca.explained();
        canvas.text(x0 + LEFT, y0 + 42, &format!("PC1 {:.1} pct, PC2 {:.1} pct", 100.0 * e[0], 100.0 * e[1]), 2, TEXT);
        let (px, py) = (x0 + LEFT, y0 + TOP);
        canvas.fill_rect(px, py, SIDE, 1, FRAME);
        canvas.fill_rect(px, py + SIDE - 1, SIDE, 1, FRAME);
        canvas.fill_rect(px, py, 1, SIDE, FRAME);
        canvas.fill_rect(px + SIDE - 1, py, 1, SIDE, FRAME);
        canvas.text(px + SIDE / 2 - text_width("PC1", 2) / 2, py + SIDE + 6, "PC1", 2, TEXT);
        canvas.text_up(x0 + 8, py + SIDE / 2 + text_width("PC2", 2) / 2, "PC2", 2, TEXT);
        let range = |k: usize| {
            let (a, b) =
                pca.scores.iter().map(|s| s[k]).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
            if a.is_finite() && b > a { (a - 0.05 * (b - a), b + 0.05 * (b - a)) } else { (-1.0, 1.0) }
        };
        let ((x_lo, x_hi), (y_lo, y_hi)) = (range(0), range(1));
        // Zero lines when inside.
        if x_lo < 0.0 && x_hi > 0.0 {
            canvas.fill_rect(px + ((-x_lo) / (x_hi - x_lo) * (SIDE - 1) as f64).round() as i64, py + 1, 1, SIDE - 2, GRID);
        }
        if y_lo < 0.0 && y_hi > 0.0 {
            canvas.fill_rect(px + 1, py + ((y_hi) / (y_hi - y_lo) * (SIDE - 1) as f64).round() as i64, SIDE - 2, 1, GRID);
        }
        for (s, &t) in pca.scores.iter().zip(total) {
            if !(s[0].is_finite() && s[1].is_finite()) {
                continue;
            }
            let x = px as f64 + (s[0] - x_lo) / (x_hi - x_lo) * (SIDE - 1) as f64;
            let y = py as f64 + (y_hi - s[1]) / (y_hi - y_lo) * (SIDE - 1) as f64;
            canvas.dot(x, y, 3.0, colour_of(t), 0.75);
        }
    }
    // Colour bar.
    let bar_y = (rows * PH) as i64 + 16;
    let bar_w = (width as i64 - 2 * LEFT - 240).clamp(120, 600);
    let bar_x = LEFT + 130;
    canvas.text(LEFT, bar_y + 2, "total", 2, TEXT);
    for i in 0..bar_w {
        let f = i as f64 / (bar_w - 1) as f64;
        canvas.fill_rect(bar_x + i, bar_y, 1, 18, viridis(f));
    }
    if tmin.is_finite() {
        let lo = format!("{tmin:.1}");
        let hi = format!("{tmax:.1}");
        canvas.text(bar_x - text_width(&lo, 2) - 8, bar_y + 2, &lo, 2, TEXT);
        canvas.text(bar_x + bar_w + 8, bar_y + 2, &hi, 2, TEXT);
    }
    encode_png(canvas.width as u32, canvas.height as u32, &canvas.rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SplitMix64;
    use std::collections::HashMap;

    fn uniform(rng: &mut SplitMix64) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn gauss(rng: &mut SplitMix64) -> f64 {
        let (u, v) = (uniform(rng).max(1e-300), uniform(rng));
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], x = [1, -2] -> b = [0, -4]; second column x = [0.5, 1] -> b = [4, 4].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![0.0, 4.0, -4.0, 4.0];
        cholesky_solve(&mut a, 2, &mut b, 2).unwrap();
        for (got, want) in b.iter().zip([1.0, 0.5, -2.0, 1.0]) {
            assert!((got - want).abs() < 1e-12, "{b:?}");
        }
        let mut singular = vec![1.0, 1.0, 1.0, 1.0];
        assert!(cholesky_solve(&mut singular, 2, &mut [1.0, 1.0], 1).is_err());
    }

    #[test]
    fn ridge_with_one_feature_matches_the_closed_form() {
        // One feature: w = Sxy / (Sxx + alpha) on centred data, intercept = ybar - w xbar.
        let x = [1.0, 2.0, 4.0, 7.0];
        let y = [2.0, 3.0, 3.0, 9.0];
        let mut m = Moments::new(1);
        for (xi, yi) in x.iter().zip(&y) {
            m.add(&[*xi], &[*yi; 4]);
        }
        let (xbar, ybar) = (3.5, 4.25);
        let sxx: f64 = x.iter().map(|v| (v - xbar) * (v - xbar)).sum();
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - xbar) * (b - ybar)).sum();
        let fit = m.solve(2.0).unwrap();
        let w = sxy / (sxx + 2.0);
        assert!((fit.w[0] - w).abs() < 1e-12 && (fit.intercept[0] - (ybar - w * xbar)).abs() < 1e-12);
    }

    /// n utterances from `speakers` speakers, d features, targets from `target`.
    fn synthetic(
        n: usize,
        d: usize,
        speakers: usize,
        seed: u64,
        target: impl Fn(&[f64], &mut SplitMix64) -> [f64; 4],
    ) -> (Vec<f64>, Vec<[f64; 4]>, Vec<String>) {
        let mut rng = SplitMix64::new(seed);
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        let mut groups = Vec::with_capacity(n);
        for i in 0..n {
            // Features on very different scales: standardisation must cope.
            let row: Vec<f64> = (0..d).map(|j| gauss(&mut rng) * 10f64.powi(j as i32 % 4 - 1) + j as f64).collect();
            y.push(target(&row, &mut rng));
            x.extend(row);
            groups.push(format!("spk{:02}", i % speakers));
        }
        (x, y, groups)
    }

    #[test]
    fn ridge_probe_recovers_a_linear_relation_and_not_noise() {
        let d = 12;
        fn signal(row: &[f64], t: usize) -> f64 {
            // A known linear function of the features (coefficients scaled to the features' scales).
            row.iter().enumerate().map(|(j, x)| (((j + t) % 5) as f64 - 2.0) * x / 10f64.powi(j as i32 % 4 - 1)).sum()
        }
        let linear = |row: &[f64], rng: &mut SplitMix64| -> [f64; 4] { std::array::from_fn(|t| 5.0 + signal(row, t) + 0.001 * gauss(rng)) };
        let (x, y, groups) = synthetic(300, d, 20, 7, linear);
        let probe = cross_validate(&x, d, &y, &groups, &ProbeSettings::default()).unwrap();
        assert_eq!(probe.folds, 5);
        for t in 0..4 {
            assert!(probe.pearson[t] > 0.99, "aspect {t}: r = {}", probe.pearson[t]);
        }
        // Pure noise: the targets ignore the features.
        let noise = |_: &[f64], rng: &mut SplitMix64| -> [f64; 4] { std::array::from_fn(|_| 5.0 + gauss(rng)) };
        let (x, y, groups) = synthetic(300, d, 20, 8, noise);
        let probe = cross_validate(&x, d, &y, &groups, &ProbeSettings::default()).unwrap();
        for t in 0..4 {
            let r = probe.pearson[t];
            assert!(r.is_nan() || r.abs() < 0.2, "aspect {t}: r = {r} on noise");
        }
        // More features than utterances (the dual regime) still works through the primal solve; with
        // 24 training rows in 40 dimensions ridge can only recover the part of the weights in the
        // rows' span (r around sqrt(24/40) ~ 0.8 for a single-feature target), not r ~ 1.
        let wide = 40;
        let (x, y, groups) = synthetic(30, wide, 6, 9, |row, _| std::array::from_fn(|t| row[t] / 10f64.powi(t as i32 % 4 - 1)));
        let probe = cross_validate(&x, wide, &y, &groups, &ProbeSettings::default()).unwrap();
        assert!(probe.pearson.iter().all(|r| *r > 0.5), "{:?}", probe.pearson);
    }

    /// Ridge with an unpenalised intercept, straight from the definition: Gaussian elimination with
    /// partial pivoting on the augmented design [1, x] — no moments, no Cholesky.
    fn reference_ridge(rows: &[Vec<f64>], y: &[f64], alpha: f64) -> Vec<f64> {
        let d = rows[0].len() + 1;
        let mut m = vec![vec![0.0; d + 1]; d];
        for (row, &yi) in rows.iter().zip(y) {
            let a: Vec<f64> = std::iter::once(1.0).chain(row.iter().copied()).collect();
            for i in 0..d {
                for j in 0..d {
                    m[i][j] += a[i] * a[j];
                }
                m[i][d] += a[i] * yi;
            }
        }
        for (i, r) in m.iter_mut().enumerate().skip(1) {
            r[i] += alpha;
        }
        for c in 0..d {
            let p = (c..d).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs())).unwrap();
            m.swap(c, p);
            for r in 0..d {
                if r != c {
                    let f = m[r][c] / m[c][c];
                    let pivot = m[c].clone();
                    m[r].iter_mut().zip(&pivot).for_each(|(v, q)| *v -= f * q);
                }
            }
        }
        (0..d).map(|i| m[i][d] / m[i][i]).collect()
    }

    #[test]
    fn cross_validation_matches_a_direct_implementation() {
        let d = 6;
        let (x, y, groups) = synthetic(60, d, 7, 21, |row, rng| std::array::from_fn(|t| row[t] * 0.3 - row[5] * 0.01 + gauss(rng)));
        let alpha = 3.0;
        let settings = ProbeSettings { alphas: vec![alpha], ..ProbeSettings::default() };
        let probe = cross_validate(&x, d, &y, &groups, &settings).unwrap();
        let (fold_of, folds) = grouped_folds(&groups, settings.folds);
        for f in 0..folds {
            let train: Vec<usize> = (0..60).filter(|&i| fold_of[i] != f).collect();
            // Standardise by hand on the training side.
            let stat = |j: usize| {
                let v: Vec<f64> = train.iter().map(|&i| x[i * d + j]).collect();
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let sd = (v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
                (mean, sd)
            };
            let stats: Vec<(f64, f64)> = (0..d).map(stat).collect();
            let z = |i: usize| -> Vec<f64> { (0..d).map(|j| (x[i * d + j] - stats[j].0) / stats[j].1).collect() };
            let rows: Vec<Vec<f64>> = train.iter().map(|&i| z(i)).collect();
            for t in 0..4 {
                let target: Vec<f64> = train.iter().map(|&i| y[i][t]).collect();
                let beta = reference_ridge(&rows, &target, alpha);
                for i in (0..60).filter(|&i| fold_of[i] == f) {
                    let want = beta[0] + z(i).iter().zip(&beta[1..]).map(|(a, b)| a * b).sum::<f64>();
                    assert!((probe.predictions[i][t] - want).abs() < 1e-9, "fold {f} row {i}: {} vs {want}", probe.predictions[i][t]);
                }
            }
        }
        let column = |t: usize| -> (Vec<f64>, Vec<f64>) { (probe.predictions.iter().map(|p| p[t]).collect(), y.iter().map(|v| v[t]).collect()) };
        let (p, h) = column(0);
        assert!((probe.pearson[0] - pearson(&p, &h)).abs() < 1e-12);
    }

    #[test]
    fn inner_cv_by_subtraction_matches_refitting() {
        // The inner folds' fits come from the outer moments minus the held-out part; refitting each
        // inner training side from scratch must pick the same alphas.
        let d = 5;
        let (x, y, groups) = synthetic(80, d, 9, 5, |row, rng| std::array::from_fn(|t| row[t] / 10f64.powi(t as i32 % 4 - 1) + 3.0 * gauss(rng)));
        let rows: Vec<Vec<f64>> = x.chunks(d).map(|r| r.to_vec()).collect();
        let settings = ProbeSettings::default();
        let mut total = Moments::new(d);
        for (r, t) in rows.iter().zip(&y) {
            total.add(r, t);
        }
        let refs: Vec<&String> = groups.iter().collect();
        let chosen = choose_alphas(&total, &rows, &y, &refs, &settings).unwrap();
        let (fold_of, folds) = grouped_folds(&refs, settings.inner_folds);
        let mut sse = vec![[0.0; 4]; settings.alphas.len()];
        for f in 0..folds {
            let mut inner = Moments::new(d);
            for i in (0..80).filter(|&i| fold_of[i] != f) {
                inner.add(&rows[i], &y[i]);
            }
            for (k, &alpha) in settings.alphas.iter().enumerate() {
                let fit = inner.solve(alpha).unwrap();
                for i in (0..80).filter(|&i| fold_of[i] == f) {
                    let p = fit.predict(&rows[i]);
                    (0..4).for_each(|t| sse[k][t] += (p[t] - y[i][t]).powi(2));
                }
            }
        }
        for t in 0..4 {
            let best = (0..settings.alphas.len()).rev().min_by(|&a, &b| sse[a][t].total_cmp(&sse[b][t])).unwrap();
            assert_eq!(chosen[t], settings.alphas[best], "aspect {t}: {sse:?}");
        }
    }

    #[test]
    fn baseline_predicts_the_other_speakers_mean() {
        // Two speakers, two folds: A (1, 2, 3) is predicted by B's mean 8 and B (7, 8, 9) by A's
        // mean 2. r = -corr(label, speaker) = -9 / sqrt(1.5 * 58); MSE = (49+36+25+25+36+49) / 6.
        let y: Vec<[f64; 4]> = [1.0, 2.0, 3.0, 7.0, 8.0, 9.0].iter().map(|&v| [v; 4]).collect();
        let groups = ["a", "a", "a", "b", "b", "b"];
        let (r, m) = baseline(&y, &groups, 5);
        let want = -9.0 / (1.5f64 * 58.0).sqrt();
        assert!((r[0] - want).abs() < 1e-12 && (m[3] - 220.0 / 6.0).abs() < 1e-12, "{r:?} {m:?}");
    }

    #[test]
    fn one_speaker_per_training_side_uses_the_fallback_alpha() {
        let (x, y, groups) = synthetic(10, 3, 2, 1, |row, _| [row[0]; 4]);
        let probe = cross_validate(&x, 3, &y, &groups, &ProbeSettings::default()).unwrap();
        assert_eq!(probe.folds, 2);
        assert!(probe.alphas.iter().all(|a| *a == [FALLBACK_ALPHA; 4]), "{:?}", probe.alphas);
        let (x, y, groups) = synthetic(10, 3, 1, 1, |row, _| [row[0]; 4]);
        assert!(cross_validate(&x, 3, &y, &groups, &ProbeSettings::default()).is_err());
    }

    #[test]
    fn grouped_folds_never_split_a_speaker() {
        let mut rng = SplitMix64::new(3);
        for case in 0..50 {
            let speakers = 1 + rng.below(30);
            let mut groups = Vec::new();
            for s in 0..speakers {
                for _ in 0..1 + rng.below(25) {
                    groups.push(format!("{s:04}"));
                }
            }
            // Shuffle so a speaker's items are not contiguous.
            for i in (1..groups.len()).rev() {
                groups.swap(i, rng.below(i + 1));
            }
            let k = 1 + rng.below(8);
            let (fold_of, folds) = grouped_folds(&groups, k);
            assert_eq!(folds, k.min(speakers), "case {case}");
            let mut fold_of_speaker: HashMap<&str, usize> = HashMap::new();
            for (g, &f) in groups.iter().zip(&fold_of) {
                assert!(f < folds);
                let first = *fold_of_speaker.entry(g.as_str()).or_insert(f);
                assert_eq!(first, f, "case {case}: speaker {g} is in folds {first} and {f}");
            }
            for f in 0..folds {
                assert!(fold_of.contains(&f), "case {case}: fold {f} is empty");
            }
        }
        // Balance: four speakers of 10, 10, 5, 5 utterances in two folds -> 15 and 15.
        let groups: Vec<&str> = [("a", 10), ("b", 10), ("c", 5), ("d", 5)].iter().flat_map(|(g, n)| std::iter::repeat_n(*g, *n)).collect();
        let (fold_of, _) = grouped_folds(&groups, 2);
        assert_eq!(fold_of.iter().filter(|&&f| f == 0).count(), 15);
    }

    #[test]
    fn pca_finds_the_dominant_directions() {
        let (n, d) = (400, 16);
        let mut rng = SplitMix64::new(11);
        // Two known orthonormal directions, spread 3 and 1, plus small isotropic noise.
        let mut u1: Vec<f64> = (0..d).map(|i| ((i * 5 % 7) as f64) - 3.0).collect();
        normalise(&mut u1);
        let mut u2: Vec<f64> = (0..d).map(|i| if i % 2 == 0 { 1.0 } else { -0.5 }).collect();
        let p = dot(&u1, &u2);
        u2.iter_mut().zip(&u1).for_each(|(b, a)| *b -= p * a);
        normalise(&mut u2);
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let (a, b) = (3.0 * gauss(&mut rng), gauss(&mut rng));
            x.extend((0..d).map(|i| 2.0 + a * u1[i] + b * u2[i] + 0.05 * gauss(&mut rng)));
        }
        let pca = pca2(&x, d);
        let cos1 = dot(&pca.components[0], &u1).abs();
        let cos2 = dot(&pca.components[1], &u2).abs();
        assert!(cos1 > 0.999 && cos2 > 0.99, "cos {cos1} {cos2}");
        assert!((pca.variances[0] / 9.0 - 1.0).abs() < 0.2 && (pca.variances[1] - 1.0).abs() < 0.2, "{:?}", pca.variances);
        let e = pca.explained();
        assert!(e[0] > 0.85 && e[0] + e[1] > 0.98 && e[0] + e[1] <= 1.0 + 1e-12, "{e:?}");
        // Scores are the centred projections: variance of PC1's scores = its eigenvalue.
        let var: f64 = pca.scores.iter().map(|s| s[0] * s[0]).sum::<f64>() / (n - 1) as f64;
        assert!((var - pca.variances[0]).abs() < 1e-8 * var);
    }

    #[test]
    fn sym2_eigen_is_an_eigen_decomposition() {
        for (a, b, c) in [(2.0, 1.0, 2.0), (1.0, 0.0, 3.0), (5.0, -2.0, 1.0), (1.0, 3.0, 4.0)] {
            let (l, v) = sym2_eigen(a, b, c);
            assert!(l[0] >= l[1]);
            for k in 0..2 {
                let av = [a * v[k][0] + b * v[k][1], b * v[k][0] + c * v[k][1]];
                assert!((av[0] - l[k] * v[k][0]).abs() < 1e-12 && (av[1] - l[k] * v[k][1]).abs() < 1e-12, "{a} {b} {c}");
            }
        }
    }
}
