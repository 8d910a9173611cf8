//! The prompt-aware research binaries end to end on the fixture corpus (a tiny model; numbers mean
//! nothing here, the plumbing does): `phone-head` fits and writes a head that loads, on the last or
//! an earlier hidden state (recorded with the vocabulary); `prompt-evidence` and `prompt-head` read
//! it, align every clip's own text and write what they promise; a bad speaker list is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(binary: &str, args: &[&str]) -> Output {
    Command::new(binary).current_dir(root()).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-prompt-tools-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const MODEL: &str = "tests/fixtures/models/wav2vec2-base";
const DATA: &str = "tests/fixtures/corpus-tiny";

fn setup_args<'a>(speakers: &'a Path, head: &'a Path) -> Vec<&'a str> {
    vec!["--model", MODEL, "--data", DATA, "--speakers", speakers.to_str().unwrap(), "--phone-head", head.to_str().unwrap()]
}

#[test]
fn phone_head_then_evidence_then_prompt_head_on_the_fixture_corpus() {
    let dir = scratch("chain");
    let speakers = dir.join("dev.txt");
    std::fs::write(&speakers, "1012\n").unwrap();
    let head = dir.join("head");
    let out = run(
        env!("CARGO_BIN_EXE_phone-head"),
        &["--model", MODEL, "--data", DATA, "--speakers", speakers.to_str().unwrap(), "--epochs", "2", "--output", head.to_str().unwrap()],
    );
    ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(head.join("phone_head_report.json")).unwrap()).unwrap();
    assert_eq!(report["epochs"].as_array().unwrap().len(), 2);
    assert_eq!((report["train_utterances"].as_u64(), report["dev_utterances"].as_u64()), (Some(3), Some(2)));
    let vocab = trainer::data::PhoneVocab::load(&head.join("phone_vocab.json")).unwrap();
    assert_eq!(vocab.hidden_state(), None);

    let stdout = ok(&run(env!("CARGO_BIN_EXE_prompt-evidence"), &setup_args(&speakers, &head)));
    assert!(stdout.contains("own text scores higher than another clip's text") && stdout.contains("2 clips"), "{stdout}");

    let prompt = dir.join("prompt");
    let args = [&setup_args(&speakers, &head)[..], &["--epochs", "2", "--hidden-size", "16", "--output", prompt.to_str().unwrap()]].concat();
    let stdout = ok(&run(env!("CARGO_BIN_EXE_prompt-head"), &args));
    assert!(stdout.contains("| fluency |") && stdout.contains("word accuracy / total r"), "{stdout}");
    let config = sslpron_model::PromptHeadConfig::from_json("prompt_head.json", &std::fs::read(prompt.join("prompt_head.json")).unwrap()).unwrap();
    let bytes = std::fs::read(prompt.join("prompt_head.safetensors")).unwrap();
    sslpron_model::PromptHead::from_safetensors("prompt_head.safetensors", &bytes, &config, &burn::prelude::Device::flex()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_recognizer_feeds_evidence_and_the_prompt_head() {
    let dir = scratch("recognizer");
    let speakers = dir.join("dev.txt");
    std::fs::write(&speakers, "1012\n").unwrap();
    let recognizer = dir.join("recognizer");
    let out = run(
        env!("CARGO_BIN_EXE_phone-recognizer"),
        &[
            "--data",
            DATA,
            "--speakers",
            speakers.to_str().unwrap(),
            "--epochs",
            "2",
            "--hidden-size",
            "32",
            "--layers",
            "1",
            "--intermediate-size",
            "64",
            "--output",
            recognizer.to_str().unwrap(),
        ],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept epoch"));
    for file in ["phone_recognizer.safetensors", "phone_recognizer.json", "phone_vocab.json", "metrics.jsonl", "report.json", "checkpoint/state.json"]
    {
        assert!(recognizer.join(file).is_file(), "{file} missing");
    }
    let base: Vec<&str> =
        vec!["--model", MODEL, "--data", DATA, "--speakers", speakers.to_str().unwrap(), "--recognizer", recognizer.to_str().unwrap()];
    let with_recognizer = |extra: &[&'static str]| -> Vec<String> { base.iter().chain(extra).map(|a| a.to_string()).collect() };
    let stdout = ok(&run(env!("CARGO_BIN_EXE_prompt-evidence"), &with_recognizer(&[]).iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(stdout.contains("own text scores higher") && stdout.contains("clip mean of word LPP"), "{stdout}");
    let prompt = dir.join("prompt");
    let stdout = ok(&run(
        env!("CARGO_BIN_EXE_prompt-head"),
        &[with_recognizer(&["--epochs", "1", "--hidden-size", "16", "--output"]), vec![prompt.display().to_string()]]
            .concat()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ));
    assert!(stdout.contains("| fluency |"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(prompt.join("prompt_head_report.json")).unwrap()).unwrap();
    assert_eq!(report["recognizer"].as_str(), recognizer.to_str());
    assert!(report["phone_head"].is_null());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_head_on_an_earlier_hidden_state_says_so_and_a_bad_speaker_list_is_refused() {
    let dir = scratch("layer");
    let speakers = dir.join("dev.txt");
    std::fs::write(&speakers, "1012\n").unwrap();
    let head = dir.join("head");
    let args = ["--model", MODEL, "--data", DATA, "--speakers", speakers.to_str().unwrap(), "--epochs", "1", "--layer", "0", "--head-layers", "1"];
    ok(&run(env!("CARGO_BIN_EXE_phone-head"), &[&args[..], &["--output", head.to_str().unwrap()]].concat()));
    assert_eq!(trainer::data::PhoneVocab::load(&head.join("phone_vocab.json")).unwrap().hidden_state(), Some(0));
    // prompt-evidence runs the head on hidden state 0, as recorded.
    ok(&run(env!("CARGO_BIN_EXE_prompt-evidence"), &setup_args(&speakers, &head)));

    std::fs::write(&speakers, "4242\n").unwrap();
    let out = run(env!("CARGO_BIN_EXE_prompt-evidence"), &setup_args(&speakers, &head));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("prompt-evidence: error:") && stderr.contains("4242"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
