//! The phone vocabulary of the optional phone-level CTC objective.
//!
//! The seed's CTC strategy uses no CTC loss at all (it pools the `*ForCTC` logits into the scores and
//! trains them with MSE: trainer/src/step.rs, `Strategy::Ctc`); a real CTC objective needs
//! targets, and these are the canonical phones of `text-phone`. The vocabulary is saved next to
//! a checkpoint so that the head's output index `i` means the same phone when the model is
//! loaded again, whatever corpus is opened then.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::corpus::Utterance;
use super::error::{DataError, read_text};

/// The CTC blank's token, always id 0 (the convention of Burn's `CTCLoss` and of transformers'
/// `*ForCTC` models' `pad_token_id` use).
pub const BLANK: &str = "<blank>";

/// `IY0` → `IY`: drop ARPAbet stress digits. The seed's preprocessing did the same
/// (`re.sub("[0-9*]", "", canon)`): lexical stress is scored separately (word `stress`) and
/// mostly not audible as a different phone, so splitting each vowel three ways would thin out
/// the targets for nothing.
pub fn strip_stress(phone: &str) -> &str {
    phone.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// Sorted unique phones behind a blank at id 0. Saved and loaded as JSON:
/// `{"keep_stress": false, "tokens": ["<blank>", "AA", "AE", ...]}`, plus `"hidden_state": K` for a head
/// that reads `hidden_states[K]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneVocab {
    /// `false`: phones are mapped through [`strip_stress`] before lookup (the default, like the
    /// seed); `true`: `AH0` and `AH1` are different tokens.
    keep_stress: bool,
    /// `tokens[0] == BLANK`, then the phones in byte order.
    tokens: Vec<String>,
    /// Which encoder hidden state the head reads (`hidden_states[k]`, 0 = the first transformer
    /// layer's input); absent = the last hidden state, as the training objective's head reads. Kept
    /// with the vocabulary so a head is always run on the state it was fitted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hidden_state: Option<usize>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl PhoneVocab {
    /// Build from phone sequences (usually the training split's [`Utterance::phones`]).
    pub fn build<'a, I>(sequences: I, keep_stress: bool) -> Self
    where
        I: IntoIterator<Item = &'a [String]>,
    {
        let mut phones = BTreeSet::new();
        for seq in sequences {
            for p in seq {
                phones.insert(if keep_stress { p.as_str() } else { strip_stress(p) });
            }
        }
        let tokens = std::iter::once(BLANK).chain(phones).map(str::to_string).collect();
        Self::from_tokens(tokens, keep_stress)
    }

    /// [`PhoneVocab::build`] over the utterances' phones.
    pub fn from_utterances(utts: &[Utterance], keep_stress: bool) -> Self {
        Self::build(utts.iter().map(|u| u.phones.as_slice()), keep_stress)
    }

    fn from_tokens(tokens: Vec<String>, keep_stress: bool) -> Self {
        let index = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i)).collect();
        Self { keep_stress, tokens, hidden_state: None, index }
    }

    /// The encoder hidden state the head reads (`None`: the last).
    pub fn hidden_state(&self) -> Option<usize> {
        self.hidden_state
    }

    /// Records that the head reads `hidden_states[k]` (the `phone-head` binary's `--layer`).
    pub fn with_hidden_state(mut self, k: Option<usize>) -> Self {
        self.hidden_state = k;
        self
    }

    /// Number of tokens, blank included: the CTC head's output size.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Never true for a vocabulary built or loaded here (the blank is always there).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether stress digits are part of the tokens.
    pub fn keep_stress(&self) -> bool {
        self.keep_stress
    }

    /// All tokens, `tokens()[0] == BLANK`.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The id of a phone as it appears in the corpus (stress stripped first unless kept);
    /// `None` for a phone outside the vocabulary, and for [`BLANK`] itself.
    pub fn id(&self, phone: &str) -> Option<usize> {
        let key = if self.keep_stress { phone } else { strip_stress(phone) };
        match self.index.get(key) {
            Some(0) | None => None,
            Some(&i) => Some(i),
        }
    }

    /// The utterance's phones as CTC target ids (never 0).
    pub fn encode(&self, utt: &Utterance) -> Result<Vec<usize>, DataError> {
        utt.phones.iter().map(|p| self.id(p).ok_or_else(|| DataError::UnknownPhone { utt: utt.id.clone(), phone: p.clone() })).collect()
    }

    /// Write the vocabulary as JSON. Written to a temporary file first and renamed, so a failed
    /// write never leaves a truncated vocabulary next to a checkpoint.
    pub fn save(&self, path: &Path) -> Result<(), DataError> {
        let io = |source| DataError::Io { path: path.to_path_buf(), source };
        let mut json = serde_json::to_string_pretty(self).expect("a vocabulary always serialises");
        json.push('\n');
        sslpron_fs::write_file(path, json.as_bytes()).map_err(|e| io(e.source))
    }

    /// Read a vocabulary written by [`PhoneVocab::save`], checking that it is one: blank first,
    /// no repeated or empty token, and no stress digit in a stress-free vocabulary.
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let content = read_text(path, "a phone vocabulary (JSON)")?;
        let raw: PhoneVocab = serde_json::from_str(&content).map_err(|source| DataError::Json { path: path.to_path_buf(), source })?;
        let bad = |problem: String| DataError::BadVocab { path: path.to_path_buf(), problem };
        if raw.tokens.first().map(String::as_str) != Some(BLANK) {
            return Err(bad(format!("the first token must be {BLANK:?}")));
        }
        let mut seen = BTreeSet::new();
        for t in &raw.tokens {
            if t.is_empty() || t.contains(char::is_whitespace) {
                return Err(bad(format!("token {t:?} is empty or contains whitespace")));
            }
            if !seen.insert(t.as_str()) {
                return Err(bad(format!("token {t:?} appears twice")));
            }
            if !raw.keep_stress && t != BLANK && strip_stress(t) != t {
                return Err(bad(format!("token {t:?} has a stress digit but keep_stress is false")));
            }
        }
        Ok(Self::from_tokens(raw.tokens, raw.keep_stress).with_hidden_state(raw.hidden_state))
    }
}
