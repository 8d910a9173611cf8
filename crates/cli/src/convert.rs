//! `sslpron convert`: a model directory (or hub model) into the web format (docs/WEB_FORMAT.md), written
//! atomically, with its size and SHA-256 (what a page or widget gives next to the model's URL), and
//! optionally the score drift of the conversion on given clips. With `--hub-layout` it writes a model
//! directory instead (config, preprocessing, weights in f32 or f16): how the default model is shipped.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};
use sslpron_model::Precision;

use crate::model_dir;

pub fn run(model: &Path, output: &Path, precision: Precision, description: &str, check: &[PathBuf], hub_layout: bool) -> Result<(), String> {
    if hub_layout {
        return run_hub_layout(model, output, precision, check);
    }
    if output.is_dir() {
        return Err(format!("{}: is a directory; give the output file's path (e.g. model.sslpron)", output.display()));
    }
    let location = model_dir::locate(model)?;
    let bytes = location.read()?;
    let bundle = sslpron_model::to_bundle(&bytes.files(), precision, description).map_err(|e| e.to_string())?;
    // Drift first: a conversion that cannot be loaded back is never written.
    let name = output.display().to_string();
    let drifts = if check.is_empty() {
        Vec::new()
    } else {
        let converted = sslpron_model::load_bundle(&bundle, &name, &Device::flex()).map_err(|e| e.to_string())?.model;
        drifts(model, &converted, &name, check)?
    };
    sslpron_fs::write_file(output, &bundle)?;
    let digest: String = Sha256::digest(&bundle).iter().map(|b| format!("{b:02x}")).collect();
    println!("{}: {} bytes, {:?}, sha256 {digest}", output.display(), bundle.len(), precision);
    print_drifts(&drifts);
    Ok(())
}

/// The largest change of any score, per clip, between the model at `model` and its conversion.
fn drifts<'a>(
    model: &Path,
    converted: &sslpron_model::PronunciationModel,
    name: &str,
    check: &'a [PathBuf],
) -> Result<Vec<(&'a PathBuf, f32)>, String> {
    let original = model_dir::load(model, Device::flex())?;
    let mut drifts = Vec::new();
    for clip in check {
        let input = original.prepare(clip)?;
        let score = |m: &sslpron_model::PronunciationModel| m.score(input.clone(), name).map_err(|e| e.to_string());
        let (a, b) = (score(&original.model)?.as_array(), score(converted)?.as_array());
        drifts.push((clip, a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)));
    }
    Ok(drifts)
}

fn print_drifts(drifts: &[(&PathBuf, f32)]) {
    for (clip, drift) in drifts {
        println!("{}: largest score change from the conversion {drift:.5}", clip.display());
    }
}

/// `--hub-layout`: the model's own files with every float tensor stored at `precision` (f32 or f16).
/// The folder is built beside `output` and renamed into place, so a failure leaves nothing behind.
fn run_hub_layout(model: &Path, output: &Path, precision: Precision, check: &[PathBuf]) -> Result<(), String> {
    let dtype = match precision {
        Precision::F32 => Dtype::F32,
        Precision::F16 => Dtype::F16,
        Precision::Int8 => return Err("--hub-layout stores f32 or f16 (safetensors has no per-row int8); use the web format for int8".into()),
    };
    if output.exists() {
        return Err(format!("{}: already exists; give a new folder for the hub layout", output.display()));
    }
    let location = model_dir::locate(model)?;
    let bytes = location.read()?;
    // The model must load as it is, so that a broken checkpoint is not passed on.
    sslpron_model::load(&bytes.files(), &Device::flex()).map_err(|e| e.to_string())?;
    let weights = recast(&bytes.weights, &bytes.weights_name, dtype)?;
    let files = sslpron_model::ModelFiles { weights: &weights, ..bytes.files() };
    let (_, converted, _) = sslpron_model::load(&files, &Device::flex()).map_err(|e| e.to_string())?;
    let drifts = drifts(model, &converted, &output.display().to_string(), check)?;
    // The prompt-aware parts beside a local model travel with it, their weights at the same precision.
    let mut prompt_parts: Vec<(&str, Vec<u8>)> = Vec::new();
    if model.is_dir() {
        let present: Vec<&str> = crate::prompt::PART_FILES.iter().copied().filter(|f| model.join(f).exists()).collect();
        if !present.is_empty() && present.len() < crate::prompt::PART_FILES.len() {
            return Err(format!(
                "{}: has only some of the prompt-aware parts ({}); all of {} or none",
                model.display(),
                present.join(", "),
                crate::prompt::PART_FILES.join(", ")
            ));
        }
        for name in crate::prompt::PART_FILES {
            let path = model.join(name);
            if !path.exists() {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            let bytes = if name.ends_with(".safetensors") { recast(&bytes, &path.display().to_string(), dtype)? } else { bytes };
            prompt_parts.push((name, bytes));
        }
    }

    sslpron_fs::write_dir(output, |staging| -> Result<(), sslpron_fs::WriteError> {
        sslpron_fs::write_file(&staging.join("config.json"), &bytes.config)?;
        if let Some(preprocessor) = &bytes.preprocessor {
            sslpron_fs::write_file(&staging.join("preprocessor_config.json"), preprocessor)?;
        }
        sslpron_fs::write_file(&staging.join("model.safetensors"), &weights)?;
        for (name, bytes) in &prompt_parts {
            sslpron_fs::write_file(&staging.join(name), bytes)?;
        }
        Ok(())
    })?;
    println!("{}: hub layout, model.safetensors {} bytes, {:?}", output.display(), weights.len(), precision);
    print_drifts(&drifts);
    Ok(())
}

/// `weights` (a safetensors file) with every f32/f16 tensor stored as `dtype`; other tensors unchanged.
fn recast(weights: &[u8], name: &str, dtype: Dtype) -> Result<Vec<u8>, String> {
    use sslpron_bundle::half::{f16_to_f32, f32_to_f16};
    let file = SafeTensors::deserialize(weights).map_err(|e| format!("{name}: not a safetensors file: {e}"))?;
    let mut tensors: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
    for (tensor_name, view) in file.tensors() {
        let data = view.data();
        let values: Option<Vec<f32>> = match view.dtype() {
            Dtype::F32 => Some(data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()),
            Dtype::F16 => Some(data.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect()),
            _ => None,
        };
        let (out_dtype, out) = match values {
            Some(values) if dtype == Dtype::F16 => (dtype, values.iter().flat_map(|v| f32_to_f16(*v).to_le_bytes()).collect()),
            Some(values) => (dtype, values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            None => (view.dtype(), data.to_vec()),
        };
        tensors.push((tensor_name, view.shape().to_vec(), out_dtype, out));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, shape, dtype, data)| (n.clone(), TensorView::new(*dtype, shape.clone(), data).expect("shape and data agree")))
        .collect();
    safetensors::serialize(views, None).map_err(|e| format!("{name}: cannot re-serialise: {e}"))
}
