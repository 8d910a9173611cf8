//! The audio front end of sslpron: bytes or samples in, a model-ready 16 kHz mono waveform out.
//!
//! Wasm-safe on purpose: no file system, no network, no threads. The CLI and trainer read files
//! and pass bytes ([`prepare_wav`]); the web page passes the `Float32Array` it recorded
//! ([`prepare_samples`]). Both paths run the same steps, so the browser scores exactly what the
//! CLI scores:
//!
//! 1. decode (WAV only; see [`decode_wav`]) and [`check_signal`] (NaN/∞, silence),
//! 2. [`downmix`] to mono (mean of channels, like librosa's `to_mono`),
//! 3. [`resample`] to [`MODEL_SAMPLE_RATE`] (every checkpoint was trained at 16 kHz),
//! 4. refuse clips shorter than [`PrepareOptions::min_samples`],
//! 5. optionally [`normalize`] (the checkpoint's `preprocessor_config.json` `do_normalize`).
//!
//! Errors never name a file: callers know the path and add it.

mod error;
mod mel;
mod resample;
mod wav;

pub use error::AudioError;
pub use mel::{LogMel, MEL_BINS, MEL_HOP, MEL_WINDOW, mel_frames, normalize_bins};
pub use resample::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};

/// The rate every Wav2Vec2 / HuBERT / WavLM checkpoint was pre-trained and fine-tuned at.
pub const MODEL_SAMPLE_RATE: u32 = 16_000;

/// The CNN feature encoder's receptive field in samples (kernels 10,3,3,3,3,2,2 with strides
/// 5,2,2,2,2,2,2): the shortest input that yields one frame (25 ms at 16 kHz).
pub const MIN_MODEL_SAMPLES: usize = 400;

/// Peak absolute amplitude under which a clip counts as silent: -80 dBFS (10^(-80/20)).
/// Below that, a 16-bit file holds at most ±3 LSB — there is no speech to score, and
/// per-utterance normalisation would blow the noise floor up to unit variance.
pub const SILENCE_PEAK: f32 = 1e-4;

/// Decoded audio as it was stored: original rate and channel layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Frames per second.
    pub sample_rate: u32,
    /// Samples per frame.
    pub channels: u16,
    /// Interleaved frames (`[l0, r0, l1, r1, …]` for stereo), full scale ±1.0.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Number of frames (samples per channel). 0 when `channels` is 0 rather than a division
    /// by zero, because the struct's fields are public and may be filled by hand.
    pub fn frames(&self) -> usize {
        match self.channels {
            0 => 0,
            c => self.samples.len() / usize::from(c),
        }
    }

    /// Length in seconds (0.0 for a zero sample rate, for the same reason as [`Audio::frames`]).
    pub fn duration_secs(&self) -> f64 {
        match self.sample_rate {
            0 => 0.0,
            r => self.frames() as f64 / f64::from(r),
        }
    }
}

/// Decode a whole WAV file held in memory.
///
/// Supports PCM 8-bit unsigned, 16/24/32-bit signed integer (also non-multiple-of-8 depths in
/// their container), 32/64-bit IEEE float, and WAVE_FORMAT_EXTENSIBLE wrapping PCM or float;
/// any channel count and sample rate; RIFF and RF64. Unknown chunks (LIST, fact, …) are
/// skipped, odd-sized chunks' pad bytes honoured, and a `data` size of 0 or 0xFFFFFFFF (written
/// by streaming recorders that never seek back) means "to the end of the file". Integer scaling
/// is that of soundfile/librosa (`i16 / 32768`), so values match the Python reference exactly.
///
/// Never panics: malformed input of any kind is an [`AudioError`].
pub fn decode_wav(bytes: &[u8]) -> Result<Audio, AudioError> {
    wav::decode(bytes)
}

/// The longest recording the scorer and the trainer take, in seconds. The models score one read
/// sentence (Speechocean762's are 1–20 s), and self-attention memory grows with the square of the
/// length: at 60 s a base model's attention is 3,000 × 3,000 per head (~430 MB per layer in f32), while
/// a 10-minute file asked for a 14 GB matrix and was killed for memory. Longer recordings are refused
/// (CLI) or left out (trainer), not cut: the scores of a cut recording are not the scores of the whole.
/// The page records at most 30 s.
pub const MAX_AUDIO_SECONDS: f64 = 60.0;

/// The duration in seconds of a WAV file held in memory, read from its header (`fmt ` and the
/// `data` chunk's size) without decoding a sample; the same errors as [`decode_wav`] for a header
/// it cannot read. Lets a caller refuse a recording longer than it can score before allocating for it.
pub fn wav_duration_secs(bytes: &[u8]) -> Result<f64, AudioError> {
    wav::duration_secs(bytes)
}

/// Mix interleaved frames down to mono by averaging the channels (what librosa's `to_mono`
/// does, so multi-channel files give the reference's input). Mono input comes back as a copy.
/// An incomplete trailing frame is ignored; `channels == 0` gives an empty vector.
pub fn downmix(audio: &Audio) -> Vec<f32> {
    let c = usize::from(audio.channels);
    match c {
        0 => Vec::new(),
        1 => audio.samples.clone(),
        _ => audio.samples.chunks_exact(c).map(|frame| (frame.iter().map(|&s| f64::from(s)).sum::<f64>() / c as f64) as f32).collect(),
    }
}

/// Resample mono audio from `from_hz` to `to_hz` with rubato's FFT (band-limited) resampler.
///
/// The filter delay is compensated: output sample `i` corresponds to input time `i / to_hz`,
/// and the output has `round(n * to_hz / from_hz)` samples. Equal rates return an unchanged
/// copy. Rates outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] are an error.
pub fn resample(mono: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AudioError> {
    resample::resample(mono, from_hz, to_hz)
}

/// Refuse signals the model cannot meaningfully score: empty, containing NaN/∞ (which would
/// poison every frame through normalisation and attention), or silent (peak below
/// [`SILENCE_PEAK`], -80 dBFS).
pub fn check_signal(samples: &[f32]) -> Result<(), AudioError> {
    if samples.is_empty() {
        return Err(AudioError::NoSamples);
    }
    let mut peak = 0.0f32;
    for &s in samples {
        if !s.is_finite() {
            return Err(AudioError::NonFinite);
        }
        peak = peak.max(s.abs());
    }
    if peak < SILENCE_PEAK {
        return Err(AudioError::Silent);
    }
    Ok(())
}

/// Per-utterance zero mean / unit variance, exactly transformers'
/// `Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm`: `(x - mean) / sqrt(var + 1e-7)` with the
/// population variance. Sums are accumulated in f64 so long clips do not drift. Empty input is
/// left alone.
pub fn normalize(samples: &mut [f32]) {
    if samples.is_empty() {
        return;
    }
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = samples
        .iter()
        .map(|&x| {
            let d = f64::from(x) - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    let scale = 1.0 / (var + 1e-7).sqrt();
    for x in samples.iter_mut() {
        *x = ((f64::from(*x) - mean) * scale) as f32;
    }
}

/// How to turn audio into model input; built from the checkpoint's `preprocessor_config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareOptions {
    /// Apply [`normalize`]: the checkpoint's `preprocessor_config.json` `do_normalize`, which
    /// differs between backbones, so it must come from the checkpoint, never be assumed.
    pub do_normalize: bool,
    /// Shortest accepted clip, in samples at 16 kHz. Anything shorter than
    /// [`MIN_MODEL_SAMPLES`] cannot produce a single encoder frame.
    pub min_samples: usize,
}

impl Default for PrepareOptions {
    /// Normalise (the usual `preprocessor_config.json`), and require one encoder frame.
    fn default() -> Self {
        Self { do_normalize: true, min_samples: MIN_MODEL_SAMPLES }
    }
}

/// WAV bytes to model input: decode → check → downmix → resample to 16 kHz → length check
/// (`min_samples` at 16 kHz) → optional normalise.
pub fn prepare_wav(bytes: &[u8], opts: &PrepareOptions) -> Result<Vec<f32>, AudioError> {
    let audio = decode_wav(bytes)?;
    check_signal(&audio.samples)?;
    let mono = downmix(&audio);
    prepare_mono(mono, audio.sample_rate, opts)
}

/// Mono samples at any rate to model input: the browser path (a recorded `Float32Array` at the
/// `AudioContext` rate). Same steps as [`prepare_wav`] after decoding.
pub fn prepare_samples(samples: &[f32], sample_rate: u32, opts: &PrepareOptions) -> Result<Vec<f32>, AudioError> {
    prepare_mono(samples.to_vec(), sample_rate, opts)
}

fn prepare_mono(mono: Vec<f32>, sample_rate: u32, opts: &PrepareOptions) -> Result<Vec<f32>, AudioError> {
    // For WAVs this runs a second time after downmixing, because channels in antiphase
    // cancel to silence.
    check_signal(&mono)?;
    let mut out = if sample_rate == MODEL_SAMPLE_RATE { mono } else { resample(&mono, sample_rate, MODEL_SAMPLE_RATE)? };
    if out.len() < opts.min_samples {
        return Err(AudioError::TooShort { samples: out.len(), min_samples: opts.min_samples });
    }
    if opts.do_normalize {
        normalize(&mut out);
    }
    Ok(out)
}
