//! The `evaluate` binary on the fixture corpus: test-split labels from a TSV with provisional columns
//! (the layout of the labels folder's test-scores.tsv), a speaker filter, the report files; a TSV
//! without a needed column refused naming the file; intervals, subgroups and `--compare`; and on the
//! shared mini corpus (skipped without SSLPRON_SHARED) the shipped model against itself and against a
//! random model.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn evaluate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evaluate")).current_dir(root()).args(args).output().unwrap()
}

#[test]
fn evaluates_a_split_with_tsv_labels() {
    let dir = std::env::temp_dir().join(format!("sslpron-evaluate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let labels = dir.join("test-scores.tsv");
    std::fs::write(&labels, "utt_id\tfluency\tprosodic\taccuracy_provisional\ttotal_provisional\n096110003\t8\t7\t6\t7\n096110004\t4\t5\t3\t4\n")
        .unwrap();
    let out_dir = dir.join("report");
    let args = ["--model", "tests/fixtures/models/wavlm-base", "--data", "tests/fixtures/corpus-tiny", "--split", "test"];
    let out = evaluate(&[&args[..], &["--labels", labels.to_str().unwrap(), "--output", out_dir.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["utterances"], 2);
    // Two utterances: every r is ±1 (or null for a constant prediction), every MSE finite.
    for k in 0..4 {
        let r = report["pearson"][k].as_f64().map_or(1.0, f64::abs);
        assert!((r - 1.0).abs() < 1e-6, "{report}");
        assert!(report["mse"][k].as_f64().unwrap().is_finite());
    }
    assert!(std::fs::read(out_dir.join("scatter.png")).unwrap().starts_with(b"\x89PNG"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fluency"));

    let broken = dir.join("broken.tsv");
    std::fs::write(&broken, "utt_id\tfluency\tprosodic\ttotal\n096110003\t8\t7\t7\n").unwrap();
    let out = evaluate(&[&args[..], &["--labels", broken.to_str().unwrap(), "--output", out_dir.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.tsv") && stderr.contains("no `accuracy` column"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-evaluate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_report(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

const ASPECTS: [&str; 4] = ["accuracy", "fluency", "prosody", "total"];

#[test]
fn intervals_subgroups_and_a_comparison_with_itself_on_the_fixture_corpus() {
    let dir = scratch("compare-self");
    let model = "tests/fixtures/models/wavlm-base";
    let base = ["--model", model, "--data", "tests/fixtures/corpus-tiny", "--split", "train"];
    let out = evaluate(&[&base[..], &["--compare", model, "--bootstrap", "200", "--output", dir.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_report(&dir);
    // corpus-tiny's train split: speaker 0006 (girl, 6: three utterances), 1012 (man, 29: two).
    assert_eq!((report["utterances"].as_u64(), report["n_speakers"].as_u64()), (Some(5), Some(2)), "{report}");
    assert_eq!(report["bootstrap"]["resamples"], 200);
    for (group, utterances) in [("child", 3), ("adult", 2), ("female", 3), ("male", 2)] {
        let g = &report["subgroups"][group];
        assert_eq!(
            (g["n_utterances"].as_u64(), g["n_speakers"].as_u64(), g["few_speakers"].as_bool()),
            (Some(utterances), Some(1), Some(true)),
            "{group}: {report}"
        );
    }
    assert!(report["subgroups"].get("teen").is_none(), "no teenager in the split");
    assert_eq!(report["comparison"]["other"], model);
    for aspect in ASPECTS {
        assert!(report["aspects"][aspect]["mse_ci95"].is_array(), "{report}");
        // The same model twice: the difference is exactly 0 and it never beats itself (null only
        // where its r is undefined in every resample, e.g. constant predictions).
        let paired = &report["comparison"]["aspects"][aspect];
        assert_eq!(paired["delta_pearson"].as_f64().unwrap_or(0.0), 0.0, "{paired}");
        assert_eq!(paired["wins"].as_f64().unwrap_or(0.0), 0.0, "{paired}");
    }
    let text = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(text.contains("child*") && text.contains("first wins") && markdown.contains("| aspect |"), "{text}\n{markdown}");

    // --bootstrap 0: the same point estimates, no intervals.
    let plain = dir.join("plain");
    let out = evaluate(&[&base[..], &["--bootstrap", "0", "--output", plain.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plain = read_report(&plain);
    assert_eq!(plain["pearson"], report["pearson"]);
    assert_eq!(plain["aspects"]["accuracy"]["mse_ci95"], serde_json::Value::Null);
    assert!(plain.get("comparison").is_none());

    let _ = std::fs::remove_dir_all(&dir);
}

/// The shared folder, or `None` after printing why the test is skipped.
fn shared() -> Option<PathBuf> {
    match std::env::var_os("SSLPRON_SHARED").filter(|dir| !dir.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipped: SSLPRON_SHARED is not set (the folder holding speechocean762-mini)");
            None
        }
    }
}

#[test]
fn the_shipped_model_against_itself_and_against_a_random_model_on_the_mini_corpus() {
    let Some(shared) = shared() else { return };
    let dir = scratch("compare-mini");
    // A fresh model of the `tiny` preset, exported like any trained model.
    let random_dir = dir.join("random-model");
    let json = trainer::run::preset("tiny").unwrap();
    let encoder = sslpron_model::EncoderConfig::from_json("preset", &serde_json::to_vec(&json).unwrap()).unwrap();
    let device = burn::prelude::Device::flex();
    device.seed(17);
    let random = sslpron_model::random(&encoder, Some(sslpron_model::HeadKind::General), &device);
    let info = sslpron_model::ModelInfo { config: encoder, preprocessing: sslpron_model::Preprocessing::default() };
    trainer::run::export(&random, &info, &json, &random_dir).unwrap();

    let data = shared.join("speechocean762-mini");
    let shipped = "www/models/default";
    let base = ["--model", shipped, "--data", data.to_str().unwrap(), "--split", "train"];
    let itself = dir.join("itself");
    let out = evaluate(&[&base[..], &["--compare", shipped, "--output", itself.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_report(&itself);
    assert_eq!((report["utterances"].as_u64(), report["n_speakers"].as_u64()), (Some(160), Some(8)), "{report}");
    // train/spk2age: ages 6, 9, 11 (child), 13 (teen; the mini README counts it among its "4
    // children"), 20, 20, 26, 29 (adult).
    let speakers_of = |group: &str| report["subgroups"][group]["n_speakers"].as_u64();
    assert_eq!((speakers_of("child"), speakers_of("teen"), speakers_of("adult")), (Some(3), Some(1), Some(4)), "{report}");
    for aspect in ASPECTS {
        let paired = &report["comparison"]["aspects"][aspect];
        assert_eq!((paired["delta_pearson"].as_f64(), paired["wins"].as_f64()), (Some(0.0), Some(0.0)), "{paired}");
        assert_eq!(paired["delta_pearson_ci95"], serde_json::json!([0.0, 0.0]));
    }

    let against_random = dir.join("random");
    let out = evaluate(&[&base[..], &["--compare", random_dir.to_str().unwrap(), "--output", against_random.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = read_report(&against_random);
    println!("{}", std::fs::read_to_string(against_random.join("report.txt")).unwrap());
    // Only 8 speakers: a resample of 2–3 distinct speakers often holds little spread in accuracy,
    // so the trained model does not win *every* resample there (87% accuracy, 99–100% for the
    // others when this was written). What must hold: it is ahead on every score overall, wins most
    // resamples on every score, and nearly all of them on average.
    let mut total_wins = 0.0;
    for aspect in ASPECTS {
        let paired = &report["comparison"]["aspects"][aspect];
        let wins = paired["wins"].as_f64().unwrap_or(0.0);
        assert!(wins > 0.5, "{aspect}: the trained model wins only {wins}: {paired}");
        assert!(paired["delta_pearson"].as_f64().unwrap() > 0.0, "{aspect}: {paired}");
        total_wins += wins / 4.0;
    }
    assert!(total_wins > 0.9, "mean win share {total_wins}");
    let _ = std::fs::remove_dir_all(&dir);
}
