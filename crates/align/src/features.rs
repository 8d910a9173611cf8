//! The prompt-aware head's inputs, laid out in one place for training (the trainer's `prompt-head`)
//! and scoring (CLI, browser): per phone, the evidence of [`crate::evidence`], where the phone sits
//! in its word, and the encoder's state over the phone's frames; per sentence, the
//! [`crate::sentence`] features and the encoder's state over the whole clip.

use crate::sentence::SentenceFeatures;
use crate::{Alignment, PhoneEvidence};

/// Per-phone scalars before the vectors (then LPR and the substitution ratios, one per phone
/// token, then the encoder state).
pub const PHONE_SCALARS: [&str; 7] = ["lpp", "gop", "deletion", "frames", "pause_before_word", "word_start", "word_end"];

/// Width of the per-phone vector for a phone head of `tokens` tokens (blank included) and an
/// encoder of `hidden` channels.
pub fn phone_feature_width(tokens: usize, hidden: usize) -> usize {
    PHONE_SCALARS.len() + 2 * (tokens - 1) + hidden
}

/// Width of the sentence vector for an encoder of `hidden` channels.
pub fn sentence_feature_width(hidden: usize) -> usize {
    SentenceFeatures::NAMES.len() + hidden
}

/// The aligned phones in order: their phone-head tokens, the word each belongs to, and their
/// feature rows (`[phones, phone_feature_width]`, row-major). `hidden` is the encoder's last hidden
/// state `[frames, hidden_size]` of the same clip.
pub struct PhoneRows {
    pub tokens: Vec<usize>,
    pub word_of_phone: Vec<usize>,
    pub features: Vec<f32>,
}

pub fn phone_rows(alignment: &Alignment, evidence: &[Vec<PhoneEvidence>], hidden: &[f32], hidden_size: usize) -> PhoneRows {
    let mut rows = PhoneRows { tokens: vec![], word_of_phone: vec![], features: vec![] };
    for (w, (word, evidence)) in alignment.words.iter().zip(evidence).enumerate() {
        let last = word.phones.len() - 1;
        for (i, (phone, ev)) in word.phones.iter().zip(evidence).enumerate() {
            rows.tokens.push(phone.token);
            rows.word_of_phone.push(w);
            let free = &ev.alignment_free;
            let pause = if i == 0 { word.pause_before as f32 } else { 0.0 };
            rows.features.extend([ev.lpp, free.gop, free.deletion, ev.frames as f32, pause, (i == 0) as u8 as f32, (i == last) as u8 as f32]);
            rows.features.extend(&ev.lpr);
            rows.features.extend(&free.substitution);
            rows.features.extend(mean_rows(hidden, hidden_size, phone.start, phone.end));
        }
    }
    rows
}

/// The sentence vector: sentence features, then the encoder state averaged over every frame.
pub fn sentence_row(sentence: &SentenceFeatures, hidden: &[f32], hidden_size: usize) -> Vec<f32> {
    let frames = hidden.len() / hidden_size;
    let mut row = sentence.to_vec();
    row.extend(mean_rows(hidden, hidden_size, 0, frames));
    row
}

/// Mean of rows `start..end` of a `[rows, width]` matrix (zeros for an empty range).
fn mean_rows(matrix: &[f32], width: usize, start: usize, end: usize) -> Vec<f32> {
    let mut mean = vec![0f32; width];
    for row in matrix[start * width..end * width].chunks_exact(width) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    let n = (end - start).max(1) as f32;
    mean.iter_mut().for_each(|m| *m /= n);
    mean
}
