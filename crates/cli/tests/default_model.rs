//! The shipped models. The default model scores clips to the numbers recorded when it was exported
//! (www/models/default/reference-scores.json, written by scripts/export-default-model.sh), in all three
//! forms: the hub layout (www/models/default/), the web format (www/models/default.sslpron, which the
//! page loads) and the copy built into `sslpron` (no `--model`). This guards the loaders and the formats,
//! not the training: a change that moves any score by more than `TOLERANCE` fails here. Both committed
//! web files (the default model and the browser tests' demo model) must be exact conversions of their
//! sources.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Scores are on the 0-10 scale; the same binary on the same machine reproduces them to ~1e-6. The
/// slack covers summation order changing with the thread count.
const TOLERANCE: f32 = 5e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

struct Reference {
    file: String,
    hub: [f32; 4],
    web: [f32; 4],
}

fn references() -> Vec<Reference> {
    let path = root().join("www/models/default/reference-scores.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let four = |v: &serde_json::Value| -> [f32; 4] {
        let v: Vec<f32> = v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        v.try_into().unwrap()
    };
    doc["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Reference { file: c["file"].as_str().unwrap().to_string(), hub: four(&c["hub"]), web: four(&c["web"]) })
        .collect()
}

/// `sslpron score --json` of `files` (relative to `dir`) with `model` (None: the built-in one).
fn score(model: Option<&Path>, dir: &Path, files: &[&str]) -> HashMap<String, [f32; 4]> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sslpron"));
    command.current_dir(dir).args(["score", "--json"]);
    if let Some(model) = model {
        command.arg("--model").arg(model);
    }
    let out = command.args(files).output().unwrap();
    assert!(out.status.success(), "sslpron score failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let s = ["accuracy", "fluency", "prosody", "total"].map(|k| v[k].as_f64().unwrap() as f32);
            (v["file"].as_str().unwrap().to_string(), s)
        })
        .collect()
}

fn assert_close(form: &str, file: &str, got: [f32; 4], want: [f32; 4]) {
    for (aspect, (g, w)) in ["accuracy", "fluency", "prosody", "total"].iter().zip(got.iter().zip(&want)) {
        assert!((g - w).abs() <= TOLERANCE, "{form}: {file}: {aspect} {g} vs {w} recorded at export");
    }
}

/// Scores the references whose file `select` accepts, from `dir`, in the hub layout and the web format,
/// and also with the built-in model when `builtin` (the same bytes as the web file: the fixtures suffice).
fn check(dir: &Path, select: impl Fn(&str) -> bool, builtin: bool) -> usize {
    let refs: Vec<Reference> = references().into_iter().filter(|r| select(&r.file)).collect();
    let files: Vec<&str> = refs.iter().map(|r| r.file.as_str()).collect();
    let hub = score(Some(&root().join("www/models/default")), dir, &files);
    let web = score(Some(&root().join("www/models/default.sslpron")), dir, &files);
    let built_in = if builtin { score(None, dir, &files) } else { HashMap::new() };
    for r in &refs {
        assert_close("hub layout", &r.file, hub[&r.file], r.hub);
        assert_close("web format", &r.file, web[&r.file], r.web);
        if builtin {
            assert_close("built-in", &r.file, built_in[&r.file], r.web);
        }
    }
    refs.len()
}

#[test]
fn default_model_scores_the_fixture_clips_as_recorded_at_export() {
    let n = check(&root(), |f| f.starts_with("tests/"), true);
    assert!(n >= 4, "the references must cover the fixture clips (found {n})");
}

#[test]
fn default_model_scores_the_mini_set_as_recorded_at_export() {
    let Some(shared) = std::env::var_os("SSLPRON_SHARED") else {
        eprintln!("skipped: SSLPRON_SHARED is not set (the mini set's clips live in $SSLPRON_SHARED/speechocean762-mini)");
        return;
    };
    let n = check(&PathBuf::from(shared).join("speechocean762-mini"), |f| !f.starts_with("tests/"), false);
    assert_eq!(n, 240, "the references must cover all 240 mini clips");
}

/// Converts `source` (relative to the repository root) with `committed`'s description and requires the
/// result to be `committed` byte for byte; returns the SHA-256 `convert` printed.
fn assert_is_conversion_of(committed: &str, source: &str, fix: &str) -> String {
    let root = root();
    let bytes = std::fs::read(root.join(committed)).unwrap();
    let (header, _) = sslpron_bundle::read_header(&bytes).unwrap();
    let fresh = std::env::temp_dir().join(format!("sslpron-shipped-{}-{}.sslpron", source.replace('/', "_"), std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_sslpron"))
        .current_dir(&root)
        .args(["convert", source])
        .arg(&fresh)
        .args(["--description", &header.description])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rebuilt = std::fs::read(&fresh).unwrap();
    let _ = std::fs::remove_file(&fresh);
    assert!(rebuilt == bytes, "{committed} is not the conversion of {source}: {fix}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.split("sha256 ").nth(1).unwrap().trim().to_string()
}

/// The web file is exactly the conversion of the committed hub layout (so the two cannot drift apart),
/// it says it is trained, and the page's config carries its SHA-256 (the page refuses any other file).
#[test]
fn default_web_model_is_the_conversion_of_the_hub_layout_and_the_page_knows_its_hash() {
    let committed = std::fs::read(root().join("www/models/default.sslpron")).unwrap();
    let (header, _) = sslpron_bundle::read_header(&committed).unwrap();
    assert!(header.description.starts_with("Trained on Speechocean762"), "{}", header.description);
    let sha = assert_is_conversion_of("www/models/default.sslpron", "www/models/default", "rerun scripts/export-default-model.sh");
    let config = std::fs::read_to_string(root().join("www/config.js")).unwrap();
    assert!(config.contains(&format!("sha256: \"{sha}\"")), "www/config.js does not carry {sha}");
}

/// The browser tests' tiny untrained model (www/models/demo.sslpron) is what `sslpron convert` makes of
/// its fixture today, and says that it is untrained.
#[test]
fn demo_model_is_the_current_conversion_of_its_fixture() {
    let committed = std::fs::read(root().join("www/models/demo.sslpron")).unwrap();
    let (header, _) = sslpron_bundle::read_header(&committed).unwrap();
    assert!(header.description.starts_with("untrained demo model"), "the demo model must say it is untrained: {}", header.description);
    assert_is_conversion_of("www/models/demo.sslpron", "tests/fixtures/models/wav2vec2-base", "run scripts/make-demo-model.sh");
}
