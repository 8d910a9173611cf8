//! `sslpron score`: one line per file, in the order given. A file that fails is reported and the
//! others still scored; the exit status says whether all succeeded. With `--text` or `--texts`, each
//! file is scored against its sentence (crates/prompt): the line adds `text`, `prompt_match` and
//! `words`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sslpron_model::Scores;
use sslpron_prompt::{PromptResult, PromptScorer, WordError, WordResult};

use crate::model_dir;

#[derive(Serialize)]
struct ScoreLine<'a> {
    file: &'a str,
    accuracy: f32,
    fluency: f32,
    prosody: f32,
    total: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_match: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<&'a [WordResult]>,
}

/// What to score: audio files, each with the sentence it reads when scoring against text.
pub struct Request {
    pub items: Vec<(PathBuf, Option<String>)>,
}

impl Request {
    /// From the command line: the files alone, the one file with `--text`, or `--texts LIST.tsv`.
    pub fn new(audio: Vec<PathBuf>, text: Option<String>, texts: Option<&Path>) -> Result<Self, String> {
        match (text, texts) {
            (Some(_), Some(_)) => Err("give --text or --texts, not both".into()),
            (Some(text), None) => match audio.as_slice() {
                [one] => Ok(Request { items: vec![(one.clone(), Some(text))] }),
                _ => Err(format!("--text scores one file against one sentence ({} files given); use --texts LIST.tsv for several", audio.len())),
            },
            (None, Some(list)) if audio.is_empty() => Ok(Request { items: read_list(list)? }),
            (None, Some(_)) => Err("--texts names the audio files itself; give no files besides it".into()),
            (None, None) => Ok(Request { items: audio.into_iter().map(|a| (a, None)).collect() }),
        }
    }
}

/// Lines `audio-path<TAB>sentence` (no header; blank lines skipped; relative paths against the
/// list's folder).
fn read_list(list: &Path) -> Result<Vec<(PathBuf, Option<String>)>, String> {
    const MAX_LIST_BYTES: u64 = 64 << 20;
    let size = std::fs::metadata(list).map_err(|e| format!("{}: cannot read: {e}", list.display()))?.len();
    if size > MAX_LIST_BYTES {
        return Err(format!("{}: {} MB is larger than a list of sentences can be (at most 64 MB)", list.display(), size >> 20));
    }
    let text = std::fs::read_to_string(list).map_err(|e| format!("{}: cannot read as UTF-8 text: {e}", list.display()))?;
    let base = list.parent().unwrap_or(Path::new("."));
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((path, sentence)) = line.split_once('\t') else {
            return Err(format!("{}:{}: expected `audio-path<TAB>sentence`, found no tab", list.display(), i + 1));
        };
        if path.is_empty() {
            return Err(format!("{}:{}: the audio path is empty", list.display(), i + 1));
        }
        items.push((base.join(path), Some(sentence.to_string())));
    }
    if items.is_empty() {
        return Err(format!("{}: no `audio-path<TAB>sentence` lines", list.display()));
    }
    Ok(items)
}

/// Scores the request with the model at `model` (see [`model_dir::load`]), or with the built-in one.
pub fn run(model: Option<&Path>, json: bool, device: &str, request: Request) -> Result<(), String> {
    let device = sslpron_model::device::parse(device)?;
    let wants_text = request.items.iter().any(|(_, t)| t.is_some());
    let loaded = match model {
        Some(spec) => model_dir::load(spec, device.clone())?,
        None => model_dir::load_builtin(device.clone())?,
    };
    if loaded.model.head.is_none() {
        return Err(sslpron_model::ModelError::NoScoreHead { file: loaded.weights_name() }.to_string());
    }
    let prompt_scorer = match (wants_text, model) {
        (false, _) => None,
        (true, None) => Some(crate::prompt::load_builtin(&device)?),
        (true, Some(spec)) if spec.is_dir() => Some(crate::prompt::load_dir(spec, &device)?),
        (true, Some(spec)) => {
            return Err(format!("{}: --text needs a model directory holding the prompt-aware parts (or no --model: the default)", spec.display()));
        }
    };
    let mut failures = 0;
    let stdout = std::io::stdout();
    for (path, text) in &request.items {
        let outcome = match (text, &prompt_scorer) {
            (Some(text), Some(scorer)) => score_text(&loaded, scorer, path, text).map(|r| (Scores::from_slice(&r.scores), Some(r))),
            _ => score_one(&loaded, path).map(|s| (s, None)),
        };
        match outcome {
            Ok((scores, prompt)) => {
                let line = format_line(path, text.as_deref(), scores, prompt.as_ref(), json)?;
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
        n => Err(format!("{n} of {} file(s) could not be scored", request.items.len())),
    }
}

fn format_line(path: &Path, text: Option<&str>, scores: Scores, prompt: Option<&PromptResult>, json: bool) -> Result<String, String> {
    let file = path.to_string_lossy();
    if json {
        let [accuracy, fluency, prosody, total] = scores.as_array();
        let line = ScoreLine {
            file: &file,
            accuracy,
            fluency,
            prosody,
            total,
            text: prompt.and(text),
            prompt_match: prompt.map(|p| p.prompt_match),
            words: prompt.map(|p| p.words.as_slice()),
        };
        return serde_json::to_string(&line).map_err(|e| e.to_string());
    }
    let mut line =
        format!("{file}\taccuracy {:.2}\tfluency {:.2}\tprosody {:.2}\ttotal {:.2}", scores.accuracy, scores.fluency, scores.prosody, scores.total);
    if let Some(prompt) = prompt {
        if !prompt.prompt_match {
            line.push_str("\tthe audio does not read the sentence");
        }
        for word in &prompt.words {
            let error = match word.error {
                WordError::None => "",
                WordError::Mispronunciation => "\tmispronounced",
                WordError::Omission => "\tnot read",
            };
            let approximate = if word.approximate { "\t(pronunciation guessed)" } else { "" };
            line.push_str(&format!(
                "\n  {}\taccuracy {:.1}\ttotal {:.1}\t{:.2}-{:.2} s{error}{approximate}",
                word.written, word.accuracy, word.total, word.start, word.end
            ));
        }
    }
    Ok(line)
}

fn score_one(loaded: &model_dir::LoadedModel, path: &Path) -> Result<Scores, String> {
    let input = loaded.prepare(path)?;
    loaded.model.score(input, &loaded.weights_name()).map_err(|e| match e {
        sslpron_model::ModelError::NonFiniteOutput => format!("{}: {e}", path.display()),
        other => other.to_string(),
    })
}

fn score_text(loaded: &model_dir::LoadedModel, scorer: &PromptScorer, path: &Path, text: &str) -> Result<PromptResult, String> {
    let samples = loaded.prepare_samples(path)?;
    scorer.score(&loaded.model, &samples, text, &loaded.device).map_err(|e| format!("{}: {text:?}: {e}", path.display()))
}
