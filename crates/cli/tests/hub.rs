//! `sslpron score` / `embed` with `--model HUB_ID[:SUBFOLDER]`, end to end, against the fake hub of
//! `crates/hub/tests/support` (a std-only HTTP server on 127.0.0.1 in the hub's URL layout), selected
//! through `HF_ENDPOINT`, with `HF_HOME` in a fresh temporary folder per test. The hub id must give exactly
//! what the same model as a local directory gives, also offline from the cache with the server gone; a
//! missing repository and an empty offline cache fail with a clear message, non-zero exit and no panic.
//!
//! Each run gets its environment on the child process only, so these tests run in parallel.

#[path = "../../hub/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{FakeHub, FakeRepo, TempDir, fixture_model};

const SPEC: &str = "sslpron-test/tiny:general/wav2vec2-base";
const COMMIT: &str = "5a1c0ffee5a1c0ffee5a1c0ffee5a1c0ffee5a1c";
const LOCAL: &str = "tests/fixtures/models/wav2vec2-base";
const CLIPS: [&str; 2] = ["tests/fixtures/audio/short.wav", "tests/fixtures/audio/medium.wav"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny_hub() -> FakeHub {
    FakeHub::start(vec![FakeRepo::new("sslpron-test/tiny", COMMIT).dir("general/wav2vec2-base", &fixture_model("wav2vec2-base"))])
}

struct Run {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout ---\n{}--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs the binary from the repository root with the hub settings `endpoint`, `home` (HF_HOME) and
/// `offline`; every other hub variable of the calling environment is removed.
fn sslpron(args: &[&str], endpoint: &str, home: &Path, offline: bool) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sslpron"));
    command.args(args).current_dir(repo_root());
    for key in ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"] {
        command.env_remove(key);
    }
    command.env("HF_ENDPOINT", endpoint).env("HF_HOME", home).env("NO_PROXY", "127.0.0.1,localhost").env("no_proxy", "127.0.0.1,localhost");
    if offline {
        command.env("HF_HUB_OFFLINE", "1");
    }
    let output = command.output().expect("the sslpron binary runs");
    Run {
        success: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn score_args(model: &str) -> Vec<&str> {
    let mut args = vec!["score", "--json", "--model", model];
    args.extend(CLIPS);
    args
}

fn assert_clear_failure(run: &Run, words: &[&str]) {
    assert!(!run.success, "expected a failure: {run:?}");
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!run.stderr.contains("panicked"), "it panicked: {run:?}");
    assert!(run.stderr.starts_with("sslpron: error: "), "{run:?}");
    for word in words {
        assert!(run.stderr.contains(word), "stderr does not mention {word:?}: {run:?}");
    }
    assert_eq!(run.stdout, "", "{run:?}");
}

#[test]
fn score_with_a_hub_id_matches_the_local_directory_then_works_offline() {
    let hub = tiny_hub();
    let home = TempDir::new("cli_score");

    let local = sslpron(&score_args(LOCAL), &hub.endpoint(), home.path(), false);
    assert!(local.success, "{local:?}");
    assert_eq!(local.stdout.lines().count(), CLIPS.len(), "{local:?}");
    assert!(hub.requests().is_empty(), "a local directory made hub requests: {:#?}", hub.requests());

    let online = sslpron(&score_args(SPEC), &hub.endpoint(), home.path(), false);
    assert!(online.success, "{online:?}");
    assert_eq!(online.stdout, local.stdout, "the hub model scores differently from the local directory");
    assert!(!hub.requests().is_empty(), "nothing was downloaded");
    assert!(home.path().join("hub/models--sslpron-test--tiny/snapshots").join(COMMIT).is_dir(), "the cache is under HF_HOME");

    let endpoint = hub.endpoint();
    hub.stop();
    let offline = sslpron(&score_args(SPEC), &endpoint, home.path(), true);
    assert!(offline.success, "{offline:?}");
    assert_eq!(offline.stdout, local.stdout, "offline from the cache");
}

#[test]
fn embed_with_a_hub_id_writes_the_same_states_as_the_local_directory() {
    let hub = tiny_hub();
    let home = TempDir::new("cli_embed");
    let outputs = TempDir::new("cli_embed_out");
    let (from_local, from_hub) = (outputs.path().join("local.safetensors"), outputs.path().join("hub.safetensors"));
    for (model, output) in [(LOCAL, &from_local), (SPEC, &from_hub)] {
        let args = ["embed", "--model", model, CLIPS[0], "--output", output.to_str().unwrap()];
        let run = sslpron(&args, &hub.endpoint(), home.path(), false);
        assert!(run.success, "{model}: {run:?}");
    }
    let (a, b) = (std::fs::read(&from_local).unwrap(), std::fs::read(&from_hub).unwrap());
    assert!(!a.is_empty() && a == b, "embed outputs differ ({} and {} bytes)", a.len(), b.len());
}

#[test]
fn an_unknown_hub_repository_fails_clearly() {
    let hub = tiny_hub();
    let home = TempDir::new("cli_unknown_repo");
    let spec = "sslpron-test/no-such-repo:general/wav2vec2-base";
    let run = sslpron(&score_args(spec), &hub.endpoint(), home.path(), false);
    assert_clear_failure(&run, &["`sslpron-test/no-such-repo`", "not found", "no such directory"]);

    let out = home.path().join("out.safetensors");
    let run = sslpron(&["embed", "--model", spec, CLIPS[0], "--output", out.to_str().unwrap()], &hub.endpoint(), home.path(), false);
    assert_clear_failure(&run, &["`sslpron-test/no-such-repo`", "not found"]);
    assert!(!out.exists(), "a failed embed wrote {}", out.display());
}

#[test]
fn offline_with_an_empty_cache_fails_clearly() {
    let hub = tiny_hub();
    let home = TempDir::new("cli_offline_empty");
    let run = sslpron(&score_args(SPEC), &hub.endpoint(), home.path(), true);
    assert_clear_failure(&run, &["sslpron-test/tiny", "general/wav2vec2-base/config.json", "HF_HUB_OFFLINE", "not in the local cache"]);
    assert!(hub.requests().is_empty(), "offline mode made requests: {:#?}", hub.requests());
}

#[test]
fn a_missing_path_that_is_no_hub_id_is_still_not_a_model_directory() {
    let hub = tiny_hub();
    let home = TempDir::new("cli_not_hub");
    for spec in ["tests/fixtures/models/no-such-model", "no-such-model"] {
        let run = sslpron(&score_args(spec), &hub.endpoint(), home.path(), false);
        assert_clear_failure(&run, &[spec, "not a model directory"]);
    }
    assert!(hub.requests().is_empty(), "a path was taken for a hub id: {:#?}", hub.requests());
}
