//! A run killed with SIGKILL at arbitrary moments and resumed (`--resume DIR`) ends with exactly the
//! weights of an uninterrupted run with the same seed — dropout, LayerDrop and SpecAugment on, with the
//! phone CTC objective (its head and optimiser state) and gradient accumulation.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn trainer(output: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trainer"));
    command
        .args(["--data"])
        .arg(root().join("tests/fixtures/corpus-tiny"))
        .args(["--epochs", "10", "--batch-size", "2", "--grad-accum", "2", "--ctc-weight", "0.5", "--lr", "1e-3", "--seed", "11", "--output"])
        .arg(output)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn killed_and_resumed_run_matches_uninterrupted_run() {
    let base = std::env::temp_dir().join(format!("sslpron-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (straight, interrupted) = (base.join("straight"), base.join("interrupted"));

    let status = trainer(&straight).status().unwrap();
    assert!(status.success(), "uninterrupted run failed");
    let final_files = |dir: &Path| -> Vec<Vec<u8>> {
        ["model/model.safetensors", "model/phone_head.safetensors"].iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect()
    };
    let expected = final_files(&straight);

    // Kill after a growing delay, then resume, until a run completes on its own.
    let mut kills = 0;
    let mut delay = Duration::from_millis(40);
    loop {
        let mut command = if interrupted.join("run.json").exists() {
            let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
            c.arg("--resume").arg(&interrupted).stdout(Stdio::null()).stderr(Stdio::null());
            c
        } else {
            trainer(&interrupted)
        };
        let mut child = command.spawn().unwrap();
        let start = Instant::now();
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "trainer failed after {kills} kills");
                break true;
            }
            if start.elapsed() >= delay {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                break false;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        if finished {
            break;
        }
        assert!(kills < 60, "never finished");
        delay += Duration::from_millis(35);
    }
    assert!(kills >= 2, "the run was never interrupted ({kills} kills): make it longer");
    let resumed = final_files(&interrupted);
    assert!(resumed == expected, "resumed run ({kills} kills) ended with different weights");
    eprintln!("{kills} kills, identical final weights");
    let _ = std::fs::remove_dir_all(&base);
}
