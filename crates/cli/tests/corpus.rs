//! Every utterance of the Speechocean762 mini corpus goes through `sslpron score` (real recordings of
//! children and adults, all lengths): one finite score line each, in order. Needs the corpus, found
//! through SSLPRON_SHARED (the `shared/` folder; `.ci/run` sets it); skips with a message without it.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn scores_every_mini_corpus_utterance() {
    let Some(shared) = std::env::var_os("SSLPRON_SHARED") else {
        eprintln!("skipped: SSLPRON_SHARED is not set (the folder holding speechocean762-mini)");
        return;
    };
    let corpus = PathBuf::from(shared).join("speechocean762-mini");
    let mut files = Vec::new();
    for split in ["train", "test"] {
        let list =
            std::fs::read_to_string(corpus.join(split).join("wav.scp")).unwrap_or_else(|e| panic!("{}/{split}/wav.scp: {e}", corpus.display()));
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            let (_, path) = line.split_once(char::is_whitespace).expect("wav.scp line: ID PATH");
            files.push(corpus.join(path.trim()));
        }
    }
    assert_eq!(files.len(), 240, "the mini corpus has 240 utterances");

    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/models/wavlm-base");
    let output =
        Command::new(env!("CARGO_BIN_EXE_sslpron")).args(["score", "--json", "--model"]).arg(&model).args(&files).output().expect("sslpron runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "sslpron failed: {stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "one line per file");
    for (line, file) in lines.iter().zip(&files) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(value["file"], file.to_string_lossy().as_ref());
        for key in ["accuracy", "fluency", "prosody", "total"] {
            assert!(value[key].as_f64().is_some_and(f64::is_finite), "{line}: {key}");
        }
    }
}
