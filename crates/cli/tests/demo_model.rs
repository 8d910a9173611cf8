//! The page's default model (www/models/demo.sslpron) is what `sslpron convert` makes of its fixture
//! today, byte for byte, and www/config.js carries its SHA-256 (the page refuses a model whose hash
//! differs). Regenerate both with scripts/make-demo-model.sh when the format or the fixture changes.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn committed_demo_model_is_current_and_its_hash_is_in_the_page_config() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let committed = std::fs::read(root.join("www/models/demo.sslpron")).unwrap();
    let (header, _) = sslpron_bundle::read_header(&committed).unwrap();
    assert!(header.description.starts_with("untrained demo model"), "the demo model must say it is untrained: {}", header.description);
    let fresh = std::env::temp_dir().join(format!("sslpron-demo-{}.sslpron", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_sslpron"))
        .current_dir(&root)
        .args(["convert", "tests/fixtures/models/wav2vec2-base"])
        .arg(&fresh)
        .args(["--description", &header.description])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rebuilt = std::fs::read(&fresh).unwrap();
    let _ = std::fs::remove_file(&fresh);
    assert!(rebuilt == committed, "www/models/demo.sslpron is stale: run scripts/make-demo-model.sh");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let sha = stdout.split("sha256 ").nth(1).unwrap().trim();
    let config = std::fs::read_to_string(root.join("www/config.js")).unwrap();
    assert!(config.contains(&format!("sha256: \"{sha}\"")), "www/config.js does not carry {sha}: run scripts/make-demo-model.sh");
}
