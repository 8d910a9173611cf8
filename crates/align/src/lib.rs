//! Where each word and phone of the prompt was said, and how well: CTC forced alignment of the
//! prompt's canonical phones on the phone head's log posteriors, and per-phone evidence for the
//! prompt-aware head (issue 17, item 2).
//!
//! - [`align`]: the best path through every word's pronunciations (the aligner picks one per word),
//!   with optional silence (the blank) between and inside words: per-phone and per-word frame spans.
//! - [`evidence`]: per phone, the segment log posterior of the canonical phone (LPP), its log
//!   posterior ratios against every other phone (LPR), and the alignment-free GOP of Cao et al.
//!   (Interspeech 2024, [`gop`]): the canonical sequence's CTC likelihood against the sequences with
//!   this phone substituted or deleted, which does not depend on where the peaky CTC spikes were
//!   placed (a phone's own segment is often one or two frames).
//!
//! Frames are the encoder's (20 ms for every supported family). No Burn and no I/O: it runs the same
//! natively and in wasm32. The evidence is unsupervised (Speechocean762 has no phone labels): it says
//! how the phone head heard the phone, not what an expert would score.

pub mod features;
pub mod gop;
pub mod graph;
pub mod posteriors;
pub mod search;
pub mod sentence;

use graph::{Emit, Graph, Slot};
pub use posteriors::LogPosteriors;
use sslpron_text::{Phone, Prompt};

/// The phone head's token for the CTC blank (always token 0).
pub const BLANK: &str = "<blank>";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlignError {
    #[error("log posteriors: {0}")]
    Shape(String),
    #[error("the phone vocabulary must start with {BLANK:?}, found {0:?}")]
    NoBlank(Option<String>),
    #[error("the phone head has no token for {phone} (in {word:?})")]
    UnknownPhone { phone: String, word: String },
    #[error("the recording is too short for the text: {frames} frames, the text needs at least {needed}")]
    TooShort { frames: usize, needed: usize },
}

/// The phone head's output tokens by name (`phone_vocab.json`): `<blank>` first, then phones without
/// stress (`AA`, `AE`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    tokens: Vec<String>,
}

impl Vocabulary {
    pub fn new(tokens: Vec<String>) -> Result<Self, AlignError> {
        if tokens.first().map(String::as_str) != Some(BLANK) {
            return Err(AlignError::NoBlank(tokens.first().cloned()));
        }
        Ok(Vocabulary { tokens })
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn token(&self, phone: Phone) -> Option<usize> {
        self.tokens.iter().position(|t| t == phone.name())
    }
}

/// One phone where the aligner put it: frames `start..end` are where the path was in its state.
#[derive(Clone, Debug, PartialEq)]
pub struct AlignedPhone {
    pub phone: Phone,
    pub token: usize,
    pub start: usize,
    pub end: usize,
}

/// One word: which pronunciation the path took, its phones, and the blank frames before it since
/// the previous word (0 for the first word: leading silence is not a pause).
#[derive(Clone, Debug, PartialEq)]
pub struct AlignedWord {
    pub pronunciation: usize,
    pub phones: Vec<AlignedPhone>,
    pub pause_before: usize,
}

impl AlignedWord {
    /// First frame of the first phone.
    pub fn start(&self) -> usize {
        self.phones[0].start
    }

    /// One past the last frame of the last phone.
    pub fn end(&self) -> usize {
        self.phones[self.phones.len() - 1].end
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    pub words: Vec<AlignedWord>,
    /// The best path's log probability.
    pub log_probability: f32,
}

fn slots(prompt: &Prompt, vocab: &Vocabulary) -> Result<Vec<Slot>, AlignError> {
    prompt
        .words
        .iter()
        .map(|word| {
            let alternatives = word
                .pronunciations
                .iter()
                .map(|pron| {
                    pron.iter()
                        .map(|&p| {
                            vocab
                                .token(p)
                                .map(Emit::Token)
                                .ok_or_else(|| AlignError::UnknownPhone { phone: p.name().into(), word: word.word.clone() })
                        })
                        .collect()
                })
                .collect::<Result<_, _>>()?;
            Ok(Slot { alternatives, optional: false })
        })
        .collect()
}

/// The best path of the prompt's phones through the posteriors (module notes).
pub fn align(prompt: &Prompt, vocab: &Vocabulary, lp: &LogPosteriors) -> Result<Alignment, AlignError> {
    if lp.tokens() != vocab.len() {
        return Err(AlignError::Shape(format!("{} tokens per frame, the vocabulary has {}", lp.tokens(), vocab.len())));
    }
    let graph = Graph::new(&slots(prompt, vocab)?);
    let needed = graph.min_frames();
    let too_short = AlignError::TooShort { frames: lp.frames(), needed };
    if lp.frames() < needed {
        return Err(too_short);
    }
    let (path, log_probability) = search::viterbi(&graph, lp).ok_or(too_short)?;
    let mut words: Vec<AlignedWord> = Vec::with_capacity(prompt.words.len());
    let mut last_phone_end = None;
    for (t, &state) in path.iter().enumerate() {
        let s = &graph.states[state as usize];
        let (Emit::Token(token), Some(place)) = (s.emit, s.place) else { continue };
        if words.len() == place.slot {
            let pause_before = last_phone_end.map_or(0, |end| t - end);
            words.push(AlignedWord { pronunciation: place.alternative, phones: vec![], pause_before });
        }
        let word = &mut words[place.slot];
        if word.phones.len() == place.position {
            let phone = prompt.words[place.slot].pronunciations[place.alternative][place.position];
            word.phones.push(AlignedPhone { phone, token, start: t, end: t + 1 });
        } else {
            word.phones[place.position].end = t + 1;
        }
        last_phone_end = Some(t + 1);
    }
    debug_assert!(words.iter().zip(&prompt.words).all(|(a, w)| a.phones.len() == w.pronunciations[a.pronunciation].len()));
    Ok(Alignment { words, log_probability })
}

/// Per-phone evidence (module notes). Log values are natural logs.
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneEvidence {
    /// Mean log posterior of the canonical token over the phone's frames.
    pub lpp: f32,
    /// Mean `log p(canonical) − log p(q)` over the phone's frames for every phone token `q` (entry
    /// `q − 1`; 0 at the canonical phone's own entry).
    pub lpr: Vec<f32>,
    /// The alignment-free evidence: GOP, per-substitution and deletion log ratios ([`gop`]).
    pub alignment_free: gop::AlignmentFree,
    /// Frames in the phone's state on the best path.
    pub frames: usize,
}

/// Evidence for every aligned phone, word by word (module notes). The canonical sequence is the one
/// the alignment chose (one pronunciation per word).
pub fn evidence(alignment: &Alignment, lp: &LogPosteriors) -> Vec<Vec<PhoneEvidence>> {
    let phones: Vec<&AlignedPhone> = alignment.words.iter().flat_map(|w| &w.phones).collect();
    let labels: Vec<usize> = phones.iter().map(|p| p.token).collect();
    let free = gop::alignment_free(&labels, lp);
    // An alignment exists, so some path fits and the lattice has a likelihood.
    debug_assert_eq!(free.len(), labels.len());
    let mut flat = phones.iter().zip(free).map(|(p, alignment_free)| {
        let frames = p.end - p.start;
        let mut lpr = vec![0f32; lp.tokens() - 1];
        let mut lpp = 0f32;
        for t in p.start..p.end {
            let row = lp.frame(t);
            lpp += row[p.token];
            for (q, r) in lpr.iter_mut().enumerate() {
                *r += row[p.token] - row[q + 1];
            }
        }
        let scale = 1.0 / frames as f32;
        lpr.iter_mut().for_each(|r| *r *= scale);
        PhoneEvidence { lpp: lpp * scale, lpr, alignment_free, frames }
    });
    alignment.words.iter().map(|w| flat.by_ref().take(w.phones.len()).collect()).collect()
}
