//! The data layer's one error type. Every variant names the file it is about, because the person
//! reading the message has a corpus folder in front of them and needs to know which file to open.

use std::path::PathBuf;

use sslpron_audio::AudioError;

/// Everything that can go wrong while reading a corpus, a label file, a speaker list or a phone
/// vocabulary. The `Display` text always starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file the layout requires is not there.
    #[error("{}: not found; expected {what}", .path.display())]
    Missing { path: PathBuf, what: &'static str },

    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A line of a text file (Kaldi list, `text-phone`, speaker list) that does not parse, or that
    /// repeats an id. `line` counts from 1.
    #[error("{}:{line}: {problem}", .path.display())]
    Parse { path: PathBuf, line: usize, problem: String },

    /// A JSON file that is not valid JSON or not the expected shape; `source`'s text carries the
    /// line and column.
    #[error("{}: malformed JSON: {source}", .path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// `wav.scp` names an audio file that does not exist.
    #[error(
        "{}: utterance {utt}: audio file {} does not exist",
        .list.display(),
        .wav.display()
    )]
    MissingWav { list: PathBuf, utt: String, wav: PathBuf },

    /// An utterance of one Kaldi list has no entry in another list of the same split.
    #[error(
        "{}: utterance {utt} is missing (it is listed in {})",
        .path.display(),
        .listed_in.display()
    )]
    NotInList { path: PathBuf, utt: String, listed_in: PathBuf },

    /// An utterance of the split has no labels in the scores file (wrong labels file, or an id the
    /// labels never had — e.g. test utterances against `scores-train.json`).
    #[error(
        "{}: no labels for utterance {utt} (listed in {})",
        .path.display(),
        .listed_in.display()
    )]
    UnknownUtterance { path: PathBuf, utt: String, listed_in: PathBuf },

    /// An utterance of the split has no canonical phones in `text-phone`.
    #[error(
        "{}: no canonical phones for utterance {utt} (listed in {})",
        .path.display(),
        .listed_in.display()
    )]
    NoPhones { path: PathBuf, utt: String, listed_in: PathBuf },

    /// A label file entry that parses but cannot be right (a score outside 0–10, NaN).
    #[error("{}: utterance {utt}: {problem}", .path.display())]
    BadLabel { path: PathBuf, utt: String, problem: String },

    /// The development speaker list names speakers the utterances do not have.
    #[error(
        "{}: speaker(s) not in the corpus split: {}",
        .path.display(),
        .speakers.join(", ")
    )]
    UnknownSpeakers { path: PathBuf, speakers: Vec<String> },

    /// A phone vocabulary file that parses but is not a valid vocabulary.
    #[error("{}: {problem}", .path.display())]
    BadVocab { path: PathBuf, problem: String },

    /// A phone that the vocabulary does not hold (a vocabulary built on another corpus).
    #[error("utterance {utt}: phone {phone:?} is not in the phone vocabulary")]
    UnknownPhone { utt: String, phone: String },

    /// The audio front end refused a file (not a WAV, silent, too short, ...).
    #[error("{}: {source}", .path.display())]
    Audio {
        path: PathBuf,
        #[source]
        source: AudioError,
    },
}

/// Read a whole text file, mapping "not found" to [`DataError::Missing`] with `what` (what the
/// file should hold) as the hint.
pub(super) fn read_text(path: &std::path::Path, what: &'static str) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| io_error(path, what, source))
}

/// Read a whole file as bytes, with the same error mapping as [`read_text`].
pub(super) fn read_bytes(path: &std::path::Path, what: &'static str) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| io_error(path, what, source))
}

fn io_error(path: &std::path::Path, what: &'static str, source: std::io::Error) -> DataError {
    let path = path.to_path_buf();
    match source.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing { path, what },
        _ => DataError::Io { path, source },
    }
}
