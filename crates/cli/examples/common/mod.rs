//! What the timing examples share: a model directory loaded on the flex CPU device, and a WAV prepared
//! as that model wants it.

use burn::prelude::*;
use sslpron_audio::{PrepareOptions, prepare_wav};
use sslpron_model::{ModelFiles, ModelInfo, PronunciationModel};

pub fn load_dir(dir: &std::path::Path, device: &Device) -> (ModelInfo, PronunciationModel) {
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()));
    let (config, weights) = (read("config.json"), read("model.safetensors"));
    let files = ModelFiles {
        config_name: "config.json",
        config_json: &config,
        preprocessor_name: "preprocessor_config.json",
        preprocessor_json: None,
        weights_name: "model.safetensors",
        weights: &weights,
    };
    let (info, model, _) = sslpron_model::load(&files, device).expect("model loads");
    (info, model)
}

pub fn prepared(audio: &str, info: &ModelInfo) -> Vec<f32> {
    let bytes = std::fs::read(audio).unwrap_or_else(|e| panic!("{audio}: {e}"));
    prepare_wav(&bytes, &PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() })
        .unwrap_or_else(|e| panic!("{audio}: {e}"))
}
