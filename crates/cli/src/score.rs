//! `sslpron score`: one line per file, in the order given. A file that fails is reported and the
//! others still scored; the exit status says whether all succeeded.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sslpron_model::Scores;

use crate::model_dir;

#[derive(Serialize)]
struct ScoreLine<'a> {
    file: &'a str,
    accuracy: f32,
    fluency: f32,
    prosody: f32,
    total: f32,
}

/// Scores `audio` with the model at `model` (see [`model_dir::load`]), or with the built-in one.
pub fn run(model: Option<&Path>, json: bool, device: &str, audio: &[PathBuf]) -> Result<(), String> {
    let device = sslpron_model::device::parse(device)?;
    let loaded = match model {
        Some(spec) => model_dir::load(spec, device)?,
        None => model_dir::load_builtin(device)?,
    };
    if loaded.model.head.is_none() {
        return Err(sslpron_model::ModelError::NoScoreHead { file: loaded.weights_name() }.to_string());
    }
    let mut failures = 0;
    let stdout = std::io::stdout();
    for path in audio {
        match score_one(&loaded, path) {
            Ok(scores) => {
                let file = path.to_string_lossy();
                let line = if json {
                    let [accuracy, fluency, prosody, total] = scores.as_array();
                    serde_json::to_string(&ScoreLine { file: &file, accuracy, fluency, prosody, total }).map_err(|e| e.to_string())?
                } else {
                    format!(
                        "{file}\taccuracy {:.2}\tfluency {:.2}\tprosody {:.2}\ttotal {:.2}",
                        scores.accuracy, scores.fluency, scores.prosody, scores.total
                    )
                };
                writeln!(stdout.lock(), "{line}").map_err(|e| format!("cannot write to stdout: {e}"))?;
            }
            Err(error) => {
                eprintln!("sslpron: error: {error}");
                failures += 1;
            }
        }
    }
    match failures {
        0 => Ok(()),
        n => Err(format!("{n} of {} file(s) could not be scored", audio.len())),
    }
}

fn score_one(loaded: &model_dir::LoadedModel, path: &Path) -> Result<Scores, String> {
    let input = loaded.prepare(path)?;
    loaded.model.score(input, &loaded.weights_name()).map_err(|e| match e {
        sslpron_model::ModelError::NonFiniteOutput => format!("{}: {e}", path.display()),
        other => other.to_string(),
    })
}
