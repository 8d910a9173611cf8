//! The `evaluate` binary on the fixture corpus: test-split labels from a TSV with provisional columns
//! (the layout of the labels folder's test-scores.tsv), a speaker filter, the report files; and a TSV
//! without a needed column refused naming the file.

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
    std::fs::write(&labels, "utt_id\tfluency\tprosodic\taccuracy_provisional\ttotal_provisional\n096110003\t8\t7\t6\t7\n096110004\t4\t5\t3\t4\n").unwrap();
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
