//! Numeric parity with transformers: every kind of fixture model, every clip, every layer's hidden
//! states frame by frame, CTC logits and the scores, within 1e-4.

mod common;

use burn::prelude::*;
use common::*;

fn check_kind(kind: &str) {
    let device = Device::flex();
    let bytes = model_bytes(kind);
    let (info, model, report) = load_from(&bytes, &device);
    assert!(report.unused.is_empty(), "{kind}: unused tensors {:?}", report.unused);
    for clip in CLIPS {
        let reference = reference(kind, clip);
        let ours = run_model(&model, &clip_input(&info, clip), &device);
        let rows = compare(&ours, &reference);
        // short/medium: every layer; long: the outputs only (fixture size).
        let expected = if clip == "long" { 1 } else { info.config.num_hidden_layers + 2 };
        assert!(rows.len() >= expected, "{kind}/{clip}: too few reference tensors: {rows:?}");
        for (name, err) in &rows {
            if std::env::var_os("PARITY_VERBOSE").is_some() {
                let peak = reference[name.as_str()].values.iter().fold(0f32, |m, v| m.max(v.abs()));
                eprintln!("{kind}/{clip} {name}: max abs err {err:.2e} (peak |ref| {peak:.2})");
            }
            let err = *err;
            assert!(err <= TOLERANCE, "{kind}/{clip}: `{name}` differs from transformers by {err:e} (> {TOLERANCE:e})");
        }
    }
}

#[test]
fn wav2vec2_base_layout() {
    check_kind("wav2vec2-base");
}
#[test]
fn wav2vec2_large_layout() {
    check_kind("wav2vec2-large");
}
#[test]
fn hubert_base_layout() {
    check_kind("hubert-base");
}
#[test]
fn hubert_large_layout() {
    check_kind("hubert-large");
}
#[test]
fn wavlm_base_layout() {
    check_kind("wavlm-base");
}
#[test]
fn wavlm_large_layout() {
    check_kind("wavlm-large");
}
#[test]
fn wav2vec2_ctc() {
    check_kind("wav2vec2-ctc");
}
#[test]
fn hubert_ctc() {
    check_kind("hubert-ctc");
}
#[test]
fn wavlm_ctc() {
    check_kind("wavlm-ctc");
}
/// A bare `WavLMModel` checkpoint: no prefix, no head; hidden states still match.
#[test]
fn hub_wavlm_model_without_head() {
    check_kind("hub-wavlm-model");
}
/// A `Wav2Vec2ForCTC` hub checkpoint with the legacy `weight_g`/`weight_v` spelling.
#[test]
fn hub_wav2vec2_forctc_legacy_weight_norm() {
    let device = Device::flex();
    let bytes = model_bytes("hub-wav2vec2-forctc");
    let (info, model, report) = load_from(&bytes, &device);
    assert!(model.head.is_none(), "a hub ForCTC checkpoint has no score head");
    assert_eq!(report.encoder_prefix, "wav2vec2.");
    assert!(report.unused.iter().all(|n| n.starts_with("lm_head.")), "{:?}", report.unused);
    check_hidden_only("hub-wav2vec2-forctc", &info, &model, &device);
}

fn check_hidden_only(kind: &str, info: &sslpron_model::ModelInfo, model: &sslpron_model::PronunciationModel, device: &Device) {
    for clip in CLIPS {
        let mut reference = reference(kind, clip);
        // The hub file's lm_head is not a score head and the model does not keep it.
        reference.remove("logits");
        let ours = run_model(model, &clip_input(info, clip), device);
        for (name, err) in compare(&ours, &reference) {
            assert!(err <= TOLERANCE, "{kind}/{clip}: `{name}` differs by {err:e}");
        }
    }
}
