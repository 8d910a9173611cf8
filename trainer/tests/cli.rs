//! The trainer binary's own behaviour: no arguments, the config file, bad option values.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-trainer-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn trainer(cwd: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer")).current_dir(cwd).env_remove("SSLPRON_DATA").args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn no_arguments_and_no_corpus_explains_in_two_lines() {
    let cwd = scratch("noargs");
    let out = trainer(&cwd, &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("data/speechocean762") && text.contains("speechocean762-from-git.sh"), "{text}");
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn config_file_supplies_options_and_the_command_line_overrides_them() {
    let cwd = scratch("config");
    let config = cwd.join("train.json");
    let corpus = root().join("tests/fixtures/corpus-tiny");
    std::fs::write(
        &config,
        serde_json::json!({
            "data": corpus, "output": cwd.join("out"), "epochs": 5, "batch-size": 3, "grad_accum": 2,
            "ctc-weight": 0.25, "seed-compat": true, "lr": 1e-4,
        })
        .to_string(),
    )
    .unwrap();
    let out = trainer(&cwd, &["--config", config.to_str().unwrap(), "--epochs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run: serde_json::Value = serde_json::from_slice(&std::fs::read(cwd.join("out/run.json")).unwrap()).unwrap();
    assert_eq!(run["epochs"], 1, "the command line wins");
    assert_eq!(run["batch_size"], 3);
    assert_eq!(run["grad_accum"], 2);
    assert_eq!(run["ctc_weight"], 0.25);
    assert_eq!(run["seed_compat"], true);
    assert_eq!(run["lr"], 1e-4);
    assert!(cwd.join("out/model/phone_vocab.json").exists());
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn bad_config_files_and_values_are_refused_naming_the_problem() {
    let cwd = scratch("bad");
    let corpus = root().join("tests/fixtures/corpus-tiny");
    let config = cwd.join("bad.json");
    for (content, expected) in [
        ("{\"epochs\": 3,", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ("{\"epoch\": 3}", "unknown option `epoch`"),
        ("{\"epochs\": [3]}", "option `epochs` must be"),
    ] {
        std::fs::write(&config, content).unwrap();
        let out = trainer(&cwd, &["--config", config.to_str().unwrap(), "--data", corpus.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{content}");
        let text = stderr(&out);
        assert!(text.contains("bad.json") && text.contains(expected), "{content}: {text}");
    }
    let missing = trainer(&cwd, &["--config", "nowhere.json"]);
    assert!(stderr(&missing).contains("nowhere.json"), "{}", stderr(&missing));
    let out = trainer(&cwd, &["--data", corpus.to_str().unwrap(), "--ctc-weight", "-1", "--output", "o"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--ctc-weight"), "{}", stderr(&out));
    assert!(!cwd.join("o").exists(), "nothing written for a refused run");
    let _ = std::fs::remove_dir_all(&cwd);
}
