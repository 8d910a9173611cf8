//! The corpus's label files: `resource/scores.json` (utterance scores, word-level canonical
//! phones) and `resource/text-phone` (canonical phones per word, with word-position marks).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use super::error::{DataError, read_text};

/// The utterance-level score names, in the order of [`super::Utterance::labels`]: the seed's
/// label vector `[accuracy, fluency, prosodic, total]`, spelled as in `scores.json`.
pub const LABEL_NAMES: [&str; 4] = ["accuracy", "fluency", "prosodic", "total"];

/// The range of every utterance score on the corpus's raw scale.
pub const LABEL_RANGE: (f32, f32) = (0.0, 10.0);

/// One utterance of `scores.json` as far as training needs it.
#[derive(Debug, Clone)]
pub(super) struct ScoreEntry {
    pub labels: [f32; 4],
    /// Canonical phones from `words[].phones`, in word order; `None` when the entry has no
    /// `words` (the phones then must come from `text-phone`).
    pub phones: Option<Vec<String>>,
}

// Field types are f64 so integers (every label of the corpus) and decimals both parse; unknown
// fields (`text`, `completeness`, word scores) are ignored on purpose.
#[derive(Deserialize)]
struct RawEntry {
    accuracy: f64,
    fluency: f64,
    prosodic: f64,
    total: f64,
    words: Option<Vec<RawWord>>,
}

#[derive(Deserialize)]
struct RawWord {
    phones: String,
}

/// Read a `scores.json`-format file: `{ "<utt>": {"accuracy": n, "fluency": n, "prosodic": n,
/// "total": n, "words": [{"phones": "P P P", ...}, ...], ...}, ...}`. A missing field, a wrong
/// type or broken JSON is [`DataError::Json`] (with line and column); a score that is not a
/// finite number in 0–10 is [`DataError::BadLabel`], checked for every entry so a bad file fails at
/// once rather than when the bad utterance is first used.
pub(super) fn read_scores(path: &Path) -> Result<HashMap<String, ScoreEntry>, DataError> {
    if path.extension().is_some_and(|e| e == "tsv") {
        return read_scores_tsv(path);
    }
    let content = read_text(path, "utterance scores in scores.json format")?;
    let raw: HashMap<String, RawEntry> = serde_json::from_str(&content).map_err(|source| DataError::Json { path: path.to_path_buf(), source })?;
    let mut out = HashMap::with_capacity(raw.len());
    for (utt, entry) in raw {
        let values = [entry.accuracy, entry.fluency, entry.prosodic, entry.total];
        let mut labels = [0.0f32; 4];
        for ((name, value), label) in LABEL_NAMES.iter().zip(values).zip(&mut labels) {
            let (lo, hi) = LABEL_RANGE;
            if !(value.is_finite() && f64::from(lo) <= value && value <= f64::from(hi)) {
                return Err(DataError::BadLabel { path: path.to_path_buf(), utt, problem: format!("{name} is {value}, outside {lo}–{hi}") });
            }
            *label = value as f32;
        }
        let phones = entry.words.map(|words| words.iter().flat_map(|w| w.phones.split_whitespace().map(str::to_string)).collect());
        out.insert(utt, ScoreEntry { labels, phones });
    }
    Ok(out)
}

/// Read tab-separated utterance scores with a header naming the columns, as the labels folder's
/// `test-scores.tsv`: `utt_id`, then `accuracy`, `fluency`, `prosodic`, `total` in any order, each
/// name possibly suffixed `_provisional` (the first-round expert scores). Extra columns are ignored;
/// phones then come from `text-phone`. Values are checked as in [`read_scores`].
pub(super) fn read_scores_tsv(path: &Path) -> Result<HashMap<String, ScoreEntry>, DataError> {
    let content = read_text(path, "utterance scores (tab-separated, with a header)")?;
    let parse_error = |line: usize, problem: String| DataError::Parse { path: path.to_path_buf(), line, problem };
    let mut lines = content.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| parse_error(1, "the file is empty".into()))?;
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    let find = |name: &str| columns.iter().position(|c| *c == name || c.strip_suffix("_provisional") == Some(name));
    let id_column = find("utt_id").ok_or_else(|| parse_error(1, "no `utt_id` column".into()))?;
    let mut label_columns = [0usize; 4];
    for (name, column) in LABEL_NAMES.iter().zip(&mut label_columns) {
        *column = find(name).ok_or_else(|| parse_error(1, format!("no `{name}` column (header: {header})")))?;
    }
    let mut out = HashMap::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        let field =
            |c: usize| fields.get(c).copied().ok_or_else(|| parse_error(i + 1, format!("{} fields, expected {}", fields.len(), columns.len())));
        let utt = field(id_column)?.to_string();
        let mut labels = [0f32; 4];
        for ((name, &column), label) in LABEL_NAMES.iter().zip(&label_columns).zip(&mut labels) {
            let text = field(column)?;
            let value: f64 = text.parse().map_err(|_| parse_error(i + 1, format!("{name} `{text}` is not a number")))?;
            let (lo, hi) = LABEL_RANGE;
            if !(value.is_finite() && f64::from(lo) <= value && value <= f64::from(hi)) {
                return Err(DataError::BadLabel { path: path.to_path_buf(), utt, problem: format!("{name} is {value}, outside {lo}–{hi}") });
            }
            *label = value as f32;
        }
        out.insert(utt, ScoreEntry { labels, phones: None });
    }
    Ok(out)
}

/// Read `text-phone`: lines `<utt>.<word-index>\t<phone>_<pos> ...`, where `<pos>` is the
/// phone's position in the word (`B`egin, `I`nside, `E`nd, `S`ingle). The position marks are
/// dropped (they are Kaldi's word-position-dependent phone trick, not part of the phone; the
/// phones then equal `scores.json`'s `words[].phones`), stress digits are kept. Word indices of an
/// utterance must run 0, 1, 2, … without a gap: a gap means a truncated or merged file, and
/// silently joining the rest would give wrong CTC targets.
pub(super) fn read_text_phone(path: &Path) -> Result<HashMap<String, Vec<String>>, DataError> {
    let content = read_text(path, "canonical phones per word")?;
    let mut words: HashMap<String, BTreeMap<usize, (usize, Vec<String>)>> = HashMap::new();
    for (i, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parse_error = |problem: String| DataError::Parse { path: path.to_path_buf(), line: i + 1, problem };
        let (key, phones) = match line.find([' ', '\t']) {
            Some(at) => (&line[..at], line[at..].trim_start()),
            None => (line, ""),
        };
        let Some((utt, word)) = key.rsplit_once('.') else {
            return Err(parse_error(format!("expected `<utterance-id>.<word-index>` first, found {key:?}")));
        };
        let Ok(word) = word.parse::<usize>() else {
            return Err(parse_error(format!("word index {word:?} is not a number")));
        };
        let phones = phones.split_whitespace().map(strip_position).collect();
        if words.entry(utt.to_string()).or_default().insert(word, (i + 1, phones)).is_some() {
            return Err(parse_error(format!("word {word} of utterance {utt} is listed twice")));
        }
    }
    let mut out = HashMap::with_capacity(words.len());
    for (utt, by_index) in words {
        let mut phones = Vec::new();
        for (expected, (index, (line, word))) in by_index.into_iter().enumerate() {
            if index != expected {
                return Err(DataError::Parse {
                    path: path.to_path_buf(),
                    line,
                    problem: format!("utterance {utt}: word {expected} is missing (word {index} is listed)"),
                });
            }
            phones.extend(word);
        }
        out.insert(utt, phones);
    }
    Ok(out)
}

/// `AH0_B` → `AH0`. Tokens without a position mark are kept as they are.
fn strip_position(token: &str) -> String {
    match token.rsplit_once('_') {
        Some((phone, "B" | "I" | "E" | "S")) if !phone.is_empty() => phone.to_string(),
        _ => token.to_string(),
    }
}
