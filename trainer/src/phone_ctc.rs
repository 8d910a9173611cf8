//! The optional phone-level CTC objective (`--ctc-weight W`): the model crate's [`PhoneHead`] (a
//! linear phone classifier on the encoder's last hidden state) trained with CTC on the canonical
//! phones of `text-phone`, its loss added to the score loss as `mse + W · ctc`; and the head's files.
//!
//! The seed's CTC strategy has no CTC loss at all (it pools `lm_head` logits into the scores); this is a
//! real multitask objective: it asks the encoder to keep the phone identity that accuracy judgements
//! depend on. The head is an auxiliary of training only: it is saved beside the checkpoint
//! (`phone_head.safetensors`, with its vocabulary in `phone_vocab.json`) and never in
//! `model.safetensors`, which stays in the seed's layout and loads anywhere the seed's does.

use std::path::Path;

use burn::nn::loss::CTCLossConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use sslpron_model::EncoderConfig;
pub use sslpron_model::{PHONE_HEAD_FILE, PHONE_VOCAB_FILE, PhoneHead};

/// The head saved by [`save`]: see [`PhoneHead::from_safetensors`]; errors name the file.
pub fn load(path: &Path, encoder: &EncoderConfig, vocab: usize, device: &Device) -> Result<PhoneHead, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    PhoneHead::from_safetensors(&path.display().to_string(), &bytes, encoder, vocab, device).map_err(|e| e.to_string())
}

/// Writes the head as safetensors through a temporary file and a rename.
pub fn save(head: &PhoneHead, path: &Path) -> Result<(), String> {
    Ok(sslpron_fs::write_file(path, &head.to_safetensors())?)
}

/// CTC loss of `targets` (phone ids, never the blank) given `last_hidden_state [batch, frames,
/// hidden]` whose first `frames[i]` frames are real; `None` when no utterance of the batch can be
/// aligned. Reduced as PyTorch's `ctc_loss(reduction="mean")`: each utterance's loss over its
/// target length (at least 1), then the mean over the batch.
///
/// An utterance with fewer frames than its alignment needs (targets plus a blank between repeated
/// phones) has no CTC path; it is left out rather than given an infinite loss, whose gradient
/// would be NaN.
pub fn loss(head: &PhoneHead, last_hidden_state: Tensor<3>, frames: &[usize], targets: &[Vec<usize>]) -> Option<Tensor<1>> {
    let device = last_hidden_state.device();
    let alignable: Vec<usize> = (0..targets.len()).filter(|&i| frames[i] >= min_frames(&targets[i]) && !targets[i].is_empty()).collect();
    if alignable.is_empty() {
        return None;
    }
    let hidden = if alignable.len() == targets.len() {
        last_hidden_state
    } else {
        let index: Vec<i64> = alignable.iter().map(|&i| i as i64).collect();
        last_hidden_state.select(0, Tensor::<1, Int>::from_ints(index.as_slice(), &device))
    };
    let kept_frames: Vec<usize> = alignable.iter().map(|&i| frames[i]).collect();
    // Layers must not attend to padding; a linear head needs no mask.
    let valid = (!head.layers.is_empty()).then(|| sslpron_model::feature_encoder::frame_mask(&kept_frames, hidden.dims()[1], &device));
    let log_probs = log_softmax(head.forward_masked(hidden, valid), 2).swap_dims(0, 1); // [frames, batch, vocab]
    Some(ctc_mean(
        log_probs,
        &alignable.iter().map(|&i| frames[i]).collect::<Vec<_>>(),
        &alignable.iter().map(|&i| targets[i].clone()).collect::<Vec<_>>(),
    ))
}

/// Frames a CTC alignment of `targets` needs: one per phone, plus a blank between equal neighbours.
pub fn min_frames(targets: &[usize]) -> usize {
    targets.len() + targets.windows(2).filter(|w| w[0] == w[1]).count()
}

/// Burn's CTC (blank 0) on `log_probs [frames, batch, vocab]`, reduced as PyTorch's `mean`.
pub fn ctc_mean(log_probs: Tensor<3>, frames: &[usize], targets: &[Vec<usize>]) -> Tensor<1> {
    let device = log_probs.device();
    let width = targets.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let padded: Vec<i64> = targets.iter().flat_map(|t| (0..width).map(move |j| t.get(j).map_or(0, |&id| id as i64))).collect();
    let targets_tensor = Tensor::<1, Int>::from_ints(padded.as_slice(), &device).reshape([targets.len(), width]);
    let ints = |values: Vec<i64>| Tensor::<1, Int>::from_ints(values.as_slice(), &device);
    let input_lengths = ints(frames.iter().map(|&f| f as i64).collect());
    let target_lengths = ints(targets.iter().map(|t| t.len() as i64).collect());
    let per_utterance = CTCLossConfig::new().init().forward(log_probs, targets_tensor, input_lengths, target_lengths);
    let divisors: Vec<f32> = targets.iter().map(|t| t.len().max(1) as f32).collect();
    (per_utterance / Tensor::<1>::from_floats(divisors.as_slice(), &device)).mean()
}

/// CTC's greedy decoding of a frame-wise best path: merge repeats, drop blanks (token 0).
pub fn greedy(path: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut previous = None;
    for &p in path {
        if Some(p) != previous && p != 0 {
            out.push(p);
        }
        previous = Some(p);
    }
    out
}
