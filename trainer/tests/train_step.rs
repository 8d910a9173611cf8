//! Training-step parity with PyTorch: the same fixture model and batch, dropout / LayerDrop / SpecAugment
//! off, two steps of the seed's optimisation (MSE, global grad-norm clip 1.0, AdamW eps 1e-8, no weight
//! decay; lr 1e-2 so that an update is far above rounding). Reference: tests/fixtures/generate_training.py
//! (torch 2.15 `AdamW` + `clip_grad_norm_`, run in float64: the exact result any float32 run should be
//! within rounding of).
//!
//! - End to end (our forward, backward, clipping and AdamW): the loss and the gradient norm of step 1
//!   within 1e-5 relative, of step 2 within 1e-5 or twice torch float32's own drift from float64 if that is
//!   larger (1.3e-5 for general), every clipped gradient of step 1 within 2e-5 of its tensor's largest element
//!   (torch's own float32 run is 1.5e-5 from float64 on these sharp fixtures), Freeze's CNN bit-identical.
//! - The update itself: AdamW driven by torch's gradients gives torch's weights after two steps within
//!   1e-5 relative, every element. (End to end, an element whose gradient is near rounding level moves by
//!   ±lr with a sign that rounding picks, in torch's float32 run as in ours: Adam divides each gradient by
//!   its own magnitude. Comparing weights end to end would compare those coin flips.)

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::prelude::*;
use safetensors::SafeTensors;
use sslpron_model::{ModelFiles, NamedTensor, export_seed_layout, export_seed_layout_of};
use trainer::step::{GradientTensors, OptimSettings, Strategy, TrainState, gradients_from_named};

const RELATIVE: f64 = 1e-5;
/// Float32 backward through these sharp fixtures: torch's own float32 gradients are up to 1.5e-5 from
/// float64 (freeze, `gru_rel_pos_linear.bias`).
const GRADIENT_RELATIVE: f64 = 2e-5;
/// A tensor whose gradient peaks below this fraction of the model's largest has a zero gradient.
const ZERO_GRADIENT: f64 = 1e-6;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn read_named(path: &std::path::Path) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    tensors
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let values = v.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            (n, (v.shape().to_vec(), values))
        })
        .collect()
}

/// The fixture batch: the first `crop` samples of the short and medium clips, each normalised.
fn batch(crop: usize, device: &Device) -> Tensor<2> {
    let mut values = Vec::new();
    for clip in ["short", "medium"] {
        let audio = sslpron_audio::decode_wav(&std::fs::read(fixtures().join(format!("audio/{clip}.wav"))).unwrap()).unwrap();
        let mut samples = sslpron_audio::downmix(&audio)[..crop].to_vec();
        sslpron_audio::normalize(&mut samples);
        values.extend(samples);
    }
    Tensor::<1>::from_floats(values.as_slice(), device).reshape([2, crop])
}

struct Setup {
    info: sslpron_model::ModelInfo,
    model: sslpron_model::PronunciationModel,
    initial: BTreeMap<String, Vec<f32>>,
    entry: serde_json::Value,
    reference: serde_json::Value,
    dir: PathBuf,
    device: Device,
}

fn setup(strategy_name: &str) -> Setup {
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("training/reference.json")).unwrap()).unwrap();
    let entry = reference["strategies"][strategy_name].clone();
    let model_dir = fixtures().join(entry["model"].as_str().unwrap());
    // Every source of randomness off, as in the reference.
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(model_dir.join("config.json")).unwrap()).unwrap();
    for key in ["hidden_dropout", "activation_dropout", "attention_dropout", "feat_proj_dropout", "final_dropout", "layerdrop"] {
        config[key] = 0.0.into();
    }
    config["apply_spec_augment"] = false.into();
    let config_json = serde_json::to_vec(&config).unwrap();
    let weights = std::fs::read(model_dir.join("model.safetensors")).unwrap();
    let device = Device::flex().autodiff();
    let files = ModelFiles {
        config_name: "config.json",
        config_json: &config_json,
        preprocessor_name: "preprocessor_config.json",
        preprocessor_json: None,
        weights_name: "model.safetensors",
        weights: &weights,
    };
    let (info, model, _) = sslpron_model::load(&files, &device).unwrap();
    let initial = read_named(&model_dir.join("model.safetensors")).into_iter().map(|(k, (_, v))| (k, v)).collect();
    Setup { info, model, initial, entry, dir: fixtures().join(format!("training/{strategy_name}")), reference, device }
}

fn end_to_end(strategy_name: &str, strategy: Strategy) {
    let s = setup(strategy_name);
    let crop = s.reference["crop_samples"].as_u64().unwrap() as usize;
    let lr = s.reference["lr"].as_f64().unwrap();
    let torch_grad1 = values_only(read_named(&s.dir.join("grad1.safetensors")));
    let mut state = TrainState::new(s.model, strategy, OptimSettings::default());
    for step in 1..=2 {
        let (grads, report) = state.gradients(batch(crop, &s.device), None, labels_like(&s.reference, &s.device));
        let expected = &s.entry["steps"][step - 1];
        for (what, ours, key) in [("loss", report.loss, "loss"), ("grad norm", report.grad_norm, "grad_norm")] {
            let theirs = expected[key].as_f64().unwrap();
            let torch_f32 = expected[format!("torch_float32_{key}")].as_f64().unwrap();
            // Step 2 starts from weights that step 1's rounding-level coin flips moved (see the module
            // doc): torch's own float32 run drifts there too, so the bound is twice its drift, never
            // below 1e-5.
            let bound = RELATIVE.max(2.0 * (torch_f32 - theirs).abs() / theirs.abs());
            let rel = (ours - theirs).abs() / theirs.abs();
            assert!(rel <= bound, "{strategy_name} step {step}: {what} {ours} vs torch {theirs} (relative {rel:e} > {bound:e})");
        }
        if step == 1 {
            check_gradients(strategy_name, &export_seed_layout_of(state.model(), &s.info.config, &GradientTensors(&grads)), &torch_grad1, strategy);
        }
        state.apply(grads, lr);
        eprintln!("{strategy_name} step {step}: loss {:.6}, grad norm {:.4}", report.loss, report.grad_norm);
    }
    if strategy == Strategy::Freeze {
        for tensor in export_seed_layout(state.model(), &s.info.config).iter().filter(|t| t.name.contains("feature_extractor.")) {
            assert_eq!(&tensor.values, &s.initial[&tensor.name], "{strategy_name}: frozen `{}` changed", tensor.name);
        }
    }
}

/// AdamW (with clipping already in the gradients) driven by torch's gradients, two steps.
fn optimizer_update(strategy_name: &str, strategy: Strategy) {
    let s = setup(strategy_name);
    let lr = s.reference["lr"].as_f64().unwrap();
    let mut state = TrainState::new(s.model, strategy, OptimSettings::default());
    for step in 1..=2 {
        let named = read_named(&s.dir.join(format!("grad{step}.safetensors")));
        let grads = gradients_from_named(state.model(), &s.info.config, &named);
        assert_eq!(grads.len(), named.len(), "{strategy_name}: every torch gradient maps to a parameter");
        state.apply(grads, lr);
    }
    let torch = values_only(read_named(&s.dir.join("step2.safetensors")));
    let ours = export_seed_layout(state.model(), &s.info.config);
    assert_eq!(ours.len(), torch.len(), "{strategy_name}: parameter count");
    let mut worst = (0.0f64, String::new());
    for tensor in &ours {
        let theirs = &torch[&tensor.name];
        if strategy == Strategy::Freeze && tensor.name.contains("feature_extractor.") {
            assert_eq!(&tensor.values, &s.initial[&tensor.name], "{strategy_name}: frozen `{}` changed", tensor.name);
        }
        let err = tensor.values.iter().zip(theirs).fold(0f64, |m, (a, b)| m.max((a - b).abs() as f64));
        let rel = err / peak_of(theirs).max(f64::MIN_POSITIVE);
        if rel > worst.0 {
            worst = (rel, tensor.name.clone());
        }
    }
    eprintln!("{strategy_name}: weights after two AdamW steps on torch's gradients: worst {:.2e} relative ({})", worst.0, worst.1);
    assert!(worst.0 <= RELATIVE, "{strategy_name}: `{}` differs from torch by {:e} relative after two steps", worst.1, worst.0);
}

fn labels_like(reference: &serde_json::Value, device: &Device) -> Tensor<2> {
    let values: Vec<f32> =
        reference["labels"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32)).collect();
    Tensor::<1>::from_floats(values.as_slice(), device).reshape([2, 4])
}

fn values_only(named: BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> BTreeMap<String, Vec<f32>> {
    named.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// Gradients within 2e-5 of torch's, relative to each tensor's largest; a tensor whose gradient is zero
/// in exact arithmetic (attention's key bias: softmax ignores a constant shift) must be at rounding level
/// in both.
fn check_gradients(strategy_name: &str, ours: &[NamedTensor], torch: &BTreeMap<String, Vec<f32>>, strategy: Strategy) {
    let global = global_peak(torch);
    let mut worst = (0.0f64, String::new());
    for tensor in ours {
        let Some(theirs) = torch.get(&tensor.name) else {
            let frozen = strategy == Strategy::Freeze && tensor.name.contains("feature_extractor.");
            assert!(frozen || tensor.name.ends_with("masked_spec_embed"), "{strategy_name}: torch has no gradient for `{}`", tensor.name);
            continue;
        };
        let peak = peak_of(theirs);
        let err = tensor.values.iter().zip(theirs).fold(0f64, |m, (a, b)| m.max((a - b).abs() as f64));
        if peak < ZERO_GRADIENT * global {
            assert!(peak_of(&tensor.values) < ZERO_GRADIENT * global, "{strategy_name}: `{}` should have a zero gradient", tensor.name);
            continue;
        }
        if err / peak > worst.0 {
            worst = (err / peak, tensor.name.clone());
        }
    }
    eprintln!("{strategy_name}: step-1 gradients: worst {:.2e} relative ({})", worst.0, worst.1);
    assert!(worst.0 <= GRADIENT_RELATIVE, "{strategy_name}: gradient of `{}` differs from torch by {:e} relative", worst.1, worst.0);
}

fn global_peak(grads: &BTreeMap<String, Vec<f32>>) -> f64 {
    grads.values().map(|g| peak_of(g)).fold(0f64, f64::max)
}

fn peak_of(values: &[f32]) -> f64 {
    values.iter().fold(0f64, |m, v| m.max(v.abs() as f64))
}

#[test]
fn general_step_matches_torch() {
    end_to_end("general", Strategy::General);
}
#[test]
fn freeze_step_matches_torch_and_keeps_the_cnn() {
    end_to_end("freeze", Strategy::Freeze);
}
#[test]
fn ctc_step_matches_torch() {
    end_to_end("ctc", Strategy::Ctc);
}
#[test]
fn general_update_matches_torch_adamw() {
    optimizer_update("general", Strategy::General);
}
#[test]
fn freeze_update_matches_torch_adamw() {
    optimizer_update("freeze", Strategy::Freeze);
}
#[test]
fn ctc_update_matches_torch_adamw() {
    optimizer_update("ctc", Strategy::Ctc);
}
