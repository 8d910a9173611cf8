//! Numeric parity with transformers: every kind of fixture model, every clip, every layer's hidden
//! states frame by frame, CTC logits and the scores, within 1e-4 — on each kernel choice
//! ([`Kernels`]): Burn's ops (the plain path), the host kernels (the native default) and the host
//! kernels with sslpron-gemm's products (the browser's CPU path).

mod common;

use burn::prelude::*;
use common::*;
use sslpron_model::{Kernels, ModelInfo, PronunciationModel};

fn load_kind(kind: &str) -> (ModelInfo, PronunciationModel, sslpron_model::LoadReport) {
    load_from(&model_bytes(kind), &Device::flex())
}

fn load_kind_with(kind: &str, kernels: Kernels) -> (ModelInfo, PronunciationModel, sslpron_model::LoadReport) {
    let bytes = model_bytes(kind);
    sslpron_model::load_with_kernels(&bytes.files(), &Device::flex(), kernels).unwrap_or_else(|e| panic!("{kind}: load failed: {e}"))
}

/// Runs `model` on every clip and compares with every tensor of the reference (minus `skip`).
fn check(kind: &str, info: &ModelInfo, model: &PronunciationModel, skip: &[&str]) {
    let device = Device::flex();
    for clip in CLIPS {
        let mut reference = reference(kind, clip);
        reference.retain(|name, _| !skip.contains(&name.as_str()));
        let ours = run_model(model, &clip_input(info, clip), &device);
        let rows = compare(&ours, &reference);
        // short/medium: every layer; long: the outputs only (fixture size).
        let expected = if clip == "long" { 1 } else { info.config.num_hidden_layers + 2 };
        assert!(rows.len() >= expected, "{kind}/{clip}: too few reference tensors: {rows:?}");
        for (name, err) in rows {
            if std::env::var_os("PARITY_VERBOSE").is_some() {
                let peak = reference[name.as_str()].values.iter().fold(0f32, |m, v| m.max(v.abs()));
                eprintln!("{kind}/{clip} {name}: max abs err {err:.2e} (peak |ref| {peak:.2})");
            }
            assert!(err <= TOLERANCE, "{kind}/{clip}: `{name}` differs from transformers by {err:e} (> {TOLERANCE:e})");
        }
    }
}

/// The layout on the native default (host kernels) and on Burn's plain ops; neither computes a
/// product with sslpron-gemm (that is the browser's choice, tested below).
fn check_kind(kind: &str) {
    for kernels in [Kernels::Host, Kernels::Burn] {
        let (info, model, report) = load_kind_with(kind, kernels);
        assert!(report.unused.is_empty(), "{kind}: unused tensors {:?}", report.unused);
        let before = sslpron_model::kernels::gemm::own_gemm_products();
        check(kind, &info, &model, &[]);
        assert_eq!(sslpron_model::kernels::gemm::own_gemm_products(), before, "{kind} on {kernels:?} used sslpron-gemm");
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
/// The browser build's products (sslpron-gemm, kernels/gemm.rs: every Linear, the convolutions, the
/// positional conv) on every layout: the same parity as above, on the code the WebAssembly scorer
/// runs.
#[test]
fn every_layout_through_the_browser_gemm() {
    for kind in
        ["wav2vec2-base", "wav2vec2-large", "hubert-base", "hubert-large", "wavlm-base", "wavlm-large", "wav2vec2-ctc", "hubert-ctc", "wavlm-ctc"]
    {
        let (info, model, _) = load_kind_with(kind, Kernels::HostOwnGemm);
        let before = sslpron_model::kernels::gemm::own_gemm_products();
        check(kind, &info, &model, &[]);
        // Per clip at least: each conv layer, each encoder layer's six Linears, the projection.
        let config = &info.config;
        let per_clip = config.conv_dim.len() + 6 * config.num_hidden_layers + 1;
        let products = sslpron_model::kernels::gemm::own_gemm_products() - before;
        assert!(products >= CLIPS.len() * per_clip, "{kind}: only {products} products went through sslpron-gemm");
    }
}

/// A bare `WavLMModel` checkpoint: no prefix, no head; hidden states still match.
#[test]
fn hub_wavlm_model_without_head() {
    let (info, model, report) = load_kind("hub-wavlm-model");
    assert!(model.head.is_none() && report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(report.encoder_prefix, "");
    check("hub-wavlm-model", &info, &model, &[]);
}
/// A `Wav2Vec2ForCTC` hub checkpoint with the legacy `weight_g`/`weight_v` spelling: the encoder loads,
/// its lm_head is not a score head (reported unused, its logits not compared).
#[test]
fn hub_wav2vec2_forctc_legacy_weight_norm() {
    let (info, model, report) = load_kind("hub-wav2vec2-forctc");
    assert!(model.head.is_none(), "a hub ForCTC checkpoint has no score head");
    assert_eq!(report.encoder_prefix, "wav2vec2.");
    assert_eq!(report.unused, ["lm_head.bias", "lm_head.weight"]);
    check("hub-wav2vec2-forctc", &info, &model, &["logits"]);
}

/// Fine-tuning a plain hub encoder: the encoder as in the file, a fresh General head.
#[test]
fn plain_encoder_gets_a_fresh_head_for_training() {
    let bytes = model_bytes("hub-wavlm-model");
    let files = bytes.files();
    let (info, model, report) = sslpron_model::load_for_training(&files, &Device::flex(), sslpron_model::HeadKind::General).unwrap();
    assert_eq!(report.fresh, ["score_predictor.weight", "score_predictor.bias"]);
    assert_eq!(model.head_kind(), Some(sslpron_model::HeadKind::General));
    check("hub-wavlm-model", &info, &model, &["scores"]);
}

/// A hub `*ForCTC` checkpoint for the CTC strategy: its lm_head is kept (logits match transformers),
/// the score predictor is fresh.
#[test]
fn forctc_checkpoint_keeps_its_lm_head_for_ctc_training() {
    let bytes = model_bytes("hub-wav2vec2-forctc");
    let files = bytes.files();
    let (info, model, report) = sslpron_model::load_for_training(&files, &Device::flex(), sslpron_model::HeadKind::Ctc).unwrap();
    assert_eq!(report.fresh, ["score_predictor.weight", "score_predictor.bias"]);
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    // Scores come from a fresh predictor; logits and hidden states must match.
    let device = Device::flex();
    for clip in CLIPS {
        let reference = reference("hub-wav2vec2-forctc", clip);
        let ours = run_model(&model, &clip_input(&info, clip), &device);
        for (name, err) in compare(&ours, &reference) {
            assert!(err <= TOLERANCE, "hub-wav2vec2-forctc/{clip}: `{name}` differs by {err:e}");
        }
    }
}
