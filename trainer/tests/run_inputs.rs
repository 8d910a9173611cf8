//! What the training loop feeds the model, seen end to end through [`run`]: one epoch at lr 0 (the
//! weights never move) from a fixture checkpoint with dropout, LayerDrop and SpecAugment off makes the
//! logged `train_loss` a known number: the mean over the batches of each batch's MSE under the initial
//! model. This test computes that number itself, one utterance at a time (no padding), with the model
//! the run exported, and from audio prepared as the checkpoint's `preprocessor_config.json` says.
//!
//! - A checkpoint with `do_normalize: false` (the hubert-large fixture) must train on the raw waveform;
//!   every other trainer test starts from a `do_normalize: true` model, where hard-coding normalisation
//!   changes nothing.
//! - A batch of unequal lengths must train like each utterance alone: the loop has to pass the true
//!   lengths; without them the padding counts as audio (what `--seed-compat` asks for, and the test
//!   checks that this moves the loss far beyond the tolerance, so it can fail).
//!
//! `padded_batch.rs` checks the gradients of such a batch, on the batch the loop builds.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use sslpron_audio::PrepareOptions;
use sslpron_model::{ModelInfo, PronunciationModel};
use trainer::data::{Corpus, Utterance};
use trainer::run::{Init, RunConfig, run};

/// Training forward (autodiff device, training mode with nothing random, padded and masked) vs inference
/// forward of the same weights, one utterance at a time: float32 rounding only (measured ≤ 2e-7).
const RELATIVE: f64 = 1e-5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// One epoch at lr 0 on the fixture corpus from `fixture` (randomness off, preprocessor config as it is):
/// the logged train loss and the model the run exported.
fn train_loss_at_lr_zero(fixture: &str, batch_size: usize, seed_compat: bool, output: &Path) -> (f64, ModelInfo, PronunciationModel) {
    let init = output.join("init");
    copy_dir(&root().join("tests/fixtures/models").join(fixture), &init);
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(init.join("config.json")).unwrap()).unwrap();
    for key in ["hidden_dropout", "activation_dropout", "attention_dropout", "feat_proj_dropout", "final_dropout", "layerdrop"] {
        config[key] = 0.0.into();
    }
    config["apply_spec_augment"] = false.into();
    std::fs::write(init.join("config.json"), serde_json::to_vec_pretty(&config).unwrap()).unwrap();

    let run_config = RunConfig {
        epochs: 1,
        batch_size,
        lr: 0.0,
        seed_compat,
        ..RunConfig::seed_recipe(root().join("tests/fixtures/corpus-tiny"), Init::Dir(init), output.join("run"))
    };
    let reports = run(&run_config, &Device::flex().autodiff()).expect("training runs");
    // The run's own model: its score head may be fresh; lr 0 leaves every weight as it started.
    let bytes = sslpron_hub::local(&output.join("run/model")).read().unwrap();
    let (info, model, _) = sslpron_model::load(&bytes.files(), &Device::flex()).unwrap();
    (reports[0].train_loss, info, model)
}

fn train_utterances() -> Vec<Utterance> {
    Corpus::open(&root().join("tests/fixtures/corpus-tiny")).unwrap().split("train").unwrap()
}

/// Mean over `utts` of each utterance's MSE, scored alone, its audio prepared with `do_normalize`.
fn mean_mse(model: &PronunciationModel, utts: &[Utterance], do_normalize: bool, min_samples: usize) -> f64 {
    let device = Device::flex();
    let options = PrepareOptions { do_normalize, min_samples };
    let mut total = 0.0;
    for utt in utts {
        let samples = sslpron_audio::prepare_wav(&std::fs::read(&utt.wav).unwrap(), &options).unwrap();
        let input = Tensor::<1>::from_floats(samples.as_slice(), &device).unsqueeze_dim::<2>(0);
        let scores = model.score(input, &utt.id).unwrap().as_array();
        let mse: f64 = scores.iter().zip(utt.labels).map(|(&p, l)| (p as f64 - l as f64).powi(2)).sum::<f64>() / 4.0;
        total += mse / utts.len() as f64;
    }
    total
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-trainer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn run_from_a_do_normalize_false_checkpoint_trains_on_raw_audio() {
    let fixture = root().join("tests/fixtures/models/hubert-large/preprocessor_config.json");
    let preprocessor: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    assert_eq!(preprocessor["do_normalize"], false, "the fixture this test relies on");

    // Batch size 1: no padding, so only the audio itself can make the loss differ.
    let output = temp("do-normalize");
    let (train_loss, info, model) = train_loss_at_lr_zero("hubert-large", 1, false, &output);
    assert!(!info.preprocessing.do_normalize, "the exported model keeps do_normalize false");
    let utts = train_utterances();
    let raw = mean_mse(&model, &utts, false, info.min_samples());
    let normalised = mean_mse(&model, &utts, true, info.min_samples());
    eprintln!(
        "train loss {train_loss:.6}: raw audio {raw:.6} ({:.1e}), normalised {normalised:.6} ({:.1e})",
        relative(train_loss, raw),
        relative(train_loss, normalised)
    );
    assert!(relative(raw, normalised) > 100.0 * RELATIVE, "normalising hardly changes the loss ({raw} vs {normalised}); the test could not fail");
    assert!(
        relative(train_loss, raw) <= RELATIVE,
        "train loss {train_loss} is not the raw-audio loss {raw} (normalised audio gives {normalised}): do_normalize false ignored?"
    );
    let _ = std::fs::remove_dir_all(&output);
}

#[test]
fn run_with_a_padded_batch_of_unequal_lengths_trains_like_each_utterance_alone() {
    // wav2vec2-base: GroupNorm over time in conv layer 0, where padding leaks in most. All five training
    // utterances (0.3 to 0.7 s) in one batch: the shortest is padded to more than twice its length.
    let utts = train_utterances();
    assert_eq!(utts.len(), 5);
    let output = temp("padded-run");
    let (masked, info, model) = train_loss_at_lr_zero("wav2vec2-base", 5, false, &output.join("masked"));
    let alone = mean_mse(&model, &utts, info.preprocessing.do_normalize, info.min_samples());
    let (unmasked, _, _) = train_loss_at_lr_zero("wav2vec2-base", 5, true, &output.join("seed-compat"));
    eprintln!(
        "one padded batch of 5: train loss {masked:.6} ({:.1e} from each alone, {alone:.6}); --seed-compat {unmasked:.6} ({:.1e})",
        relative(masked, alone),
        relative(unmasked, alone)
    );
    assert!(relative(unmasked, alone) > 100.0 * RELATIVE, "padding fed as audio hardly changes the loss; the test could not fail");
    assert!(
        relative(masked, alone) <= RELATIVE,
        "a padded batch's train loss {masked} differs from the mean over each utterance alone {alone} (padding counted as audio?)"
    );
    let _ = std::fs::remove_dir_all(&output);
}
