//! The phone CTC head: phone logits (blank at id 0, then the phone vocabulary's phones) from an
//! encoder hidden state, optionally after transformer layers shaped as the encoder's
//! (`phone_head.layers.{i}.*`, then `phone_head.weight` / `phone_head.bias`).
//!
//! The trainer teaches it with a CTC loss (`--ctc-weight`, or the `phone-head` binary on a frozen
//! encoder); prompt-aware scoring reads its posteriors to align the prompt's phones
//! (crates/align). It lives in its own file beside the checkpoint (`phone_head.safetensors`, the
//! vocabulary in `phone_vocab.json`), never in `model.safetensors`, which keeps the seed's layout. A
//! saved head says how many layers it has by its tensor names.

use burn::prelude::*;

use crate::checkpoint::{export_values, to_safetensors};
use crate::config::EncoderConfig;
use crate::encoder::EncoderLayer;
use crate::error::ModelError;
use crate::kernels::Linear;
use crate::layers::linear;
use crate::weights::{CheckpointSource, ParamNames, RandomSource};

/// File of the head's weights, next to `model.safetensors`.
pub const PHONE_HEAD_FILE: &str = "phone_head.safetensors";
/// File of its vocabulary (`{"keep_stress": false, "tokens": ["<blank>", "AA", …]}`, and
/// `"hidden_state": K` when the head reads `hidden_states[K]` rather than the last hidden state).
pub const PHONE_VOCAB_FILE: &str = "phone_vocab.json";
/// The head's parameter prefix.
const PREFIX: &str = "phone_head";

#[derive(Module, Debug)]
pub struct PhoneHead {
    pub layers: Vec<EncoderLayer>,
    pub linear: Linear,
    /// Parameter names (ids derived from them, so optimiser state survives a resume).
    #[module(skip)]
    names: ParamNames,
}

impl PhoneHead {
    /// A fresh linear head (transformers' Linear init: normal(0, 0.02), zero bias).
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

    /// The head in `bytes` (safetensors; `file` names it in errors): its linear layer must be
    /// `hidden × vocab`, its layers (as many as the file has) shaped as `encoder`'s, nothing else.
    pub fn from_safetensors(file: &str, bytes: &[u8], encoder: &EncoderConfig, vocab: usize, device: &Device) -> Result<Self, ModelError> {
        let layer_count = CheckpointSource::file_names(bytes, file)?
            .iter()
            .filter_map(|name| name.strip_prefix(&format!("{PREFIX}.layers."))?.split('.').next()?.parse::<usize>().ok())
            .max()
            .map_or(0, |last| last + 1);
        if layer_count > encoder.num_hidden_layers.max(8) {
            return Err(ModelError::Config {
                file: file.into(),
                message: format!("a phone head with {layer_count} layers is more than sslpron loads"),
            });
        }
        let mut src = CheckpointSource::new(file, bytes, device, |name| Some(name.to_string()))?;
        let layers = (0..layer_count).map(|i| EncoderLayer::new(&mut src, encoder, &format!("{PREFIX}.layers.{i}"), i)).collect::<Result<_, _>>()?;
        let linear = linear(&mut src, PREFIX, encoder.hidden_size, vocab)?;
        let (names, unused) = src.finish()?;
        if !unused.is_empty() {
            return Err(ModelError::Config { file: file.into(), message: format!("unexpected tensors {}", unused.join(", ")) });
        }
        Ok(PhoneHead { layers, linear, names })
    }

    /// The head as safetensors bytes (`phone_head.weight` `[vocab, hidden]`, PyTorch's layout).
    pub fn to_safetensors(&self) -> Vec<u8> {
        to_safetensors(&export_values(self, self.names.clone()))
    }

    /// Phone logits `[batch, frames, vocab]` of every frame, padding included (see
    /// [`forward_masked`](Self::forward_masked) for padded batches through layers).
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
}
