//! Runs bounded from outside: `--max-steps` stops a run (and a resume of it) after that many optimiser
//! steps; corpus utterances longer than the scorer takes are left out with a note instead of asking for
//! an attention matrix that does not fit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-bounded-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).output().unwrap()
}

fn epochs_reported(output: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(output.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn max_steps_ends_the_run_and_its_resume_there() {
    let dir = scratch("max-steps");
    let output = dir.join("run");
    let corpus = root().join("tests/fixtures/corpus-tiny");
    // 5 utterances at batch 1: 5 steps an epoch, 4 epochs = 20 steps; stop after 7 (mid-epoch 2).
    let args = ["--data", corpus.to_str().unwrap(), "--epochs", "4", "--batch-size", "1", "--max-steps", "7", "--output", output.to_str().unwrap()];
    let out = trainer(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reports = epochs_reported(&output);
    assert_eq!(reports.len(), 2, "{reports:?}");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(output.join("checkpoints/epoch-0002/state.json")).unwrap()).unwrap();
    assert_eq!(state["steps_done"], 7, "{state}");
    // Resuming a run that reached its bound trains nothing more.
    let out = trainer(&["--resume", output.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(epochs_reported(&output).len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 16 kHz mono 16-bit PCM of a 220 Hz tone.
fn tone_wav(seconds: f64) -> Vec<u8> {
    let n = (seconds * 16_000.0) as usize;
    let mut b = Vec::with_capacity(44 + 2 * n);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + 2 * n as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&[1, 0, 1, 0]);
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&32_000u32.to_le_bytes());
    b.extend_from_slice(&[2, 0, 16, 0]);
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(2 * n as u32).to_le_bytes());
    for i in 0..n {
        let v = (0.3 * (2.0 * std::f64::consts::PI * 220.0 * i as f64 / 16_000.0).sin() * 32_767.0) as i16;
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn over_long_utterances_are_left_out_with_a_note() {
    let dir = scratch("over-long");
    let corpus = dir.join("corpus");
    copy_tree(&root().join("tests/fixtures/corpus-tiny"), &corpus);
    std::fs::write(corpus.join("WAVE/SPEAKER0006/000060082.WAV"), tone_wav(61.0)).unwrap();
    let output = dir.join("run");
    let out = trainer(&["--data", corpus.to_str().unwrap(), "--epochs", "1", "--batch-size", "1", "--output", output.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 train utterance(s) longer than 60 s left out: 000060082 (61.0 s)"), "{stderr}");
    // 4 of the 5 utterances trained: 4 steps at batch 1.
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(output.join("checkpoints/epoch-0001/state.json")).unwrap()).unwrap();
    assert_eq!(state["steps_done"], 4, "{state}");
    let _ = std::fs::remove_dir_all(&dir);
}
