//! The trainer's end-to-end run on the real `speechocean762-mini` (its 160 train utterances, the dev
//! speakers of the labels folder that it has): a tiny model trains a few epochs on the CPU device, the
//! loss falls, the report and plot are written, and the exported checkpoint scores through `sslpron score`
//! exactly as the model crate scores it in process. Needs SSLPRON_SHARED; skips with a message otherwise.

use std::path::PathBuf;
use std::process::Command;

use burn::prelude::*;
use trainer::run::{Init, RunConfig, preset, run};
use trainer::step::Strategy;

#[test]
fn a_model_trained_on_the_mini_corpus_scores_through_the_cli() {
    let Some(shared) = std::env::var_os("SSLPRON_SHARED") else {
        eprintln!("skipped: SSLPRON_SHARED is not set (the folder holding speechocean762-mini)");
        return;
    };
    let shared = PathBuf::from(shared);
    let corpus = shared.join("speechocean762-mini");
    let output = std::env::temp_dir().join(format!("sslpron-trained-mini-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&output);
    let config = RunConfig {
        dev_speakers: Some(shared.join("speechocean762-labels/dev-speakers.txt")),
        allow_missing_dev_speakers: true,
        strategy: Strategy::Freeze,
        epochs: 3,
        batch_size: 8,
        lr: 1e-3,
        seed: 1,
        ..RunConfig::seed_recipe(corpus.clone(), Init::Random(preset("tiny").unwrap()), output.clone())
    };
    let reports = run(&config, &Device::flex().autodiff()).expect("training runs");
    assert!(reports[2].train_loss < reports[0].train_loss, "loss did not fall: {reports:?}");
    assert!(reports.iter().all(|r| r.dev_pearson.len() == 4 && r.dev_pearson.iter().all(|v| v.is_finite())));
    for file in ["report.json", "report.txt", "dev_scatter.png", "metrics.jsonl", "model/model.safetensors", "checkpoints/latest"] {
        assert!(output.join(file).exists(), "{file} missing");
    }

    // Two train clips through the binary and through the model crate.
    let list = std::fs::read_to_string(corpus.join("train/wav.scp")).unwrap();
    let clips: Vec<PathBuf> = list.lines().take(2).map(|l| corpus.join(l.split_whitespace().nth(1).expect("wav.scp: ID PATH"))).collect();
    let model_dir = output.join("model");
    let out =
        Command::new(env!("CARGO_BIN_EXE_sslpron")).args(["score", "--json", "--model"]).arg(&model_dir).args(&clips).output().expect("sslpron runs");
    assert!(out.status.success(), "sslpron score failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let bytes = sslpron_hub::local(&model_dir).read().unwrap();
    let (info, model, _) = sslpron_model::load(&bytes.files(), &Device::flex()).unwrap();
    for (line, clip) in stdout.lines().zip(&clips) {
        let cli: serde_json::Value = serde_json::from_str(line).unwrap();
        let samples = sslpron_audio::prepare_wav(
            &std::fs::read(clip).unwrap(),
            &sslpron_audio::PrepareOptions { do_normalize: info.preprocessing.do_normalize, min_samples: info.min_samples() },
        )
        .unwrap();
        let input = Tensor::<1>::from_floats(samples.as_slice(), &Device::flex()).unsqueeze_dim::<2>(0);
        let ours = model.score(input, "model.safetensors").unwrap().as_array();
        for (k, name) in ["accuracy", "fluency", "prosody", "total"].iter().enumerate() {
            let printed = cli[name].as_f64().unwrap_or_else(|| panic!("{line}: no {name}"));
            assert!((printed - ours[k] as f64).abs() < 1e-5, "{}: {name} {printed} vs {}", clip.display(), ours[k]);
        }
    }
    assert_eq!(stdout.lines().count(), 2);
    let _ = std::fs::remove_dir_all(&output);
}
