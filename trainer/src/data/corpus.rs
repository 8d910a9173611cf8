//! The corpus in its own layout (Speechocean762 as published, and `speechocean762-mini`):
//!
//! ```text
//! <root>/train/{wav.scp,utt2spk,text,...}  Kaldi lists of one split (also test/)
//! <root>/WAVE/SPEAKERxxxx/<utt>.WAV        16 kHz 16-bit mono, named in wav.scp relative to <root>
//! <root>/resource/scores.json              utterance scores + word-level canonical phones
//! <root>/resource/text-phone               canonical phones per word (optional here, see below)
//! ```
//!
//! The layout is read as it is, with no conversion step, so the trainer reads exactly the files
//! a user downloads and nothing can go stale between a converted copy and the original.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sslpron_audio::PrepareOptions;

use super::error::{DataError, read_bytes};
use super::kaldi::read_list;
use super::labels::{ScoreEntry, read_scores, read_text_phone};
use super::speakers::SpeakerInfo;

/// One utterance of a split: what the trainer needs to load, label and batch it.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Corpus utterance id (`000010011`).
    pub id: String,
    /// Speaker id as in `utt2spk` (`0001`), the unit of the speaker-disjoint dev split.
    pub speaker: String,
    /// The audio file: `wav.scp`'s path joined to the corpus root (checked to exist).
    pub wav: PathBuf,
    /// The prompt, from the split's `text`.
    pub text: String,
    /// `[accuracy, fluency, prosodic, total]` on the raw 0–10 scale: the seed's regression target
    /// (no rescaling, so losses and predictions compare with the seed's directly).
    pub labels: [f32; 4],
    /// Canonical phones in word order, stress digits kept, word-position marks dropped
    /// (`["W", "IY0", "K", "AO0", "L", ...]`): the targets of the optional CTC objective.
    pub phones: Vec<String>,
}

impl Utterance {
    /// Decode this utterance's WAV into model input with the audio crate's front end (the same
    /// path the CLI and the browser use, so training sees what scoring sees). Errors name the
    /// WAV file.
    pub fn load_audio(&self, opts: &PrepareOptions) -> Result<Vec<f32>, DataError> {
        let bytes = read_bytes(&self.wav, "the utterance's WAV file")?;
        sslpron_audio::prepare_wav(&bytes, opts).map_err(|source| DataError::Audio { path: self.wav.clone(), source })
    }
}

/// Where [`Corpus::open_with`] takes its labels from.
#[derive(Debug, Clone, Default)]
pub struct CorpusOptions {
    /// A `scores.json`-format file to use instead of `<root>/resource/scores.json` — e.g. the
    /// labels folder's `scores-train.json`, because not every copy of the corpus ships its
    /// `scores.json`. `None`: the corpus's own file.
    pub labels: Option<PathBuf>,
}

/// An opened corpus: its root, its labels and its canonical phones, ready to list splits.
///
/// Labels and phones are read once at [`Corpus::open`] and shared by every [`Corpus::split`];
/// both files are validated as a whole there, so a broken label file fails before any training.
#[derive(Debug, Clone)]
pub struct Corpus {
    root: PathBuf,
    labels_path: PathBuf,
    labels: HashMap<String, ScoreEntry>,
    /// `text-phone`, if the corpus has it: its path and phones per utterance.
    text_phone: Option<(PathBuf, HashMap<String, Vec<String>>)>,
}

impl Corpus {
    /// Open the corpus at `root` with its own `resource/scores.json`.
    pub fn open(root: &Path) -> Result<Self, DataError> {
        Self::open_with(root, &CorpusOptions::default())
    }

    /// Open the corpus at `root`, taking labels from `options.labels` when given.
    ///
    /// Canonical phones come from `resource/text-phone` when the corpus has it (the corpus's
    /// reference for phones), otherwise from the labels' `words[].phones` (the two agree on every
    /// utterance of the published corpus).
    pub fn open_with(root: &Path, options: &CorpusOptions) -> Result<Self, DataError> {
        if !root.is_dir() {
            return Err(DataError::Missing { path: root.to_path_buf(), what: "the corpus folder" });
        }
        let labels_path = options.labels.clone().unwrap_or_else(|| root.join("resource").join("scores.json"));
        let labels = read_scores(&labels_path)?;
        let text_phone_path = root.join("resource").join("text-phone");
        let text_phone = if text_phone_path.exists() {
            let phones = read_text_phone(&text_phone_path)?;
            Some((text_phone_path, phones))
        } else {
            None
        };
        Ok(Self { root: root.to_path_buf(), labels_path, labels, text_phone })
    }

    /// The corpus root as given to [`Corpus::open`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The labels file in use.
    pub fn labels_path(&self) -> &Path {
        &self.labels_path
    }

    /// Age and gender of split `name`'s speakers (`<name>/spk2age`, `<name>/spk2gender`; either may
    /// be absent). The dev speakers are train speakers, so their attributes come from `train`.
    pub fn speaker_info(&self, name: &str) -> Result<SpeakerInfo, DataError> {
        SpeakerInfo::read(&self.root.join(name))
    }

    /// The utterances of split `name` (`"train"`, `"test"`): the ids of `<name>/wav.scp`, in its
    /// order, joined with `utt2spk`, `text`, the labels and the phones.
    ///
    /// Strict on purpose: every utterance must be in all three lists and in the labels, every
    /// list entry must be in `wav.scp`, and every WAV must exist. A mismatch means a partly
    /// copied corpus or the wrong labels file, and training on the intersection would quietly
    /// change the data set.
    pub fn split(&self, name: &str) -> Result<Vec<Utterance>, DataError> {
        let dir = self.root.join(name);
        let wav_scp = dir.join("wav.scp");
        let utt2spk = dir.join("utt2spk");
        let text_list = dir.join("text");
        let wavs = read_list(&wav_scp, "the split's Kaldi list of WAV files", true)?;
        if wavs.is_empty() {
            return Err(DataError::Parse { path: wav_scp, line: 1, problem: "the list holds no utterances".into() });
        }
        let mut speakers = to_map(read_list(&utt2spk, "the split's Kaldi list of speakers", true)?);
        let mut texts = to_map(read_list(&text_list, "the split's Kaldi list of transcripts", false)?);
        for (list, map) in [(&utt2spk, &speakers), (&text_list, &texts)] {
            if let Some(utt) = first_missing(map, &wavs) {
                return Err(DataError::NotInList { path: wav_scp, utt, listed_in: list.clone() });
            }
        }

        let mut out = Vec::with_capacity(wavs.len());
        for (id, rel) in wavs {
            let not_in = |path: &Path| DataError::NotInList { path: path.to_path_buf(), utt: id.clone(), listed_in: wav_scp.clone() };
            let speaker = speakers.remove(&id).ok_or_else(|| not_in(&utt2spk))?;
            let text = texts.remove(&id).ok_or_else(|| not_in(&text_list))?;
            let wav = self.root.join(&rel);
            if !wav.is_file() {
                return Err(DataError::MissingWav { list: wav_scp, utt: id, wav });
            }
            let Some(entry) = self.labels.get(&id) else {
                return Err(DataError::UnknownUtterance { path: self.labels_path.clone(), utt: id, listed_in: wav_scp });
            };
            let phones = match &self.text_phone {
                Some((path, phones)) => {
                    phones.get(&id).cloned().ok_or_else(|| DataError::NoPhones { path: path.clone(), utt: id.clone(), listed_in: wav_scp.clone() })?
                }
                None => entry.phones.clone().ok_or_else(|| DataError::NoPhones {
                    path: self.labels_path.clone(),
                    utt: id.clone(),
                    listed_in: wav_scp.clone(),
                })?,
            };
            out.push(Utterance { id, speaker, wav, text, labels: entry.labels, phones });
        }
        Ok(out)
    }
}

fn to_map(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

/// The first id of `map` (in sorted order, for a stable message) that `wavs` does not list.
fn first_missing(map: &HashMap<String, String>, wavs: &[(String, String)]) -> Option<String> {
    let listed: std::collections::HashSet<&str> = wavs.iter().map(|(id, _)| id.as_str()).collect();
    let mut extra: Vec<&String> = map.keys().filter(|id| !listed.contains(id.as_str())).collect();
    extra.sort();
    extra.first().map(|id| id.to_string())
}
