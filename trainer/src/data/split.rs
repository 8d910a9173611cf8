//! The speaker-disjoint development split (`--dev-speakers FILE`).
//!
//! Model selection must happen on speakers the model never trained on: utterances of one speaker
//! share voice, accent and (for Speechocean762) largely their scores, so a random utterance split
//! would reward memorising speakers. The split is therefore by speaker, from a list kept in a file
//! (`speechocean762-labels/dev-speakers.txt`) so every run and every backbone uses the same one.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::corpus::Utterance;
use super::error::{DataError, read_text};

/// Split `utts` into (train, dev): dev holds every utterance whose speaker is in `dev_speakers`,
/// train all the others; both keep the input order. Pure partition: no speaker checks (see
/// [`SpeakerList::split`] for the checked version).
pub fn split_by_speakers(utts: Vec<Utterance>, dev_speakers: &HashSet<String>) -> (Vec<Utterance>, Vec<Utterance>) {
    let (dev, train): (Vec<_>, Vec<_>) = utts.into_iter().partition(|u| dev_speakers.contains(&u.speaker));
    (train, dev)
}

/// A speaker list file: one speaker id a line, as in `utt2spk` (`0006`, not `SPEAKER0006`).
/// Surrounding whitespace is ignored, as are blank lines and lines starting with `#`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerList {
    /// The file it was read from, for error messages.
    pub path: PathBuf,
    pub speakers: HashSet<String>,
}

impl SpeakerList {
    /// Read a speaker list. A line holding more than one word, a repeated speaker or a list with
    /// no speaker at all is an error: each is a sign of the wrong file.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let content = read_text(path, "a speaker list, one speaker id a line")?;
        let mut speakers = HashSet::new();
        for (i, line) in content.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parse_error = |problem: String| DataError::Parse { path: path.to_path_buf(), line: i + 1, problem };
            if line.contains(char::is_whitespace) {
                return Err(parse_error(format!("expected one speaker id, found {line:?}")));
            }
            if !speakers.insert(line.to_string()) {
                return Err(parse_error(format!("speaker {line} is listed twice")));
            }
        }
        if speakers.is_empty() {
            return Err(DataError::Parse { path: path.to_path_buf(), line: 1, problem: "the list names no speakers".into() });
        }
        Ok(Self { path: path.to_path_buf(), speakers })
    }

    /// The listed speakers that none of `utts` has, sorted.
    pub fn unknown_in(&self, utts: &[Utterance]) -> Vec<String> {
        let present: HashSet<&str> = utts.iter().map(|u| u.speaker.as_str()).collect();
        let unknown: BTreeSet<&String> = self.speakers.iter().filter(|s| !present.contains(s.as_str())).collect();
        unknown.into_iter().cloned().collect()
    }

    /// This list without the speakers `utts` lacks, and those speakers (sorted). For a caller
    /// that wants to allow a list written for a larger corpus (the full corpus's list on
    /// `speechocean762-mini`, which has 4 of its 25 speakers in `train/`) explicitly, with a
    /// warning of its own; [`SpeakerList::split`] refuses that case.
    pub fn restricted_to(&self, utts: &[Utterance]) -> (Self, Vec<String>) {
        let unknown = self.unknown_in(utts);
        let mut kept = self.clone();
        for s in &unknown {
            kept.speakers.remove(s);
        }
        (kept, unknown)
    }

    /// [`split_by_speakers`] with checks: every listed speaker must occur in `utts` (a speaker
    /// the split lacks is almost always a typo, a list for another corpus or the wrong split),
    /// and at least one speaker must stay in train.
    pub fn split(&self, utts: Vec<Utterance>) -> Result<(Vec<Utterance>, Vec<Utterance>), DataError> {
        let unknown = self.unknown_in(&utts);
        if !unknown.is_empty() {
            return Err(DataError::UnknownSpeakers { path: self.path.clone(), speakers: unknown });
        }
        let (train, dev) = split_by_speakers(utts, &self.speakers);
        if train.is_empty() {
            return Err(DataError::Parse {
                path: self.path.clone(),
                line: 1,
                problem: "the list names every speaker of the split: nothing is left to train on".into(),
            });
        }
        Ok((train, dev))
    }
}
