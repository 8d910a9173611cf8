//! Reading a model directory (the hub's layout), local or downloaded from the hub, and the audio files
//! the model scores.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use sslpron_audio::{MAX_AUDIO_SECONDS, PrepareOptions};
use sslpron_hub::ModelLocation;
use sslpron_model::{LoadReport, ModelInfo, PronunciationModel};

/// A loaded model and where it came from.
pub struct LoadedModel {
    pub info: ModelInfo,
    pub model: PronunciationModel,
    pub weights_path: PathBuf,
    pub device: Device,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// Where `--model` points: a model directory or a hub id ([`sslpron_hub::resolve_model`]'s rules).
pub fn locate(spec: &Path) -> Result<ModelLocation, String> {
    sslpron_hub::resolve_model(&spec.to_string_lossy()).map_err(|e| e.to_string())
}

pub fn load(spec: &Path, device: Device) -> Result<LoadedModel, String> {
    if spec.is_file() {
        // A web model (`sslpron convert`): one file with config, preprocessing and weights.
        let bytes = read(spec)?;
        let name = spec.display().to_string();
        let sslpron_model::WebModel { info, model, report, .. } = sslpron_model::load_bundle(&bytes, &name, &device).map_err(|e| e.to_string())?;
        warn_unused(&name, &report);
        return Ok(LoadedModel { info, model, weights_path: spec.to_path_buf(), device });
    }
    let location = locate(spec)?;
    let bytes = location.read()?;
    let (info, model, report) = sslpron_model::load(&bytes.files(), &device).map_err(|e| e.to_string())?;
    warn_unused(&bytes.weights_name, &report);
    Ok(LoadedModel { info, model, weights_path: location.weights, device })
}

/// The default model, compiled into the binary so that `sslpron score clip.wav` works offline with
/// nothing else installed: the same file the page loads (www/models/default.sslpron).
const BUILTIN_MODEL: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../www/models/default.sslpron"));
/// How messages name the built-in model.
pub const BUILTIN_MODEL_NAME: &str = "built-in model (www/models/default.sslpron)";

pub fn load_builtin(device: Device) -> Result<LoadedModel, String> {
    let sslpron_model::WebModel { info, model, report, .. } =
        sslpron_model::load_bundle(BUILTIN_MODEL, BUILTIN_MODEL_NAME, &device).map_err(|e| e.to_string())?;
    warn_unused(BUILTIN_MODEL_NAME, &report);
    Ok(LoadedModel { info, model, weights_path: PathBuf::from(BUILTIN_MODEL_NAME), device })
}

fn warn_unused(file: &str, report: &LoadReport) {
    if !report.unused.is_empty() {
        let shown: Vec<&str> = report.unused.iter().take(5).map(String::as_str).collect();
        let more = report.unused.len().saturating_sub(shown.len());
        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
        eprintln!("sslpron: note: {file}: {} tensor(s) not used by this model: {}{tail}", report.unused.len(), shown.join(", "));
    }
}

/// Files larger than this are refused before they are read: a 60 s recording in any format the
/// decoder takes (up to 8 channels of 64-bit float at 96 kHz: 369 MB) fits.
const MAX_AUDIO_FILE_BYTES: u64 = 400 << 20;

impl LoadedModel {
    /// The file's samples as the model wants them (16 kHz mono, normalised as the checkpoint says),
    /// as a `[1, samples]` tensor. Refuses, before decoding, a file longer than [`MAX_AUDIO_SECONDS`]
    /// (the models score one sentence; attention memory grows with the square of the length).
    pub fn prepare(&self, audio: &Path) -> Result<Tensor<2>, String> {
        let samples = self.prepare_samples(audio)?;
        Ok(Tensor::<1>::from_floats(samples.as_slice(), &self.device).unsqueeze_dim::<2>(0))
    }

    /// As [`prepare`](Self::prepare), the samples on the host.
    pub fn prepare_samples(&self, audio: &Path) -> Result<Vec<f32>, String> {
        if let Ok(meta) = std::fs::metadata(audio)
            && meta.len() > MAX_AUDIO_FILE_BYTES
        {
            return Err(format!(
                "{}: {} MB is more audio than sslpron scores at once (at most {MAX_AUDIO_SECONDS:.0} s); cut the recording into sentences",
                audio.display(),
                meta.len() >> 20
            ));
        }
        let bytes = read(audio)?;
        let seconds = sslpron_audio::wav_duration_secs(&bytes).map_err(|e| format!("{}: {e}", audio.display()))?;
        if seconds > MAX_AUDIO_SECONDS {
            return Err(format!(
                "{}: {seconds:.1} s of audio; sslpron scores at most {MAX_AUDIO_SECONDS:.0} s at a time (the models score one read sentence, and memory grows with the square of the length): cut the recording into sentences",
                audio.display()
            ));
        }
        let options = PrepareOptions { do_normalize: self.info.preprocessing.do_normalize, min_samples: self.info.min_samples() };
        sslpron_audio::prepare_wav(&bytes, &options).map_err(|e| format!("{}: {e}", audio.display()))
    }

    pub fn weights_name(&self) -> String {
        self.weights_path.display().to_string()
    }
}
