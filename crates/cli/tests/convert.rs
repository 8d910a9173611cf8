//! `sslpron convert` and web-format models: a converted model scores as its checkpoint does (exactly
//! in f32, within 0.02 in f16: the browser's budget against `sslpron score`), `score` reads the file, and bad inputs are
//! refused naming the file, with nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KINDS: [&str; 9] =
    ["wav2vec2-base", "wav2vec2-large", "wav2vec2-ctc", "hubert-base", "hubert-large", "hubert-ctc", "wavlm-base", "wavlm-large", "wavlm-ctc"];
const CLIPS: [&str; 2] = ["tests/fixtures/audio/short.wav", "tests/fixtures/audio/long.wav"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sslpron(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sslpron")).current_dir(root()).args(args).output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-convert-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scores(model: &str) -> Vec<[f64; 4]> {
    let mut args = vec!["score", "--json", "--model", model];
    args.extend(CLIPS);
    let out = sslpron(&args);
    assert!(out.status.success(), "{model}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            ["accuracy", "fluency", "prosody", "total"].map(|k| v[k].as_f64().unwrap())
        })
        .collect()
}

fn convert(kind: &str, precision: &str, out: &Path) {
    let model = format!("tests/fixtures/models/{kind}");
    let result = sslpron(&["convert", &model, out.to_str().unwrap(), "--precision", precision, "--description", "fixture"]);
    assert!(result.status.success(), "{kind}: {}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8_lossy(&result.stdout);
    let digest = stdout.split("sha256 ").nth(1).expect("prints the SHA-256").trim();
    assert_eq!(digest.len(), 64, "{stdout}");
}

#[test]
fn converted_models_score_like_their_checkpoints() {
    let dir = scratch("parity");
    for kind in KINDS {
        let reference = scores(&format!("tests/fixtures/models/{kind}"));
        for (precision, bound) in [("f32", 0.0), ("f16", 0.02)] {
            let file = dir.join(format!("{kind}-{precision}.sslpron"));
            convert(kind, precision, &file);
            let ours = scores(file.to_str().unwrap());
            let worst = ours.iter().flatten().zip(reference.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            eprintln!("{kind} {precision}: largest score change {worst:.5}");
            for (a, b) in ours.iter().flatten().zip(reference.iter().flatten()) {
                assert!((a - b).abs() <= bound, "{kind} {precision}: {a} vs {b}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn f16_halves_the_file() {
    let dir = scratch("size");
    let (f32_file, f16_file) = (dir.join("a-f32.sslpron"), dir.join("a-f16.sslpron"));
    convert("wavlm-base", "f32", &f32_file);
    convert("wavlm-base", "f16", &f16_file);
    let (big, small) = (std::fs::metadata(&f32_file).unwrap().len(), std::fs::metadata(&f16_file).unwrap().len());
    assert!(small * 10 < big * 6, "f16 {small} bytes vs f32 {big}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_conversions_and_bad_web_models_are_refused() {
    let dir = scratch("bad");
    std::fs::create_dir_all(&dir).unwrap();
    // An encoder without a score head cannot become a scorer.
    let out_file = dir.join("encoder.sslpron");
    let out = sslpron(&["convert", "tests/fixtures/models/hub-wavlm-model", out_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.safetensors") && stderr.contains("cannot score"), "{stderr}");
    assert!(!out_file.exists(), "nothing written");
    // The output must be a file path.
    let out = sslpron(&["convert", "tests/fixtures/models/wavlm-base", dir.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
    assert!(sslpron(&["convert", "tests/fixtures/models/wavlm-base", "x.sslpron", "--precision", "f8"]).status.code() == Some(2));
    // A truncated web model, and a file that is not one, name the file.
    let good = dir.join("good.sslpron");
    convert("wavlm-base", "f16", &good);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.sslpron");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let wav = root().join(CLIPS[0]);
    for (file, expected) in [(cut.clone(), "truncated"), (wav.clone(), "not an sslpron web model")] {
        let out = sslpron(&["score", "--model", file.to_str().unwrap(), wav.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(file.file_name().unwrap().to_str().unwrap()) && stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--hub-layout`: a model folder whose weights are stored in f16 scores like the web model in f16 (the
/// same rounding of the same weights), converts to that very web file, keeps f32 exact, and refuses int8
/// and an existing folder without touching it.
#[test]
fn hub_layout_in_f16_is_the_web_models_weights_and_f32_is_exact() {
    let dir = scratch("hub-layout");
    for kind in ["wav2vec2-base", "wavlm-ctc"] {
        let model = format!("tests/fixtures/models/{kind}");
        let reference = scores(&model);
        let (f32_dir, f16_dir) = (dir.join(format!("{kind}-f32")), dir.join(format!("{kind}-f16")));
        for (out, precision) in [(&f32_dir, "f32"), (&f16_dir, "f16")] {
            let result = sslpron(&["convert", &model, out.to_str().unwrap(), "--hub-layout", "--precision", precision]);
            assert!(result.status.success(), "{kind} {precision}: {}", String::from_utf8_lossy(&result.stderr));
        }
        assert_eq!(scores(f32_dir.to_str().unwrap()), reference, "{kind}: f32 hub layout is exact");
        let half = std::fs::metadata(f16_dir.join("model.safetensors")).unwrap().len();
        let full = std::fs::metadata(f32_dir.join("model.safetensors")).unwrap().len();
        assert!(half * 10 < full * 6, "{kind}: f16 weights {half} bytes vs f32 {full}");

        let (from_hub, from_model) = (dir.join(format!("{kind}-a.sslpron")), dir.join(format!("{kind}-b.sslpron")));
        for (source, out) in [(f16_dir.to_str().unwrap(), &from_hub), (model.as_str(), &from_model)] {
            let result = sslpron(&["convert", source, out.to_str().unwrap(), "--description", "fixture"]);
            assert!(result.status.success(), "{kind}: {}", String::from_utf8_lossy(&result.stderr));
        }
        assert!(std::fs::read(&from_hub).unwrap() == std::fs::read(&from_model).unwrap(), "{kind}: the f16 folder converts to the same web file");
        assert_eq!(scores(f16_dir.to_str().unwrap()), scores(from_hub.to_str().unwrap()), "{kind}: f16 folder and web file score alike");
    }
    let model = "tests/fixtures/models/wav2vec2-base";
    let existing = dir.join("wav2vec2-base-f32");
    let before = std::fs::read(existing.join("model.safetensors")).unwrap();
    let result = sslpron(&["convert", model, existing.to_str().unwrap(), "--hub-layout"]);
    assert!(!result.status.success() && String::from_utf8_lossy(&result.stderr).contains("already exists"));
    assert_eq!(std::fs::read(existing.join("model.safetensors")).unwrap(), before);
    let int8 = dir.join("int8");
    let result = sslpron(&["convert", model, int8.to_str().unwrap(), "--hub-layout", "--precision", "int8"]);
    assert!(!result.status.success() && String::from_utf8_lossy(&result.stderr).contains("int8"));
    assert!(!int8.exists(), "nothing written for a refused conversion");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hub_layout_carries_the_prompt_aware_parts_or_refuses_a_partial_set() {
    let dir = scratch("parts");
    let source = dir.join("default");
    std::fs::create_dir_all(&source).unwrap();
    let default = root().join("www/models/default");
    for f in [
        "config.json",
        "preprocessor_config.json",
        "model.safetensors",
        "phone_recognizer.json",
        "phone_recognizer.safetensors",
        "phone_vocab.json",
        "prompt_head.json",
        "prompt_head.safetensors",
    ] {
        std::fs::copy(default.join(f), source.join(f)).unwrap();
    }
    // The default folder is stored in f16 already: every part comes out byte for byte.
    let out = dir.join("f16");
    let result = sslpron(&["convert", source.to_str().unwrap(), out.to_str().unwrap(), "--hub-layout"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    for f in ["phone_recognizer.safetensors", "prompt_head.safetensors", "phone_vocab.json"] {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), std::fs::read(default.join(f)).unwrap(), "{f}");
    }
    std::fs::remove_file(source.join("prompt_head.json")).unwrap();
    let result = sslpron(&["convert", source.to_str().unwrap(), dir.join("partial").to_str().unwrap(), "--hub-layout"]);
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success() && err.contains("only some of the prompt-aware parts"), "{err}");
    assert!(!dir.join("partial").exists());
}
