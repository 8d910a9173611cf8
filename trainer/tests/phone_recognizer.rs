//! The phone recogniser (crates/model `PhoneRecognizer`, trainer/src/recognizer.rs): its files round
//! trip and hostile configs are refused before anything is allocated; a padded batch gives each clip
//! the logits it gets alone; training on the fixture corpus learns (the CTC loss of three clips falls
//! far below the unigram plateau a model stuck on the phone prior sits at) and a run resumes.

use std::path::PathBuf;

use burn::prelude::*;
use sslpron_audio::MEL_BINS;
use sslpron_model::{Kernels, PhoneRecognizer, PhoneRecognizerConfig};
use trainer::data::{Corpus, PhoneVocab};
use trainer::recognizer::{self, RecognizerRun};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-recognizer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tiny(vocab: usize) -> PhoneRecognizerConfig {
    PhoneRecognizerConfig {
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 128,
        num_conv_pos_embeddings: 8,
        num_conv_pos_embedding_groups: 8,
        dropout: 0.0,
        ..PhoneRecognizerConfig::new(MEL_BINS, vocab)
    }
}

fn values(t: Tensor<3>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn files_round_trip_and_hostile_configs_are_refused() {
    let device = Device::flex();
    let config = tiny(12);
    let model = config.init(&device).unwrap();
    let bytes = model.to_safetensors();
    let back = PhoneRecognizer::from_safetensors("r.safetensors", &bytes, &config, Kernels::default(), &device).unwrap();
    let mel = Tensor::<3>::random([1, 120, MEL_BINS], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(values(model.forward(mel.clone(), None)), values(back.forward(mel, None)));

    // The host kernels (the native default) compute what Burn's ops compute.
    let plain = PhoneRecognizer::from_safetensors("r.safetensors", &bytes, &config, Kernels::Burn, &device).unwrap();
    let mel = Tensor::<3>::random([2, 97, MEL_BINS], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let (host, burn) = (values(model.forward(mel.clone(), Some(&[97, 60]))), values(plain.forward(mel, Some(&[97, 60]))));
    let worst = host.iter().zip(&burn).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-4, "host kernels differ from Burn's ops by {worst}");

    // Another vocabulary size: refused, naming the file.
    let err = PhoneRecognizer::from_safetensors("r.safetensors", &bytes, &tiny(13), Kernels::default(), &device).unwrap_err().to_string();
    assert!(err.contains("r.safetensors"), "{err}");

    for (field, value) in [("hidden_size", "1000000000"), ("num_hidden_layers", "10000000"), ("vocab_size", "0"), ("mel_bins", "-3")] {
        let mut json: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
        json[field] = serde_json::from_str(value).unwrap();
        let started = std::time::Instant::now();
        let err = PhoneRecognizerConfig::from_json("phone_recognizer.json", json.to_string().as_bytes()).unwrap_err().to_string();
        assert!(err.contains("phone_recognizer.json"), "{err}");
        assert!(started.elapsed().as_secs_f64() < 1.0);
    }
}

#[test]
fn a_padded_batch_gives_each_clip_its_own_logits() {
    let device = Device::flex();
    let model = tiny(10).init(&device).unwrap();
    let long: Vec<f32> = (0..130 * MEL_BINS).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    let short: Vec<f32> = long[..77 * MEL_BINS].iter().map(|v| -v).collect();
    let (batch, frames) = recognizer::pad(&[&long, &short], &device);
    let together = values(model.forward(batch, Some(&frames)));
    let vocab = 10;
    let longest = PhoneRecognizer::frames(130);
    for (b, clip) in [&long, &short].into_iter().enumerate() {
        let (alone, _) = recognizer::pad(&[clip], &device);
        let alone = values(model.forward(alone, None));
        let n = PhoneRecognizer::frames(clip.len() / MEL_BINS) * vocab;
        let worst = (0..n).map(|i| (alone[i] - together[b * longest * vocab + i]).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "clip {b} differs by {worst} in the batch");
    }
}

#[test]
fn training_learns_the_fixture_clips_and_resumes() {
    // The fixture's synthetic clips are short (0.3–0.8 s): keep those with enough 40 ms frames for
    // their phones (CTC leaves the others out anyway).
    let corpus = Corpus::open(&root().join("tests/fixtures/corpus-tiny")).unwrap();
    let utts: Vec<_> = [corpus.split("train").unwrap(), corpus.split("test").unwrap()].concat();
    let vocab = PhoneVocab::from_utterances(&utts, false);
    let examples: Vec<_> = recognizer::examples(&utts, &vocab, &[1.0], "train")
        .unwrap()
        .into_iter()
        .filter(|e| PhoneRecognizer::frames(e.features[0].frames) >= trainer::phone_ctc::min_frames(&e.targets))
        .collect();
    assert!(examples.len() >= 2, "{} alignable clips", examples.len());
    let dev = recognizer::examples(&utts[..1], &vocab, &[1.0], "dev").unwrap();
    let run = RecognizerRun {
        epochs: 80,
        lr: 3e-3,
        warmup_steps: 10,
        batch_size: examples.len(),
        weight_decay: 0.0,
        max_grad_norm: 5.0,
        seed: 7,
        speeds: vec![1.0],
        time_masks_per_second: 0.0,
        time_mask_frames: 0,
        mel_masks: 0,
        mel_mask_bins: 0,
        max_steps: None,
        model: tiny(vocab.len()),
    };
    let dir = scratch("learn");
    // Stop half way, then resume to the end.
    let first = recognizer::train(&RecognizerRun { max_steps: Some(40), ..run.clone() }, &examples, &dev, &vocab, &dir, false).unwrap();
    assert_eq!(first.len(), 40);
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("checkpoint/state.json")).unwrap()).unwrap();
    assert_eq!(state["steps_done"], 40);
    let all = recognizer::train(&run, &examples, &dev, &vocab, &dir, true).unwrap();
    assert_eq!(all.len(), 80);
    // The resumed run repeats the first half's epochs as they were (reports read back from JSON).
    for (a, b) in all[..40].iter().zip(&first) {
        assert!((a.train_ctc - b.train_ctc).abs() <= 1e-12 * b.train_ctc.abs(), "{} vs {}", a.train_ctc, b.train_ctc);
    }
    // An uninterrupted run ends where the resumed one does.
    let straight = recognizer::train(&run, &examples, &dev, &vocab, &scratch("straight"), false).unwrap();
    assert_eq!(straight[79].train_ctc, all[79].train_ctc);
    let (start, end) = (all[0].train_ctc, all[79].train_ctc);
    // A model that only learnt the phone prior stays near ln(vocab) ≈ 3.3 nats per phone.
    assert!(end < 0.5 * start && end < 1.5, "train CTC went from {start:.3} to {end:.3}");
    // The checkpoint holds the last epoch (the output folder the epoch best on the two dev clips).
    let (model, _, loaded_vocab) = recognizer::load(&dir.join("checkpoint"), Kernels::default(), &Device::flex()).unwrap();
    assert_eq!(loaded_vocab.tokens(), vocab.tokens());
    let (_, per) = recognizer::dev_metrics(&model, &examples, &Device::flex());
    assert!(per < 0.1, "phone error rate on the clips it was trained on: {per}");
}
