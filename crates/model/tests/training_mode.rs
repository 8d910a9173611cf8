//! Dropout, LayerDrop and SpecAugment come from the checkpoint's config and act only on a training
//! (autodiff) device: inference is deterministic and equals transformers' eval mode, training is not.

mod common;

use burn::prelude::*;
use common::*;

fn last_hidden(model: &sslpron_model::PronunciationModel, input: &[f32], device: &Device) -> Vec<f32> {
    run_model(model, input, device).remove("last_hidden_state").unwrap().1
}

#[test]
fn regularisers_act_in_training_only() {
    let kind = "wav2vec2-base";
    let reference = reference(kind, "medium");

    let inference = Device::flex();
    let (info, model, _) = load_from(&model_bytes(kind), &inference);
    let input = clip_input(&info, "medium");
    let first = last_hidden(&model, &input, &inference);
    let second = last_hidden(&model, &input, &inference);
    assert_eq!(first, second, "inference must be deterministic");
    assert!(max_abs_diff(&first, &reference["last_hidden_state"].values) <= TOLERANCE);

    let training = Device::flex().autodiff();
    training.seed(7);
    let (_, model, _) = load_from(&model_bytes(kind), &training);
    let first = last_hidden(&model, &input, &training);
    let second = last_hidden(&model, &input, &training);
    let between_runs = max_abs_diff(&first, &second);
    let from_eval = max_abs_diff(&first, &reference["last_hidden_state"].values);
    assert!(between_runs > 1e-2, "two training-mode forwards differ by only {between_runs:e}");
    assert!(from_eval > 1e-2, "training-mode forward equals eval mode (differs by {from_eval:e})");
}
