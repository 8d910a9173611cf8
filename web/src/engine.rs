//! Scoring in the browser, minus the browser: load a web model (`sslpron convert`) onto a device,
//! turn recorded samples at any rate into model input, score with asynchronous reads only (a
//! synchronous read from a WebGPU device panics in a browser).

use burn::prelude::*;
use serde::Serialize;
use sslpron_audio::PrepareOptions;
use sslpron_model::{Kernels, ModelInfo, PronunciationModel};

/// The longest recording the page scores in one pass. Attention cost grows with the square of the
/// length and the model was trained on single sentences (Speechocean762: under 20 s); the page stops
/// recording here and says so.
pub const MAX_SECONDS: f64 = 30.0;

/// A loaded model on its device.
pub struct Engine {
    model: PronunciationModel,
    info: ModelInfo,
    device: Device,
    description: String,
}

/// Four scores on the 0–10 scale and where the time went.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreResult {
    pub accuracy: f32,
    pub fluency: f32,
    pub prosody: f32,
    pub total: f32,
    /// Length of the recording that was scored.
    pub seconds: f64,
    pub timings: Timings,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    /// Resampling to 16 kHz and normalising.
    pub prepare_ms: f64,
    /// The model, from input upload to the scores read back.
    pub model_ms: f64,
}

impl Engine {
    /// `bytes`: a web model file; `name` names it in errors; `kernels`: the model's kernel choice
    /// (the default but for the benchmark's A/B of the CPU device's GEMM).
    pub fn load(bytes: &[u8], name: &str, device: Device, kernels: Kernels) -> Result<Self, String> {
        let sslpron_model::WebModel { info, model, description, .. } =
            sslpron_model::load_bundle_with_kernels(bytes, name, &device, kernels).map_err(|e| e.to_string())?;
        if model.head.is_none() {
            return Err(sslpron_model::ModelError::NoScoreHead { file: name.to_string() }.to_string());
        }
        Ok(Engine { model, info, device, description })
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// Mono samples at `sample_rate` to model input (16 kHz, normalised as the model says), refusing
    /// silence, too short (below the model's minimum) and too long (over [`MAX_SECONDS`]) recordings.
    pub fn prepare(&self, samples: &[f32], sample_rate: u32) -> Result<Vec<f32>, String> {
        let seconds = samples.len() as f64 / sample_rate.max(1) as f64;
        if seconds > MAX_SECONDS {
            return Err(format!("the recording is {seconds:.1} s long; the scorer takes at most {MAX_SECONDS:.0} s (one or two sentences)"));
        }
        let options = PrepareOptions { do_normalize: self.info.preprocessing.do_normalize, min_samples: self.info.min_samples() };
        sslpron_audio::prepare_samples(samples, sample_rate, &options).map_err(|e| e.to_string())
    }

    /// Scores of prepared input, read back asynchronously.
    pub async fn score_prepared(&self, input: &[f32]) -> Result<[f32; 4], String> {
        let tensor = Tensor::<1>::from_floats(input, &self.device).unsqueeze_dim::<2>(0);
        let scores = self.model.score_tensor(tensor, "web model").map_err(|e| e.to_string())?;
        let data = scores.into_data_async().await.map_err(|e| format!("reading the scores back failed: {e:?}"))?;
        let values: Vec<f32> = data.convert::<f32>().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        match values.as_slice() {
            &[a, f, p, t] if values.iter().all(|v| v.is_finite()) => Ok([a, f, p, t]),
            _ => Err(sslpron_model::ModelError::NonFiniteOutput.to_string()),
        }
    }

    /// The whole path, with timings from `now` (milliseconds; the browser's `performance.now`).
    pub async fn score(&self, samples: &[f32], sample_rate: u32, now: impl Fn() -> f64) -> Result<ScoreResult, String> {
        let start = now();
        let input = self.prepare(samples, sample_rate)?;
        let prepared = now();
        let [accuracy, fluency, prosody, total] = self.score_prepared(&input).await?;
        let done = now();
        Ok(ScoreResult {
            accuracy,
            fluency,
            prosody,
            total,
            seconds: samples.len() as f64 / sample_rate as f64,
            timings: Timings { prepare_ms: prepared - start, model_ms: done - prepared },
        })
    }
}
