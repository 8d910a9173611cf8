//! The fixtures can tell a missing component from a present one: knock out one component in the
//! weights and the hidden states must leave the parity tolerance by a wide margin (100x), the scores by
//! at least 10x. If one of these passed parity instead, the fixture would be too flat to catch a model
//! that skips that component.

mod common;

use burn::prelude::*;
use common::*;

const HIDDEN_MARGIN: f32 = 100.0 * TOLERANCE;
const SCORE_MARGIN: f32 = 10.0 * TOLERANCE;

/// Max abs error against transformers on the medium clip, of the last hidden state and of the scores,
/// after `edit` rewrote tensor `name` of the checkpoint.
fn error_after_edit(kind: &str, name: &str, edit: impl Fn(&mut [f32])) -> (f32, f32) {
    let device = Device::flex();
    let mut bytes = model_bytes(kind);
    bytes.weights = edit_tensor(&bytes.weights, name, edit);
    let (info, model, _) = load_from(&bytes, &device);
    let reference = reference(kind, "medium");
    let ours = run_model(&model, &clip_input(&info, "medium"), &device);
    let err = |key: &str| max_abs_diff(&ours[key].1, &reference[key].values);
    (err("last_hidden_state"), err("scores"))
}

fn assert_sensitive(kind: &str, name: &str, edit: impl Fn(&mut [f32])) {
    let (hidden, scores) = error_after_edit(kind, name, edit);
    assert!(
        hidden > HIDDEN_MARGIN && scores > SCORE_MARGIN,
        "{kind}: changing `{name}` moved last_hidden_state by {hidden:e} and scores by {scores:e}; \
         the fixture cannot detect a model that gets this component wrong \
         (need > {HIDDEN_MARGIN:e} and > {SCORE_MARGIN:e})"
    );
    if std::env::var_os("PARITY_VERBOSE").is_some() {
        eprintln!("{kind} {name}: last_hidden_state moved {hidden:.2e}, scores {scores:.2e}");
    }
}

fn zero(values: &mut [f32]) {
    values.fill(0.0);
}

#[test]
fn wavlm_relative_position_embedding_matters() {
    for kind in ["wavlm-base", "wavlm-large"] {
        assert_sensitive(kind, "model.encoder.layers.0.attention.rel_attn_embed.weight", zero);
    }
}

#[test]
fn wavlm_position_bias_gate_matters() {
    for kind in ["wavlm-base", "wavlm-large"] {
        for layer in 0..3 {
            assert_sensitive(kind, &format!("model.encoder.layers.{layer}.attention.gru_rel_pos_const"), |v| v.fill(1.0));
            assert_sensitive(kind, &format!("model.encoder.layers.{layer}.attention.gru_rel_pos_linear.weight"), zero);
        }
    }
}

#[test]
fn positional_conv_matters() {
    for kind in ["wav2vec2-base", "wav2vec2-large", "hubert-base", "wavlm-base"] {
        assert_sensitive(kind, "model.encoder.pos_conv_embed.conv.parametrizations.weight.original0", zero);
    }
}

#[test]
fn layer_norms_matter() {
    for kind in ["wav2vec2-base", "wav2vec2-large", "hubert-large", "wavlm-base"] {
        assert_sensitive(kind, "model.encoder.layers.0.layer_norm.weight", |v| v.fill(1.0));
        assert_sensitive(kind, "model.encoder.layers.0.layer_norm.bias", zero);
    }
    // The first conv layer's norm (GroupNorm for base, LayerNorm for large layouts).
    assert_sensitive("wav2vec2-base", "model.feature_extractor.conv_layers.0.layer_norm.weight", |v| v.fill(1.0));
    assert_sensitive("wav2vec2-large", "model.feature_extractor.conv_layers.3.layer_norm.weight", |v| v.fill(1.0));
}
