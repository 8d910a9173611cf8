//! The browser's scoring path, run natively on the CPU device: a converted (f32) fixture model scored
//! through [`Engine`] from raw samples gives transformers' reference scores, at the clip's own rate and
//! after the 44.1 kHz round trip the microphone path takes; bad recordings are refused with messages.

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use burn::prelude::Device;
use safetensors::SafeTensors;
use sslpron_model::{Kernels, ModelFiles, Precision};
use sslpron_web::engine::Engine;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Polls a future to completion: the CPU device's reads complete immediately.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

fn bundle(kind: &str, precision: Precision) -> Vec<u8> {
    let dir = fixtures().join("models").join(kind);
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let (config, preprocessor, weights) = (read("config.json"), read("preprocessor_config.json"), read("model.safetensors"));
    let files = ModelFiles {
        config_name: "config.json",
        config_json: &config,
        preprocessor_name: "preprocessor_config.json",
        preprocessor_json: Some(&preprocessor),
        weights_name: "model.safetensors",
        weights: &weights,
    };
    sslpron_model::to_bundle(&files, precision, "fixture").unwrap()
}

/// transformers' scores for a fixture clip (tests/fixtures/reference).
fn reference_scores(kind: &str, clip: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixtures().join("reference").join(kind).join(format!("{clip}.safetensors"))).unwrap();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let view = tensors.tensor("scores").unwrap();
    view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn clip_samples(name: &str) -> (Vec<f32>, u32) {
    let audio = sslpron_audio::decode_wav(&std::fs::read(fixtures().join("audio").join(name)).unwrap()).unwrap();
    (sslpron_audio::downmix(&audio), audio.sample_rate)
}

#[test]
fn engine_scores_raw_samples_like_transformers() {
    // The browser's CPU path: the host kernels with sslpron-gemm's products (the wasm32 default).
    for kind in ["wav2vec2-base", "wavlm-large", "hubert-ctc"] {
        let engine = Engine::load(&bundle(kind, Precision::F32), "fixture.sslpron", Device::flex(), Kernels::HostOwnGemm).unwrap();
        assert_eq!(engine.description(), "fixture");
        for clip in ["short", "medium"] {
            let (samples, rate) = clip_samples(&format!("{clip}.wav"));
            let result = block_on(engine.score(&samples, rate, || 0.0)).unwrap();
            let ours = [result.accuracy, result.fluency, result.prosody, result.total];
            let reference = reference_scores(kind, clip);
            for (a, b) in ours.iter().zip(&reference) {
                assert!((a - b).abs() <= 1e-4, "{kind} {clip}: {ours:?} vs transformers {reference:?}");
            }
            assert!((result.seconds - samples.len() as f64 / rate as f64).abs() < 1e-9);
        }
    }
}

/// The page records at the AudioContext's rate (often 44.1 or 48 kHz) and resamples in WASM.
#[test]
fn engine_resamples_a_44k_recording() {
    let engine = Engine::load(&bundle("wav2vec2-large", Precision::F16), "fixture.sslpron", Device::flex(), Kernels::default()).unwrap();
    let (native, rate) = clip_samples("medium.wav");
    let (resampled, rate_44k) = clip_samples("medium_44k_stereo.wav");
    assert_eq!((rate, rate_44k), (16_000, 44_100));
    let a = block_on(engine.score(&native, rate, || 0.0)).unwrap();
    let b = block_on(engine.score(&resampled, rate_44k, || 0.0)).unwrap();
    for (x, y) in [(a.accuracy, b.accuracy), (a.fluency, b.fluency), (a.prosody, b.prosody), (a.total, b.total)] {
        assert!((x - y).abs() < 0.02, "16 kHz {a:?} vs 44.1 kHz {b:?}");
    }
}

#[test]
fn bad_recordings_and_models_are_refused_with_messages() {
    let engine = Engine::load(&bundle("wavlm-base", Precision::F16), "fixture.sslpron", Device::flex(), Kernels::default()).unwrap();
    let too_long = vec![0.1f32; 48_000 * 31];
    let err = block_on(engine.score(&too_long, 48_000, || 0.0)).unwrap_err();
    assert!(err.contains("31.0 s") && err.contains("at most 30 s"), "{err}");
    let err = block_on(engine.score(&vec![0.0; 48_000], 48_000, || 0.0)).unwrap_err();
    assert!(err.to_lowercase().contains("silen"), "{err}");
    let blip: Vec<f32> = (0..1_000).map(|i| (i as f32 * 0.3).sin()).collect();
    let err = block_on(engine.score(&blip, 48_000, || 0.0)).unwrap_err();
    assert!(err.contains("0.021 s long") && err.contains("at least 0.30 s"), "{err}");
    let err = Engine::load(b"<html>404</html>", "model.sslpron", Device::flex(), Kernels::default()).err().unwrap();
    assert!(err.contains("model.sslpron") && err.contains("not an sslpron web model"), "{err}");
}
