//! Models in the web format (`sslpron-bundle`): converting a loaded checkpoint into one, and loading one
//! through the same path as a model directory, so a bundle can never build a model that the checkpoint
//! would not.

use burn::prelude::*;
use sslpron_bundle::{Precision, Tensor as BundleTensor};

use crate::checkpoint::{LoadReport, ModelFiles, NamedTensor, export_seed_layout, load, load_with_kernels, to_safetensors};
use crate::error::ModelError;
use crate::kernels::Kernels;
use crate::scorer::{ModelInfo, PronunciationModel};

/// The bundle of a model loaded from `files` (any layout the loader reads), stored in the seed's layout.
/// Refuses a checkpoint that cannot score: the web format exists to score.
pub fn to_bundle(files: &ModelFiles, precision: Precision, description: &str) -> Result<Vec<u8>, ModelError> {
    let device = Device::flex();
    let (info, model, _) = load(files, &device)?;
    if model.head.is_none() {
        return Err(ModelError::NoScoreHead { file: files.weights_name.to_string() });
    }
    let json = |name: &str, bytes: &[u8]| -> Result<serde_json::Value, ModelError> {
        serde_json::from_slice(bytes).map_err(|e| ModelError::Config { file: name.to_string(), message: e.to_string() })
    };
    let config = json(files.config_name, files.config_json)?;
    let preprocessor = files.preprocessor_json.map(|b| json(files.preprocessor_name, b)).transpose()?;
    let tensors: Vec<BundleTensor> =
        export_seed_layout(&model, &info.config).into_iter().map(|t| BundleTensor { name: t.name, shape: t.shape, values: t.values }).collect();
    Ok(sslpron_bundle::encode(&tensors, config, preprocessor, description, precision))
}

/// A model read from the web format.
pub struct WebModel {
    pub info: ModelInfo,
    pub model: PronunciationModel,
    pub report: LoadReport,
    /// The bundle's own description (e.g. that it is an untrained demo).
    pub description: String,
}

/// A model from a bundle's bytes; `file` names it in errors.
pub fn load_bundle(bytes: &[u8], file: &str, device: &Device) -> Result<WebModel, ModelError> {
    load_bundle_with_kernels(bytes, file, device, Kernels::default())
}

/// As [`load_bundle`], with the model's building blocks on the given [`Kernels`].
pub fn load_bundle_with_kernels(bytes: &[u8], file: &str, device: &Device, kernels: Kernels) -> Result<WebModel, ModelError> {
    let bundle = sslpron_bundle::decode(bytes).map_err(|e| ModelError::Bundle { file: file.to_string(), message: e.to_string() })?;
    let named: Vec<NamedTensor> = bundle.tensors.into_iter().map(|t| NamedTensor { name: t.name, shape: t.shape, values: t.values }).collect();
    let weights = to_safetensors(&named);
    drop(named); // the safetensors bytes hold the weights now: one copy less at the load's peak
    let config = serde_json::to_vec(&bundle.header.config).expect("json");
    let preprocessor = bundle.header.preprocessor.as_ref().map(|p| serde_json::to_vec(p).expect("json"));
    let files = ModelFiles {
        config_name: file,
        config_json: &config,
        preprocessor_name: file,
        preprocessor_json: preprocessor.as_deref(),
        weights_name: file,
        weights: &weights,
    };
    let (info, model, report) = load_with_kernels(&files, device, kernels)?;
    Ok(WebModel { info, model, report, description: bundle.header.description })
}
