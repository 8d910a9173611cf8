//! The optional phone-level CTC objective (`--ctc-weight W`): a linear phone classifier on the
//! encoder's last hidden state, trained with CTC on the canonical phones of `text-phone`, its loss
//! added to the score loss as `mse + W · ctc`.
//!
//! The seed's CTC strategy has no CTC loss at all (it pools `lm_head` logits into the scores); this is a
//! real multitask objective: it asks the encoder to keep the phone identity that accuracy judgements
//! depend on. The head is an auxiliary of training only: it is saved beside the checkpoint
//! (`phone_head.safetensors`, with its vocabulary in `phone_vocab.json`) and never in
//! `model.safetensors`, which stays in the seed's layout and loads anywhere the seed's does.

use std::path::Path;

use burn::module::Module;
use burn::nn::loss::CTCLossConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use sslpron_model::EncoderConfig;
use sslpron_model::encoder::EncoderLayer;
use sslpron_model::kernels::Linear;
use sslpron_model::layers::linear;
use sslpron_model::weights::{CheckpointSource, ParamNames, RandomSource};

/// File of the head's weights, next to `model.safetensors`.
pub const PHONE_HEAD_FILE: &str = "phone_head.safetensors";
/// File of its vocabulary ([`crate::data::PhoneVocab`]), next to the head.
pub const PHONE_VOCAB_FILE: &str = "phone_vocab.json";
/// The head's parameter prefix in [`PHONE_HEAD_FILE`].
const PREFIX: &str = "phone_head";

/// `Linear(hidden, vocab)` from a hidden state to phone logits, blank at id 0, optionally after
/// transformer layers of the encoder's own shape (`phone_head.layers.{i}.*`): a head trained on a
/// frozen encoder (the `phone-head` binary) may need them when the encoder itself was not trained to
/// tell phones apart. A saved head says how many layers it has by its tensor names.
#[derive(Module, Debug)]
pub struct PhoneHead {
    pub layers: Vec<EncoderLayer>,
    pub linear: Linear,
    /// Parameter names (ids derived from them, so optimiser state survives a resume).
    #[module(skip)]
    names: ParamNames,
}

impl PhoneHead {
    /// A fresh head (transformers' Linear init: normal(0, 0.02), zero bias), no layers.
    pub fn random(hidden: usize, vocab: usize, device: &Device) -> Self {
        let mut src = RandomSource::new(device);
        let linear = linear(&mut src, PREFIX, hidden, vocab).expect("a random source never fails");
        PhoneHead { layers: Vec::new(), linear, names: src.into_names() }
    }

    /// A fresh head with `layers` transformer layers shaped as `encoder`'s.
    pub fn random_with_layers(encoder: &EncoderConfig, layers: usize, vocab: usize, device: &Device) -> Self {
        let mut src = RandomSource::new(device);
        let layers = (0..layers)
            .map(|i| EncoderLayer::new(&mut src, encoder, &format!("{PREFIX}.layers.{i}"), i).expect("a random source never fails"))
            .collect();
        let linear = linear(&mut src, PREFIX, encoder.hidden_size, vocab).expect("a random source never fails");
        PhoneHead { layers, linear, names: src.into_names() }
    }

    /// The head saved by [`save`](Self::save); its linear layer must be `hidden × vocab`, its
    /// transformer layers (as many as the file has) shaped as `encoder`'s.
    pub fn load(path: &Path, encoder: &EncoderConfig, vocab: usize, device: &Device) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = path.display().to_string();
        let layer_count = CheckpointSource::file_names(&bytes, &file)
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|name| name.strip_prefix(&format!("{PREFIX}.layers."))?.split('.').next()?.parse::<usize>().ok())
            .max()
            .map_or(0, |last| last + 1);
        let mut src = CheckpointSource::new(&file, &bytes, device, |name| Some(name.to_string())).map_err(|e| e.to_string())?;
        let layers = (0..layer_count)
            .map(|i| EncoderLayer::new(&mut src, encoder, &format!("{PREFIX}.layers.{i}"), i))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let linear = linear(&mut src, PREFIX, encoder.hidden_size, vocab).map_err(|e| e.to_string())?;
        let (names, unused) = src.finish().map_err(|e| e.to_string())?;
        if !unused.is_empty() {
            return Err(format!("{file}: unexpected tensors {}", unused.join(", ")));
        }
        Ok(PhoneHead { layers, linear, names })
    }

    /// Writes the head as safetensors (`phone_head.weight` `[vocab, hidden]`, PyTorch's layout, and
    /// `phone_head.bias`), through a temporary file and a rename.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let tensors = sslpron_model::export_values(self, self.names.clone());
        Ok(sslpron_fs::write_file(path, &sslpron_model::to_safetensors(&tensors))?)
    }

    /// Phone logits `[batch, frames, vocab]` of every frame (padding frames included: the layers
    /// attend over the whole batch row, so a head with layers is run one utterance at a time or on
    /// equal lengths; [`loss`](Self::loss) and the `phone-head` binary mask padding themselves).
    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.forward_masked(hidden, None)
    }

    /// As [`forward`](Self::forward) with `valid [batch, frames]` (1 = a real frame) masking padding
    /// out of the layers' attention.
    pub fn forward_masked(&self, hidden: Tensor<3>, valid: Option<Tensor<2>>) -> Tensor<3> {
        let [batch, frames, _] = hidden.dims();
        let key_padding = valid.map(|v| ((v - 1.0) * 1e30).reshape([batch, 1, 1, frames]));
        let mut x = hidden;
        for layer in &self.layers {
            x = layer.forward(x, None, key_padding.as_ref()).0;
        }
        self.linear.forward(x)
    }

    /// CTC loss of `targets` (phone ids, never the blank) given `last_hidden_state [batch, frames,
    /// hidden]` whose first `frames[i]` frames are real; `None` when no utterance of the batch can be
    /// aligned. Reduced as PyTorch's `ctc_loss(reduction="mean")`: each utterance's loss over its
    /// target length (at least 1), then the mean over the batch.
    ///
    /// An utterance with fewer frames than its alignment needs (targets plus a blank between repeated
    /// phones) has no CTC path; it is left out rather than given an infinite loss, whose gradient
    /// would be NaN.
    pub fn loss(&self, last_hidden_state: Tensor<3>, frames: &[usize], targets: &[Vec<usize>]) -> Option<Tensor<1>> {
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
        let valid = (!self.layers.is_empty()).then(|| sslpron_model::feature_encoder::frame_mask(&kept_frames, hidden.dims()[1], &device));
        let log_probs = log_softmax(self.forward_masked(hidden, valid), 2).swap_dims(0, 1); // [frames, batch, vocab]
        Some(ctc_mean(
            log_probs,
            &alignable.iter().map(|&i| frames[i]).collect::<Vec<_>>(),
            &alignable.iter().map(|&i| targets[i].clone()).collect::<Vec<_>>(),
        ))
    }
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
