//! Log-mel filterbank features: the phone recogniser's input (crates/model `PhoneRecognizer`).
//!
//! The Wav2Vec2-style encoders read raw samples through a learned CNN; a small model trained from
//! scratch on a few hours of speech learns phones far more easily from a fixed spectral front end
//! (docs/EVALUATION.md, "Phone recogniser"). Conventions follow the common ASR front end (Kaldi,
//! torchaudio's `MelSpectrogram` with `mel_scale="htk"`): 25 ms Hann windows every 10 ms, each frame's
//! mean removed and pre-emphasised (0.97), a 512-point FFT, the power spectrum through [`MEL_BINS`]
//! triangular filters spaced evenly on the HTK mel scale from 20 Hz to 8 kHz, then the natural log
//! (floored at 1e-10). [`normalize_bins`] then gives each bin zero mean and unit variance over the
//! utterance, so the features do not depend on the recording's gain.
//!
//! Wasm-safe and dependency-free: a small radix-2 FFT of our own (512 points, ~100 frames a second
//! of audio, a few milliseconds per clip).

use crate::MODEL_SAMPLE_RATE;

/// Mel filters per frame.
pub const MEL_BINS: usize = 80;
/// Samples between frames: 10 ms at 16 kHz.
pub const MEL_HOP: usize = 160;
/// Samples per frame: 25 ms at 16 kHz.
pub const MEL_WINDOW: usize = 400;
const FFT_SIZE: usize = 512;
const LOWEST_HZ: f64 = 20.0;
const PRE_EMPHASIS: f32 = 0.97;
const LOG_FLOOR: f32 = 1e-10;

/// Frames [`LogMel::compute`] gives for `samples` samples: one per full window.
pub fn mel_frames(samples: usize) -> usize {
    if samples < MEL_WINDOW { 0 } else { (samples - MEL_WINDOW) / MEL_HOP + 1 }
}

/// The front end's fixed tables (window, filters, twiddles), built once and reused for every clip.
pub struct LogMel {
    window: Vec<f32>,
    /// Per mel bin: the first FFT bin it covers and its weights from there.
    filters: Vec<(usize, Vec<f32>)>,
    /// `exp(-2πik/FFT_SIZE)` for k < FFT_SIZE/2.
    twiddles: Vec<(f32, f32)>,
}

impl Default for LogMel {
    fn default() -> Self {
        Self::new()
    }
}

fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

impl LogMel {
    pub fn new() -> Self {
        // Symmetric Hann ("hanning"), as Kaldi's and Povey's windows are.
        let window = (0..MEL_WINDOW).map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / (MEL_WINDOW - 1) as f64).cos()) as f32).collect();
        let nyquist = MODEL_SAMPLE_RATE as f64 / 2.0;
        let (low, high) = (hz_to_mel(LOWEST_HZ), hz_to_mel(nyquist));
        let edges: Vec<f64> = (0..MEL_BINS + 2).map(|i| mel_to_hz(low + (high - low) * i as f64 / (MEL_BINS + 1) as f64)).collect();
        let bin_hz = MODEL_SAMPLE_RATE as f64 / FFT_SIZE as f64;
        let filters = (0..MEL_BINS)
            .map(|m| {
                let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
                let weights: Vec<(usize, f32)> = (0..=FFT_SIZE / 2)
                    .filter_map(|k| {
                        let hz = k as f64 * bin_hz;
                        let w = if hz <= left || hz >= right {
                            0.0
                        } else if hz <= centre {
                            (hz - left) / (centre - left)
                        } else {
                            (right - hz) / (right - centre)
                        };
                        (w > 0.0).then_some((k, w as f32))
                    })
                    .collect();
                // The lowest filters are narrower than one FFT bin: give them the nearest bin.
                if weights.is_empty() {
                    return ((centre / bin_hz).round() as usize, vec![1.0]);
                }
                (weights[0].0, weights.iter().map(|&(_, w)| w).collect())
            })
            .collect();
        let twiddles = (0..FFT_SIZE / 2)
            .map(|k| {
                let angle = -2.0 * std::f64::consts::PI * k as f64 / FFT_SIZE as f64;
                (angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        LogMel { window, filters, twiddles }
    }

    /// `[mel_frames(samples.len()), MEL_BINS]` row-major log-mel energies of 16 kHz samples.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let frames = mel_frames(samples.len());
        let mut out = Vec::with_capacity(frames * MEL_BINS);
        let (mut re, mut im) = (vec![0f32; FFT_SIZE], vec![0f32; FFT_SIZE]);
        let mut power = vec![0f32; FFT_SIZE / 2 + 1];
        for f in 0..frames {
            let frame = &samples[f * MEL_HOP..][..MEL_WINDOW];
            let mean = frame.iter().sum::<f32>() / MEL_WINDOW as f32;
            re.fill(0.0);
            im.fill(0.0);
            for n in 0..MEL_WINDOW {
                let previous = if n == 0 { frame[0] } else { frame[n - 1] };
                re[n] = ((frame[n] - mean) - PRE_EMPHASIS * (previous - mean)) * self.window[n];
            }
            self.fft(&mut re, &mut im);
            for (k, p) in power.iter_mut().enumerate() {
                *p = re[k] * re[k] + im[k] * im[k];
            }
            for (start, weights) in &self.filters {
                let energy: f32 = weights.iter().zip(&power[*start..]).map(|(w, p)| w * p).sum();
                out.push(energy.max(LOG_FLOOR).ln());
            }
        }
        out
    }

    /// The recogniser's input: [`compute`](Self::compute), then [`normalize_bins`] over the clip.
    pub fn normalized(&self, samples: &[f32]) -> Vec<f32> {
        let mut values = self.compute(samples);
        normalize_bins(&mut values, MEL_BINS);
        values
    }

    /// In-place iterative radix-2 FFT of length FFT_SIZE.
    fn fft(&self, re: &mut [f32], im: &mut [f32]) {
        let n = re.len();
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if j > i {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut size = 2;
        while size <= n {
            let step = n / size;
            for start in (0..n).step_by(size) {
                for k in 0..size / 2 {
                    let (wr, wi) = self.twiddles[k * step];
                    let (a, b) = (start + k, start + k + size / 2);
                    let (tr, ti) = (re[b] * wr - im[b] * wi, re[b] * wi + im[b] * wr);
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            size *= 2;
        }
    }
}

/// Gives each of the `bins` columns of `features` (`[frames, bins]` row-major) zero mean and unit
/// variance over the frames (a column with no variance is only centred).
pub fn normalize_bins(features: &mut [f32], bins: usize) {
    let frames = features.len() / bins.max(1);
    if frames == 0 {
        return;
    }
    for b in 0..bins {
        let mean = (0..frames).map(|f| features[f * bins + b] as f64).sum::<f64>() / frames as f64;
        let var = (0..frames).map(|f| (features[f * bins + b] as f64 - mean).powi(2)).sum::<f64>() / frames as f64;
        let scale = if var > 1e-12 { 1.0 / var.sqrt() } else { 1.0 };
        for f in 0..frames {
            let v = &mut features[f * bins + b];
            *v = ((*v as f64 - mean) * scale) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_matches_a_direct_dft() {
        let mel = LogMel::new();
        let x: Vec<f32> = (0..FFT_SIZE).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) + (i as f32 * 0.3).sin()).collect();
        let (mut re, mut im) = (x.clone(), vec![0f32; FFT_SIZE]);
        mel.fft(&mut re, &mut im);
        let mut worst = 0f64;
        for k in 0..FFT_SIZE {
            let (mut dr, mut di) = (0f64, 0f64);
            for (n, &v) in x.iter().enumerate() {
                let angle = -2.0 * std::f64::consts::PI * (k * n % FFT_SIZE) as f64 / FFT_SIZE as f64;
                dr += v as f64 * angle.cos();
                di += v as f64 * angle.sin();
            }
            worst = worst.max((dr - re[k] as f64).abs()).max((di - im[k] as f64).abs());
        }
        assert!(worst < 1e-3, "FFT differs from the DFT by {worst}");
    }

    #[test]
    fn a_tone_peaks_in_the_filter_around_its_frequency() {
        let mel = LogMel::new();
        for hz in [300.0f64, 1000.0, 3000.0, 6000.0] {
            let samples: Vec<f32> = (0..16_000).map(|n| (2.0 * std::f64::consts::PI * hz * n as f64 / 16_000.0).sin() as f32 * 0.5).collect();
            let features = mel.compute(&samples);
            assert_eq!(features.len(), mel_frames(16_000) * MEL_BINS);
            let row = &features[50 * MEL_BINS..51 * MEL_BINS];
            let peak = (0..MEL_BINS).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            // The bin whose centre frequency is nearest the tone.
            let (low, high) = (hz_to_mel(LOWEST_HZ), hz_to_mel(8000.0));
            let expected = (0..MEL_BINS)
                .min_by(|&a, &b| {
                    let centre = |m: usize| mel_to_hz(low + (high - low) * (m + 1) as f64 / (MEL_BINS + 1) as f64);
                    (centre(a) - hz).abs().total_cmp(&(centre(b) - hz).abs())
                })
                .unwrap();
            assert!(peak.abs_diff(expected) <= 1, "{hz} Hz peaks in bin {peak}, expected {expected}");
        }
    }

    #[test]
    fn frames_and_normalisation() {
        assert_eq!(mel_frames(399), 0);
        assert_eq!(mel_frames(400), 1);
        assert_eq!(mel_frames(16_000), 98);
        let mel = LogMel::new();
        assert!(mel.compute(&[0.1; 100]).is_empty());
        // Silence gives the floor, not NaN.
        assert!(mel.compute(&[0.0; 800]).iter().all(|v| *v == LOG_FLOOR.ln()));
        // Noise under a slow envelope, so every bin varies over the frames.
        let mut state = 12345u32;
        let samples: Vec<f32> = (0..8000)
            .map(|n| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * (1.2 + (n as f32 / 700.0).sin()) * 0.1
            })
            .collect();
        let mut loud: Vec<f32> = mel.compute(&samples.iter().map(|s| s * 8.0).collect::<Vec<_>>());
        let mut quiet = mel.compute(&samples);
        normalize_bins(&mut loud, MEL_BINS);
        normalize_bins(&mut quiet, MEL_BINS);
        // Gain only shifts each log bin, so normalised features do not depend on it.
        let worst = loud.iter().zip(&quiet).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-3, "gain changed normalised features by {worst}");
        let frames = quiet.len() / MEL_BINS;
        let mean: f32 = (0..frames).map(|f| quiet[f * MEL_BINS + 3]).sum::<f32>() / frames as f32;
        assert!(mean.abs() < 1e-4);
    }
}
