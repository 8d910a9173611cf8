//! What the timing examples share: a model directory loaded on the flex CPU device, and a WAV prepared
//! as that model wants it.

use burn::prelude::*;
use sslpron_audio::{PrepareOptions, prepare_wav};
use sslpron_model::{ModelInfo, PronunciationModel};

/// Also sets the allocator up as `sslpron` does (kernels::retain_freed_memory), so the timings
/// are those of the shipped binary.
pub fn load_dir(dir: &std::path::Path, device: &Device) -> (ModelInfo, PronunciationModel) {
    sslpron_model::kernels::retain_freed_memory();
    let bytes = sslpron_hub::local(dir).read().unwrap_or_else(|e| panic!("{e}"));
    let (info, model, _) = sslpron_model::load(&bytes.files(), device).expect("model loads");
    (info, model)
}

pub fn prepared(audio: &str, info: &ModelInfo) -> Vec<f32> {
    let bytes = std::fs::read(audio).unwrap_or_else(|e| panic!("{audio}: {e}"));
    prepare_wav(&bytes, &PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() })
        .unwrap_or_else(|e| panic!("{audio}: {e}"))
}
