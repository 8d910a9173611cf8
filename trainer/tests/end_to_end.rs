//! A whole (tiny) training run on the fixture corpus on the CPU device: the loss falls, dev metrics are
//! logged per epoch, the final report and scatter plot are written, and the exported checkpoint (seed
//! layout) loads and scores like any model directory.

use std::path::PathBuf;

use burn::prelude::*;
use trainer::run::{Init, RunConfig, preset, run};

#[test]
fn tiny_model_trains_on_the_fixture_corpus_and_exports_a_scoring_checkpoint() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::env::temp_dir().join(format!("sslpron-trainer-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&output);
    std::fs::create_dir_all(&output).unwrap();
    let dev_speakers = output.join("dev-speakers.txt");
    std::fs::write(&dev_speakers, "1012\n").unwrap();
    let config = RunConfig {
        dev_speakers: Some(dev_speakers),
        epochs: 4,
        lr: 1e-3,
        seed: 3,
        ..RunConfig::seed_recipe(root.join("tests/fixtures/corpus-tiny"), Init::Random(preset("tiny").unwrap()), output.clone())
    };
    let device = Device::flex().autodiff();
    device.seed(3);
    let reports = run(&config, &device).expect("training runs");
    assert_eq!(reports.len(), 4);
    let (first, last) = (reports[0].train_loss, reports[3].train_loss);
    assert!(last < 0.97 * first, "loss did not fall: {first} -> {last}");

    let metrics = std::fs::read_to_string(output.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4, "{metrics}");
    assert!(reports.iter().all(|r| r.dev_pearson.len() == 4 && r.dev_mse.len() == 4), "dev metrics every epoch");
    // The final report on the dev speaker (2 utterances) and its scatter plot, of the best dev epoch
    // (highest mean Pearson r), whose model is in best/.
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(output.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["utterances"], 2);
    // The dev speaker 1012 is a 29-year-old man (corpus-tiny/train/spk2age, spk2gender): the report
    // resamples that one speaker and lists him under adult and male only, marked as a small group.
    assert_eq!((report["n_speakers"].as_u64(), report["bootstrap"]["resamples"].as_u64()), (Some(1), Some(1000)), "{report}");
    let groups: Vec<&String> = report["subgroups"].as_object().unwrap().keys().collect();
    assert_eq!(groups, ["adult", "male"], "{report}");
    assert_eq!(report["subgroups"]["adult"]["few_speakers"], true);
    assert!(report["aspects"]["accuracy"]["mse_ci95"].is_array(), "{report}");
    assert!(std::fs::read_to_string(output.join("report.md")).unwrap().contains("| accuracy |"));
    // Expected: the first epoch with the highest mean of the defined r (two utterances: each is ±1 or
    // undefined), computed here from the logged metrics.
    let mean = |r: &trainer::run::EpochReport| {
        let finite: Vec<f64> = r.dev_pearson.iter().copied().filter(|v| v.is_finite()).collect();
        finite.iter().sum::<f64>() / finite.len() as f64
    };
    let mut best = 1;
    for e in 2..=4 {
        if mean(&reports[e - 1]) > mean(&reports[best - 1]) {
            best = e;
        }
    }
    eprintln!("best dev epoch {best} of 4");
    assert!(output.join("best/model.safetensors").exists());
    if best == 4 {
        assert_eq!(std::fs::read(output.join("best/model.safetensors")).unwrap(), std::fs::read(output.join("model/model.safetensors")).unwrap());
    } else {
        assert_eq!(report["split"], format!("dev (best epoch {best} of 4)"), "{report}");
    }
    assert!(std::fs::read_to_string(output.join("report.txt")).unwrap().contains("fluency"));
    assert!(std::fs::read(output.join("dev_scatter.png")).unwrap().starts_with(b"\x89PNG"));

    let dir = output.join("model");
    let bytes = sslpron_hub::local(&dir).read().expect("exported files are readable");
    assert!(bytes.preprocessor.is_some(), "preprocessor_config.json exported");
    let (info, model, report) = sslpron_model::load(&bytes.files(), &Device::flex()).expect("exported checkpoint loads");
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    assert_eq!(report.encoder_prefix, "model.", "seed General layout");
    let clip = std::fs::read(root.join("tests/fixtures/audio/medium.wav")).unwrap();
    let samples = sslpron_audio::prepare_wav(&clip, &sslpron_audio::PrepareOptions { do_normalize: true, min_samples: info.min_samples() }).unwrap();
    let input = Tensor::<1>::from_floats(samples.as_slice(), &Device::flex()).unsqueeze_dim::<2>(0);
    let scores = model.score(input, "model.safetensors").expect("scores");
    assert!(scores.as_array().iter().all(|v| v.is_finite()));
    let _ = std::fs::remove_dir_all(&output);
}

/// The phone CTC objective with gradient accumulation: the CTC loss falls, and the head and its
/// vocabulary are written beside a `model.safetensors` that still loads as the seed's layout alone.
#[test]
fn phone_ctc_objective_trains_and_saves_its_head_beside_the_model() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = std::env::temp_dir().join(format!("sslpron-trainer-ctc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&output);
    let config = RunConfig {
        epochs: 6,
        batch_size: 2,
        lr: 1e-2,
        seed: 4,
        ctc_weight: 1.0,
        grad_accum: 2,
        head_bias_label_mean: true,
        ..RunConfig::seed_recipe(root.join("tests/fixtures/corpus-tiny"), Init::Random(preset("tiny").unwrap()), output.clone())
    };
    let reports = run(&config, &Device::flex().autodiff()).expect("training runs");
    // The score head started at the label means: the first epoch's MSE is the labels' spread (a few
    // points), not the ~40 of predicting 0 for scores around 6.
    assert!(reports[0].train_loss < 10.0, "first-epoch loss {}", reports[0].train_loss);
    let ctc: Vec<f64> = reports.iter().map(|r| r.train_ctc_loss.expect("ctc loss reported")).collect();
    assert!(ctc[5] < 0.8 * ctc[0], "phone CTC loss did not fall: {ctc:?}");

    let dir = output.join("model");
    let vocab = trainer::data::PhoneVocab::load(&dir.join("phone_vocab.json")).expect("vocabulary saved");
    assert!(vocab.len() > 10, "{} tokens", vocab.len());
    let encoder = sslpron_model::EncoderConfig::from_json("tiny", preset("tiny").unwrap().to_string().as_bytes()).unwrap();
    trainer::phone_ctc::load(&dir.join("phone_head.safetensors"), &encoder, vocab.len(), &Device::flex()).expect("head saved");
    let bytes = sslpron_hub::local(&dir).read().expect("exported files are readable");
    let (_, _, report) = sslpron_model::load(&bytes.files(), &Device::flex()).expect("model loads without the phone head");
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    let _ = std::fs::remove_dir_all(&output);
}
