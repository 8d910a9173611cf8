//! Kaldi-style lists (`wav.scp`, `utt2spk`, `text`, `spk2age`, `spk2gender`): one `<id> <value>`
//! pair a line, the id and the value separated by the first run of spaces or tabs (the corpus uses a
//! tab in `wav.scp`, `text` and the speaker lists, a space in `utt2spk`).

use std::collections::HashSet;
use std::path::Path;

use super::error::{DataError, read_text};

/// Read a Kaldi list into `(id, value)` pairs in file order. Blank lines are skipped, trailing
/// whitespace (including a Windows `\r`) is dropped. A repeated id is an error: Kaldi tools
/// refuse it too, and a silent "last one wins" would hide a bad merge of two lists.
/// `value_required`: `false` for `text`, where Kaldi allows an empty transcript.
pub(super) fn read_list(path: &Path, what: &'static str, value_required: bool) -> Result<Vec<(String, String)>, DataError> {
    let lines = read_numbered_list(path, what, value_required, "utterance")?;
    Ok(lines.into_iter().map(|(_, id, value)| (id, value)).collect())
}

/// [`read_list`] with each pair's line number (from 1), for callers that parse the values and must
/// name the line of a bad one; `noun` is what the ids are (`utterance`, `speaker`) in messages.
pub(super) fn read_numbered_list(
    path: &Path,
    what: &'static str,
    value_required: bool,
    noun: &str,
) -> Result<Vec<(usize, String, String)>, DataError> {
    let content = read_text(path, what)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let line = line.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        let parse_error = |problem: String| DataError::Parse { path: path.to_path_buf(), line: i + 1, problem };
        let line = line.trim_start();
        let (id, value) = match line.find([' ', '\t']) {
            Some(at) => (&line[..at], line[at..].trim_start()),
            None => (line, ""),
        };
        if value.is_empty() && value_required {
            return Err(parse_error(format!("{noun} {id} has nothing after its id")));
        }
        if !seen.insert(id.to_string()) {
            return Err(parse_error(format!("{noun} {id} is listed twice")));
        }
        out.push((i + 1, id.to_string(), value.to_string()));
    }
    Ok(out)
}
